// Worker threads share the process's one registry: no increment is lost between them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';

import * as sessmgr from 'sessmgr';

/** Runs `workers` worker threads, started together, each counting `times` times. */
function run(workers, id, how, times) {
  const ready = new SharedArrayBuffer(8);
  new Int32Array(ready)[1] = workers;
  return Promise.all(Array.from({ length: workers }, () => one(id, how, times, ready)));
}

function one(id, how, times, ready) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./counter-worker.js', import.meta.url), {
      workerData: { id, times, how, ready },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code === 0 || reject(new Error(`worker exited with ${code}`)));
  });
}

test('4 worker threads incrementing one counter lose no increment', async () => {
  sessmgr.reset();
  const session = sessmgr.createSession();
  const times = 5_000;
  await run(4, session.id, 'increment', times);
  assert.equal(session.storage.get('hits'), 4 * times);
});

test('4 worker threads counting by compareAndSet lose no step', async () => {
  sessmgr.reset();
  const session = sessmgr.createSession();
  const times = 2_000;
  const reports = await run(4, session.id, 'cas', times);
  assert.equal(session.storage.get('cas'), 4 * times);
  // The workers did run at once: some compareAndSet saw another's write.
  const conflicts = reports.reduce((sum, r) => sum + r.conflicts, 0);
  assert.ok(conflicts > 0, 'no worker ever met another');
});
