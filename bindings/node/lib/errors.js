// One Error subclass per sessmgr status code, all under SessmgrError.

/** A call into libsessmgr failed: `status` is its code, `message` the library's text. */
export class SessmgrError extends Error {
  constructor(message, status = -1) {
    super(message);
    this.name = new.target.name;
    this.status = status;
  }
}

/** A required argument was null. */
export class NullArgumentError extends SessmgrError {
  static status = 1;
  constructor(message) {
    super(message, 1);
  }
}

/** An argument is malformed or out of range. */
export class InvalidArgumentError extends SessmgrError {
  static status = 2;
  constructor(message) {
    super(message, 2);
  }
}

/** A JSON argument does not parse. */
export class InvalidJsonError extends SessmgrError {
  static status = 3;
  constructor(message) {
    super(message, 3);
  }
}

/** No live session has that ID (never created, closed, or expired). */
export class NotFoundError extends SessmgrError {
  static status = 4;
  constructor(message) {
    super(message, 4);
  }
}

/** Nothing is stored at that JSON Pointer, or no file of that name is attached. */
export class NoValueError extends SessmgrError {
  static status = 5;
  constructor(message) {
    super(message, 5);
  }
}

/** The operation does nothing for this session type. */
export class NotSupportedError extends SessmgrError {
  static status = 6;
  constructor(message) {
    super(message, 6);
  }
}

/** A configured limit would be passed: nothing changed. */
export class LimitExceededError extends SessmgrError {
  static status = 7;
  constructor(message) {
    super(message, 7);
  }
}

/** A call the library refuses from inside its own callback. */
export class ReentrantError extends SessmgrError {
  static status = 8;
  constructor(message) {
    super(message, 8);
  }
}

/** An update gave up: nothing changed. */
export class AbortedError extends SessmgrError {
  static status = 9;
  constructor(message) {
    super(message, 9);
  }
}

/** A bug in the library, caught at its boundary. */
export class InternalError extends SessmgrError {
  static status = 10;
  constructor(message) {
    super(message, 10);
  }
}

/** The call does not fit the library's current state. */
export class BadStateError extends SessmgrError {
  static status = 11;
  constructor(message) {
    super(message, 11);
  }
}

/** The Redis store could not be reached, or did not answer within its timeoutMs. */
export class UnavailableError extends SessmgrError {
  static status = 12;
  constructor(message) {
    super(message, 12);
  }
}

/** The storage does not hold what compareAndSet expected, or not an integer (increment): nothing changed. */
export class ConflictError extends SessmgrError {
  static status = 13;
  constructor(message) {
    super(message, 13);
  }
}

/** status code -> Error subclass, for every status of sessmgr.h but SESSMGR_OK. */
export const ERRORS = new Map(
  [
    NullArgumentError,
    InvalidArgumentError,
    InvalidJsonError,
    NotFoundError,
    NoValueError,
    NotSupportedError,
    LimitExceededError,
    ReentrantError,
    AbortedError,
    InternalError,
    BadStateError,
    UnavailableError,
    ConflictError,
  ].map((cls) => [cls.status, cls]),
);

/** The error for a status code (a plain SessmgrError for an unknown one). */
export function errorFor(status, message) {
  const cls = ERRORS.get(status);
  return cls ? new cls(message) : new SessmgrError(message, status);
}
