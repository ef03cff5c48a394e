//! The Redis store as the registry sees it (see `site::Store`): the same operations as in
//! memory, on a copy of the session read from Redis and written back only if the operation
//! changed it and nobody else wrote it meanwhile (otherwise the operation runs again on what is
//! there now). The rules stay in the registry's operations; this file only moves sessions
//! between Redis and them.
//!
//! What stays in this process: the storedProcedure and standalone sessions (they describe one
//! server), events and the access log (each host tells of the calls it made), the counters of
//! `stats`.
//!
//! Redis keeps no session ID (see `redis`): a session reached by its ID is found under the
//! ID's digest, and one reached otherwise (a client number, a user's sessions, a listing, an
//! eviction) is known by its client number only, its ID [`SessionId::UNKNOWN`].

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::record;
use super::redis::{Deadline, Key, RedisStore, Seals, Stored, UserMove, Written, key_of};
use super::site::{Operation, Recall, Rotation, Store, Target, UserChange};
use crate::clock::Millis;
use crate::digest::{self, Purpose};
use crate::error::{Error, Result};
use crate::events::{CloseReason, Detail, End, Event, EventKind};
use crate::id::SessionId;
use crate::registry::{Access, Core, Member, Registry, end_event, not_found, user_row};
use crate::session::{Session, SessionState};

/// The registry's Redis store.
pub(crate) struct RedisSite {
    pub store: Arc<RedisStore>,
    /// Reads the other hosts' notices while the store is this registry's.
    pub _listener: super::notices::Listener,
}

thread_local! {
    /// The change of user that this thread's next write of a session carries (see
    /// `move_user_remote`), and whether a write found the joined set changed.
    static USER_MOVE: RefCell<Option<UserMove>> = const { RefCell::new(None) };
    static USERS_RACED: Cell<bool> = const { Cell::new(false) };
    static REMEMBERED: RefCell<Option<Remembered>> = const { RefCell::new(None) };
}

/// How long a thread remembers the session it read or wrote last, for a write that follows
/// (a request, then a storage write). Only a round trip depends on it: a write on a copy that
/// is no longer Redis' finds the version moved and reads again.
const RECALL_FOR: Duration = Duration::from_secs(1);

/// A session as read from Redis: its ID (the one the caller named, or the new one it names
/// during a rotation's grace time; [`SessionId::UNKNOWN`] if reached by its key), its key, and
/// what Redis has.
struct Loaded {
    id: SessionId,
    key: Key,
    stored: Stored,
    /// When asked for (see [`RedisSite::load_remote_as`]).
    seals: Option<Seals>,
}

/// The session this thread read from, or wrote to, a Redis store last: the store's serial, the
/// target asked, the session as loaded, and when.
struct Remembered {
    store: u64,
    asked: Target,
    loaded: Loaded,
    at: Instant,
}

fn remember(store: &RedisStore, asked: Target, loaded: Loaded) {
    REMEMBERED.with(|r| {
        *r.borrow_mut() = Some(Remembered {
            store: store.serial(),
            asked,
            loaded,
            at: Instant::now(),
        })
    });
}

/// Whether this thread's remembered session is `asked`'s of `store`, and recent.
fn usable(m: &Remembered, store: &RedisStore, asked: Target) -> bool {
    m.store == store.serial() && m.asked == asked && m.at.elapsed() < RECALL_FOR
}

/// The copy of the session `asked` this thread has of `store`, if recent; taken, so that a
/// failed attempt on it is not tried twice.
fn recalled(store: &RedisStore, asked: Target) -> Option<Loaded> {
    REMEMBERED.with(|r| {
        let mut r = r.borrow_mut();
        if r.as_ref().is_some_and(|m| usable(m, store, asked)) {
            r.take().map(|m| m.loaded)
        } else {
            None
        }
    })
}

/// The ID and key of the session `asked` as this thread remembers it, if recent (kept).
fn recalled_id(store: &RedisStore, asked: Target) -> Option<(SessionId, Key)> {
    REMEMBERED.with(|r| {
        r.borrow()
            .as_ref()
            .filter(|m| usable(m, store, asked))
            .map(|m| (m.loaded.id, m.loaded.key))
    })
}

