// A worker thread of test/threads.test.js (kept out of test/, where `node --test` would take it
// for a test file): counts into one session's storage, by increment or by a compareAndSet loop,
// and reports its rounds and how many of them met another worker's write (an increment that
// did not follow its own last one, or a compareAndSet conflict).
//
// The race is made to happen: every worker waits at a gate until all are running, and all go
// on until each has done `times` rounds and every worker has met the others `meetings` times.
import { parentPort, workerData } from 'node:worker_threads';

import * as sessmgr from 'sessmgr';

const { id, times, how, meetings, shared } = workerData;
// [0] workers at the gate, [1] workers in all, [2] workers that have met their minimums.
const state = new Int32Array(shared);
Atomics.add(state, 0, 1);
while (Atomics.load(state, 0) < state[1]) Atomics.wait(state, 0, Atomics.load(state, 0), 10);

const storage = new sessmgr.Session(id).storage;
let rounds = 0;
let met = 0;
let last = null;
let satisfied = false;
// A bound that only turns a race that cannot happen into a failure.
const most = 1000 * times;
while (Atomics.load(state, 2) < state[1]) {
  if (how === 'increment') {
    const now = storage.increment('/hits');
    if (last !== null && now !== last + 1) met += 1;
    last = now;
  } else {
    for (;;) {
      const seen = storage.get('cas') ?? 0;
      try {
        storage.compareAndSet('/cas', seen === 0 && !storage.has('cas') ? sessmgr.MISSING : seen, seen + 1);
        break;
      } catch (error) {
        if (!(error instanceof sessmgr.ConflictError)) throw error;
        met += 1;
      }
    }
  }
  rounds += 1;
  if (!satisfied && rounds >= times && met >= meetings) {
    satisfied = true;
    Atomics.add(state, 2, 1);
  }
  if (rounds > most) throw new Error(`${how}: ${rounds} rounds and only ${met} meetings`);
}
parentPort.postMessage({ rounds, met });
