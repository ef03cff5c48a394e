//! Sessions coming and going: creation, closing, activity, idle timeouts and expiry, sweeps.

use std::sync::atomic::Ordering;

use super::Target;
use super::{Reads, Registry, not_found, require_web};
use crate::clock::{MAX_MILLIS, iso8601, parse_iso8601};
use crate::create_options::CreateOptions;
use crate::error::{Error, ErrorKind, Result};
use crate::events::{CloseReason, Detail, EventKind};
use crate::id::SessionId;
use crate::session::{Extras, HostType, Session, SessionState, SessionType};
use crate::storage::Storage;
use crate::store::site::Store;

impl Registry {
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
            // They describe this server: kept in this process's store, whatever the site's, with
            // a client number of the site's (administrators name clients by it on any host).
            match singletons[which] {
                Some(id) if self.core.local.map.with(id, self.now(), |_| ()).is_some() => Ok(id),
                _ => self
                    .with_site(|site| site.new_client_number())
                    .and_then(|number| {
                        let mut session = self.new_session(options);
                        if let Some(number) = number {
                            session.client_id = number;
                        }
                        self.core
                            .local
                            .insert(self, session)
                            .inspect(|id| singletons[which] = Some(*id))
                    }),
            }
        } else {
            let session = self.new_session(options);
            self.with_site(|store| store.insert(self, session))
        };
        self.core.events.drain();
        created
    }

    fn new_session(&self, options: CreateOptions) -> Session {
        let now = self.now();
        let kind = options.kind;
        let mut details = options.details;
        if kind.is_web() && !options.host_type_given {
            details.host_type = HostType::Browser;
        }
        let persistent_id = match options.persistent_id {
            None if kind == SessionType::Remote => SessionId::random().to_string().into(),
            given => given.unwrap_or_default(),
        };
        if kind == SessionType::StoredProcedure && !options.machine_name_given {
            details.machine_name = crate::os::host_name().into();
        }
        let idle_timeout = match options.idle_timeout {
            Some(minutes) => self.live.idle_timeout(minutes),
            None => self.live.default_idle_timeout(),
        };
        let lifetime = options
            .max_lifetime
            .unwrap_or_else(|| self.live.max_lifetime());
        let lifetime_end = (kind.is_web() && lifetime > 0).then(|| {
            now.saturating_add(i64::from(lifetime) * 60_000)
                .min(MAX_MILLIS)
        });
        let mut session = Session {
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
            client_id: crate::client_index::next_client_id(),
            lifetime_end: lifetime_end.into(),
            extras: options.app.map(|app| {
                Box::new(Extras {
                    app: Some(app),
                    ..Extras::default()
                })
            }),
        };
        session.set_persistent_id(persistent_id);
        session
    }

    /// Closes a session; `NotFound` if it is not live (an expired one is removed all the same,
    /// and counted as expired).
    pub fn close(&self, id: SessionId) -> Result<()> {
        self.end(id, CloseReason::Host)
    }

    /// Takes a session out of the registry, closed for `reason`; `NotFound` if it is not live
    /// (one that lapsed is removed all the same, and accounted for as it ended).
    pub(super) fn end(&self, id: SessionId, reason: CloseReason) -> Result<()> {
        self.end_at(Target::Id(id), reason)
    }

    /// As [`Registry::end`], for the session `target` names.
    pub(super) fn end_at(&self, target: Target, reason: CloseReason) -> Result<()> {
        let ended = self
            .first_store(|store| store.end(self, target, reason))
            .unwrap_or_else(|| Err(not_found()));
        if ended.is_ok() {
            let mut singletons = self.singletons.lock();
            for slot in singletons.iter_mut() {
                if slot.is_some_and(|id| Target::Id(id) == target) {
                    *slot = None;
                }
            }
        }
        self.core.events.drain();
        ended
    }

    /// Marks activity: the idle timeout starts again.
    pub fn touch(&self, id: SessionId) -> Result<()> {
        match self.read_unless_activity_due(id, Reads::Session, |_, _| ()) {
            Ok(()) => Ok(()),
            Err(unread) => self.access_unread(id, unread, |a| {
                a.activity();
                Ok(())
            }),
        }
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
            if old == SessionState::Disconnecting {
                return Err(Error::new(
                    ErrorKind::BadState,
                    "the session is being disconnected: its state stays \"disconnecting\"",
                ));
            }
            a.session.state = state;
            a.activity();
            if old != state {
                self.core
                    .emit(EventKind::StateChanged, &a.session, a.now(), || {
                        Detail::Changed {
                            old: old.name().to_owned(),
                            new: state.name().to_owned(),
                        }
                    });
            }
            Ok(())
        })
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
        self.core.local.map.refile_if_earlier(id, self.now());
        Ok(())
    }

    pub fn idle_timeout(&self, id: SessionId) -> Result<i32> {
        self.read(id, |s| {
            require_web(s, "idle timeout")?;
            Ok(s.idle_timeout)
        })
    }

    /// When the session will expire if left idle: the earlier of its idle expiry and its
    /// absolute end (and of a disconnection under way).
    pub fn expiration_date(&self, id: SessionId) -> Result<String> {
        self.read(id, |s| {
            require_web(s, "expiration date")?;
            Ok(iso8601(s.expires_at().unwrap_or_default()))
        })
    }

    /// The session's absolute end (`maxLifetime`, or as set); `NoValue` when it has none.
    pub fn lifetime_end(&self, id: SessionId) -> Result<String> {
        self.read(id, |s| {
            require_web(s, "lifetime")?;
            s.lifetime_end
                .get()
                .map(iso8601)
                .ok_or_else(|| Error::new(ErrorKind::NoValue, "the session has no absolute end"))
        })
    }

    /// Fixes (an RFC 3339 date, kept to the millisecond) or clears (`None`) the session's
    /// absolute end, whatever `maxLifetime` gave it: activity never moves it, nor does
    /// rotation. A date already past ends the session at once. Counts as activity.
    pub fn set_lifetime_end(&self, id: SessionId, end: Option<&str>) -> Result<()> {
        let end = end.map(parse_iso8601).transpose()?;
        self.change(id, |a| {
            require_web(&a.session, "lifetime")?;
            a.session.lifetime_end = end.into();
            a.activity();
            Ok(())
        })?;
        // An earlier end may come before where the sweep's index has the session.
        self.core.local.map.refile_if_earlier(id, self.now());
        Ok(())
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
        self.core
            .local
            .map
            .for_each_live(self.now(), |_| count += 1);
        count
    }

    /// Sessions held in memory: the live ones and the expired ones not yet swept.
    pub fn held_sessions(&self) -> u64 {
        self.core.local.map.entries()
    }

    /// Entries of the client-number index: one per session held (for tests and diagnostics
    /// that the bookkeeping keeps nothing of a session gone).
    pub fn held_clients(&self) -> u64 {
        self.core.local.map.clients_held() as u64
    }

    /// Background sweeper threads of this registry still alive: the running one, and stopped
    /// ones still finishing a delivery (for tests that must know when no sweeper can deliver
    /// any more, and for diagnostics).
    pub fn sweeper_threads(&self) -> u64 {
        self.core.sweepers.load(Ordering::Acquire)
    }
}
