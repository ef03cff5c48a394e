//! The registry's settings: their defaults, their bounds, and `configure`'s JSON form.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use std::path::PathBuf;

use crate::access_log::{AccessLogSettings, DEFAULT_MAX_BYTES, MAX_BYTES_RANGE};
use crate::error::{Error, Result};
use crate::roles::RolesTable;
use crate::store::StoreSettings;

/// Every setting, with the defaults of a new registry (and of one after `reset`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Minutes of idleness after which a web or REST session expires.
    pub default_idle_timeout: i32,
    /// No idle timeout is shorter: a smaller value is raised to this.
    pub min_idle_timeout: i32,
    pub manual_clock: bool,
    pub max_sessions: u64,
    /// Size limit of one session's storage, as compact JSON text.
    pub max_storage_bytes: u64,
    pub max_identifier_bytes: u64,
    /// How deep arrays and objects may nest in any JSON input.
    pub max_json_depth: u64,
    /// Names (privileges and roles) one `set_privileges` call may grant.
    pub max_privileges_granted: u64,
    /// Files one session may have attached at once.
    pub max_attached_files: u64,
    /// Distinct file names the registry gives IDs to (kept until `reset`).
    pub max_file_names: u64,
    /// 0: no background sweeper.
    pub sweep_interval_seconds: u64,
    /// Minutes from creation after which a web or REST session ends, however active; 0: never.
    pub max_lifetime: i32,
    /// Seconds an old ID still reaches its session after a rotation; 0: not at all.
    pub rotation_grace_seconds: u64,
    /// Activity is recorded when at least this long (and a tenth of the session's idle
    /// timeout) has passed since the activity last recorded; 0: every time.
    pub activity_resolution_seconds: u64,
    /// One-time passcodes one session may hold at once.
    pub max_otps_per_session: u64,
    /// Web and rest sessions one user name may have at once; 0: no limit.
    pub max_sessions_per_user: u64,
    /// What a login over `max_sessions_per_user` does.
    pub session_limit_policy: SessionLimitPolicy,
    /// At `max_sessions`, whether a new session evicts the least recently active guest.
    pub evict_guests: bool,
    /// `None`: no access log.
    pub access_log: Option<AccessLogSettings>,
    /// Where sessions live: this process's memory, or Redis.
    pub store: StoreSettings,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            default_idle_timeout: 60,
            min_idle_timeout: 60,
            manual_clock: false,
            max_sessions: 1_000_000,
            max_storage_bytes: 1 << 20,
            max_identifier_bytes: 256,
            max_json_depth: 64,
            max_privileges_granted: 256,
            max_attached_files: 64,
            max_file_names: 10_000,
            sweep_interval_seconds: 0,
            max_lifetime: 0,
            rotation_grace_seconds: 0,
            activity_resolution_seconds: DEFAULT_ACTIVITY_RESOLUTION_SECONDS,
            max_otps_per_session: 16,
            max_sessions_per_user: 0,
            session_limit_policy: SessionLimitPolicy::Refuse,
            evict_guests: true,
            access_log: None,
            store: StoreSettings::Memory,
        }
    }
}

/// What a login (a grant that gives a session its user) does when the user has
/// `maxSessionsPerUser` sessions already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionLimitPolicy {
    /// The login fails (`LimitExceeded`) and changes nothing.
    Refuse,
    /// The user's least recently active session is closed to make room.
    CloseOldest,
}

/// The bounds `configure` accepts, inclusive; published in the README.
pub(crate) const IDLE_TIMEOUT_RANGE: (i64, i64) = (1, i32::MAX as i64);
pub(crate) const MAX_SESSIONS_RANGE: (i64, i64) = (1, 100_000_000);
pub(crate) const MAX_STORAGE_BYTES_RANGE: (i64, i64) = (2, 1 << 30);
pub(crate) const MAX_IDENTIFIER_BYTES_RANGE: (i64, i64) = (1, 1 << 20);
pub(crate) const MAX_JSON_DEPTH_RANGE: (i64, i64) =
    (1, crate::json_input::MAX_DEPTH_CEILING as i64);
