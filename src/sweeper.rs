//! The optional background sweeper: a thread that removes expired sessions on an interval.

use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

#[derive(Default)]
struct Signal {
    stop: Mutex<bool>,
    wake: Condvar,
}

pub struct Sweeper {
    signal: Arc<Signal>,
    thread: Option<JoinHandle<()>>,
}

impl Sweeper {
    /// Calls `sweep` every `interval` until stopped.
    pub fn start(
        interval: Duration,
        sweep: impl Fn() + Send + 'static,
    ) -> std::io::Result<Sweeper> {
        let signal = Arc::new(Signal::default());
        let theirs = Arc::clone(&signal);
        let thread = thread::Builder::new()
            .name("sessmgr-sweeper".to_owned())
            .spawn(move || {
                loop {
                    {
                        let mut stop = theirs.stop.lock();
                        if !*stop {
                            theirs.wake.wait_for(&mut stop, interval);
                        }
                        if *stop {
                            return;
                        }
                    }
                    sweep();
                }
            })?;
        Ok(Sweeper {
            signal,
            thread: Some(thread),
        })
    }
}

impl Drop for Sweeper {
    /// Stops the thread and waits for it, unless this is the sweeper's own thread (a sweep
    /// that reconfigures the registry), which then ends after its current sweep.
    fn drop(&mut self) {
        *self.signal.stop.lock() = true;
        self.signal.wake.notify_all();
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != thread::current().id()
        {
            let _ = thread.join();
        }
    }
}
