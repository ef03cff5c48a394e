// TypeScript declarations of the sessmgr package (index.js). Checked against the exports of
// index.js by test/declarations.test.js.

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What setPrivileges and rotateId take: names, or {privileges, roles, userName}. */
export type Privileges =
  | string
  | string[]
  | { privileges?: string | string[]; roles?: string | string[]; userName?: string };

/** The absence of a value, for compareAndSet (null is JSON null). */
export declare const MISSING: unique symbol;

/** A call into libsessmgr failed: status is its code, message the library's text. */
export declare class SessmgrError extends Error {
  constructor(message: string, status?: number);
  readonly status: number;
}
export declare class NullArgumentError extends SessmgrError {
  static readonly status: 1;
}
export declare class InvalidArgumentError extends SessmgrError {
  static readonly status: 2;
}
export declare class InvalidJsonError extends SessmgrError {
  static readonly status: 3;
}
export declare class NotFoundError extends SessmgrError {
  static readonly status: 4;
}
export declare class NoValueError extends SessmgrError {
  static readonly status: 5;
}
export declare class NotSupportedError extends SessmgrError {
  static readonly status: 6;
}
export declare class LimitExceededError extends SessmgrError {
  static readonly status: 7;
}
export declare class ReentrantError extends SessmgrError {
  static readonly status: 8;
}
export declare class AbortedError extends SessmgrError {
  static readonly status: 9;
}
export declare class InternalError extends SessmgrError {
  static readonly status: 10;
}
export declare class BadStateError extends SessmgrError {
  static readonly status: 11;
}
export declare class UnavailableError extends SessmgrError {
  static readonly status: 12;
}
export declare class ConflictError extends SessmgrError {
  static readonly status: 13;
}
/** status code -> Error subclass. */
export declare const ERRORS: Map<number, typeof SessmgrError>;
export declare function errorFor(status: number, message: string): SessmgrError;

/** libsessmgr.so could not be loaded; the message lists every place tried. */
export declare class LibraryNotFoundError extends Error {}

/** 4D's Session.info. */
export interface SessionInfo {
  type: 'web' | 'rest' | 'remote' | 'storedProcedure' | 'standalone';
  userName: string;
  machineName: string;
  systemUserName: string;
  IPAddress: string;
  hostType: string;
  creationDateTime: string;
  state: 'active' | 'postponed' | 'sleeping';
  ID: string;
  persistentID: string;
  [key: string]: Json;
}

/** Creation options, in the library's names. */
export interface SessionOptions {
  type?: 'web' | 'rest' | 'remote' | 'storedProcedure' | 'standalone';
  machineName?: string;
  systemUserName?: string;
  IPAddress?: string;
  hostType?: string;
  persistentID?: string;
  idleTimeout?: number;
  maxLifetime?: number;
  [key: string]: Json | undefined;
}

/** A message administrators sent a client. */
export interface Message {
  time: string;
  text: string;
  disconnectAt?: string;
}

export declare function canonicalId(sessionId: string): string;


/** 4D's permission actions (case-sensitive). */
export type PermissionAction = 'create' | 'read' | 'update' | 'drop' | 'execute' | 'describe' | 'promote';

/** One list of privileges a permission check requires (see sessmgr_permissions_explain). */
export interface PermissionRequirement {
  applyTo: string;
  type: 'datastore' | 'dataclass' | 'attribute' | 'method' | 'singleton' | 'singletonMethod';
  entry: string | null;
  level: string;
  privileges: { name: string; held: boolean; through: string[] }[];
  met: boolean;
}

/** Why hasPermission answers as it does. */
export interface PermissionExplanation {
  allowed: boolean;
  resource: string;
  type?: string;
  action: PermissionAction;
  restrictedByDefault?: boolean;
  reason: string;
  sessionType?: string;
  checks: { action: PermissionAction; set: boolean; met?: boolean; grants?: PermissionAction; requires?: PermissionRequirement[] }[];
}

export declare class Session {
  constructor(sessionId: string);
  /** The session ID (a bearer token: keep it out of logs). */
  readonly id: string;
  /** The names the last setPrivileges ignored. */
  ignoredPrivileges: string[];
  readonly storage: Storage;
  readonly info: SessionInfo;
  readonly userName: string;
  identifier: string;
  state: 'active' | 'postponed' | 'sleeping';
  setPrivileges(privileges: Privileges): boolean;
  rotateId(privileges?: Privileges): string;
  clearPrivileges(): boolean;
  hasPrivilege(privilege: string): boolean;
  hasPermission(resource: string, action: PermissionAction): boolean;
  explainPermission(resource: string, action: PermissionAction): PermissionExplanation;
  getPrivileges(): string[];
  isGuest(): boolean;
  idleTimeout: number;
  readonly expirationDate: Date;
  lifetimeEnd: Date | null;
  attachFile(filename: string, file?: { accountName?: string; privsetName?: string }): void;
  detachFile(filename: string): void;
  readonly clientId: number | bigint;
  takeMessages(): Message[];
  createOtp(lifespanSeconds?: number): string;
  touch(): void;
  /** A request's work in one call: the activity of touch(), hasPrivilege and a storage read. */
  request(privilege?: string, pointer?: string): { granted?: boolean; value?: Json | typeof MISSING };
  close(): void;
}

export declare class Storage {
  constructor(session: Session);
  value(): { [key: string]: Json };
  get(key: string): Json | undefined;
  set(key: string, value: Json): this;
  delete(key: string): boolean;
  has(key: string): boolean;
  keys(): string[];
  getAt(pointer: string): Json;
  setAt(pointer: string, value: Json): void;
  removeAt(pointer: string): void;
  merge(patch: { [key: string]: Json }): void;
  compareAndSet(pointer: string, expected: Json | typeof MISSING, next: Json | typeof MISSING): void;
  increment(pointer: string, delta?: number | bigint): number | bigint;
}

/** Filters of clientsQuery and sessionsQuery. */
export interface Query {
  type?: string;
  userName?: string;
  search?: string;
  ipaddress?: string;
  offset?: number;
  limit?: number;
}

export declare function version(): string;
export declare function createSession(options?: SessionOptions): Session;
export declare function sessionInfo(sessionId: string): SessionInfo | null;
export declare function sessionsList(): SessionInfo[];
export declare function clientsList(): { [key: string]: Json };
export declare function clientsQuery(filters?: Query): {
  clients: { [key: string]: Json }[];
  total: number;
  offset: number;
  limit: number;
};
export declare function sessionsQuery(filters?: Query): {
  sessions: { [key: string]: Json }[];
  total: number;
  offset: number;
  limit: number;
};
export declare function stats(): { [key: string]: Json };
export declare function configure(settings: { [key: string]: Json }): void;
export declare function loadRoles(roles: string | { [key: string]: Json }): void;
export declare function reset(): void;
export declare function userSessions(userName: string): { [key: string]: Json }[];
export declare function userCloseSessions(userName: string): number | bigint;
export declare function restore(token: string): Session;
export declare function sendMessage(clientId: number | bigint, message: string): void;
export declare function disconnectClient(
  clientId: number | bigint,
  message?: string | null,
  graceSeconds?: number,
): void;
export declare function clockAdvance(seconds: number | bigint): void;
export declare function sweep(): number | bigint;
export declare function sessionCount(): number | bigint;