pub(crate) const MAX_PRIVILEGES_GRANTED_RANGE: (i64, i64) = (1, 65_536);
pub(crate) const MAX_ATTACHED_FILES_RANGE: (i64, i64) = (1, 65_536);
pub(crate) const MAX_FILE_NAMES_RANGE: (i64, i64) = (1, 1_000_000);
pub(crate) const SWEEP_INTERVAL_RANGE: (i64, i64) = (0, 86_400);
pub(crate) const MAX_LIFETIME_RANGE: (i64, i64) = (0, i32::MAX as i64);
pub(crate) const ROTATION_GRACE_RANGE: (i64, i64) = (0, 60);
pub(crate) const ACTIVITY_RESOLUTION_RANGE: (i64, i64) = (0, 3600);
/// A minute: a session's end is known to the minute, and a host on the Redis store writes at
/// most once a minute for a session's activity (see docs/reference.md).
pub(crate) const DEFAULT_ACTIVITY_RESOLUTION_SECONDS: u64 = 60;
pub(crate) const MAX_OTPS_PER_SESSION_RANGE: (i64, i64) = (1, 1024);
pub(crate) const MAX_SESSIONS_PER_USER_RANGE: (i64, i64) = (0, 1_000_000);

/// What one `configure` call asks for: the settings it leaves, and a roles file if it has one.
#[derive(Debug)]
pub struct Configuration {
    pub settings: Settings,
    pub roles: Option<RolesTable>,
}

impl Settings {
    /// Every key `configure` takes: the one list the parser, the header's comment and the
    /// table of docs/reference.md are checked against.
    pub const KEYS: &'static [&'static str] = &[
        "defaultIdleTimeout",
        "minIdleTimeout",
        "clock",
        "maxSessions",
        "maxStorageBytes",
        "maxIdentifierBytes",
        "maxJsonDepth",
        "maxPrivilegesGranted",
        "maxAttachedFiles",
        "maxFileNames",
        "maxOtpsPerSession",
        "sweepIntervalSeconds",
        "maxLifetime",
        "rotationGraceSeconds",
        "activityResolutionSeconds",
        "maxSessionsPerUser",
        "sessionLimitPolicy",
        "overloadPolicy",
        "roles",
        "accessLog",
        "store",
    ];

    /// These settings with the keys of `text` applied; an unknown key, a wrong type or a value
    /// out of range is an error naming the key, and nothing is applied.
    pub fn configured(&self, text: &str) -> Result<Configuration> {
        let value =
            crate::json_input::parse(text, self.max_json_depth as usize, "the configuration")?;
        let Value::Object(fields) = value else {
            return Err(Error::invalid("the configuration must be a JSON object"));
        };
        let mut settings = self.clone();
        let mut roles = None;
        for (key, value) in &fields {
            if !Settings::KEYS.contains(&key.as_str()) {
                return Err(Error::invalid(format!(
                    "unknown configuration key \"{}\"",
                    crate::id::truncate_for_message(key)
                )));
            }
            match key.as_str() {
                "defaultIdleTimeout" => {
                    settings.default_idle_timeout = integer(key, value, IDLE_TIMEOUT_RANGE)? as i32
                }
                "minIdleTimeout" => {
                    settings.min_idle_timeout = integer(key, value, IDLE_TIMEOUT_RANGE)? as i32
                }
                "clock" => {
                    settings.manual_clock = match value.as_str() {
                        Some("manual") => true,
                        Some("system") => false,
                        _ => {
                            return Err(Error::invalid(
                                "\"clock\" must be \"system\" or \"manual\"",
                            ));
                        }
                    }
                }
                "maxSessions" => {
                    settings.max_sessions = integer(key, value, MAX_SESSIONS_RANGE)? as u64
                }
                "maxStorageBytes" => {
                    settings.max_storage_bytes =
                        integer(key, value, MAX_STORAGE_BYTES_RANGE)? as u64
                }
                "maxIdentifierBytes" => {
                    settings.max_identifier_bytes =
                        integer(key, value, MAX_IDENTIFIER_BYTES_RANGE)? as u64
                }
                "maxJsonDepth" => {
                    settings.max_json_depth = integer(key, value, MAX_JSON_DEPTH_RANGE)? as u64
                }
                "maxPrivilegesGranted" => {
                    settings.max_privileges_granted =
                        integer(key, value, MAX_PRIVILEGES_GRANTED_RANGE)? as u64
                }
                "maxAttachedFiles" => {
                    settings.max_attached_files =
                        integer(key, value, MAX_ATTACHED_FILES_RANGE)? as u64
                }
                "maxFileNames" => {
                    settings.max_file_names = integer(key, value, MAX_FILE_NAMES_RANGE)? as u64
                }
                "sweepIntervalSeconds" => {
                    settings.sweep_interval_seconds =
                        integer(key, value, SWEEP_INTERVAL_RANGE)? as u64
                }
                "maxLifetime" => {
                    settings.max_lifetime = integer(key, value, MAX_LIFETIME_RANGE)? as i32
                }
                "maxSessionsPerUser" => {
                    settings.max_sessions_per_user =
                        integer(key, value, MAX_SESSIONS_PER_USER_RANGE)? as u64
                }
                "sessionLimitPolicy" => {
                    settings.session_limit_policy = match value.as_str() {
                        Some("refuse") => SessionLimitPolicy::Refuse,
                        Some("closeOldest") => SessionLimitPolicy::CloseOldest,
                        _ => {
                            return Err(Error::invalid(
                                "\"sessionLimitPolicy\" must be \"refuse\" or \"closeOldest\"",
                            ));
                        }
                    }
                }
                "overloadPolicy" => {
                    settings.evict_guests = match value.as_str() {
                        Some("evictGuests") => true,
                        Some("refuse") => false,
                        _ => {
                            return Err(Error::invalid(
                                "\"overloadPolicy\" must be \"evictGuests\" or \"refuse\"",
                            ));
                        }
                    }
                }
                "maxOtpsPerSession" => {
                    settings.max_otps_per_session =
                        integer(key, value, MAX_OTPS_PER_SESSION_RANGE)? as u64
                }
                "rotationGraceSeconds" => {
                    settings.rotation_grace_seconds =
                        integer(key, value, ROTATION_GRACE_RANGE)? as u64
                }
                "activityResolutionSeconds" => {
                    settings.activity_resolution_seconds =
                        integer(key, value, ACTIVITY_RESOLUTION_RANGE)? as u64
                }
                "roles" => roles = Some(RolesTable::parse(value)?),
                "accessLog" => settings.access_log = access_log(value)?,
                "store" => settings.store = StoreSettings::parse(value)?,
                // Settings::KEYS was checked above; a key listed there but not handled here
                // is a bug (the unit test below sets every key).
                other => {
                    return Err(Error::new(
                        crate::error::ErrorKind::Internal,
                        format!("configuration key \"{other}\" is listed but not handled"),
                    ));
                }
            }
        }
        Ok(Configuration { settings, roles })
    }
}

