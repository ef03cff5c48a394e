//! The Redis store: each session a hash `{prefix}s:{ID}` of three fields — `v` its version
//! (bumped by every write), `c` its client number, `r` its record (see `record`) — that expires
//! when the session does (Redis' own key expiry, moved by every write). Client numbers come
//! from one `INCR` counter, `{prefix}clients`. Every write is one Lua script that checks the
//! version it was computed from, so that a change is whole or absent and never overwrites
//! another host's.
//!
//! Connections are kept for reuse, one per call in flight, and never shared: no lock is held
//! while Redis answers. A connection that failed is dropped; the next call connects again, so
//! the library reconnects by itself. No call waits longer than `timeoutMs` in all: every
//! connect, read and write gets what is left of it.

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use redis::{Client, Connection, RedisError, Script};

use super::RedisSettings;
use crate::clock::Millis;
use crate::error::{Error, ErrorKind, Result};
use crate::id::SessionId;

/// Idle connections kept at most (more are closed when returned).
const MAX_IDLE: usize = 64;

/// A session as Redis has it: version, client number and record text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub version: u64,
    pub client: u64,
    pub record: String,
}

pub struct RedisStore {
    client: Client,
    /// `host:port` (or the socket's path): what messages name. Never the URL, which may hold a
    /// password.
    address: String,
    prefix: String,
    timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    commit: Script,
    insert: Script,
    remove: Script,
    count: Script,
}

/// The moment a call must have its answer by.
#[derive(Clone, Copy, Debug)]
pub struct Deadline(Instant);

/// Writes `r` (and the expiry) only if the version is still ARGV[1]; 1 if written, 0 if the
/// version moved, -1 if the session is gone. KEYS[2], the live sessions by expiry, follows.
const COMMIT: &str = r"
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', tostring(tonumber(ARGV[1]) + 1), 'r', ARGV[2])
if ARGV[3] == '' then
  redis.call('PERSIST', KEYS[1])
  redis.call('ZADD', KEYS[2], 'XX', 'inf', ARGV[4])
else
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
  redis.call('ZADD', KEYS[2], 'XX', ARGV[3], ARGV[4])
end
return 1
";

/// A new session, unless the ID is in use (0) or ARGV[4] sessions are live (-1): its client
/// number from the counter (KEYS[2]), returned; filed in the live sessions by expiry (KEYS[3]),
/// whose entries that ARGV[3] (now) passed are dropped first.
const INSERT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[3])
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then return -1 end
local client = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'v', '0', 'c', tostring(client), 'r', ARGV[1])
if ARGV[2] == '' then
  redis.call('ZADD', KEYS[3], 'inf', ARGV[5])
else
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[5])
end
return client
";

/// Takes a session out if its version is still ARGV[1]: 1, 0 if the version moved, -1 if gone.
const REMOVE: &str = r"
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
";

/// The live sessions: drops the entries that ARGV[1] (now) passed, counts the rest.
const COUNT: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZCARD', KEYS[1])
";

/// What a versioned write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Done,
    /// Another write came first: read again.
    Moved,
    /// The session is gone (closed, or expired by Redis).
    Gone,
}

impl Written {
    fn from_reply(reply: i64) -> Written {
        match reply {
            1 => Written::Done,
            0 => Written::Moved,
            _ => Written::Gone,
        }
    }
}

/// A key's expiry as the scripts take it: milliseconds, or "" for none.
fn expiry_arg(expires_at: Option<Millis>) -> String {
    expires_at.map(|t| t.max(1).to_string()).unwrap_or_default()
}

impl RedisStore {
    /// Opens the store and checks that Redis answers (`Unavailable` if not); a URL that does
    /// not parse is `InvalidArgument`.
    pub fn open(settings: &RedisSettings) -> Result<RedisStore> {
        let client = Client::open(settings.url.as_str()).map_err(|e| {
            Error::invalid(format!(
                "\"store\": \"url\" is not a Redis URL ({})",
                e.category()
            ))
        })?;
        let address = client.get_connection_info().addr().to_string();
        let store = RedisStore {
            client,
            address,
            prefix: settings.prefix.clone(),
            timeout: Duration::from_millis(settings.timeout_ms),
            idle: Mutex::new(Vec::new()),
            commit: Script::new(COMMIT),
            insert: Script::new(INSERT),
            remove: Script::new(REMOVE),
            count: Script::new(COUNT),
        };
        let deadline = store.deadline();
        store.run(deadline, true, |c| redis::cmd("PING").query::<String>(c))?;
        Ok(store)
    }

    pub fn deadline(&self) -> Deadline {
        Deadline(Instant::now() + self.timeout)
    }

    /// The session's key, and its member in the live sessions' set.
    fn session_key(&self, id: SessionId) -> (String, String) {
        let hex = id.to_hex();
        let member = std::str::from_utf8(&hex).unwrap_or_default().to_owned();
        (format!("{}s:{member}", self.prefix), member)
    }

    fn clients_key(&self) -> String {
        format!("{}clients", self.prefix)
    }

    fn live_key(&self) -> String {
        format!("{}live", self.prefix)
    }

    /// The session as stored, or `None` if Redis has no such key.
    pub fn load(&self, deadline: Deadline, id: SessionId) -> Result<Option<Stored>> {
        let (key, _) = self.session_key(id);
        let (version, client, record): (Option<u64>, Option<u64>, Option<String>) =
            self.run(deadline, true, |c| {
                redis::cmd("HMGET")
                    .arg(&key)
                    .arg("v")
                    .arg("c")
                    .arg("r")
                    .query(c)
            })?;
        Ok(match (version, client, record) {
            (Some(version), Some(client), Some(record)) => Some(Stored {
                version,
                client,
                record,
            }),
            _ => None,
        })
    }

