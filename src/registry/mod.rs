//! The registry: every session of a host, its settings, its roles file and its clock. Plain
//! safe Rust; the C layer owns one global instance, tests make as many as they like.
//!
//! This file holds the registry's state, its settings and roles, and the ways every operation
//! reaches a session; the operations themselves are split by concern: `lifecycle` (create,
//! close, activity, expiry), `identity` (identifier, user name, privileges), `admin` (files,
//! listings, events, statistics), `clients` (an administrator's messages and disconnections),
//! `rotation` (new IDs), `otp` (one-time passcodes), `users` (a user's sessions, their cap)
//! and `storage`.

mod admin;
mod clients;
mod identity;
mod lifecycle;
mod otp;
mod permissions;
mod remote;
mod request;
mod rotation;
mod storage;
mod users;

pub use request::RequestAnswer;

use remote::{Recall, Target};

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock, RwLockWriteGuard};
use serde_json::Value;

use crate::access_log::AccessLog;
use crate::clock::{Clock, Millis};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{Detail, Dispatcher, End, Event, EventKind};
use crate::id::SessionId;
use crate::otp::OtpIndex;
use crate::roles::RolesTable;
use crate::session::Session;
use crate::session_map::{SessionMap, Slot};
use crate::settings::{LiveSettings, Settings};
use crate::store::StoreSettings;
use crate::store::redis::RedisStore;
use crate::sweeper::Sweeper;
use crate::user_index::UserIndex;

/// What an update callback decides, having seen the storage.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome {
    /// Leave the storage as it is (nothing was handed back).
    Keep,
    /// Replace the whole storage with this object (checked with [`Registry::parse_storage_root`]).
    Replace(Value),
    /// Change nothing; the update fails with `Aborted`.
    Abort,
}

/// The part of the registry that the background sweeper shares.
#[derive(Default)]
struct Core {
    map: SessionMap,
    clock: Clock,
    events: Dispatcher,
    counters: Counters,
    /// One-time passcode → the client number of the session holding it.
    otps: OtpIndex,
    /// User name → its web and rest sessions.
    users: UserIndex,
    /// Sweeper threads alive (a stopped one finishing its delivery among them).
    sweepers: AtomicU64,
}

/// Counts a sweeper thread among its core's while the thread lives: made before the thread
/// starts, dropped with the thread's work when it ends (or at once if it could not start).
struct SweeperAlive(Arc<Core>);

impl SweeperAlive {
    fn new(core: &Arc<Core>) -> SweeperAlive {
        core.sweepers.fetch_add(1, Ordering::AcqRel);
        SweeperAlive(Arc::clone(core))
    }
}

