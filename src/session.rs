//! One session: what 4D's `Session` object and FileMaker's client connection hold.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::client::{AppDetails, AttachedFile, Message};
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::events::{CloseReason, End, ExpiryReason};
use crate::id::SessionId;
use crate::json_text::{push_date_field, push_field};
use crate::names::Query;
use crate::roles::{Grant, PrivilegeSet, RolesTable};
use crate::storage::Storage;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionType {
    Web,
    Rest,
    Remote,
    StoredProcedure,
    Standalone,
}

impl SessionType {
    pub(crate) const ALL: [SessionType; 5] = [
        SessionType::Web,
        SessionType::Rest,
        SessionType::Remote,
        SessionType::StoredProcedure,
        SessionType::Standalone,
    ];

    pub fn parse(text: &str) -> Result<SessionType> {
        SessionType::ALL
            .into_iter()
            .find(|t| t.name() == text)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "\"type\": \"{}\" is not a session type (web, rest, remote, storedProcedure, standalone)",
                    crate::id::truncate_for_message(text)
                ))
            })
    }

    pub fn name(self) -> &'static str {
        match self {
            SessionType::Web => "web",
            SessionType::Rest => "rest",
            SessionType::Remote => "remote",
            SessionType::StoredProcedure => "storedProcedure",
            SessionType::Standalone => "standalone",
        }
    }

    /// Web and REST sessions carry privileges and expire when idle.
    pub fn is_web(self) -> bool {
        matches!(self, SessionType::Web | SessionType::Rest)
    }

    /// The types of which a host has at most one.
    pub fn is_singleton(self) -> bool {
        matches!(self, SessionType::StoredProcedure | SessionType::Standalone)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    Active,
    Postponed,
    Sleeping,
    /// Set by the library only, while an administrator's disconnection waits for its grace
    /// time to pass; the host cannot set it, nor change it back.
    Disconnecting,
}

impl SessionState {
    /// One of the states the host sets (4D's three).
    pub fn parse(text: &str) -> Result<SessionState> {
        match text {
            "active" => Ok(SessionState::Active),
            "postponed" => Ok(SessionState::Postponed),
            "sleeping" => Ok(SessionState::Sleeping),
            _ => Err(Error::invalid(format!(
                "\"{}\" is not a session state (active, postponed, sleeping)",
                crate::id::truncate_for_message(text)
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SessionState::Active => "active",
            SessionState::Postponed => "postponed",
            SessionState::Sleeping => "sleeping",
            SessionState::Disconnecting => "disconnecting",
        }
    }
}

/// `hostType`: unknown (""), or one of 4D's three values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostType {
    #[default]
    Unknown,
    Windows,
    Mac,
    Browser,
}

impl HostType {
    pub fn parse(text: &str) -> Option<HostType> {
        match text {
            "windows" => Some(HostType::Windows),
            "mac" => Some(HostType::Mac),
            "browser" => Some(HostType::Browser),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HostType::Unknown => "",
            HostType::Windows => "windows",
            HostType::Mac => "mac",
            HostType::Browser => "browser",
        }
    }
}

/// The descriptive fields of `session_info`, as given at creation (or defaulted).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientDetails {
    /// Boxed text rather than `String`s: set whole, never grown in place, so no capacity word
    /// (40 bytes less per session).
    pub user_name: Box<str>,
    pub machine_name: Box<str>,
    pub system_user_name: Box<str>,
    pub ip_address: Box<str>,
    pub host_type: HostType,
}

/// One session. Laid out in declaration order, with what every request reads first (its
/// activity, idle timeout and storage), so that with the slot's lock they share the slot's
/// first cache line.
#[derive(Debug)]
#[repr(C)]
pub struct Session {
    pub kind: SessionType,
    pub state: SessionState,
    /// Minutes; meaningful for web and REST sessions only. Beside the two bytes above, in
    /// what would be padding.
    pub idle_timeout: i32,
    pub last_activity: Millis,
    pub storage: Storage,
    /// A web or REST session's absolute end, whatever its activity (`maxLifetime`, or set).
    pub lifetime_end: Deadline,
    /// The roles file `privileges` was expanded under; `None` while the grant is empty.
    pub roles: Option<Arc<RolesTable>>,
    pub privileges: PrivilegeSet,
    pub id: SessionId,
    pub details: ClientDetails,
    /// As set by `set_identifier`; "" means "the user name".
    pub identifier: String,
    pub created: Millis,
    /// Order of creation in this registry: sessions created in one millisecond still list in order.
    pub sequence: u64,
    /// What `set_privileges` granted; `None` for nothing (most sessions: guests).
    pub grant: Option<Box<Grant>>,
    /// Bumped by every storage write, so that an update callback can tell it raced one.
    pub storage_version: u64,
    /// The number administrators name this client by (see `client_index`).
    pub client_id: u64,
    /// What few sessions have; `None` for most.
    pub extras: Option<Box<Extras>>,
}

/// A moment or none, in one word (`Option<Millis>` takes two): none is a moment no date can
/// name (dates end in year 9999).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Deadline(Millis);

impl Deadline {
    pub(crate) const NONE: Deadline = Deadline(Millis::MAX);

