"""Eight Python threads updating one session's storage lose no update (200 updates each at
least, 20 of them while another thread's landed: see racing.py)."""

import sessmgr

from racing import Role, race


def test_use_blocks_lose_no_update():
    s = sessmgr.create_session()
    s.storage["counter"] = 0

    def work(thread, n):
        with s.storage.use() as data:
            data["counter"] += 1

    [done] = race(Role("writer", 8, work, rounds=200, overlapped=20))
    assert s.storage["counter"] == done


def test_modify_loses_no_update():
    s = sessmgr.create_session()
    s.storage["counter"] = 0

    def work(thread, n):
        s.storage.modify(lambda v: {**v, "counter": v["counter"] + 1})

    [done] = race(Role("writer", 8, work, rounds=200, overlapped=20))
    assert s.storage["counter"] == done
