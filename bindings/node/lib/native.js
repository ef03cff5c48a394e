// Loading libsessmgr.so through koffi and declaring its functions.
//
// DECLARATIONS is checked against include/sessmgr.h by test/declarations.test.js, so that the
// two cannot drift apart. No function that takes a C callback is bound: this package never
// hands a JS function to the library (the atomic storage calls need none).

import { fileURLToPath } from 'node:url';
import koffi from 'koffi';

import { InvalidArgumentError, errorFor } from './errors.js';

/** name: [return type, [parameter types]], in sessmgr.h's own spelling. */
export const DECLARATIONS = {
  sessmgr_version: ['const char *', []],
  sessmgr_last_error: ['const char *', []],
  sessmgr_string_free: ['void', ['char *']],
  sessmgr_configure: ['sessmgr_status', ['const char *']],
  sessmgr_load_roles: ['sessmgr_status', ['const char *']],
  sessmgr_reset: ['sessmgr_status', []],
  sessmgr_clock_advance: ['sessmgr_status', ['int64_t']],
  sessmgr_sweep: ['sessmgr_status', ['uint64_t *']],
  sessmgr_session_count: ['sessmgr_status', ['uint64_t *']],
  sessmgr_sessions_list: ['sessmgr_status', ['char **']],
  sessmgr_session_create: ['sessmgr_status', ['const char *', 'char **']],
  sessmgr_session_rotate_id: ['sessmgr_status', ['const char *', 'const char *', 'char **']],
  sessmgr_session_close: ['sessmgr_status', ['const char *']],
  sessmgr_session_touch: ['sessmgr_status', ['const char *']],
  sessmgr_session_request: ['sessmgr_status', ['const char *', 'const char *', 'const char *', 'bool *', 'char **']],
  sessmgr_session_info: ['sessmgr_status', ['const char *', 'char **']],
  sessmgr_session_set_state: ['sessmgr_status', ['const char *', 'const char *']],
  sessmgr_session_set_identifier: ['sessmgr_status', ['const char *', 'const char *']],
  sessmgr_session_get_identifier: ['sessmgr_status', ['const char *', 'char **']],
  sessmgr_session_get_user_name: ['sessmgr_status', ['const char *', 'char **']],
  sessmgr_session_set_privileges: ['sessmgr_status', ['const char *', 'const char *', 'char **']],
  sessmgr_session_clear_privileges: ['sessmgr_status', ['const char *']],
  sessmgr_session_has_privilege: ['sessmgr_status', ['const char *', 'const char *', 'bool *']],
  sessmgr_session_has_permission: ['sessmgr_status', ['const char *', 'const char *', 'const char *', 'bool *']],
  sessmgr_permissions_explain: ['sessmgr_status', ['const char *', 'const char *', 'const char *', 'char **']],
  sessmgr_session_get_privileges: ['sessmgr_status', ['const char *', 'char **']],
  sessmgr_session_is_guest: ['sessmgr_status', ['const char *', 'bool *']],
  sessmgr_session_set_idle_timeout: ['sessmgr_status', ['const char *', 'int32_t']],
  sessmgr_session_get_idle_timeout: ['sessmgr_status', ['const char *', 'int32_t *']],
  sessmgr_session_get_expiration_date: ['sessmgr_status', ['const char *', 'char **']],
  sessmgr_session_get_lifetime_end: ['sessmgr_status', ['const char *', 'char **']],
  sessmgr_session_set_lifetime_end: ['sessmgr_status', ['const char *', 'const char *']],
  sessmgr_storage_get: ['sessmgr_status', ['const char *', 'const char *', 'char **']],
  sessmgr_storage_set: ['sessmgr_status', ['const char *', 'const char *', 'const char *']],
  sessmgr_storage_remove: ['sessmgr_status', ['const char *', 'const char *']],
  sessmgr_storage_merge: ['sessmgr_status', ['const char *', 'const char *']],
  sessmgr_storage_compare_and_set: [
    'sessmgr_status',
    ['const char *', 'const char *', 'const char *', 'const char *'],
  ],
  sessmgr_storage_increment: ['sessmgr_status', ['const char *', 'const char *', 'int64_t', 'int64_t *']],
  sessmgr_clients_list: ['sessmgr_status', ['char **']],
  sessmgr_clients_query: ['sessmgr_status', ['const char *', 'char **']],
  sessmgr_sessions_query: ['sessmgr_status', ['const char *', 'char **']],
  sessmgr_session_attach_file: ['sessmgr_status', ['const char *', 'const char *']],
  sessmgr_session_detach_file: ['sessmgr_status', ['const char *', 'const char *']],
  sessmgr_session_get_client_id: ['sessmgr_status', ['const char *', 'uint64_t *']],
  sessmgr_client_send_message: ['sessmgr_status', ['uint64_t', 'const char *']],
  sessmgr_session_take_messages: ['sessmgr_status', ['const char *', 'char **']],
  sessmgr_client_disconnect: ['sessmgr_status', ['uint64_t', 'const char *', 'uint32_t']],
  sessmgr_session_create_otp: ['sessmgr_status', ['const char *', 'int32_t', 'char **']],
  sessmgr_user_sessions: ['sessmgr_status', ['const char *', 'char **']],
  sessmgr_user_close_sessions: ['sessmgr_status', ['const char *', 'uint64_t *']],
  sessmgr_session_restore: ['sessmgr_status', ['const char *', 'char **']],
  sessmgr_stats: ['sessmgr_status', ['char **']],
};

