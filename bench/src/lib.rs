//! What the benchmarks share: filling the library's registry through its C functions, and
//! reading the process's resident memory.

use std::ffi::{CStr, CString, c_char};
use std::ptr;

use sessmgr::ffi::library::*;
use sessmgr::ffi::privileges::*;
use sessmgr::ffi::sessions::*;
use sessmgr::ffi::status::SESSMGR_OK;
use sessmgr::ffi::storage::*;

/// A JSON string value that is 100 bytes long as JSON text (quotes included).
pub fn value_100() -> String {
    format!("\"{}\"", "v".repeat(98))
}

/// Panics with the library's message unless `status` is OK.
pub fn ok(status: i32, what: &str) {
    if status != SESSMGR_OK {
        let message = unsafe { CStr::from_ptr(sessmgr_last_error()) };
        panic!("{what}: status {status}: {}", message.to_string_lossy());
    }
}

/// Takes (and frees) a string the library handed out.
///
/// # Safety
/// `text` is a string from the library, not freed yet.
pub unsafe fn take(text: *mut c_char) -> String {
    let owned = unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned();
    unsafe { sessmgr_string_free(text) };
    owned
}

/// Resets the registry and fills it with `n` web sessions, each holding WebAdmin, a user name,
/// and a storage of `{"n": 0, "v": <100 bytes>}`. Returns their IDs, as C strings.
/// The roles file of the benchmarks: one privilege besides WebAdmin, and permissions of every
/// level (`has_permission` checks `City.name`, an attribute the file does not mention, of a
/// dataclass it does: a missed lookup, then a found one).
const ROLES: &str = r#"{"privileges": [{"privilege": "Reports"}],
  "permissions": {"allowed": [
    {"applyTo": "ds", "type": "datastore", "read": ["Reports"]},
    {"applyTo": "City", "type": "dataclass", "read": ["WebAdmin"], "update": ["Reports"]},
    {"applyTo": "City.secret", "type": "attribute", "read": ["Reports"]},
    {"applyTo": "ds.login", "type": "method", "execute": ["guest"]}]},
  "restrictedByDefault": true}"#;

pub fn populate(n: usize) -> Vec<CString> {
    ok(sessmgr_reset(), "reset");
    let config = CString::new(format!(
        r#"{{"maxSessions": {}, "roles": {ROLES}}}"#,
        n + 1000
    ))
    .unwrap();
    ok(unsafe { sessmgr_configure(config.as_ptr()) }, "configure");
    fill(n)
}

/// Creates `n` web sessions in the registry as it is configured, each holding WebAdmin, a user
/// name, and a storage of `{"n": 0, "v": <100 bytes>}`. Returns their IDs, as C strings.
pub fn fill(n: usize) -> Vec<CString> {
    let storage = CString::new(format!(r#"{{"n": 0, "v": {}}}"#, value_100())).unwrap();
    (0..n)
        .map(|_| {
            let mut id = ptr::null_mut();
            ok(
                unsafe { sessmgr_session_create(ptr::null(), &mut id) },
                "create",
            );
            let id = CString::new(unsafe { take(id) }).unwrap();
            unsafe {
                ok(
                    sessmgr_session_set_privileges(
                        id.as_ptr(),
                        c"{\"privileges\":\"WebAdmin\",\"userName\":\"bench\"}".as_ptr(),
                        ptr::null_mut(),
                    ),
                    "set_privileges",
                );
                ok(
                    sessmgr_storage_set(id.as_ptr(), c"".as_ptr(), storage.as_ptr()),
                    "storage_set",
                );
            }
            id
        })
        .collect()
}

/// A fixed pseudo-random permutation of `0..n` (so that keys come in random order, the same
/// in every run).
pub fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order
}

/// Resident memory of this process, in bytes.
pub fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

/// Median and spread (min, max) of some figures.
pub fn summary(mut figures: Vec<f64>) -> (f64, f64, f64) {
    figures.sort_by(|a, b| a.total_cmp(b));
    let median = figures[figures.len() / 2];
    (median, figures[0], figures[figures.len() - 1])
}
