//! The Redis store: each session a hash `{prefix}s:{key}` of two fields — `d` its version
//! (bumped by every write), client number and record (see `record`) as one text,
//! `{version}:{client}:{record}`, so that a read is one bulk string; `k` its [`Seals`] (written
//! only when the session is made and when its ID changes) — that expires
//! when the session does (Redis' own key expiry, moved by every write). Client numbers come
//! from one `INCR` counter, `{prefix}clients`. Every write is one Lua script that checks the
//! version it was computed from, so that a change is whole or absent and never overwrites
//! another host's.
//!
//! No session ID and no passcode is written to Redis (see `digest`): a session is keyed and
//! indexed by its key, a digest of its ID, and whatever must lead from one token to another (an
//! old ID to the new one, a passcode to its session's ID) is sealed under the token it starts
//! from.
//!
//! Connections are kept for reuse, one per call in flight, and never shared: no lock is held
//! while Redis answers. A connection that failed is dropped; the next call connects again, so
//! the library reconnects by itself. No call waits longer than `timeoutMs` in all: every
//! connect, read and write gets what is left of it (a socket's timeouts may stay up to 2 ms
//! shorter than that, as an earlier call set them).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use redis::sentinel::{SentinelClient, SentinelServerType};
use redis::{Client, Connection, RedisError, Script};

use super::RedisSettings;
use crate::clock::Millis;
use crate::digest::{self, Purpose};
use crate::error::{Error, ErrorKind, Result};
use crate::id::SessionId;

/// Idle connections kept at most (more are closed when returned).
const MAX_IDLE: usize = 64;

/// A session as Redis has it: version, client number and record (see `record`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub version: u64,
    pub client: u64,
    pub record: Vec<u8>,
}

impl Stored {
    /// From the hash's field `d`: `{version}:{client}:{record}`, the two numbers in decimal.
    fn parse(mut data: Vec<u8>) -> Option<Stored> {
        let number =
            |digits: &[u8]| -> Option<u64> { std::str::from_utf8(digits).ok()?.parse().ok() };
        let first = data.iter().position(|&b| b == b':')?;
        let second = first + 1 + data[first + 1..].iter().position(|&b| b == b':')?;
        let version = number(&data[..first])?;
        let client = number(&data[first + 1..second])?;
        data.drain(..=second);
        Some(Stored {
            version,
            client,
            record: data,
        })
    }
}

/// The field `d` of a session at `version`, with client number `client`.
fn data(version: u64, client: u64, record: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(record.len() + 24);
    out.extend_from_slice(version.to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(client.to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(record);
    out
}

/// What a session's hash keeps in place of its ID (see `digest`): the session's own random
/// secret sealed under its ID, and its ID sealed under that secret. A passcode's entry holds
/// the secret sealed under the passcode, so that the passcode's holder, and nobody else, can
/// learn the session's current ID. Read only to follow one token to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seals {
    pub secret: String,
    pub id: String,
}

impl Seals {
    /// New seals for the session `id` with its `secret`.
    pub fn new(id: SessionId, secret: u128) -> Seals {
        Seals {
            secret: digest::seal(Purpose::Secret, id.value(), secret),
            id: digest::seal(Purpose::Id, secret, id.value()),
        }
    }

    fn text(&self) -> String {
        format!("{}:{}", self.secret, self.id)
    }

    fn parse(text: &str) -> Option<Seals> {
        let (secret, id) = text.split_once(':')?;
        Some(Seals {
            secret: secret.to_owned(),
            id: id.to_owned(),
        })
    }
}

pub struct RedisStore {
    /// Distinct for every store opened in this process (what a thread's remembered session
    /// belongs to).
    serial: u64,
    source: Source,
    /// `host:port` (or the socket's path): what messages name. Never the URL, which may hold a
    /// password.
    address: String,
    prefix: String,
    timeout: Duration,
    /// Random, this store's own: what its notices to the other hosts carry, so that it skips
    /// its own (see `notices`).
    instance: String,
    /// `{machine name}:{process ID}`: the host named in its notices.
    host: String,
    idle: Mutex<Vec<Kept>>,
    commit: Script,
    commit_only: Script,
    insert: Script,
    remove: Script,
    rotate: Script,
    claim: Script,
    file_id: Script,
}

/// Where connections go: one server, or the primary that Sentinel names now.
enum Source {
    Direct(Client),
    /// Asked at every new connection (connections are kept, so rarely): after a failover, the
    /// connections to the old primary fail, and the next ones go to the new.
    Sentinel(Mutex<SentinelClient>),
}

impl Source {
    /// The source `settings` name, and what messages call it; a URL or an address that does
    /// not parse is `InvalidArgument`.
    fn open(settings: &RedisSettings) -> Result<(Source, String)> {
        if settings.sentinels.is_empty() {
            let not_url = |e: RedisError| {
                Error::invalid(format!(
                    "\"store\": \"url\" is not a Redis URL ({})",
                    e.category()
                ))
            };
            let client = match &settings.ca_file {
                None => Client::open(settings.url.as_str()).map_err(not_url)?,
                Some(path) => {
                    // The file is read once, here; its path is the host's, so it is named.
                    let pem = std::fs::read(path).map_err(|e| {
                        Error::invalid(format!(
                            "\"store\": \"caFile\" cannot be read ({}: {e})",
                            crate::id::truncate_for_message(path)
                        ))
                    })?;
                    let certificates = redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(pem),
                    };
                    Client::build_with_tls(settings.url.as_str(), certificates).map_err(|e| {
                        Error::invalid(format!(
                            "\"store\": \"url\" or the certificates of \"caFile\" cannot be used ({})",
                            e.category()
                        ))
                    })?
                }
            };
            let address = client.get_connection_info().addr().to_string();
            return Ok((Source::Direct(client), address));
        }
        let sentinels: Vec<String> = settings
            .sentinels
            .iter()
            .map(|a| format!("redis://{a}"))
            .collect();
        let client = SentinelClient::build(
            sentinels,
            settings.service.clone(),
            None,
            SentinelServerType::Master,
        )
        .map_err(|e| {
            Error::invalid(format!(
                "\"store\": \"sentinels\" do not parse ({})",
                e.category()
            ))
        })?;
        let address = format!(
            "the primary of {} (Sentinel {})",
            crate::id::truncate_for_message(&settings.service),
            settings.sentinels.join(", ")
        );
        Ok((Source::Sentinel(Mutex::new(client)), address))
    }

    /// A new connection, made within `timeout` (Sentinel's answers aside: they have their own).
    fn connect(&self, timeout: Duration) -> redis::RedisResult<Connection> {
        match self {
            Source::Direct(client) => client.get_connection_with_timeout(timeout),
            Source::Sentinel(sentinel) => {
                let client = sentinel.lock().get_client()?;
                client.get_connection_with_timeout(timeout)
            }
        }
    }
}

