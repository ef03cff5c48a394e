//! The registry: every session of a host, its settings, its roles file and its clock. Plain
//! safe Rust; the C layer owns one global instance, tests make as many as they like.
//!
//! This file holds the registry's state, its settings and roles, and the ways every operation
//! reaches a session; the operations themselves are split by concern: `lifecycle` (create,
//! close, activity, expiry), `identity` (identifier, user name, privileges), `admin` (files,
//! listings, events, statistics), `clients` (an administrator's messages and disconnections),
//! `rotation` (new IDs), `otp` (one-time passcodes), `users` (a user's sessions, their cap)
//! and `storage`. Sessions are kept by stores (`crate::store`), reached through one interface
//! (`store::site::Store`): this process's memory always (the storedProcedure and standalone
//! sessions, and every session of a site that is this process), and the site's shared store
//! when one is configured. The registry holds no knowledge of what a store is.

mod admin;
mod clients;
mod identity;
mod lifecycle;
mod otp;
mod permissions;
mod request;
mod rotation;
mod storage;
mod users;

pub use request::RequestAnswer;
pub(crate) use users::{Member, user_row};

pub(crate) use crate::store::site::{Recall, Target};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde_json::Value;

use crate::access_log::AccessLog;
use crate::clock::{Clock, Millis, Moment};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{Detail, Dispatcher, End, Event, EventKind};
use crate::id::SessionId;
use crate::roles::RolesTable;
use crate::session::Session;
use crate::session_map::Slot;
use crate::settings::{LiveSettings, Settings};
use crate::store::StoreSettings;
use crate::store::memory::MemoryStore;
use crate::store::site::Store;
use crate::sweeper::Sweeper;

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
pub(crate) struct Core {
    /// This process's sessions (see `store::memory`).
    pub local: MemoryStore,
    clock: Clock,
    pub events: Dispatcher,
    pub counters: Counters,
    /// Sweeper threads alive (a stopped one finishing its delivery among them).
    sweepers: AtomicU64,
    pub(crate) roles: RwLock<Arc<RolesTable>>,
    /// The site's store when it is not this process's memory (`shared_on` says whether there
    /// is one without a lock).
    shared: RwLock<Option<Arc<dyn Store>>>,
    shared_on: AtomicBool,
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
pub(crate) struct Counters {
    pub created: AtomicU64,
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
    /// lock); returns how many. In the site's shared store, each is claimed by exactly one of
    /// the hosts sweeping it (see `Store::sweep`); one that does not answer is swept next time.
    pub fn sweep(&self) -> u64 {
        let now = self.clock.now();
        let mut swept = self.local.sweep(self, now).unwrap_or(0);
        if let Some(shared) = self.shared() {
            swept += shared.sweep(self, now).unwrap_or(0);
        }
        swept
    }

    /// The site's store when it is not this process's memory.
    pub(crate) fn shared(&self) -> Option<Arc<dyn Store>> {
        if !self.shared_on.load(Ordering::Acquire) {
            return None;
        }
        self.shared.read().clone()
    }

    /// Accounts for a session taken out of the map: forgets it in its user's sessions, counts
    /// it, tells listeners how it ended, and forgets its passcodes. Call it with no lock held.
    pub fn ended(&self, session: &Session, now: Millis, end: End) {
        if let Some(user) = session.user() {
            self.local.users.remove(user, session.client_id);
        }
        self.ended_unindexed(session, now, end);
    }

    /// As [`Core::ended`], for a session its caller already took out of its user's sessions
    /// (whose lock it holds).
    pub fn ended_unindexed(&self, session: &Session, now: Millis, end: End) {
        match end {
            End::Closed(_) => self.counters.closed.fetch_add(1, Ordering::AcqRel),
            End::Expired(_) => self.counters.expired.fetch_add(1, Ordering::AcqRel),
        };
        if self.events.listening() {
            self.events.push(end_event(session, now, end));
        }
        for otp in session.extras.iter().flat_map(|e| &e.otps) {
            self.local.otps.take(otp.key);
        }
    }

