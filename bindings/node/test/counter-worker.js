// A worker thread of threads.test.js: counts `times` times into one session's storage, by
// increment or by a compareAndSet loop, and reports how many conflicts it met.
import { parentPort, workerData } from 'node:worker_threads';

import * as sessmgr from 'sessmgr';

const { id, times, how, ready } = workerData;
// All the workers start together: each says it is ready, then waits for the others.
const gate = new Int32Array(ready);
Atomics.add(gate, 0, 1);
while (Atomics.load(gate, 0) < gate[1]) Atomics.wait(gate, 0, Atomics.load(gate, 0), 10);
const storage = new sessmgr.Session(id).storage;
let conflicts = 0;
for (let i = 0; i < times; i += 1) {
  if (how === 'increment') {
    storage.increment('/hits');
  } else {
    for (;;) {
      const seen = storage.get('cas') ?? 0;
      try {
        storage.compareAndSet('/cas', seen === 0 && !storage.has('cas') ? sessmgr.MISSING : seen, seen + 1);
        break;
      } catch (error) {
        if (!(error instanceof sessmgr.ConflictError)) throw error;
        conflicts += 1;
      }
    }
  }
}
parentPort.postMessage({ conflicts });
