//! The registry: every session of a host, its settings, its roles file and its clock. Plain
//! safe Rust; the C layer owns one global instance, tests make as many as they like.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use std::fmt::Write;

use parking_lot::{Mutex, MutexGuard, RwLock};
use serde_json::Value;

use crate::access_log::AccessLog;
use crate::client::{AttachedFile, FileRequest};
use crate::clock::{Clock, Millis, iso8601};
use crate::create_options::{CreateOptions, check_detail};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{Detail, Dispatcher, Event, EventHandler, EventKind};
use crate::grant_request::GrantRequest;
use crate::id::{SessionId, truncate_for_message};
use crate::names::Query;
use crate::roles::{Grant, MAX_NAME_BYTES, RolesTable};
use crate::session::{HostType, Session, SessionState, SessionType};
use crate::session_map::{SessionMap, Slot};
use crate::settings::{LiveSettings, Settings};
use crate::storage::Storage;
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
struct Core {
    map: SessionMap,
    clock: Clock,
    events: Dispatcher,
    counters: Counters,
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
    /// Removes the expired sessions, queueing their events (the caller drains them once it
    /// holds no lock); returns how many.
    fn sweep(&self) -> u64 {
        let now = self.clock.now();
        let mut removed = self.map.sweep(now);
        self.expired(removed.iter_mut().map(|slot| &*slot.session_mut()), now)
    }

    /// Counts (and tells listeners of) sessions removed because they had expired.
    fn expired<'a>(&self, sessions: impl Iterator<Item = &'a Session>, now: Millis) -> u64 {
        let mut count = 0;
        let listening = self.events.listening();
        for session in sessions {
            count += 1;
            if listening {
                let detail = Detail::Expired {
                    last_activity: session.last_activity,
                    idle_timeout: session.idle_timeout,
                };
                self.events
                    .push(Event::new(EventKind::Expired, session, now, detail));
            }
        }
        self.counters.expired.fetch_add(count, Ordering::AcqRel);
        count
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
}

impl Default for Registry {
    fn default() -> Registry {
        Registry::new()
    }
}

thread_local! {
    /// (registry, session) pairs whose storage update callback runs on this thread.
    static UPDATING: RefCell<Vec<(usize, SessionId)>> = const { RefCell::new(Vec::new()) };
}

/// A session locked for one operation, and the time the operation sees.
struct Access<'a> {
    slot: &'a Slot,
    session: MutexGuard<'a, Session>,
    now: Millis,
}