impl Drop for SweeperAlive {
    fn drop(&mut self) {
        self.0.sweepers.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counters since the registry started (or was reset).
#[derive(Default)]
struct Counters {
    created: AtomicU64,
    closed: AtomicU64,
    expired: AtomicU64,
    identifier_changes: AtomicU64,
}

impl Counters {
    fn reset(&self) {
        for counter in [
            &self.created,
            &self.closed,
            &self.expired,
            &self.identifier_changes,
        ] {
            counter.store(0, Ordering::Release);
        }
    }
}

impl Core {
    /// Removes the sessions that are no longer live (expired, or disconnected when their
    /// grace time passed), queueing their events (the caller drains them once it holds no
    /// lock); returns how many.
    fn sweep(&self) -> u64 {
        let now = self.clock.now();
        let mut removed = self.map.sweep(now);
        for slot in &mut removed {
            let session = slot.session_mut();
            self.ended(session, now, session.lapsed_end());
        }
        removed.len() as u64
    }

    /// Accounts for a session taken out of the map: forgets it in its user's sessions, counts
    /// it, tells listeners how it ended, and forgets its passcodes. Call it with no lock held.
    fn ended(&self, session: &Session, now: Millis, end: End) {
        if let Some(user) = session.user() {
            self.users.remove(user, session.client_id);
        }
        self.ended_unindexed(session, now, end);
    }

    /// As [`Core::ended`], for a session its caller already took out of its user's sessions
    /// (whose lock it holds).
    fn ended_unindexed(&self, session: &Session, now: Millis, end: End) {
        match end {
            End::Closed(reason) => {
                self.counters.closed.fetch_add(1, Ordering::AcqRel);
                self.emit(EventKind::Closed, session, now, || Detail::Closed {
                    reason,
                });
            }
            End::Expired(reason) => {
                self.counters.expired.fetch_add(1, Ordering::AcqRel);
                self.emit(EventKind::Expired, session, now, || Detail::Expired {
                    reason,
                    last_activity: session.last_activity,
                    idle_timeout: session.idle_timeout,
                    lifetime_end: session.lifetime_end,
                });
            }
        }
        for otp in session.extras.iter().flat_map(|e| &e.otps) {
            self.otps.take(otp.key);
        }
    }

    /// Queues an event about `session` (whose lock the caller holds), if anyone listens.
    fn emit(
        &self,
        kind: EventKind,
        session: &Session,
        now: Millis,
        detail: impl FnOnce() -> Detail,
    ) {
        if self.events.listening() {
            self.events.push(Event::new(kind, session, now, detail()));
        }
    }
}

pub struct Registry {
    core: Arc<Core>,
    live: LiveSettings,
    /// The settings as last configured; also serialises `configure` and `reset`.
    settings: Mutex<Settings>,
    roles: RwLock<Arc<RolesTable>>,
    /// The storedProcedure and standalone sessions, when they exist.
    singletons: Mutex<[Option<SessionId>; 2]>,
    sweeper: Mutex<Option<Sweeper>>,
    next_sequence: AtomicU64,
    /// Each file name attached, and the ID every client sees for it.
    file_ids: Mutex<HashMap<String, u32>>,
    /// The Redis store, when configured (`on_redis` says so without a lock).
    redis: RwLock<Option<Arc<RedisStore>>>,
    on_redis: AtomicBool,
}

impl Default for Registry {
    fn default() -> Registry {
        Registry::new()
    }
}

/// A session locked for one operation, and the time the operation sees.
struct Access<'a> {
    /// Where the session is in memory; `None` for a session read from the Redis store.
    slot: Option<&'a Slot>,
    session: SessionRef<'a>,
    now: Millis,
    /// `activityResolutionSeconds`, in milliseconds.
    resolution: Millis,
}

/// The session an operation works on: locked in memory, or a copy read from the Redis store
/// (written back afterwards if the operation changed it: `touched` says whether it was reached
/// mutably at all, so that a read need not be written out to learn that it changed nothing).
enum SessionRef<'a> {
    Locked(RwLockWriteGuard<'a, Session>),
    Copy {
        session: &'a mut Session,
        touched: bool,
    },
}

impl<'a> SessionRef<'a> {
    fn copy(session: &'a mut Session) -> SessionRef<'a> {
        SessionRef::Copy {
            session,
            touched: false,
        }
    }

    /// Whether the operation may have changed the session (false: it certainly did not).
    fn touched(&self) -> bool {
        match self {
            SessionRef::Locked(_) => true,
            SessionRef::Copy { touched, .. } => *touched,
        }
    }
}

impl std::ops::Deref for SessionRef<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        match self {
            SessionRef::Locked(session) => session,
            SessionRef::Copy { session, .. } => session,
        }
    }
}

impl std::ops::DerefMut for SessionRef<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        match self {
            SessionRef::Locked(session) => session,
            SessionRef::Copy { session, touched } => {
                *touched = true;
                session
            }
        }
    }
}

impl<'a> Access<'a> {
    fn locked(slot: &'a Slot, now: Millis, resolution: Millis) -> Access<'a> {
        Access {
            slot: Some(slot),
            session: SessionRef::Locked(slot.lock()),
            now,
            resolution,
        }
    }

    /// Records activity: the session's last activity is now and its expiry moves accordingly,
    /// if the activity last recorded is older than the resolution (see [`activity_due`]).
    fn activity(&mut self) {
        if activity_due(&self.session, self.now, self.resolution) {
            self.session.last_activity = self.now;
        }
        self.publish_expiry();
    }

    /// Makes the session's expiry (after a change of its ends) visible to lock-free readers;
    /// in the Redis store, the write that follows moves the key's expiry.
    fn publish_expiry(&self) {
        if let Some(slot) = self.slot {
            slot.publish_expiry(&self.session);
        }
    }

    /// A value the operation consumes: moved out on the one run of an operation in memory;
    /// cloned on a copy from the Redis store, where the operation may run again.
    fn given<T: Clone>(&self, value: &mut Option<T>) -> T {
        self.given_opt(value)
            .expect("an operation in memory runs once")
    }

    /// As [`Access::given`], for a value that may be absent.
    fn given_opt<T: Clone>(&self, value: &mut Option<T>) -> Option<T> {
        if self.slot.is_some() {
            value.take()
        } else {
            value.clone()
        }
    }

    /// Whether the session became a guest that the guest index does not have yet.
    fn unfiled_guest(&self) -> bool {
        self.slot
            .is_some_and(|slot| slot.unfiled_guest(&self.session))
    }
}

impl Registry {
    pub fn new() -> Registry {
        let settings = Settings::default();
        let live = LiveSettings::default();
        live.publish(&settings);
        Registry {
            core: Arc::default(),
            live,
            settings: Mutex::new(settings),
            roles: RwLock::new(Arc::new(RolesTable::default())),
            singletons: Mutex::new([None, None]),
            sweeper: Mutex::new(None),
            next_sequence: AtomicU64::new(0),
            file_ids: Mutex::new(HashMap::new()),
            redis: RwLock::new(None),
            on_redis: AtomicBool::new(false),
        }
    }

