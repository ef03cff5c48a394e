//! Each operation of sessmgr, called through its exported C functions on registries of
//! 1,000, 100,000 and 1,000,000 live sessions (keys in random order), beside the same work done
//! by the floor (a single-threaded HashMap of session-sized values read with a parsed key),
//! Redis on loopback (one connection, no pipelining) and tower-sessions' memory store. The
//! library on the Redis store is measured by `redis_probe`, interleaved with bare round trips.
//!
//! Environment: SESSMGR_BENCH_SIZES (default "1000,100000,1000000"), SESSMGR_BENCH_QUICK=1 for
//! short runs, REDIS_URL (default redis://127.0.0.1:6390/; Redis is skipped when unreachable).

use std::collections::HashMap;
use std::ffi::{CString, c_char, c_void};
use std::hint::black_box;
use std::ptr;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sessmgr::ffi::admin::*;
use sessmgr::ffi::library::*;
use sessmgr::ffi::privileges::*;
use sessmgr::ffi::sessions::*;
use sessmgr::ffi::status::*;
use sessmgr::ffi::storage::*;
use sessmgr_bench::{ok, populate, shuffled, take, value_100};

fn sizes() -> Vec<usize> {
    std::env::var("SESSMGR_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,100000,1000000".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn quick() -> bool {
    std::env::var_os("SESSMGR_BENCH_QUICK").is_some()
}

fn configured() -> Criterion {
    let c = Criterion::default().configure_from_args().without_plots();
    if quick() {
        c.sample_size(10)
            .warm_up_time(Duration::from_millis(50))
            .measurement_time(Duration::from_millis(200))
    } else {
        c.sample_size(30)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
    }
}

/// Cycles through keys in a fixed random order.
struct Keys<T> {
    keys: Vec<T>,
    order: Vec<usize>,
    at: usize,
}

impl<T> Keys<T> {
    fn new(keys: Vec<T>) -> Keys<T> {
        let order = shuffled(keys.len());
        Keys { keys, order, at: 0 }
    }
    fn next(&mut self) -> &T {
        self.at = (self.at + 1) % self.order.len();
        &self.keys[self.order[self.at]]
    }
}

unsafe extern "C" fn increment(
    update: *mut sessmgr_update,
    current: *const c_char,
    _: *mut c_void,
) -> i32 {
    let current = unsafe { std::ffi::CStr::from_ptr(current) }.to_bytes();
    let mut value: serde_json::Value = serde_json::from_slice(current).unwrap();
    value["n"] = (value["n"].as_i64().unwrap_or(0) + 1).into();
    let next = CString::new(value.to_string()).unwrap();
    unsafe { sessmgr_update_set(update, next.as_ptr()) };
    SESSMGR_UPDATE_COMMIT
}

/// Creating a session when `maxSessions` guests are live (overloadPolicy evictGuests): what a
/// flood of anonymous visitors costs each new one, beside a create when there is room.
fn at_the_limit(c: &mut Criterion, size: usize) {
    ok(sessmgr_reset(), "reset");
    let config = CString::new(format!(r#"{{"maxSessions": {size}}}"#)).unwrap();
    ok(unsafe { sessmgr_configure(config.as_ptr()) }, "configure");
    for _ in 0..size {
        let mut id = ptr::null_mut();
        ok(
            unsafe { sessmgr_session_create(ptr::null(), &mut id) },
            "create",
        );
        unsafe { sessmgr_string_free(id) };
    }
    let mut group = c.benchmark_group(format!("overload/{size}"));
    group.bench_function("create_at_limit", |b| {
        b.iter(|| unsafe {
            let mut id = ptr::null_mut();
            let status = sessmgr_session_create(ptr::null(), &mut id);
            sessmgr_string_free(black_box(id));
            status
        })
    });
    group.finish();
    let mut count = 0u64;
    ok(unsafe { sessmgr_session_count(&mut count) }, "count");
    assert_eq!(count, size as u64, "the registry stayed at its limit");
}

fn sessmgr_operations(c: &mut Criterion) {
    let value = CString::new(value_100()).unwrap();
    for size in sizes() {
        // The IDs side by side, NUL-terminated, as the floor's keys are: a host reads the
        // cookie from its own request buffer.
        let ids: Vec<[u8; 33]> = populate(size)
            .iter()
            .map(|id| {
                let mut text = [0u8; 33];
                text[..32].copy_from_slice(id.as_bytes());
                text
            })
            .collect();
        let mut keys = Keys::new(ids);
        let mut group = c.benchmark_group(format!("sessmgr/{size}"));
        let mut granted = false;
        group.bench_function("has_privilege_granted", |b| {
            b.iter(|| unsafe {
                sessmgr_session_has_privilege(
                    keys.next().as_ptr().cast(),
                    c"WebAdmin".as_ptr(),
                    &mut granted,
                )
            })
        });
        // Checked by one more call, so that the check holds when a filter skipped the bench.
        unsafe {
            sessmgr_session_has_privilege(
                keys.next().as_ptr().cast(),
                c"WebAdmin".as_ptr(),
                &mut granted,
            )
        };
        assert!(granted);
        group.bench_function("has_privilege_denied", |b| {
            b.iter(|| unsafe {
                sessmgr_session_has_privilege(
                    keys.next().as_ptr().cast(),
                    c"Reports".as_ptr(),
                    &mut granted,
                )
            })
        });
        unsafe {
            sessmgr_session_has_privilege(
                keys.next().as_ptr().cast(),
                c"Reports".as_ptr(),
                &mut granted,
            )
        };
        assert!(!granted);
        let mut permission = |granted: &mut bool| unsafe {
            sessmgr_session_has_permission(
                keys.next().as_ptr().cast(),
                c"City.name".as_ptr(),
                c"read".as_ptr(),
                granted,
            )
        };
        group.bench_function("has_permission", |b| b.iter(|| permission(&mut granted)));
        granted = false;
        ok(permission(&mut granted), "has_permission");
        assert!(granted, "WebAdmin reads City");
        group.bench_function("session_info", |b| {
            b.iter(|| unsafe {
                let mut out = ptr::null_mut();
                sessmgr_session_info(keys.next().as_ptr().cast(), &mut out);
                sessmgr_string_free(black_box(out));
            })
        });
        group.bench_function("create_close", |b| {
            b.iter(|| unsafe {
                let mut id = ptr::null_mut();
                sessmgr_session_create(ptr::null(), &mut id);
                sessmgr_session_close(id);
                sessmgr_string_free(id);
            })
        });
        let mut flip = false;
        group.bench_function("set_identifier", |b| {
            b.iter(|| unsafe {
                flip = !flip;
                let identifier = if flip {
                    c"student-1".as_ptr()
                } else {
                    c"student-2".as_ptr()
                };
                sessmgr_session_set_identifier(keys.next().as_ptr().cast(), identifier)
            })
        });
        group.bench_function("touch", |b| {
            b.iter(|| unsafe { sessmgr_session_touch(keys.next().as_ptr().cast()) })
        });
        group.bench_function("storage_get", |b| {
            b.iter(|| unsafe {
                let mut out = ptr::null_mut();
                sessmgr_storage_get(keys.next().as_ptr().cast(), c"/v".as_ptr(), &mut out);
                sessmgr_string_free(black_box(out));
            })
        });
        group.bench_function("storage_set", |b| {
            b.iter(|| unsafe {
                sessmgr_storage_set(keys.next().as_ptr().cast(), c"/v".as_ptr(), value.as_ptr())
            })
        });
        // One small top-level key ("n", an integer): the read the increment is held to.
        group.bench_function("storage_get_small", |b| {
            b.iter(|| unsafe {
                let mut out = ptr::null_mut();
                sessmgr_storage_get(keys.next().as_ptr().cast(), c"/n".as_ptr(), &mut out);
                sessmgr_string_free(black_box(out));
            })
        });
        group.bench_function("storage_increment", |b| {
            b.iter(|| unsafe {
                let mut sum = 0i64;
                sessmgr_storage_increment(keys.next().as_ptr().cast(), c"/n".as_ptr(), 1, &mut sum);
                black_box(sum)
            })
        });
        // What a host does on every request: touch, a privilege, one small key.
        group.bench_function("request_path", |b| {
            b.iter(|| unsafe {
                let id = keys.next().as_ptr().cast();
                sessmgr_session_touch(id);
                sessmgr_session_has_privilege(id, c"WebAdmin".as_ptr(), &mut granted);
                let mut out = ptr::null_mut();
                sessmgr_storage_get(id, c"/n".as_ptr(), &mut out);
                sessmgr_string_free(black_box(out));
            })
        });
        // The same in one call: the ID parsed and the session found once.
        let mut request = |granted: &mut bool, out: &mut *mut c_char| unsafe {
            sessmgr_session_request(
                keys.next().as_ptr().cast(),
                c"WebAdmin".as_ptr(),
                c"/n".as_ptr(),
                granted,
                out,
            )
        };
        group.bench_function("request_call", |b| {
            b.iter(|| {
                let mut out = ptr::null_mut();
                request(&mut granted, &mut out);
                unsafe { sessmgr_string_free(black_box(out)) };
            })
        });
        {
            let mut out = ptr::null_mut();
            granted = false;
            ok(request(&mut granted, &mut out), "request");
            assert!(granted && !out.is_null(), "the one call answers both");
            unsafe { sessmgr_string_free(out) };
        }
        group.bench_function("storage_update", |b| {
            b.iter(|| unsafe {
                sessmgr_storage_update(
                    keys.next().as_ptr().cast(),
                    Some(increment),
                    ptr::null_mut(),
                )
            })
        });
        let mut n = 0u32;
        group.bench_function("request_mix", |b| {
            b.iter(|| unsafe {
                let id = keys.next().as_ptr().cast();
                sessmgr_session_touch(id);
                sessmgr_session_has_privilege(id, c"WebAdmin".as_ptr(), &mut granted);
                let mut out = ptr::null_mut();
                sessmgr_storage_get(id, c"/v".as_ptr(), &mut out);
                sessmgr_string_free(black_box(out));
                n += 1;
                if n.is_multiple_of(10) {
                    sessmgr_storage_set(id, c"/v".as_ptr(), value.as_ptr());
                }
            })
        });
        group.finish();
        // At maxSessions, full of guests: each create evicts the least recently active one.
        at_the_limit(c, size);
    }
    // The administrator's listing, at 10,000 sessions.
    populate(10_000);
    let mut group = c.benchmark_group("listing/10000");
    group.bench_function("sessions_list", |b| {
        b.iter(|| unsafe {
            let mut out = ptr::null_mut();
            ok(sessmgr_sessions_list(&mut out), "sessions_list");
            black_box(take(out).len())
        })
    });
    group.bench_function("clients_list", |b| {
        b.iter(|| unsafe {
            let mut out = ptr::null_mut();
            ok(sessmgr_clients_list(&mut out), "clients_list");
            black_box(take(out).len())
        })
    });
    // What an admin page asks for instead: a page of 20, and a search that matches nothing
    // (the scan alone).
    for (name, query) in [
        ("clients_query_page", c"{\"offset\": 5000, \"limit\": 20}"),
        ("clients_query_no_match", c"{\"search\": \"no such kiosk\"}"),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| unsafe {
                let mut out = ptr::null_mut();
                ok(sessmgr_clients_query(query.as_ptr(), &mut out), name);
                black_box(take(out).len())
            })
        });
    }
    group.finish();
    ok(sessmgr_reset(), "reset");
}

/// The floor: the cost of finding a session-sized value by an already-parsed key and reading
/// one word of it, single-threaded, in a plain HashMap.
fn floor(c: &mut Criterion) {
    for size in sizes() {
        let mut map: HashMap<u128, Box<[u64; 48]>> = HashMap::with_capacity(size);
        let mut state = 0x2545_F491_4F6C_DD1Du128;
        let keys: Vec<u128> = (0..size)
            .map(|i| {
                state = state
                    .wrapping_mul(0x5851_F42D_4C95_7F2D_1405_7B7E_F767_814F)
                    .wrapping_add(1);
                map.insert(state, Box::new([i as u64; 48]));
                state
            })
            .collect();
        let mut keys = Keys::new(keys);
        let mut group = c.benchmark_group(format!("floor/{size}"));
        group.bench_function("lookup", |b| {
            b.iter(|| black_box(map.get(keys.next()).map(|v| v[0])))
        });
        group.finish();
    }
}

fn redis_operations(c: &mut Criterion) {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6390/".to_owned());
    let Ok(mut redis) =
        redis::Client::open(url.as_str()).and_then(|client| client.get_connection())
    else {
        eprintln!("Redis is not reachable at {url}: skipping its benchmarks");
        return;
    };
    let storage = format!(r#"{{"n":0,"v":{}}}"#, value_100());
    let increment_script = redis::Script::new(
        "local s = cjson.decode(redis.call('GET', KEYS[1])); s.n = s.n + 1; \
         redis.call('SET', KEYS[1], cjson.encode(s)); return s.n",
    );
    for size in sizes().into_iter().filter(|s| *s <= 100_000) {
        let _: () = redis::cmd("FLUSHALL").query(&mut redis).unwrap();
        let ids: Vec<String> = (0..size).map(|i| format!("{i:032X}")).collect();
        // Filling may pipeline; the measured operations do not.
        for chunk in ids.chunks(1000) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("HSET")
                    .arg(format!("s:{id}"))
                    .arg(&[
                        "type",
                        "web",
                        "userName",
                        "bench",
                        "identifier",
                        "",
                        "state",
                        "active",
                    ])
                    .ignore();
                pipe.cmd("SADD")
                    .arg(format!("s:{id}:privileges"))
                    .arg("WebAdmin")
                    .ignore();
                pipe.cmd("SET")
                    .arg(format!("s:{id}:storage"))
                    .arg(&storage)
                    .ignore();
            }
            let _: () = pipe.query(&mut redis).unwrap();
        }
        let mut keys = Keys::new(ids);
        let mut group = c.benchmark_group(format!("redis/{size}"));
        group.bench_function("has_privilege_granted", |b| {
            b.iter(|| {
                let yes: bool = redis::cmd("SISMEMBER")
                    .arg(format!("s:{}:privileges", keys.next()))
                    .arg("WebAdmin")
                    .query(&mut redis)
                    .unwrap();
                yes
            })
        });
        group.bench_function("session_info", |b| {
            b.iter(|| {
                let info: HashMap<String, String> = redis::cmd("HGETALL")
                    .arg(format!("s:{}", keys.next()))
                    .query(&mut redis)
                    .unwrap();
                info
            })
        });
        let mut counter = 0u64;
        group.bench_function("create_close", |b| {
            b.iter(|| {
                counter += 1;
                let key = format!("s:new{counter}");
                let _: () = redis::cmd("HSET")
                    .arg(&key)
                    .arg(&["type", "web", "state", "active"])
                    .query(&mut redis)
                    .unwrap();
                let _: () = redis::cmd("DEL").arg(&key).query(&mut redis).unwrap();
            })
        });
        group.bench_function("set_identifier", |b| {
            b.iter(|| {
                let _: () = redis::cmd("HSET")
                    .arg(format!("s:{}", keys.next()))
                    .arg(&["identifier", "student-1"])
                    .query(&mut redis)
                    .unwrap();
            })
        });
        group.bench_function("touch", |b| {
            b.iter(|| {
                let _: () = redis::cmd("PEXPIRE")
                    .arg(format!("s:{}", keys.next()))
                    .arg(3_600_000)
                    .query(&mut redis)
                    .unwrap();
            })
        });
        group.bench_function("storage_get", |b| {
            b.iter(|| {
                let value: String = redis::cmd("GET")
                    .arg(format!("s:{}:storage", keys.next()))
                    .query(&mut redis)
                    .unwrap();
                value
            })
        });
        group.bench_function("storage_set", |b| {
            b.iter(|| {
                let _: () = redis::cmd("SET")
                    .arg(format!("s:{}:storage", keys.next()))
                    .arg(&storage)
                    .query(&mut redis)
                    .unwrap();
            })
        });
        group.bench_function("storage_update", |b| {
            b.iter(|| {
                let n: i64 = increment_script
                    .key(format!("s:{}:storage", keys.next()))
                    .invoke(&mut redis)
                    .unwrap();
                n
            })
        });
        let mut n = 0u32;
        group.bench_function("request_mix", |b| {
            b.iter(|| {
                let id = keys.next().clone();
                let _: () = redis::cmd("PEXPIRE")
                    .arg(format!("s:{id}"))
                    .arg(3_600_000)
                    .query(&mut redis)
                    .unwrap();
                let _: bool = redis::cmd("SISMEMBER")
                    .arg(format!("s:{id}:privileges"))
                    .arg("WebAdmin")
                    .query(&mut redis)
                    .unwrap();
                let _: String = redis::cmd("GET")
                    .arg(format!("s:{id}:storage"))
                    .query(&mut redis)
                    .unwrap();
                n += 1;
                if n.is_multiple_of(10) {
                    let _: () = redis::cmd("SET")
                        .arg(format!("s:{id}:storage"))
                        .arg(&storage)
                        .query(&mut redis)
                        .unwrap();
                }
            })
        });
        group.finish();
    }
    let _: () = redis::cmd("FLUSHALL").query(&mut redis).unwrap();
}

