//! The registry on the Redis store: the same operations as in memory, on a copy of the session
//! read from Redis and written back only if the operation changed it and nobody else wrote it
//! meanwhile (otherwise the operation runs again on what is there now). The rules stay where
//! they are, in the operations; this file only moves sessions between Redis and them.
//!
//! What stays in this process: the storedProcedure and standalone sessions (they describe one
//! server), events and the access log (each host tells of the calls it made), the counters of
//! `stats`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Access, Registry, SessionRef, not_found};
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::events::{CloseReason, End};
use crate::id::SessionId;
use crate::session::Session;
use crate::store::record;
use crate::store::redis::{RedisStore, Written};

impl Registry {
    /// The Redis store, when the registry is on one.
    pub(super) fn redis(&self) -> Option<Arc<RedisStore>> {
        if !self.on_redis.load(Ordering::Acquire) {
            return None;
        }
        self.redis.read().clone()
    }

    /// Refuses what the Redis store does not do yet (`NotSupported`); nothing on memory. The
    /// C layer calls it before the listings, whose core functions cannot fail.
    pub fn memory_only(&self, what: &str) -> Result<()> {
        if self.on_redis.load(Ordering::Acquire) {
            return Err(Error::not_supported(format!(
                "{what} is not available with the Redis store yet"
            )));
        }
        Ok(())
    }

    /// Runs `f` on the session `id` of the Redis store, as [`Registry::access`] does in memory.
    pub(super) fn remote_access<R>(
        &self,
        store: &RedisStore,
        id: SessionId,
        mut f: impl FnMut(&mut Access<'_>) -> Result<R>,
    ) -> Result<R> {
        let deadline = store.deadline();
        loop {
            let stored = store.load(deadline, id)?.ok_or_else(not_found)?;
            let roles = Arc::clone(&self.roles.read());
            let mut session = record::decode(id, stored.client, &stored.record, &roles)?;
            let now = self.now();
            if !is_live(&session, now) {
                // Redis drops the key at the same moment by its own clock; a manual clock, or
                // a host's clock ahead of Redis', may see the end first.
                return Err(not_found());
            }
            let hold = self.core.events.hold();
            let result = f(&mut Access {
                slot: None,
                session: SessionRef::Copy(&mut session),
                now,
            });
            let written = record::encode(&session);
            if result.is_err() || written == stored.record {
                // A failed operation changes nothing; a read has nothing to write.
                if result.is_ok() {
                    self.counted(hold.commit());
                }
                return result;
            }
            match store.commit(deadline, id, stored.version, &written, session.expires_at())? {
                Written::Done => {
                    self.counted(hold.commit());
                    return result;
                }
                // Another host (or thread) wrote first: the operation runs again on what it
                // wrote, and what this attempt would have told is forgotten.
                Written::Moved => continue,
                Written::Gone => return Err(not_found()),
            }
        }
    }

    fn counted(&self, identifier_changes: u64) {
        if identifier_changes > 0 {
            self.core
                .counters
                .identifier_changes
                .fetch_add(identifier_changes, Ordering::AcqRel);
        }
    }

    /// Stores a new session in Redis, its client number given by Redis.
    pub(super) fn insert_remote(
        &self,
        store: &RedisStore,
        mut session: Session,
    ) -> Result<SessionId> {
        let deadline = store.deadline();
        let max = self.live.max_sessions();
        loop {
            let record = record::encode(&session);
            let filed = store.insert(
                deadline,
                session.id,
                &record,
                session.expires_at(),
                session.created,
                max,
            )?;
            match filed {
                Some(client) => {
                    session.client_id = client;
                    session.sequence = client;
                    break;
                }
                // 128 random bits met a live ID: a new one.
                None => session.id = SessionId::random(),
            }
        }
        self.core.counters.created.fetch_add(1, Ordering::AcqRel);
        self.core.emit(
            crate::events::EventKind::Created,
            &session,
            session.created,
            || crate::events::Detail::Created {
                session_type: session.kind.name(),
                user_name: session.details.user_name.clone(),
                origin: session.client_origin(),
                application: session.client_application(),
            },
        );
        Ok(session.id)
    }

    /// Takes the session `id` out of Redis, closed for `reason`.
    pub(super) fn end_remote(
        &self,
        store: &RedisStore,
        id: SessionId,
        reason: CloseReason,
    ) -> Result<()> {
        let deadline = store.deadline();
        loop {
            let stored = store.load(deadline, id)?.ok_or_else(not_found)?;
            let roles = Arc::clone(&self.roles.read());
            let session = record::decode(id, stored.client, &stored.record, &roles)?;
            let now = self.now();
            match store.remove(deadline, id, stored.version)? {
                Written::Done => {
                    if !is_live(&session, now) {
                        self.core.ended(&session, now, session.lapsed_end());
                        return Err(not_found());
                    }
                    self.core.ended(&session, now, End::Closed(reason));
                    return Ok(());
                }
                Written::Moved => continue,
                Written::Gone => return Err(not_found()),
            }
        }
    }

    /// Live sessions: this process's, and the Redis store's when the registry is on one.
    pub fn live_sessions(&self) -> Result<u64> {
        let here = self.session_count();
        match self.redis() {
            Some(store) => Ok(here + store.count(store.deadline(), self.now())?),
            None => Ok(here),
        }
    }
}

fn is_live(session: &Session, now: Millis) -> bool {
    session.expires_at().is_none_or(|end| end > now)
}
