//! The registry on the Redis store: the same operations as in memory, on a copy of the session
//! read from Redis and written back only if the operation changed it and nobody else wrote it
//! meanwhile (otherwise the operation runs again on what is there now). The rules stay where
//! they are, in the operations; this file only moves sessions between Redis and them.
//!
//! What stays in this process: the storedProcedure and standalone sessions (they describe one
//! server), events and the access log (each host tells of the calls it made), the counters of
//! `stats`.
//!
//! Redis keeps no session ID (see `store::redis`): a session reached by its ID is found under
//! the ID's digest, and one reached otherwise (a client number, a user's sessions, a listing,
//! an eviction) is known by its client number only, its ID [`SessionId::UNKNOWN`].

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::users::{Member, still_user, user_row};
use super::{Access, Registry, SessionRef, not_found};
use crate::clock::Millis;
use crate::digest::{self, Purpose};
use crate::error::{Error, Result};
use crate::events::{CloseReason, End};
use crate::id::SessionId;
use crate::session::Session;
use crate::store::record;
use crate::store::redis::{Deadline, Key, RedisStore, Seals, Stored, UserMove, Written, key_of};

thread_local! {
    /// The change of user that this thread's next write of a session carries (see
    /// `as_user_change_remote`), and whether a write found the joined set changed.
    static USER_MOVE: RefCell<Option<UserMove>> = const { RefCell::new(None) };
    static USERS_RACED: Cell<bool> = const { Cell::new(false) };
    static REMEMBERED: RefCell<Option<Remembered>> = const { RefCell::new(None) };
}

/// How long a thread remembers the session it read or wrote last, for a write that follows
/// (a request, then a storage write). Only a round trip depends on it: a write on a copy that
/// is no longer Redis' finds the version moved and reads again.
const RECALL_FOR: Duration = Duration::from_secs(1);

/// Whether an operation may first go on the copy of the session this thread has (see
/// [`Registry::remote_access`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Recall {
    No,
    Yes,
}

/// The session an operation is on: one named by its ID (in either store), or one of the Redis
/// store reached by its key (a client number's), whose ID is not known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Target {
    Id(SessionId),
    Key(Key),
}

impl Target {
    fn key(self) -> Key {
        match self {
            Target::Id(id) => key_of(id),
            Target::Key(key) => key,
        }
    }

    fn id(self) -> SessionId {
        match self {
            Target::Id(id) => id,
            Target::Key(_) => SessionId::UNKNOWN,
        }
    }
}

