//! Sweep cost: `sweep N [repeats]` fills a registry with N web sessions of which 1% are due,
//! times `sessmgr_sweep`, and prints the median and spread of nanoseconds per expired session.

use std::ffi::CString;
use std::ptr;
use std::time::Instant;

use sessmgr::ffi::library::*;
use sessmgr::ffi::sessions::*;
use sessmgr_bench::{ok, summary, take};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .expect("usage: sweep N [repeats]");
    let repeats: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let mut per_expired = Vec::new();
    for _ in 0..repeats {
        ok(sessmgr_reset(), "reset");
        let config = CString::new(format!(
            r#"{{"clock": "manual", "minIdleTimeout": 1, "maxSessions": {}}}"#,
            n + 1
        ))
        .unwrap();
        ok(unsafe { sessmgr_configure(config.as_ptr()) }, "configure");
        for i in 0..n {
            let options = if i % 100 == 0 {
                c"{\"idleTimeout\": 1}"
            } else {
                c"{\"idleTimeout\": 60}"
            };
            let mut id = ptr::null_mut();
            ok(
                unsafe { sessmgr_session_create(options.as_ptr(), &mut id) },
                "create",
            );
            unsafe { take(id) };
        }
        ok(sessmgr_clock_advance(61), "advance");
        let mut expired = 0u64;
        let start = Instant::now();
        ok(unsafe { sessmgr_sweep(&mut expired) }, "sweep");
        let elapsed = start.elapsed().as_nanos() as f64;
        assert_eq!(expired as usize, n.div_ceil(100));
        per_expired.push(elapsed / expired as f64);
    }
    let (median, low, high) = summary(per_expired);
    println!(
        r#"{{"sessions": {n}, "due": {}, "ns_per_expired_median": {median:.1}, "min": {low:.1}, "max": {high:.1}}}"#,
        n.div_ceil(100)
    );
}
