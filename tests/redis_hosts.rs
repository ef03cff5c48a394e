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
            r.disconnect(r.client_id(new).unwrap(), Some("closing soon"), 3600)
                .unwrap();
            println!("out: {new}");
            // Notices name their host `{machine name}:{process ID}` (docs/redis.md).
            let machine = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
            println!("out: {}:{}", machine.trim(), std::process::id());
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
        "expire" => expire(&r, &store, &arg),
        other => panic!("no such role {other}"),
    }
}

#[test]
fn two_host_processes_share_their_sessions() {
    let server = RedisServer::start();
    let store = server.store("procs:");
    let r = Arc::new(host(&store));
    let seen = common::recorder(&r);
    let id = r.create(None).unwrap();
    r.set_identifier(id, "Desk A").unwrap();
    let client = r.client_id(id).unwrap();

    // Renamed, granted, rotated and disconnected (with an hour's grace) by the other process.
    let out = finish(spawn("rename", &store, &id.to_string()));
    let new = SessionId::parse(&out[0]).unwrap();
    let there = out[1].clone();
    // Told here, as the other host's notices: the rotation and the disconnection begun.
    let notices = |kinds: &[&str]| -> Vec<Value> {
        let started = std::time::Instant::now();
        loop {
            let told: Vec<Value> = seen
                .lock()
                .unwrap()
                .iter()
                .filter(|e| !e["host"].is_null() && e["clientId"] == client)
                .cloned()
                .collect();
            let names: Vec<&str> = told.iter().map(|e| e["event"].as_str().unwrap()).collect();
            if names == kinds {
                return told;
            }
            // A minute only turns a notice that never comes into a failure.
            assert!(
                started.elapsed().as_secs() < 60,
                "told {names:?}, not {kinds:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    let told = notices(&["idRotated", "stateChanged"]);
    for notice in &told {
        assert_eq!(notice["host"], there.as_str());
        assert_eq!(notice["clientId"], client);
        assert_eq!(notice["ID"], "");
        assert_eq!(notice["identifier"], "Desk B");
    }
    assert_eq!(told[0]["previousID"], "");
    assert_eq!(told[1]["new"], "disconnecting");
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

    // Closed there, gone here, and told here.
    finish(spawn("close", &store, &new.to_string()));
    assert_eq!(r.touch(new).unwrap_err().kind, ErrorKind::NotFound);
    let told = notices(&["idRotated", "stateChanged", "closed"]);
    assert_eq!(told[2]["reason"], "host");
    assert_eq!(told[2]["clientId"], client);
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

/// Hosts in the expiry test, the sessions each makes that end, and the minutes over which
/// their ends are spread (a round of the test per minute).
const EXPIRING_HOSTS: u64 = 3;
const EXPIRING_EACH: usize = 1_000;
const EXPIRY_ROUNDS: usize = 25;

/// One host of the expiry test (`arg`: its number and its access log's path): makes
/// [`EXPIRING_EACH`] sessions that will end (idle, at their lifetime's end, or disconnected
/// with a grace time, a third each), each named by its identifier, their ends spread over
/// [`EXPIRY_ROUNDS`] minutes. Then, round by round with the other hosts, moves its clock one
/// minute on and, all together (a barrier in Redis), sweeps and closes every host's sessions
/// that ended this minute (their IDs shared through Redis), in an order of its own; and all
/// along makes, touches and closes other sessions. Prints each end it told
/// (`end {identifier} {event} {reason}`) and how many sessions its sweeps claimed and how many
/// new sessions it left live.
fn expire(r: &Arc<Registry>, store: &str, arg: &str) {
    let (host, log) = arg.split_once(' ').unwrap();
    let host: u64 = host.parse().unwrap();
    r.configure(
        &json!({"clock": "manual", "minIdleTimeout": 1,
                "accessLog": {"path": log, "hostName": format!("h{host}")}})
        .to_string(),
    )
    .unwrap();
    let told = Arc::new(std::sync::Mutex::new(Vec::new()));
    let theirs = Arc::clone(&told);
    r.set_event_handler(Some(Arc::new(move |event: &str| {
        let event: Value = serde_json::from_str(event).unwrap();
        if matches!(event["event"].as_str(), Some("expired" | "closed")) {
            theirs.lock().unwrap().push(event);
        }
    })));
    let mut c = connection(store);
    // Idle sessions end k + 1 minutes from now, the others 15 s before: round k's clock, 30 s
    // past that minute, has them all ended, and round k - 1's none, whatever the hosts' clocks
    // differ by once set alike (under a second).
    let minute = |k: usize| r.now() + (k as i64 + 1) * 60_000 - 15_000;
    for n in 0..EXPIRING_EACH {
        let id = r.create(None).unwrap();
        r.set_identifier(id, &format!("x{host}-{n}")).unwrap();
        // Ends within minute k + 1 from now: the test's round k.
        let k = (n / 3) % EXPIRY_ROUNDS;
        match n % 3 {
            0 => r.set_idle_timeout(id, k as i32 + 1).unwrap(),
            1 => r
                .set_lifetime_end(id, Some(&sessmgr::iso8601(minute(k))))
                .unwrap(),
            _ => {
                let grace = (minute(k) - r.now()) / 1000;
                r.disconnect(r.client_id(id).unwrap(), None, grace as u32)
                    .unwrap()
            }
        }
        redis::cmd("RPUSH")
            .arg(format!("test:expiring:{k}"))
            .arg(id.to_string())
            .query::<()>(&mut c)
            .unwrap();
    }
    // The hosts' manual clocks set alike: each moves on to the latest.
    redis::cmd("RPUSH")
        .arg("test:expire:clocks")
        .arg(r.now())
        .query::<()>(&mut c)
        .unwrap();
    arrive(&mut c, "test:expire:made", EXPIRING_HOSTS);
    let clocks: Vec<i64> = redis::cmd("LRANGE")
        .arg("test:expire:clocks")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    let behind = clocks.iter().max().unwrap() - r.now();
    r.advance_clock(behind / 1000 + 30).unwrap();
    let swept = AtomicUsize::new(0);
    let left = AtomicUsize::new(0);
    let rounds_done = std::sync::atomic::AtomicBool::new(false);
    /// Ends the other sessions' traffic when the rounds end, or fail.
    struct Done<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Release);
        }
    }
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let _done = Done(&rounds_done);
            let mut c = connection(store);
            for k in 0..EXPIRY_ROUNDS {
                let due: Vec<String> = redis::cmd("LRANGE")
                    .arg(format!("test:expiring:{k}"))
                    .arg(0)
                    .arg(-1)
                    .query(&mut c)
                    .unwrap();
                r.advance_clock(60).unwrap();
                // This host's sweeps and closes start with the other hosts'.
                let go = &format!("test:expire:round{k}");
                let tried = &AtomicUsize::new(0);
                std::thread::scope(|round| {
                    round.spawn(|| {
                        let mut c = connection(store);
                        arrive(&mut c, go, 2 * EXPIRING_HOSTS);
                        // The sweeps start once each host's closes have taken a quarter, so
                        // that both take sessions while the other runs.
                        while tried.load(Ordering::Acquire) < due.len() / 4 {
                            std::thread::yield_now();
                        }
                        loop {
                            let n = r.sweep() as usize;
                            swept.fetch_add(n, Ordering::Relaxed);
                            if n == 0 {
                                break;
                            }
                        }
                    });
                    round.spawn(|| {
                        let mut c = connection(store);
                        arrive(&mut c, go, 2 * EXPIRING_HOSTS);
                        // Each host in an order of its own: rotated by its number.
                        let start = due.len() * host as usize / EXPIRING_HOSTS as usize;
                        for id in due[start..].iter().chain(&due[..start]) {
                            let closed = r.close(SessionId::parse(id).unwrap());
                            assert_eq!(closed.unwrap_err().kind, ErrorKind::NotFound);
                            tried.fetch_add(1, Ordering::Release);
                        }
                    });
                });
            }
        });
        // Meanwhile, other sessions come and go (they end after every round), a few a round.
        scope.spawn(|| {
            let mut n = 0;
            while !rounds_done.load(Ordering::Acquire) {
                std::thread::sleep(std::time::Duration::from_millis(10));
                let id = r.create(None).unwrap();
                r.touch(id).unwrap();
                r.storage_set(id, "/n", &n.to_string()).unwrap();
                if n % 2 == 0 {
                    r.close(id).unwrap();
                } else {
                    left.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
            }
        });
    });
    // A last sweep after every host's rounds: nothing is left to claim.
    arrive(&mut c, "test:expire:done", EXPIRING_HOSTS);
    swept.fetch_add(r.sweep() as usize, Ordering::Relaxed);
    // Every end is told here: by this host, or by the one that made it (relayed). A minute
    // only turns a notice that never comes into a failure.
    let ends = EXPIRING_EACH * EXPIRING_HOSTS as usize;
    let waited = std::time::Instant::now();
    let named = |told: &[Value]| {
        told.iter()
            .filter(|e| e["identifier"].as_str().is_some_and(|i| i.starts_with('x')))
            .count()
    };
    while named(&told.lock().unwrap()) < ends {
        assert!(waited.elapsed().as_secs() < 60, "notices missing");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    arrive(&mut c, "test:expire:told", EXPIRING_HOSTS);
    for event in told.lock().unwrap().iter() {
        println!(
            "out: end {} {} {} {}",
            event["identifier"].as_str().unwrap(),
            event["event"].as_str().unwrap(),
            event["reason"].as_str().unwrap(),
            event["host"].as_str().unwrap_or("here"),
        );
        if !event["host"].is_null() {
            assert_eq!(event["ID"], "", "a notice without the session's ID");
        }
    }
    // Notices name their host `{machine name}:{process ID}` (docs/redis.md).
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    println!("out: host {}:{}", machine.trim(), std::process::id());
    println!("out: swept {}", swept.into_inner());
    println!("out: left {}", left.into_inner());
}

