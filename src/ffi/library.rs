//! Library-wide functions: version, errors, strings, settings, roles, clock, sweeping, listing.

use std::ffi::c_char;

use super::boundary::{call, guard, last_error, optional_out, out, text};
use super::registry;
use super::status::sessmgr_status;
use super::strings::owned_string;

static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library's version, e.g. "0.1.0". Static: do not free.
#[unsafe(no_mangle)]
pub extern "C" fn sessmgr_version() -> *const c_char {
    guard("sessmgr_version", c"".as_ptr(), || VERSION.as_ptr().cast())
}

/// A message describing the last failure of a `sessmgr_` call on the calling thread ("" if none
/// failed yet). Owned by the library: do not free; valid until the thread's next failing call.
#[unsafe(no_mangle)]
pub extern "C" fn sessmgr_last_error() -> *const c_char {
    guard("sessmgr_last_error", c"".as_ptr(), last_error)
}

/// Frees a string that a `sessmgr_` function handed out through a `char **` parameter. NULL is
/// accepted and ignored. Never pass anything else (and never free such a string with `free()`).
///
/// # Safety
/// `text` is NULL or a string from this library not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_string_free(text: *mut c_char) {
    // SAFETY: as this function's contract.
    guard("sessmgr_string_free", (), || unsafe {
        super::strings::free_string(text)
    })
}

/// Changes settings: a JSON object with any of these keys (docs/reference.md's settings table gives
/// each one's default and range):
/// - `defaultIdleTimeout`, `minIdleTimeout` (minutes), `clock` ("system" or "manual");
/// - limits: `maxSessions`, `maxStorageBytes`, `maxIdentifierBytes`, `maxJsonDepth`,
///   `maxPrivilegesGranted`, `maxAttachedFiles`, `maxFileNames`, `maxOtpsPerSession`;
/// - `sweepIntervalSeconds` (0 = no background sweeper; a sweeper sweeps when it starts, then on
///   the interval);
/// - `maxLifetime` (minutes from creation after which a web or rest session ends however
///   active; 0 = never), `rotationGraceSeconds`;
/// - `activityResolutionSeconds` (default 60; 0 = every call): activity is recorded when at
///   least this long, and a tenth of the session's idle timeout, has passed since the activity
///   last recorded; a session ends at most that long before its idle timeout, never after;
/// - `maxSessionsPerUser`, `sessionLimitPolicy` ("refuse" or "closeOldest"),
///   `overloadPolicy` ("evictGuests" or "refuse");
/// - `roles` (a roles.json object), `accessLog` (`{"path", "hostName", "maxBytes"}` or null);
/// - `store`: `{"kind": "memory"}` (the default) or `{"kind": "redis", "url", "prefix",
///   "timeoutMs"}` (`rediss://` for TLS, with `"caFile"` for a private CA; or `"sentinels"`
///   and `"service"` in place of `"url"`: the primary Redis Sentinel names), sessions shared by
///   every host on that Redis and prefix. Connecting is tried
///   at once (`SESSMGR_UNAVAILABLE` if Redis does not answer); a change of store while this
///   process holds live sessions is `SESSMGR_BAD_STATE`.
///
/// Keys not given keep their value. An unknown key, a wrong type or a value out of range fails
/// and changes nothing. Stopping or replacing the sweeper does not wait for an event handler it
/// is running: that call ends on the sweeper's thread, which then exits, and no further sweep
/// starts.
///
/// # Safety
/// `config_json` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_configure(config_json: *const c_char) -> sessmgr_status {
    call("sessmgr_configure", || {
        // SAFETY: as this function's contract.
        let config = unsafe { text(config_json, "config_json") }?;
        registry().configure(config)
    })
}

/// Loads a roles.json file's text. An invalid file changes nothing; the error message lists
/// every problem found. Sessions keep the names they were granted, re-expanded under the new file.
///
/// # Safety
/// `roles_json` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_load_roles(roles_json: *const c_char) -> sessmgr_status {
    call("sessmgr_load_roles", || {
        // SAFETY: as this function's contract.
        let roles = unsafe { text(roles_json, "roles_json") }?;
        registry().load_roles(roles)
    })
}

/// Closes every session and puts every setting, the roles file and the clock back to their
/// defaults; removes the event handler and switches the access log off first, so the sessions
/// it closes make no event. It waits for no host code: an event handler call already under way
/// on another thread (the sweeper's, say) may end after this returns, but no other event of the
/// registry as it was is delivered once this has returned.
#[unsafe(no_mangle)]
pub extern "C" fn sessmgr_reset() -> sessmgr_status {
    call("sessmgr_reset", || {
        registry().reset();
        Ok(())
    })
}

/// Moves a manual clock forward by `seconds` (0 or more). `SESSMGR_BAD_STATE` when the clock is
/// the system's.
#[unsafe(no_mangle)]
pub extern "C" fn sessmgr_clock_advance(seconds: i64) -> sessmgr_status {
    call("sessmgr_clock_advance", || {
        registry().advance_clock(seconds)
    })
}

/// Removes the expired sessions now; `*expired` (if not NULL) receives how many.
///
/// # Safety
/// `expired` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_sweep(expired: *mut u64) -> sessmgr_status {
    call("sessmgr_sweep", || {
        let removed = registry().sweep();
        // SAFETY: as this function's contract.
        if let Some(expired) = unsafe { optional_out(expired) } {
            *expired = removed;
        }
        Ok(())
    })
}

/// `*count` receives the number of live sessions (expired ones are not counted, swept or not).
///
/// # Safety
/// `count` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_count(count: *mut u64) -> sessmgr_status {
    call("sessmgr_session_count", || {
        // SAFETY: as this function's contract.
        let count = unsafe { out(count, "count") }?;
        *count = registry().live_sessions()?;
        Ok(())
    })
}

/// `*json` receives `{"sessions": [info, …]}`, each `info` as `sessmgr_session_info` gives it,
/// oldest session first; on the Redis store, which keeps no session ID, a session in Redis has
/// `"ID": ""`. Free it with `sessmgr_string_free`.
///
/// # Safety
/// `json` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_sessions_list(json: *mut *mut c_char) -> sessmgr_status {
    call("sessmgr_sessions_list", || {
        // SAFETY: as this function's contract.
        let json = unsafe { out(json, "json") }?;
        *json = owned_string(registry().sessions_list()?)?;
        Ok(())
    })
}