/// A session as read from Redis: its ID (the one the caller named, or the new one it names
/// during a rotation's grace time; [`SessionId::UNKNOWN`] if reached by its key), its key, and
/// what Redis has.
struct Loaded {
    id: SessionId,
    key: Key,
    stored: Stored,
    /// When asked for (see [`Registry::load_remote_as`]).
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

/// The copy of the session `asked` this thread has of `store`, if recent; taken (`take`), so
/// that a failed attempt on it is not tried twice, or cloned.
fn recalled(store: &RedisStore, asked: Target, take: bool) -> Option<Loaded> {
    REMEMBERED.with(|r| {
        let mut r = r.borrow_mut();
        let usable = r.as_ref().is_some_and(|m| {
            m.store == store.serial() && m.asked == asked && m.at.elapsed() < RECALL_FOR
        });
        if !usable {
            return None;
        }
        if take {
            r.take().map(|m| m.loaded)
        } else {
            r.as_ref().map(|m| Loaded {
                id: m.loaded.id,
                key: m.loaded.key,
                stored: m.loaded.stored.clone(),
                seals: None,
            })
        }
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

impl Registry {
    /// One deadline for every exchange with Redis while the result lives, when the registry
    /// is on the Redis store (for a call made of several steps); nothing otherwise.
    pub(super) fn redis_scope(&self) -> Option<crate::store::redis::Scope> {
        self.redis().map(|store| store.scope())
    }

    /// The Redis store, when the registry is on one.
    pub(super) fn redis(&self) -> Option<Arc<RedisStore>> {
        if !self.on_redis.load(Ordering::Acquire) {
            return None;
        }
        self.redis.read().clone()
    }

    /// Runs `f` on the session `id` of the Redis store, as [`Registry::access`] does in memory.
    /// With [`Recall::Yes`], first on the copy this thread read or wrote last, if it is this
    /// session's and recent: the result stands only if its write lands on that very version
    /// (one round trip); anything else (a read, a failure, a version moved) runs again on what
    /// Redis has now.
    pub(super) fn remote_access<R>(
        &self,
        store: &RedisStore,
        asked: Target,
        recall: Recall,
        mut f: impl FnMut(&mut Access<'_>) -> Result<R>,
    ) -> Result<R> {
        let deadline = store.deadline();
        if recall == Recall::Yes
            && let Some(loaded) = recalled(store, asked, true)
            && let Attempt::Done(result) =
                self.attempt(store, deadline, asked, &loaded, false, &mut f)?
        {
            return result;
        }
        loop {
            let loaded = self.load_remote(store, deadline, asked)?;
            match self.attempt(store, deadline, asked, &loaded, true, &mut f)? {
                // A write remembered what it wrote.
                Attempt::Done(result) => return result,
                Attempt::Unwritten(result) => {
                    remember(store, asked, loaded);
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
        store: &RedisStore,
        deadline: Deadline,
        asked: Target,
        loaded: &Loaded,
        fresh: bool,
        f: &mut impl FnMut(&mut Access<'_>) -> Result<R>,
    ) -> Result<Attempt<R>> {
        let stored = &loaded.stored;
        let mut session = self.decode(loaded.id, stored)?;
        let now = self.now();
        if !is_live(&session, now) {
            return Ok(Attempt::Lapsed);
        }
        let (expiry_before, guest_before) = (session.expires_at(), guest_activity(&session));
        let hold = self.core.events.hold();
        let mut access = Access {
            slot: None,
            session: SessionRef::copy(&mut session),
            now,
            resolution: self.live.activity_resolution(),
        };
        let result = f(&mut access);
        let touched = access.session.touched();
        drop(access);
        // A failed operation changes nothing; a read has nothing to write.
        let written = (result.is_ok() && touched)
            .then(|| record::encode(&session))
            .filter(|written| *written != stored.record);
        let Some(written) = written else {
            if result.is_ok() && fresh {
                self.counted(hold.commit());
            }
            return Ok(Attempt::Unwritten(result));
        };
        let users = pending_move();
        Ok(
            match store.commit(
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
                    self.counted(hold.commit());
                    let now_stored = Stored {
                        version: stored.version + 1,
                        client: stored.client,
                        record: written,
                    };
                    remember(
                        store,
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
    fn decode(&self, id: SessionId, stored: &Stored) -> Result<Session> {
        let roles = Arc::clone(&self.roles.read());
        record::decode(id, stored.client, &stored.record, &roles)
    }

    /// The session `target` as stored; for an ID, the session it names during a rotation's
    /// grace time if it has none (then under its new ID, which the alias seals under the old).
    fn load_remote(
        &self,
        store: &RedisStore,
        deadline: Deadline,
        target: Target,
    ) -> Result<Loaded> {
        self.load_remote_as(store, deadline, target, false)
    }

    /// As [`Registry::load_remote`], with the session's seals if `sealed`.
    fn load_remote_as(
        &self,
        store: &RedisStore,
        deadline: Deadline,
        target: Target,
        sealed: bool,
    ) -> Result<Loaded> {
        let load = |key| -> Result<Option<(Stored, Option<Seals>)>> {
            Ok(if sealed {
                store
                    .load_sealed(deadline, key)?
                    .map(|(stored, seals)| (stored, Some(seals)))
            } else {
                store.load(deadline, key)?.map(|stored| (stored, None))
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
            && self.live.rotation_grace_seconds() > 0
            && let Some((new_key, sealed)) = store.alias(deadline, key)?
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
    pub(super) fn remote_secret(&self, store: &RedisStore, id: SessionId) -> Result<u128> {
        let deadline = store.deadline();
        let loaded = match recalled(store, Target::Id(id), false) {
            Some(loaded) => loaded,
            None => self.load_remote(store, deadline, Target::Id(id))?,
        };
        let seals = store.seals(deadline, loaded.key)?.ok_or_else(not_found)?;
        digest::open(Purpose::Secret, loaded.id.value(), &seals.secret).ok_or_else(record::corrupt)
    }

    /// The ID of the session `key` of the Redis store, opened with its `secret` (given by a
    /// passcode); `None` if the session is gone or the secret is not its own.
    fn remote_id(&self, store: &RedisStore, key: Key, secret: u128) -> Result<Option<SessionId>> {
        let Some(seals) = store.seals(store.deadline(), key)? else {
            return Ok(None);
        };
        Ok(digest::open(Purpose::Id, secret, &seals.id)
            .map(SessionId::from_value)
            .filter(|id| key_of(*id) == key))
    }

    /// The ID of the session `target` names: its own, or (for a key) the one its `secret`
    /// opens; `None` if there is none.
    pub(super) fn id_of(&self, target: Target, secret: Option<u128>) -> Result<Option<SessionId>> {
        match (target, secret, self.redis()) {
            (Target::Id(id), ..) => Ok(Some(id)),
            (Target::Key(key), Some(secret), Some(store)) => self.remote_id(&store, key, secret),
            _ => Ok(None),
        }
    }

    /// The live session with client number `client`: this process's (by its ID), or the
    /// Redis store's (by its key).
    pub(super) fn client_session(&self, client: u64) -> Result<Option<Target>> {
        if let Some(id) = self.core.map.client_session(client) {
            return Ok(Some(Target::Id(id)));
        }
        match self.redis() {
            Some(store) => Ok(store
                .client_session(store.deadline(), client)?
                .map(Target::Key)),
            None => Ok(None),
        }
    }

    /// Gives the Redis store's session `id` a new ID, running `rotate` (the rules of a
    /// rotation, shared with the memory store) on its copy, given the new ID.
    pub(super) fn rotate_remote<R>(
        &self,
        store: &RedisStore,
        id: SessionId,
        mut rotate: impl FnMut(&mut Access<'_>, SessionId) -> Result<R>,
    ) -> Result<(SessionId, R)> {
        let deadline = store.deadline();
        let grace = self.live.rotation_grace_seconds() as i64 * 1000;
        loop {
            let loaded = self.load_remote_as(store, deadline, Target::Id(id), true)?;
            let (stored, seals) = (&loaded.stored, loaded.seals.as_ref().ok_or_else(not_found)?);
            let mut session = self.decode(loaded.id, stored)?;
            let now = self.now();
            if !is_live(&session, now) {
                return Err(not_found());
            }
            let secret = digest::open(Purpose::Secret, loaded.id.value(), &seals.secret)
                .ok_or_else(record::corrupt)?;
            let new = SessionId::random();
            let hold = self.core.events.hold();
            let result = rotate(
                &mut Access {
                    slot: None,
                    session: SessionRef::copy(&mut session),
                    now,
                    resolution: self.live.activity_resolution(),
                },
                new,
            )?;
            let written = record::encode(&session);
            let alias = (grace > 0).then(|| {
                let sealed = digest::seal(Purpose::NextId, loaded.id.value(), new.value());
                (now + grace, sealed)
            });
            let users = pending_move();
            match store.rotate(
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
                    self.counted(hold.commit());
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
    pub(super) fn remote_sessions(&self, store: &RedisStore, now: Millis) -> Result<Vec<Session>> {
        let mut sessions = Vec::new();
        for (_, stored) in store.all(store.deadline(), now)? {
            let session = self.decode(SessionId::UNKNOWN, &stored)?;
            if is_live(&session, now) {
                sessions.push(session);
            }
        }
        Ok(sessions)
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
                key_of(session.id),
                // The session's own secret, sealed to its ID.
                &Seals::new(session.id, digest::random_secret()),
                &record,
                session.expires_at(),
                session.created,
                max,
                guest_activity(&session),
                self.live.evict_guests(),
            )?;
            match filed {
                Some((client, evicted)) => {
                    session.client_id = client;
                    session.sequence = client;
                    if let Some((_, stored)) = evicted {
                        // The least recently active guest made room, as in memory.
                        let gone = self.decode(SessionId::UNKNOWN, &stored)?;
                        self.core
                            .ended(&gone, session.created, End::Closed(CloseReason::Evicted));
                    }
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
                user_name: session.details.user_name.to_string(),
                origin: session.client_origin(),
                application: session.client_application(),
            },
        );
        Ok(session.id)
    }

    /// Takes the session `target` out of Redis, closed for `reason`.
    pub(super) fn end_remote(
        &self,
        store: &RedisStore,
        target: Target,
        reason: CloseReason,
    ) -> Result<()> {
        let deadline = store.deadline();
        let key = target.key();
        loop {
            let stored = store.load(deadline, key)?.ok_or_else(not_found)?;
            let session = self.decode(target.id(), &stored)?;
            let now = self.now();
            match store.remove(deadline, key, stored.client, stored.version, session.user())? {
                Written::Done => {
                    if !is_live(&session, now) {
                        self.core.ended(&session, now, session.lapsed_end());
                        return Err(not_found());
                    }
                    self.core.ended(&session, now, End::Closed(reason));
                    return Ok(());
                }
                Written::Moved | Written::UsersMoved => continue,
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

impl Registry {
    /// [`Registry::as_user_change`] for a session of the Redis store: the cap is decided here
    /// on the joined user's sessions as read, and the write that changes the session's user
    /// moves it between the two user sets only if the joined one is still as read (otherwise
    /// all of it is decided again).
    pub(super) fn as_user_change_remote<R>(
        &self,
        store: &RedisStore,
        id: SessionId,
        new: &str,
        mut op: impl FnMut(&dyn Fn(&Session) -> Result<()>) -> Result<R>,
    ) -> Result<R> {
        let _scope = store.scope();
        let deadline = store.deadline();
        loop {
            store.check(deadline)?;
            let (is_web, old, client) = self.user_of(id)?;
            let raced = Cell::new(false);
            let unchanged = still_user(&old, &raced);
            if !is_web || old == new {
                let outcome = op(&unchanged);
                if raced.get() {
                    continue;
                }
                return outcome;
            }
            // Without a cap, the joined user's sessions are not read, nor guarded.
            let expected = if new.is_empty() || !self.user_cap_applies() {
                None
            } else {
                Some(self.make_room_remote(store, new, client)?)
            };
            let users = UserMove {
                from: (!old.is_empty()).then(|| old.clone()),
                to: (!new.is_empty()).then(|| new.to_owned()),
                expected,
            };
            USER_MOVE.with(|m| *m.borrow_mut() = Some(users));
            USERS_RACED.with(|r| r.set(false));
            let outcome = op(&unchanged);
            USER_MOVE.with(|m| *m.borrow_mut() = None);
            if raced.get() || USERS_RACED.with(Cell::take) {
                continue;
            }
            return outcome;
        }
    }

    /// The live members of `user` in the Redis store, each with its key; those Redis dropped
    /// are forgotten.
    fn remote_members(&self, store: &RedisStore, user: &str) -> Result<Vec<(Key, Session)>> {
        let deadline = store.deadline();
        let now = self.now();
        let (mut live, mut gone) = (Vec::new(), Vec::new());
        for client in store.user_members(deadline, user)? {
            let stored = match store.client_session(deadline, client)? {
                Some(key) => store.load(deadline, key)?.map(|stored| (key, stored)),
                None => None,
            };
            match stored {
                Some((key, stored)) => {
                    let session = self.decode(SessionId::UNKNOWN, &stored)?;
                    if is_live(&session, now) && session.user() == Some(user) {
                        live.push((key, session));
                    } else {
                        // Ended by this host's clock, though Redis has not dropped it yet.
                        gone.push(client);
                    }
                }
                None => gone.push(client),
            }
        }
        store.prune_user(deadline, user, &gone)?;
        Ok(live)
    }

    /// Under `maxSessionsPerUser`, makes room in the Redis store for one more session of
    /// `user` (`joining`), as [`Registry::over_cap`] decides; returns the user's set as it must
    /// still be when the login is written.
    fn make_room_remote(&self, store: &RedisStore, user: &str, joining: u64) -> Result<String> {
        let members = self.remote_members(store, user)?;
        let weighed = members
            .iter()
            .map(|(_, s)| Member {
                client: s.client_id,
                last_activity: s.last_activity,
                sequence: s.sequence,
            })
            .collect();
        let closing: Vec<u64> = self
            .over_cap(weighed, joining)?
            .into_iter()
            .map(|m| m.client)
            .collect();
        let mut remaining = Vec::new();
        for (key, session) in members {
            if closing.contains(&session.client_id) {
                match self.end_remote(store, Target::Key(key), CloseReason::SessionLimit) {
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

    /// [`Registry::user_sessions`] on the Redis store.
    pub(super) fn user_sessions_remote(
        &self,
        store: &RedisStore,
        user: &str,
        now: Millis,
    ) -> Result<String> {
        let _scope = store.scope();
        let mut members = self.remote_members(store, user)?;
        members.sort_unstable_by_key(|(_, s)| s.sequence);
        let rows: Vec<String> = members.iter().map(|(_, s)| user_row(s, now)).collect();
        Ok(format!("{{\"clients\":[{}]}}", rows.join(",")))
    }

    /// [`Registry::user_close_sessions`] on the Redis store.
    pub(super) fn user_close_remote(&self, store: &RedisStore, user: &str) -> Result<u64> {
        let _scope = store.scope();
        let mut closed = 0;
        for (key, _) in self.remote_members(store, user)? {
            match self.end_remote(store, Target::Key(key), CloseReason::UserLogout) {
                Ok(()) => closed += 1,
                Err(e) if e.kind == crate::error::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(closed)
    }
}

/// A guest's last activity, by which the least recently active guest makes room at
/// `maxSessions`; `None` for a session that is no guest (never evicted).
fn guest_activity(session: &Session) -> Option<Millis> {
    session.is_guest().then_some(session.last_activity)
}

fn is_live(session: &Session, now: Millis) -> bool {
    session.expires_at().is_none_or(|end| end > now)
}
