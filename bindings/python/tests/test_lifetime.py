"""What a long-running host needs: the package keeps nothing per session once it is done with
it, one session is one session whatever form of its ID came in, and handlers can be replaced
while events flow."""

import gc
import threading
import time

import pytest

import sessmgr
from sessmgr import session as session_module

from racing import Role, race


def test_use_keeps_nothing_per_session_once_its_blocks_end():
    def one_session():
        s = sessmgr.create_session()
        with s.storage.use() as data:
            data["n"] = 1
        s.close()

    for _ in range(1_000):
        one_session()
    gc.collect()
    objects = len(gc.get_objects())
    for _ in range(100_000):
        one_session()
    gc.collect()
    assert session_module._use_locks == {}
    grown = len(gc.get_objects()) - objects
    assert grown < 1_000, f"{grown} more objects after 100,000 sessions"


def test_use_waits_for_a_block_on_the_same_session_under_any_id_form():
    s = sessmgr.create_session()
    dashed = f"{s.id[:8]}-{s.id[8:12]}-{s.id[12:16]}-{s.id[16:20]}-{s.id[20:]}".lower()
    other = sessmgr.Session(dashed)
    assert other == s and hash(other) == hash(s) and other.id == s.id
    inside = threading.Event()
    release = threading.Event()
    order = []

    def first():
        with s.storage.use() as data:
            inside.set()
            release.wait(60)
            data["n"] = data.get("n", 0) + 1
            order.append("first")

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(60)
    waiter = threading.Thread(target=lambda: _increment(other, order))
    waiter.start()
    # The second block has reached the session's lock (it counts among its users)...
    while session_module._use_locks[s.id].users < 2:
        assert waiter.is_alive(), "the second block ended without waiting"
        time.sleep(0.001)
    # ...and waits there: it is still waiting a moment later, its increment not made.
    waiter.join(0.2)
    assert waiter.is_alive() and order == [], "the second block did not wait for the first"
    release.set()
    thread.join(60)
    waiter.join(60)
    assert order == ["first", "second"]
    assert s.storage["n"] == 2
    assert session_module._use_locks == {}


def _increment(session, order):
    with session.storage.use() as data:
        data["n"] = data.get("n", 0) + 1
        order.append("second")


def test_use_inside_use_of_the_same_session_is_refused_not_a_hang():
    s = sessmgr.create_session()
    t = sessmgr.create_session()
    with s.storage.use() as data:
        with pytest.raises(sessmgr.ReentrantError):
            with sessmgr.Session(s.id.lower()).storage.use():
                pass
        with t.storage.use() as other:  # another session: fine
            other["t"] = 1
        data["s"] = 1
    assert s.storage.value() == {"s": 1} and t.storage.value() == {"t": 1}
    assert session_module._use_locks == {}


def test_canonical_id_leaves_what_is_not_an_id_to_the_library():
    assert sessmgr.canonical_id("1aaee5b3-375d-45d0-8e3b-0134d98a86ed") == "1AAEE5B3375D45D08E3B0134D98A86ED"
    assert sessmgr.canonical_id("1aaee5b3375d45d08e3b0134d98a86ed") == "1AAEE5B3375D45D08E3B0134D98A86ED"
    assert sessmgr.canonical_id("not an id") == "not an id"
    with pytest.raises(sessmgr.InvalidArgumentError):
        sessmgr.Session("not an id").touch()


def test_handlers_replaced_and_removed_while_another_thread_makes_events():
    seen = []

    def flip(thread, i):
        sessmgr.set_event_handler(seen.append if i % 2 else (lambda event: None))
        sessmgr.set_event_handler(None)

    def churn(thread, n):
        sessmgr.create_session().close()

    # 300 flips at least, and 50 sessions made and closed while a flip finished.
    race(Role("flip", 1, flip, rounds=300), Role("churn", 1, churn, rounds=50, overlapped=50))
    after = len(seen)
    sessmgr.create_session().close()
    assert len(seen) == after, "a removed handler got an event"