    // ----- settings, roles, clock ---------------------------------------------------------

    /// Applies the keys of a configuration object (see [`Settings::configured`]); all or nothing.
    pub fn configure(&self, text: &str) -> Result<()> {
        {
            let mut current = self.settings.lock();
            let configuration = current.configured(text)?;
            let settings = configuration.settings;
            // The steps that can fail come first, so that a failure changes nothing.
            let store = if settings.store != current.store {
                Some(self.open_store(&settings.store)?)
            } else {
                None
            };
            let sweeper = if settings.sweep_interval_seconds != current.sweep_interval_seconds {
                Some(self.start_sweeper(settings.sweep_interval_seconds)?)
            } else {
                None
            };
            if let Some(table) = configuration.roles {
                self.install_roles(table);
            }
            if settings.access_log != current.access_log {
                match &settings.access_log {
                    Some(log) => self.core.events.set_log(Some(AccessLog::open(log.clone()))),
                    None => self.core.events.set_log(None),
                }
            }
            self.core.clock.set_manual(settings.manual_clock);
            if let Some(store) = store {
                self.on_redis.store(store.is_some(), Ordering::Release);
                *self.redis.write() = store;
            }
            self.live.publish(&settings);
            *current = settings;
            if let Some(new) = sweeper {
                // The old sweeper is told to stop, not waited for (its last delivery may be
                // running a handler that waits for this thread); the new one starts under the
                // settings just published.
                let mut running = self.sweeper.lock();
                *running = new;
                if let Some(sweeper) = running.as_ref() {
                    sweeper.run();
                }
            }
        }
        self.core.events.drain();
        Ok(())
    }

    /// The store `configure` asks for (`None`: memory), connected; refused while this process
    /// holds live sessions, which would be left behind in the store they are in.
    fn open_store(&self, wanted: &StoreSettings) -> Result<Option<Arc<RedisStore>>> {
        let here = self.session_count();
        if here > 0 {
            return Err(Error::new(
                ErrorKind::BadState,
                format!(
                    "the store cannot change while this process holds live sessions ({here}); \
                     close them, or reset"
                ),
            ));
        }
        match wanted {
            StoreSettings::Memory => Ok(None),
            StoreSettings::Redis(settings) => Ok(Some(Arc::new(RedisStore::open(settings)?))),
        }
    }

