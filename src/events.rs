//! Events: what happened to a session, told to the host's handler (as JSON) and written to the
//! access log. Events are queued under the session's lock, so that those of one session keep
//! their order, and delivered after every registry lock is released, one at a time, each
//! exactly once, by whichever thread finds the queue non-empty and nobody delivering.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::access_log::{AccessLog, quoted};
use crate::clock::{Millis, iso8601};
use crate::id::SessionId;
use crate::json_text::{push_date_field, push_field, string_array};
use crate::session::Session;

/// The host's event handler: gets one JSON object per event.
pub type EventHandler = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Created,
    Closed,
    Expired,
    IdentifierChanged,
    PrivilegesChanged,
    StateChanged,
    FileAttached,
    FileDetached,
    IdRotated,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Closed => "closed",
            EventKind::Expired => "expired",
            EventKind::IdentifierChanged => "identifierChanged",
            EventKind::PrivilegesChanged => "privilegesChanged",
            EventKind::StateChanged => "stateChanged",
            EventKind::FileAttached => "fileAttached",
            EventKind::FileDetached => "fileDetached",
            EventKind::IdRotated => "idRotated",
        }
    }
}

/// Why a session was closed (the `reason` of a `closed` event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The host closed it (`sessmgr_session_close`).
    Host,
    /// An administrator disconnected the client.
    Disconnected,
    /// The host logged the user out everywhere (`user_close_sessions`).
    UserLogout,
    /// Another session of its user went over `maxSessionsPerUser` (policy `closeOldest`).
    SessionLimit,
    /// A guest, the least recently active, made room for a new session at `maxSessions`.
    Evicted,
}

impl CloseReason {
    pub fn name(self) -> &'static str {
        match self {
            CloseReason::Host => "host",
            CloseReason::Disconnected => "disconnected",
            CloseReason::UserLogout => "userLogout",
            CloseReason::SessionLimit => "sessionLimit",
            CloseReason::Evicted => "evicted",
        }
    }
}

/// Why a session expired (the `reason` of an `expired` event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryReason {
    /// Idle for its idle timeout.
    Idle,
    /// Its absolute end came (`maxLifetime`, or one set with `set_lifetime_end`).
    Lifetime,
}

impl ExpiryReason {
    pub fn name(self) -> &'static str {
        match self {
            ExpiryReason::Idle => "idle",
            ExpiryReason::Lifetime => "lifetime",
        }
    }
}

/// How a session left the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Closed(CloseReason),
    Expired(ExpiryReason),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    Created {
        session_type: &'static str,
        user_name: String,
        origin: String,
        application: String,
    },
    Closed {
        reason: CloseReason,
    },
    Expired {
        reason: ExpiryReason,
        last_activity: Millis,
        idle_timeout: i32,
        /// The absolute end, for an expiry of reason `Lifetime`.
        lifetime_end: Option<Millis>,
    },
    /// Identifier or state: the value before and after.
    Changed {
        old: String,
        new: String,
    },
    Privileges {
        old: Vec<String>,
        new: Vec<String>,
    },
    File {
        filename: String,
        account_name: String,
        privset_name: String,
    },
    /// The session's ID before a rotation (the event's `ID` is the new one).
    Rotated {
        previous: SessionId,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// [`SessionId::UNKNOWN`] for a session of the Redis store reached by its client number.
    pub id: SessionId,
    pub client_id: u64,
    /// The effective identifier (after the change, for a change).
    pub identifier: String,
    /// `identifier (computer) [ip]`, for the access log.
    pub client: String,
    /// False for a standalone session (a local file): not a client of the host, so not in the
    /// access log (its events still reach the handler).
    pub hosted: bool,
    pub time: Millis,
    pub detail: Detail,
    /// An event another host of the site told (see [`Event::relayed`]): its JSON, as given.
    pub relayed: Option<Box<str>>,
}

