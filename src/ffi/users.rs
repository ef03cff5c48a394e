//! A user's sessions: list them by client number (a user's own devices), close them all ("log
//! out everywhere", after a password change, say).

use std::ffi::c_char;

use super::boundary::{call, optional_out, out, text};
use super::registry;
use super::status::sessmgr_status;
use super::strings::owned_string;

/// `*json` receives `{"clients": [row, …]}`: the live web and rest sessions whose `userName` is
/// `user_name` (exact bytes, case-sensitive), oldest first, each row as in
/// `sessmgr_clients_list` (its `id` the client number, never a session ID) plus
/// `lastActivity`: what a host shows a user of their own devices, to let them end one by client
/// number (`sessmgr_client_disconnect`). Costs what that user's sessions cost. Free it with
/// `sessmgr_string_free`.
///
/// # Safety
/// `user_name` is NULL or a NUL-terminated string; `json` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_user_sessions(
    user_name: *const c_char,
    json: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_user_sessions", || {
        // SAFETY: as this function's contract.
        let (user, json) = unsafe { (text(user_name, "user_name")?, out(json, "json")?) };
        *json = owned_string(registry().user_sessions(user)?)?;
        Ok(())
    })
}

/// Logs a user out everywhere: closes every live web and rest session whose `userName` is
/// `user_name` (exact bytes), each with a `closed` event of reason `"userLogout"`; `*closed`
/// (if not NULL) receives how many.
///
/// # Safety
/// `user_name` is NULL or a NUL-terminated string; `closed` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_user_close_sessions(
    user_name: *const c_char,
    closed: *mut u64,
) -> sessmgr_status {
    call("sessmgr_user_close_sessions", || {
        // SAFETY: as this function's contract.
        let user = unsafe { text(user_name, "user_name") }?;
        let count = registry().user_close_sessions(user)?;
        // SAFETY: as this function's contract.
        if let Some(closed) = unsafe { optional_out(closed) } {
            *closed = count;
        }
        Ok(())
    })
}