/// A connection, and the read and write timeouts its socket has.
struct Kept {
    connection: Connection,
    timeouts: Option<Duration>,
}

/// How far under what is left of a call's time a socket's timeouts may be, kept from an
/// earlier call rather than set again (two system calls saved on most calls).
const TIMEOUT_SLACK: Duration = Duration::from_millis(2);

/// The moment a call must have its answer by.
#[derive(Clone, Copy, Debug)]
pub struct Deadline(Instant);

thread_local! {
    /// The deadline of the call this thread is in, while a [`Scope`] holds one: every
    /// exchange of a call made of several shares it.
    static CALL_DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Holds one deadline for every exchange with Redis until dropped (see [`RedisStore::scope`]).
pub struct Scope {
    outermost: bool,
}

impl Drop for Scope {
    fn drop(&mut self) {
        if self.outermost {
            CALL_DEADLINE.with(|d| d.set(None));
        }
    }
}

/// What the scripts that change a session share, with the session's tail of ARGV at `b`: the
/// client number, the user set it leaves or '', the user set it joins or '', and that set's
/// members as the host read them (sorted, comma-separated; '*' when no cap applies and it was
/// not read); the guests' set and the session's last activity there ('' when it is no guest,
/// '=' when that did not change).
/// Then: the guard that the joined set is still as read (else the host decides again: -3), the
/// move itself, and the guests' set.
const USER_TAIL: &str = r"
local function user_guard(b)
  if ARGV[b + 2] == '' or ARGV[b + 3] == '*' then return true end
  local members = redis.call('SMEMBERS', ARGV[b + 2])
  table.sort(members)
  return table.concat(members, ',') == ARGV[b + 3]
end
local function user_move(b)
  if ARGV[b + 1] ~= '' then redis.call('SREM', ARGV[b + 1], ARGV[b]) end
  if ARGV[b + 2] ~= '' then redis.call('SADD', ARGV[b + 2], ARGV[b]) end
end
local function guest_file(b, member)
  if ARGV[b + 5] == '=' then return end
  if ARGV[b + 5] == '' then
    redis.call('ZREM', ARGV[b + 4], member)
  else
    redis.call('ZADD', ARGV[b + 4], ARGV[b + 5], member)
  end
end
";

/// How long after a session's end Redis keeps its keys (their own expiry): the sweep of some
/// host claims the session before then, and tells of its end (see [`CLAIM`]); Redis' expiry is
/// only a safety net for a site where no host sweeps.
pub(crate) const KEY_MARGIN_MS: i64 = 10 * 60_000;

/// Sets a key's expiry to a session's end `at` plus [`KEY_MARGIN_MS`].
fn expire_prelude() -> String {
    format!(
        "local function expire_at(key, at) redis.call('PEXPIREAT', key, tonumber(at) + {KEY_MARGIN_MS}) end\n"
    )
}

/// The version in a session's field `d`. (Scripts read with `HMGET`, the host with `HGET`: so
/// Redis' own counts tell the host's round trips apart.)
const VERSION: &str = r"
local function version(key)
  local d = redis.call('HMGET', key, 'd')[1]
  if not d then return nil end
  return string.match(d, '^(%d+):')
end
";

/// Writes the field `d` ARGV[2] (and the expiry, of the session and of its client number
/// KEYS[3], unless ARGV[3] is '=': unchanged) only if the version is still ARGV[1]; 1 if
/// written, 0 if the version moved, -1 if the session is gone. KEYS[2], the live sessions by
/// expiry, follows.
const COMMIT: &str = r"
local v = version(KEYS[1])
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
if not user_guard(5) then return -3 end
user_move(5)
guest_file(5, ARGV[4])
redis.call('HSET', KEYS[1], 'd', ARGV[2])
if ARGV[3] == '=' then return 1 end
if ARGV[3] == '' then
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[3])
  redis.call('ZADD', KEYS[2], 'XX', 'inf', ARGV[4])
