//! Multi-threaded soak: threads doing random operations on shared sessions while the clock moves
//! and sessions come, go and expire; then the invariants:
//!   - no lost storage update: each shared session's counter equals the increments that
//!     succeeded on it, from every thread (by storage_update, storage_increment and
//!     compare_and_set, mixed);
//!   - live sessions = created − closed − expired, counted from the threads' own tallies, from
//!     the events, and by the registry;
//!   - each session's `created` event seen once, and at most one `closed` or `expired` after it
//!     (some sessions are disconnected by an administrator, at once or after a grace time,
//!     some logged in as one of three users capped at 4 sessions each, closing the oldest, and
//!     some of those users logged out everywhere, and, the registry held at 40 sessions,
//!     guests evicted to make room),
//!     while another thread starts and stops the background sweeper, whose handler calls are
//!     slow and call back into the registry (stopping it must wait for none of them).
//!
//! `cargo test` runs a short soak (about two seconds). The long one:
//!   SESSMGR_SOAK_SECONDS=300 cargo test --release --test soak -- --nocapture

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;
use sessmgr::{ErrorKind, EventHandler, Registry, SessionId, UpdateOutcome};

const THREADS: usize = 8;
const SHARED: usize = 16;

/// A small xorshift generator per thread: the soak must not depend on a crate's RNG.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[derive(Default)]
struct Tally {
    /// Successful increments per shared session.
    increments: Vec<u64>,
    created: u64,
    closed: u64,
    rotations: u64,
    operations: u64,
}

#[derive(Default)]
struct EventLog {
    /// Per session: the lifecycle events in the order they were seen.
    lifecycle: HashMap<String, Vec<String>>,
    total: u64,
    /// `closed` events by the library's own reasons (all but the host's), and of them, guests
    /// evicted at `maxSessions`.
    closed_by_library: u64,
    evicted: u64,
    expired: u64,
    rotations: u64,
}

/// The roles file, in two orders: the same rules, with `a` and `b` at each other's positions,
/// so that privilege bits read against the wrong file answer wrong. Threads load one or the
/// other now and then, while others check `has_privilege`.
const ROLES: [&str; 2] = [
    r#"{"privileges": [{"privilege": "a"}, {"privilege": "b", "includes": ["a"]}],
        "permissions": {"allowed": [{"applyTo": "Doc", "type": "dataclass", "read": ["a"]}]},
        "restrictedByDefault": true}"#,
    r#"{"privileges": [{"privilege": "b", "includes": ["a"]}, {"privilege": "a"}],
        "permissions": {"allowed": [{"applyTo": "Doc", "type": "dataclass", "read": ["a"]}]},
        "restrictedByDefault": true}"#,
];