impl Access<'_> {
    /// Records activity: the session's last activity is now, its expiry moves accordingly.
    fn activity(&mut self) {
        self.session.last_activity = self.now;
        self.slot.publish_expiry(&self.session);
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
        }
    }

    // ----- settings, roles, clock ---------------------------------------------------------

    /// Applies the keys of a configuration object (see [`Settings::configured`]); all or nothing.
    pub fn configure(&self, text: &str) -> Result<()> {
        {
            let mut current = self.settings.lock();
            let configuration = current.configured(text)?;
            let settings = configuration.settings;
            // The one step that can fail comes first, so that a failure changes nothing.
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

    /// A sweeper thread for `interval_seconds`, not yet running, or none for 0.
    fn start_sweeper(&self, interval_seconds: u64) -> Result<Option<Sweeper>> {
        if interval_seconds == 0 {
            return Ok(None);
        }
        let (core, theirs) = (Arc::clone(&self.core), Arc::clone(&self.core));
        Sweeper::start(
            Duration::from_secs(interval_seconds),
            move || {
                core.sweep();
            },
            move || theirs.events.drain(),
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
        self.core.map.for_each_live(now, |slot| {
            let mut session = slot.lock();
            let stale = session
                .roles
                .as_ref()
                .is_some_and(|t| !Arc::ptr_eq(t, &table));
            if stale {
                let old = names(&session);
                session.expand_under(&table);
                let new = names(&session);
                if old != new {
                    self.core
                        .emit(EventKind::PrivilegesChanged, &session, now, || {
                            Detail::Privileges { old, new }
                        });
                }
            }
        });
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
        self.core.counters.reset();
        *self.singletons.lock() = [None, None];
        self.file_ids.lock().clear();
        *self.roles.write() = Arc::new(RolesTable::default());
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

    /// Removes the expired sessions; returns how many.
    pub fn sweep(&self) -> u64 {
        let count = self.core.sweep();
        self.core.events.drain();
        count
    }

    /// Live sessions (expired ones, swept or not, are not counted).
    pub fn session_count(&self) -> u64 {
        let mut count = 0;
        self.core.map.for_each_live(self.now(), |_| count += 1);
        count
    }

    /// Sessions held in memory: the live ones and the expired ones not yet swept.
    pub fn held_sessions(&self) -> u64 {
        self.core.map.entries()
    }

    /// `{"sessions": [info, …]}`, oldest first.
    pub fn sessions_list(&self) -> String {
        self.listing("{\"sessions\":[", "]}", |session, _, out| {
            session.info_json(out);
            true
        })
    }

    /// Each live session's row (those `row` writes and returns true for), oldest first,
    /// comma-separated between `open` and `close`.
    fn listing(
        &self,
        open: &str,
        close: &str,
        mut row: impl FnMut(&Session, Millis, &mut String) -> bool,
    ) -> String {
        let now = self.now();
        let mut rows: Vec<(u64, String)> = Vec::new();
        self.core.map.for_each_live(now, |slot| {
            let session = slot.lock();
            let mut text = String::with_capacity(400);
            if row(&session, now, &mut text) {
                rows.push((session.sequence, text));
            }
        });
        rows.sort_unstable_by_key(|&(sequence, _)| sequence);
        let mut out = String::with_capacity(
            open.len() + close.len() + rows.iter().map(|r| r.1.len() + 1).sum::<usize>(),
        );
        out.push_str(open);
        for (i, (_, text)) in rows.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(text);
        }
        out.push_str(close);
        out
    }

    // ----- sessions -----------------------------------------------------------------------

    /// Creates a session (`None`: a web guest). A storedProcedure or standalone session that
    /// exists already is returned as it is, whatever the options.
    pub fn create(&self, options: Option<&str>) -> Result<SessionId> {
        let options = match options {
            Some(text) => CreateOptions::parse(text, self.live.max_json_depth())?,
            None => CreateOptions::default(),
        };
        let created = if options.kind.is_singleton() {
            let which = usize::from(options.kind == SessionType::Standalone);
            let mut singletons = self.singletons.lock();
            match singletons[which] {
                Some(id) if self.core.map.with(id, self.now(), |_| ()).is_some() => Ok(id),
                _ => self
                    .insert_new(options)
                    .inspect(|id| singletons[which] = Some(*id)),
            }
        } else {
            self.insert_new(options)
        };
        self.core.events.drain();
        created
    }

    fn insert_new(&self, options: CreateOptions) -> Result<SessionId> {
        let max = self.live.max_sessions();
        if !self.core.map.reserve(max) {
            // Expired sessions still hold room until swept.
            self.core.sweep();
            if !self.core.map.reserve(max) {
                return Err(Error::limit(format!(
                    "{max} sessions are live: maxSessions is reached"
                )));
            }
        }
        let session = self.new_session(options);
        self.core.counters.created.fetch_add(1, Ordering::AcqRel);
        Ok(self.core.map.insert_reserved(session, |session| {
            self.core
                .emit(EventKind::Created, session, session.created, || {
                    Detail::Created {
                        session_type: session.kind.name(),
                        user_name: session.details.user_name.clone(),
                        origin: session.client_origin(),
                        application: session.client_application(),
                    }
                })
        }))
    }

    fn new_session(&self, options: CreateOptions) -> Session {
        let now = self.now();
        let kind = options.kind;
        let mut details = options.details;
        if kind.is_web() && !options.host_type_given {
            details.host_type = HostType::Browser;
        }
        if kind == SessionType::Remote && !options.persistent_id_given {
            details.persistent_id = SessionId::random().to_string();
        }
        if kind == SessionType::StoredProcedure && !options.machine_name_given {
            details.machine_name = crate::os::host_name();
        }
        let idle_timeout = match options.idle_timeout {
            Some(minutes) => self.live.idle_timeout(minutes),
            None => self.live.default_idle_timeout(),
        };
        Session {
            id: SessionId::random(),
            kind,
            state: SessionState::Active,
            details,
            identifier: String::new(),
            created: now,
            sequence: self.next_sequence.fetch_add(1, Ordering::Relaxed),
            idle_timeout,
            last_activity: now,
            grant: None,
            roles: None,
            privileges: Default::default(),
            storage: Storage::default(),
            storage_version: 0,
            app: options.app,
            files: Vec::new(),
        }
    }

    /// Closes a session; `NotFound` if it is not live (an expired one is removed all the same,
    /// and counted as expired).
    pub fn close(&self, id: SessionId) -> Result<()> {
        let now = self.now();
        let (session, live) = self.core.map.remove(id, now).ok_or_else(|| not_found(id))?;
        if !live {
            self.core.expired(std::iter::once(&session), now);
            self.core.events.drain();
            return Err(not_found(id));
        }
        self.core.counters.closed.fetch_add(1, Ordering::AcqRel);
        self.core
            .emit(EventKind::Closed, &session, now, || Detail::Closed);
        {
            let mut singletons = self.singletons.lock();
            for slot in singletons.iter_mut() {
                if *slot == Some(id) {
                    *slot = None;
                }
            }
        }
        self.core.events.drain();
        Ok(())
    }

    /// Runs `f` on the live session `id`, locked.
    fn access<R>(&self, id: SessionId, f: impl FnOnce(&mut Access<'_>) -> Result<R>) -> Result<R> {
        let now = self.now();
        self.core
            .map
            .with(id, now, |slot| {
                let mut access = Access {
                    slot,
                    session: slot.lock(),
                    now,
                };
                f(&mut access)
            })
            .unwrap_or_else(|| Err(not_found(id)))
    }

    /// As [`Registry::access`], for a change that may make events: delivers them afterwards,
    /// with no lock held.
    fn change<R>(&self, id: SessionId, f: impl FnOnce(&mut Access<'_>) -> Result<R>) -> Result<R> {
        let result = self.access(id, f);
        self.core.events.drain();
        result
    }

    /// Counts and tells of a change of the identifier administrators see.
    fn identifier_changed(&self, a: &Access<'_>, old: String) {
        self.core
            .counters
            .identifier_changes
            .fetch_add(1, Ordering::AcqRel);
        self.core
            .emit(EventKind::IdentifierChanged, &a.session, a.now, || {
                Detail::Changed {
                    old,
                    new: a.session.effective_identifier().to_owned(),
                }
            });
    }

    /// Tells of a change of the expanded privileges, if they changed (`old` is `None` when
    /// nobody listens).
    fn privileges_changed(&self, a: &Access<'_>, old: Option<Vec<String>>) {
        if let Some(old) = old {
            let new = names(&a.session);
            if old != new {
                self.core
                    .emit(EventKind::PrivilegesChanged, &a.session, a.now, || {
                        Detail::Privileges { old, new }
                    });
            }
        }
    }

    /// Runs `f` on a read-only view of the live session `id`.
    fn read<R>(&self, id: SessionId, f: impl FnOnce(&Session) -> Result<R>) -> Result<R> {
        self.access(id, |a| f(&a.session))
    }

    /// Marks activity: the idle timeout starts again.
    pub fn touch(&self, id: SessionId) -> Result<()> {
        self.access(id, |a| {
            a.activity();
            Ok(())
        })
    }

    /// 4D's `.info` object.
    pub fn info(&self, id: SessionId) -> Result<String> {
        self.read(id, |s| {
            let mut out = String::with_capacity(320);
            s.info_json(&mut out);
            Ok(out)
        })
    }

    pub fn set_state(&self, id: SessionId, state: &str) -> Result<()> {
        let state = SessionState::parse(state)?;
        self.change(id, |a| {
            let old = a.session.state;
            a.session.state = state;
            a.activity();
            if old != state {
                self.core
                    .emit(EventKind::StateChanged, &a.session, a.now, || {
                        Detail::Changed {
                            old: old.name().to_owned(),
                            new: state.name().to_owned(),
                        }
                    });
            }
            Ok(())
        })
    }

    // ----- identifier ---------------------------------------------------------------------

    /// FileMaker's Set Session Identifier; "" goes back to the user name.
    pub fn set_identifier(&self, id: SessionId, identifier: &str) -> Result<()> {
        let max = self.live.max_identifier_bytes();
        self.change(id, |a| {
            if a.session.kind == SessionType::Standalone {
                return Err(Error::not_supported(
                    "a standalone session (a local file) has no session identifier: set does nothing",
                ));
            }
            if identifier.len() > max {
                return Err(Error::limit(format!(
                    "the identifier is {} bytes, over maxIdentifierBytes ({max})",
                    identifier.len()
                )));
            }
            if a.session.identifier != identifier {
                let old = a.session.effective_identifier().to_owned();
                a.session.identifier.clear();
                a.session.identifier.push_str(identifier);
                self.identifier_changed(a, old);
            }
            a.activity();
            Ok(())
        })
    }

    /// The identifier as set; "" until `set_identifier` has run.
    pub fn identifier(&self, id: SessionId) -> Result<String> {
        self.read(id, |s| Ok(s.identifier.clone()))
    }

    /// The identifier administrators see: the one set, or else the user name.
    pub fn effective_identifier(&self, id: SessionId) -> Result<String> {
        self.read(id, |s| Ok(s.effective_identifier().to_owned()))
    }

    pub fn user_name(&self, id: SessionId) -> Result<String> {
        self.read(id, |s| Ok(s.details.user_name.clone()))
    }

    // ----- privileges ---------------------------------------------------------------------

    /// Replaces the session's grant; returns the names that are not declared (and so ignored).
    pub fn set_privileges(&self, id: SessionId, text: &str) -> Result<Vec<String>> {
        let request = GrantRequest::parse(text, self.live.max_json_depth())?;
        if let Some(name) = request
            .privileges
            .iter()
            .chain(&request.roles)
            .find(|name| name.len() > MAX_NAME_BYTES)
        {
            return Err(Error::limit(format!(
                "a privilege or role name is {} bytes, over the limit of {MAX_NAME_BYTES}",
                name.len()
            )));
        }
        let named = request.privileges.len() + request.roles.len();
        let max = self.live.max_privileges_granted();
        if named > max {
            return Err(Error::limit(format!(
                "the request names {named} privileges and roles, over maxPrivilegesGranted ({max})"
            )));
        }
        if let Some(name) = &request.user_name {
            check_detail("userName", name)?;
        }
        self.change(id, |a| {
            require_web(&a.session, "set_privileges")?;
            let old_names = self.core.events.listening().then(|| names(&a.session));
            // Read under the session's lock: see install_roles.
            let table = Arc::clone(&self.roles.read());
            let mut ignored = Vec::new();
            let mut grant = Grant::default();
            for name in request.privileges {
                if table.is_privilege(&name) {
                    grant.privileges.push(name);
                } else {
                    ignored.push(name);
                }
            }
            for name in request.roles {
                if table.is_role(&name) {
                    grant.roles.push(name);
                } else {
                    ignored.push(name);
                }
            }
            a.session.grant = (!grant.is_empty()).then(|| Box::new(grant));
            a.session.expand_under(&table);
            if let Some(name) = request.user_name
                && name != a.session.details.user_name
            {
                let old = a.session.effective_identifier().to_owned();
                a.session.details.user_name = name;
                self.identifier_changed(a, old);
            }
            a.activity();
            self.privileges_changed(a, old_names);
            Ok(ignored)
        })
    }

    /// Removes every privilege: the session becomes a guest.
    pub fn clear_privileges(&self, id: SessionId) -> Result<()> {
        self.change(id, |a| {
            require_web(&a.session, "clear_privileges")?;
            let old_names = self.core.events.listening().then(|| names(&a.session));
            a.session.grant = None;
            a.session.roles = None;
            a.session.privileges = Default::default();
            a.activity();
            self.privileges_changed(a, old_names);
            Ok(())
        })
    }

    /// Allocates nothing.
    pub fn has_privilege(&self, id: SessionId, name: &str) -> Result<bool> {
        self.read(id, |s| Ok(s.has_privilege(Query::Text(name))))
    }

    /// As [`Registry::has_privilege`], with the name as bytes from outside: ASCII is used as it
    /// is, anything else must be valid UTF-8 (`InvalidArgument`).
    pub fn has_privilege_bytes(&self, id: SessionId, name: &[u8]) -> Result<bool> {
        let name = Query::from_bytes(name).map_err(|e| {
            Error::invalid(format!(
                "the privilege name is not valid UTF-8 (at byte {})",
                e.valid_up_to()
            ))
        })?;
        self.read(id, |s| Ok(s.has_privilege(name)))
    }

    pub fn privileges(&self, id: SessionId) -> Result<String> {
        self.read(id, |s| Ok(s.privileges_json()))
    }

    pub fn is_guest(&self, id: SessionId) -> Result<bool> {
        self.read(id, |s| Ok(s.is_guest()))
    }

    // ----- idle timeout and expiration ----------------------------------------------------

    /// Minutes; a value under the minimum is raised to it.
    pub fn set_idle_timeout(&self, id: SessionId, minutes: i32) -> Result<()> {
        if minutes < 0 {
            return Err(Error::invalid(format!(
                "an idle timeout of {minutes} minutes is out of range (0 to {})",
                i32::MAX
            )));
        }
        let minutes = self.live.idle_timeout(minutes);
        self.access(id, |a| {
            require_web(&a.session, "idle timeout")?;
            a.session.idle_timeout = minutes;
            a.activity();
            Ok(())
        })?;
        // A shorter timeout may bring the expiry before where the sweep's index has it.
        self.core.map.refile_if_earlier(id);
        Ok(())
    }

    pub fn idle_timeout(&self, id: SessionId) -> Result<i32> {
        self.read(id, |s| {
            require_web(s, "idle timeout")?;
            Ok(s.idle_timeout)
        })
    }

    pub fn expiration_date(&self, id: SessionId) -> Result<String> {
        self.read(id, |s| {
            require_web(s, "expiration date")?;
            Ok(iso8601(s.expires_at().unwrap_or_default()))
        })
    }

    // ----- files, listings, events, statistics ---------------------------------------------

    /// A client opens a file (a hosted app): `{"filename", "accountName", "privsetName"}`.
    /// The same file name has the same ID for every client.
    pub fn attach_file(&self, id: SessionId, file_json: &str) -> Result<()> {
        let request = FileRequest::parse(file_json, self.live.max_json_depth())?;
        let max_files = self.live.max_attached_files();
        self.change(id, |a| {
            if a.session.kind == SessionType::Standalone {
                return Err(Error::not_supported(
                    "a standalone session is a local file: it attaches no hosted file",
                ));
            }
            if a.session
                .files
                .iter()
                .any(|f| f.filename == request.filename)
            {
                return Err(Error::new(
                    ErrorKind::BadState,
                    format!(
                        "\"{}\" is already attached to this session",
                        truncate_for_message(&request.filename)
                    ),
                ));
            }
            if a.session.files.len() >= max_files {
                return Err(Error::limit(format!(
                    "the session has {} files attached: maxAttachedFiles ({max_files}) is reached",
                    a.session.files.len()
                )));
            }
            let file_id = self.file_id(&request.filename)?;
            let file = AttachedFile {
                file_id,
                filename: request.filename,
                account_name: request
                    .account_name
                    .unwrap_or_else(|| a.session.details.user_name.clone()),
                privset_name: request.privset_name,
            };
            self.core
                .emit(EventKind::FileAttached, &a.session, a.now, || {
                    file_detail(&file)
                });
            a.session.files.push(file);
            a.activity();
            Ok(())
        })
    }

    /// The ID of a file name, given on first use; `LimitExceeded` if it would be a new name
    /// beyond `maxFileNames`.
    fn file_id(&self, filename: &str) -> Result<u32> {
        let mut ids = self.file_ids.lock();
        if let Some(id) = ids.get(filename) {
            return Ok(*id);
        }
        let max = self.live.max_file_names();
        if ids.len() >= max {
            return Err(Error::limit(format!(
                "{} file names have IDs: maxFileNames ({max}) is reached (they are kept until reset)",
                ids.len()
            )));
        }
        let next = ids.len() as u32 + 1;
        ids.insert(filename.to_owned(), next);
        Ok(next)
    }

    /// A client closes a file; `NoValue` if it has no file of that name open.
    pub fn detach_file(&self, id: SessionId, filename: &str) -> Result<()> {
        self.change(id, |a| {
            let Some(at) = a.session.files.iter().position(|f| f.filename == filename) else {
                return Err(Error::new(
                    ErrorKind::NoValue,
                    format!(
                        "no file \"{}\" is attached to this session",
                        truncate_for_message(filename)
                    ),
                ));
            };
            let file = a.session.files.remove(at);
            self.core
                .emit(EventKind::FileDetached, &a.session, a.now, || {
                    file_detail(&file)
                });
            a.activity();
            Ok(())
        })
    }

    /// FileMaker's Admin API *List Clients*: every live session but standalone ones (local
    /// files are nobody's client), oldest first.
    pub fn clients_list(&self) -> String {
        self.listing(
            "{\"response\":{\"clients\":[",
            "]},\"messages\":[{\"code\":\"0\"}]}",
            |session, now, out| {
                let client = session.kind != SessionType::Standalone;
                if client {
                    session.client_json(now, out);
                }
                client
            },
        )
    }

    /// The host's event handler (`None` removes it). It gets each event's JSON, once, in order
    /// for any one session, with no registry lock held; it may call back into the registry.
    pub fn set_event_handler(&self, handler: Option<EventHandler>) {
        self.core.events.set_handler(handler);
    }

    /// Live sessions by type, and counters since the start (or the last reset).
    pub fn stats(&self) -> String {
        let mut live = [0u64; 5];
        let mut expired_unswept = 0;
        self.core.map.for_each(self.now(), |slot, is_live| {
            if is_live {
                let kind = slot.lock().kind;
                live[SessionType::ALL
                    .iter()
                    .position(|k| *k == kind)
                    .unwrap_or(0)] += 1;
            } else {
                expired_unswept += 1;
            }
        });
        let c = &self.core.counters;
        let load = |counter: &AtomicU64| counter.load(Ordering::Acquire);
        let mut out = String::from("{\"live\":{");
        for (i, kind) in SessionType::ALL.iter().enumerate() {
            let _ = write!(out, "\"{}\":{},", kind.name(), live[i]);
        }
        let _ = write!(
            out,
            "\"total\":{}}},\"created\":{},\"closed\":{},\"expired\":{},\"identifierChanges\":{},\
             \"accessLogWriteFailures\":{},\"eventsDelivered\":{},\"accessLogError\":",
            live.iter().sum::<u64>(),
            load(&c.created),
            load(&c.closed),
            load(&c.expired) + expired_unswept,
            load(&c.identifier_changes),
            load(&self.core.events.log_failures),
            load(&self.core.events.delivered),
        );
        match self.core.events.log_error() {
            Some(error) => crate::json_text::push_string(&mut out, &error),
            None => out.push_str("null"),
        }
        out.push('}');
        out
    }

    // ----- storage ------------------------------------------------------------------------

    /// The JSON text at `pointer` (`""`: the whole object).
    pub fn storage_get(&self, id: SessionId, pointer: &str) -> Result<String> {
        self.refuse_reentry(id)?;
        self.read(id, |s| s.storage.get(pointer))
    }

    pub fn storage_set(&self, id: SessionId, pointer: &str, value_json: &str) -> Result<()> {
        self.refuse_reentry(id)?;
        let value = self.parse_storage_value(value_json)?;
        let max = self.live.max_storage_bytes();
        self.storage_write(id, |storage| storage.set(pointer, value, max))
    }

    pub fn storage_remove(&self, id: SessionId, pointer: &str) -> Result<()> {
        self.refuse_reentry(id)?;
        self.storage_write(id, |storage| storage.remove(pointer))
    }

    pub fn storage_merge(&self, id: SessionId, patch_json: &str) -> Result<()> {
        self.refuse_reentry(id)?;
        let patch = self.parse_storage_value(patch_json)?;
        let max = self.live.max_storage_bytes();
        self.storage_write(id, |storage| storage.merge(&patch, max))
    }

    /// Parses a value for the storage, refusing text larger than the storage may hold.
    pub fn parse_storage_value(&self, text: &str) -> Result<Value> {
        let max = self.live.max_storage_bytes();
        if text.len() > max {
            return Err(Error::limit(format!(
                "the value is {} bytes, over maxStorageBytes ({max})",
                text.len()
            )));
        }
        crate::json_input::parse(text, self.live.max_json_depth(), "the value")
    }

    /// Checks a whole new storage object: valid JSON, an object, within the size limit.
    pub fn parse_storage_root(&self, text: &str) -> Result<Value> {
        let value = self.parse_storage_value(text)?;
        crate::storage::check_root(&value, self.live.max_storage_bytes())?;
        Ok(value)
    }

    fn storage_write(
        &self,
        id: SessionId,
        write: impl FnOnce(&mut Storage) -> Result<()>,
    ) -> Result<()> {
        self.access(id, |a| {
            write(&mut a.session.storage)?;
            a.session.storage_version += 1;
            a.activity();
            Ok(())
        })
    }

    /// 4D's `Use (Session.storage) … End use`: `callback` sees the storage as JSON text and
    /// decides. No lock is held while it runs; if another write lands meanwhile, it is called
    /// again with the new value, so that no update is lost. A storage call on this session from
    /// inside it is refused with `Reentrant`.
    pub fn storage_update(
        &self,
        id: SessionId,
        mut callback: impl FnMut(&str) -> UpdateOutcome,
    ) -> Result<()> {
        self.refuse_reentry(id)?;
        let max = self.live.max_storage_bytes();
        loop {
            let (current, version) =
                self.read(id, |s| Ok((s.storage.to_json(), s.storage_version)))?;
            let outcome = {
                let _inside = InsideUpdate::enter(self.identity(), id);
                callback(&current)
            };
            let value = match outcome {
                UpdateOutcome::Keep => return self.read(id, |_| Ok(())),
                UpdateOutcome::Abort => {
                    return Err(Error::new(
                        ErrorKind::Aborted,
                        "the update callback aborted: nothing changed",
                    ));
                }
                // Written out before the lock is taken.
                UpdateOutcome::Replace(value) => crate::storage::from_root(&value, max)?,
            };
            let committed = self.access(id, |a| {
                if a.session.storage_version != version {
                    return Ok(false);
                }
                a.session.storage = value;
                a.session.storage_version += 1;
                a.activity();
                Ok(true)
            })?;
            if committed {
                return Ok(());
            }
        }
    }

    fn identity(&self) -> usize {
        Arc::as_ptr(&self.core) as usize
    }

    fn refuse_reentry(&self, id: SessionId) -> Result<()> {
        let key = (self.identity(), id);
        if UPDATING.with(|u| u.borrow().contains(&key)) {
            return Err(Error::new(
                ErrorKind::Reentrant,
                format!(
                    "session {id}: a storage call from inside its own update callback is refused"
                ),
            ));
        }
        Ok(())
    }
}

/// Marks this thread as inside the update callback of one session, until dropped.
struct InsideUpdate((usize, SessionId));

impl InsideUpdate {
    fn enter(registry: usize, id: SessionId) -> InsideUpdate {
        UPDATING.with(|u| u.borrow_mut().push((registry, id)));
        InsideUpdate((registry, id))
    }
}

impl Drop for InsideUpdate {
    fn drop(&mut self) {
        UPDATING.with(|u| {
            let mut u = u.borrow_mut();
            if let Some(at) = u.iter().rposition(|k| *k == self.0) {
                u.remove(at);
            }
        });
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        *self.sweeper.get_mut() = None;
    }
}

fn file_detail(file: &AttachedFile) -> Detail {
    Detail::File {
        filename: file.filename.clone(),
        account_name: file.account_name.clone(),
        privset_name: file.privset_name.clone(),
    }
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

pub(crate) fn not_found(id: SessionId) -> Error {
    Error::new(ErrorKind::NotFound, format!("no live session {id}"))
}
