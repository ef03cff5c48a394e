//! Client numbers: what administrators use to name a client instead of its session ID (a bearer
//! token). Every session gets one, a positive integer, increasing, never reused while the library
//! is loaded (reset or not), as FileMaker's Admin API numbers its clients. The index finds a
//! client's session from its number, and follows the session through ID rotation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::id::SessionId;

/// The next client number, shared by every registry of the process.
static NEXT: AtomicU64 = AtomicU64::new(1);

/// A client number never handed out before.
pub fn next_client_id() -> u64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

const SHARDS: usize = 16;

/// Client number → the session's current ID. Each shard's lock is a leaf: nothing else is
/// locked while it is held.
#[derive(Default)]
pub struct ClientIndex {
    shards: [Mutex<HashMap<u64, SessionId>>; SHARDS],
}

impl ClientIndex {
    fn shard(&self, client: u64) -> &Mutex<HashMap<u64, SessionId>> {
        &self.shards[(client % SHARDS as u64) as usize]
    }

    /// Records (or, after a rotation, moves) a client's session.
    pub fn set(&self, client: u64, id: SessionId) {
        self.shard(client).lock().insert(client, id);
    }

    pub fn get(&self, client: u64) -> Option<SessionId> {
        self.shard(client).lock().get(&client).copied()
    }

    pub fn remove(&self, client: u64) {
        self.shard(client).lock().remove(&client);
    }

    /// Removes many, taking each shard's lock once (a sweep's).
    pub fn remove_all(&self, clients: impl IntoIterator<Item = u64>) {
        let mut by_shard: [Vec<u64>; SHARDS] = Default::default();
        for client in clients {
            by_shard[(client % SHARDS as u64) as usize].push(client);
        }
        for (shard, clients) in self.shards.iter().zip(&by_shard) {
            if !clients.is_empty() {
                let mut shard = shard.lock();
                for client in clients {
                    shard.remove(client);
                }
            }
        }
    }

    pub fn clear(&self) {
        for shard in &self.shards {
            shard.lock().clear();
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_increase_and_are_positive() {
        let a = next_client_id();
        let b = next_client_id();
        assert!(a > 0 && b > a);
    }

    #[test]
    fn set_get_remove() {
        let index = ClientIndex::default();
        let (one, two) = (SessionId::random(), SessionId::random());
        index.set(7, one);
        assert_eq!(index.get(7), Some(one));
        index.set(7, two);
        assert_eq!(index.get(7), Some(two));
        index.remove(7);
        assert_eq!(index.get(7), None);
        assert_eq!(index.len(), 0);
    }
}