fn soak_seconds() -> f64 {
    std::env::var("SESSMGR_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0)
}

#[test]
fn soak_keeps_every_invariant() {
    let r = Arc::new(Registry::new());
    r.configure(
        r#"{"clock": "manual", "maxStorageBytes": 65536, "maxSessionsPerUser": 4,
            "sessionLimitPolicy": "closeOldest", "maxSessions": 40}"#,
    )
    .unwrap();
    r.load_roles(ROLES[0]).unwrap();
    let events = Arc::new(Mutex::new(EventLog::default()));
    let log = Arc::clone(&events);
    let registry: Weak<Registry> = Arc::downgrade(&r);
    let handler: EventHandler = Arc::new(move |json: &str| {
        if std::thread::current().name() == Some("sessmgr-sweeper")
            && let Some(r) = registry.upgrade()
        {
            // A slow handler on the sweeper's thread, calling back in.
            std::thread::sleep(Duration::from_micros(50));
            r.session_count();
        }
        let event: Value = serde_json::from_str(json).expect("an event is JSON");
        let kind = event["event"].as_str().unwrap().to_owned();
        let mut log = log.lock().unwrap();
        log.total += 1;
        log.expired += u64::from(kind == "expired");
        if kind == "closed" && event["reason"] != "host" {
            log.closed_by_library += 1;
            log.evicted += u64::from(event["reason"] == "evicted");
        }
        if kind == "idRotated" {
            // The session goes on under its new ID.
            let previous = event["previousID"].as_str().unwrap();
            let history = log
                .lifecycle
                .remove(previous)
                .expect("rotated before it was created");
            log.lifecycle
                .insert(event["ID"].as_str().unwrap().to_owned(), history);
            log.rotations += 1;
        }
        if matches!(kind.as_str(), "created" | "closed" | "expired") {
            let id = event["ID"].as_str().unwrap().to_owned();
            log.lifecycle.entry(id).or_default().push(kind);
        }
    });
    r.set_event_handler(Some(handler));

    // Shared sessions are remote: they never expire, so every increment must land.
    let shared: Vec<SessionId> = (0..SHARED)
        .map(|_| r.create(Some(r#"{"type": "remote"}"#)).unwrap())
        .collect();
    let deadline = Instant::now() + Duration::from_secs_f64(soak_seconds());
    let stop = AtomicBool::new(false);
    let clock_moves = AtomicU64::new(0);
    let sweeper_starts = AtomicU64::new(0);

    // The soak lasts its time, and at least until what it is about has happened: a clock
    // moved two hours (sessions left alone expire), the sweeper started and stopped 20
    // times, sessions expired and guests evicted (seen in the events), and 2,000 operations
    // by every worker (a count, not a time: a busy machine makes it longer, not weaker).
    let ops: Vec<AtomicU64> = (0..THREADS).map(|_| AtomicU64::new(0)).collect();
    let enough = || {
        let log = events.lock().unwrap();
        clock_moves.load(Ordering::Relaxed) >= 120
            && sweeper_starts.load(Ordering::Relaxed) >= 20
            && log.expired > 0
            && log.evicted > 0
            && ops.iter().all(|n| n.load(Ordering::Relaxed) >= 2000)
    };
    // A worker that fails stops the others (which would wait for its operations for ever).
    let failed = AtomicBool::new(false);
    let (ops, enough, failed) = (&ops, &enough, &failed);
    let go_on = move |t: usize, done: u64| {
        ops[t].store(done, Ordering::Relaxed);
        !failed.load(Ordering::Relaxed) && (Instant::now() < deadline || !enough())
    };
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        // One thread moves the clock a minute at a time: web sessions left alone expire after
        // an hour of it.
        scope.spawn(|| {
            while !stop.load(Ordering::Acquire) {
                r.advance_clock(60).unwrap();
                clock_moves.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(200));
            }
        });
        // One thread starts the background sweeper (which sweeps at once) and stops it again.
        scope.spawn(|| {
            while !stop.load(Ordering::Acquire) {
                r.configure(r#"{"sweepIntervalSeconds": 1}"#).unwrap();
                sweeper_starts.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(500));
                r.configure(r#"{"sweepIntervalSeconds": 0}"#).unwrap();
            }
        });
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let r = &r;
                let shared = &shared;
                scope.spawn(move || {
                    let worked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        work(r, shared, t as u64 + 1, |done| go_on(t, done))
                    }));
                    failed.fetch_or(worked.is_err(), Ordering::Relaxed);
                    worked.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
            })
            .collect();
        let tallies: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        // The other threads stop before a worker's panic goes on: a failure must not hang.
        stop.store(true, Ordering::Release);
        tallies.into_iter().map(|t| t.unwrap()).collect()
    });

    // No lost update.
    for (i, id) in shared.iter().enumerate() {
        let expected: u64 = tallies.iter().map(|t| t.increments[i]).sum();
        let stored: u64 = r.storage_get(*id, "/n").map_or(0, |n| n.parse().unwrap());
        assert_eq!(stored, expected, "shared session {i} lost updates");
    }

    // The sweeper was stopped last; once no stopped sweeper's thread is left delivering,
    // expired sessions are removed and told by a final sweep on this thread, and everything
    // adds up, with nothing on its way. (A minute only turns a hang into a failure.)
    let waited = Instant::now();
    while r.sweeper_threads() > 0 {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "a stopped sweeper's deliveries did not end"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    r.sweep();
    let log = events.lock().unwrap();
    let stats: Value = serde_json::from_str(&r.stats().unwrap()).unwrap();
    assert_eq!(stats["eventsDelivered"], log.total, "{stats}");
    let created = SHARED as u64 + tallies.iter().map(|t| t.created).sum::<u64>();
    let closed: u64 = tallies.iter().map(|t| t.closed).sum();
    let mut seen = HashMap::<&str, u64>::new();
    for (id, lifecycle) in &log.lifecycle {
        assert_eq!(lifecycle[0], "created", "{id}: {lifecycle:?}");
        assert!(
            lifecycle.len() <= 2 && lifecycle[1..].iter().all(|e| e != "created"),
            "{id}: each lifecycle event once: {lifecycle:?}"
        );
        for event in lifecycle {
            *seen.entry(event).or_default() += 1;
        }
    }
    let expired = seen.get("expired").copied().unwrap_or(0);
    assert!(r.held_sessions() <= 40);
    assert_eq!(seen.get("created").copied().unwrap_or(0), created);
    let closed_in_all = seen.get("closed").copied().unwrap_or(0);
    let rotations: u64 = tallies.iter().map(|t| t.rotations).sum();
    assert_eq!(log.rotations, rotations, "one idRotated per rotation");
    assert_eq!(closed_in_all - log.closed_by_library, closed, "host closes");
    assert_eq!(r.session_count(), created - closed_in_all - expired);
    // Nothing is kept of a session gone: one client-number entry per session held, and no
    // passcode (each was restored at once, or went with its session).
    assert_eq!(r.held_clients(), r.held_sessions());
    assert_eq!(r.held_passcodes(), 0);
    // One user-index entry per web session held that has a user; no user over the cap.
    let list: Value = serde_json::from_str(&r.sessions_list().unwrap()).unwrap();
    let with_user = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["type"] == "web" && s["userName"] != "")
        .count() as u64;
    assert_eq!(r.held_user_sessions(), with_user);
    for user in ["user0", "user1", "user2"] {
        let live: Value = serde_json::from_str(&r.user_sessions(user).unwrap()).unwrap();
        assert!(live["clients"].as_array().unwrap().len() <= 4, "{user}");
    }
    let stats: Value = serde_json::from_str(&r.stats().unwrap()).unwrap();
    assert_eq!(stats["created"], created, "{stats}");

    let operations: u64 = tallies.iter().map(|t| t.operations).sum();
    eprintln!(
        "soak: {THREADS} threads, {:.0} s, {operations} operations, {} events; created {created}, \
         closed {closed} (and {} by the library, {} evicted), expired {expired}, live {}; \
         {rotations} rotations; \
         clock moved {} minutes; sweeper started {} times",
        soak_seconds(),
        log.total,
        log.closed_by_library,
        log.evicted,
        r.session_count(),
        clock_moves.load(Ordering::Relaxed),
        sweeper_starts.load(Ordering::Relaxed),
    );
    assert!(expired > 0, "the soak should see sessions expire");
    assert!(
        log.evicted > 0,
        "the soak should see guests evicted at maxSessions"
    );
}