#[test]
fn three_hosts_tell_each_end_exactly_once_in_their_events_and_logs() {
    let server = RedisServer::start();
    let store = server.store("exp:");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("expire-{}", server.port));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let logs: Vec<_> = (0..EXPIRING_HOSTS)
        .map(|h| dir.join(format!("h{h}.log")))
        .collect();
    let hosts: Vec<Child> = (0..EXPIRING_HOSTS)
        .map(|h| {
            spawn(
                "expire",
                &store,
                &format!("{h} {}", logs[h as usize].display()),
            )
        })
        .collect();
    let outs: Vec<Vec<String>> = hosts.into_iter().map(finish).collect();
    // Every session that ended, told once in all the hosts' events, with its reason.
    let mut ends = std::collections::BTreeMap::<String, Vec<String>>::new();
    let mut left = 0;
    let mut swept = Vec::new();
    let names: Vec<String> = outs
        .iter()
        .map(|out| {
            let line = out.iter().find(|l| l.starts_with("host ")).unwrap();
            line["host ".len()..].to_owned()
        })
        .collect();
    // Who told what: (teller, receiver) by session.
    let mut relayed = std::collections::BTreeMap::<String, Vec<(String, usize)>>::new();
    for (receiver, line) in outs
        .iter()
        .enumerate()
        .flat_map(|(h, out)| out.iter().map(move |l| (h, l)))
    {
        let words: Vec<&str> = line.split(' ').collect();
        match words[0] {
            "end" if words[1].starts_with('x') && words[4] == "here" => ends
                .entry(words[1].to_owned())
                .or_default()
                .push(format!("{} {}", words[2], words[3])),
            "end" if words[1].starts_with('x') => relayed
                .entry(words[1].to_owned())
                .or_default()
                .push((words[4].to_owned(), receiver)),
            "end" | "host" => {}
            "swept" => swept.push(words[1].parse::<usize>().unwrap()),
            "left" => left += words[1].parse::<usize>().unwrap(),
            other => panic!("{other}"),
        }
    }
    let expected = |name: &str| {
        let n: usize = name.split('-').nth(1).unwrap().parse().unwrap();
        ["expired idle", "expired lifetime", "closed disconnected"][n % 3]
    };
    // The sweeps and the closes raced: every host's sweeps claimed some.
    assert_eq!(swept.len(), EXPIRING_HOSTS as usize);
    for h in 0..EXPIRING_HOSTS {
        for n in 0..EXPIRING_EACH {
            let name = format!("x{h}-{n}");
            let told = ends.get(&name).cloned().unwrap_or_default();
            assert_eq!(told, vec![expected(&name)], "{name}: told {told:?}");
        }
    }
    assert_eq!(ends.len(), EXPIRING_EACH * EXPIRING_HOSTS as usize);
    // Every other host was told each end, named with the host that made it.
    let mut tellers = vec![0; names.len()];
    for (name, told) in &relayed {
        let teller = names.iter().position(|n| *n == told[0].0).unwrap();
        tellers[teller] += 1;
        let mut receivers: Vec<usize> = told.iter().map(|(_, r)| *r).collect();
        receivers.sort();
        let others: Vec<usize> = (0..names.len()).filter(|h| *h != teller).collect();
        assert_eq!(receivers, others, "{name}: relayed to {told:?}");
        assert!(
            told.iter().all(|(t, _)| *t == told[0].0),
            "{name}: {told:?}"
        );
    }
    assert_eq!(relayed.len(), ends.len());
    // And once in all the hosts' access logs.
    let mut logged = std::collections::BTreeMap::<String, Vec<String>>::new();
    for log in &logs {
        for line in std::fs::read_to_string(log).unwrap().lines().skip(1) {
            let fields: Vec<&str> = line.split('\t').collect();
            let (code, message) = (fields[2], fields[4]);
            if let Some(name) = message
                .strip_prefix("Client \"x")
                .and_then(|m| m.split('"').next())
                && matches!(code, "9004" | "9006")
            {
                logged
                    .entry(format!("x{name}"))
                    .or_default()
                    .push(code.to_owned());
            }
        }
    }
    for name in ends.keys() {
        let code = if expected(name).starts_with("expired") {
            "9004"
        } else {
            "9006"
        };
        assert_eq!(logged.get(name), Some(&vec![code.to_owned()]), "{name}");
    }
    assert_eq!(logged.len(), ends.len());
    // Nothing of them is left in Redis: only the new sessions the hosts left live.
    let mut c = server.connection();
    let keys: Vec<String> = redis::cmd("KEYS").arg("exp:s:*").query(&mut c).unwrap();
    assert_eq!(keys.len(), left, "sessions left in Redis");
    let live: usize = redis::cmd("ZCARD").arg("exp:live").query(&mut c).unwrap();
    assert_eq!(live, left, "entries left in the live set");
    eprintln!(
        "sessions claimed by each host's sweeps: {swept:?}; by closes: {}",
        EXPIRING_EACH * EXPIRING_HOSTS as usize - swept.iter().sum::<usize>()
    );
}