/** The functions of sessmgr.h this package does not bind, and why. */
export const NOT_BOUND = {
  sessmgr_storage_update: 'takes a C callback: use compareAndSet or increment',
  sessmgr_update_set: 'used only inside a storage_update callback',
  sessmgr_set_event_handler: 'takes a C callback, called on library threads',
};

/** sessmgr.h's C types as koffi types. */
export const KOFFI_TYPES = {
  sessmgr_status: 'int32_t',
  void: 'void',
  'const char *': 'const char *',
  'char *': 'void *',
  'char **': koffi.out(koffi.pointer('void *')),
  'bool *': koffi.out(koffi.pointer('bool')),
  int32_t: 'int32_t',
  'int32_t *': koffi.out(koffi.pointer('int32_t')),
  int64_t: 'int64_t',
  'int64_t *': koffi.out(koffi.pointer('int64_t')),
  uint32_t: 'uint32_t',
  uint64_t: 'uint64_t',
  'uint64_t *': koffi.out(koffi.pointer('uint64_t')),
};

export const LIBRARY_NAME = 'libsessmgr.so';

/** libsessmgr.so could not be loaded; the message lists every place tried. */
export class LibraryNotFoundError extends Error {
  constructor(message) {
    super(message);
    this.name = 'LibraryNotFoundError';
  }
}

/** Where the library is looked for: SESSMGR_LIBRARY, beside this package, the system's path. */
export function candidates() {
  const places = [];
  if (process.env.SESSMGR_LIBRARY) places.push(process.env.SESSMGR_LIBRARY);
  places.push(fileURLToPath(new URL(`../${LIBRARY_NAME}`, import.meta.url)));
  places.push(LIBRARY_NAME); // the dynamic loader's own search path
  return places;
}

function load() {
  const tried = [];
  for (const place of candidates()) {
    let library;
    try {
      library = koffi.load(place);
    } catch (error) {
      tried.push(`${place} (${error.message})`);
      continue;
    }
    const functions = {};
    for (const [name, [ret, params]] of Object.entries(DECLARATIONS)) {
      functions[name] = library.func(
        name,
        KOFFI_TYPES[ret],
        params.map((type) => KOFFI_TYPES[type]),
      );
    }
    return functions;
  }
  throw new LibraryNotFoundError(
    `cannot load ${LIBRARY_NAME}; set SESSMGR_LIBRARY to its path. Tried: ${tried.join('; ')}`,
  );
}

/** Every declared function, bound. */
export const lib = load();

/** A string for the library: JS strings go as UTF-8; one holding a NUL would be cut short. */
export function text(value, what = 'text') {
  if (typeof value !== 'string') {
    throw new InvalidArgumentError(`${what} must be a string, not ${typeof value}`);
  }
  if (value.includes('\0')) throw new InvalidArgumentError(`${what} holds a NUL character`);
  return value;
}

/** An integer within [min, max] (a number or a BigInt), for an integer parameter. */
export function integer(value, min, max, what) {
  const ok =
    (typeof value === 'number' && Number.isSafeInteger(value)) || typeof value === 'bigint';
  if (!ok || BigInt(value) < min || BigInt(value) > max) {
    throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}, not ${value}`);
  }
  return value;
}

export const INT32 = [-(2n ** 31n), 2n ** 31n - 1n];
export const UINT32 = [0n, 2n ** 32n - 1n];
export const INT64 = [-(2n ** 63n), 2n ** 63n - 1n];
export const UINT64 = [0n, 2n ** 64n - 1n];

/** Throws the error for a failed status, with the library's message. */
export function check(status) {
  if (status !== 0) throw errorFor(status, lib.sessmgr_last_error() ?? '');
}

/** Calls a function whose last parameter is a `char **` out; returns that text, freed. */
export function callText(fn, ...args) {
  const out = [null];
  check(fn(...args, out));
  return takeText(out[0]);
}

/** Reads a string the library handed out, and frees it. */
export function takeText(pointer) {
  if (!pointer) return '';
  try {
    return koffi.decode(pointer, 'char', -1);
  } finally {
    lib.sessmgr_string_free(pointer);
  }
}

/** Calls a function whose last parameter is a number out (bool, int32, int64, uint64). */
export function callValue(fn, ...args) {
  const out = [null];
  check(fn(...args, out));
  return out[0];
}