    pub fn get(self) -> Option<Millis> {
        (self != Deadline::NONE).then_some(self.0)
    }
}

impl From<Option<Millis>> for Deadline {
    fn from(at: Option<Millis>) -> Deadline {
        at.map_or(Deadline::NONE, |at| Deadline(at.min(Millis::MAX - 1)))
    }
}

/// The parts of a session that few sessions use, kept out of line.
#[derive(Debug, Default)]
pub struct Extras {
    /// FileMaker's application details, when the host gave any.
    pub app: Option<Box<AppDetails>>,
    /// The files (apps) the client has open, in the order it opened them.
    pub files: Vec<AttachedFile>,
    /// Messages for the client from administrators, oldest first, until the host takes them.
    pub messages: VecDeque<Message>,
    /// When an administrator's disconnection closes the session.
    pub disconnect_at: Option<Millis>,
    /// The one-time passcodes that can restore this session.
    pub otps: Vec<crate::otp::Otp>,
    /// A remote client's persistent ID (`persistentID`, given or made at creation): here
    /// rather than among the details every session has, which few sessions fill (16 bytes of
    /// every web session: what puts the session in a 272-byte allocation, see the layout test
    /// of `session_map`).
    pub persistent_id: Box<str>,
}

impl Session {
    /// A bare session of a type, created at `now`, for unit tests.
    #[cfg(test)]
    pub fn for_tests(kind: SessionType, now: Millis) -> Session {
        Session {
            id: SessionId::random(),
            kind,
            state: SessionState::Active,
            details: ClientDetails::default(),
            identifier: String::new(),
            created: now,
            sequence: 0,
            idle_timeout: 60,
            last_activity: now,
            grant: None,
            roles: None,
            privileges: PrivilegeSet::default(),
            storage: Storage::default(),
            storage_version: 0,
            client_id: crate::client_index::next_client_id(),
            lifetime_end: Deadline::NONE,
            extras: None,
        }
    }

    /// When the session ends if nothing else happens: a web or REST session when idle for its
    /// timeout or at its absolute end, any session when a disconnection under way comes due;
    /// `None` for a session of another type with no disconnection under way.
    pub fn expires_at(&self) -> Option<Millis> {
        self.first_end().map(|at| at.min(crate::clock::MAX_MILLIS))
    }

    fn first_end(&self) -> Option<Millis> {
        let (idle, lifetime, disconnect) = self.ends();
        // As `[..].into_iter().flatten().min()`, in a few compares (it runs on every activity).
        let earlier = |a: Option<Millis>, b: Option<Millis>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        };
        earlier(earlier(idle, lifetime), disconnect)
    }

    /// The three ways the session can end by itself: idle expiry, absolute end, disconnection.
    fn ends(&self) -> (Option<Millis>, Option<Millis>, Option<Millis>) {
        let idle = self.kind.is_web().then(|| {
            self.last_activity
                .saturating_add(self.idle_timeout as i64 * 60_000)
        });
        let lifetime = self.lifetime_end.get().filter(|_| self.kind.is_web());
        (idle, lifetime, self.disconnect_at())
    }

    pub fn disconnect_at(&self) -> Option<Millis> {
        self.extras.as_ref().and_then(|e| e.disconnect_at)
    }

    /// FileMaker's application details, when the host gave any.
    pub fn app(&self) -> Option<&AppDetails> {
        self.extras.as_deref()?.app.as_deref()
    }

    /// The files (apps) the client has open, in the order it opened them.
    pub fn files(&self) -> &[AttachedFile] {
        self.extras.as_deref().map_or(&[], |e| &e.files)
    }

