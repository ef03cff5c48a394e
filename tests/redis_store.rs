//! The Redis store (SPEC section 11), against a real `redis-server` started by each test on a
//! free loopback port. Two `Registry` values on one server and prefix are two hosts.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::race::{Role, lockstep, race};
use common::redis_server::{RedisServer, session_key};
use serde_json::{Value, json};
use sessmgr::{ErrorKind, Registry, SessionId, UpdateOutcome};

const ROLES: &str = r#"{"privileges": [{"privilege": "simple"},
                                       {"privilege": "medium", "includes": ["simple"]},
                                       {"privilege": "WebAdmin"}],
                        "roles": [{"role": "Medium", "privileges": ["medium"]}]}"#;

/// A host on `server` under `prefix`, with the roles file every host of the site loads.
fn host(server: &RedisServer, prefix: &str) -> Registry {
    let r = Registry::new();
    r.configure(&server.store(prefix)).unwrap();
    r.load_roles(ROLES).unwrap();
    r
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[track_caller]
fn kind<T: std::fmt::Debug>(result: sessmgr::Result<T>) -> ErrorKind {
    result.unwrap_err().kind
}

#[test]
fn a_session_made_on_one_host_is_the_same_session_on_another() {
    let server = RedisServer::start();
    let (a, b) = (host(&server, "site:"), host(&server, "site:"));
    let id = a
        .create(Some(
            r#"{"type": "rest", "IPAddress": "10.0.0.7", "idleTimeout": 90}"#,
        ))
        .unwrap();
    assert_eq!(a.info(id).unwrap(), b.info(id).unwrap());
    assert_eq!(json_of(&b.info(id).unwrap())["IPAddress"], "10.0.0.7");
    assert_eq!(b.idle_timeout(id).unwrap(), 90);

    // Each host's change is the other's at once.
    b.set_identifier(id, "Kiosk 4").unwrap();
    assert_eq!(a.identifier(id).unwrap(), "Kiosk 4");
    let ignored = a
        .set_privileges(
            id,
            r#"{"roles": ["Medium"], "privileges": ["nope"], "userName": "ann"}"#,
        )
        .unwrap();
    assert_eq!(ignored, vec!["nope"]);
    assert_eq!(b.user_name(id).unwrap(), "ann");
    assert!(b.has_privilege(id, "simple").unwrap(), "expanded on B too");
    assert!(!b.has_privilege(id, "WebAdmin").unwrap());
    assert_eq!(
        json_of(&b.privileges(id).unwrap()),
        json!(["simple", "medium"])
    );
    a.storage_set(id, "/cart", r#"{"items": [1, 2]}"#).unwrap();
    b.storage_merge(id, r#"{"step": 2}"#).unwrap();
    assert_eq!(
        json_of(&a.storage_get(id, "").unwrap()),
        json!({"cart": {"items": [1, 2]}, "step": 2})
    );
    b.storage_remove(id, "/cart").unwrap();
    assert_eq!(kind(a.storage_get(id, "/cart")), ErrorKind::NoValue);
    a.set_state(id, "postponed").unwrap();
    assert_eq!(json_of(&b.info(id).unwrap())["state"], "postponed");
    b.clear_privileges(id).unwrap();
    assert!(a.is_guest(id).unwrap());

    // Client numbers come from Redis: distinct across hosts, in order of creation.
    let other = b.create(None).unwrap();
    assert!(b.client_id(other).unwrap() > a.client_id(id).unwrap());
    assert_eq!(a.client_id(other).unwrap(), b.client_id(other).unwrap());
    assert_eq!(a.live_sessions().unwrap(), 2);

    b.close(id).unwrap();
    assert_eq!(kind(a.info(id)), ErrorKind::NotFound);
    assert_eq!(kind(a.close(id)), ErrorKind::NotFound);
    assert_eq!(a.live_sessions().unwrap(), 1);

    // Another prefix is another site.
    let elsewhere = host(&server, "other:");
    assert_eq!(kind(elsewhere.info(other)), ErrorKind::NotFound);
    assert_eq!(elsewhere.live_sessions().unwrap(), 0);
}

#[test]
fn bad_input_changes_nothing_in_the_store() {
    let server = RedisServer::start();
    let (a, b) = (host(&server, "p:"), host(&server, "p:"));
    let id = a.create(None).unwrap();
    a.storage_set(id, "/n", "1").unwrap();
    let before = b.info(id).unwrap();
    assert_eq!(kind(b.storage_set(id, "/a/b", "2")), ErrorKind::NoValue);
    assert_eq!(kind(b.storage_set(id, "/n", "{")), ErrorKind::InvalidJson);
    assert_eq!(kind(b.set_state(id, "asleep")), ErrorKind::InvalidArgument);
    assert_eq!(
        kind(b.set_identifier(id, &"x".repeat(300))),
        ErrorKind::LimitExceeded
    );
    assert_eq!(
        kind(b.idle_timeout(SessionId::parse("0123456789ABCDEF0123456789ABCDEF").unwrap())),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(b.storage_update(id, |_| UpdateOutcome::Abort)),
        ErrorKind::Aborted
    );
    assert_eq!(a.info(id).unwrap(), before);
    assert_eq!(a.storage_get(id, "").unwrap(), r#"{"n":1}"#);
    // The session is kept under its ID's digest, and nothing is under its ID.
    let mut c = server.connection();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
    let hex = id.to_string();
    assert!(!keys.iter().any(|k| k.to_uppercase().contains(&hex)));
    assert!(
        keys.contains(&format!("p:s:{}", session_key(id))),
        "{keys:?}"
    );
}

/// 4 threads on each of two hosts increment one counter through `storage_update` (100 times
/// each at least, 25 of them while a thread of the other host finished one), changing the
/// identifier in between: no increment is lost, each change is told once.
#[test]
fn no_increment_is_lost_when_two_hosts_update_one_session_from_four_threads_each() {
    let server = RedisServer::start();
    let hosts = [host(&server, "c:"), host(&server, "c:")];
    let seen = [common::recorder(&hosts[0]), common::recorder(&hosts[1])];
    let id = hosts[0].create(None).unwrap();
    hosts[0].storage_set(id, "/count", "0").unwrap();
    let runs = AtomicU64::new(0);
    let on = |h: usize| {
        let (r, runs) = (&hosts[h], &runs);
        move |t: usize, i: u64| {
            r.storage_update(id, |current| {
                runs.fetch_add(1, Ordering::Relaxed);
                let mut storage: Value = serde_json::from_str(current).unwrap();
                let n = storage["count"].as_i64().unwrap();
                storage["count"] = json!(n + 1);
                UpdateOutcome::Replace(storage)
            })
            .unwrap();
            // A change of identifier in between moves the record's version, not the
            // storage's; its attempts that lose a race must tell nobody.
            r.set_identifier(id, &format!("host {h}, thread {t}, call {i}"))
                .unwrap();
        }
    };
    let (on_a, on_b) = (on(0), on(1));
    let done = race(&[
        Role::new("host A", 4, &on_a).rounds(100).overlapped(25),
        Role::new("host B", 4, &on_b).rounds(100).overlapped(25),
    ]);
    let calls = done[0].rounds + done[1].rounds;
    let runs = runs.into_inner();
    assert_eq!(
        hosts[1].storage_get(id, "/count").unwrap(),
        calls.to_string()
    );
    assert!(runs >= calls, "{runs}");
    eprintln!("{calls} increments took {runs} callback runs");
    let told: usize = seen
        .iter()
        .map(|seen| {
            let seen = seen.lock().unwrap();
            seen.iter()
                .filter(|e| e["event"] == "identifierChanged")
                .count()
        })
        .sum();
    assert_eq!(told as u64, calls, "one event per change of identifier");
    let counted: u64 = hosts
        .iter()
        .map(|r| {
            json_of(&r.stats().unwrap())["identifierChanges"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(counted, calls);
}

#[test]
fn an_idle_session_ends_for_every_host_and_activity_on_one_keeps_it_for_all() {
    let server = RedisServer::start();
    let (a, b) = (host(&server, "t:"), host(&server, "t:"));
    for r in [&a, &b] {
        r.configure(r#"{"clock": "manual"}"#).unwrap();
    }
    // Both manual clocks start at the system's time; each host advances its own.
    let id = a.create(None).unwrap();
    let expiry = a.expiration_date(id).unwrap();
    a.advance_clock(59 * 60).unwrap();
    b.advance_clock(59 * 60).unwrap();
    b.touch(id).unwrap();
    assert!(
        a.expiration_date(id).unwrap() > expiry,
        "B's activity moved it"
    );
    a.advance_clock(59 * 60).unwrap();
    b.advance_clock(59 * 60).unwrap();
    assert!(a.touch(id).is_ok());
    a.advance_clock(61 * 60).unwrap();
    b.advance_clock(61 * 60).unwrap();
    assert_eq!(kind(a.touch(id)), ErrorKind::NotFound);
    assert_eq!(kind(b.info(id)), ErrorKind::NotFound);
    // The key's own expiry is the session's (Redis drops it then by its own clock).
    let mut c = server.connection();
    let at: i64 = redis::cmd("PEXPIRETIME")
        .arg(format!("t:s:{}", session_key(id)))
        .query(&mut c)
        .unwrap();
    let end = sessmgr::iso8601(at);
    assert!(end > expiry, "{end} after {expiry}");
}

/// Commands the session scripts run inside Redis (counted there too, but no round trip).
const INSIDE_SCRIPTS: &[&str] = &[
    "hmget",
    "hset",
    "pexpireat",
    "persist",
    "zadd",
    "zrem",
    "sadd",
];

/// Calls per command the server has counted since its statistics were last reset, leaving
/// out the test's own `INFO` and `CONFIG`, the notices' reader's `XREAD` and the commands of
/// [`INSIDE_SCRIPTS`]: the round trips the library's calls made.
fn commands(c: &mut redis::Connection) -> std::collections::BTreeMap<String, u64> {
    let info: String = redis::cmd("INFO").arg("commandstats").query(c).unwrap();
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(":calls=")?;
            let calls = rest.split(',').next()?.parse().ok()?;
            // XREAD: each host's reader of the other hosts' notices (its own thread and
            // connection, waiting on the stream), no call's round trip.
            (!name.starts_with("info")
                && !name.starts_with("config")
                && name != "xread"
                && !INSIDE_SCRIPTS.contains(&name))
            .then(|| (name.to_owned(), calls))
        })
        .collect()
}

fn reset_statistics(c: &mut redis::Connection) {
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query::<()>(c)
        .unwrap();
}

#[test]
fn a_request_is_one_round_trip_and_a_write_after_it_one_more() {
    let server = RedisServer::start();
    let (a, b) = (host(&server, "rt:"), host(&server, "rt:"));
    let id = a.create(None).unwrap();
    a.set_privileges(id, "simple").unwrap();
    // The scripts loaded.
    a.storage_set(id, "/n", "0").unwrap();
    let mut c = server.connection();
    reset_statistics(&mut c);
    // Within a minute of the activity recorded, a request only reads; the writes after it go
    // on the version it read.
    for round in 1..=100 {
        let answer = a
            .request(id, Some(b"simple".as_slice()), Some("/n"))
            .unwrap();
        assert_eq!(answer.granted, Some(true));
        a.storage_set(id, "/s", "\"x\"").unwrap();
        assert_eq!(a.storage_increment(id, "/n", 1).unwrap(), round);
    }
    let seen = commands(&mut c);
    assert_eq!(
        seen,
        [("hget".to_owned(), 100), ("evalsha".to_owned(), 200)].into(),
        "one read per request, one script per write"
    );
    // Another host's write (from another thread) between the read and the write: the write
    // reads again, on what that host wrote, and a comparison is made with what is there now.
    let on_b =
        |f: &(dyn Fn(&Registry) + Sync)| std::thread::scope(|s| s.spawn(|| f(&b)).join().unwrap());
    a.request(id, None, None).unwrap();
    on_b(&|b| b.storage_set(id, "/n", "500").unwrap());
    assert_eq!(a.storage_increment(id, "/n", 1).unwrap(), 501);
    a.request(id, None, None).unwrap();
    on_b(&|b| b.storage_set(id, "/n", "7").unwrap());
    a.storage_compare_and_set(id, "/n", Some("7"), Some("8"))
        .unwrap();
    a.request(id, None, None).unwrap();
    on_b(&|b| b.storage_set(id, "/n", "9").unwrap());
    assert_eq!(
        kind(a.storage_compare_and_set(id, "/n", Some("8"), Some("10"))),
        ErrorKind::Conflict
    );
    assert_eq!(b.storage_get(id, "/n").unwrap(), "9");
    // The same value written again is still written (and so is its activity).
    a.request(id, None, None).unwrap();
    on_b(&|b| b.storage_set(id, "/n", "3").unwrap());
    a.storage_set(id, "/n", "9").unwrap();
    assert_eq!(b.storage_get(id, "/n").unwrap(), "9");
    // Closed by another host meanwhile: gone, not written.
    a.request(id, None, None).unwrap();
    on_b(&|b| b.close(id).unwrap());
    assert_eq!(kind(a.storage_set(id, "/n", "1")), ErrorKind::NotFound);
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("rt:s:*").query(&mut c).unwrap();
    keys.retain(|k| k.contains(&session_key(id)));
    assert!(keys.is_empty(), "{keys:?}");
}

#[test]
fn a_login_without_a_cap_reads_none_of_the_users_other_sessions() {
    let server = RedisServer::start();
    let a = host(&server, "login:");
    let ids: Vec<SessionId> = (0..30).map(|_| a.create(None).unwrap()).collect();
    a.set_privileges(ids[0], r#"{"userName": "ann"}"#).unwrap();
    let mut c = server.connection();
    reset_statistics(&mut c);
    for &id in &ids[1..] {
        a.set_privileges(id, r#"{"userName": "ann"}"#).unwrap();
    }
    // Two reads (the user it had, then the change) and a write each, however many sessions
    // the user has already: none of theirs is read.
    assert_eq!(
        commands(&mut c),
        [("hget".to_owned(), 2 * 29), ("evalsha".to_owned(), 29)].into()
    );
    assert_eq!(
        a.user_sessions("ann")
            .map(|t| json_of(&t)["clients"].as_array().unwrap().len())
            .unwrap(),
        30
    );
    // Under a cap, the user's sessions are read (and the cap holds).
    a.configure(r#"{"maxSessionsPerUser": 30}"#).unwrap();
    let extra = a.create(None).unwrap();
    assert_eq!(
        kind(a.set_privileges(extra, r#"{"userName": "ann"}"#)),
        ErrorKind::LimitExceeded
    );
}

#[test]
fn events_are_told_by_the_host_that_made_the_change_once() {
    let server = RedisServer::start();
    let (a, b) = (host(&server, "e:"), host(&server, "e:"));
    let (seen_a, seen_b) = (common::recorder(&a), common::recorder(&b));
    let id = a.create(None).unwrap();
    b.set_identifier(id, "Desk 1").unwrap();
    b.set_identifier(id, "Desk 1").unwrap();
    a.close(id).unwrap();
    let kinds = |seen: &std::sync::Mutex<Vec<Value>>| -> Vec<String> {
        seen.lock()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(kinds(&seen_a), vec!["created", "closed"]);
    // B is told the close too, as A's notice (docs/redis.md): after its own event, once the
    // notice comes (a minute only turns one that never comes into a failure).
    let started = std::time::Instant::now();
    while kinds(&seen_b).len() < 2 {
        assert!(
            started.elapsed().as_secs() < 60,
            "no notice: {:?}",
            kinds(&seen_b)
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(kinds(&seen_b), vec!["identifierChanged", "closed"]);
    let notice = seen_b.lock().unwrap()[1].clone();
    assert_eq!(notice["ID"], "");
    assert_eq!(notice["reason"], "host");
    assert!(
        notice["host"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":{}", std::process::id()))
    );
    assert!(seen_b.lock().unwrap()[0]["host"].is_null());
    assert_eq!(json_of(&b.stats().unwrap())["identifierChanges"], 1);
    // A is not told its own notices.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(kinds(&seen_a), vec!["created", "closed"]);
}

#[test]
fn a_password_in_the_url_is_used_and_never_repeated() {
    let server = RedisServer::with_password("s3cret-pw");
    let r = Registry::new();
    r.configure(&server.store("pw:")).unwrap();
    let id = r.create(None).unwrap();
    r.storage_set(id, "/n", "1").unwrap();
    assert_eq!(r.storage_get(id, "/n").unwrap(), "1");
    // Without it, or with another, Redis refuses: the message names neither.
    for url in [
        format!("redis://127.0.0.1:{}/0", server.port),
        format!("redis://:wrong-pw@127.0.0.1:{}/0", server.port),
    ] {
        let other = Registry::new();
        let e = other
            .configure(&json!({"store": {"kind": "redis", "url": url}}).to_string())
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable, "{}", e.message);
        assert!(!e.message.contains("pw"), "{}", e.message);
    }
}

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// `rediss://`: a server with TLS, its certificate signed by a private CA that `caFile`
/// names. Checked: the server's certificate, not a connection without it.
#[test]
fn rediss_reaches_a_tls_server_checked_against_ca_file() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rsa = ["-newkey", "rsa:2048", "-nodes"];
    openssl(
        &dir,
        &[
            &["req", "-x509"],
            &rsa[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "2",
                "-subj",
                "/CN=sessmgr test CA",
            ],
        ]
        .concat(),
    );
    openssl(
        &dir,
        &[
            &["req"],
            &rsa[..],
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
    // Another CA, which did not sign the server's certificate.
    openssl(
        &dir,
        &[
            &["req", "-x509"],
            &rsa[..],
            &[
                "-keyout",
                "other.key",
                "-out",
                "other.crt",
                "-days",
                "2",
                "-subj",
                "/CN=another CA",
            ],
        ]
        .concat(),
    );
    let (server, tls_port) = RedisServer::with_tls(
        &dir.join("server.crt"),
        &dir.join("server.key"),
        &dir.join("ca.crt"),
    );
    let store = |ca: &str| {
        json!({"store": {"kind": "redis", "url": format!("rediss://127.0.0.1:{tls_port}/0"),
                         "caFile": dir.join(ca), "prefix": "tls:"}})
        .to_string()
    };
    let r = Registry::new();
    r.configure(&store("ca.crt")).unwrap();
    let id = r.create(None).unwrap();
    r.storage_set(id, "/n", "1").unwrap();
    // The session is in the server (read over its plain port).
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("tls:s:*")
        .query(&mut server.connection())
        .unwrap();
    assert_eq!(keys.len(), 1);
    // Checked against another CA, the server's certificate is refused: nothing connects.
    let other = Registry::new();
    assert_eq!(
        kind(other.configure(&store("other.crt"))),
        ErrorKind::Unavailable
    );
    // Nor does a plain connection to the TLS port, or a caFile that is not there.
    let plain = json!({"store": {"kind": "redis", "url": format!("redis://127.0.0.1:{tls_port}/0"), "timeoutMs": 500}});
    assert_eq!(
        kind(other.configure(&plain.to_string())),
        ErrorKind::Unavailable
    );
    assert_eq!(
        kind(other.configure(&store("missing.crt"))),
        ErrorKind::InvalidArgument
    );
    // caFile is for rediss:// alone.
    let wrong =
        json!({"store": {"kind": "redis", "url": server.url(), "caFile": dir.join("ca.crt")}});
    assert_eq!(
        kind(other.configure(&wrong.to_string())),
        ErrorKind::InvalidArgument
    );
    assert_eq!(r.storage_get(id, "/n").unwrap(), "1");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_store_setting_is_checked_and_cannot_change_under_live_sessions() {
    let server = RedisServer::start();
    let r = Registry::new();
    for (config, expected) in [
        (r#"{"store": "redis"}"#, ErrorKind::InvalidArgument),
        (r#"{"store": {}}"#, ErrorKind::InvalidArgument),
        (r#"{"store": {"kind": "disk"}}"#, ErrorKind::InvalidArgument),
        (
            r#"{"store": {"kind": "redis"}}"#,
            ErrorKind::InvalidArgument,
        ),
        (
            r#"{"store": {"kind": "redis", "url": "http://x"}}"#,
            ErrorKind::InvalidArgument,
        ),
        (
            r#"{"store": {"kind": "memory", "url": "redis://x"}}"#,
            ErrorKind::InvalidArgument,
        ),
        (
            r#"{"store": {"kind": "redis", "url": "redis://127.0.0.1:6379", "timeoutMs": 0}}"#,
            ErrorKind::InvalidArgument,
        ),
        (
            r#"{"store": {"kind": "redis", "url": "redis://127.0.0.1:6379", "colour": 1}}"#,
            ErrorKind::InvalidArgument,
        ),
        // Sentinel: both keys, well formed, and not with a URL.
        (
            r#"{"store": {"kind": "redis", "sentinels": ["127.0.0.1:1"]}}"#,
            ErrorKind::InvalidArgument,
        ),
        (
            r#"{"store": {"kind": "redis", "service": "site"}}"#,
            ErrorKind::InvalidArgument,
        ),
        (
            r#"{"store": {"kind": "redis", "sentinels": [], "service": "site"}}"#,
            ErrorKind::InvalidArgument,
        ),
        (
            r#"{"store": {"kind": "redis", "sentinels": ["127.0.0.1"], "service": "site"}}"#,
            ErrorKind::InvalidArgument,
        ),
        (
            r#"{"store": {"kind": "redis", "sentinels": ["127.0.0.1:70000"], "service": "site"}}"#,
            ErrorKind::InvalidArgument,
        ),
        (
            r#"{"store": {"kind": "redis", "sentinels": ["127.0.0.1:1"], "service": ""}}"#,
            ErrorKind::InvalidArgument,
        ),
        (
            r#"{"store": {"kind": "redis", "url": "redis://127.0.0.1:6379", "sentinels": ["127.0.0.1:1"], "service": "site"}}"#,
            ErrorKind::InvalidArgument,
        ),
        // No Sentinel answers on port 1.
        (
            r#"{"store": {"kind": "redis", "sentinels": ["127.0.0.1:1"], "service": "site"}}"#,
            ErrorKind::Unavailable,
        ),
    ] {
        let e = r.configure(config).unwrap_err();
        assert_eq!(e.kind, expected, "{config}: {}", e.message);
    }
    // Nobody listens on port 1: refused, named by its address, nothing changed.
    let e = r
        .configure(r#"{"store": {"kind": "redis", "url": "redis://:secret@127.0.0.1:1/0"}, "maxSessions": 5}"#)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert!(e.message.contains("127.0.0.1:1"), "{}", e.message);
    assert!(!e.message.contains("secret"), "{}", e.message);
    assert_eq!(r.settings().max_sessions, 1_000_000);
    assert_eq!(r.settings().store, sessmgr::StoreSettings::Memory);

    // Sessions in this process would be left behind by a change of store.
    let local = r.create(None).unwrap();
    assert_eq!(kind(r.configure(&server.store("x:"))), ErrorKind::BadState);
    r.close(local).unwrap();
    r.configure(&server.store("x:")).unwrap();
    let remote = r.create(None).unwrap();
    // Sessions in Redis are the site's: this host may leave them there.
    r.configure(r#"{"store": {"kind": "memory"}}"#).unwrap();
    assert_eq!(kind(r.info(remote)), ErrorKind::NotFound);
    r.configure(&server.store("x:")).unwrap();
    assert!(r.info(remote).is_ok());
    r.reset();
    assert_eq!(r.settings().store, sessmgr::StoreSettings::Memory);
    assert_eq!(kind(r.info(remote)), ErrorKind::NotFound);
}

#[test]
fn redis_down_is_unavailable_with_nothing_half_done_and_back_by_itself() {
    let mut server = RedisServer::start();
    let r = host(&server, "d:");
    let id = r.create(None).unwrap();
    r.storage_set(id, "/n", "1").unwrap();
    server.stop();
    for e in [
        r.storage_set(id, "/n", "2").unwrap_err(),
        r.touch(id).unwrap_err(),
        r.create(None).unwrap_err(),
        r.storage_update(id, |_| UpdateOutcome::Keep).unwrap_err(),
    ] {
        assert_eq!(e.kind, ErrorKind::Unavailable, "{}", e.message);
        assert!(
            e.message.contains(&format!("127.0.0.1:{}", server.port)),
            "{}",
            e.message
        );
        assert!(!e.message.contains(&id.to_string()), "{}", e.message);
    }
    server.restart();
    // Reconnected without being told; the failed write did not happen.
    assert_eq!(r.storage_get(id, "/n").unwrap(), "1");
    r.storage_set(id, "/n", "3").unwrap();
    assert_eq!(r.storage_get(id, "/n").unwrap(), "3");
}

#[test]
fn rotation_passcodes_messages_and_files_work_across_hosts() {
    let server = RedisServer::start();
    let (a, b) = (host(&server, "r:"), host(&server, "r:"));
    let seen = common::recorder(&b);
    let guest = a.create(None).unwrap();
    a.storage_set(guest, "/cart", "[1]").unwrap();
    let client = a.client_id(guest).unwrap();
    // A login on B: a new ID and the grant in one step; the old ID is dead for A at once.
    let (id, ignored) = b
        .rotate_id(
            guest,
            Some(r#"{"privileges": ["medium"], "userName": "ann"}"#),
        )
        .unwrap();
    assert!(ignored.is_empty());
    assert_ne!(id, guest);
    assert_eq!(kind(a.info(guest)), ErrorKind::NotFound);
    assert!(a.has_privilege(id, "simple").unwrap());
    assert_eq!(a.storage_get(id, "/cart").unwrap(), "[1]");
    assert_eq!(a.client_id(id).unwrap(), client, "the client number stays");
    assert_eq!(seen.lock().unwrap().last().unwrap()["event"], "idRotated");
    // With a grace time, the old ID reaches the session for that long, on every host.
    for r in [&a, &b] {
        r.configure(r#"{"rotationGraceSeconds": 30}"#).unwrap();
    }
    let (newer, _) = a.rotate_id(id, None).unwrap();
    assert_eq!(b.client_id(id).unwrap(), client);
    assert_eq!(b.client_id(newer).unwrap(), client);

    // A passcode made on A is spent once, on B.
    let token = a.create_otp(newer, 60).unwrap();
    assert_eq!(b.restore(token).unwrap(), newer);
    assert_eq!(kind(a.restore(token)), ErrorKind::NotFound);
    assert_eq!(kind(b.restore(token)), ErrorKind::NotFound);
    // One made before a rotation gives the ID after it (Redis has neither: the passcode opens
    // the session's secret, which opens its current ID).
    let early = a.create_otp(newer, 60).unwrap();
    let (newest, _) = b.rotate_id(newer, None).unwrap();
    assert_eq!(a.restore(early).unwrap(), newest);
    assert_eq!(a.client_id(newest).unwrap(), client);
    let newer = newest;

    // An administrator on B reaches A's client by its number.
    b.send_message(client, "maintenance at noon").unwrap();
    let messages = json_of(&a.take_messages(newer).unwrap());
    assert_eq!(messages["messages"][0]["text"], "maintenance at noon");
    b.disconnect(client, None, 0).unwrap();
    assert_eq!(kind(a.touch(newer)), ErrorKind::NotFound);
    assert_eq!(kind(b.send_message(client, "gone?")), ErrorKind::NotFound);

    // A file name has one ID for every host.
    let (x, y) = (a.create(None).unwrap(), b.create(None).unwrap());
    a.attach_file(x, r#"{"filename": "Other"}"#).unwrap();
    b.attach_file(y, r#"{"filename": "Survey"}"#).unwrap();
    a.attach_file(x, r#"{"filename": "Survey"}"#).unwrap();
    let files = |r: &Registry| -> Vec<Value> {
        json_of(&r.clients_list().unwrap())["response"]["clients"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["guestFiles"].as_array().unwrap().clone())
            .collect()
    };
    let survey: Vec<Value> = files(&b)
        .into_iter()
        .filter(|f| f["filename"] == "Survey")
        .map(|f| f["id"].clone())
        .collect();
    assert_eq!(survey.len(), 2);
    assert_eq!(survey[0], survey[1]);
}

#[test]
fn a_users_sessions_and_their_cap_hold_across_hosts() {
    let server = RedisServer::start();
    let (a, b) = (host(&server, "u:"), host(&server, "u:"));
    for r in [&a, &b] {
        r.configure(r#"{"maxSessionsPerUser": 3}"#).unwrap();
    }
    let login = r#"{"privileges": ["simple"], "userName": "ann"}"#;
    let mut ann = Vec::new();
    for (i, r) in [&a, &b, &a].into_iter().enumerate() {
        let id = r.create(None).unwrap();
        let (id, _) = r.rotate_id(id, Some(login)).unwrap();
        ann.push(id);
        assert_eq!(
            json_of(&b.user_sessions("ann").unwrap())["clients"]
                .as_array()
                .unwrap()
                .len(),
            i + 1
        );
    }
    let fourth = b.create(None).unwrap();
    assert_eq!(
        kind(b.set_privileges(fourth, login)),
        ErrorKind::LimitExceeded
    );
    assert_eq!(
        kind(a.rotate_id(fourth, Some(login))),
        ErrorKind::LimitExceeded
    );
    assert!(
        b.is_guest(fourth).unwrap(),
        "a refused login changes nothing"
    );
    // Logging out everywhere from B closes A's sessions too.
    assert_eq!(b.user_close_sessions("ann").unwrap(), 3);
    for id in &ann {
        assert_eq!(kind(a.info(*id)), ErrorKind::NotFound);
    }
    assert_eq!(a.user_sessions("ann").unwrap(), r#"{"clients":[]}"#);
    // closeOldest: the least recently active makes room, whichever host made it.
    for r in [&a, &b] {
        r.configure(r#"{"sessionLimitPolicy": "closeOldest"}"#)
            .unwrap();
    }
    let mut ids = Vec::new();
    for r in [&a, &b, &a, &b] {
        let id = r.create(None).unwrap();
        r.set_privileges(id, login).unwrap();
        ids.push(id);
    }
    assert_eq!(kind(b.info(ids[0])), ErrorKind::NotFound);
    for id in &ids[1..] {
        assert!(a.info(*id).is_ok());
    }
}

/// A user's session that has ended (idle) but that no sweep has claimed yet goes with the
/// user's logout, as in memory: not counted as closed, and no sweep finds it after (the model
/// test found the Redis store leaving it for the next sweep).
#[test]
fn a_logout_takes_the_users_ended_sessions_as_memory_does() {
    let server = RedisServer::start();
    let on_redis = host(&server, "e:");
    let in_memory = Registry::new();
    in_memory.load_roles(ROLES).unwrap();
    for r in [&on_redis, &in_memory] {
        r.configure(r#"{"clock": "manual"}"#).unwrap();
        let ended = r.create(None).unwrap();
        r.set_privileges(ended, r#"{"privileges": ["simple"], "userName": "eve"}"#)
            .unwrap();
        r.advance_clock(61 * 60).unwrap();
        let live = r.create(None).unwrap();
        r.set_privileges(live, r#"{"privileges": ["simple"], "userName": "eve"}"#)
            .unwrap();
        assert_eq!(r.user_close_sessions("eve").unwrap(), 1, "the live one");
        assert_eq!(r.sweep(), 0, "the ended one went with the logout");
        assert_eq!(kind(r.info(live)), ErrorKind::NotFound);
    }
}

/// 4 threads on each of two hosts log one user in at once under a cap of three: 20 rounds, a
/// new user each, in which all 8 logins start together (a barrier): 3 admitted each time.
#[test]
fn four_threads_on_each_of_two_hosts_log_one_user_in_under_a_cap_of_three() {
    let server = RedisServer::start();
    let hosts = [host(&server, "cap:"), host(&server, "cap:")];
    for r in &hosts {
        r.configure(r#"{"maxSessionsPerUser": 3}"#).unwrap();
    }
    // Each round's guest sessions made beforehand: the race is the logins alone.
    let rounds = 20;
    let guests: Vec<Vec<SessionId>> = (0..rounds)
        .map(|_| (0..8).map(|t| hosts[t % 2].create(None).unwrap()).collect())
        .collect();
    let admitted = lockstep(8, rounds, |t, round| {
        let login = json!({"privileges": [], "userName": format!("bob{round}")}).to_string();
        match hosts[t % 2].set_privileges(guests[round][t], &login) {
            Ok(_) => true,
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::LimitExceeded, "{}", e.message);
                false
            }
        }
    });
    for (round, logins) in admitted.iter().enumerate() {
        assert_eq!(logins.iter().filter(|&&ok| ok).count(), 3, "bob{round}");
        let listed = json_of(
            &hosts[round % 2]
                .user_sessions(&format!("bob{round}"))
                .unwrap(),
        );
        assert_eq!(listed["clients"].as_array().unwrap().len(), 3);
    }
}

#[test]
fn listings_queries_and_statistics_show_every_hosts_sessions() {
    let server = RedisServer::start();
    let (a, b) = (host(&server, "l:"), host(&server, "l:"));
    let x = a.create(Some(r#"{"type": "rest"}"#)).unwrap();
    a.set_identifier(x, "Kiosk 1").unwrap();
    b.create(None).unwrap();
    // (A registry in memory in this process takes ten client numbers of the process's own.)
    let elsewhere = Registry::new();
    for _ in 0..10 {
        elsewhere.create(None).unwrap();
    }
    let standalone = b.create(Some(r#"{"type": "standalone"}"#)).unwrap();
    let sessions = json_of(&a.sessions_list().unwrap());
    assert_eq!(
        sessions["sessions"].as_array().unwrap().len(),
        2,
        "B's standalone is B's"
    );
    // B lists its own standalone session beside the site's two (its creation order number, 1,
    // is also the first Redis session's: neither hides the other).
    let on_b = json_of(&b.sessions_list().unwrap());
    let types: Vec<&str> = on_b["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.len(), 3, "{types:?}");
    assert!(
        types.contains(&"standalone") && types.contains(&"rest"),
        "{types:?}"
    );
    let page = json_of(&b.clients_query(Some(r#"{"search": "kiosk"}"#)).unwrap());
    assert_eq!(page["response"]["total"], 1);
    assert_eq!(page["response"]["clients"][0]["userName"], "Kiosk 1");
    assert!(!b.sessions_query(None).unwrap().contains(&x.to_string()));
    // A page of the site's clients, oldest first: its rows are read again by client number.
    let more: Vec<u64> = (0..5)
        .map(|_| {
            b.client_id(b.create(Some(r#"{"type": "remote"}"#)).unwrap())
                .unwrap()
        })
        .collect();
    let page = json_of(
        &a.clients_query(Some(r#"{"type": "remote", "offset": 1, "limit": 3}"#))
            .unwrap(),
    );
    let numbers: Vec<u64> = page["response"]["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(numbers, more[1..4], "{page}");
    assert_eq!(page["response"]["total"], 5);
    // Each host's own sessions have client numbers of the site's: disconnecting the site's
    // clients (from either host) leaves B's standalone session alone.
    for client in &more {
        a.disconnect(*client, None, 0).unwrap();
        assert_eq!(kind(b.disconnect(*client, None, 0)), ErrorKind::NotFound);
    }
    let stats = json_of(&b.stats().unwrap());
    assert_eq!(stats["live"]["web"], 1);
    assert_eq!(stats["live"]["rest"], 1);
    assert_eq!(stats["live"]["standalone"], 1);
    assert_eq!(stats["created"], 7, "counters are this host's");
    // No session of the site ever gets the number of B's standalone session: the site's
    // counter is taken past it, and A finds no client of that number.
    let number = b.client_id(standalone).unwrap();
    let mut c = server.connection();
    while redis::cmd("GET")
        .arg("l:clients")
        .query::<u64>(&mut c)
        .unwrap()
        <= number
    {
        a.create(None).unwrap();
    }
    assert_eq!(kind(a.send_message(number, "hello")), ErrorKind::NotFound);
}

#[test]
fn max_sessions_holds_across_hosts() {
    let server = RedisServer::start();
    let (a, b) = (host(&server, "m:"), host(&server, "m:"));
    for r in [&a, &b] {
        r.configure(r#"{"maxSessions": 3, "overloadPolicy": "refuse"}"#)
            .unwrap();
    }
    a.create(None).unwrap();
    let second = b.create(None).unwrap();
    a.create(None).unwrap();
    assert_eq!(kind(b.create(None)), ErrorKind::LimitExceeded);
    a.close(second).unwrap();
    b.create(None).unwrap();
    assert_eq!(kind(a.create(None)), ErrorKind::LimitExceeded);
}

#[test]
fn a_flood_of_guests_locks_nobody_out_on_any_host() {
    let server = RedisServer::start();
    let (a, b) = (host(&server, "f:"), host(&server, "f:"));
    let seen = common::recorder(&b);
    for r in [&a, &b] {
        r.configure(r#"{"maxSessions": 3, "clock": "manual"}"#)
            .unwrap();
    }
    let member = a.create(None).unwrap();
    a.set_privileges(member, r#"{"privileges": ["simple"]}"#)
        .unwrap();
    let old_guest = b.create(None).unwrap();
    a.advance_clock(60).unwrap();
    b.advance_clock(60).unwrap();
    let new_guest = a.create(None).unwrap();
    let new_guest_client = a.client_id(new_guest).unwrap();
    // B's activity on the first guest makes the other the least recently active.
    b.advance_clock(60).unwrap();
    a.advance_clock(60).unwrap();
    b.touch(old_guest).unwrap();
    // Full: each new visitor evicts the least recently active guest, never the member.
    let visitor = b.create(None).unwrap();
    assert_eq!(kind(a.info(new_guest)), ErrorKind::NotFound);
    assert!(a.info(old_guest).is_ok());
    let evicted: Vec<Value> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "closed")
        .cloned()
        .collect();
    assert_eq!(evicted.len(), 1);
    assert_eq!(evicted[0]["reason"], "evicted");
    // Redis keeps no ID: the session it evicted is known by its client number.
    assert_eq!(evicted[0]["ID"], "");
    assert_eq!(evicted[0]["clientId"], new_guest_client);
    // Later guests: the two left, equally recent, go first (in an order of Redis' choosing).
    a.advance_clock(60).unwrap();
    let later: Vec<SessionId> = (0..5).map(|_| a.create(None).unwrap()).collect();
    assert!(
        a.has_privilege(member, "simple").unwrap(),
        "a grant is never evicted"
    );
    assert_eq!(kind(b.info(visitor)), ErrorKind::NotFound);
    assert_eq!(a.live_sessions().unwrap(), 3);
    // A guest that gains a grant leaves the guests; one that loses it joins them again.
    let latest: Vec<SessionId> = later.into_iter().filter(|id| a.info(*id).is_ok()).collect();
    assert_eq!(latest.len(), 2);
    for id in &latest {
        b.set_privileges(*id, r#"{"privileges": ["simple"]}"#)
            .unwrap();
    }
    assert_eq!(kind(a.create(None)), ErrorKind::LimitExceeded);
    a.clear_privileges(member).unwrap();
    a.create(None).unwrap();
    assert_eq!(kind(b.info(member)), ErrorKind::NotFound);
}

#[test]
fn no_call_waits_for_a_stalled_redis_longer_than_its_timeout() {
    let server = RedisServer::start();
    let r = Registry::new();
    r.configure(
        &server
            .store("slow:")
            .replace("\"timeoutMs\": 1000", "\"timeoutMs\": 200"),
    )
    .unwrap();
    r.configure(r#"{"maxSessionsPerUser": 2}"#).unwrap();
    let id = r.create(None).unwrap();
    let token = r.create_otp(id, 60).unwrap();
    // Redis stops answering (it is alive, its socket open) until it is thawed below: a call
    // returns before that only by its timeout.
    server.freeze();
    type Call<'a> = Box<dyn Fn() -> sessmgr::Result<()> + 'a>;
    let calls: [(&str, Call); 4] = [
        ("touch", Box::new(|| r.touch(id))),
        // A login under a cap: the session, the user's sessions, the write.
        (
            "login",
            Box::new(|| r.set_privileges(id, r#"{"userName": "ann"}"#).map(drop)),
        ),
        ("restore", Box::new(|| r.restore(token).map(drop))),
        ("message", Box::new(|| r.send_message(1, "hello"))),
    ];
    // Should a call wait for Redis after all, a watchdog thaws it after a minute (far beyond
    // the four timeouts, however busy the machine) and the test fails instead of hanging.
    let (calls_done, watch) = std::sync::mpsc::channel::<()>();
    let outcomes = std::thread::scope(|scope| {
        let server = &server;
        let watchdog = scope.spawn(move || {
            let fired = watch
                .recv_timeout(std::time::Duration::from_secs(60))
                .is_err();
            server.thaw();
            fired
        });
        let outcomes: Vec<_> = calls.iter().map(|(what, call)| (what, call())).collect();
        calls_done.send(()).unwrap();
        assert!(
            !watchdog.join().unwrap(),
            "a call waited for the stalled Redis"
        );
        outcomes
    });
    for (what, outcome) in outcomes {
        let e = outcome.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable, "{what}: {}", e.message);
        assert!(e.message.contains("200 ms"), "{what}: {}", e.message);
    }
    // Once Redis answers again, so does the store (the late answers to the calls that timed out
    // are nobody's).
    r.touch(id).unwrap();
    assert!(r.restore(token).is_ok());
}

/// Every form a token may be written in: upper and lower case, with or without dashes.
fn token_forms(token: SessionId) -> Vec<String> {
    let upper = token.to_string();
    let dashed = format!(
        "{}-{}-{}-{}-{}",
        &upper[..8],
        &upper[8..12],
        &upper[12..16],
        &upper[16..20],
        &upper[20..]
    );
    vec![upper.to_lowercase(), dashed.to_lowercase()]
}

/// Every key under `prefix` and everything it holds, as bytes: its name, its members and
/// values read by type, and its `DUMP`; how many keys there were.
fn everything_under(c: &mut redis::Connection, prefix: &str) -> (Vec<u8>, usize) {
    let mut keys: Vec<String> = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query(c)
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let mut bytes = Vec::new();
    for key in &keys {
        let kind: String = redis::cmd("TYPE").arg(key).query(c).unwrap();
        let values: Vec<Vec<u8>> = match kind.as_str() {
            "string" => vec![redis::cmd("GET").arg(key).query(c).unwrap()],
            "hash" => redis::cmd("HGETALL").arg(key).query(c).unwrap(),
            "set" => redis::cmd("SMEMBERS").arg(key).query(c).unwrap(),
            "zset" => redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query(c)
                .unwrap(),
            // The notices to other hosts: every entry's every field and value.
            "stream" => {
                type Entry = (String, Vec<(Vec<u8>, Vec<u8>)>);
                let entries: Vec<Entry> = redis::cmd("XRANGE")
                    .arg(key)
                    .arg("-")
                    .arg("+")
                    .query(c)
                    .unwrap();
                assert!(!entries.is_empty());
                entries
                    .into_iter()
                    .flat_map(|(_, fields)| fields.into_iter().flat_map(|(f, v)| [f, v]))
                    .collect()
            }
            other => panic!("{key} is a {other}: not a type this library writes"),
        };
        let dump: Vec<u8> = redis::cmd("DUMP").arg(key).query(c).unwrap();
        for part in [key.as_bytes().to_vec()]
            .into_iter()
            .chain(values)
            .chain([dump])
        {
            bytes.extend_from_slice(&part);
            bytes.push(b'\n');
        }
    }
    (bytes, keys.len())
}

/// SPEC §10: a session ID is a bearer token, and so is a passcode. Two hosts do everything
/// that writes to Redis (sessions of every shared type, users under a cap, identifiers,
/// storage, files, rotations with a grace time, passcodes made, spent and left waiting,
/// messages and disconnections by client number, an eviction); then every key and value under
/// the prefix is read back, and none holds any ID or passcode the run made, in any form.
#[test]
fn redis_holds_no_session_id_and_no_passcode() {
    let server = RedisServer::start();
    let (a, b) = (host(&server, "dump:"), host(&server, "dump:"));
    for r in [&a, &b] {
        r.configure(
            r#"{"rotationGraceSeconds": 30, "maxSessionsPerUser": 2,
                "sessionLimitPolicy": "closeOldest", "maxSessions": 40}"#,
        )
        .unwrap();
    }
    let mut tokens: Vec<SessionId> = Vec::new();
    for n in 0..6 {
        let (here, there) = if n % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let kind = ["web", "rest", "remote"][n % 3];
        let id = here
            .create(Some(
                &json!({"type": kind, "IPAddress": "10.1.1.1"}).to_string(),
            ))
            .unwrap();
        tokens.push(id);
        there.set_identifier(id, &format!("Kiosk {n}")).unwrap();
        there.storage_set(id, "/cart", r#"{"n": 1}"#).unwrap();
        here.attach_file(id, r#"{"filename": "Survey"}"#).unwrap();
        if kind == "remote" {
            continue;
        }
        // A login under the cap: a rotation that names the user, the old ID in its grace time.
        let (new, _) = there
            .rotate_id(id, Some(r#"{"roles": ["Medium"], "userName": "ann"}"#))
            .unwrap();
        tokens.push(new);
        assert!(
            here.has_privilege(id, "simple").unwrap(),
            "the old ID, in grace"
        );
        if kind == "web" {
            let spent = here.create_otp(new, 60).unwrap();
            let waiting = there.create_otp(new, 60).unwrap();
            tokens.extend([spent, waiting]);
            assert_eq!(
                there.restore(spent).unwrap(),
                new,
                "the ID, from the passcode"
            );
        }
        let client = here.client_id(new).unwrap();
        there.send_message(client, "hello").unwrap();
        here.disconnect(client, Some("bye"), 600).unwrap();
    }
    // Guests up to the limit, then one more: the oldest guest makes room.
    let guests: Vec<SessionId> = (0..40).map_while(|_| a.create(None).ok()).collect();
    tokens.extend(&guests);
    tokens.push(b.create(None).unwrap());
    let ann = json_of(&a.user_sessions("ann").unwrap());
    assert_eq!(ann["clients"].as_array().unwrap().len(), 2, "closeOldest");

    let mut c = server.connection();
    let (everything, keys) = everything_under(&mut c, "dump:");
    assert!(keys > 40, "{keys} keys");
    let text = String::from_utf8_lossy(&everything).to_lowercase();
    assert!(text.contains("kiosk 5") && text.contains("bye"), "{text}");
    for token in &tokens {
        for form in token_forms(*token) {
            assert!(!text.contains(&form), "{form} is readable in Redis");
        }
        let raw = u128::from_str_radix(&token.to_string(), 16)
            .unwrap()
            .to_be_bytes();
        assert!(
            !everything.windows(16).any(|w| w == raw),
            "{token}'s bytes are in Redis"
        );
    }
    // The sessions are there, each under its ID's digest.
    let last = *tokens.last().unwrap();
    assert!(text.contains(&format!("dump:s:{}", session_key(last))));
}
