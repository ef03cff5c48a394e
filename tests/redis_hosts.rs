//! Host processes sharing one Redis (SPEC section 11): this test binary runs again as a second
//! host process (the `host_process` entry below, chosen by an environment variable), so that
//! the hosts share nothing but Redis. Also: a host killed with SIGKILL mid-load, then a new one,
//! and Redis itself killed and restarted (its append-only file on).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::redis_server::{RedisServer, arrive};
use serde_json::{Value, json};
use sessmgr::{ErrorKind, Registry, SessionId, UpdateOutcome};

const ROLES: &str = r#"{"privileges": [{"privilege": "simple"}, {"privilege": "WebAdmin"}]}"#;
const WORKER: &str = "SESSMGR_TEST_HOST";

fn host(store: &str) -> Registry {
    let r = Registry::new();
    r.configure(store).unwrap();
    r.configure(r#"{"maxSessionsPerUser": 3}"#).unwrap();
    r.load_roles(ROLES).unwrap();
    r
}

/// Starts this binary again as another host process doing `role` on the store `store`.
fn spawn(role: &str, store: &str, arg: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "host_process", "--nocapture", "--test-threads=1"])
        .env(WORKER, role)
        .env("SESSMGR_TEST_STORE", store)
        .env("SESSMGR_TEST_ARG", arg)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The lines the other host printed for us ("out: …"), once it has exited successfully.
fn finish(child: Child) -> Vec<String> {
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the other host failed: {output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| answer(l).map(str::to_owned))
        .collect()
}

/// What the other host printed on a line: after "out: " (which may follow the test harness's
/// own "test host_process ... " on the first line).
fn answer(line: &str) -> Option<&str> {
    line.find("out: ").map(|at| &line[at + 5..])
}

fn increment(r: &Registry, id: SessionId) {
    r.storage_update(id, |current| {
        let mut storage: Value = serde_json::from_str(current).unwrap();
        storage["count"] = json!(storage["count"].as_i64().unwrap() + 1);
        UpdateOutcome::Replace(storage)
    })
    .unwrap();
}

/// Rounds of the two hosts' races below, each started by all their threads together.
const ROUNDS: usize = 10;

/// A connection to the Redis the store's settings name: for the barriers between the hosts.
fn connection(store: &str) -> redis::Connection {
    let settings: Value = serde_json::from_str(store).unwrap();
    let url = settings["store"]["url"].as_str().unwrap();
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

/// 4 threads here and 4 in the other host increment one counter: 10 rounds of 25 increments
/// per thread, each round started by all 8 threads together (a barrier in Redis).
fn hammer(r: &Registry, store: &str, id: SessionId) {
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let mut c = connection(store);
                for round in 0..ROUNDS {
                    arrive(&mut c, &format!("test:count:{round}"), 8);
                    (0..25).for_each(|_| increment(r, id));
                }
            });
        }
    });
}

/// 4 threads here and 4 in the other host each log in `{user}{round}` once per round, all 8
/// starting together (a barrier in Redis): how many were admitted here, round by round.
fn logins(r: &Registry, store: &str, user: &str) -> Vec<usize> {
    let admitted: Vec<AtomicUsize> = (0..ROUNDS).map(|_| AtomicUsize::new(0)).collect();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let mut c = connection(store);
                for (round, admitted) in admitted.iter().enumerate() {
                    let login =
                        json!({"privileges": ["simple"], "userName": format!("{user}{round}")})
                            .to_string();
                    let id = r.create(None).unwrap();
                    arrive(&mut c, &format!("test:logins:{round}"), 8);
                    match r.rotate_id(id, Some(&login)) {
                        Ok(_) => {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            assert_eq!(e.kind, ErrorKind::LimitExceeded, "{}", e.message)
                        }
                    }
                }
            });
        }
    });
    admitted.into_iter().map(AtomicUsize::into_inner).collect()
}