    /// Writes `record` over version `version`, expiring at `expires_at` (`None`: never).
    pub fn commit(
        &self,
        deadline: Deadline,
        id: SessionId,
        version: u64,
        record: &str,
        expires_at: Option<Millis>,
    ) -> Result<Written> {
        let ((key, member), live) = (self.session_key(id), self.live_key());
        let reply: i64 = self.run(deadline, false, |c| {
            self.commit
                .key(&key)
                .key(&live)
                .arg(version.to_string())
                .arg(record)
                .arg(expiry_arg(expires_at))
                .arg(&member)
                .invoke(c)
        })?;
        Ok(Written::from_reply(reply))
    }

    /// Stores a new session; returns its client number, `Ok(None)` if the ID is in use, and
    /// `LimitExceeded` if `max_sessions` are live.
    pub fn insert(
        &self,
        deadline: Deadline,
        id: SessionId,
        record: &str,
        expires_at: Option<Millis>,
        now: Millis,
        max_sessions: u64,
    ) -> Result<Option<u64>> {
        let ((key, member), clients, live) =
            (self.session_key(id), self.clients_key(), self.live_key());
        let reply: i64 = self.run(deadline, false, |c| {
            self.insert
                .key(&key)
                .key(&clients)
                .key(&live)
                .arg(record)
                .arg(expiry_arg(expires_at))
                .arg(now)
                .arg(max_sessions)
                .arg(&member)
                .invoke(c)
        })?;
        match reply {
            -1 => Err(Error::limit(format!(
                "{max_sessions} sessions are live in the Redis store: maxSessions is reached"
            ))),
            0 => Ok(None),
            client => Ok(Some(client as u64)),
        }
    }

    /// Takes the session out if its version is still `version`.
    pub fn remove(&self, deadline: Deadline, id: SessionId, version: u64) -> Result<Written> {
        let ((key, member), live) = (self.session_key(id), self.live_key());
        let reply: i64 = self.run(deadline, false, |c| {
            self.remove
                .key(&key)
                .key(&live)
                .arg(version.to_string())
                .arg(&member)
                .invoke(c)
        })?;
        Ok(Written::from_reply(reply))
    }

    /// How many sessions are live in the store at `now`.
    pub fn count(&self, deadline: Deadline, now: Millis) -> Result<u64> {
        let live = self.live_key();
        self.run(deadline, true, |c| self.count.key(&live).arg(now).invoke(c))
    }

    /// Runs `op` on a connection with what is left of `deadline` as its timeouts. A reused
    /// connection that fails on an `idempotent` op is replaced and the op tried once more (a
    /// Redis restart leaves every kept connection dead); a write is not sent twice, since the
    /// first may have reached Redis.
    fn run<R>(
        &self,
        deadline: Deadline,
        idempotent: bool,
        mut op: impl FnMut(&mut Connection) -> redis::RedisResult<R>,
    ) -> Result<R> {
        let kept = self.idle.lock().pop();
        let reused = kept.is_some();
        let mut connection = match kept {
            Some(c) => c,
            None => self.connect(deadline)?,
        };
        let outcome = self
            .limit(&connection, deadline)
            .and_then(|()| op(&mut connection).map_err(|e| self.unavailable(&e, deadline)));
        match outcome {
            Ok(value) => {
                self.keep(connection);
                Ok(value)
            }
            Err(_) if reused && idempotent => {
                drop(connection);
                // The others kept may be as dead as this one.
                self.idle.lock().clear();
                let mut connection = self.connect(deadline)?;
                self.limit(&connection, deadline)?;
                let value = op(&mut connection).map_err(|e| self.unavailable(&e, deadline))?;
                self.keep(connection);
                Ok(value)
            }
            Err(e) => {
                self.idle.lock().clear();
                Err(e)
            }
        }
    }

    fn keep(&self, connection: Connection) {
        let mut idle = self.idle.lock();
        if idle.len() < MAX_IDLE {
            idle.push(connection);
        }
    }

    fn connect(&self, deadline: Deadline) -> Result<Connection> {
        let left = self.left(deadline)?;
        self.client
            .get_connection_with_timeout(left)
            .map_err(|e| self.unavailable(&e, deadline))
    }

    /// Sets the connection's read and write timeouts to what is left of the deadline.
    fn limit(&self, connection: &Connection, deadline: Deadline) -> Result<()> {
        let left = self.left(deadline)?;
        connection
            .set_read_timeout(Some(left))
            .and_then(|()| connection.set_write_timeout(Some(left)))
            .map_err(|e| self.unavailable(&e, deadline))
    }

    fn left(&self, deadline: Deadline) -> Result<Duration> {
        let left = deadline.0.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.timed_out());
        }
        Ok(left)
    }

    fn timed_out(&self) -> Error {
        Error::new(
            ErrorKind::Unavailable,
            format!(
                "the Redis store at {} did not answer within timeoutMs ({} ms)",
                self.address,
                self.timeout.as_millis()
            ),
        )
    }

    /// The error for a failed exchange with Redis. It names the address and the kind of
    /// failure, never a key, a value or the URL.
    fn unavailable(&self, e: &RedisError, deadline: Deadline) -> Error {
        if e.is_timeout() || deadline.0 <= Instant::now() {
            return self.timed_out();
        }
        let what = if e.is_connection_refusal() {
            "connection refused".to_owned()
        } else if e.is_connection_dropped() || e.is_io_error() {
            "connection lost".to_owned()
        } else if let Some(code) = e.code() {
            format!("Redis answered {}", crate::id::truncate_for_message(code))
        } else {
            e.category().to_owned()
        };
        Error::new(
            ErrorKind::Unavailable,
            format!("the Redis store at {} is unavailable: {what}", self.address),
        )
    }
}
