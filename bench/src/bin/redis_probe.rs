//! The library on the Redis store against bare round trips on the same server, measured
//! interleaved: `redis_probe SESSIONS...` (REDIS_URL, default redis://127.0.0.1:6390/).
//!
//! For each number of live sessions: every session has one request first (as sessions in use
//! have had one within the last minute); then `ROUNDS` rounds (SESSMGR_PROBE_ROUNDS, default
//! 15); in each, `BATCH` calls (SESSMGR_PROBE_BATCH, default 1000) of every measure in turn,
//! each call on the next session of a fixed shuffled order. A measure's figures are its best
//! round and its median round, and its ratios to the bare GET, SET and GET+SET the median of
//! the ratios within each round (measured seconds apart: the loopback's drift between rounds
//! cancels out). The bare measures run on one persistent
//! connection of the redis crate, with a value as long as a session's record; `redis-benchmark
//! -c 1` (GET and SET of the same size) runs between the rounds as a cross-check. The round trips
//! of each library measure are counted by Redis itself (`INFO commandstats`: the `HGET` reads
//! and `EVALSHA` scripts the library sent). Prints one JSON line per size.
//! SESSMGR_PROBE_ONLY=name,... runs those measures alone (for a profiler).

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::process::Command;
use std::ptr;
use std::time::Instant;

use serde_json::json;
use sessmgr::ffi::library::*;
use sessmgr::ffi::privileges::*;
use sessmgr::ffi::sessions::*;
use sessmgr::ffi::storage::*;
use sessmgr_bench::{fill, ok, shuffled, value_100};

type Call<'a> = Box<dyn FnMut(&CStr) + 'a>;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Calls counted by Redis for each command since it started.
fn command_calls(c: &mut redis::Connection) -> BTreeMap<String, u64> {
    let info: String = redis::cmd("INFO").arg("commandstats").query(c).unwrap();
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(":calls=")?;
            Some((name.to_owned(), rest.split(',').next()?.parse().ok()?))
        })
        .collect()
}

/// Round trips the library made: its reads (`HGET`) and its scripts (`EVALSHA`). Neither
/// runs inside the scripts of the operations measured here.
fn library_trips(c: &mut redis::Connection) -> u64 {
    let calls = command_calls(c);
    ["hget", "evalsha"]
        .iter()
        .map(|k| calls.get(*k).copied().unwrap_or(0))
        .sum()
}

/// `redis-benchmark -c 1` GET and SET of `bytes`-byte values: microseconds per call of each,
/// or `None` when it is not installed.
fn redis_benchmark(url: &str, bytes: usize, requests: usize) -> Option<(f64, f64)> {
    let info = redis::Client::open(url).ok()?.get_connection_info().clone();
    let address = info.addr().to_string();
    let (host, port) = address.rsplit_once(':')?;
    let out = Command::new("redis-benchmark")
        .args(["-h", host, "-p", port, "-c", "1", "-t", "get,set", "--csv"])
        .args(["-n", &requests.to_string(), "-d", &bytes.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let per_call = |test: &str| -> Option<f64> {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("\"{test}\"")))?;
        let rps: f64 = line.split(',').nth(1)?.trim_matches('"').parse().ok()?;
        Some(1e6 / rps)
    };
    Some((per_call("GET")?, per_call("SET")?))
}