/// One worker: random operations, 64 at a time, while `go_on(operations done)` says so;
/// returns what succeeded.
fn work(
    r: &Registry,
    shared: &[SessionId],
    seed: u64,
    mut go_on: impl FnMut(u64) -> bool,
) -> Tally {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut tally = Tally {
        increments: vec![0; shared.len()],
        ..Tally::default()
    };
    // This thread's own web sessions: some it closes, the others it leaves to expire.
    let mut mine: Vec<SessionId> = Vec::new();
    while go_on(tally.operations) {
        for _ in 0..64 {
            tally.operations += 1;
            let s = rng.below(shared.len());
            match rng.below(16) {
                0..=1 => {
                    let result = r.storage_update(shared[s], |current| {
                        let mut value: Value = serde_json::from_str(current).unwrap();
                        let n = value["n"].as_u64().unwrap_or(0);
                        value["n"] = (n + 1).into();
                        UpdateOutcome::Replace(value)
                    });
                    result.unwrap();
                    tally.increments[s] += 1;
                }
                // The same counter, by the calls that need no callback.
                2 => {
                    r.storage_increment(shared[s], "/n", 1).unwrap();
                    tally.increments[s] += 1;
                }
                3 => loop {
                    let seen = r.storage_get(shared[s], "/n").ok();
                    let next = seen.as_deref().map_or(1, |n| n.parse::<u64>().unwrap() + 1);
                    match r.storage_compare_and_set(
                        shared[s],
                        "/n",
                        seen.as_deref(),
                        Some(&next.to_string()),
                    ) {
                        Ok(()) => {
                            tally.increments[s] += 1;
                            break;
                        }
                        Err(e) => assert_eq!(e.kind, ErrorKind::Conflict, "{}", e.message),
                    }
                },
                4 => {
                    // Writes beside the counter must not lose it either.
                    r.storage_set(
                        shared[s],
                        &format!("/t{seed}"),
                        &rng.below(1000).to_string(),
                    )
                    .unwrap();
                }
                5 => {
                    r.set_identifier(shared[s], &format!("thread-{seed}"))
                        .unwrap();
                    let shown = r.effective_identifier(shared[s]).unwrap();
                    assert!(shown.starts_with("thread-"), "{shown}");
                }
                6 => match r.create(None) {
                    Ok(id) => {
                        tally.created += 1;
                        mine.push(id);
                    }
                    // At maxSessions with no guest left to evict.
                    Err(e) => assert_eq!(e.kind, ErrorKind::LimitExceeded),
                },
                7 => {
                    if !mine.is_empty() {
                        let id = mine.swap_remove(rng.below(mine.len()));
                        match r.close(id) {
                            Ok(()) => tally.closed += 1,
                            Err(e) => assert_eq!(e.kind, ErrorKind::NotFound), // expired first
                        }
                    }
                }
                8 => {
                    if let Some(&id) = mine.get(rng.below(mine.len().max(1))) {
                        let _ = r.touch(id);
                        // "a" alone or "b" (which includes "a"): read against the other order
                        // of the roles file, the bits of one would answer for the other.
                        let only_a = rng.below(2) == 0;
                        if r.set_privileges(id, if only_a { "a" } else { "b" }).is_ok() {
                            if let Ok(held) = r.has_privilege(id, "a") {
                                assert!(held, "a, or b which includes a");
                            }
                            if let Ok(held) = r.has_privilege(id, "b") {
                                assert_eq!(held, !only_a, "b granted: {}", !only_a);
                            }
                            // The same through a request (read-locked while no activity is
                            // due, its privilege from what the session publishes).
                            if let Ok(answer) = r.request(id, Some(b"b"), Some("/k")) {
                                assert_eq!(answer.granted, Some(!only_a), "request: b");
                            }
                        }
                        if let Ok(allowed) = r.has_permission(id, b"Doc.title", b"read") {
                            assert!(allowed, "a reads Doc, and b includes a");
                        }
                        if let Ok(allowed) = r.has_permission(id, b"Doc", b"create") {
                            assert!(!allowed, "create is set nowhere: restricted");
                        }
                    }
                }
                9 => {
                    r.sweep();
                    if rng.below(16) == 0 {
                        r.load_roles(ROLES[rng.below(2)]).unwrap();
                    }
                }
                10 => {
                    let list: Value = serde_json::from_str(&r.sessions_list().unwrap()).unwrap();
                    assert!(list["sessions"].is_array());
                }
                13 | 14 => {
                    // A login as one of three users, capped at 4 sessions each; now and then
                    // one of them logs out everywhere.
                    let user = format!("user{}", rng.below(3));
                    if rng.below(8) == 0 {
                        r.user_close_sessions(&user).unwrap();
                    } else if let Some(&id) = mine.get(rng.below(mine.len().max(1))) {
                        let grant = format!(r#"{{"privileges": ["b"], "userName": "{user}"}}"#);
                        match r.set_privileges(id, &grant) {
                            Ok(_) => {}
                            Err(e) => assert_eq!(e.kind, ErrorKind::NotFound), // gone meanwhile
                        }
                        let live = serde_json::from_str::<Value>(&r.user_sessions(&user).unwrap())
                            .unwrap();
                        assert!(live["clients"].as_array().unwrap().len() <= 4);
                    }
                }
                12 => {
                    // A login: one of this thread's sessions gets a new ID and a grant.
                    if !mine.is_empty() {
                        let at = rng.below(mine.len());
                        match r.rotate_id(mine[at], Some(r#"{"privileges": ["b"]}"#)) {
                            Ok((new, _)) => {
                                mine[at] = new;
                                tally.rotations += 1;
                                // A passcode handed over and restored at once (unless the
                                // session expired in between).
                                if let Ok(token) = r.create_otp(new, 60) {
                                    match r.restore(token) {
                                        Ok(restored) => assert_eq!(restored, new),
                                        Err(e) => assert_eq!(e.kind, ErrorKind::NotFound),
                                    }
                                }
                                // b includes a.
                                assert!(r.has_privilege(new, "a").unwrap_or(true));
                            }
                            Err(e) => assert_eq!(e.kind, ErrorKind::NotFound), // gone meanwhile
                        }
                    }
                }
                11 => {
                    // An administrator messages and disconnects one of this thread's sessions,
                    // at once or after a minute of the clock.
                    if let Some(&id) = mine.get(rng.below(mine.len().max(1)))
                        && let Ok(client) = r.client_id(id)
                    {
                        let _ = r.send_message(client, "notice");
                        let grace = if rng.below(2) == 0 { 0 } else { 60 };
                        match r.disconnect(client, Some("bye"), grace) {
                            Ok(()) => {}
                            Err(e) => assert_eq!(e.kind, ErrorKind::NotFound), // gone meanwhile
                        }
                        let _ = r.take_messages(id);
                    }
                }
                _ => {
                    let info: Value = serde_json::from_str(&r.info(shared[s]).unwrap()).unwrap();
                    assert_eq!(info["type"], "remote");
                }
            }
        }
    }
    tally
}
