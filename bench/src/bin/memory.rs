//! Resident bytes per session: `memory N [storage]` creates N web sessions (each with a
//! 200-byte storage value when `storage` is given) in this fresh process and prints
//! `{"sessions": N, "storage": bool, "bytes_per_session": …}`.

use std::ffi::CString;
use std::ptr;

use sessmgr::ffi::library::*;
use sessmgr::ffi::sessions::*;
use sessmgr::ffi::storage::*;
use sessmgr_bench::{ok, resident_bytes, take};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .expect("usage: memory N [storage]");
    let with_storage = args.next().as_deref() == Some("storage");
    let config = CString::new(format!(r#"{{"maxSessions": {}}}"#, n + 1)).unwrap();
    ok(unsafe { sessmgr_configure(config.as_ptr()) }, "configure");
    // A 200-byte value: {"v":"…"} is 200 bytes of JSON text.
    let value = CString::new(format!(r#"{{"v":"{}"}}"#, "x".repeat(200 - 8))).unwrap();
    // The IDs are the host's memory, not the library's: keep them out of the figure by
    // freeing each at once.
    let before = resident_bytes();
    for _ in 0..n {
        let mut id = ptr::null_mut();
        ok(
            unsafe { sessmgr_session_create(ptr::null(), &mut id) },
            "create",
        );
        if with_storage {
            ok(
                unsafe { sessmgr_storage_set(id, c"".as_ptr(), value.as_ptr()) },
                "storage_set",
            );
        }
        unsafe { take(id) };
    }
    let after = resident_bytes();
    println!(
        r#"{{"sessions": {n}, "storage": {with_storage}, "bytes_per_session": {:.1}}}"#,
        (after.saturating_sub(before)) as f64 / n as f64
    );
}