impl Event {
    pub fn new(kind: EventKind, session: &Session, time: Millis, detail: Detail) -> Event {
        Event {
            kind,
            id: session.id,
            client_id: session.client_id,
            identifier: session.effective_identifier().to_owned(),
            client: session.client_label(),
            hosted: session.kind != crate::session::SessionType::Standalone,
            time,
            detail,
            relayed: None,
        }
    }

    /// An event of the site told by another host (`json`, from [`Event::notice`]): handed to
    /// the handler as it is, never written to this host's access log (the host that made the
    /// change wrote it in its own).
    pub fn relayed(json: String) -> Event {
        Event {
            kind: EventKind::Closed,
            id: SessionId::UNKNOWN,
            client_id: 0,
            identifier: String::new(),
            client: String::new(),
            hosted: false,
            time: 0,
            detail: Detail::Closed {
                reason: CloseReason::Host,
            },
            relayed: Some(json.into()),
        }
    }

    /// This event as other hosts are told it: without the session's ID (a bearer token, which
    /// the site's store never holds: `"ID"` and `"previousID"` are `""`), and with `"host"`,
    /// the host that made the change.
    pub fn notice(&self, host: &str) -> String {
        let mut blind = self.clone();
        blind.id = SessionId::UNKNOWN;
        if let Detail::Rotated { previous } = &mut blind.detail {
            *previous = SessionId::UNKNOWN;
        }
        let mut json = blind.to_json();
        json.pop();
        push_field(&mut json, false, "host", host);
        json.push('}');
        json
    }

    /// The access log's code: FileMaker's own (638, 94, 98, 22) where FileMaker has the event,
    /// this library's (9001 and up) where it does not (a close the library makes itself, an
    /// administrator's disconnection among them, is 9006: no FileMaker code for it was found).
    pub fn log_code(&self) -> u32 {
        match (self.kind, &self.detail) {
            (EventKind::Created, _) => 638,
            (EventKind::FileAttached, _) => 94,
            (EventKind::FileDetached, _) => 98,
            (
                EventKind::Closed,
                Detail::Closed {
                    reason: CloseReason::Host,
                },
            ) => 22,
            (EventKind::Closed, _) => 9006,
            (EventKind::IdentifierChanged, _) => 9001,
            (EventKind::PrivilegesChanged, _) => 9002,
            (EventKind::StateChanged, _) => 9003,
            (EventKind::Expired, _) => 9004,
            (EventKind::IdRotated, _) => 9005,
        }
    }

    /// `{"event", "ID", "identifier", "time", …}`.
    pub fn to_json(&self) -> String {
        if let Some(json) = &self.relayed {
            return json.to_string();
        }
        let mut out = String::with_capacity(160);
        out.push('{');
        push_field(&mut out, true, "event", self.kind.name());
        self.id
            .with_text(|id| push_field(&mut out, false, "ID", id));
        out.push_str(",\"clientId\":");
        out.push_str(&self.client_id.to_string());
        push_field(&mut out, false, "identifier", &self.identifier);
        push_date_field(&mut out, false, "time", self.time);
        match &self.detail {
            Detail::Created {
                session_type,
                user_name,
                ..
            } => {
                push_field(&mut out, false, "type", session_type);
                push_field(&mut out, false, "userName", user_name);
            }
            Detail::Closed { reason } => push_field(&mut out, false, "reason", reason.name()),
            Detail::Expired {
                reason,
                last_activity,
                idle_timeout,
                lifetime_end,
            } => {
                push_date_field(&mut out, false, "lastActivity", *last_activity);
                out.push_str(",\"idleTimeout\":");
                out.push_str(&idle_timeout.to_string());
                push_field(&mut out, false, "reason", reason.name());
                if let (ExpiryReason::Lifetime, Some(end)) = (reason, lifetime_end) {
                    push_date_field(&mut out, false, "lifetimeEnd", *end);
                }
            }
            Detail::Changed { old, new } => {
                push_field(&mut out, false, "old", old);
                push_field(&mut out, false, "new", new);
            }
            Detail::Privileges { old, new } => {
                out.push_str(",\"old\":");
                out.push_str(&string_array(old.iter().map(String::as_str)));
                out.push_str(",\"new\":");
                out.push_str(&string_array(new.iter().map(String::as_str)));
            }
            Detail::File {
                filename,
                account_name,
                privset_name,
            } => {
                push_field(&mut out, false, "filename", filename);
                push_field(&mut out, false, "accountName", account_name);
                push_field(&mut out, false, "privsetName", privset_name);
            }
            Detail::Rotated { previous } => {
                previous.with_text(|id| push_field(&mut out, false, "previousID", id))
            }
        }
        out.push('}');
        out
    }

