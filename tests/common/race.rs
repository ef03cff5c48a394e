//! Threads that race one another for certain, however busy the machine is.
//!
//! A test about a race must make the race happen: threads merely started together may run one
//! after another on a loaded machine (one finishing its loop before the next is scheduled), and
//! the test then checks nothing. So here:
//!   - [`race`]: every thread waits at a barrier until all are running, and all go on doing
//!     rounds until every role has done its minimum of rounds (so many per thread, counted over
//!     the role's threads), and of them a minimum that truly overlapped: during which a thread
//!     of the first role (the change the others race against) finished a round, or, for the
//!     first role's own rounds, a thread of another role (with one role, another of its
//!     threads). A round count is the stop, never a time. (The minimums are the role's, not
//!     each thread's: a thread may be held in one long round by the others' work, as a thread
//!     delivering events is while others queue more, and must not keep them all going.)
//!   - [`lockstep`]: rounds in which every thread starts its call at once (a barrier per round),
//!     for races decided in the first few calls (one passcode, a cap of three logins).

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Threads doing one kind of round.
pub struct Role<'a> {
    name: &'static str,
    threads: usize,
    round: &'a (dyn Fn(usize, u64) + Sync),
    rounds: u64,
    overlapped: u64,
    until: Option<&'a (dyn Fn() -> bool + Sync)>,
}

impl<'a> Role<'a> {
    /// `threads` threads each doing `round(thread, n)` for n = 0, 1, … (the thread's index
    /// within the role, the round's number): one round at least, until the minimums set below.
    pub fn new(
        name: &'static str,
        threads: usize,
        round: &'a (dyn Fn(usize, u64) + Sync),
    ) -> Role<'a> {
        Role {
            name,
            threads,
            round,
            rounds: 1,
            overlapped: 0,
            until: None,
        }
    }

    /// Rounds per thread the role does at least (counted over its threads).
    pub fn rounds(mut self, rounds: u64) -> Role<'a> {
        self.rounds = rounds;
        self
    }

    /// Of them, rounds per thread that overlapped (see the module's comment), at least.
    pub fn overlapped(mut self, overlapped: u64) -> Role<'a> {
        self.overlapped = overlapped;
        self
    }

    /// And the role's threads go on until `done()` holds too (for something the test must
    /// have seen, such as both answers of a check that flips).
    pub fn until(mut self, done: &'a (dyn Fn() -> bool + Sync)) -> Role<'a> {
        self.until = Some(done);
        self
    }
}

/// What a role's threads did, summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    pub rounds: u64,
    pub overlapped: u64,
}

/// A thread doing more rounds than this while a role is still short of its minimums means it
/// cannot make progress: the test fails instead of spinning for ever.
const MOST_ROUNDS: u64 = 20_000_000;

