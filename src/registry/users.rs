//! A user's sessions (OWASP ASVS 3.3): the web and rest sessions of one `userName`, listed by
//! client number (never by session ID), closed together ("log out everywhere"), and capped by
//! `maxSessionsPerUser`, exactly, however many threads log the same user in at once.

use std::cell::Cell;

use super::Registry;
use crate::clock::Millis;
use crate::error::{Error, ErrorKind, Result};
use crate::events::{CloseReason, End};
use crate::id::SessionId;
use crate::session::Session;
use crate::settings::SessionLimitPolicy;
use crate::user_index::{Users, remove_from};

/// A live session of a user, as the cap weighs it.
pub(super) struct Member {
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
        if let Some(store) = self.redis()
            && self.core.map.with(id, self.now(), |_| ()).is_none()
        {
            return self.as_user_change_remote(&store, id, new, op);
        }
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
            let (mut new_shard, mut old_shard) = self.core.users.lock_two(new, &old);
            if !new.is_empty() {
                self.make_room(&mut new_shard, new, client)?;
            }
            let outcome = op(&unchanged);
            if raced.get() {
                continue;
            }
            if outcome.is_ok() {
                let old_users: &mut Users = old_shard.as_deref_mut().unwrap_or(&mut new_shard);
                remove_from(old_users, &old, client);
                if !new.is_empty() {
                    new_shard.entry(new.to_owned()).or_default().insert(client);
                }
            }
            return outcome;
        }
    }

    /// Whether the session is a web or rest one, its user, and its client number.
    pub(super) fn user_of(&self, id: SessionId) -> Result<(bool, String, u64)> {
        self.read(id, |s| {
            Ok((
                s.kind.is_web(),
                s.details.user_name.to_string(),
                s.client_id,
            ))
        })
    }

    /// Under `maxSessionsPerUser`, makes room for one more session of `user` (whose shard is
    /// locked): refused, or the least recently active closed, as the policy says.
    fn make_room(&self, users: &mut Users, user: &str, joining: u64) -> Result<()> {
        let (max, _) = self.live.session_limit();
        if max == 0 {
            return Ok(());
        }
        let now = self.now();
        let members = self.members(users, user, now);
        for member in &self.over_cap(members, joining)? {
            remove_from(users, user, member.client);
            if let Some((session, live)) = self.core.map.remove_client(member.client, now) {
                let end = if live {
                    End::Closed(CloseReason::SessionLimit)
                } else {
                    session.lapsed_end()
                };
                self.core.ended_unindexed(&session, now, end);
            }
        }
        Ok(())
    }

    /// Whether `maxSessionsPerUser` limits a user's sessions (0: no limit).
    pub(super) fn user_cap_applies(&self) -> bool {
        self.live.session_limit().0 > 0
    }

    /// The cap's rule: of a user's live sessions (`joining` aside), those to close to make room
    /// for one more, least recently active first; `LimitExceeded` under the refuse policy.
    pub(super) fn over_cap(&self, mut members: Vec<Member>, joining: u64) -> Result<Vec<Member>> {
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

    /// The live sessions of `user` (whose shard is locked), in no order.
    fn members(&self, users: &Users, user: &str, now: Millis) -> Vec<Member> {
        let Some(clients) = users.get(user) else {
            return Vec::new();
        };
        clients
            .iter()
            .filter_map(|&client| {
                // By client number: a member rotated meanwhile is still counted.
                self.core.map.with_client(client, now, |slot| {
                    let session = slot.read();
                    Member {
                        client,
                        last_activity: session.last_activity,
                        sequence: session.sequence,
                    }
                })
            })
            .collect()
    }

    /// `{"clients": [row, …]}`: the live sessions of `user_name` (exact bytes), oldest first,
    /// each row as in the clients list (its `id` the client number, never the session ID) with
    /// `lastActivity`. Costs what the user's sessions cost.
    pub fn user_sessions(&self, user_name: &str) -> Result<String> {
        if let Some(store) = self.redis() {
            return self.user_sessions_remote(&store, user_name, self.now());
        }
        let users = self.core.users.lock(user_name);
        // The time is read under the user's lock, as a login's cap check reads it: a listing
        // at an instant before a login that found a member expired would count that member
        // live beside the login's new one.
        let now = self.now();
        let mut rows: Vec<(u64, String)> = self
            .members(&users, user_name, now)
            .into_iter()
            .filter_map(|member| {
                self.core.map.with_client(member.client, now, |slot| {
                    let session = slot.read();
                    (session.sequence, user_row(&session, now))
                })
            })
            .collect();
        drop(users);
        rows.sort_unstable_by_key(|(sequence, _)| *sequence);
        let rows: Vec<String> = rows.into_iter().map(|(_, row)| row).collect();
        Ok(format!("{{\"clients\":[{}]}}", rows.join(",")))
    }

    /// Logs a user out everywhere: closes every live web or rest session of `user_name`
    /// (event reason `userLogout`); returns how many.
    pub fn user_close_sessions(&self, user_name: &str) -> Result<u64> {
        if let Some(store) = self.redis() {
            let closed = self.user_close_remote(&store, user_name);
            self.core.events.drain();
            return closed;
        }
        let mut closed = 0;
        {
            let mut users = self.core.users.lock(user_name);
            // Under the user's lock, as in user_sessions.
            let now = self.now();
            for client in users.remove(user_name).unwrap_or_default() {
                if let Some((session, live)) = self.core.map.remove_client(client, now) {
                    let end = if live {
                        closed += 1;
                        End::Closed(CloseReason::UserLogout)
                    } else {
                        session.lapsed_end()
                    };
                    self.core.ended_unindexed(&session, now, end);
                }
            }
        }
        self.core.events.drain();
        Ok(closed)
    }

    /// Sessions the user index holds (for tests and diagnostics: one per web or rest session
    /// held that has a user).
    pub fn held_user_sessions(&self) -> u64 {
        self.core.users.len() as u64
    }
}

/// A row of `user_sessions`: the clients list's, with `lastActivity`.
pub(super) fn user_row(session: &Session, now: Millis) -> String {
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
pub(super) fn still_user<'a>(
    old: &'a str,
    raced: &'a Cell<bool>,
) -> impl Fn(&Session) -> Result<()> + 'a {
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
