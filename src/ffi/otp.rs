//! 4D's one-time passcodes (4D 20 R9 `Session.createOTP()` / `Session.restore()`): hand a web
//! session over once, to a request that does not carry its cookie.

use std::ffi::c_char;

use super::boundary::{call, out, passcode, session_id};
use super::registry;
use super::status::sessmgr_status;
use super::strings::owned_string;

/// `*token` receives a new one-time passcode for a web session (32 uppercase hex digits, random
/// like a session ID, and as secret): usable once, for `lifespan_seconds` (0: the session's idle
/// timeout; under 10 is raised to 10, as in 4D), and never after the session ends. At most
/// `maxOtpsPerSession` (default 16) wait per session: more is `SESSMGR_LIMIT_EXCEEDED`. A
/// negative lifespan is `SESSMGR_INVALID_ARGUMENT`; other types than web,
/// `SESSMGR_NOT_SUPPORTED`. Counts as activity. Free it with `sessmgr_string_free`.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string; `token` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_create_otp(
    id: *const c_char,
    lifespan_seconds: i32,
    token: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_session_create_otp", || {
        // SAFETY: as this function's contract.
        let (id, token) = unsafe { (session_id(id)?, out(token, "token")?) };
        *token = owned_string(registry().create_otp(id, lifespan_seconds)?.to_string())?;
        Ok(())
    })
}

/// `*id` receives the current ID of the session a one-time passcode was made for (after an ID
/// rotation too), and the passcode is spent. An unknown, used or expired passcode, or one whose
/// session ended, is `SESSMGR_NOT_FOUND` (one answer for all, as in 4D) and changes nothing;
/// text that is not 32 hex digits (or the dashed form) is `SESSMGR_INVALID_ARGUMENT`. Counts as
/// activity. Free the ID with `sessmgr_string_free`.
///
/// # Safety
/// `token` is NULL or a NUL-terminated string; `id` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_restore(
    token: *const c_char,
    id: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_session_restore", || {
        // SAFETY: as this function's contract.
        let (token, id) = unsafe { (passcode(token)?, out(id, "id")?) };
        *id = owned_string(registry().restore(token)?.to_string())?;
        Ok(())
    })
}