/// `{"path": text, "hostName": text, "maxBytes": integer}`, or `null` (no log).
fn access_log(value: &Value) -> Result<Option<AccessLogSettings>> {
    let fields = match value {
        Value::Null => return Ok(None),
        Value::Object(fields) => fields,
        _ => {
            return Err(Error::invalid(
                "\"accessLog\" must be an object (path, hostName, maxBytes) or null",
            ));
        }
    };
    let mut path = None;
    let mut host_name = None;
    let mut max_bytes = DEFAULT_MAX_BYTES;
    for (key, value) in fields {
        match key.as_str() {
            "path" => match value.as_str() {
                Some(p) if !p.is_empty() && !p.contains('\0') => path = Some(PathBuf::from(p)),
                _ => {
                    return Err(Error::invalid(
                        "\"accessLog\": \"path\" must be a non-empty string",
                    ));
                }
            },
            "hostName" => match value.as_str() {
                Some(h) if h.len() <= 255 => host_name = Some(h.to_owned()),
                _ => {
                    return Err(Error::invalid(
                        "\"accessLog\": \"hostName\" must be a string of at most 255 bytes",
                    ));
                }
            },
            "maxBytes" => max_bytes = integer("accessLog.maxBytes", value, MAX_BYTES_RANGE)? as u64,
            other => {
                return Err(Error::invalid(format!(
                    "\"accessLog\": unknown key \"{}\" (expected path, hostName, maxBytes)",
                    crate::id::truncate_for_message(other)
                )));
            }
        }
    }
    let Some(path) = path else {
        return Err(Error::invalid("\"accessLog\": \"path\" is required"));
    };
    Ok(Some(AccessLogSettings {
        path,
        host_name: host_name.unwrap_or_else(crate::os::host_name),
        max_bytes,
    }))
}

