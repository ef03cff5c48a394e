//! sessmgr: one thread-safe registry of a host server's user sessions, the way 4D Server and
//! FileMaker Server keep them, reached from C through the functions of [`ffi`].
//!
//! The core ([`Registry`] and what it is made of) is plain safe Rust; [`ffi`] is the thin C layer
//! that owns the one global registry.

mod access_log;
mod client;
mod client_index;
mod clock;
mod create_options;
mod digest;
mod error;
mod events;
mod grant_request;
mod id;
mod json_equal;
mod json_input;
mod json_text;
mod listing_query;
mod names;
mod os;
mod otp;
mod permissions;
mod prefetch;
mod registry;
mod roles;
mod session;
mod session_map;
mod settings;
mod storage;
mod store;
mod sweeper;
mod table_memory;
mod user_index;

pub mod ffi;

pub use access_log::{
    AccessLogSettings, HEADER as ACCESS_LOG_HEADER, unescape as unescape_log_value,
};
pub use clock::iso8601;
pub use error::{Error, ErrorKind, Result};
pub use events::{EventHandler, EventKind};
pub use id::SessionId;
pub use registry::{Registry, RequestAnswer, UpdateOutcome};
pub use session::{SessionState, SessionType};
pub use settings::Settings;
pub use store::{RedisSettings, StoreSettings};
