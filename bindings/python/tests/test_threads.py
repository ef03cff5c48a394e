"""Eight Python threads updating one session's storage lose no update."""

import threading

import sessmgr

THREADS = 8
ROUNDS = 200


def run_threads(work):
    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_use_blocks_lose_no_update():
    s = sessmgr.create_session()
    s.storage["counter"] = 0

    def work():
        for _ in range(ROUNDS):
            with s.storage.use() as data:
                data["counter"] += 1

    run_threads(work)
    assert s.storage["counter"] == THREADS * ROUNDS


def test_modify_loses_no_update():
    s = sessmgr.create_session()
    s.storage["counter"] = 0

    def work():
        for _ in range(ROUNDS):
            s.storage.modify(lambda v: {**v, "counter": v["counter"] + 1})

    run_threads(work)
    assert s.storage["counter"] == THREADS * ROUNDS
