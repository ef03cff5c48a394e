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
struct Member {
    client: u64,
    last_activity: Millis,
    sequence: u64,
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
        if self.on_redis.load(std::sync::atomic::Ordering::Acquire)
            && self.core.map.with(id, self.now(), |_| ()).is_none()
        {
            // A session of the Redis store: its user's sessions are not indexed there yet.
            if self.live.session_limit().0 > 0 {
                return Err(Error::not_supported(
                    "maxSessionsPerUser is not enforced with the Redis store yet: a login that \
                     names a userName is refused while it is set",
                ));
            }
            return op(&|_| Ok(()));
        }
        loop {
            let (is_web, old, client) = self.read(id, |s| {
                Ok((s.kind.is_web(), s.details.user_name.clone(), s.client_id))
            })?;
            // The check `op` is given: the session's user is still the one read here.
            let raced = Cell::new(false);
            let unchanged = |session: &Session| {
                if session.details.user_name == old {
                    Ok(())
                } else {
                    raced.set(true);
                    Err(Error::new(
                        ErrorKind::BadState,
                        "the user changed meanwhile",
                    ))
                }
            };
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

    /// Under `maxSessionsPerUser`, makes room for one more session of `user` (whose shard is
    /// locked): refused, or the least recently active closed, as the policy says.
    fn make_room(&self, users: &mut Users, user: &str, joining: u64) -> Result<()> {
        let (max, policy) = self.live.session_limit();
        if max == 0 {
            return Ok(());
        }
        let now = self.now();
        let mut members = self.members(users, user, now);
        members.retain(|m| m.client != joining);
        if members.len() < max {
            return Ok(());
        }
        if policy == SessionLimitPolicy::Refuse {
            return Err(Error::limit(format!(
                "the user has {} sessions: maxSessionsPerUser ({max}) is reached",
                members.len()
            )));
        }
        members.sort_by_key(|m| (m.last_activity, m.sequence));
        for member in &members[..=members.len() - max] {
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
                    let session = slot.lock();
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
    pub fn user_sessions(&self, user_name: &str) -> String {
        let now = self.now();
        let users = self.core.users.lock(user_name);
        let mut rows: Vec<(u64, String)> = self
            .members(&users, user_name, now)
            .into_iter()
            .filter_map(|member| {
                self.core.map.with_client(member.client, now, |slot| {
                    let session = slot.lock();
                    let mut row = String::with_capacity(400);
                    session.client_json(now, &mut row);
                    row.pop();
                    row.push_str(",\"lastActivity\":\"");
                    crate::clock::push_iso8601(&mut row, session.last_activity);
                    row.push_str("\"}");
                    (session.sequence, row)
                })
            })
            .collect();
        drop(users);
        rows.sort_unstable_by_key(|(sequence, _)| *sequence);
        let rows: Vec<String> = rows.into_iter().map(|(_, row)| row).collect();
        format!("{{\"clients\":[{}]}}", rows.join(","))
    }

    /// Logs a user out everywhere: closes every live web or rest session of `user_name`
    /// (event reason `userLogout`); returns how many.
    pub fn user_close_sessions(&self, user_name: &str) -> u64 {
        let now = self.now();
        let mut closed = 0;
        {
            let mut users = self.core.users.lock(user_name);
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
        closed
    }

    /// Sessions the user index holds (for tests and diagnostics: one per web or rest session
    /// held that has a user).
    pub fn held_user_sessions(&self) -> u64 {
        self.core.users.len() as u64
    }
}