fn main() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6390/".to_owned());
    let rounds = env_number("SESSMGR_PROBE_ROUNDS", 15);
    let batch = env_number("SESSMGR_PROBE_BATCH", 1000);
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let mut bare = redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection())
        .unwrap_or_else(|e| panic!("Redis at {url}: {e}"));
    for n in sizes {
        let _: () = redis::cmd("FLUSHALL").query(&mut bare).unwrap();
        ok(sessmgr_reset(), "reset");
        let config = CString::new(format!(
            r#"{{"store": {{"kind": "redis", "url": "{url}", "prefix": "probe:"}},
                "maxSessions": {},
                "roles": {{"privileges": [{{"privilege": "Reports"}}]}}}}"#,
            n + 1000
        ))
        .unwrap();
        ok(unsafe { sessmgr_configure(config.as_ptr()) }, "configure");
        let ids = fill(n);
        // The bare value is as long as a session's record (Redis keeps no ID: the first
        // session of the live set gives its key).
        let first: Vec<String> = redis::cmd("ZRANGE")
            .arg("probe:live")
            .arg(0)
            .arg(0)
            .query(&mut bare)
            .unwrap();
        let record: Vec<u8> = redis::cmd("HGET")
            .arg(format!("probe:s:{}", first[0]))
            .arg("d")
            .query(&mut bare)
            .unwrap();
        let blob = "x".repeat(record.len());
        let _: () = redis::cmd("SET")
            .arg("probe-bare")
            .arg(&blob)
            .query(&mut bare)
            .unwrap();
        let value = CString::new(value_100()).unwrap();
        let bare_conn = std::cell::RefCell::new(
            redis::Client::open(url.as_str())
                .unwrap()
                .get_connection()
                .unwrap(),
        );
        let get = || {
            let v: Option<String> = redis::cmd("GET")
                .arg("probe-bare")
                .query(&mut *bare_conn.borrow_mut())
                .unwrap();
            std::hint::black_box(v);
        };
        let set = || {
            let _: () = redis::cmd("SET")
                .arg("probe-bare")
                .arg(&blob)
                .query(&mut *bare_conn.borrow_mut())
                .unwrap();
        };
        let request = |id: &CStr| unsafe {
            let (mut granted, mut json) = (false, ptr::null_mut());
            ok(
                sessmgr_session_request(
                    id.as_ptr(),
                    c"WebAdmin".as_ptr(),
                    c"/n".as_ptr(),
                    &mut granted,
                    &mut json,
                ),
                "request",
            );
            assert!(granted);
            sessmgr_string_free(json);
        };
        let storage_set = |id: &CStr| unsafe {
            ok(
                sessmgr_storage_set(id.as_ptr(), c"/v".as_ptr(), value.as_ptr()),
                "storage_set",
            )
        };
        let increment = |id: &CStr| unsafe {
            let mut sum = 0;
            ok(
                sessmgr_storage_increment(id.as_ptr(), c"/n".as_ptr(), 1, &mut sum),
                "increment",
            )
        };
        let mut flip = false;
        let mut measures: Vec<(&str, bool, Call)> = vec![
            ("bare_get", false, Box::new(|_: &CStr| get())),
            ("bare_set", false, Box::new(|_: &CStr| set())),
            (
                "bare_get_set",
                false,
                Box::new(|_: &CStr| {
                    get();
                    set()
                }),
            ),
            (
                "has_privilege",
                true,
                Box::new(|id: &CStr| unsafe {
                    let mut granted = false;
                    ok(
                        sessmgr_session_has_privilege(
                            id.as_ptr(),
                            c"WebAdmin".as_ptr(),
                            &mut granted,
                        ),
                        "has_privilege",
                    );
                }),
            ),
            (
                "storage_get",
                true,
                Box::new(|id: &CStr| unsafe {
                    let mut out = ptr::null_mut();
                    ok(
                        sessmgr_storage_get(id.as_ptr(), c"/v".as_ptr(), &mut out),
                        "storage_get",
                    );
                    sessmgr_string_free(out);
                }),
            ),
            (
                "session_info",
                true,
                Box::new(|id: &CStr| unsafe {
                    let mut out = ptr::null_mut();
                    ok(sessmgr_session_info(id.as_ptr(), &mut out), "info");
                    sessmgr_string_free(out);
                }),
            ),
            (
                "touch",
                true,
                Box::new(|id: &CStr| unsafe { ok(sessmgr_session_touch(id.as_ptr()), "touch") }),
            ),
            ("request", true, Box::new(request)),
            (
                "request_set",
                true,
                Box::new(|id: &CStr| {
                    request(id);
                    storage_set(id)
                }),
            ),
            (
                "request_increment",
                true,
                Box::new(|id: &CStr| {
                    request(id);
                    increment(id)
                }),
            ),
            ("storage_set", true, Box::new(storage_set)),
            (
                "set_identifier",
                true,
                Box::new(|id: &CStr| unsafe {
                    flip = !flip;
                    let identifier = if flip { c"student-1" } else { c"student-2" };
                    ok(
                        sessmgr_session_set_identifier(id.as_ptr(), identifier.as_ptr()),
                        "set_identifier",
                    )
                }),
            ),
            (
                "create_close",
                true,
                Box::new(|_: &CStr| unsafe {
                    let mut id = ptr::null_mut();
                    ok(sessmgr_session_create(ptr::null(), &mut id), "create");
                    ok(sessmgr_session_close(id), "close");
                    sessmgr_string_free(id);
                }),
            ),
        ];
        if let Ok(only) = std::env::var("SESSMGR_PROBE_ONLY") {
            measures.retain(|(name, _, _)| only.split(',').any(|o| o == *name));
        }
        let order = shuffled(n);
        for id in &ids {
            request(id);
        }
        let mut next = 0;
        let mut times: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut trips: BTreeMap<&str, u64> = BTreeMap::new();
        let mut benchmark_runs = Vec::new();
        for _ in 0..rounds {
            for (name, library, call) in measures.iter_mut() {
                let before = library_trips(&mut bare);
                let start = Instant::now();
                for _ in 0..batch {
                    call(&ids[order[next % n]]);
                    next += 1;
                }
                let per_call = start.elapsed().as_nanos() as f64 / batch as f64;
                times.entry(name).or_default().push(per_call);
                if *library {
                    *trips.entry(name).or_default() += library_trips(&mut bare) - before;
                }
            }
            if let Some(run) = redis_benchmark(&url, record.len(), batch * 10) {
                benchmark_runs.push(run);
            }
        }
        drop(measures);
        let mut ops = serde_json::Map::new();
        let median_of = |mut ratios: Vec<f64>| {
            ratios.sort_by(f64::total_cmp);
            ratios.get(ratios.len() / 2).copied()
        };
        let paired = |figures: &[f64], bare: &str| {
            let bare = times.get(bare)?;
            median_of(
                figures
                    .iter()
                    .zip(bare)
                    .map(|(ours, bare)| ours / bare)
                    .collect(),
            )
        };
        for (name, figures) in &times {
            let mut sorted = figures.clone();
            sorted.sort_by(f64::total_cmp);
            let mut op = json!({
                "best_ns": sorted[0],
                "median_ns": sorted[sorted.len() / 2],
                "per_get": paired(figures, "bare_get"),
                "per_set": paired(figures, "bare_set"),
                "per_get_set": paired(figures, "bare_get_set"),
            });
            if let Some(t) = trips.get(name) {
                op["round_trips"] = json!(*t as f64 / (rounds * batch) as f64);
            }
            ops.insert((*name).to_owned(), op);
        }
        // A write after a request: the pair less the request, per bare SET, round by round.
        for (pair, name) in [
            ("request_set", "set_after_request"),
            ("request_increment", "increment_after_request"),
        ] {
            let (Some(p), Some(r), Some(s)) =
                (times.get(pair), times.get("request"), times.get("bare_set"))
            else {
                continue;
            };
            let ratios = p.iter().zip(r).zip(s).map(|((p, r), s)| (p - r) / s);
            ops.insert(
                name.to_owned(),
                json!({"per_set": median_of(ratios.collect())}),
            );
        }
        let best = |i: usize| {
            benchmark_runs
                .iter()
                .map(|r: &(f64, f64)| if i == 0 { r.0 } else { r.1 })
                .fold(f64::INFINITY, f64::min)
        };
        let redis_benchmark = (!benchmark_runs.is_empty())
            .then(|| json!({"get_ns": best(0) * 1000.0, "set_ns": best(1) * 1000.0}));
        println!(
            "{}",
            json!({
                "sessions": n,
                "rounds": rounds,
                "batch": batch,
                "record_bytes": record.len(),
                "ops": ops,
                "redis_benchmark": redis_benchmark,
            })
        );
        ok(sessmgr_reset(), "reset");
    }
}
