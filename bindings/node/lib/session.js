// 4D's Session class over libsessmgr: a session and its storage.

import {
  INT32,
  INT64,
  callText,
  callValue,
  check,
  integer,
  lib,
  takeText,
  text,
} from './native.js';
import { InvalidArgumentError, NoValueError, NotSupportedError } from './errors.js';

/** The absence of a value, for compareAndSet (`null` is JSON null). */
export const MISSING = Symbol('sessmgr.MISSING');

const ID_FORMS = /^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12})$/;

/**
 * A session ID in the form the library hands out (32 uppercase hex digits), from any form it
 * accepts (either case, with or without the UUID dashes); text of no such form is returned as
 * it is, for the library to refuse. Key anything of your own on this form.
 */
export function canonicalId(sessionId) {
  return ID_FORMS.test(sessionId) ? sessionId.replaceAll('-', '').toUpperCase() : sessionId;
}

/** A JSON value as the library's text; undefined, functions and BigInts have no JSON form. */
export function json(value, what = 'value') {
  let encoded;
  try {
    encoded = JSON.stringify(value);
  } catch (error) {
    throw new InvalidArgumentError(`${what} has no JSON form: ${error.message}`);
  }
  if (encoded === undefined) throw new InvalidArgumentError(`${what} has no JSON form`);
  return text(encoded, what);
}

function privilegesText(privileges) {
  return text(typeof privileges === 'string' ? privileges : json(privileges, 'privileges'), 'privileges');
}

function pointerOf(key) {
  return text(`/${text(key, 'key').replaceAll('~', '~0').replaceAll('/', '~1')}`, 'key');
}

/** A `YYYY-MM-DDTHH:MM:SS.mmmZ` date of the library as a Date. */
function parseDate(value) {
  return new Date(value);
}

/**
 * One session of the registry, as 4D's Session object. Closing it is explicit (close());
 * dropping the object leaves the session open, as a cookie would.
 */
export class Session {
  #id;

  constructor(sessionId) {
    this.#id = canonicalId(text(sessionId, 'session ID'));
    /** The names the last setPrivileges ignored (not declared in roles.json). */
    this.ignoredPrivileges = [];
    /** 4D's .storage: the session's shared JSON object. */
    this.storage = new Storage(this);
  }

  /** The session ID (a bearer token: keep it out of logs). */
  get id() {
    return this.#id;
  }