fn tower_sessions(c: &mut Criterion) {
    use tower_sessions_core::SessionStore;
    use tower_sessions_core::session::{Id, Record};
    use tower_sessions_memory_store::MemoryStore;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for size in sizes().into_iter().filter(|s| *s <= 100_000) {
        let store = MemoryStore::default();
        let expiry = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
        let record = |id: Id| {
            let mut data = HashMap::new();
            data.insert("userName".to_owned(), serde_json::json!("bench"));
            data.insert("v".to_owned(), serde_json::json!("v".repeat(98)));
            data.insert("n".to_owned(), serde_json::json!(0));
            Record {
                id,
                data,
                expiry_date: expiry,
            }
        };
        let ids: Vec<Id> = runtime.block_on(async {
            let mut ids = Vec::with_capacity(size);
            for _ in 0..size {
                let mut r = record(Id::default());
                store.create(&mut r).await.unwrap();
                ids.push(r.id);
            }
            ids
        });
        let mut keys = Keys::new(ids);
        let mut group = c.benchmark_group(format!("tower_sessions/{size}"));
        group.bench_function("create_delete", |b| {
            b.to_async(&runtime).iter(|| async {
                let mut r = record(Id::default());
                store.create(&mut r).await.unwrap();
                store.delete(&r.id).await.unwrap();
            })
        });
        group.bench_function("load", |b| {
            b.to_async(&runtime).iter(|| {
                let id = *keys.next();
                let store = &store;
                async move { black_box(store.load(&id).await.unwrap()) }
            })
        });
        group.bench_function("load_save", |b| {
            b.to_async(&runtime).iter(|| {
                let id = *keys.next();
                let store = &store;
                async move {
                    let mut r = store.load(&id).await.unwrap().unwrap();
                    let n = r.data["n"].as_i64().unwrap_or(0) + 1;
                    r.data.insert("n".to_owned(), serde_json::json!(n));
                    store.save(&r).await.unwrap();
                }
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = configured();
    targets = sessmgr_operations, floor, redis_operations, tower_sessions
}
criterion_main!(benches);
