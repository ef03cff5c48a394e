//! Helpers shared by integration tests (each test binary uses some of them).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::ffi::{c_char, c_void};
use std::path::Path;

use sessmgr::ffi::status::SESSMGR_UPDATE_COMMIT;
use sessmgr::ffi::storage::sessmgr_update;

pub mod machine;

/// The names of the functions `include/sessmgr.h` declares.
pub fn header_functions() -> BTreeSet<String> {
    let header =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/sessmgr.h"))
            .unwrap();
    header
        .lines()
        .filter(|line| line.contains('(') && !line.trim_start().starts_with(['*', '/', '#']))
        .filter_map(|line| {
            let before = &line[..line.find('(')?];
            let name = before.rsplit([' ', '*']).next()?;
            name.starts_with("sessmgr_").then(|| name.to_owned())
        })
        .collect()
}

/// Installs an event handler on `r` that keeps every event, parsed.
pub fn recorder(r: &sessmgr::Registry) -> std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let theirs = std::sync::Arc::clone(&seen);
    let handler: sessmgr::EventHandler = std::sync::Arc::new(move |json: &str| {
        theirs
            .lock()
            .unwrap()
            .push(serde_json::from_str(json).unwrap())
    });
    r.set_event_handler(Some(handler));
    seen
}

/// A storage update callback that hands nothing back and commits: the storage stays as it is.
pub unsafe extern "C" fn commit_nothing(
    _: *mut sessmgr_update,
    _: *const c_char,
    _: *mut c_void,
) -> i32 {
    SESSMGR_UPDATE_COMMIT
}
