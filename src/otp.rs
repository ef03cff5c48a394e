//! 4D's one-time passcodes (4D 20 R9 `Session.createOTP()` / `Session.restore()`): a random
//! token that hands a web session over once, to a request that does not carry its cookie (a
//! third party's callback, say). A token is a bearer secret like a session ID: no message
//! repeats it.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::clock::Millis;
use crate::id::SessionId;

/// One passcode a session holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Otp {
    pub token: SessionId,
    pub expires: Millis,
}

/// The shortest lifespan of a passcode, in seconds (4D's).
pub(crate) const MIN_LIFESPAN_SECONDS: i64 = 10;

const SHARDS: usize = 16;

/// Token → the client number of the session holding it. Each shard's lock is a leaf.
#[derive(Default)]
pub struct OtpIndex {
    shards: [Mutex<HashMap<u128, u64>>; SHARDS],
}

impl OtpIndex {
    fn shard(&self, token: SessionId) -> &Mutex<HashMap<u128, u64>> {
        &self.shards[token.shard(SHARDS)]
    }

    pub fn insert(&self, token: SessionId, client: u64) {
        self.shard(token).lock().insert(token.value(), client);
    }

    /// Takes a token out; the client that held it, if any did.
    pub fn take(&self, token: SessionId) -> Option<u64> {
        self.shard(token).lock().remove(&token.value())
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
