//! The memory store: this process's sessions, in the sharded map of `session_map`, with its
//! indexes (by client number and expiry in the map; users, passcodes and file names here).
//! Every registry has one: it holds every session when the site is this process, and the
//! storedProcedure and standalone sessions (they describe one server) whatever the store.
//!
//! A session is changed in place under its lock; an index that the change moves (a user's
//! sessions, a passcode) is updated under locks taken in one order, so that a cap or a
//! passcode holds exactly under any concurrency.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;

use super::site::{Operation, Rotation, Store, UserChange};
use crate::clock::{Millis, Moment};
use crate::error::{Error, Result};
use crate::events::{CloseReason, End};
use crate::id::SessionId;
use crate::otp::{OtpIndex, key_of};
use crate::registry::{Access, Core, Member, Recall, Registry, Target, not_found, user_row};
use crate::session::Session;
use crate::session_map::SessionMap;
use crate::user_index::{UserIndex, Users, remove_from};

#[derive(Default)]
pub(crate) struct MemoryStore {
    pub map: SessionMap,
    /// User name → its web and rest sessions.
    pub users: UserIndex,
    /// A passcode's digest → the client number of the session holding it.
    pub otps: OtpIndex,
    /// Each file name attached, and the ID every client sees for it.
    file_ids: Mutex<HashMap<String, u32>>,
}

impl MemoryStore {
    /// Forgets every session and index entry.
    pub fn clear(&self) {
        self.map.clear();
        self.otps.clear();
        self.users.clear();
        self.file_ids.lock().clear();
    }

    /// After a change that may have brought the session's end closer (a disconnection): the
    /// sweep's index files it at the new end.
    pub fn refile(&self, target: Target, now: Millis) {
        if let Target::Id(id) = target {
            self.map.refile_if_earlier(id, now);
        }
    }

    /// A passcode (its digest `key`) was added to the session `a` holds: indexed, if the
    /// session is this store's (locked in place).
    pub fn passcode_made(&self, a: &Access<'_>, key: u128) {
        if a.slot.is_some() {
            // Indexed under the session's lock: the session cannot end (and forget its
            // passcodes) before the index has this one.
            self.otps.insert(key, a.session.client_id);
        }
    }