else
  expire_at(KEYS[1], ARGV[3])
  expire_at(KEYS[3], ARGV[3])
  redis.call('ZADD', KEYS[2], 'XX', ARGV[3], ARGV[4])
end
return 1
";

/// [`COMMIT`] when nothing but the session changes (no user, expiry or guest filing): the
/// version check and one `HSET`.
const COMMIT_ONLY: &str = r"
local v = version(KEYS[1])
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[2])
return 1
";

/// A new session, unless the ID is in use ({0}) or ARGV[4] sessions are live at ARGV[3] (now)
/// ({-1}): its client number from the counter (KEYS[2]) is returned, and it is filed under
/// ARGV[6] .. 'c:' .. number, in the live sessions by expiry (KEYS[3]) and in the guests' set
/// (KEYS[4]) at ARGV[7] if it is a guest. Sessions whose end passed are not counted, and left
/// for a sweep to claim. At the limit, with ARGV[8] = '1', the least recently active live guest
/// makes room: then its key and its field `d` follow the client number, for the host to tell.
/// ARGV[9]: its seals.
const INSERT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
local now = tonumber(ARGV[3])
local evicted = {false, false}
local skipped = 0
while redis.call('ZCOUNT', KEYS[3], '(' .. ARGV[3], '+inf') >= tonumber(ARGV[4]) do
  if ARGV[8] ~= '1' then return {-1} end
  local oldest = redis.call('ZRANGE', KEYS[4], skipped, skipped)
  if #oldest == 0 then return {-1} end
  local score = redis.call('ZSCORE', KEYS[3], oldest[1])
  local key = ARGV[6] .. 's:' .. oldest[1]
  local found = redis.call('HMGET', key, 'd')[1]
  local ends = score and tonumber(score)
  if ends and ends <= now and found then
    -- Ended, not yet claimed: a sweep tells of it. The next guest.
    skipped = skipped + 1
  else
    redis.call('ZREM', KEYS[4], oldest[1])
    if found and score then
      redis.call('DEL', key)
      redis.call('DEL', ARGV[6] .. 'c:' .. string.match(found, '^%d+:(%d+):'))
      redis.call('ZREM', KEYS[3], oldest[1])
      evicted = {oldest[1], found}
    end
  end
end
local client = redis.call('INCR', KEYS[2])
local client_key = ARGV[6] .. 'c:' .. client
redis.call('HSET', KEYS[1], 'd', '0:' .. client .. ':' .. ARGV[1], 'k', ARGV[9])
redis.call('SET', client_key, ARGV[5])
if ARGV[2] == '' then
  redis.call('ZADD', KEYS[3], 'inf', ARGV[5])
else
  expire_at(KEYS[1], ARGV[2])
  expire_at(client_key, ARGV[2])
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[5])
end
if ARGV[7] ~= '' then redis.call('ZADD', KEYS[4], ARGV[7], ARGV[5]) end
return {client, evicted[1], evicted[2]}
";

/// Takes a session out (and its client number, KEYS[3]) if its version is still ARGV[1]: 1, 0
/// if the version moved, -1 if gone.
const REMOVE: &str = r"
local v = version(KEYS[1])
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
if redis.call('GET', KEYS[3]) == ARGV[2] then redis.call('DEL', KEYS[3]) end
user_move(3)
redis.call('ZREM', ARGV[7], ARGV[2])
return 1
";

/// Moves a session from KEYS[1] to KEYS[2] (a new ID) with its new field `d` (ARGV[2]), if its version is
/// still ARGV[1]: the live set (KEYS[3]) and the client number (KEYS[4]) follow; with ARGV[6],
/// the old ID's alias (KEYS[5]) holds ARGV[13] (the new key, and the new ID sealed under the
/// old) until then; ARGV[14]: the seals of the new ID. 1, 0 (version moved), -1 (gone), -2 (the
/// new ID is taken).
const ROTATE: &str = r"
local v = version(KEYS[1])
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -2 end
if not user_guard(7) then return -3 end
user_move(7)
redis.call('ZREM', ARGV[11], ARGV[4])
guest_file(7, ARGV[5])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[4])
redis.call('HSET', KEYS[2], 'd', ARGV[2], 'k', ARGV[14])
redis.call('SET', KEYS[4], ARGV[5])
if ARGV[3] == '' then
  redis.call('ZADD', KEYS[3], 'inf', ARGV[5])
else
  expire_at(KEYS[2], ARGV[3])
  expire_at(KEYS[4], ARGV[3])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[5])
end
if ARGV[6] ~= '' then redis.call('SET', KEYS[5], ARGV[13], 'PXAT', ARGV[6]) end
return 1
";

/// The ID of the file name ARGV[1] in the hash KEYS[1], given on first use (its count + 1)
/// unless ARGV[2] names have IDs (-1).
const FILE_ID: &str = r"
local id = redis.call('HGET', KEYS[1], ARGV[1])
if id then return tonumber(id) end
local count = redis.call('HLEN', KEYS[1])
if count >= tonumber(ARGV[2]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], count + 1)
return count + 1
";

