//! The core's error type: a kind (which the C layer maps to a status code) and a message.

use std::fmt;

/// What went wrong, independent of how the C layer numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A required pointer was NULL (only the C layer raises this).
    NullArgument,
    /// Bad UTF-8, a malformed ID, unknown enum text, a number out of range, a wrong JSON shape.
    InvalidArgument,
    /// Text that should be JSON does not parse.
    InvalidJson,
    /// No live session has that ID (never created, closed, or expired).
    NotFound,
    /// Nothing is stored at that JSON Pointer (or a write's parent is missing).
    NoValue,
    /// The operation does nothing for this session type.
    NotSupported,
    /// A configured limit would be exceeded.
    LimitExceeded,
    /// A storage call on a session from inside that session's own update callback.
    Reentrant,
    /// The host's callback asked to abort.
    Aborted,
    /// A bug: a panic was caught.
    Internal,
    /// The call does not fit the library's current state (e.g. advancing a system clock).
    BadState,
    /// The store (Redis) did not answer in time or could not be reached.
    Unavailable,
    /// The storage does not hold what an atomic call expects (compare-and-set, increment).
    Conflict,
}

/// An error with a human-readable message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub fn json(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidJson, message)
    }

    pub fn not_supported(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotSupported, message)
    }

    pub fn limit(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::LimitExceeded, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
