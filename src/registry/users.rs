//! A user's sessions (OWASP ASVS 3.3): the web and rest sessions of one `userName`, listed by
//! client number (never by session ID), closed together ("log out everywhere"), and capped by
//! `maxSessionsPerUser`, exactly, however many threads log the same user in at once.

use std::cell::Cell;

use super::{Registry, not_found};
use crate::clock::Millis;
use crate::error::{Error, ErrorKind, Result};
use crate::id::SessionId;
use crate::session::Session;
use crate::settings::SessionLimitPolicy;

/// A live session of a user, as the cap weighs it.
pub(crate) struct Member {
    pub client: u64,
    pub last_activity: Millis,
    pub sequence: u64,
}

impl Registry {
    /// Runs a grant that may give the web or rest session `id` another user (`new_user`):
    /// `op` applies it, calling the check it is given on the locked session before changing
    /// anything. When the user changes, the new user's cap is enforced and both users' entries
    /// are updated, all under their locks, so the change is one step for them. `op` may run
    /// again if another change of the session's user came in between. Events are left queued:
    /// the caller delivers them once this returns (with no lock held).
    pub(super) fn as_user_change<R>(
        &self,
        id: SessionId,
        new_user: Option<&str>,
        mut op: impl FnMut(&dyn Fn(&Session) -> Result<()>) -> Result<R>,
    ) -> Result<R> {
        let Some(new) = new_user else {
            return op(&|_| Ok(()));
        };
        let _scope = self.scope();
        loop {
            let (is_web, old, client) = self.user_of(id)?;
            // The check `op` is given: the session's user is still the one read here.
            let raced = Cell::new(false);
            let unchanged = still_user(&old, &raced);
            if !is_web || old == new {
                // No change of user (or op refuses the type), unless one came in between.
                let outcome = op(&unchanged);
                if raced.get() {
                    continue;
                }
                return outcome;
            }
            // A change of user: the store holding the session moves it under the cap.
            let mut answer = None;
            let moved = self
                .first_store(|store| {
                    store.move_user(self, id, client, &old, new, &mut || {
                        answer = Some(op(&unchanged)?);
                        Ok(())
                    })
                })
                .unwrap_or_else(|| Err(not_found()));
            if raced.get() {
                continue;
            }
            match moved {
                Ok(true) => return answer.ok_or_else(not_found),
                Ok(false) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether the session is a web or rest one, its user, and its client number.
    pub(crate) fn user_of(&self, id: SessionId) -> Result<(bool, String, u64)> {
        self.read(id, |s| {
            Ok((
                s.kind.is_web(),
                s.details.user_name.to_string(),
                s.client_id,
            ))
        })
    }

    /// Whether `maxSessionsPerUser` limits a user's sessions (0: no limit).
    pub(crate) fn user_cap_applies(&self) -> bool {
        self.live.session_limit().0 > 0
    }

    /// The cap's rule: of a user's live sessions (`joining` aside), those to close to make room
    /// for one more, least recently active first; `LimitExceeded` under the refuse policy.
    pub(crate) fn over_cap(&self, mut members: Vec<Member>, joining: u64) -> Result<Vec<Member>> {
        let (max, policy) = self.live.session_limit();
        members.retain(|m| m.client != joining);
        if !self.user_cap_applies() || members.len() < max {
            return Ok(Vec::new());
        }
        if policy == SessionLimitPolicy::Refuse {
            return Err(Error::limit(format!(
                "the user has {} sessions: maxSessionsPerUser ({max}) is reached",
                members.len()
            )));
        }
        members.sort_by_key(|m| (m.last_activity, m.sequence));
        members.truncate(members.len() + 1 - max);
        Ok(members)
    }

    /// `{"clients": [row, …]}`: the live sessions of `user_name` (exact bytes), oldest first,
    /// each row as in the clients list (its `id` the client number, never the session ID) with
    /// `lastActivity`. Costs what the user's sessions cost.
    pub fn user_sessions(&self, user_name: &str) -> Result<String> {
        let mut rows = self.with_site(|store| store.user_rows(self, user_name))?;
        rows.sort_unstable_by_key(|(sequence, _)| *sequence);
        let rows: Vec<String> = rows.into_iter().map(|(_, row)| row).collect();
        Ok(format!("{{\"clients\":[{}]}}", rows.join(",")))
    }

    /// Logs a user out everywhere: closes every live web or rest session of `user_name`
    /// (event reason `userLogout`); returns how many.
    pub fn user_close_sessions(&self, user_name: &str) -> Result<u64> {
        let closed = self.with_site(|store| store.user_close(self, user_name));
        self.core.events.drain();
        closed
    }

    /// Sessions the user index holds (for tests and diagnostics: one per web or rest session
    /// held that has a user).
    pub fn held_user_sessions(&self) -> u64 {
        self.core.local.users.len() as u64
    }
}

/// A row of `user_sessions`: the clients list's, with `lastActivity`.
pub(crate) fn user_row(session: &Session, now: Millis) -> String {
    let mut row = String::with_capacity(400);
    session.client_json(now, &mut row);
    row.pop();
    row.push_str(",\"lastActivity\":\"");
    crate::clock::push_iso8601(&mut row, session.last_activity);
    row.push_str("\"}");
    row
}

/// The check a change of user gives its operation: the session's user is still `old` (else
/// `raced` is set, and the change is decided again).
fn still_user<'a>(old: &'a str, raced: &'a Cell<bool>) -> impl Fn(&Session) -> Result<()> + 'a {
    move |session: &Session| {
        if *session.details.user_name == *old {
            Ok(())
        } else {
            raced.set(true);
            Err(Error::new(
                ErrorKind::BadState,
                "the user changed meanwhile",
            ))
        }
    }
}
