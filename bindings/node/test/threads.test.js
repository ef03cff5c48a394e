// Worker threads share the process's one registry: no increment is lost between them. The
// workers race for certain (see test-support/counter-worker.js): each goes on until every one
// has done its rounds and met another's write 20 times.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';

import * as sessmgr from 'sessmgr';

const MEETINGS = 20;

/** Runs `workers` worker threads, started together, each counting `times` times at least. */
function run(workers, id, how, times) {
  const shared = new SharedArrayBuffer(12);
  new Int32Array(shared)[1] = workers;
  return Promise.all(
    Array.from({ length: workers }, () => one({ id, how, times, meetings: MEETINGS, shared })),
  );
}

function one(workerData) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../test-support/counter-worker.js', import.meta.url), {
      workerData,
    });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code === 0 || reject(new Error(`worker exited with ${code}`)));
  });
}

const total = (reports, what) => reports.reduce((sum, r) => sum + r[what], 0);

test('4 worker threads incrementing one counter lose no increment', async () => {
  sessmgr.reset();
  const session = sessmgr.createSession();
  const reports = await run(4, session.id, 'increment', 5_000);
  assert.equal(session.storage.get('hits'), total(reports, 'rounds'));
  for (const report of reports) assert.ok(report.met >= MEETINGS, JSON.stringify(reports));
});

test('4 worker threads counting by compareAndSet lose no step', async () => {
  sessmgr.reset();
  const session = sessmgr.createSession();
  const reports = await run(4, session.id, 'cas', 2_000);
  assert.equal(session.storage.get('cas'), total(reports, 'rounds'));
  for (const report of reports) assert.ok(report.met >= MEETINGS, JSON.stringify(reports));
});