    /// Queues the event of a session made.
    pub fn emit_created(&self, session: &Session) {
        self.emit(EventKind::Created, session, session.created, || {
            Detail::Created {
                session_type: session.kind.name(),
                user_name: session.details.user_name.to_string(),
                origin: session.client_origin(),
                application: session.client_application(),
            }
        });
    }

    /// Queues an event about `session` (whose lock the caller holds), if anyone listens.
    pub fn emit(
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
    pub(crate) core: Arc<Core>,
    pub(crate) live: LiveSettings,
    /// The settings as last configured; also serialises `configure` and `reset`.
    settings: Mutex<Settings>,
    /// The storedProcedure and standalone sessions, when they exist.
    singletons: Mutex<[Option<SessionId>; 2]>,
    sweeper: Mutex<Option<Sweeper>>,
    next_sequence: AtomicU64,
}

impl Default for Registry {
    fn default() -> Registry {
        Registry::new()
    }
}

/// What a read of a session goes on to read: the storage is brought in while the session's
/// lock is waited for ([`Slot::prefetch_storage`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reads {
    Session,
    Storage,
}

impl Reads {
    #[inline(always)]
    fn prefetch(self, slot: &Slot) {
        if self == Reads::Storage {
            slot.prefetch_storage();
        }
    }
}

/// Why [`Registry::read_unless_activity_due`] did not answer.
#[derive(Clone, Copy, Debug)]
enum Unread {
    /// The session is in memory and its activity is due: it must be locked for the change.
    ActivityDue,
    /// This process's memory has no such live session.
    NotInMemory,
}

/// A session locked for one operation, and the time the operation sees.
pub(crate) struct Access<'a> {
    /// Where the session is in memory; `None` for a copy from a store that keeps copies.
    pub slot: Option<&'a Slot>,
    pub session: SessionRef<'a>,
    /// When the operation runs: activity is recorded at its reading.
    moment: Moment,
    /// The exact time (for events, passcodes, grace times), read once, when first needed.
    exact: std::cell::OnceCell<Millis>,
    /// `activityResolutionSeconds`, in milliseconds.
    pub resolution: Millis,
}

/// The session an operation works on: locked in memory, or a copy read from the Redis store
/// (written back afterwards if the operation changed it: `touched` says whether it was reached
/// mutably at all, so that a read need not be written out to learn that it changed nothing).
pub(crate) enum SessionRef<'a> {
    Locked(crate::session_map::Locked<'a>),
    Copy {
        session: &'a mut Session,
        touched: bool,
    },
}

