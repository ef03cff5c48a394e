//! The one boundary every exported function goes through: panics caught, pointers and UTF-8
//! checked, the thread's last error recorded, a status returned.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{self, AssertUnwindSafe};

use crate::error::{Error, ErrorKind, Result};
use crate::ffi::status::{SESSMGR_INTERNAL, SESSMGR_OK, sessmgr_status, status_of};
use crate::id::SessionId;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Runs the body of exported function `function`, turning its result (or its panic) into a
/// status and recording the message of a failure as this thread's last error.
pub(crate) fn call(function: &'static str, body: impl FnOnce() -> Result<()>) -> sessmgr_status {
    guard(function, SESSMGR_INTERNAL, || match body() {
        Ok(()) => SESSMGR_OK,
        Err(error) => {
            record(function, &error.message);
            status_of(error.kind)
        }
    })
}

/// Runs `body`; if it panics, records the panic and returns `on_panic`. For the few functions
/// that return something other than a status.
pub(crate) fn guard<R>(function: &'static str, on_panic: R, body: impl FnOnce() -> R) -> R {
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            record(
                function,
                &format!("internal error (a bug in sessmgr): {what}"),
            );
            on_panic
        }
    }
}

fn record(function: &str, message: &str) {
    let text = format!("{function}: {message}").replace('\0', "\\0");
    let text = CString::new(text).unwrap_or_default();
    LAST_ERROR.with(|last| *last.borrow_mut() = text);
}

/// This thread's last error message; valid until its next failing call.
pub(crate) fn last_error() -> *const c_char {
    LAST_ERROR.with(|last| last.borrow().as_ptr())
}

fn null(name: &str) -> Error {
    Error::new(ErrorKind::NullArgument, format!("`{name}` is NULL"))
}

/// A text argument: NUL-terminated UTF-8.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid for the call.
pub(crate) unsafe fn text<'a>(ptr: *const c_char, name: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-NULL and NUL-terminated, by this function's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    // Most arguments (a pointer, a key) are short and ASCII: checked as such, they skip the
    // UTF-8 validator's setup, which costs more than the check on a few bytes.
    if bytes.to_bytes().is_ascii() {
        // SAFETY: ASCII is UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes.to_bytes()) });
    }
    bytes.to_str().map_err(|e| {
        Error::invalid(format!(
            "`{name}` is not valid UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })
}

/// A text argument's bytes, not yet checked as UTF-8 (for the callee that checks only what it
/// must).
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn text_bytes<'a>(ptr: *const c_char, name: &str) -> Result<&'a [u8]> {
    if ptr.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-NULL and NUL-terminated, by this function's contract.
    Ok(unsafe { CStr::from_ptr(ptr) }.to_bytes())
}

/// An optional text argument: NULL is `None`.
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn optional_text<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: as this function's contract.
        unsafe { text(ptr, name) }.map(Some)
    }
}

/// A session ID argument.
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn session_id(ptr: *const c_char) -> Result<SessionId> {
    if ptr.is_null() {
        return Err(null("id"));
    }
    // SAFETY: non-NULL and NUL-terminated, by this function's contract. An ID is ASCII, so
    // its bytes are parsed as they are: anything else, invalid UTF-8 included, is refused.
    SessionId::parse_bytes(unsafe { CStr::from_ptr(ptr) }.to_bytes())
}

/// A one-time passcode's text, parsed as a session ID is (it has the same form), with its own
/// name in messages; like an ID, the text is never repeated.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string.
pub(crate) unsafe fn passcode(ptr: *const c_char) -> Result<SessionId> {
    if ptr.is_null() {
        return Err(null("token"));
    }
    // SAFETY: as for `session_id`.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    SessionId::parse_bytes(bytes).map_err(|_| {
        Error::invalid(format!(
            "not a one-time passcode: {} bytes that are not 32 hex digits or the dashed UUID form",
            bytes.len()
        ))
    })
}

/// An output parameter, checked before any work is done so that a NULL one changes nothing.
///
/// # Safety
/// `ptr` is NULL or valid for writing a `T`.
pub(crate) unsafe fn out<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T> {
    // SAFETY: as this function's contract.
    unsafe { ptr.as_mut() }.ok_or_else(|| null(name))
}

/// An optional output parameter: NULL means the caller does not want it.
///
/// # Safety
/// As [`out`].
pub(crate) unsafe fn optional_out<'a, T>(ptr: *mut T) -> Option<&'a mut T> {
    // SAFETY: as this function's contract.
    unsafe { ptr.as_mut() }
}