/// The other host process: does what `SESSMGR_TEST_HOST` says and prints its answers. Run
/// as an ordinary test (without that variable), it has nothing to do.
#[test]
fn host_process() {
    let Ok(role) = std::env::var(WORKER) else {
        return;
    };
    let store = std::env::var("SESSMGR_TEST_STORE").unwrap();
    let arg = std::env::var("SESSMGR_TEST_ARG").unwrap();
    let r = Arc::new(host(&store));
    match role.as_str() {
        "rename" => {
            let id = SessionId::parse(&arg).unwrap();
            assert_eq!(r.identifier(id).unwrap(), "Desk A");
            r.set_identifier(id, "Desk B").unwrap();
            let (new, _) = r
                .rotate_id(id, Some(r#"{"privileges": ["simple"], "userName": "ann"}"#))
                .unwrap();
            println!("out: {new}");
        }
        "count" => hammer(&r, &store, SessionId::parse(&arg).unwrap()),
        "logins" => println!("out: {:?}", logins(&r, &store, &arg)),
        "close" => r.close(SessionId::parse(&arg).unwrap()).unwrap(),
        "load" => {
            // Until killed: each session is printed once created and given its storage.
            for n in 0.. {
                let id = r.create(None).unwrap();
                r.storage_set(id, "/n", &n.to_string()).unwrap();
                println!("out: {id} {n}");
            }
        }
        "check" => {
            let mut found = 0;
            for line in arg.lines() {
                let (id, n) = line.split_once(' ').unwrap();
                let id = SessionId::parse(id).unwrap();
                assert_eq!(r.storage_get(id, "/n").unwrap(), n);
                found += 1;
            }
            println!("out: {found}");
        }
        other => panic!("no such role {other}"),
    }
}

#[test]
fn two_host_processes_share_their_sessions() {
    let server = RedisServer::start();
    let store = server.store("procs:");
    let r = Arc::new(host(&store));
    let id = r.create(None).unwrap();
    r.set_identifier(id, "Desk A").unwrap();

    // Renamed, granted and rotated by the other process.
    let out = finish(spawn("rename", &store, &id.to_string()));
    let new = SessionId::parse(&out[0]).unwrap();
    assert_eq!(r.identifier(new).unwrap(), "Desk B");
    assert!(r.has_privilege(new, "simple").unwrap());
    assert_eq!(r.user_name(new).unwrap(), "ann");
    assert_eq!(r.info(id).unwrap_err().kind, ErrorKind::NotFound);

    // 4 threads here and 4 there increment one counter: none is lost.
    r.storage_set(new, "/count", "0").unwrap();
    let there = spawn("count", &store, &new.to_string());
    hammer(&r, &store, new);
    finish(there);
    assert_eq!(
        r.storage_get(new, "/count").unwrap(),
        (2 * 4 * 25 * ROUNDS).to_string()
    );

    // One user logged in by 4 threads here and 4 there, under a cap of 3, round by round.
    let there = spawn("logins", &store, "carol");
    let here = logins(&r, &store, "carol");
    let there = finish(there)[0].clone();
    let there: Vec<usize> = serde_json::from_str(&there).unwrap();
    for round in 0..ROUNDS {
        assert_eq!(
            here[round] + there[round],
            3,
            "carol{round}: {here:?} here and {there:?} there"
        );
    }

    // Closed there, gone here.
    finish(spawn("close", &store, &new.to_string()));
    assert_eq!(r.touch(new).unwrap_err().kind, ErrorKind::NotFound);
}

#[test]
fn sessions_outlive_a_host_killed_mid_load_and_a_restart_of_redis() {
    let mut server = RedisServer::start();
    let store = server.store("kill:");
    let mut child = spawn("load", &store, "");
    let mut made = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        if let Some(session) = answer(&line.unwrap()) {
            made.push(session.to_owned());
        }
        if made.len() == 300 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // A new host process finds every session the killed one made, with its storage.
    let found = finish(spawn("check", &store, &made.join("\n")));
    assert_eq!(found, vec!["300"]);
    // Redis killed and started again: the append-only file has them all.
    server.stop();
    server.restart();
    let found = finish(spawn("check", &store, &made.join("\n")));
    assert_eq!(found, vec!["300"]);
}
