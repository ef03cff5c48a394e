//! 4D's one-time passcodes (4D 20 R9 `Session.createOTP()` / `Session.restore()`): a random
//! token that hands a web session over once, to a request that does not carry its cookie (a
//! third party's callback, say). A token is a bearer secret like a session ID: no message
//! repeats it.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::clock::Millis;
use crate::id::SessionId;

/// One passcode a session holds: its digest, never the token itself, which only the caller
/// that asked for it ever has (see `digest`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Otp {
    pub key: u128,
    pub expires: Millis,
}

/// The digest a passcode is kept and found under.
pub fn key_of(token: SessionId) -> u128 {
    crate::digest::digest(crate::digest::Purpose::Passcode, token)
}

/// The shortest lifespan of a passcode, in seconds (4D's).
pub(crate) const MIN_LIFESPAN_SECONDS: i64 = 10;

const SHARDS: usize = 16;

/// A token's digest → the client number of the session holding it. Each shard's lock is a leaf.
#[derive(Default)]
pub struct OtpIndex {
    shards: [Mutex<HashMap<u128, u64>>; SHARDS],
}

impl OtpIndex {
    fn shard(&self, key: u128) -> &Mutex<HashMap<u128, u64>> {
        &self.shards[(key >> 124) as usize % SHARDS]
    }

    pub fn insert(&self, key: u128, client: u64) {
        self.shard(key).lock().insert(key, client);
    }

    /// Takes a passcode out by its digest; the client that held it, if any did.
    pub fn take(&self, key: u128) -> Option<u64> {
        self.shard(key).lock().remove(&key)
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