    /// The access log's message, every value quoted and escaped. It never holds a session ID.
    pub fn log_message(&self) -> String {
        let client = quoted(&self.client);
        match &self.detail {
            Detail::Rotated { .. } => format!("Client {client} session ID rotated."),
            Detail::Created {
                origin,
                application,
                ..
            } => format!(
                "Client {client} opening a connection from {} using {}.",
                quoted(origin),
                quoted(application)
            ),
            Detail::Closed {
                reason: CloseReason::Host,
            } => format!("Client {client} closing a connection."),
            Detail::Closed { reason } => format!(
                "Client {client} closing a connection: {}.",
                quoted(reason.name())
            ),
            Detail::File {
                filename,
                account_name,
                ..
            } => format!(
                "Client {client} {} database {} as {}.",
                if self.kind == EventKind::FileAttached {
                    "opening"
                } else {
                    "closing"
                },
                quoted(filename),
                quoted(account_name)
            ),
            Detail::Changed { old, new } => format!(
                "Client {client} {} changed from {} to {}.",
                if self.kind == EventKind::StateChanged {
                    "state"
                } else {
                    "session identifier"
                },
                quoted(old),
                quoted(new)
            ),
            Detail::Privileges { old, new } => format!(
                "Client {client} privileges changed from {} to {}.",
                quoted(&old.join(", ")),
                quoted(&new.join(", "))
            ),
            Detail::Expired {
                reason: ExpiryReason::Lifetime,
                lifetime_end: Some(end),
                ..
            } => format!(
                "Client {client} session expired: its lifetime ended at {}.",
                quoted(&iso8601(*end))
            ),
            Detail::Expired {
                last_activity,
                idle_timeout,
                ..
            } => format!(
                "Client {client} session expired: last activity {}, idle timeout {} minutes.",
                quoted(&iso8601(*last_activity)),
                quoted(&idle_timeout.to_string())
            ),
        }
    }
}

/// Ends a delivery turn, even if a handler unwinds; a turn of an epoch that a reset ended was
/// ended by the reset.
struct Delivering<'a> {
    dispatcher: &'a Dispatcher,
    epoch: u64,
}

impl Drop for Delivering<'_> {
    fn drop(&mut self) {
        let mut queue = self.dispatcher.queue.lock();
        if self.dispatcher.epoch.load(Ordering::Acquire) == self.epoch {
            queue.delivering = false;
        }
    }
}

thread_local! {
    /// The events (and counts) this thread holds, while it holds them.
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

#[derive(Default)]
struct Held {
    events: Vec<Event>,
    counted: u64,
}

/// Counts one change into a held count when this thread holds its events (see
/// [`Dispatcher::hold`]); false when it does not, and the caller counts it itself.
pub fn count_held() -> bool {
    HELD.with(|held| match held.borrow_mut().as_mut() {
        Some(held) => {
            held.counted += 1;
            true
        }
        None => false,
    })
}

/// Events kept aside by [`Dispatcher::hold`].
pub struct Hold<'a> {
    dispatcher: &'a Dispatcher,
    previous: Option<Option<Held>>,
}

