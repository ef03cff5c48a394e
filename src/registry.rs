//! The registry: every session of a host, its settings, its roles file and its clock. Plain
//! safe Rust; the C layer owns one global instance, tests make as many as they like.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard, RwLock};
use serde_json::Value;

use crate::clock::{Clock, Millis, iso8601};
use crate::create_options::{CreateOptions, MAX_DETAIL_BYTES};
use crate::error::{Error, ErrorKind, Result};
use crate::grant_request::GrantRequest;
use crate::id::SessionId;
use crate::roles::{Grant, RolesTable};
use crate::session::{Session, SessionState, SessionType};
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
}

impl Core {
    fn sweep(&self) -> Vec<Session> {
        self.map.sweep(self.clock.now())
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
        }
    }

    // ----- settings, roles, clock ---------------------------------------------------------

    /// Applies the keys of a configuration object (see [`Settings::configured`]); all or nothing.
    pub fn configure(&self, text: &str) -> Result<()> {
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
        if let Some(sweeper) = sweeper {
            // The old sweeper, if any, stops here.
            *self.sweeper.lock() = sweeper;
        }
        self.core.clock.set_manual(settings.manual_clock);
        self.live.publish(&settings);
        *current = settings;
        Ok(())
    }

    /// A sweeper thread for `interval_seconds`, or none for 0.
    fn start_sweeper(&self, interval_seconds: u64) -> Result<Option<Sweeper>> {
        if interval_seconds == 0 {
            return Ok(None);
        }
        let core = Arc::clone(&self.core);
        Sweeper::start(Duration::from_secs(interval_seconds), move || {
            drop(core.sweep())
        })
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
        let table = RolesTable::from_json(text)?;
        let _serialised = self.settings.lock();
        self.install_roles(table);
        Ok(())
    }

    /// Publishes a roles file, then re-expands every session's grant under it.
    fn install_roles(&self, table: RolesTable) {
        let table = Arc::new(table);
        *self.roles.write() = Arc::clone(&table);
        // A set_privileges that read the old table has finished by the time its session's lock
        // is ours; one that starts later reads the new table itself.
        self.core.map.for_each_live(self.core.clock.now(), |slot| {
            let mut session = slot.lock();
            let stale = session
                .roles
                .as_ref()
                .is_some_and(|t| !Arc::ptr_eq(t, &table));
            if stale {
                session.expand_under(&table);
            }
        });
    }

    /// Closes every session and puts every setting, the roles file and the clock back to the
    /// defaults.
    pub fn reset(&self) {
        let mut current = self.settings.lock();
        *self.sweeper.lock() = None;
        self.core.map.clear();
        *self.singletons.lock() = [None, None];
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
        self.core.sweep().len() as u64
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
        let mut rows: Vec<(u64, String)> = Vec::new();
        self.core.map.for_each_live(self.now(), |slot| {
            let session = slot.lock();
            let mut info = String::with_capacity(320);
            session.info_json(&mut info);
            rows.push((session.sequence, info));
        });
        rows.sort_unstable_by_key(|&(sequence, _)| sequence);
        let mut out = String::with_capacity(16 + rows.iter().map(|r| r.1.len() + 1).sum::<usize>());
        out.push_str("{\"sessions\":[");
        for (i, (_, info)) in rows.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(info);
        }
        out.push_str("]}");
        out
    }

    // ----- sessions -----------------------------------------------------------------------

    /// Creates a session (`None`: a web guest). A storedProcedure or standalone session that
    /// exists already is returned as it is, whatever the options.
    pub fn create(&self, options: Option<&str>) -> Result<SessionId> {
        let options = match options {
            Some(text) => CreateOptions::parse(text)?,
            None => CreateOptions::default(),
        };
        if !options.kind.is_singleton() {
            return self.insert_new(options);
        }
        let which = usize::from(options.kind == SessionType::Standalone);
        let mut singletons = self.singletons.lock();
        if let Some(id) = singletons[which]
            && self.core.map.with(id, self.now(), |_| ()).is_some()
        {
            return Ok(id);
        }
        let id = self.insert_new(options)?;
        singletons[which] = Some(id);
        Ok(id)
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
        Ok(self.core.map.insert_reserved(self.new_session(options)))
    }

    fn new_session(&self, options: CreateOptions) -> Session {
        let now = self.now();
        let kind = options.kind;
        let mut details = options.details;
        if kind.is_web() && !options.host_type_given {
            details.host_type = "browser".to_owned();
        }
        if kind == SessionType::Remote && !options.persistent_id_given {
            details.persistent_id = SessionId::random().to_string();
        }
        if kind == SessionType::StoredProcedure && !options.machine_name_given {
            details.machine_name = crate::host_name::host_name();
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
            grant: Grant::default(),
            roles: None,
            privileges: Default::default(),
            storage: Storage::default(),
            storage_version: 0,
        }
    }

    /// Closes a session; `NotFound` if it is not live.
    pub fn close(&self, id: SessionId) -> Result<()> {
        self.core
            .map
            .remove(id, self.now())
            .map(drop)
            .ok_or_else(|| not_found(id))?;
        let mut singletons = self.singletons.lock();
        for slot in singletons.iter_mut() {
            if *slot == Some(id) {
                *slot = None;
            }
        }
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
        self.access(id, |a| {
            a.session.state = state;
            a.activity();
            Ok(())
        })
    }

    pub fn session_type(&self, id: SessionId) -> Result<SessionType> {
        self.read(id, |s| Ok(s.kind))
    }

    // ----- identifier ---------------------------------------------------------------------

    /// FileMaker's Set Session Identifier; "" goes back to the user name.
    pub fn set_identifier(&self, id: SessionId, identifier: &str) -> Result<()> {
        let max = self.live.max_identifier_bytes();
        self.access(id, |a| {
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
                a.session.identifier.clear();
                a.session.identifier.push_str(identifier);
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
        let request = GrantRequest::parse(text)?;
        if let Some(name) = &request.user_name
            && name.len() > MAX_DETAIL_BYTES
        {
            return Err(Error::limit(format!(
                "\"userName\" is {} bytes, over the limit of {MAX_DETAIL_BYTES}",
                name.len()
            )));
        }
        self.access(id, |a| {
            require_web(&a.session, "set_privileges")?;
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
            a.session.grant = grant;
            a.session.expand_under(&table);
            if let Some(name) = request.user_name {
                a.session.details.user_name = name;
            }
            a.activity();
            Ok(ignored)
        })
    }

    /// Removes every privilege: the session becomes a guest.
    pub fn clear_privileges(&self, id: SessionId) -> Result<()> {
        self.access(id, |a| {
            require_web(&a.session, "clear_privileges")?;
            a.session.grant = Grant::default();
            a.session.roles = None;
            a.session.privileges = Default::default();
            a.activity();
            Ok(())
        })
    }

    /// Allocates nothing.
    pub fn has_privilege(&self, id: SessionId, name: &str) -> Result<bool> {
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
        })
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
        serde_json::from_str(text)
            .map_err(|e| Error::json(format!("the value is not valid JSON: {e}")))
    }

    /// Checks a whole new storage object: valid JSON, an object, within the size limit.
    pub fn parse_storage_root(&self, text: &str) -> Result<Value> {
        let value = self.parse_storage_value(text)?;
        Storage::default().set("", value.clone(), self.live.max_storage_bytes())?;
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
                UpdateOutcome::Replace(value) => value,
            };
            let committed = self.access(id, |a| {
                if a.session.storage_version != version {
                    return Ok(false);
                }
                a.session.storage.set("", value, max)?;
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
