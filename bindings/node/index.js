// sessmgr for Node.js: user sessions the way 4D Server and FileMaker Server keep them, over
// libsessmgr.so through koffi. Every call is synchronous and short (no I/O but the Redis store's,
// bounded by its timeoutMs); no JS function is ever handed to the library.

import { INT64, UINT32, UINT64, callText, callValue, check, integer, lib, text } from './lib/native.js';
import { InvalidArgumentError, NotFoundError } from './lib/errors.js';
import { MISSING, Session, Storage, canonicalId, json } from './lib/session.js';

export * from './lib/errors.js';
export { LibraryNotFoundError } from './lib/native.js';
export { MISSING, Session, Storage, canonicalId };

/** The library's version. */
export function version() {
  return lib.sessmgr_version();
}

/**
 * Creates a session: options in the library's names ({type: "web" | "rest" | "remote" |
 * "storedProcedure" | "standalone", IPAddress, hostType, idleTimeout, …}); a web guest by default.
 */
export function createSession(options = {}) {
  return new Session(callText(lib.sessmgr_session_create, json({ type: 'web', ...options }, 'options')));
}

/** 4D's Session info: the info object, or null for an unknown, expired or malformed ID. */
export function sessionInfo(sessionId) {
  try {
    return JSON.parse(callText(lib.sessmgr_session_info, text(sessionId, 'session ID')));
  } catch (error) {
    if (error instanceof NotFoundError || error instanceof InvalidArgumentError) return null;
    throw error;
  }
}

/** The info object of every live session, oldest first. */
export function sessionsList() {
  return JSON.parse(callText(lib.sessmgr_sessions_list)).sessions;
}

/** FileMaker's Admin API "List Clients" object. */
export function clientsList() {
  return JSON.parse(callText(lib.sessmgr_clients_list));
}

/**
 * A page of the clients list: {clients, total, offset, limit}. Filters (all optional):
 * type, userName, search, ipaddress, offset, limit.
 */
export function clientsQuery(filters = {}) {
  return JSON.parse(callText(lib.sessmgr_clients_query, json(filters, 'query'))).response;
}

/** A page of the sessions list for people to see ({sessions, total, offset, limit}). */
export function sessionsQuery(filters = {}) {
  return JSON.parse(callText(lib.sessmgr_sessions_query, json(filters, 'query')));
}

/** Live sessions by type, and counters. */
export function stats() {
  return JSON.parse(callText(lib.sessmgr_stats));
}

/** Changes settings, in the library's names: configure({clock: "manual"}). All or nothing. */
export function configure(settings) {
  check(lib.sessmgr_configure(json(settings, 'configuration')));
}

/** Loads a roles.json (its text, or the parsed object). */
export function loadRoles(roles) {
  check(lib.sessmgr_load_roles(typeof roles === 'string' ? text(roles, 'roles') : json(roles, 'roles')));
}

/** Closes every session and restores every default. */
export function reset() {
  check(lib.sessmgr_reset());
}

/** The live web and rest sessions of a user, oldest first, as clients list rows. */
export function userSessions(userName) {
  return JSON.parse(callText(lib.sessmgr_user_sessions, text(userName, 'user name'))).clients;
}

/** Logs a user out everywhere; returns how many sessions it closed. */
export function userCloseSessions(userName) {
  return callValue(lib.sessmgr_user_close_sessions, text(userName, 'user name'));
}

/** 4D's Session.restore(): the session a one-time passcode was made for, which it spends. */
export function restore(token) {
  return new Session(callText(lib.sessmgr_session_restore, text(token, 'token')));
}

/** Queues a message for a client, named by its client number (session.clientId). */
export function sendMessage(clientId, message) {
  check(lib.sessmgr_client_send_message(integer(clientId, ...UINT64, 'client number'), text(message, 'text')));
}

/** FileMaker's Disconnect client: closes its session after graceSeconds (0: at once). */
export function disconnectClient(clientId, message = null, graceSeconds = 0) {
  check(
    lib.sessmgr_client_disconnect(
      integer(clientId, ...UINT64, 'client number'),
      message === null ? null : text(message, 'message'),
      integer(graceSeconds, ...UINT32, 'grace time'),
    ),
  );
}

/** Moves a manual clock forward. */
export function clockAdvance(seconds) {
  check(lib.sessmgr_clock_advance(integer(seconds, ...INT64, 'seconds')));
}

/** Removes expired sessions; returns how many. */
export function sweep() {
  return callValue(lib.sessmgr_sweep);
}

/** Live sessions. */
export function sessionCount() {
  return callValue(lib.sessmgr_session_count);
}