impl Hold<'_> {
    /// Queues the held events; returns the changes [`count_held`] counted meanwhile.
    pub fn commit(mut self) -> u64 {
        let held = HELD.with(|held| {
            std::mem::replace(&mut *held.borrow_mut(), self.previous.take().flatten())
        });
        let held = held.unwrap_or_default();
        if !held.events.is_empty() {
            self.dispatcher.queue.lock().events.extend(held.events);
        }
        held.counted
    }
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            HELD.with(|held| *held.borrow_mut() = previous);
        }
    }
}

#[derive(Default)]
struct Queue {
    events: VecDeque<Event>,
    /// Whether a thread is delivering (this epoch's) events.
    delivering: bool,
    handler: Option<EventHandler>,
}

/// Queues events and delivers them to the access log and the handler.
///
/// Nothing here waits for a handler: a thread that finds another delivering leaves its events
/// to it and returns, and [`Dispatcher::reset`] ends the current epoch without waiting for a
/// handler call in progress. Each event is checked against the epoch, and the handler read,
/// just before it is delivered, so that once `reset` (or `set_handler`) has returned, only a
/// handler call already under way can still see the old events (or the old handler).
#[derive(Default)]
pub struct Dispatcher {
    /// Whether a handler, and a log, are installed: when neither is, no event is even built.
    has_handler: AtomicBool,
    has_log: AtomicBool,
    queue: Mutex<Queue>,
    /// Which reset the registry is at; changed under the queue's lock.
    epoch: AtomicU64,
    log: Mutex<Option<AccessLog>>,
    pub delivered: AtomicU64,
    pub log_failures: AtomicU64,
}

impl Dispatcher {
    pub fn listening(&self) -> bool {
        self.has_handler.load(Ordering::Acquire) || self.has_log.load(Ordering::Acquire)
    }

    pub fn set_handler(&self, handler: Option<EventHandler>) {
        let mut queue = self.queue.lock();
        self.has_handler.store(handler.is_some(), Ordering::Release);
        queue.handler = handler;
    }

    /// Switches the access log on (or off, with `None`); a log that could not be opened counts
    /// as a failed write.
    pub fn set_log(&self, log: Option<AccessLog>) {
        if log.as_ref().is_some_and(|log| log.last_error.is_some()) {
            self.log_failures.fetch_add(1, Ordering::AcqRel);
        }
        let mut current = self.log.lock();
        self.has_log.store(log.is_some(), Ordering::Release);
        *current = log;
    }

    pub fn log_error(&self) -> Option<String> {
        self.log
            .lock()
            .as_ref()
            .and_then(|log| log.last_error.clone())
    }

    /// Queues an event; call it under the lock of the session it is about. While this thread
    /// holds its events (see [`Dispatcher::hold`]), it is kept aside instead.
    pub fn push(&self, event: Event) {
        let event = HELD.with(|held| match held.borrow_mut().as_mut() {
            Some(held) => {
                held.events.push(event);
                None
            }
            None => Some(event),
        });
        if let Some(event) = event {
            self.queue.lock().events.push_back(event);
        }
    }

