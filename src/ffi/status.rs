//! Status codes: what every fallible function returns. Distinct, documented, never reused.

use crate::error::ErrorKind;

/// The result of every fallible `sessmgr_` function: `SESSMGR_OK` (0) or one of the codes
/// below. On failure, `sessmgr_last_error()` gives a message on the same thread, and no output
/// parameter has been written.
pub type sessmgr_status = i32;

/// Success.
pub const SESSMGR_OK: sessmgr_status = 0;
/// A required pointer argument was NULL.
pub const SESSMGR_NULL_ARGUMENT: sessmgr_status = 1;
/// An argument is invalid: bad UTF-8, a malformed session ID, unknown enum text, a number out
/// of range, JSON of the wrong shape, an unknown key.
pub const SESSMGR_INVALID_ARGUMENT: sessmgr_status = 2;
/// Text that must be JSON does not parse. (Nesting deeper than `maxJsonDepth` is
/// `SESSMGR_LIMIT_EXCEEDED`, found before parsing.)
pub const SESSMGR_INVALID_JSON: sessmgr_status = 3;
/// No live session has that ID: never created, closed, or expired (swept or not). Also: no live
/// client has that number; no live session has that one-time passcode (unknown, used or
/// expired).
pub const SESSMGR_NOT_FOUND: sessmgr_status = 4;
/// Nothing is stored at that JSON Pointer (for a write: the parent is missing); no file of that
/// name is attached; the session has no absolute end.
pub const SESSMGR_NO_VALUE: sessmgr_status = 5;
/// The operation does nothing for this session type (4D returns False, FileMaker does nothing).
pub const SESSMGR_NOT_SUPPORTED: sessmgr_status = 6;
/// A configured limit would be exceeded (sessions, storage bytes, identifier bytes, …).
pub const SESSMGR_LIMIT_EXCEEDED: sessmgr_status = 7;
/// A storage call on a session from inside that session's own storage update callback.
pub const SESSMGR_REENTRANT: sessmgr_status = 8;
/// The storage update callback aborted; nothing changed.
pub const SESSMGR_ABORTED: sessmgr_status = 9;
/// A bug in the library (a caught panic). The registry is still usable.
pub const SESSMGR_INTERNAL: sessmgr_status = 10;
/// The call does not fit the library's current state (e.g. advancing a clock that is not
/// manual, or setting the state of a session being disconnected).
pub const SESSMGR_BAD_STATE: sessmgr_status = 11;
/// The Redis store could not be reached, or did not answer within its `timeoutMs`; the message
/// names its address. What the call would have written was written whole or not at all (when
/// the answer was lost, the caller cannot tell which); the library reconnects by itself.
pub const SESSMGR_UNAVAILABLE: sessmgr_status = 12;
/// The storage does not hold what an atomic call expects: `sessmgr_storage_compare_and_set`
/// found another value (or none, or one where none was expected), `sessmgr_storage_increment`
/// found a value that is not an integer. Nothing changed; the message says what is there (its
/// type and size, never the value).
pub const SESSMGR_CONFLICT: sessmgr_status = 13;

/// A storage update callback's answer: keep what it handed to `sessmgr_update_set` (or nothing
/// changes if it handed nothing).
pub const SESSMGR_UPDATE_COMMIT: i32 = 0;
/// A storage update callback's answer: change nothing; the update returns `SESSMGR_ABORTED`.
pub const SESSMGR_UPDATE_ABORT: i32 = 1;

pub(crate) fn status_of(kind: ErrorKind) -> sessmgr_status {
    match kind {
        ErrorKind::NullArgument => SESSMGR_NULL_ARGUMENT,
        ErrorKind::InvalidArgument => SESSMGR_INVALID_ARGUMENT,
        ErrorKind::InvalidJson => SESSMGR_INVALID_JSON,
        ErrorKind::NotFound => SESSMGR_NOT_FOUND,
        ErrorKind::NoValue => SESSMGR_NO_VALUE,
        ErrorKind::NotSupported => SESSMGR_NOT_SUPPORTED,
        ErrorKind::LimitExceeded => SESSMGR_LIMIT_EXCEEDED,
        ErrorKind::Reentrant => SESSMGR_REENTRANT,
        ErrorKind::Aborted => SESSMGR_ABORTED,
        ErrorKind::Internal => SESSMGR_INTERNAL,
        ErrorKind::BadState => SESSMGR_BAD_STATE,
        ErrorKind::Unavailable => SESSMGR_UNAVAILABLE,
        ErrorKind::Conflict => SESSMGR_CONFLICT,
    }
}