impl<'a> SessionRef<'a> {
    pub fn copy(session: &'a mut Session) -> SessionRef<'a> {
        SessionRef::Copy {
            session,
            touched: false,
        }
    }

    /// Whether the operation may have changed the session (false: it certainly did not).
    pub fn touched(&self) -> bool {
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
    pub fn locked(slot: &'a Slot, moment: Moment, resolution: Millis) -> Access<'a> {
        Access {
            slot: Some(slot),
            session: SessionRef::Locked(slot.lock()),
            moment,
            exact: std::cell::OnceCell::new(),
            resolution,
        }
    }

    /// A copy from a store that keeps copies, at time `now`.
    pub fn copy(session: &'a mut Session, now: Millis, resolution: Millis) -> Access<'a> {
        Access {
            slot: None,
            session: SessionRef::copy(session),
            moment: Moment::Exact(now),
            exact: std::cell::OnceCell::from(now),
            resolution,
        }
    }

    /// The exact time of the operation (the same for all of it).
    pub fn now(&self) -> Millis {
        *self.exact.get_or_init(|| self.moment.exact())
    }

    /// Records activity: the session's last activity is now and its expiry moves accordingly
    /// (published to lock-free readers when the session's lock is let go), if the activity
    /// last recorded is older than the resolution (see [`activity_due`]).
    fn activity(&mut self) {
        let at = self.moment.reading();
        if activity_due(&self.session, at, self.resolution) {
            // The coarse clock may read a little before an activity recorded exactly.
            self.session.last_activity = at.max(self.session.last_activity);
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
    pub fn unfiled_guest(&self) -> bool {
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
            singletons: Mutex::new([None, None]),
            sweeper: Mutex::new(None),
            next_sequence: AtomicU64::new(0),
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
                self.core
                    .shared_on
                    .store(store.is_some(), Ordering::Release);
                *self.core.shared.write() = store;
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
    fn open_store(&self, wanted: &StoreSettings) -> Result<Option<Arc<dyn Store>>> {
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
        wanted.open(&self.core)
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
        *self.core.roles.write() = Arc::clone(&table);
        // A set_privileges that read the old table has finished by the time its session's lock
        // is ours; one that starts later reads the new table itself.
        let now = self.core.clock.now();
        let mut new_guests = false;
        self.core.local.map.for_each_live(now, |slot| {
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
            self.core.local.map.file_all_guests();
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
        self.core.local.clear();
        self.core.counters.reset();
        *self.singletons.lock() = [None, None];
        *self.core.roles.write() = Arc::new(RolesTable::default());
        self.core.shared_on.store(false, Ordering::Release);
        *self.core.shared.write() = None;
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

    /// Now, for an access (see [`Moment`]).
    pub(crate) fn moment(&self) -> Moment {
        self.core.clock.moment()
    }

    /// Runs `f` on the live session `id`, locked (or on the Redis store's copy of it, where
    /// `f` may run again: see `store::redis_site`).
    fn access<R>(&self, id: SessionId, f: impl FnMut(&mut Access<'_>) -> Result<R>) -> Result<R> {
        self.access_as(Target::Id(id), Recall::No, Reads::Session, f)
    }

    /// Runs `f` on the live session `id` in this process's memory under its read lock, for an
    /// operation whose one change would be the activity, when none is due (the usual case, see
    /// [`activity_due`]): no exclusive lock, nothing to publish when it is let go. Otherwise
    /// says why not, for [`Registry::access_unread`].
    fn read_unless_activity_due<R>(
        &self,
        id: SessionId,
        reads: Reads,
        f: impl FnOnce(&Slot, &Session) -> R,
    ) -> std::result::Result<R, Unread> {
        let now = self.core.clock.moment();
        let resolution = self.live.activity_resolution();
        self.core
            .local
            .map
            .with(id, now, |slot| {
                reads.prefetch(slot);
                let session = slot.read();
                if activity_due(&session, now.reading(), resolution) {
                    Err(Unread::ActivityDue)
                } else {
                    Ok(f(slot, &session))
                }
            })
            .unwrap_or(Err(Unread::NotInMemory))
    }

    /// As [`Registry::access`], after [`Registry::read_unless_activity_due`] did not answer:
    /// a session not in memory is looked for in the shared store alone, not in memory again.
    fn access_unread<R>(
        &self,
        id: SessionId,
        unread: Unread,
        f: impl FnMut(&mut Access<'_>) -> Result<R>,
    ) -> Result<R> {
        match unread {
            Unread::ActivityDue => self.access(id, f),
            Unread::NotInMemory => self.shared_access(Target::Id(id), Recall::No, f),
        }
    }

    /// As [`Registry::access`], for a change that writes whenever it succeeds (a storage
    /// write): on the Redis store it goes at once on the copy this thread read last, if that is
    /// this session's and recent, and reads again only if another write came between. In
    /// memory, the storage is brought in while the session's lock is waited for.
    fn write<R>(&self, id: SessionId, f: impl FnMut(&mut Access<'_>) -> Result<R>) -> Result<R> {
        self.access_as(Target::Id(id), Recall::Yes, Reads::Storage, f)
    }

    /// As [`Registry::access`], on the session `target` names.
    fn access_as<R>(
        &self,
        target: Target,
        recall: Recall,
        reads: Reads,
        mut f: impl FnMut(&mut Access<'_>) -> Result<R>,
    ) -> Result<R> {
        let now = self.core.clock.moment();
        // This process's sessions first, straight (no dynamic call on the request path).
        if let Target::Id(id) = target
            && let Some(result) = self.core.local.map.with(id, now, |slot| {
                reads.prefetch(slot);
                f(&mut Access::locked(
                    slot,
                    now,
                    self.live.activity_resolution(),
                ))
            })
        {
            return result;
        }
        self.shared_access(target, recall, f)
    }

    /// As [`Registry::access_as`], in the shared store alone (this process's has no such
    /// session).
    fn shared_access<R>(
        &self,
        target: Target,
        recall: Recall,
        mut f: impl FnMut(&mut Access<'_>) -> Result<R>,
    ) -> Result<R> {
        let shared = self.shared().ok_or_else(not_found)?;
        let mut answer = None;
        shared
            .access(self, target, recall, &mut |a| {
                answer = Some(f(a)?);
                Ok(())
            })
            .unwrap_or_else(|| Err(not_found()))?;
        answer.ok_or_else(not_found)
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
        let result = self.access_as(target, Recall::No, Reads::Session, f);
        self.core.events.drain();
        result
    }

    /// Runs `f` on a read-only view of the live session `id`.
    fn read<R>(&self, id: SessionId, f: impl FnMut(&Session) -> Result<R>) -> Result<R> {
        self.read_as(id, Reads::Session, f)
    }

    /// As [`Registry::read`], for a read that goes on to read what `reads` names.
    fn read_as<R>(
        &self,
        id: SessionId,
        reads: Reads,
        mut f: impl FnMut(&Session) -> Result<R>,
    ) -> Result<R> {
        // In memory, straight to the locked session (no `Access` on the request path); a read
        // only compares now with the session's end, so the coarse clock mostly does.
        let now = self.core.clock.moment();
        match self.core.local.map.with(id, now, |slot| {
            reads.prefetch(slot);
            f(&slot.read())
        }) {
            Some(result) => result,
            None => self.shared_access(Target::Id(id), Recall::No, |a| f(&a.session)),
        }
    }

    /// The site's store when it is not this process's memory.
    fn shared(&self) -> Option<Arc<dyn Store>> {
        self.core.shared()
    }

    /// The store that keeps the site's sessions (every one but the storedProcedure and
    /// standalone sessions): the shared one, or this process's memory.
    fn with_site<T>(&self, f: impl FnOnce(&dyn Store) -> T) -> T {
        match self.shared() {
            Some(shared) => f(&*shared),
            None => f(&self.core.local),
        }
    }

    /// Runs `f` on this process's store, then on the shared one.
    fn each_store(&self, mut f: impl FnMut(&dyn Store) -> Result<()>) -> Result<()> {
        f(&self.core.local)?;
        match self.shared() {
            Some(shared) => f(&*shared),
            None => Ok(()),
        }
    }

    /// Asks this process's store, then the shared one, until one has the session.
    fn first_store<T>(&self, mut f: impl FnMut(&dyn Store) -> Option<T>) -> Option<T> {
        if let Some(found) = f(&self.core.local) {
            return Some(found);
        }
        f(&*self.shared()?)
    }

    /// One deadline for every exchange with the site's store while the result lives (for a
    /// call made of several steps, on a store that has deadlines).
    fn scope(&self) -> Option<Box<dyn std::any::Any>> {
        self.with_site(|store| store.scope())
    }

    /// Adds identifier changes told by a store's write to the counter.
    pub(crate) fn counted(&self, identifier_changes: u64) {
        if identifier_changes > 0 {
            self.core
                .counters
                .identifier_changes
                .fetch_add(identifier_changes, Ordering::AcqRel);
        }
    }

    /// The live session with client number `client`, in whichever store has it.
    fn client_session(&self, client: u64) -> Result<Option<Target>> {
        self.first_store(|store| store.client_session(client).transpose())
            .transpose()
    }

    /// Live sessions, in every store.
    pub fn live_sessions(&self) -> Result<u64> {
        let now = self.now();
        let mut live = 0;
        self.each_store(|store| {
            live += store.count(now)?;
            Ok(())
        })?;
        Ok(live)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        *self.sweeper.get_mut() = None;
    }
}

/// The event of a session's end: `closed` with its reason, or `expired` with its reason and
/// what it ended by.
pub(crate) fn end_event(session: &Session, now: Millis, end: End) -> Event {
    match end {
        End::Closed(reason) => {
            Event::new(EventKind::Closed, session, now, Detail::Closed { reason })
        }
        End::Expired(reason) => Event::new(
            EventKind::Expired,
            session,
            now,
            Detail::Expired {
                reason,
                last_activity: session.last_activity,
                idle_timeout: session.idle_timeout,
                lifetime_end: session.lifetime_end.get(),
            },
        ),
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