    /// Keeps this thread's events (and counts) aside until [`Hold::commit`]; dropped without
    /// it, they are forgotten. For a change computed on a copy of a session that may have to
    /// be computed again (the Redis store's optimistic writes): only the attempt that lands
    /// tells anyone.
    pub fn hold(&self) -> Hold<'_> {
        let previous = HELD.with(|held| held.borrow_mut().replace(Held::default()));
        Hold {
            dispatcher: self,
            previous: Some(previous),
        }
    }

    /// Delivers queued events, unless another thread is delivering (it will deliver these
    /// too). Call it with no registry lock held.
    pub fn drain(&self) {
        loop {
            let (batch, epoch) = {
                let mut queue = self.queue.lock();
                if queue.delivering || queue.events.is_empty() {
                    return;
                }
                queue.delivering = true;
                (
                    std::mem::take(&mut queue.events),
                    self.epoch.load(Ordering::Acquire),
                )
            };
            let _delivering = Delivering {
                dispatcher: self,
                epoch,
            };
            for event in batch {
                if !self.deliver(&event, epoch) {
                    // A reset ended this epoch: the rest are the reset registry's events, and
                    // the events queued since are the next epoch's deliverer's.
                    return;
                }
            }
        }
    }

    /// Writes the event to the log and hands it to the handler; false (and nothing done) if
    /// the registry was reset since `epoch`.
    fn deliver(&self, event: &Event, epoch: u64) -> bool {
        let current = || self.epoch.load(Ordering::Acquire) == epoch;
        if event.hosted {
            // Checked under the log's lock: a reset takes it to switch the log off.
            let mut log = self.log.lock();
            if !current() {
                return false;
            }
            if let Some(log) = log.as_mut()
                && !log.write(event.time, event.log_code(), &event.log_message())
            {
                self.log_failures.fetch_add(1, Ordering::AcqRel);
            }
        }
        let handler = {
            let queue = self.queue.lock();
            if !current() {
                return false;
            }
            if queue.handler.is_some() {
                self.delivered.fetch_add(1, Ordering::AcqRel);
            }
            queue.handler.clone()
        };
        if let Some(handler) = handler {
            handler(&event.to_json());
        }
        true
    }

    /// Forgets queued events, the handler and the log, and ends the epoch: an event taken for
    /// delivery before is not delivered, but a handler call in progress is not waited for.
    pub fn reset(&self) {
        {
            let mut queue = self.queue.lock();
            queue.events.clear();
            queue.delivering = false;
            queue.handler = None;
            self.has_handler.store(false, Ordering::Release);
            self.epoch.fetch_add(1, Ordering::AcqRel);
        }
        self.set_log(None);
        self.delivered.store(0, Ordering::Release);
        self.log_failures.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u128) -> Event {
        Event {
            kind: EventKind::Closed,
            id: SessionId::from_value(n),
            client_id: n as u64,
            identifier: format!("s{n}"),
            client: String::new(),
            hosted: true,
            time: 0,
            detail: Detail::Closed {
                reason: CloseReason::Host,
            },
            relayed: None,
        }
    }

    #[test]
    fn an_event_queued_during_a_delivery_is_delivered_by_the_deliverer() {
        let dispatcher = Arc::new(Dispatcher::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (theirs, queue) = (Arc::clone(&seen), Arc::downgrade(&dispatcher));
        dispatcher.set_handler(Some(Arc::new(move |json: &str| {
            theirs.lock().push(json.to_owned());
            if theirs.lock().len() == 1 {
                // Another thread queues an event while this one delivers; its drain returns at
                // once, leaving the event to this deliverer.
                let queue = queue.upgrade().unwrap();
                std::thread::spawn(move || {
                    queue.push(event(2));
                    queue.drain();
                })
                .join()
                .unwrap();
                assert_eq!(theirs.lock().len(), 1, "not delivered by the other thread");
            }
        })));
        dispatcher.push(event(1));
        dispatcher.drain();
        let seen = seen.lock();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[1].contains("\"identifier\":\"s2\""));
        assert_eq!(dispatcher.delivered.load(Ordering::Acquire), 2);
    }

    fn log_at(path: &std::path::Path) -> AccessLog {
        AccessLog::open(crate::access_log::AccessLogSettings {
            path: path.to_owned(),
            host_name: "test".to_owned(),
            max_bytes: 1 << 20,
        })
    }

    #[test]
    fn a_reset_during_a_handler_call_waits_for_nothing_and_drops_the_rest() {
        // The next event taken before the reset is one for the log and the handler, or (a
        // standalone session's) one for the handler only.
        reset_during_a_handler_call(true);
        reset_during_a_handler_call(false);
    }

    fn reset_during_a_handler_call(next_hosted: bool) {
        let dir = std::env::temp_dir().join(format!(
            "sessmgr-epoch-{}-{next_hosted}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (old_log, new_log) = (dir.join("old.log"), dir.join("new.log"));
        let dispatcher = Arc::new(Dispatcher::default());
        dispatcher.set_log(Some(log_at(&old_log)));
        let (entered, entering) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Mutex::new(released);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let theirs = Arc::clone(&seen);
        dispatcher.set_handler(Some(Arc::new(move |json: &str| {
            theirs.lock().push(json.to_owned());
            entered.send(()).unwrap();
            released.lock().recv().unwrap();
        })));
        dispatcher.push(event(1));
        dispatcher.push(Event {
            hosted: next_hosted,
            ..event(2)
        });
        let deliverer = {
            let dispatcher = Arc::clone(&dispatcher);
            std::thread::spawn(move || dispatcher.drain())
        };
        entering.recv().unwrap();
        // The handler is blocked until this thread releases it, after the reset.
        dispatcher.reset();
        // The next epoch is delivered at once, although the old call has not returned.
        dispatcher.set_log(Some(log_at(&new_log)));
        let after = Arc::new(Mutex::new(Vec::new()));
        let theirs = Arc::clone(&after);
        dispatcher.set_handler(Some(Arc::new(move |json: &str| {
            theirs.lock().push(json.to_owned())
        })));
        dispatcher.push(event(3));
        dispatcher.drain();
        assert_eq!(after.lock().len(), 1);
        assert!(after.lock()[0].contains("\"identifier\":\"s3\""));
        release.send(()).unwrap();
        deliverer.join().unwrap();
        // Event 2, taken for delivery before the reset, went nowhere after it.
        let (seen, delivered) = (seen.lock().clone(), after.lock().clone());
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].contains("\"identifier\":\"s1\""));
        assert_eq!(delivered.len(), 1, "{delivered:?}");
        assert_eq!(dispatcher.delivered.load(Ordering::Acquire), 1);
        // Delivery goes on in the new epoch.
        dispatcher.push(event(4));
        dispatcher.drain();
        assert_eq!(after.lock().len(), 2);
        let written = std::fs::read_to_string(&new_log).unwrap();
        assert_eq!(written.lines().count(), 3, "{written}"); // the header, s3, s4
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_handler_replaced_during_a_batch_gets_none_of_the_rest() {
        let dispatcher = Arc::new(Dispatcher::default());
        let first = Arc::new(AtomicU64::new(0));
        let second = Arc::new(AtomicU64::new(0));
        let (theirs, queue) = (Arc::clone(&first), Arc::downgrade(&dispatcher));
        let next = Arc::clone(&second);
        dispatcher.set_handler(Some(Arc::new(move |_: &str| {
            theirs.fetch_add(1, Ordering::AcqRel);
            let next = Arc::clone(&next);
            queue
                .upgrade()
                .unwrap()
                .set_handler(Some(Arc::new(move |_: &str| {
                    next.fetch_add(1, Ordering::AcqRel);
                })));
        })));
        for n in 0..3 {
            dispatcher.push(event(n));
        }
        dispatcher.drain();
        assert_eq!(first.load(Ordering::Acquire), 1);
        assert_eq!(second.load(Ordering::Acquire), 2);
    }

    #[test]
    fn a_panicking_handler_does_not_stop_delivery_for_good() {
        let dispatcher = Dispatcher::default();
        let calls = Arc::new(AtomicU64::new(0));
        let theirs = Arc::clone(&calls);
        dispatcher.set_handler(Some(Arc::new(move |_: &str| {
            if theirs.fetch_add(1, Ordering::AcqRel) == 0 {
                panic!("the host's bug");
            }
        })));
        dispatcher.push(event(1));
        assert!(
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatcher.drain())).is_err()
        );
        dispatcher.push(event(2));
        dispatcher.drain();
        assert_eq!(calls.load(Ordering::Acquire), 2);
    }
}
