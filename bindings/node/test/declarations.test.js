// The package's declarations must match include/sessmgr.h (every function, its types, every
// status) and index.d.ts must declare what index.js exports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import * as sessmgr from 'sessmgr';
import { DECLARATIONS, KOFFI_TYPES, NOT_BOUND, lib } from '../lib/native.js';

const HEADER = process.env.SESSMGR_HEADER ?? new URL('../../../include/sessmgr.h', import.meta.url);

/** name -> [return type, [parameter types]], read off the header's prototypes. */
function headerFunctions() {
  const functions = {};
  const prototype = /^([\w ]+?\s*\*?)\s*(sessmgr_\w+)\(([^)]*)\);$/gm;
  for (const [, ret, name, args] of readFileSync(HEADER, 'utf8').matchAll(prototype)) {
    if (ret.startsWith('typedef')) continue;
    const params = args === 'void' ? [] : args.split(',').map((arg) => arg.trim().replace(/\w+$/, '').trim());
    functions[name] = [ret.trim(), params];
  }
  return functions;
}

test('every function of sessmgr.h is declared alike, or listed as not bound', () => {
  const functions = headerFunctions();
  assert.ok(Object.keys(functions).length >= 50, 'the header was not read');
  assert.deepEqual(
    Object.keys(functions).sort(),
    [...Object.keys(DECLARATIONS), ...Object.keys(NOT_BOUND)].sort(),
  );
  for (const [name, declared] of Object.entries(DECLARATIONS)) {
    assert.deepEqual(declared, functions[name], name);
    for (const type of [declared[0], ...declared[1]]) {
      assert.ok(type in KOFFI_TYPES, `${name}: no koffi type for ${type}`);
    }
    assert.equal(typeof lib[name], 'function', name);
  }
  // What is not bound takes a function pointer: the package never hands one to the library.
  for (const name of Object.keys(NOT_BOUND)) {
    assert.ok(functions[name][1].some((t) => t.endsWith('_fn') || t.startsWith('struct')), name);
  }
});

test('every status of sessmgr.h has its Error subclass', () => {
  const statuses = [...readFileSync(HEADER, 'utf8').matchAll(/^#define SESSMGR_(\w+) (\d+)$/gm)]
    .filter(([, name]) => !name.startsWith('UPDATE_') && !name.startsWith('VERSION') && name !== 'OK')
    .map(([, name, value]) => [Number(value), name]);
  assert.ok(statuses.length >= 13);
  assert.deepEqual([...sessmgr.ERRORS.keys()].sort((a, b) => a - b), statuses.map(([v]) => v).sort((a, b) => a - b));
  for (const [status, name] of statuses) {
    const words = name.toLowerCase().split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join('');
    const cls = sessmgr.ERRORS.get(status);
    assert.equal(cls.name, `${words}Error`);
    assert.equal(sessmgr[cls.name], cls);
    const error = sessmgr.errorFor(status, 'said');
    assert.ok(error instanceof cls && error instanceof sessmgr.SessmgrError);
    assert.equal(error.status, status);
    assert.equal(error.message, 'said');
  }
});

test('index.d.ts declares exactly what index.js exports', () => {
  const typings = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8');
  const declared = [...typings.matchAll(/^export declare (?:const|function|class) (\w+)/gm)].map((m) => m[1]);
  assert.deepEqual([...new Set(declared)].sort(), Object.keys(sessmgr).sort());
});

test('index.d.ts type-checks a TypeScript program using the API, and refuses misuse', () => {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const usage = fileURLToPath(new URL('../test-support/usage.ts', import.meta.url));
  const flags = ['--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext'];
  const result = spawnSync(process.execPath, [tsc, ...flags, '--target', 'es2022', usage], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `tsc said:\n${result.stdout}${result.stderr}`);
});