pub(crate) fn integer(key: &str, value: &Value, (min, max): (i64, i64)) -> Result<i64> {
    match value.as_i64() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        Some(n) => Err(Error::invalid(format!(
            "\"{key}\": {n} is out of range ({min} to {max})"
        ))),
        None if value.is_number() => Err(Error::invalid(format!(
            "\"{key}\": {value} is out of range ({min} to {max})"
        ))),
        None => Err(Error::invalid(format!("\"{key}\" must be an integer"))),
    }
}

/// The settings that hot paths read, as atomics: a read is a plain load, never a lock.
#[derive(Debug, Default)]
pub struct LiveSettings {
    default_idle_timeout: AtomicU64,
    min_idle_timeout: AtomicU64,
    max_sessions: AtomicU64,
    max_storage_bytes: AtomicU64,
    max_identifier_bytes: AtomicU64,
    max_json_depth: AtomicU64,
    max_privileges_granted: AtomicU64,
    max_attached_files: AtomicU64,
    max_file_names: AtomicU64,
    max_lifetime: AtomicU64,
    rotation_grace_seconds: AtomicU64,
    activity_resolution_seconds: AtomicU64,
    max_otps_per_session: AtomicU64,
    max_sessions_per_user: AtomicU64,
    close_oldest: std::sync::atomic::AtomicBool,
    evict_guests: std::sync::atomic::AtomicBool,
}

impl LiveSettings {
    pub fn publish(&self, s: &Settings) {
        self.default_idle_timeout
            .store(s.default_idle_timeout as u64, Ordering::Release);
        self.min_idle_timeout
            .store(s.min_idle_timeout as u64, Ordering::Release);
        self.max_sessions.store(s.max_sessions, Ordering::Release);
        self.max_storage_bytes
            .store(s.max_storage_bytes, Ordering::Release);
        self.max_identifier_bytes
            .store(s.max_identifier_bytes, Ordering::Release);
        self.max_json_depth
            .store(s.max_json_depth, Ordering::Release);
        self.max_privileges_granted
            .store(s.max_privileges_granted, Ordering::Release);
        self.max_attached_files
            .store(s.max_attached_files, Ordering::Release);
        self.max_file_names
            .store(s.max_file_names, Ordering::Release);
        self.max_lifetime
            .store(s.max_lifetime as u64, Ordering::Release);
        self.rotation_grace_seconds
            .store(s.rotation_grace_seconds, Ordering::Release);
        self.activity_resolution_seconds
            .store(s.activity_resolution_seconds, Ordering::Release);
        self.max_otps_per_session
            .store(s.max_otps_per_session, Ordering::Release);
        self.max_sessions_per_user
            .store(s.max_sessions_per_user, Ordering::Release);
        self.close_oldest.store(
            s.session_limit_policy == SessionLimitPolicy::CloseOldest,
            Ordering::Release,
        );
        self.evict_guests.store(s.evict_guests, Ordering::Release);
    }

    /// `minutes` raised to the minimum idle timeout.
    pub fn idle_timeout(&self, minutes: i32) -> i32 {
        minutes.max(self.min_idle_timeout.load(Ordering::Acquire) as i32)
    }

    pub fn default_idle_timeout(&self) -> i32 {
        self.idle_timeout(self.default_idle_timeout.load(Ordering::Acquire) as i32)
    }

    pub fn max_sessions(&self) -> u64 {
        self.max_sessions.load(Ordering::Acquire)
    }

    pub fn max_storage_bytes(&self) -> usize {
        self.max_storage_bytes.load(Ordering::Acquire) as usize
    }

    pub fn max_identifier_bytes(&self) -> usize {
        self.max_identifier_bytes.load(Ordering::Acquire) as usize
    }

    pub fn max_json_depth(&self) -> usize {
        self.max_json_depth.load(Ordering::Acquire) as usize
    }

    pub fn max_privileges_granted(&self) -> usize {
        self.max_privileges_granted.load(Ordering::Acquire) as usize
    }

    pub fn max_attached_files(&self) -> usize {
        self.max_attached_files.load(Ordering::Acquire) as usize
    }

    pub fn max_file_names(&self) -> usize {
        self.max_file_names.load(Ordering::Acquire) as usize
    }