/// Claims at most ARGV[2] sessions whose end ARGV[1] (now) has passed, in the live set KEYS[1]:
/// each is taken out (its hash, its client number's key if still its own, its entries in the
/// live set and the guests' set KEYS[2]) and its key and field `d` returned, for the host to
/// tell of its end. One script: a session is claimed by exactly one call, whichever host
/// makes it, and a write or a close that comes after finds it gone. An entry whose hash Redis
/// dropped already (no host swept for [`KEY_MARGIN_MS`]) is only forgotten. First element:
/// how many entries were due (more may be left if it is ARGV[2]).
const CLAIM: &str = r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {#due}
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
  local key = ARGV[3] .. 's:' .. member
  local found = redis.call('HMGET', key, 'd')[1]
  if found then
    redis.call('DEL', key)
    local client_key = ARGV[3] .. 'c:' .. string.match(found, '^%d+:(%d+):')
    if redis.call('GET', client_key) == member then redis.call('DEL', client_key) end
    table.insert(out, member)
    table.insert(out, found)
  end
end
return out
";

/// A session's key in Redis: the digest of its ID (`digest::Purpose::Session`).
pub type Key = u128;

/// The key of the session `id`.
pub fn key_of(id: SessionId) -> Key {
    digest::digest(Purpose::Session, id)
}

/// A guest evicted to make room for a new session: its key, and what Redis had of it.
pub type Evicted = (Key, Stored);

/// A change of the user a session belongs to, written with the session: it leaves `from`'s
/// set and joins `to`'s, which must still hold `expected` (the client numbers read, sorted as
/// text, comma-separated) if given: `None` when no cap on a user's sessions applies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserMove {
    pub from: Option<String>,
    pub to: Option<String>,
    pub expected: Option<String>,
}

/// What a versioned write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Done,
    /// Another write came first: read again.
    Moved,
    /// The session is gone (closed, or expired by Redis).
    Gone,
    /// The user set the change joins is not as it was read: decide again.
    UsersMoved,
}