  /** 4D's .info: type, userName, machineName, IPAddress, hostType, creationDateTime, state… */
  get info() {
    return JSON.parse(callText(lib.sessmgr_session_info, this.#id));
  }

  /** The user name: for web and rest, set by setPrivileges ({userName}). */
  get userName() {
    return callText(lib.sessmgr_session_get_user_name, this.#id);
  }

  /** FileMaker's session identifier: "" until set. */
  get identifier() {
    return callText(lib.sessmgr_session_get_identifier, this.#id);
  }

  set identifier(value) {
    check(lib.sessmgr_session_set_identifier(this.#id, text(value, 'identifier')));
  }

  /** "active", "postponed" or "sleeping". */
  get state() {
    return this.info.state;
  }

  set state(value) {
    check(lib.sessmgr_session_set_state(this.#id, text(value, 'state')));
  }

  /**
   * 4D's .setPrivileges(): a name or comma-separated names, an array of names, or
   * {privileges, roles, userName}. Replaces the grant. Returns false, as 4D does, for the
   * session types without privileges; names not declared are ignored and listed in
   * ignoredPrivileges.
   */
  setPrivileges(privileges) {
    let ignored;
    try {
      ignored = callText(lib.sessmgr_session_set_privileges, this.#id, privilegesText(privileges));
    } catch (error) {
      if (error instanceof NotSupportedError) return false;
      throw error;
    }
    this.ignoredPrivileges = JSON.parse(ignored);
    return true;
  }

  /**
   * Gives the session a new random ID and keeps everything else (call it at login, against
   * session fixation); privileges, if given, replace the grant in the same step. This object
   * follows the session; the new ID is returned (set it as the new cookie).
   */
  rotateId(privileges = undefined) {
    const argument = privileges === undefined ? null : privilegesText(privileges);
    this.#id = callText(lib.sessmgr_session_rotate_id, this.#id, argument);
    return this.#id;
  }

  /** 4D's .clearPrivileges(): the session becomes a guest. False for types without privileges. */
  clearPrivileges() {
    try {
      check(lib.sessmgr_session_clear_privileges(this.#id));
    } catch (error) {
      if (error instanceof NotSupportedError) return false;
      throw error;
    }
    return true;
  }

  /** 4D's .hasPrivilege() (always true for remote and stored-procedure sessions). */
  hasPrivilege(privilege) {
    return callValue(lib.sessmgr_session_has_privilege, this.#id, text(privilege, 'privilege'));
  }

  /**
   * 4D's permissions from roles.json: may this session do `action` ('read', 'execute', ...) on
   * `resource` ('ds', 'City', 'City.name', 'City.getPopulation', ...)? Always true for remote
   * and stored-procedure sessions.
   */
  hasPermission(resource, action) {
    return callValue(
      lib.sessmgr_session_has_permission,
      this.#id,
      text(resource, 'resource'),
      text(action, 'action'),
    );
  }

  /** Why hasPermission answers as it does: entries, levels, privileges and how each is held. */
  explainPermission(resource, action) {
    return JSON.parse(
      callText(lib.sessmgr_permissions_explain, this.#id, text(resource, 'resource'), text(action, 'action')),
    );
  }

  /** The privileges held, expanded. */
  getPrivileges() {
    return JSON.parse(callText(lib.sessmgr_session_get_privileges, this.#id));
  }

  /** 4D's .isGuest(). */
  isGuest() {
    return callValue(lib.sessmgr_session_is_guest, this.#id);
  }

  /** Minutes of inactivity before a web or rest session expires. */
  get idleTimeout() {
    return callValue(lib.sessmgr_session_get_idle_timeout, this.#id);
  }

  set idleTimeout(minutes) {
    check(lib.sessmgr_session_set_idle_timeout(this.#id, integer(minutes, ...INT32, 'idle timeout')));
  }

  /** When the session expires if left idle. */
  get expirationDate() {
    return parseDate(callText(lib.sessmgr_session_get_expiration_date, this.#id));
  }

  /** The absolute end, which activity never moves; null when there is none. */
  get lifetimeEnd() {
    try {
      return parseDate(callText(lib.sessmgr_session_get_lifetime_end, this.#id));
    } catch (error) {
      if (error instanceof NoValueError) return null;
      throw error;
    }
  }

  /** Fixes the absolute end (a Date) or clears it (null). */
  set lifetimeEnd(end) {
    if (end === null) {
      check(lib.sessmgr_session_set_lifetime_end(this.#id, null));
      return;
    }
    if (!(end instanceof Date) || Number.isNaN(end.getTime())) {
      throw new InvalidArgumentError('the end must be a valid Date or null');
    }
    check(lib.sessmgr_session_set_lifetime_end(this.#id, end.toISOString()));
  }

  /** Records that the client opened a file (FileMaker's guestFiles). */
  attachFile(filename, { accountName, privsetName = '' } = {}) {
    const file = { filename: text(filename, 'filename'), privsetName };
    if (accountName !== undefined) file.accountName = accountName;
    check(lib.sessmgr_session_attach_file(this.#id, json(file, 'file')));
  }

  detachFile(filename) {
    check(lib.sessmgr_session_detach_file(this.#id, text(filename, 'filename')));
  }

  /** The client number administrators see: not a secret, unlike the session ID. */
  get clientId() {
    return callValue(lib.sessmgr_session_get_client_id, this.#id);
  }

  /** The messages administrators sent this client, oldest first, each handed out once. */
  takeMessages() {
    return JSON.parse(callText(lib.sessmgr_session_take_messages, this.#id)).messages;
  }

  /** 4D's createOTP(): a one-time passcode that restores this web session once (restore()). */
  createOtp(lifespanSeconds = 0) {
    return callText(
      lib.sessmgr_session_create_otp,
      this.#id,
      integer(lifespanSeconds, 0n, INT32[1], 'lifespan'),
    );
  }

  /** Records activity: the idle timeout starts again. */
  touch() {
    check(lib.sessmgr_session_touch(this.#id));
  }

  /**
   * A request's work in one call (sessmgr_session_request): the activity of touch(); `granted`
   * answers hasPrivilege(privilege) and `value` is the storage value at the JSON Pointer
   * `pointer` (MISSING when nothing is stored there); each undefined when not asked.
   */
  request(privilege, pointer) {
    const granted = [false];
    const out = [null];
    check(
      lib.sessmgr_session_request(
        this.#id,
        privilege === undefined ? null : text(privilege, 'privilege'),
        pointer === undefined ? null : text(pointer, 'pointer'),
        granted,
        out,
      ),
    );
    let value;
    if (pointer !== undefined) value = out[0] ? JSON.parse(takeText(out[0])) : MISSING;
    return { granted: privilege === undefined ? undefined : granted[0], value };
  }

  close() {
    check(lib.sessmgr_session_close(this.#id));
  }
}

/**
 * The session's storage: its top-level keys (get/set/delete/has, like a Map) and JSON Pointers
 * (getAt/setAt/removeAt). Each call is one atomic step; compareAndSet and increment are the
 * atomic read-modify-writes, with no callback.
 */
export class Storage {
  #session;

  constructor(session) {
    this.#session = session;
  }

  #get(pointer) {
    return JSON.parse(callText(lib.sessmgr_storage_get, this.#session.id, pointer));
  }

  /** The whole storage, as an object (a copy). */
  value() {
    return this.#get('');
  }

  /** The value of a top-level key, or undefined when there is none. */
  get(key) {
    try {
      return this.#get(pointerOf(key));
    } catch (error) {
      if (error instanceof NoValueError) return undefined;
      throw error;
    }
  }

  set(key, value) {
    check(lib.sessmgr_storage_set(this.#session.id, pointerOf(key), json(value)));
    return this;
  }

  /** Removes a top-level key; false if there was none. */
  delete(key) {
    try {
      check(lib.sessmgr_storage_remove(this.#session.id, pointerOf(key)));
    } catch (error) {
      if (error instanceof NoValueError) return false;
      throw error;
    }
    return true;
  }

  has(key) {
    return Object.hasOwn(this.value(), text(key, 'key'));
  }

  keys() {
    return Object.keys(this.value());
  }

  /** The value at a JSON Pointer ("/a/0"); NoValueError when there is none. */
  getAt(pointer) {
    return this.#get(text(pointer, 'pointer'));
  }

  setAt(pointer, value) {
    check(lib.sessmgr_storage_set(this.#session.id, text(pointer, 'pointer'), json(value)));
  }

  /** Removes the value at a JSON Pointer; NoValueError when there is none. */
  removeAt(pointer) {
    check(lib.sessmgr_storage_remove(this.#session.id, text(pointer, 'pointer')));
  }

  /** Applies an RFC 7386 merge patch (null values remove keys). */
  merge(patch) {
    check(lib.sessmgr_storage_merge(this.#session.id, json(patch, 'patch')));
  }

  /**
   * Atomically replaces the value at a JSON Pointer with next (MISSING: removes it), only if
   * what is there equals expected as JSON (MISSING: only if nothing is); otherwise
   * ConflictError, and nothing changes.
   */
  compareAndSet(pointer, expected, next) {
    check(
      lib.sessmgr_storage_compare_and_set(
        this.#session.id,
        text(pointer, 'pointer'),
        expected === MISSING ? null : json(expected, 'expected'),
        next === MISSING ? null : json(next, 'new value'),
      ),
    );
  }

  /**
   * Atomically adds delta (a safe integer or a BigInt) to the integer at a JSON Pointer
   * (nothing there counts as 0) and returns the sum: a number, or a BigInt beyond 2^53.
   * ConflictError if the value is not an integer, LimitExceededError beyond 64 bits.
   */
  increment(pointer, delta = 1) {
    return callValue(
      lib.sessmgr_storage_increment,
      this.#session.id,
      text(pointer, 'pointer'),
      integer(delta, ...INT64, 'delta'),
    );
  }
}