/// What one run of an operation on a copy from Redis came to.
enum Attempt<R> {
    /// Written: the result stands.
    Done(Result<R>),
    /// Nothing to write (a read, or a failure): the result stands if the copy was fresh.
    Unwritten(Result<R>),
    /// The session ended by this host's clock (Redis drops the key at the same moment by its
    /// own; a manual clock, or a host's clock ahead of Redis', may see the end first).
    Lapsed,
    /// Another write came first.
    Moved,
    Gone,
    UsersMoved,
}

fn pending_move() -> Option<UserMove> {
    USER_MOVE.with(|m| m.borrow().clone())
}

/// A write that found the joined user set changed: the caller decides again.
fn users_raced() -> Error {
    USERS_RACED.with(|r| r.set(true));
    Error::new(
        crate::error::ErrorKind::BadState,
        "the user's sessions changed meanwhile",
    )
}

impl RedisSite {
    /// Runs `f` on the session `id` of the Redis store, as [`Registry::access`] does in memory.
    /// With [`Recall::Yes`], first on the copy this thread read or wrote last, if it is this
    /// session's and recent: the result stands only if its write lands on that very version
    /// (one round trip); anything else (a read, a failure, a version moved) runs again on what
    /// Redis has now.
    pub(crate) fn remote_access<R>(
        &self,
        r: &Registry,
        asked: Target,
        recall: Recall,
        mut f: impl FnMut(&mut Access<'_>) -> Result<R>,
    ) -> Result<R> {
        let deadline = self.store.deadline();
        if recall == Recall::Yes
            && let Some(loaded) = recalled(&self.store, asked)
            && let Attempt::Done(result) =
                self.attempt(r, deadline, asked, &loaded, false, &mut f)?
        {
            return result;
        }
        loop {
            let loaded = self.load_remote(r, deadline, asked)?;
            match self.attempt(r, deadline, asked, &loaded, true, &mut f)? {
                // A write remembered what it wrote.
                Attempt::Done(result) => return result,
                Attempt::Unwritten(result) => {
                    remember(&self.store, asked, loaded);
                    return result;
                }
                // Another host (or thread) wrote first: the operation runs again on what it
                // wrote, and what this attempt would have told is forgotten.
                Attempt::Moved => continue,
                Attempt::Gone | Attempt::Lapsed => return Err(not_found()),
                Attempt::UsersMoved => return Err(users_raced()),
            }
        }
    }

    /// Runs `f` once on the session `loaded` and writes the outcome back if it changed the
    /// session and the version is still the one loaded. What it tells is told only if it
    /// wrote, or if the copy was `fresh` (just read) and there was nothing to write.
    fn attempt<R>(
        &self,
        r: &Registry,
        deadline: Deadline,
        asked: Target,
        loaded: &Loaded,
        fresh: bool,
        f: &mut impl FnMut(&mut Access<'_>) -> Result<R>,
    ) -> Result<Attempt<R>> {
        let stored = &loaded.stored;
        let mut session = self.decode(r, loaded.id, stored)?;
        let now = r.now();
        if !is_live(&session, now) {
            return Ok(Attempt::Lapsed);
        }
        let (expiry_before, guest_before) = (session.expires_at(), guest_activity(&session));
        let state_before = session.state;
        let hold = r.core.events.hold();
        let mut access = Access::copy(&mut session, now, r.live.activity_resolution());
        let result = f(&mut access);
        let touched = access.session.touched();
        drop(access);
        // A failed operation changes nothing; a read has nothing to write.
        let written = (result.is_ok() && touched)
            .then(|| record::encode(&session))
            .filter(|written| *written != stored.record);
        let Some(written) = written else {
            if result.is_ok() && fresh {
                r.counted(hold.commit());
            }
            return Ok(Attempt::Unwritten(result));
        };
        let users = pending_move();
        Ok(
            match self.store.commit(
                deadline,
                loaded.key,
                stored.client,
                stored.version,
                &written,
                // What did not move is not written again.
                Some(session.expires_at()).filter(|e| *e != expiry_before),
                users.as_ref(),
                Some(guest_activity(&session)).filter(|g| *g != guest_before),
            )? {
                Written::Done => {
                    r.counted(hold.commit());
                    if session.state == SessionState::Disconnecting
                        && state_before != SessionState::Disconnecting
                    {
                        // A disconnection begun: the other hosts are told too.
                        let detail = Detail::Changed {
                            old: state_before.name().to_owned(),
                            new: session.state.name().to_owned(),
                        };
                        self.tell(&[Event::new(EventKind::StateChanged, &session, now, detail)]);
                    }
                    let now_stored = Stored {
                        version: stored.version + 1,
                        client: stored.client,
                        record: written,
                    };
                    remember(
                        &self.store,
                        asked,
                        Loaded {
                            id: loaded.id,
                            key: loaded.key,
                            stored: now_stored,
                            seals: None,
                        },
                    );
                    Attempt::Done(result)
                }
                Written::Moved => Attempt::Moved,
                Written::Gone => Attempt::Gone,
                Written::UsersMoved => Attempt::UsersMoved,
            },
        )
    }

    /// The session `stored` (`id` if known) decoded under this host's roles file.
    fn decode(&self, r: &Registry, id: SessionId, stored: &Stored) -> Result<Session> {
        decode(&r.core, id, stored)
    }

    /// [`Store::sweep`] on the Redis store: claims the sessions that ended, a batch at a time,
    /// and tells of each (its event and access-log line, queued).
    fn sweep_remote(&self, core: &Core, now: Millis) -> Result<u64> {
        let mut swept = 0;
        loop {
            let (claimed, more) = self.store.claim(self.store.deadline(), now, CLAIM_BATCH)?;
            let (mut users, mut told) = (Vec::new(), Vec::new());
            for (_, stored) in &claimed {
                swept += 1;
                // A record this build cannot read is gone all the same, untold.
                let Ok(session) = decode(core, SessionId::UNKNOWN, stored) else {
                    continue;
                };
                if let Some(user) = session.user() {
                    users.push((user.to_owned(), session.client_id));
                }
                core.ended(&session, now, session.lapsed_end());
                told.push(end_event(&session, now, session.lapsed_end()));
            }
            self.tell(&told);
            // Forgotten at the next read of the user's sessions in any case: a failure here
            // loses nothing, and these ends are told and counted.
            let _ = self.store.prune_users(self.store.deadline(), &users);
            if !more {
                return Ok(swept);
            }
        }
    }

    /// The session `target` as stored; for an ID, the session it names during a rotation's
    /// grace time if it has none (then under its new ID, which the alias seals under the old).
    fn load_remote(&self, r: &Registry, deadline: Deadline, target: Target) -> Result<Loaded> {
        self.load_remote_as(r, deadline, target, false)
    }

    /// As [`RedisSite::load_remote`], with the session's seals if `sealed`.
    fn load_remote_as(
        &self,
        r: &Registry,
        deadline: Deadline,
        target: Target,
        sealed: bool,
    ) -> Result<Loaded> {
        let load = |key| -> Result<Option<(Stored, Option<Seals>)>> {
            Ok(if sealed {
                self.store
                    .load_sealed(deadline, key)?
                    .map(|(stored, seals)| (stored, Some(seals)))
            } else {
                self.store.load(deadline, key)?.map(|stored| (stored, None))
            })
        };
        let key = target.key();
        if let Some((stored, seals)) = load(key)? {
            return Ok(Loaded {
                id: target.id(),
                key,
                stored,
                seals,
            });
        }
        if let Target::Id(old) = target
            && r.live.rotation_grace_seconds() > 0
            && let Some((new_key, sealed)) = self.store.alias(deadline, key)?
            && let Some(new) = digest::open(Purpose::NextId, old.value(), &sealed)
                .map(SessionId::from_value)
                .filter(|new| key_of(*new) == new_key)
            && let Some((stored, seals)) = load(new_key)?
        {
            return Ok(Loaded {
                id: new,
                key: new_key,
                stored,
                seals,
            });
        }
        Err(not_found())
    }

    /// The secret of the session `id` (see [`Seals`]), which its ID opens; the session as this
    /// thread remembers it (or as read) says which ID is current.
    pub(crate) fn remote_secret(&self, r: &Registry, id: SessionId) -> Result<u128> {
        let deadline = self.store.deadline();
        let (id, key) = match recalled_id(&self.store, Target::Id(id)) {
            Some(known) => known,
            None => {
                let loaded = self.load_remote(r, deadline, Target::Id(id))?;
                (loaded.id, loaded.key)
            }
        };
        let seals = self.store.seals(deadline, key)?.ok_or_else(not_found)?;
        digest::open(Purpose::Secret, id.value(), &seals.secret).ok_or_else(record::corrupt)
    }

    /// The ID of the session `key` of the Redis store, opened with its `secret` (given by a
    /// passcode); `None` if the session is gone or the secret is not its own.
    fn remote_id(&self, key: Key, secret: u128) -> Result<Option<SessionId>> {
        let Some(seals) = self.store.seals(self.store.deadline(), key)? else {
            return Ok(None);
        };
        Ok(digest::open(Purpose::Id, secret, &seals.id)
            .map(SessionId::from_value)
            .filter(|id| key_of(*id) == key))
    }

    /// Gives the Redis store's session `id` a new ID, running `rotate` (the rules of a
    /// rotation, shared with the memory store) on its copy, given the new ID.
    pub(crate) fn rotate_remote<R>(
        &self,
        r: &Registry,
        id: SessionId,
        grace: Millis,
        mut rotate: impl FnMut(&mut Access<'_>, SessionId) -> Result<R>,
    ) -> Result<(SessionId, R)> {
        let deadline = self.store.deadline();
        loop {
            let loaded = self.load_remote_as(r, deadline, Target::Id(id), true)?;
            let (stored, seals) = (&loaded.stored, loaded.seals.as_ref().ok_or_else(not_found)?);
            let mut session = self.decode(r, loaded.id, stored)?;
            let now = r.now();
            if !is_live(&session, now) {
                return Err(not_found());
            }
            let secret = digest::open(Purpose::Secret, loaded.id.value(), &seals.secret)
                .ok_or_else(record::corrupt)?;
            let new = SessionId::random();
            let hold = r.core.events.hold();
            let result = rotate(
                &mut Access::copy(&mut session, now, r.live.activity_resolution()),
                new,
            )?;
            let written = record::encode(&session);
            let alias = (grace > 0).then(|| {
                let sealed = digest::seal(Purpose::NextId, loaded.id.value(), new.value());
                (now + grace, sealed)
            });
            let users = pending_move();
            match self.store.rotate(
                deadline,
                loaded.key,
                key_of(new),
                stored.client,
                stored.version,
                &written,
                session.expires_at(),
                alias,
                &Seals::new(new, secret),
                users.as_ref(),
                guest_activity(&session),
            )? {
                Some(Written::Done) => {
                    r.counted(hold.commit());
                    let previous = SessionId::UNKNOWN;
                    let detail = Detail::Rotated { previous };
                    self.tell(&[Event::new(EventKind::IdRotated, &session, now, detail)]);
                    return Ok((new, result));
                }
                Some(Written::Gone) => return Err(not_found()),
                Some(Written::UsersMoved) => return Err(users_raced()),
                // Moved, or the new ID taken: again, from what is there now.
                _ => continue,
            }
        }
    }

    /// Every live session of the Redis store, decoded (those this process holds aside).
    pub(crate) fn remote_sessions(&self, r: &Registry, now: Millis) -> Result<Vec<Session>> {
        let mut sessions = Vec::new();
        for (_, stored) in self.store.all(self.store.deadline(), now)? {
            let session = self.decode(r, SessionId::UNKNOWN, &stored)?;
            if is_live(&session, now) {
                sessions.push(session);
            }
        }
        Ok(sessions)
    }

    /// Stores a new session in Redis, its client number given by Redis.
    pub(crate) fn insert_remote(&self, r: &Registry, mut session: Session) -> Result<SessionId> {
        let deadline = self.store.deadline();
        let max = r.live.max_sessions();
        loop {
            let record = record::encode(&session);
            let filed = self.store.insert(
                deadline,
                key_of(session.id),
                // The session's own secret, sealed to its ID.
                &Seals::new(session.id, digest::random_secret()),
                &record,
                session.expires_at(),
                session.created,
                max,
                guest_activity(&session),
                r.live.evict_guests(),
            )?;
            match filed {
                Some((client, evicted)) => {
                    session.client_id = client;
                    session.sequence = client;
                    if let Some((_, stored)) = evicted {
                        // The least recently active guest made room, as in memory.
                        let gone = self.decode(r, SessionId::UNKNOWN, &stored)?;
                        let end = End::Closed(CloseReason::Evicted);
                        r.core.ended(&gone, session.created, end);
                        self.tell(&[end_event(&gone, session.created, end)]);
                    }
                    break;
                }
                // 128 random bits met a live ID: a new one.
                None => session.id = SessionId::random(),
            }
        }
        r.core.counters.created.fetch_add(1, Ordering::AcqRel);
        r.core.emit_created(&session);
        Ok(session.id)
    }

    /// Takes the session `target` out of Redis, closed for `reason`.
    pub(crate) fn end_remote(
        &self,
        r: &Registry,
        target: Target,
        reason: CloseReason,
    ) -> Result<()> {
        let deadline = self.store.deadline();
        let key = target.key();
        loop {
            let stored = self.store.load(deadline, key)?.ok_or_else(not_found)?;
            let session = self.decode(r, target.id(), &stored)?;
            let now = r.now();
            match self
                .store
                .remove(deadline, key, stored.client, stored.version, session.user())?
            {
                Written::Done => {
                    let live = is_live(&session, now);
                    let end = if live {
                        End::Closed(reason)
                    } else {
                        session.lapsed_end()
                    };
                    r.core.ended(&session, now, end);
                    self.tell(&[end_event(&session, now, end)]);
                    return if live { Ok(()) } else { Err(not_found()) };
                }
                Written::Moved | Written::UsersMoved => continue,
                Written::Gone => return Err(not_found()),
            }
        }
    }
}

impl RedisSite {
    /// [`Store::move_user`] on the Redis store: the cap is decided here on the joined user's
    /// sessions as read, and the write that changes the session's user moves it between the
    /// two user sets only if the joined one is still as read (otherwise `Ok(false)`).
    fn move_user_remote(
        &self,
        r: &Registry,
        client: u64,
        old: &str,
        new: &str,
        op: &mut UserChange<'_>,
    ) -> Result<bool> {
        // The caller goes round again on a race: the call's deadline ends it.
        self.store.check(self.store.deadline())?;
        // Without a cap, the joined user's sessions are not read, nor guarded.
        let expected = if new.is_empty() || !r.user_cap_applies() {
            None
        } else {
            Some(self.make_room_remote(r, new, client)?)
        };
        let users = UserMove {
            from: (!old.is_empty()).then(|| old.to_owned()),
            to: (!new.is_empty()).then(|| new.to_owned()),
            expected,
        };
        USER_MOVE.with(|m| *m.borrow_mut() = Some(users));
        USERS_RACED.with(|r| r.set(false));
        let outcome = op();
        USER_MOVE.with(|m| *m.borrow_mut() = None);
        if USERS_RACED.with(Cell::take) {
            return Ok(false);
        }
        outcome.map(|()| true)
    }

    /// The live members of `user` in the Redis store, each with its key; those Redis dropped
    /// are forgotten.
    fn remote_members(&self, r: &Registry, user: &str) -> Result<Vec<UserSession>> {
        Ok(self.remote_members_and_ended(r, user)?.0)
    }

    /// As [`RedisSite::remote_members`], with the keys of the user's sessions that have ended
    /// by this host's clock but are still stored (no sweep has claimed them yet); the user's
    /// set forgets them too.
    fn remote_members_and_ended(
        &self,
        r: &Registry,
        user: &str,
    ) -> Result<(Vec<UserSession>, Vec<Key>)> {
        let deadline = self.store.deadline();
        let now = r.now();
        let (mut live, mut ended, mut gone) = (Vec::new(), Vec::new(), Vec::new());
        for client in self.store.user_members(deadline, user)? {
            let stored = match self.store.client_session(deadline, client)? {
                Some(key) => self.store.load(deadline, key)?.map(|stored| (key, stored)),
                None => None,
            };
            match stored {
                Some((key, stored)) => {
                    let session = self.decode(r, SessionId::UNKNOWN, &stored)?;
                    if session.user() != Some(user) {
                        gone.push(client);
                    } else if is_live(&session, now) {
                        live.push((key, session));
                    } else {
                        // Ended by this host's clock, though no sweep has claimed it yet.
                        ended.push(key);
                        gone.push(client);
                    }
                }
                None => gone.push(client),
            }
        }
        self.store.prune_user(deadline, user, &gone)?;
        Ok((live, ended))
    }

    /// Under `maxSessionsPerUser`, makes room in the Redis store for one more session of
    /// `user` (`joining`), as [`Registry::over_cap`] decides; returns the user's set as it must
    /// still be when the login is written.
    fn make_room_remote(&self, r: &Registry, user: &str, joining: u64) -> Result<String> {
        let members = self.remote_members(r, user)?;
        let weighed = members
            .iter()
            .map(|(_, s)| Member {
                client: s.client_id,
                last_activity: s.last_activity,
                sequence: s.sequence,
            })
            .collect();
        let closing: Vec<u64> = r
            .over_cap(weighed, joining)?
            .into_iter()
            .map(|m| m.client)
            .collect();
        let mut remaining = Vec::new();
        for (key, session) in members {
            if closing.contains(&session.client_id) {
                match self.end_remote(r, Target::Key(key), CloseReason::SessionLimit) {
                    Ok(()) => {}
                    Err(e) if e.kind == crate::error::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            } else {
                remaining.push(session.client_id.to_string());
            }
        }
        remaining.sort();
        Ok(remaining.join(","))
    }

    /// [`Store::user_rows`] on the Redis store.
    fn user_sessions_remote(&self, r: &Registry, user: &str) -> Result<Vec<(u64, String)>> {
        let _scope = self.store.scope();
        let members = self.remote_members(r, user)?;
        let now = r.now();
        Ok(members
            .iter()
            .map(|(_, s)| (s.sequence, user_row(s, now)))
            .collect())
    }

    /// [`Store::user_close`] on the Redis store.
    pub(crate) fn user_close_remote(&self, r: &Registry, user: &str) -> Result<u64> {
        let _scope = self.store.scope();
        let mut closed = 0;
        let (live, ended) = self.remote_members_and_ended(r, user)?;
        // The user's sessions that have ended and wait for a sweep go too, as the memory store
        // does: each with its own end (`expired`), not counted as closed.
        let keys = live.into_iter().map(|(key, _)| key).chain(ended);
        for key in keys {
            match self.end_remote(r, Target::Key(key), CloseReason::UserLogout) {
                Ok(()) => closed += 1,
                Err(e) if e.kind == crate::error::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(closed)
    }
}

impl RedisSite {
    /// Tells the other hosts of `events` (see `notices`). A notice that does not reach Redis
    /// is lost: the change it tells of is made, and the others find out at their next call.
    fn tell(&self, events: &[Event]) {
        let _ = self.store.publish(self.store.deadline(), events);
    }
}

/// A live session of a user in the Redis store, with its key.
type UserSession = (Key, Session);

/// Sessions claimed by one exchange of a sweep.
const CLAIM_BATCH: usize = 256;

/// The session `stored` (`id` if known) decoded under the roles file of `core`'s host.
fn decode(core: &Core, id: SessionId, stored: &Stored) -> Result<Session> {
    let roles = Arc::clone(&core.roles.read());
    record::decode(id, stored.client, &stored.record, &roles)
}

/// A guest's last activity, by which the least recently active guest makes room at
/// `maxSessions`; `None` for a session that is no guest (never evicted).
fn guest_activity(session: &Session) -> Option<Millis> {
    session.is_guest().then_some(session.last_activity)
}

fn is_live(session: &Session, now: Millis) -> bool {
    session.expires_at().is_none_or(|end| end > now)
}

impl Store for RedisSite {
    fn scope(&self) -> Option<Box<dyn Any>> {
        Some(Box::new(self.store.scope()))
    }

    fn access(
        &self,
        r: &Registry,
        target: Target,
        recall: Recall,
        f: &mut Operation<'_>,
    ) -> Option<Result<()>> {
        Some(self.remote_access(r, target, recall, f))
    }

    fn insert(&self, r: &Registry, session: Session) -> Result<SessionId> {
        self.insert_remote(r, session)
    }

    fn end(&self, r: &Registry, target: Target, reason: CloseReason) -> Option<Result<()>> {
        Some(self.end_remote(r, target, reason))
    }

    fn rotate(
        &self,
        r: &Registry,
        id: SessionId,
        grace: Millis,
        f: &mut Rotation<'_>,
    ) -> Option<Result<SessionId>> {
        Some(self.rotate_remote(r, id, grace, f).map(|(new, ())| new))
    }

    fn new_client_number(&self) -> Result<Option<u64>> {
        self.store.next_client(self.store.deadline()).map(Some)
    }

    fn client_session(&self, client: u64) -> Result<Option<Target>> {
        Ok(self
            .store
            .client_session(self.store.deadline(), client)?
            .map(Target::Key))
    }

    fn session_id(
        &self,
        _r: &Registry,
        target: Target,
        secret: Option<u128>,
    ) -> Result<Option<SessionId>> {
        match (target, secret) {
            (Target::Id(id), _) => Ok(Some(id)),
            (Target::Key(key), Some(secret)) => self.remote_id(key, secret),
            (Target::Key(_), None) => Ok(None),
        }
    }

    fn move_user(
        &self,
        r: &Registry,
        _id: SessionId,
        client: u64,
        old: &str,
        new: &str,
        op: &mut UserChange<'_>,
    ) -> Option<Result<bool>> {
        Some(self.move_user_remote(r, client, old, new, op))
    }

    fn user_rows(&self, r: &Registry, user: &str) -> Result<Vec<(u64, String)>> {
        self.user_sessions_remote(r, user)
    }

    fn user_close(&self, r: &Registry, user: &str) -> Result<u64> {
        self.user_close_remote(r, user)
    }

    fn passcode_filed(
        &self,
        r: &Registry,
        id: SessionId,
        token: SessionId,
        client: u64,
        expires: Millis,
        _lapsed: &[u128],
    ) -> Result<()> {
        // Filed once its session holds it, with the session's secret sealed under it (what
        // leads its holder to the session's ID); expired ones go by themselves. Should filing
        // fail, the token was never handed out: nobody can use it.
        let secret = self.remote_secret(r, id)?;
        let sealed = digest::seal(Purpose::Secret, token.value(), secret);
        let key = crate::otp::key_of(token);
        self.store
            .put_otp(self.store.deadline(), key, client, &sealed, expires)
    }

    fn take_passcode(&self, token: SessionId) -> Result<Option<(u64, Option<u128>)>> {
        let key = crate::otp::key_of(token);
        Ok(self
            .store
            .take_otp(self.store.deadline(), key)?
            .and_then(|(client, sealed)| {
                // A passcode whose entry it does not open is no passcode of this store.
                digest::open(Purpose::Secret, token.value(), &sealed)
                    .map(|secret| (client, Some(secret)))
            }))
    }

    fn for_each(&self, r: &Registry, now: Millis, f: &mut dyn FnMut(&Session, bool)) -> Result<()> {
        for session in self.remote_sessions(r, now)? {
            f(&session, true);
        }
        Ok(())
    }

    fn for_clients(
        &self,
        r: &Registry,
        now: Millis,
        clients: &[u64],
        f: &mut dyn FnMut(&Session),
    ) -> Result<()> {
        for stored in self.store.clients(self.store.deadline(), clients)? {
            let session = self.decode(r, SessionId::UNKNOWN, &stored)?;
            if is_live(&session, now) {
                f(&session);
            }
        }
        Ok(())
    }

    fn file_id(&self, name: &str, max: usize) -> Result<Option<u32>> {
        self.store.file_id(self.store.deadline(), name, max)
    }

    fn count(&self, now: Millis) -> Result<u64> {
        self.store.count(self.store.deadline(), now)
    }

    fn sweep(&self, core: &Core, now: Millis) -> Result<u64> {
        self.sweep_remote(core, now)
    }
}