impl Written {
    fn from_reply(reply: i64) -> Written {
        match reply {
            1 => Written::Done,
            0 => Written::Moved,
            -3 => Written::UsersMoved,
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
        let (source, address) = Source::open(settings)?;
        static OPENED: AtomicU64 = AtomicU64::new(0);
        let store = RedisStore {
            serial: OPENED.fetch_add(1, Ordering::Relaxed),
            source,
            address,
            prefix: settings.prefix.clone(),
            timeout: Duration::from_millis(settings.timeout_ms),
            instance: digest::hex(digest::random_secret()),
            host: format!("{}:{}", crate::os::host_name(), std::process::id()),
            idle: Mutex::new(Vec::new()),
            commit: Script::new(&format!("{}{VERSION}{USER_TAIL}{COMMIT}", expire_prelude())),
            commit_only: Script::new(&format!("{VERSION}{COMMIT_ONLY}")),
            insert: Script::new(&format!("{}{INSERT}", expire_prelude())),
            remove: Script::new(&format!("{VERSION}{USER_TAIL}{REMOVE}")),
            rotate: Script::new(&format!("{}{VERSION}{USER_TAIL}{ROTATE}", expire_prelude())),
            claim: Script::new(CLAIM),
            file_id: Script::new(FILE_ID),
        };
        let deadline = store.deadline();
        store.run(deadline, true, |c| redis::cmd("PING").query::<String>(c))?;
        Ok(store)
    }

    pub fn serial(&self) -> u64 {
        self.serial
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// A connection of its own (not one of the kept ones) whose reads wait up to `wait`.
    pub fn listening_connection(&self, wait: Duration) -> redis::RedisResult<Connection> {
        let connection = self.source.connect(self.timeout)?;
        connection.set_read_timeout(Some(wait))?;
        Ok(connection)
    }

    /// When the current call must be done: the deadline of the [`Scope`] this thread is in,
    /// or `timeoutMs` from now.
    pub fn deadline(&self) -> Deadline {
        match CALL_DEADLINE.with(Cell::get) {
            Some(at) => Deadline(at),
            None => Deadline(Instant::now() + self.timeout),
        }
    }

    /// Makes every exchange with Redis until the scope is dropped share one deadline, so that a
    /// call made of several steps (a login under a cap, a restore, a message by client number)
    /// ends within `timeoutMs` in all. Within a scope, a nested one changes nothing.
    pub fn scope(&self) -> Scope {
        let outermost = CALL_DEADLINE.with(|d| {
            if d.get().is_some() {
                return false;
            }
            d.set(Some(Instant::now() + self.timeout));
            true
        });
        Scope { outermost }
    }

    /// The session's Redis key, and its member in the live sessions' set.
    fn session_key(&self, key: Key) -> (String, String) {
        (self.session_name(key), digest::hex(key))
    }

    /// The session's Redis key alone (what a read needs).
    fn session_name(&self, key: Key) -> String {
        let mut name = String::with_capacity(self.prefix.len() + 34);
        name.push_str(&self.prefix);
        name.push_str("s:");
        digest::push_hex(&mut name, &key.to_be_bytes());
        name
    }

    fn clients_key(&self) -> String {
        format!("{}clients", self.prefix)
    }

    fn live_key(&self) -> String {
        format!("{}live", self.prefix)
    }

    fn client_key(&self, client: u64) -> String {
        format!("{}c:{client}", self.prefix)
    }

    fn alias_key(&self, key: Key) -> String {
        format!("{}a:{}", self.prefix, digest::hex(key))
    }

    fn user_key(&self, user: &str) -> String {
        format!("{}u:{user}", self.prefix)
    }

    fn guests_key(&self) -> String {
        format!("{}guests", self.prefix)
    }

    /// The scripts' session tail (see `USER_TAIL`): `guest` is the session's last activity
    /// when it is a guest (evictable at `maxSessions`); `None` when that did not change.
    fn user_tail(
        &self,
        client: u64,
        users: Option<&UserMove>,
        guest: Option<Option<Millis>>,
    ) -> [String; 6] {
        let key = |user: &Option<String>| {
            user.as_deref()
                .map(|u| self.user_key(u))
                .unwrap_or_default()
        };
        let (from, to, expected) = match users {
            Some(m) => (
                key(&m.from),
                key(&m.to),
                m.expected.clone().unwrap_or_else(|| "*".to_owned()),
            ),
            None => (String::new(), String::new(), String::new()),
        };
        let guest = match guest {
            None => "=".to_owned(),
            Some(at) => at.map(|t| t.to_string()).unwrap_or_default(),
        };
        [
            client.to_string(),
            from,
            to,
            expected,
            self.guests_key(),
            guest,
        ]
    }

    /// The client numbers filed under `user` (some may have ended: Redis dropped them).
    pub fn user_members(&self, deadline: Deadline, user: &str) -> Result<Vec<u64>> {
        let key = self.user_key(user);
        self.run(deadline, true, |c| {
            redis::cmd("SMEMBERS").arg(&key).query(c)
        })
    }

    /// Forgets the client numbers of sessions that ended, each under its user: one round trip.
    pub fn prune_users(&self, deadline: Deadline, gone: &[(String, u64)]) -> Result<()> {
        if gone.is_empty() {
            return Ok(());
        }
        self.run(deadline, true, |c| {
            let mut pipe = redis::pipe();
            for (user, client) in gone {
                pipe.cmd("SREM")
                    .arg(self.user_key(user))
                    .arg(client)
                    .ignore();
            }
            pipe.query::<()>(c)
        })
    }

    /// Forgets client numbers of `user` whose sessions ended.
    pub fn prune_user(&self, deadline: Deadline, user: &str, gone: &[u64]) -> Result<()> {
        if gone.is_empty() {
            return Ok(());
        }
        let key = self.user_key(user);
        self.run(deadline, true, |c| {
            redis::cmd("SREM").arg(&key).arg(gone).query::<()>(c)
        })
    }

    fn otp_key(&self, passcode: u128) -> String {
        format!("{}o:{}", self.prefix, digest::hex(passcode))
    }

    /// The session as stored, or `None` if Redis has no such key.
    pub fn load(&self, deadline: Deadline, key: Key) -> Result<Option<Stored>> {
        let key = self.session_name(key);
        let data: Option<Vec<u8>> = self.run(deadline, true, |c| {
            redis::cmd("HGET").arg(&key).arg("d").query(c)
        })?;
        Ok(data.and_then(Stored::parse))
    }

    /// The session as stored with its seals (for a rotation), or `None` if Redis has no such
    /// key.
    pub fn load_sealed(&self, deadline: Deadline, key: Key) -> Result<Option<(Stored, Seals)>> {
        let key = self.session_name(key);
        let (data, seals): (Option<Vec<u8>>, Option<String>) = self.run(deadline, true, |c| {
            redis::cmd("HMGET").arg(&key).arg("d").arg("k").query(c)
        })?;
        Ok(data
            .and_then(Stored::parse)
            .zip(seals.as_deref().and_then(Seals::parse)))
    }

    /// The session's seals, or `None` if Redis has no such key.
    pub fn seals(&self, deadline: Deadline, key: Key) -> Result<Option<Seals>> {
        let key = self.session_name(key);
        let text: Option<String> = self.run(deadline, true, |c| {
            redis::cmd("HGET").arg(&key).arg("k").query(c)
        })?;
        Ok(text.as_deref().and_then(Seals::parse))
    }

    /// Writes `record` over version `version` of the session (client number `client`),
    /// expiring at `expires_at` (`Some(None)`: never); `guest` is its last activity if it is a
    /// guest. `None` for either: it did not change, and is not written.
    #[allow(clippy::too_many_arguments)]
    pub fn commit(
        &self,
        deadline: Deadline,
        key: Key,
        client: u64,
        version: u64,
        record: &[u8],
        expires_at: Option<Option<Millis>>,
        users: Option<&UserMove>,
        guest: Option<Option<Millis>>,
    ) -> Result<Written> {
        let ((key, member), data) = (self.session_key(key), data(version + 1, client, record));
        let version = version.to_string();
        if users.is_none() && expires_at.is_none() && guest.is_none() {
            // The common write (storage, identifier, state): the version check and one HSET.
            let reply: i64 = self.run(deadline, false, |c| {
                self.commit_only
                    .key(&key)
                    .arg(&version)
                    .arg(&data)
                    .invoke(c)
            })?;
            return Ok(Written::from_reply(reply));
        }
        let (live, client_key) = (self.live_key(), self.client_key(client));
        let tail = self.user_tail(client, users, guest);
        let reply: i64 = self.run(deadline, false, |c| {
            self.commit
                .key(&key)
                .key(&live)
                .key(&client_key)
                .arg(&version)
                .arg(&data)
                .arg(expires_at.map_or_else(|| "=".to_owned(), expiry_arg))
                .arg(&member)
                .arg(&tail)
                .invoke(c)
        })?;
        Ok(Written::from_reply(reply))
    }

    /// Moves the session `key` (at `version`) to `new`, with `record`; given `alias` (until
    /// when, and the new ID sealed under the old), the old ID reaches it until then.
    /// `Ok(None)`: the new key is taken (draw another ID).
    #[allow(clippy::too_many_arguments)]
    pub fn rotate(
        &self,
        deadline: Deadline,
        key: Key,
        new: Key,
        client: u64,
        version: u64,
        record: &[u8],
        expires_at: Option<Millis>,
        alias: Option<(Millis, String)>,
        seals: &Seals,
        users: Option<&UserMove>,
        guest: Option<Millis>,
    ) -> Result<Option<Written>> {
        let ((old_key, member), (new_key, new_member)) =
            (self.session_key(key), self.session_key(new));
        let (live, client_key, alias_key) = (
            self.live_key(),
            self.client_key(client),
            self.alias_key(key),
        );
        let (alias_until, alias_value) = match alias {
            Some((until, sealed)) => (Some(until), format!("{new_member}:{sealed}")),
            None => (None, String::new()),
        };
        let tail = self.user_tail(client, users, Some(guest));
        let reply: i64 = self.run(deadline, false, |c| {
            self.rotate
                .key(&old_key)
                .key(&new_key)
                .key(&live)
                .key(&client_key)
                .key(&alias_key)
                .arg(version.to_string())
                .arg(data(version + 1, client, record))
                .arg(expiry_arg(expires_at))
                .arg(&member)
                .arg(&new_member)
                .arg(expiry_arg(alias_until))
                .arg(&tail)
                .arg(&alias_value)
                .arg(seals.text())
                .invoke(c)
        })?;
        Ok((reply != -2).then(|| Written::from_reply(reply)))
    }

    /// What the old ID `key` names during its grace time after a rotation: the new key, and
    /// the new ID sealed under the old one.
    pub fn alias(&self, deadline: Deadline, key: Key) -> Result<Option<(Key, String)>> {
        let alias = self.alias_key(key);
        let to: Option<String> =
            self.run(deadline, true, |c| redis::cmd("GET").arg(&alias).query(c))?;
        Ok(to.and_then(|value| {
            let (new, sealed) = value.split_once(':')?;
            Some((digest::parse_hex(new)?, sealed.to_owned()))
        }))
    }

    /// A client number from the site's counter, for a session kept elsewhere (a host's own).
    pub fn next_client(&self, deadline: Deadline) -> Result<u64> {
        let counter = self.clients_key();
        self.run(deadline, false, |c| {
            redis::cmd("INCR").arg(&counter).query(c)
        })
    }

    /// The key of the session with client number `client`, if Redis has it.
    pub fn client_session(&self, deadline: Deadline, client: u64) -> Result<Option<Key>> {
        let key = self.client_key(client);
        let member: Option<String> =
            self.run(deadline, true, |c| redis::cmd("GET").arg(&key).query(c))?;
        Ok(member.and_then(|hex| digest::parse_hex(&hex)))
    }

    /// Files a one-time passcode (by its digest) of the session `client` until `expires`,
    /// with `sealed`, its session's secret sealed under the passcode.
    pub fn put_otp(
        &self,
        deadline: Deadline,
        passcode: u128,
        client: u64,
        sealed: &str,
        expires: Millis,
    ) -> Result<()> {
        let key = self.otp_key(passcode);
        self.run(deadline, false, |c| {
            redis::cmd("SET")
                .arg(&key)
                .arg(format!("{client}:{sealed}"))
                .arg("PXAT")
                .arg(expires.max(1))
                .query::<()>(c)
        })
    }

    /// Takes a one-time passcode out (by its digest), once: the client number it was made
    /// for, and what `put_otp` was given sealed.
    pub fn take_otp(&self, deadline: Deadline, passcode: u128) -> Result<Option<(u64, String)>> {
        let key = self.otp_key(passcode);
        let value: Option<String> =
            self.run(deadline, false, |c| redis::cmd("GETDEL").arg(&key).query(c))?;
        Ok(value.and_then(|value| {
            let (client, sealed) = value.split_once(':')?;
            Some((client.parse().ok()?, sealed.to_owned()))
        }))
    }

    /// Every session the live set holds at `now` (expired entries dropped), each as stored, in
    /// no order; one that went in between is left out. Two round trips, whatever the count.
    pub fn all(&self, deadline: Deadline, now: Millis) -> Result<Vec<(Key, Stored)>> {
        let live = self.live_key();
        let members: Vec<String> = self.run(deadline, true, |c| {
            redis::cmd("ZRANGEBYSCORE")
                .arg(&live)
                .arg(format!("({now}"))
                .arg("+inf")
                .query(c)
        })?;
        let ids: Vec<Key> = members
            .iter()
            .filter_map(|m| digest::parse_hex(m))
            .collect();
        let rows = self.load_many(deadline, &ids)?;
        Ok(ids
            .into_iter()
            .zip(rows)
            .filter_map(|(id, stored)| Some((id, stored?)))
            .collect())
    }

    /// The sessions `keys`, as stored (`None` for one Redis has not), in their order; one
    /// round trip (none for no key).
    fn load_many(&self, deadline: Deadline, keys: &[Key]) -> Result<Vec<Option<Stored>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<Option<Vec<u8>>> = self.run(deadline, true, |c| {
            let mut pipe = redis::pipe();
            for &key in keys {
                pipe.cmd("HGET").arg(self.session_name(key)).arg("d");
            }
            pipe.query(c)
        })?;
        Ok(rows
            .into_iter()
            .map(|data| data.and_then(Stored::parse))
            .collect())
    }

    /// The sessions of the client numbers `clients` that Redis has, each as stored, in no
    /// order. Two round trips, whatever the count.
    pub fn clients(&self, deadline: Deadline, clients: &[u64]) -> Result<Vec<Stored>> {
        if clients.is_empty() {
            return Ok(Vec::new());
        }
        let members: Vec<Option<String>> = self.run(deadline, true, |c| {
            let mut pipe = redis::pipe();
            for &client in clients {
                pipe.cmd("GET").arg(self.client_key(client));
            }
            pipe.query(c)
        })?;
        let keys: Vec<Key> = members
            .iter()
            .filter_map(|m| digest::parse_hex(m.as_deref()?))
            .collect();
        Ok(self
            .load_many(deadline, &keys)?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Stores a new session (`guest`: its last activity, if it is a guest); returns its client
    /// number and the guest evicted to make room for it (with `evict`), `Ok(None)` if the ID is
    /// in use, and `LimitExceeded` if `max_sessions` are live and none could make room.
    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        &self,
        deadline: Deadline,
        key: Key,
        seals: &Seals,
        record: &[u8],
        expires_at: Option<Millis>,
        now: Millis,
        max_sessions: u64,
        guest: Option<Millis>,
        evict: bool,
    ) -> Result<Option<(u64, Option<Evicted>)>> {
        let ((key, member), clients, live) =
            (self.session_key(key), self.clients_key(), self.live_key());
        let guests = self.guests_key();
        let guest = guest.map(|t| t.to_string()).unwrap_or_default();
        type Reply = (i64, Option<String>, Option<Vec<u8>>);
        let reply: Vec<redis::Value> = self.run(deadline, false, |c| {
            self.insert
                .key(&key)
                .key(&clients)
                .key(&live)
                .key(&guests)
                .arg(record)
                .arg(expiry_arg(expires_at))
                .arg(now)
                .arg(max_sessions)
                .arg(&member)
                .arg(&self.prefix)
                .arg(&guest)
                .arg(if evict { "1" } else { "0" })
                .arg(seals.text())
                .invoke(c)
        })?;
        let mut reply = reply.into_iter();
        let mut next = || reply.next().unwrap_or(redis::Value::Nil);
        let parsed: redis::RedisResult<Reply> = (|| {
            Ok((
                redis::from_redis_value(next())?,
                redis::from_redis_value(next())?,
                redis::from_redis_value(next())?,
            ))
        })();
        let (client, evicted, evicted_data) = parsed.map_err(|e| self.unavailable(&e, deadline))?;
        match client {
            -1 => Err(Error::limit(format!(
                "{max_sessions} sessions are live in the Redis store: maxSessions is reached \
                 (and no guest session can make room)"
            ))),
            0 => Ok(None),
            client => {
                let evicted = evicted
                    .and_then(|hex| digest::parse_hex(&hex))
                    .zip(evicted_data.and_then(Stored::parse));
                Ok(Some((client as u64, evicted)))
            }
        }
    }

    /// Takes the session (client number `client`) out if its version is still `version`.
    pub fn remove(
        &self,
        deadline: Deadline,
        key: Key,
        client: u64,
        version: u64,
        user: Option<&str>,
    ) -> Result<Written> {
        let ((key, member), live) = (self.session_key(key), self.live_key());
        let client_key = self.client_key(client);
        let leaving = UserMove {
            from: user.map(str::to_owned),
            ..UserMove::default()
        };
        let tail = self.user_tail(client, Some(&leaving), Some(None));
        let reply: i64 = self.run(deadline, false, |c| {
            self.remove
                .key(&key)
                .key(&live)
                .key(&client_key)
                .arg(version.to_string())
                .arg(&member)
                .arg(&tail)
                .invoke(c)
        })?;
        Ok(Written::from_reply(reply))
    }

    /// The ID every host gives the file name `name`; `None` if `max` names have IDs already.
    pub fn file_id(&self, deadline: Deadline, name: &str, max: usize) -> Result<Option<u32>> {
        let files = format!("{}files", self.prefix);
        let id: i64 = self.run(deadline, false, |c| {
            self.file_id.key(&files).arg(name).arg(max).invoke(c)
        })?;
        Ok(u32::try_from(id).ok())
    }

    /// How many sessions are live in the store at `now` (those whose end passed, claimed or
    /// not, aside).
    pub fn count(&self, deadline: Deadline, now: Millis) -> Result<u64> {
        let live = self.live_key();
        self.run(deadline, true, |c| {
            redis::cmd("ZCOUNT")
                .arg(&live)
                .arg(format!("({now}"))
                .arg("+inf")
                .query(c)
        })
    }

    /// Claims at most `limit` sessions whose end `now` has passed (see [`CLAIM`]): each as it
    /// was stored, with its key; and whether more may be due.
    pub fn claim(
        &self,
        deadline: Deadline,
        now: Millis,
        limit: usize,
    ) -> Result<(Vec<(Key, Stored)>, bool)> {
        let (live, guests) = (self.live_key(), self.guests_key());
        let reply: Vec<redis::Value> = self.run(deadline, false, |c| {
            self.claim
                .key(&live)
                .key(&guests)
                .arg(now)
                .arg(limit)
                .arg(&self.prefix)
                .invoke(c)
        })?;
        let mut reply = reply.into_iter();
        let due: usize = reply
            .next()
            .and_then(|v| redis::from_redis_value(v).ok())
            .unwrap_or(0);
        let mut claimed = Vec::new();
        while let (Some(member), Some(data)) = (reply.next(), reply.next()) {
            let member: Option<String> = redis::from_redis_value(member).ok();
            let data: Option<Vec<u8>> = redis::from_redis_value(data).ok();
            if let Some(pair) = member
                .as_deref()
                .and_then(digest::parse_hex)
                .zip(data.and_then(Stored::parse))
            {
                claimed.push(pair);
            }
        }
        Ok((claimed, due >= limit))
    }

    /// Runs `op` on a connection with what is left of `deadline` as its timeouts. A reused
    /// connection that fails on an `idempotent` op is replaced and the op tried once more (a
    /// Redis restart leaves every kept connection dead); a write is not sent twice, since the
    /// first may have reached Redis.
    pub fn run<R>(
        &self,
        deadline: Deadline,
        idempotent: bool,
        mut op: impl FnMut(&mut Connection) -> redis::RedisResult<R>,
    ) -> Result<R> {
        let kept = self.idle.lock().pop();
        let reused = kept.is_some();
        let mut kept = match kept {
            Some(c) => c,
            None => self.connect(deadline)?,
        };
        let outcome = self
            .limit(&mut kept, deadline)
            .and_then(|()| op(&mut kept.connection).map_err(|e| self.unavailable(&e, deadline)));
        match outcome {
            Ok(value) => {
                self.keep(kept);
                Ok(value)
            }
            Err(_) if reused && idempotent => {
                drop(kept);
                // The others kept may be as dead as this one.
                self.idle.lock().clear();
                let mut kept = self.connect(deadline)?;
                self.limit(&mut kept, deadline)?;
                let value = op(&mut kept.connection).map_err(|e| self.unavailable(&e, deadline))?;
                self.keep(kept);
                Ok(value)
            }
            Err(e) => {
                self.idle.lock().clear();
                Err(e)
            }
        }
    }

    fn keep(&self, kept: Kept) {
        let mut idle = self.idle.lock();
        if idle.len() < MAX_IDLE {
            idle.push(kept);
        }
    }

    fn connect(&self, deadline: Deadline) -> Result<Kept> {
        let left = self.left(deadline)?;
        let connection = self
            .source
            .connect(left)
            .map_err(|e| self.unavailable(&e, deadline))?;
        Ok(Kept {
            connection,
            timeouts: None,
        })
    }

    /// Gives the connection read and write timeouts no longer than what is left of the
    /// deadline: those it has, if they are at most that and no more than [`TIMEOUT_SLACK`]
    /// under it; otherwise half the slack under what is left (so that the next call, made with
    /// the whole `timeoutMs`, keeps them).
    fn limit(&self, kept: &mut Kept, deadline: Deadline) -> Result<()> {
        let left = self.left(deadline)?;
        if let Some(set) = kept.timeouts
            && set <= left
            && left - set <= TIMEOUT_SLACK
        {
            return Ok(());
        }
        let set = match left.checked_sub(TIMEOUT_SLACK / 2) {
            Some(under) if !under.is_zero() => under,
            _ => left,
        };
        kept.timeouts = None;
        kept.connection
            .set_read_timeout(Some(set))
            .and_then(|()| kept.connection.set_write_timeout(Some(set)))
            .map_err(|e| self.unavailable(&e, deadline))?;
        kept.timeouts = Some(set);
        Ok(())
    }

    /// `Unavailable` once `deadline` has passed: for a call that goes round again.
    pub fn check(&self, deadline: Deadline) -> Result<()> {
        self.left(deadline).map(drop)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sessions_field_d_holds_version_client_and_record() {
        let record = b"\x01web:\xff:a";
        let text = data(7, 42, record);
        assert_eq!(text, [b"7:42:".as_slice(), record].concat());
        assert_eq!(
            Stored::parse(text),
            Some(Stored {
                version: 7,
                client: 42,
                record: record.to_vec(),
            })
        );
        for bad in ["", "7", "7:42", "x:42:{}", "7:y:{}", "-1:2:{}", ":1:{}"] {
            assert_eq!(Stored::parse(bad.as_bytes().to_vec()), None, "{bad}");
        }
        assert!(Stored::parse(b"0:1:".to_vec()).unwrap().record.is_empty());
    }
}
