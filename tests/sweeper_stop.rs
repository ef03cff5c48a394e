//! Stopping the background sweeper, or resetting the registry, while the sweeper's thread is
//! running the host's event handler: no call waits for that handler (which may itself be waiting
//! for the thread that stops the sweeper, as a host mutex or Node's event loop make it), and no
//! event is lost or delivered twice.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use sessmgr::{EventHandler, Registry};

const SWEEP_ON: &str = r#"{"sweepIntervalSeconds": 1}"#;
const SWEEP_OFF: &str = r#"{"sweepIntervalSeconds": 0}"#;

/// What the handler saw: per session, its lifecycle events in order.
#[derive(Default)]
struct Seen {
    lifecycle: HashMap<String, Vec<String>>,
    expired: u64,
}

/// The host: a mutex that the handler takes when it runs on the sweeper's thread (so that a
/// thread holding it while it stops the sweeper would wait forever if stopping joined the
/// sweeper), and what the handler saw.
struct Host {
    lock: Mutex<()>,
    seen: Mutex<Seen>,
    /// How many handler calls, on a sweeper's thread, are waiting for `lock` now.
    waiting: AtomicU64,
    registry: Mutex<Weak<Registry>>,
}

impl Host {
    fn new() -> Arc<Host> {
        Arc::new(Host {
            lock: Mutex::new(()),
            seen: Mutex::new(Seen::default()),
            waiting: AtomicU64::new(0),
            registry: Mutex::new(Weak::new()),
        })
    }

    fn handler(self: &Arc<Host>) -> EventHandler {
        let host = Arc::clone(self);
        Arc::new(move |json: &str| {
            let event: Value = serde_json::from_str(json).unwrap();
            let kind = event["event"].as_str().unwrap().to_owned();
            if thread::current().name() == Some("sessmgr-sweeper") {
                host.waiting.fetch_add(1, Ordering::AcqRel);
                let held = host.lock.lock();
                host.waiting.fetch_sub(1, Ordering::AcqRel);
                drop(held);
                // A slow handler that calls back into the library.
                thread::sleep(Duration::from_micros(100));
                if let Some(r) = host.registry.lock().unwrap().upgrade() {
                    r.session_count();
                    let _ = r.stats().unwrap();
                }
            }
            let mut seen = host.seen.lock().unwrap();
            if kind == "expired" {
                seen.expired += 1;
            }
            let id = event["ID"].as_str().unwrap().to_owned();
            seen.lifecycle.entry(id).or_default().push(kind);
        })
    }

    fn expired(&self) -> u64 {
        self.seen.lock().unwrap().expired
    }
}

/// A registry whose web sessions expire after a minute of its manual clock.
fn registry(host: &Arc<Host>) -> Arc<Registry> {
    let r = Arc::new(Registry::new());
    r.configure(r#"{"clock": "manual", "minIdleTimeout": 1, "defaultIdleTimeout": 1}"#)
        .unwrap();
    *host.registry.lock().unwrap() = Arc::downgrade(&r);
    r.set_event_handler(Some(host.handler()));
    r
}

/// Waits until `done` holds (what it waits for takes milliseconds; after a minute, it fails
/// instead of hanging).
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_micros(200));
    }
}

/// Runs `work` on its own thread; a hang fails the test instead of stopping it forever.
fn without_hanging(seconds: u64, work: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let worker = thread::spawn(move || {
        work();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(seconds)) {
        Ok(()) => worker.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The work panicked: show its message.
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("hung: a sessmgr call waited for a handler running on another thread")
        }
    }
}

/// Rounds at the least; and rounds a test may take to see its race happen often enough before
/// it fails.
const ROUNDS: u64 = 1000;
const MOST_ROUNDS: u64 = 100_000;