    /// A sweeper thread for `interval_seconds`, not yet running, or none for 0.
    fn start_sweeper(&self, interval_seconds: u64) -> Result<Option<Sweeper>> {
        if interval_seconds == 0 {
            return Ok(None);
        }
        let (core, alive) = (Arc::clone(&self.core), SweeperAlive::new(&self.core));
        Sweeper::start(
            Duration::from_secs(interval_seconds),
            move || {
                core.sweep();
            },
            move || alive.0.events.drain(),
        )
        .map(Some)
        .map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("could not start the sweeper thread: {e}"),
            )
        })
    }

    pub fn settings(&self) -> Settings {
        self.settings.lock().clone()
    }

    /// Loads a roles file; an invalid one changes nothing and the error lists every problem.
    pub fn load_roles(&self, text: &str) -> Result<()> {
        let table = RolesTable::from_json(text, self.live.max_json_depth())?;
        {
            let _serialised = self.settings.lock();
            self.install_roles(table);
        }
        self.core.events.drain();
        Ok(())
    }

    /// Publishes a roles file, then re-expands every session's grant under it.
    fn install_roles(&self, table: RolesTable) {
        let table = Arc::new(table);
        *self.roles.write() = Arc::clone(&table);
        // A set_privileges that read the old table has finished by the time its session's lock
        // is ours; one that starts later reads the new table itself.
        let now = self.core.clock.now();
        let mut new_guests = false;
        self.core.map.for_each_live(now, |slot| {
            let mut session = slot.lock();
            let stale = session
                .roles
                .as_ref()
                .is_some_and(|t| !Arc::ptr_eq(t, &table));
            if stale {
                let old = names(&session);
                session.expand_under(&table);
                new_guests |= slot.unfiled_guest(&session);
                let new = names(&session);
                if old != new {
                    self.core
                        .emit(EventKind::PrivilegesChanged, &session, now, || {
                            Detail::Privileges { old, new }
                        });
                }
            }
        });
        // Sessions the new file left without privileges are guests: evictable.
        if new_guests {
            self.core.map.file_all_guests();
        }
    }

    /// Closes every session and puts every setting, the roles file and the clock back to the
    /// defaults.
    ///
    /// Sessions closed by a reset make no event and no access-log line: the handler and the
    /// log are removed first, and every counter starts again from 0. It waits for no host code:
    /// a handler call already under way on another thread may end after it returns, but no
    /// other event of the registry as it was is delivered once it has returned.
    pub fn reset(&self) {
        let mut current = self.settings.lock();
        // First, so that no sweep starts on what follows. The sweeper is told to stop, not
        // waited for; an event it is delivering now is the last of this registry's.
        *self.sweeper.lock() = None;
        self.core.events.reset();
        self.core.map.clear();
        self.core.otps.clear();
        self.core.users.clear();
        self.core.counters.reset();
        *self.singletons.lock() = [None, None];
        self.file_ids.lock().clear();
        *self.roles.write() = Arc::new(RolesTable::default());
        self.on_redis.store(false, Ordering::Release);
        *self.redis.write() = None;
        let defaults = Settings::default();
        self.core.clock.set_manual(false);
        self.live.publish(&defaults);
        *current = defaults;
    }

    /// Moves a manual clock forward by `seconds`.
    pub fn advance_clock(&self, seconds: i64) -> Result<()> {
        self.core.clock.advance(seconds)
    }

    pub fn now(&self) -> Millis {
        self.core.clock.now()
    }

    /// Runs `f` on the live session `id`, locked (or on the Redis store's copy of it, where
    /// `f` may run again: see `remote`).
    fn access<R>(&self, id: SessionId, f: impl FnMut(&mut Access<'_>) -> Result<R>) -> Result<R> {
        self.access_as(Target::Id(id), Recall::No, f)
    }

    /// As [`Registry::access`], for a change that writes whenever it succeeds (a storage
    /// write): on the Redis store it goes at once on the copy this thread read last, if that is
    /// this session's and recent, and reads again only if another write came between.
    fn write<R>(&self, id: SessionId, f: impl FnMut(&mut Access<'_>) -> Result<R>) -> Result<R> {
        self.access_as(Target::Id(id), Recall::Yes, f)
    }

    /// As [`Registry::access`], on the session `target` names.
    fn access_as<R>(
        &self,
        target: Target,
        recall: Recall,
        mut f: impl FnMut(&mut Access<'_>) -> Result<R>,
    ) -> Result<R> {
        let now = self.now();
        if let Target::Id(id) = target
            && let Some(result) = self.core.map.with(id, now, |slot| {
                f(&mut Access::locked(
                    slot,
                    now,
                    self.live.activity_resolution(),
                ))
            })
        {
            return result;
        }
        match self.redis() {
            Some(store) => self.remote_access(&store, target, recall, f),
            None => Err(not_found()),
        }
    }

    /// As [`Registry::access`], for a change that may make events: delivers them afterwards,
    /// with no lock held.
    fn change<R>(&self, id: SessionId, f: impl FnMut(&mut Access<'_>) -> Result<R>) -> Result<R> {
        self.change_at(Target::Id(id), f)
    }

    fn change_at<R>(
        &self,
        target: Target,
        f: impl FnMut(&mut Access<'_>) -> Result<R>,
    ) -> Result<R> {
        let result = self.access_as(target, Recall::No, f);
        self.core.events.drain();
        result
    }

    /// Runs `f` on a read-only view of the live session `id`.
    fn read<R>(&self, id: SessionId, mut f: impl FnMut(&Session) -> Result<R>) -> Result<R> {
        let now = self.now();
        // In memory, straight to the locked session (no `Access` on the request path).
        match self.core.map.with(id, now, |slot| f(&slot.read())) {
            Some(result) => result,
            None => match self.redis() {
                Some(store) => {
                    self.remote_access(&store, Target::Id(id), Recall::No, |a| f(&a.session))
                }
                None => Err(not_found()),
            },
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        *self.sweeper.get_mut() = None;
    }
}

/// Whether activity at `now` is recorded: when at least `resolution` (but never more than a
/// tenth of the session's idle timeout) has passed since the activity last recorded, so that a
/// session ends at most that long before its idle timeout after its last request, never after.
/// A resolution of 0 records every activity.
fn activity_due(session: &Session, now: Millis, resolution: Millis) -> bool {
    let step = resolution.min(session.idle_timeout as Millis * 6_000);
    step == 0 || now.saturating_sub(session.last_activity) >= step
}

/// A session's expanded privileges, owned.
fn names(session: &Session) -> Vec<String> {
    session
        .privilege_names()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn require_web(session: &Session, what: &str) -> Result<()> {
    if session.kind.is_web() {
        Ok(())
    } else {
        Err(Error::not_supported(format!(
            "{what}: does nothing for a {} session (web and rest only)",
            session.kind.name()
        )))
    }
}

/// A session ID that reaches no live session. The ID is a bearer token: no message repeats it.
pub(crate) fn not_found() -> Error {
    Error::new(ErrorKind::NotFound, "no live session has this ID")
}
