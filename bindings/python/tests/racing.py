"""Threads that race for certain, however busy the machine is (the Python side of the Rust
tests' tests/common/race.rs).

Threads merely started together may run one after another (the first finishing its loop before
the next is scheduled), and a test of a race then checks nothing. Here every thread waits at a
barrier until all are running, and all go on doing rounds until every role has done its
minimum of rounds (so many per thread, counted over the role's threads) and a minimum of them
that truly overlapped: during which a thread of the first role (the change the others race
against) finished a round, or, for the first role's own rounds, a thread of another role (with
one role, another of its threads). A round count is the stop, never a time.
"""

import threading

# A thread doing more rounds than this while a role is still short of its minimums means it
# cannot make progress: the test fails instead of spinning for ever.
MOST_ROUNDS = 5_000_000


class Role:
    """`threads` threads each calling `round(thread, n)` for n = 0, 1, ..."""

    def __init__(self, name, threads, round, rounds=1, overlapped=0):
        self.name, self.threads, self.round = name, threads, round
        self.rounds, self.overlapped = rounds, overlapped


def race(*roles):
    """Runs the roles' threads until each role has met its minimums; returns, per role, the
    rounds done. An exception in a round stops every thread and is raised here."""
    finished = [0] * len(roles)
    overlapped = [0] * len(roles)
    met = [False] * len(roles)
    lock = threading.Lock()
    barrier = threading.Barrier(sum(role.threads for role in roles))
    failures = []

    def others(r):
        if r > 0:
            return finished[0]
        return sum(finished) if len(roles) == 1 else sum(finished[1:])

    def run(r, role, t):
        barrier.wait()
        n = 0
        try:
            while not all(met) and not failures:
                before = others(r)
                role.round(t, n)
                n += 1
                with lock:
                    overlapped[r] += others(r) != before
                    finished[r] += 1
                    met[r] = met[r] or (
                        finished[r] >= role.rounds * role.threads
                        and overlapped[r] >= role.overlapped * role.threads
                    )
                assert n < MOST_ROUNDS, f"the race did not happen: {role.name} thread {t} did {n} rounds"
        except BaseException as error:  # noqa: BLE001 - raised again by race()
            failures.append(error)

    threads = [
        threading.Thread(target=run, args=(r, role, t))
        for r, role in enumerate(roles)
        for t in range(role.threads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return finished
