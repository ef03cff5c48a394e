//! The optional background sweeper: a thread that removes expired sessions when it starts and
//! then on an interval.
//!
//! Stopping it never waits for the host: a sweep's deliveries run host code (the event
//! handler), which may be waiting for the very thread that stops the sweeper (a host mutex, or
//! a runtime such as Node's that runs the handler on its own thread). So dropping a [`Sweeper`]
//! only signals: the thread finishes what it is delivering and ends by itself. What a stopped sweeper must not
//! do is start another sweep, which would work on whatever the registry has become since (after
//! a reset, on sessions it was never meant to see). The sweep proper (removing sessions and
//! queueing their events, never host code) therefore runs under the signal's lock: a drop waits
//! at most for a sweep in progress, and once it returns no new one can begin.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

#[derive(Default)]
struct Signal {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    /// Set by [`Sweeper::run`]: the thread waits for it before its first sweep.
    running: bool,
    stopped: bool,
}

pub struct Sweeper {
    signal: Arc<Signal>,
}

impl Sweeper {
    /// A thread that, once [`Sweeper::run`] is called, calls `sweep` at once and then every
    /// `interval` until stopped, and `deliver` after each sweep. `sweep` must not run host code
    /// (it runs under the lock that dropping the sweeper takes); `deliver` may, and runs with no
    /// lock held.
    pub fn start(
        interval: Duration,
        sweep: impl Fn() + Send + 'static,
        deliver: impl Fn() + Send + 'static,
    ) -> std::io::Result<Sweeper> {
        let signal = Arc::new(Signal::default());
        let theirs = Arc::clone(&signal);
        crate::os::spawn_without_signals(
            thread::Builder::new().name("sessmgr-sweeper".to_owned()),
            move || {
                let mut state = theirs.state.lock();
                while !state.running && !state.stopped {
                    theirs.wake.wait(&mut state);
                }
                while !state.stopped {
                    sweep();
                    MutexGuard::unlocked(&mut state, &deliver);
                    let due = Instant::now() + interval;
                    while !state.stopped && !theirs.wake.wait_until(&mut state, due).timed_out() {}
                }
            },
        )?;
        Ok(Sweeper { signal })
    }

    /// Lets the thread begin (once the settings it is to sweep under are in place).
    pub fn run(&self) {
        self.signal.state.lock().running = true;
        self.signal.wake.notify_all();
    }
}

impl Drop for Sweeper {
    /// Tells the thread to end, and returns without waiting for it: once this returns, it
    /// starts no further sweep; a delivery it is making goes on to its end.
    fn drop(&mut self) {
        self.signal.state.lock().stopped = true;
        self.signal.wake.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::mpsc;

    #[test]
    fn sweeps_at_once_then_on_the_interval() {
        let sweeps = Arc::new(AtomicU64::new(0));
        let theirs = Arc::clone(&sweeps);
        // Dropped with the thread's work: the channel tells when the thread has ended.
        let (alive, ended) = mpsc::channel::<()>();
        let sweeper = Sweeper::start(
            Duration::from_millis(20),
            move || {
                theirs.fetch_add(1, Ordering::AcqRel);
            },
            move || {
                let _ = &alive;
            },
        )
        .unwrap();
        thread::sleep(Duration::from_millis(50));
        assert_eq!(sweeps.load(Ordering::Acquire), 0, "swept before run");
        sweeper.run();
        let deadline = Instant::now() + Duration::from_secs(30);
        while sweeps.load(Ordering::Acquire) < 3 {
            assert!(Instant::now() < deadline, "the sweeper did not repeat");
            thread::sleep(Duration::from_millis(5));
        }
        drop(sweeper);
        let after = sweeps.load(Ordering::Acquire);
        // The thread ends at once (a minute only turns a hang into a failure).
        assert_eq!(
            ended.recv_timeout(Duration::from_secs(60)),
            Err(mpsc::RecvTimeoutError::Disconnected),
            "the thread did not end"
        );
        assert_eq!(sweeps.load(Ordering::Acquire), after, "swept after stop");
    }

    #[test]
    fn stop_returns_while_a_delivery_waits_for_the_stopping_thread() {
        // The delivery needs `host`, which the stopping thread holds until stop has returned.
        let host = Arc::new(Mutex::new(()));
        let (entered, delivering) = mpsc::channel();
        let theirs = Arc::clone(&host);
        let held = host.lock();
        let sweeper = Sweeper::start(
            Duration::from_secs(3600),
            || {},
            move || {
                let _ = entered.send(());
                drop(theirs.lock());
            },
        )
        .unwrap();
        sweeper.run();
        delivering.recv().unwrap();
        drop(sweeper);
        drop(held);
    }
}
