"""One exception class per sessmgr status code, all under :class:`SessmgrError`."""

from __future__ import annotations


class SessmgrError(Exception):
    """A call into libsessmgr failed: ``status`` is its code, ``message`` the library's text."""

    status: int = -1

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NullArgumentError(SessmgrError):
    status = 1


class InvalidArgumentError(SessmgrError, ValueError):
    status = 2


class InvalidJsonError(SessmgrError, ValueError):
    status = 3


class NotFoundError(SessmgrError, LookupError):
    """No live session has that ID (never created, closed, or expired)."""

    status = 4


class NoValueError(SessmgrError, LookupError):
    """Nothing is stored at that JSON Pointer, or no file of that name is attached."""

    status = 5


class NotSupportedError(SessmgrError):
    """The operation does nothing for this session type."""

    status = 6


class LimitExceededError(SessmgrError):
    status = 7


class ReentrantError(SessmgrError):
    status = 8


class AbortedError(SessmgrError):
    status = 9


class InternalError(SessmgrError):
    status = 10


class BadStateError(SessmgrError):
    status = 11


class UnavailableError(SessmgrError):
    """The Redis store could not be reached or did not answer within its ``timeoutMs``."""

    status = 12


class ConflictError(SessmgrError):
    """The storage does not hold what an atomic call expected (``compare_and_set``), or not an
    integer (``increment``): nothing changed."""

    status = 13


class StorageConflictError(ConflictError):
    """A ``storage.use()`` block lost a race with a write made outside ``use()``: nothing changed."""


ERRORS: dict[int, type[SessmgrError]] = {
    cls.status: cls
    for cls in (
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
    )
}


def error_for(status: int, message: str) -> SessmgrError:
    """The exception for a status code (a plain :class:`SessmgrError` for an unknown one)."""
    return ERRORS.get(status, SessmgrError)(message, status)