/// Runs every role's threads until each role has met its minimums (see the module's comment);
/// returns, per role, the rounds done and how many overlapped. A panic in a round stops every
/// thread and is passed on.
pub fn race(roles: &[Role<'_>]) -> Vec<Done> {
    let threads: usize = roles.iter().map(|r| r.threads).sum();
    let finished: Vec<AtomicU64> = roles.iter().map(|_| AtomicU64::new(0)).collect();
    let overlapped: Vec<AtomicU64> = roles.iter().map(|_| AtomicU64::new(0)).collect();
    let met: Vec<AtomicBool> = roles.iter().map(|_| AtomicBool::new(false)).collect();
    let short = AtomicUsize::new(roles.len());
    let failed = AtomicBool::new(false);
    let start = Barrier::new(threads);
    // Rounds finished by the threads a role's rounds must overlap: the first role's for the
    // others; every other role's for the first (with one role, all its threads').
    let others = |role: usize| -> u64 {
        if role > 0 {
            return finished[0].load(Ordering::Acquire);
        }
        finished
            .iter()
            .enumerate()
            .filter(|&(i, _)| roles.len() == 1 || i != 0)
            .map(|(_, n)| n.load(Ordering::Acquire))
            .sum()
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = roles
            .iter()
            .enumerate()
            .flat_map(|(r, role)| (0..role.threads).map(move |t| (r, role, t)))
            .map(|(r, role, t)| {
                let (finished, overlapped, met) = (&finished, &overlapped, &met);
                let (short, failed, start, others) = (&short, &failed, &start, &others);
                scope.spawn(move || {
                    start.wait();
                    let mut rounds = 0u64;
                    while short.load(Ordering::Acquire) > 0 && !failed.load(Ordering::Acquire) {
                        let before = others(r);
                        if let Err(panic) =
                            catch_unwind(AssertUnwindSafe(|| (role.round)(t, rounds)))
                        {
                            failed.store(true, Ordering::Release);
                            resume_unwind(panic);
                        }
                        rounds += 1;
                        // Another thread finished a round while this one ran its own.
                        let over = if others(r) != before {
                            overlapped[r].fetch_add(1, Ordering::AcqRel) + 1
                        } else {
                            overlapped[r].load(Ordering::Acquire)
                        };
                        let done = finished[r].fetch_add(1, Ordering::AcqRel) + 1;
                        let wanted = role.threads as u64;
                        if !met[r].load(Ordering::Acquire)
                            && done >= role.rounds * wanted
                            && over >= role.overlapped * wanted
                            && role.until.is_none_or(|done| done())
                            && !met[r].swap(true, Ordering::AcqRel)
                        {
                            short.fetch_sub(1, Ordering::AcqRel);
                        }
                        if met[r].load(Ordering::Acquire) {
                            // Leave the processor to the roles still short of their minimums.
                            std::thread::yield_now();
                        }
                        if rounds > MOST_ROUNDS {
                            failed.store(true, Ordering::Release);
                            panic!(
                                "the race did not happen: {} thread {t} did {rounds} rounds \
                                 while {} roles were still short of their minimums",
                                role.name,
                                short.load(Ordering::Acquire)
                            );
                        }
                    }
                })
            })
            .collect();
        let joined: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        for outcome in joined {
            if let Err(panic) = outcome {
                resume_unwind(panic);
            }
        }
    });
    roles
        .iter()
        .enumerate()
        .map(|(r, role)| {
            let done = Done {
                rounds: finished[r].load(Ordering::Acquire),
                overlapped: overlapped[r].load(Ordering::Acquire),
            };
            assert!(done.rounds >= role.rounds * role.threads as u64);
            assert!(done.overlapped >= role.overlapped * role.threads as u64);
            done
        })
        .collect()
}

/// `rounds` rounds of `threads` threads; in each, every thread calls `call(thread, round)` once,
/// all released together by a barrier. Returns the answers, per round, in thread order.
pub fn lockstep<R: Send>(
    threads: usize,
    rounds: usize,
    call: impl Fn(usize, usize) -> R + Sync,
) -> Vec<Vec<R>> {
    let barrier = Barrier::new(threads);
    let failed = AtomicBool::new(false);
    let per_thread: Vec<Vec<R>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, failed, call) = (&barrier, &failed, &call);
                scope.spawn(move || {
                    let mut answers = Vec::with_capacity(rounds);
                    for round in 0..rounds {
                        barrier.wait();
                        // A failed thread still meets the others at each barrier, so that none
                        // waits for ever; it calls nothing more.
                        if failed.load(Ordering::Acquire) {
                            continue;
                        }
                        match catch_unwind(AssertUnwindSafe(|| call(t, round))) {
                            Ok(answer) => answers.push(answer),
                            Err(panic) => {
                                failed.store(true, Ordering::Release);
                                for _ in round + 1..rounds {
                                    barrier.wait();
                                }
                                resume_unwind(panic);
                            }
                        }
                    }
                    answers
                })
            })
            .collect();
        let joined: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        joined
            .into_iter()
            .map(|j| j.unwrap_or_else(|panic| resume_unwind(panic)))
            .collect()
    });
    let mut by_round: Vec<Vec<R>> = (0..rounds).map(|_| Vec::with_capacity(threads)).collect();
    for answers in per_thread {
        for (round, answer) in answers.into_iter().enumerate() {
            by_round[round].push(answer);
        }
    }
    by_round
}