    /// A remote client's persistent ID; "" for most sessions.
    pub fn persistent_id(&self) -> &str {
        self.extras.as_deref().map_or("", |e| &e.persistent_id)
    }

    /// Sets the persistent ID (making the extras only for one that is not empty).
    pub fn set_persistent_id(&mut self, id: Box<str>) {
        if !id.is_empty() || self.extras.is_some() {
            self.extras_mut().persistent_id = id;
        }
    }

    /// The session's extras, made when first needed.
    pub fn extras_mut(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Box::default)
    }

    /// How a session that is no longer live ended: by whichever of its ends came first (a
    /// disconnection before an absolute end before idleness, when they fall together).
    pub fn lapsed_end(&self) -> End {
        let (_, lifetime, disconnect) = self.ends();
        let first = self.first_end();
        if disconnect.is_some() && disconnect == first {
            End::Closed(CloseReason::Disconnected)
        } else if lifetime.is_some() && lifetime == first {
            End::Expired(ExpiryReason::Lifetime)
        } else {
            End::Expired(ExpiryReason::Idle)
        }
    }

    /// The user a web or rest session belongs to (its `userName`, if not empty); `None` for the
    /// other types, which belong to nobody's sessions.
    pub fn user(&self) -> Option<&str> {
        Some(&*self.details.user_name).filter(|u| self.kind.is_web() && !u.is_empty())
    }

    /// The identifier administrators see: the one set, or else the user name.
    pub fn effective_identifier(&self) -> &str {
        if self.identifier.is_empty() {
            &self.details.user_name
        } else {
            &self.identifier
        }
    }

    pub fn has_privilege(&self, name: Query<'_>) -> bool {
        if !self.kind.is_web() {
            return true;
        }
        match &self.roles {
            Some(table) => table
                .privilege_position(name)
                .is_some_and(|p| self.privileges.contains(p)),
            None => false,
        }
    }

    pub fn is_guest(&self) -> bool {
        self.kind.is_web() && self.privileges.is_empty()
    }

    /// The expanded privileges, in the roles file's order; `WebAdmin` alone for the types
    /// without privileges (4D).
    pub fn privilege_names(&self) -> Vec<&str> {
        if !self.kind.is_web() {
            return vec![crate::roles::WEB_ADMIN];
        }
        match &self.roles {
            Some(table) => self
                .privileges
                .positions()
                .map(|p| table.privilege_name(p))
                .collect(),
            None => Vec::new(),
        }
    }

    /// [`Session::privilege_names`] as a JSON array.
    pub fn privileges_json(&self) -> String {
        crate::json_text::string_array(self.privilege_names())
    }

    /// Re-expands the grant under `table` (or forgets the table when nothing is granted).
    pub fn expand_under(&mut self, table: &Arc<RolesTable>) {
        match self.grant.as_deref().filter(|g| !g.is_empty()) {
            None => {
                self.roles = None;
                self.privileges = PrivilegeSet::default();
            }
            Some(grant) => {
                self.privileges = table.expand(grant);
                self.roles = Some(Arc::clone(table));
            }
        }
    }

    /// 4D's `.info` object: exactly ten fields, in 4D's order.
    pub fn info_json(&self, out: &mut String) {
        self.info_fields(out, |s, out| {
            s.id.with_text(|id| push_field(out, false, "ID", id))
        });
    }

    /// The info object as people may see it (an admin page): the client number, `clientId`,
    /// in place of the session ID, which is a bearer token.
    pub fn info_json_for_people(&self, out: &mut String) {
        self.info_fields(out, |s, out| {
            use std::fmt::Write;
            let _ = write!(out, ",\"clientId\":{}", s.client_id);
        });
    }

    fn info_fields(&self, out: &mut String, identity: impl FnOnce(&Session, &mut String)) {
        out.push('{');
        push_field(out, true, "type", self.kind.name());
        push_field(out, false, "userName", &self.details.user_name);
        push_field(out, false, "machineName", &self.details.machine_name);
        push_field(out, false, "systemUserName", &self.details.system_user_name);
        push_field(out, false, "IPAddress", &self.details.ip_address);
        push_field(out, false, "hostType", self.details.host_type.name());
        push_date_field(out, false, "creationDateTime", self.created);
        push_field(out, false, "state", self.state.name());
        identity(self, out);
        push_field(out, false, "persistentID", self.persistent_id());
        out.push('}');
    }
}