#[test]
fn the_sweeper_stopped_and_restarted_1000_times_during_deliveries_loses_nothing() {
    let host = Host::new();
    let r = registry(&host);
    let (theirs, registry) = (Arc::clone(&host), Arc::clone(&r));
    let counts = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let counted = Arc::clone(&counts);
    without_hanging(120, move || {
        let (host, r) = (theirs, registry);
        let (rounds, blocked_stops) = &*counted;
        // Until half of the rounds at least, and 500 of them, stopped a blocked sweeper.
        let mut round = 0u64;
        while round < ROUNDS || blocked_stops.load(Ordering::Acquire) < ROUNDS / 2 {
            assert!(
                round < MOST_ROUNDS,
                "only {blocked_stops:?} of {round} rounds stopped a blocked sweeper"
            );
            r.create(None).unwrap();
            r.create(None).unwrap();
            r.advance_clock(61).unwrap();
            if round.is_multiple_of(2) {
                // Stop the sweeper while its handler waits for the lock this thread holds.
                let held = host.lock.lock().unwrap();
                let expired = host.expired();
                r.configure(SWEEP_ON).unwrap();
                wait_for("the sweeper's delivery", || {
                    host.waiting.load(Ordering::Acquire) > 0 || host.expired() >= expired + 2
                });
                // Else this thread won the race to the queue and delivered the events itself.
                if host.waiting.load(Ordering::Acquire) > 0 {
                    blocked_stops.fetch_add(1, Ordering::AcqRel);
                }
                r.configure(SWEEP_OFF).unwrap();
                drop(held);
            } else {
                // Stop it at once: before its first sweep, during it, or during its delivery.
                r.configure(SWEEP_ON).unwrap();
                r.configure(SWEEP_OFF).unwrap();
            }
            round += 1;
            rounds.store(round, Ordering::Release);
        }
    });

    // Once no sweeper thread is left to deliver anything, what none took is swept (and
    // delivered) here: everything is counted, nothing is on its way.
    wait_for("the stopped sweepers' end", || r.sweeper_threads() == 0);
    r.sweep();
    let (rounds, blocked) = (
        counts.0.load(Ordering::Acquire),
        counts.1.load(Ordering::Acquire),
    );
    let seen = host.seen.lock().unwrap();
    assert_eq!(seen.lifecycle.len() as u64, 2 * rounds);
    for (id, lifecycle) in &seen.lifecycle {
        assert_eq!(lifecycle, &["created", "expired"], "{id}");
    }
    assert_eq!(seen.expired, 2 * rounds);
    let stats: Value = serde_json::from_str(&r.stats().unwrap()).unwrap();
    assert_eq!(stats["eventsDelivered"], 4 * rounds, "{stats}");
    assert_eq!(stats["expired"], 2 * rounds, "{stats}");
    assert_eq!(r.held_sessions(), 0);
    eprintln!("{blocked} of {rounds} stops came while the sweeper's handler waited for the host");
}

#[test]
fn a_reset_while_the_sweeper_delivers_waits_for_nothing_and_delivers_nothing_after() {
    let host = Host::new();
    let r = registry(&host);
    let (theirs, registry) = (Arc::clone(&host), Arc::clone(&r));
    without_hanging(120, move || {
        let (host, r) = (theirs, registry);
        let (mut rounds, mut blocked_rounds) = (0, 0);
        // 100 rounds at least, and until 50 resets met a blocked handler.
        while rounds < ROUNDS / 10 || blocked_rounds < ROUNDS / 20 {
            assert!(
                rounds < MOST_ROUNDS,
                "only {blocked_rounds} of {rounds} resets met a blocked handler"
            );
            rounds += 1;
            r.configure(r#"{"clock": "manual", "minIdleTimeout": 1, "defaultIdleTimeout": 1}"#)
                .unwrap();
            r.set_event_handler(Some(host.handler()));
            r.create(None).unwrap();
            r.create(None).unwrap();
            r.advance_clock(61).unwrap();
            // The last round's sweeper has ended (a reset ended that round).
            wait_for("the last round's sweeper", || r.sweeper_threads() == 0);
            let held = host.lock.lock().unwrap();
            let expired = host.expired();
            r.configure(SWEEP_ON).unwrap();
            wait_for("the sweeper's delivery", || {
                host.waiting.load(Ordering::Acquire) > 0 || host.expired() >= expired + 2
            });
            if host.waiting.load(Ordering::Acquire) == 0 {
                drop(held);
                r.reset();
                continue;
            }
            blocked_rounds += 1;
            // The handler is waiting for `held`, with the second expired event still to go.
            r.reset();
            assert_eq!(r.session_count(), 0);
            drop(held);
            // The call under way finishes; the second event is the reset registry's, and is
            // not delivered: once the sweeper's thread has ended, one event came, not two.
            wait_for("the sweeper's end", || r.sweeper_threads() == 0);
            assert_eq!(
                host.expired(),
                expired + 1,
                "an event delivered after reset"
            );
            let stats: Value = serde_json::from_str(&r.stats().unwrap()).unwrap();
            assert_eq!(stats["eventsDelivered"], 0, "{stats}");
        }
        eprintln!("{blocked_rounds} of {rounds} resets met a blocked handler");
    });
}

/// A signal sent to the process never lands on the library's thread: a host that blocks
/// SIGTERM in its own threads and waits for it with sigwait is killed otherwise, if it
/// configured a sweeper first (the example HTTP host was, now and then, in its tests).
#[test]
fn the_sweeper_thread_blocks_every_signal() {
    let r = Registry::new();
    r.configure(r#"{"sweepIntervalSeconds": 1}"#).unwrap();
    assert_eq!(r.sweeper_threads(), 1);
    let blocked = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| {
            let path = task.unwrap().path();
            let name = std::fs::read_to_string(path.join("comm")).ok()?;
            if name.trim() != "sessmgr-sweeper" {
                return None;
            }
            // Another test's stopped sweeper may end between the two reads: it is skipped
            // (this test's own runs until the reset below).
            let status = std::fs::read_to_string(path.join("status")).ok()?;
            let mask = status
                .lines()
                .find_map(|l| l.strip_prefix("SigBlk:"))
                .unwrap()
                .trim()
                .to_owned();
            Some(u64::from_str_radix(&mask, 16).unwrap())
        })
        .collect::<Vec<_>>();
    assert!(!blocked.is_empty(), "no sweeper thread found");
    for mask in blocked {
        for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1] {
            assert_ne!(
                mask & (1 << (signal - 1)),
                0,
                "signal {signal} not blocked: {mask:x}"
            );
        }
    }
    r.reset();
}