    /// Under `maxSessionsPerUser`, makes room for one more session of `user` (whose shard is
    /// locked): refused, or the least recently active closed, as the policy says.
    fn make_room(&self, r: &Registry, users: &mut Users, user: &str, joining: u64) -> Result<()> {
        if !r.user_cap_applies() {
            return Ok(());
        }
        let now = r.now();
        let members = self.members(users, user, now);
        for member in &r.over_cap(members, joining)? {
            remove_from(users, user, member.client);
            if let Some((session, live)) = self.map.remove_client(member.client, now) {
                let end = if live {
                    End::Closed(CloseReason::SessionLimit)
                } else {
                    session.lapsed_end()
                };
                r.core.ended_unindexed(&session, now, end);
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
                self.map.with_client(client, now, |slot| {
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
}

impl Store for MemoryStore {
    fn scope(&self) -> Option<Box<dyn Any>> {
        None
    }

    fn access(
        &self,
        r: &Registry,
        target: Target,
        _recall: Recall,
        f: &mut Operation<'_>,
    ) -> Option<Result<()>> {
        let Target::Id(id) = target else {
            return None;
        };
        let now = r.moment();
        let resolution = r.live.activity_resolution();
        self.map.with(id, now, |slot| {
            f(&mut Access::locked(slot, now, resolution))
        })
    }

    fn insert(&self, r: &Registry, session: Session) -> Result<SessionId> {
        let max = r.live.max_sessions();
        if !self.map.reserve(max) {
            // Expired sessions still hold room until swept; then the least recently active
            // guest makes room (never a session with a grant), unless the policy refuses.
            r.core.sweep();
            while !self.map.reserve(max) {
                let now = r.now();
                let evicted = r
                    .live
                    .evict_guests()
                    .then(|| self.map.evict_guest(now))
                    .flatten();
                let Some(session) = evicted else {
                    return Err(Error::limit(format!(
                        "{max} sessions are live: maxSessions is reached (and no guest session \
                         can make room)"
                    )));
                };
                r.core
                    .ended(&session, now, End::Closed(CloseReason::Evicted));
            }
        }
        r.core.counters.created.fetch_add(1, Ordering::AcqRel);
        Ok(self
            .map
            .insert_reserved(session, |session| r.core.emit_created(session)))
    }

    fn end(&self, r: &Registry, target: Target, reason: CloseReason) -> Option<Result<()>> {
        let Target::Id(id) = target else {
            return None;
        };
        let now = r.now();
        let (session, live) = self.map.remove(id, now)?;
        if !live {
            r.core.ended(&session, now, session.lapsed_end());
            return Some(Err(not_found()));
        }
        r.core.ended(&session, now, End::Closed(reason));
        Some(Ok(()))
    }

    fn rotate(
        &self,
        r: &Registry,
        id: SessionId,
        grace: Millis,
        f: &mut Rotation<'_>,
    ) -> Option<Result<SessionId>> {
        let now = r.now();
        let resolution = r.live.activity_resolution();
        self.map
            .rekey(id, now, now + grace, |slot, new| {
                f(
                    &mut Access::locked(slot, Moment::Exact(now), resolution),
                    new,
                )
            })
            .map(|rotated| rotated.map(|(new, ())| new))
    }

    fn new_client_number(&self) -> Result<Option<u64>> {
        Ok(None)
    }

    fn client_session(&self, client: u64) -> Result<Option<Target>> {
        Ok(self.map.client_session(client).map(Target::Id))
    }

    fn session_id(
        &self,
        _r: &Registry,
        target: Target,
        _secret: Option<u128>,
    ) -> Result<Option<SessionId>> {
        Ok(match target {
            Target::Id(id) => Some(id),
            Target::Key(_) => None,
        })
    }

    fn move_user(
        &self,
        r: &Registry,
        id: SessionId,
        client: u64,
        old: &str,
        new: &str,
        op: &mut UserChange<'_>,
    ) -> Option<Result<bool>> {
        self.map.with(id, r.now(), |_| ())?;
        let (mut new_shard, mut old_shard) = self.users.lock_two(new, old);
        if !new.is_empty()
            && let Err(e) = self.make_room(r, &mut new_shard, new, client)
        {
            return Some(Err(e));
        }
        let outcome = op();
        if outcome.is_ok() {
            let old_users: &mut Users = old_shard.as_deref_mut().unwrap_or(&mut new_shard);
            remove_from(old_users, old, client);
            if !new.is_empty() {
                new_shard.entry(new.to_owned()).or_default().insert(client);
            }
        }
        Some(outcome.map(|()| true))
    }

    fn user_rows(&self, r: &Registry, user: &str) -> Result<Vec<(u64, String)>> {
        let users = self.users.lock(user);
        // The time is read under the user's lock, as a login's cap check reads it: a listing
        // at an instant before a login that found a member expired would count that member
        // live beside the login's new one.
        let now = r.now();
        Ok(self
            .members(&users, user, now)
            .into_iter()
            .filter_map(|member| {
                self.map.with_client(member.client, now, |slot| {
                    let session = slot.read();
                    (session.sequence, user_row(&session, now))
                })
            })
            .collect())
    }

    fn user_close(&self, r: &Registry, user: &str) -> Result<u64> {
        let mut closed = 0;
        let mut users = self.users.lock(user);
        // Under the user's lock, as in user_rows.
        let now = r.now();
        for client in users.remove(user).unwrap_or_default() {
            if let Some((session, live)) = self.map.remove_client(client, now) {
                let end = if live {
                    closed += 1;
                    End::Closed(CloseReason::UserLogout)
                } else {
                    session.lapsed_end()
                };
                r.core.ended_unindexed(&session, now, end);
            }
        }
        Ok(closed)
    }

    fn passcode_filed(
        &self,
        _r: &Registry,
        _id: SessionId,
        _token: SessionId,
        _client: u64,
        _expires: Millis,
        lapsed: &[u128],
    ) -> Result<()> {
        for key in lapsed {
            self.otps.take(*key);
        }
        Ok(())
    }

    fn take_passcode(&self, token: SessionId) -> Result<Option<(u64, Option<u128>)>> {
        Ok(self.otps.take(key_of(token)).map(|client| (client, None)))
    }

    fn for_each(
        &self,
        _r: &Registry,
        now: Millis,
        f: &mut dyn FnMut(&Session, bool),
    ) -> Result<()> {
        self.map
            .for_each(now, |slot, is_live| f(&slot.read(), is_live));
        Ok(())
    }

    fn for_clients(
        &self,
        _r: &Registry,
        now: Millis,
        clients: &[u64],
        f: &mut dyn FnMut(&Session),
    ) -> Result<()> {
        for &client in clients {
            self.map.with_client(client, now, |slot| f(&slot.read()));
        }
        Ok(())
    }

    fn file_id(&self, name: &str, max: usize) -> Result<Option<u32>> {
        let mut ids = self.file_ids.lock();
        if let Some(id) = ids.get(name) {
            return Ok(Some(*id));
        }
        if ids.len() >= max {
            return Ok(None);
        }
        let id = ids.len() as u32 + 1;
        ids.insert(name.to_owned(), id);
        Ok(Some(id))
    }

    fn sweep(&self, core: &Core, now: Millis) -> Result<u64> {
        // A slot leaves the map under its shard's lock, once: whoever takes it tells.
        let mut removed = self.map.sweep(now);
        for slot in &mut removed {
            let session = slot.session_mut();
            core.ended(session, now, session.lapsed_end());
        }
        Ok(removed.len() as u64)
    }

    fn count(&self, now: Millis) -> Result<u64> {
        let mut live = 0;
        self.map.for_each_live(now, |_| live += 1);
        Ok(live)
    }
}
