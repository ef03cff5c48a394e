//! A user's sessions: the web and rest sessions whose `userName` is a given text (exact bytes),
//! by client number, so that a host can list them, close them all ("log out everywhere") and
//! cap them, at the cost of that user's sessions rather than a scan of the registry.
//!
//! A shard's lock is taken before any lock of the session map (never while one is held), so
//! that a change of a session's user, the check of the user's cap and the closing of the
//! sessions over it happen as one step for that user.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use parking_lot::{Mutex, MutexGuard};

const SHARDS: usize = 16;

/// User name → the client numbers of the sessions that belong to it (a set: a user with many
/// sessions still loses one in constant time). Entries of sessions that lapsed stay until they
/// are swept; readers check liveness.
pub type Users = HashMap<String, HashSet<u64>>;

#[derive(Default)]
pub struct UserIndex {
    shards: [Mutex<Users>; SHARDS],
}

/// A user name's shard, by a hash that needs no randomness (the names are the host's, and a
/// shard only spreads contention).
fn shard_of(user: &str) -> usize {
    let mut hasher = std::hash::DefaultHasher::new();
    user.hash(&mut hasher);
    (hasher.finish() % SHARDS as u64) as usize
}

impl UserIndex {
    /// The shard holding `user`.
    pub fn lock(&self, user: &str) -> MutexGuard<'_, Users> {
        self.shards[shard_of(user)].lock()
    }

    /// The shards holding two users, each once, in one order for every caller (so that two
    /// threads locking the same pair cannot deadlock): the first is `a`'s, the second `b`'s
    /// when it is another shard.
    pub fn lock_two(
        &self,
        a: &str,
        b: &str,
    ) -> (MutexGuard<'_, Users>, Option<MutexGuard<'_, Users>>) {
        let (i, j) = (shard_of(a), shard_of(b));
        if i == j {
            return (self.shards[i].lock(), None);
        }
        if i < j {
            let first = self.shards[i].lock();
            (first, Some(self.shards[j].lock()))
        } else {
            let second = self.shards[j].lock();
            (self.shards[i].lock(), Some(second))
        }
    }

    /// Forgets a session of `user` (one that ended).
    pub fn remove(&self, user: &str, client: u64) {
        remove_from(&mut self.lock(user), user, client);
    }

    pub fn clear(&self) {
        for shard in &self.shards {
            shard.lock().clear();
        }
    }

    /// Sessions held in the index, for tests and diagnostics.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().values().map(HashSet::len).sum::<usize>())
            .sum()
    }
}

/// Takes `client` out of `user`'s entry in a locked shard (dropping the entry once empty).
pub fn remove_from(users: &mut Users, user: &str, client: u64) {
    if let Some(clients) = users.get_mut(user) {
        clients.remove(&client);
        if clients.is_empty() {
            users.remove(user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_users_in_one_shard_lock_it_once() {
        let index = UserIndex::default();
        let (a, b) =
            (0..1000)
                .map(|n| format!("user{n}"))
                .fold((None, None), |(same, other), name| {
                    if shard_of(&name) == shard_of("ann") {
                        (same.or(Some(name)), other)
                    } else {
                        (same, other.or(Some(name)))
                    }
                });
        let (first, second) = index.lock_two("ann", &a.unwrap());
        assert!(second.is_none());
        drop(first);
        let (_first, second) = index.lock_two("ann", &b.unwrap());
        assert!(second.is_some());
    }

    #[test]
    fn entries_go_with_their_last_session() {
        let index = UserIndex::default();
        index
            .lock("ann")
            .entry("ann".into())
            .or_default()
            .extend([1, 2]);
        index.remove("ann", 1);
        assert_eq!(index.len(), 1);
        index.remove("ann", 2);
        assert!(index.lock("ann").is_empty());
    }
}