    /// Minutes; 0 for none.
    pub fn max_lifetime(&self) -> i32 {
        self.max_lifetime.load(Ordering::Acquire) as i32
    }

    pub fn rotation_grace_seconds(&self) -> u64 {
        self.rotation_grace_seconds.load(Ordering::Acquire)
    }

    /// `activityResolutionSeconds`, in milliseconds.
    pub fn activity_resolution(&self) -> crate::clock::Millis {
        self.activity_resolution_seconds.load(Ordering::Acquire) as crate::clock::Millis * 1000
    }

    pub fn max_otps_per_session(&self) -> usize {
        self.max_otps_per_session.load(Ordering::Acquire) as usize
    }

    /// Whether `overloadPolicy` is `evictGuests`.
    pub fn evict_guests(&self) -> bool {
        self.evict_guests.load(Ordering::Acquire)
    }

    /// `maxSessionsPerUser` (0: no limit) and its policy.
    pub fn session_limit(&self) -> (usize, SessionLimitPolicy) {
        let policy = if self.close_oldest.load(Ordering::Acquire) {
            SessionLimitPolicy::CloseOldest
        } else {
            SessionLimitPolicy::Refuse
        };
        (
            self.max_sessions_per_user.load(Ordering::Acquire) as usize,
            policy,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn applies_only_the_given_keys() {
        let base = Settings::default();
        let c = base
            .configured(
                r#"{"defaultIdleTimeout": 90, "clock": "manual", "roles": {"privileges": []}}"#,
            )
            .unwrap();
        assert_eq!(c.settings.default_idle_timeout, 90);
        assert!(c.settings.manual_clock);
        assert_eq!(c.settings.max_sessions, base.max_sessions);
        assert!(c.roles.is_some());
    }

    #[test]
    fn every_listed_key_is_taken() {
        let valid = |key: &str| match key {
            "clock" => "\"manual\"".to_owned(),
            "sessionLimitPolicy" => "\"closeOldest\"".to_owned(),
            "overloadPolicy" => "\"refuse\"".to_owned(),
            "roles" => "{\"privileges\": []}".to_owned(),
            "accessLog" => "null".to_owned(),
            "store" => "{\"kind\": \"memory\"}".to_owned(),
            _ => "2".to_owned(),
        };
        for key in Settings::KEYS {
            let text = format!("{{\"{key}\": {}}}", valid(key));
            Settings::default()
                .configured(&text)
                .unwrap_or_else(|e| panic!("{text}: {}", e.message));
        }
    }

    #[test]
    fn refuses_unknown_keys_wrong_types_and_out_of_range() {
        let base = Settings::default();
        for (text, kind, words) in [
            (
                "{\"maxSession\": 3}",
                ErrorKind::InvalidArgument,
                "unknown configuration key \"maxSession\"",
            ),
            (
                "{\"maxSessions\": 0}",
                ErrorKind::InvalidArgument,
                "\"maxSessions\": 0 is out of range",
            ),
            (
                "{\"maxSessions\": 1e30}",
                ErrorKind::InvalidArgument,
                "\"maxSessions\"",
            ),
            (
                "{\"maxSessions\": 2.5}",
                ErrorKind::InvalidArgument,
                "\"maxSessions\"",
            ),
            (
                "{\"minIdleTimeout\": \"60\"}",
                ErrorKind::InvalidArgument,
                "must be an integer",
            ),
            (
                "{\"clock\": \"Manual\"}",
                ErrorKind::InvalidArgument,
                "\"clock\"",
            ),
            (
                "{\"sweepIntervalSeconds\": -1}",
                ErrorKind::InvalidArgument,
                "sweepIntervalSeconds",
            ),
            (
                "{\"activityResolutionSeconds\": 3601}",
                ErrorKind::InvalidArgument,
                "\"activityResolutionSeconds\": 3601 is out of range",
            ),
            (
                "{\"roles\": {\"privileges\": 3}}",
                ErrorKind::InvalidArgument,
                "roles file",
            ),
            ("[]", ErrorKind::InvalidArgument, "JSON object"),
            ("{", ErrorKind::InvalidJson, "not valid JSON"),
        ] {
            let err = base.configured(text).unwrap_err();
            assert_eq!(err.kind, kind, "{text}");
            assert!(err.message.contains(words), "{text}: {}", err.message);
        }
    }
}
