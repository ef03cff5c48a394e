//! The few things the core asks of the operating system directly: the machine's name, word of
//! a fork (so that a child process never repeats its parent's session IDs), the real-time
//! clock, and a thread that takes no signal meant for the host.

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

/// The host name from the operating system, or "" if it cannot be read.
pub fn host_name() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

static FORKS: AtomicU64 = AtomicU64::new(0);
static WATCH_FORKS: Once = Once::new();

extern "C" fn in_forked_child() {
    FORKS.fetch_add(1, Ordering::AcqRel);
}

/// How many times this process is a forked child of a process that used the library (0 in the
/// original process); read without a system call.
pub fn fork_count() -> u64 {
    WATCH_FORKS.call_once(|| {
        // SAFETY: registers a handler that only increments an atomic, which is allowed in a
        // child after fork.
        unsafe { libc::pthread_atfork(None, None, Some(in_forked_child)) };
    });
    FORKS.load(Ordering::Acquire)
}

/// The system's real-time clock in milliseconds since the Unix epoch, read through the vDSO
/// with nothing on top (every call of the library reads it once).
pub fn realtime_millis() -> i64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    now.tv_sec * 1000 + now.tv_nsec / 1_000_000
}

/// The system's real-time clock as of its last timer tick (Linux's CLOCK_REALTIME_COARSE: a
/// read of shared memory through the vDSO, no fenced time-stamp counter read), in milliseconds:
/// never ahead of [`realtime_millis`], behind it by at most a tick (1 to 10 ms). Elsewhere, the
/// precise clock.
pub fn coarse_realtime_millis() -> i64 {
    #[cfg(target_os = "linux")]
    {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid timespec to write; CLOCK_REALTIME_COARSE exists since Linux
        // 2.6.32.
        if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut now) } == 0 {
            return now.tv_sec * 1000 + now.tv_nsec / 1_000_000;
        }
    }
    realtime_millis()
}

/// Starts a thread with every signal blocked, so that a signal sent to the process (SIGTERM,
/// SIGINT, …) goes to one of the host's threads, never to the library's: a host that waits for
/// its signals with `sigwait` in one thread, having blocked them in the others, stays right even
/// when it configured the library first. The calling thread's mask is as it was on return.
pub fn spawn_without_signals(
    builder: std::thread::Builder,
    f: impl FnOnce() + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    // SAFETY: the sets are valid sigset_t values, filled by sigfillset before use; the mask is
    // the calling thread's, put back before returning.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut before: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut before);
        let spawned = builder.spawn(f);
        libc::pthread_sigmask(libc::SIG_SETMASK, &before, std::ptr::null_mut());
        spawned
    }
}
