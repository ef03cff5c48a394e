//! The sessions themselves: a sharded map from ID to slot, each session behind its own lock,
//! with its expiry time readable without taking that lock.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::{Mutex, MutexGuard, RwLock};

use crate::clock::Millis;
use crate::id::SessionId;
use crate::session::Session;

/// Enough shards that two threads rarely meet on one: the IDs spread evenly over them.
const SHARDS: usize = 64;

/// Expiry of a session that never expires.
pub(crate) const NEVER: Millis = Millis::MAX;

pub struct Slot {
    /// When the session expires (`NEVER` for types without idle timeout). Written under the
    /// session's lock, read without it.
    expires_at: AtomicI64,
    session: Mutex<Session>,
}

impl Slot {
    pub fn is_live(&self, now: Millis) -> bool {
        self.expires_at.load(Ordering::Acquire) > now
    }

    pub fn lock(&self) -> MutexGuard<'_, Session> {
        self.session.lock()
    }

    /// Publishes the session's expiry after a change to its activity or idle timeout.
    pub fn publish_expiry(&self, session: &Session) {
        self.expires_at
            .store(session.expires_at().unwrap_or(NEVER), Ordering::Release);
    }
}

/// IDs are random and made only by the library, so their own bits are a good hash.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 =
            ((n as u64) ^ ((n >> 64) as u64).rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type ShardMap = RwLock<HashMap<u128, Box<Slot>, BuildHasherDefault<IdHasher>>>;

/// One shard on cache lines of its own, so that threads working on neighbouring shards do not
/// fight over one line (false sharing).
#[derive(Default)]
#[repr(align(128))]
struct Shard(ShardMap);

impl std::ops::Deref for Shard {
    type Target = ShardMap;
    fn deref(&self) -> &ShardMap {
        &self.0
    }
}

pub struct SessionMap {
    shards: Box<[Shard]>,
    /// Entries in the map, expired or not.
    entries: AtomicU64,
}

impl Default for SessionMap {
    fn default() -> SessionMap {
        SessionMap {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            entries: AtomicU64::new(0),
        }
    }
}

impl SessionMap {
    fn shard(&self, id: SessionId) -> &Shard {
        &self.shards[id.shard(SHARDS)]
    }

    /// Runs `f` on the live session `id`, with its shard read-locked; `None` when there is none.
    pub fn with<R>(&self, id: SessionId, now: Millis, f: impl FnOnce(&Slot) -> R) -> Option<R> {
        let shard = self.shard(id).read();
        let slot = shard.get(&id.0).filter(|slot| slot.is_live(now))?;
        Some(f(slot))
    }

    /// Entries in the map, counting expired ones not yet swept.
    pub fn entries(&self) -> u64 {
        self.entries.load(Ordering::Acquire)
    }

    /// Reserves room for one more entry, unless that would pass `max`.
    pub fn reserve(&self, max: u64) -> bool {
        self.entries
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Inserts a session under a reservation; returns its ID, which is new if (against all
    /// odds) the one it came with was taken.
    /// `inserted` sees the session under the shard's lock, before anyone else can.
    pub fn insert_reserved(
        &self,
        mut session: Session,
        inserted: impl FnOnce(&Session),
    ) -> SessionId {
        loop {
            let id = session.id;
            let mut shard = self.shard(id).write();
            if shard.contains_key(&id.0) {
                drop(shard);
                session.id = SessionId::random();
                continue;
            }
            inserted(&session);
            let slot = Box::new(Slot {
                expires_at: AtomicI64::new(session.expires_at().unwrap_or(NEVER)),
                session: Mutex::new(session),
            });
            shard.insert(id.0, slot);
            return id;
        }
    }

    /// Removes `id`; returns the session if it was there, and whether it was still live.
    pub fn remove(&self, id: SessionId, now: Millis) -> Option<(Session, bool)> {
        let slot = self.shard(id).write().remove(&id.0)?;
        self.entries.fetch_sub(1, Ordering::AcqRel);
        let live = slot.is_live(now);
        Some((slot.session.into_inner(), live))
    }

    /// Removes every session whose expiry has passed; returns them.
    pub fn sweep(&self, now: Millis) -> Vec<Session> {
        let mut removed = Vec::new();
        for shard in self.shards.iter() {
            let due = shard.read().values().any(|slot| !slot.is_live(now));
            if !due {
                continue;
            }
            let mut shard = shard.write();
            let before = removed.len();
            removed.extend(
                shard
                    .extract_if(|_, slot| !slot.is_live(now))
                    .map(|(_, slot)| slot.session.into_inner()),
            );
            self.entries
                .fetch_sub((removed.len() - before) as u64, Ordering::AcqRel);
        }
        removed
    }

    /// Calls `f` on every session held, live or not (with its liveness), one shard read-locked
    /// at a time.
    pub fn for_each(&self, now: Millis, mut f: impl FnMut(&Slot, bool)) {
        for shard in self.shards.iter() {
            for slot in shard.read().values() {
                f(slot, slot.is_live(now));
            }
        }
    }

    /// Calls `f` on every live session, one shard read-locked at a time.
    pub fn for_each_live(&self, now: Millis, mut f: impl FnMut(&Slot)) {
        for shard in self.shards.iter() {
            for slot in shard.read().values().filter(|slot| slot.is_live(now)) {
                f(slot);
            }
        }
    }

    /// Removes everything.
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            let mut shard = shard.write();
            self.entries.fetch_sub(shard.len() as u64, Ordering::AcqRel);
            shard.clear();
        }
    }
}
