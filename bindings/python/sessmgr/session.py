"""4D's ``Session`` class over libsessmgr: a session and its storage."""

from __future__ import annotations

import ctypes
import json
import re
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Optional, Union

from . import _native
from ._native import call_text, check, lib, take_text, text
from .errors import InvalidArgumentError, NoValueError, NotSupportedError, ReentrantError, StorageConflictError

Json = Any
Privileges = Union[str, list, dict]


def _pointer(key: str) -> bytes:
    """The JSON Pointer of a top-level key."""
    return text("/" + key.replace("~", "~0").replace("/", "~1"), "key")


def _dumps(value: Json) -> bytes:
    return text(json.dumps(value, ensure_ascii=False, allow_nan=False), "value")


_ID_FORMS = re.compile(r"[0-9A-Fa-f]{32}|[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")


class _Missing:
    """The absence of a value, for :meth:`Storage.compare_and_set` (``None`` is JSON null)."""

    _instance: Optional["_Missing"] = None

    def __new__(cls) -> "_Missing":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "sessmgr.MISSING"


MISSING = _Missing()


def canonical_id(session_id: str) -> str:
    """A session ID in the form the library hands out (32 uppercase hex digits), from any form
    it accepts (either case, with or without the UUID dashes); text of no such form is returned
    as it is, for the library to refuse. Key anything of your own on this form, never on the
    raw text of a cookie: one session answers to several."""
    if _ID_FORMS.fullmatch(session_id):
        return session_id.replace("-", "").upper()
    return session_id


def parse_date(value: str) -> datetime:
    """A ``YYYY-MM-DDTHH:MM:SS.mmmZ`` date as an aware UTC datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Session:
    """One session of the registry, as 4D's ``Session`` object.

    Closing it is explicit (:meth:`close`, or leaving a ``with`` block); dropping the Python
    object leaves the session open, as a cookie would. ``id`` is the canonical form of the ID
    it was made with (see :func:`canonical_id`), so two objects for one session are equal.
    """

    def __init__(self, session_id: str) -> None:
        self.id: str = canonical_id(session_id)
        self._id = text(self.id, "session ID")
        #: The names the last :meth:`set_privileges` ignored (not declared in roles.json).
        self.ignored_privileges: list[str] = []

    def __repr__(self) -> str:
        return f"Session({self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Session) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- information ---------------------------------------------------------------------------

    @property
    def info(self) -> dict:
        """4D's ``.info``: type, userName, machineName, systemUserName, IPAddress, hostType,
        creationDateTime, state, ID, persistentID."""
        return json.loads(call_text(lib.sessmgr_session_info, self._id))

    @property
    def user_name(self) -> str:
        """The user name: for web and rest, set by :meth:`set_privileges` (``userName``)."""
        return call_text(lib.sessmgr_session_get_user_name, self._id)

    @property
    def identifier(self) -> str:
        """FileMaker's session identifier: "" until set; administrators see it (or else the
        user name)."""
        return call_text(lib.sessmgr_session_get_identifier, self._id)

    @identifier.setter
    def identifier(self, value: str) -> None:
        check(lib.sessmgr_session_set_identifier(self._id, text(value, "identifier")))

    @property
    def state(self) -> str:
        """"active", "postponed" or "sleeping"."""
        return self.info["state"]

    @state.setter
    def state(self, value: str) -> None:
        check(lib.sessmgr_session_set_state(self._id, text(value, "state")))

    # -- privileges ----------------------------------------------------------------------------

    def set_privileges(self, privileges: Privileges) -> bool:
        """4D's ``.setPrivileges()``: a name or comma-separated names, a list of names, or
        ``{"privileges": …, "roles": …, "userName": …}``. Replaces the grant. Returns False,
        as 4D does, for the session types without privileges; names not declared are ignored
        and listed in :attr:`ignored_privileges`."""
        argument = privileges if isinstance(privileges, str) else json.dumps(privileges)
        try:
            ignored = call_text(lib.sessmgr_session_set_privileges, self._id, text(argument, "privileges"))
        except NotSupportedError:
            return False
        self.ignored_privileges = json.loads(ignored)
        return True

    def rotate_id(self, privileges: Optional[Privileges] = None) -> str:
        """Gives the session a new random ID and keeps everything else (call it at login, to
        defeat session fixation); ``privileges``, if given, replace the grant in the same step,
        as :meth:`set_privileges` takes them. This object follows the session: its ``id`` is the
        new one, which is returned (set it as the new cookie). The old ID is dead, or reaches
        the session for ``rotation_grace_seconds``."""
        argument = None
        if privileges is not None:
            argument = text(privileges if isinstance(privileges, str) else json.dumps(privileges), "privileges")
        new_id = call_text(lib.sessmgr_session_rotate_id, self._id, argument)
        self.id = new_id
        self._id = text(new_id, "session ID")
        return new_id

    def clear_privileges(self) -> bool:
        """4D's ``.clearPrivileges()``: the session becomes a guest. False for the types
        without privileges."""
        try:
            check(lib.sessmgr_session_clear_privileges(self._id))
        except NotSupportedError:
            return False
        return True

    def has_privilege(self, privilege: str) -> bool:
        """4D's ``.hasPrivilege()`` (always True for remote and stored-procedure sessions)."""
        result = ctypes.c_bool()
        check(lib.sessmgr_session_has_privilege(self._id, text(privilege, "privilege"), ctypes.byref(result)))
        return result.value

    def has_permission(self, resource: str, action: str) -> bool:
        """4D's permissions from ``roles.json``: may this session do ``action`` (``"read"``,
        ``"execute"``...) on ``resource`` (``"ds"``, ``"City"``, ``"City.name"``,
        ``"City.getPopulation"``...)? Always True for remote and stored-procedure sessions."""
        result = ctypes.c_bool()
        check(
            lib.sessmgr_session_has_permission(
                self._id, text(resource, "resource"), text(action, "action"), ctypes.byref(result)
            )
        )
        return result.value

    def explain_permission(self, resource: str, action: str) -> dict[str, Any]:
        """Why :meth:`has_permission` answers as it does: the entries, levels, privileges and
        how the session holds each (``sessmgr_permissions_explain``)."""
        return json.loads(
            call_text(lib.sessmgr_permissions_explain, self._id, text(resource, "resource"), text(action, "action"))
        )

    def get_privileges(self) -> list[str]:
        """The privileges held, expanded (``["WebAdmin"]`` for types without privileges)."""
        return json.loads(call_text(lib.sessmgr_session_get_privileges, self._id))

    def is_guest(self) -> bool:
        """4D's ``.isGuest()``."""
        result = ctypes.c_bool()
        check(lib.sessmgr_session_is_guest(self._id, ctypes.byref(result)))
        return result.value

    # -- idle timeout --------------------------------------------------------------------------

    @property
    def idle_timeout(self) -> int:
        """Minutes of inactivity before a web or rest session expires (at least the minimum)."""
        minutes = ctypes.c_int32()
        check(lib.sessmgr_session_get_idle_timeout(self._id, ctypes.byref(minutes)))
        return minutes.value

    @idle_timeout.setter
    def idle_timeout(self, minutes: int) -> None:
        if not -(2**31) <= minutes < 2**31:
            raise InvalidArgumentError(f"idle timeout {minutes} is out of range", 2)
        check(lib.sessmgr_session_set_idle_timeout(self._id, minutes))

    @property
    def expiration_date(self) -> datetime:
        """When the session expires if left idle (UTC)."""
        return parse_date(call_text(lib.sessmgr_session_get_expiration_date, self._id))

    @property
    def lifetime_end(self) -> Optional[datetime]:
        """The absolute end, which activity never moves (``max_lifetime`` after creation, or as
        set); None when there is none."""
        try:
            return parse_date(call_text(lib.sessmgr_session_get_lifetime_end, self._id))
        except NoValueError:
            return None

    @lifetime_end.setter
    def lifetime_end(self, end: Optional[datetime]) -> None:
        """Fixes the absolute end ("remember me until"; an aware datetime, kept to the
        millisecond) or clears it (None)."""
        if end is None:
            check(lib.sessmgr_session_set_lifetime_end(self._id, None))
            return
        if end.tzinfo is None:
            raise InvalidArgumentError("the end must be an aware datetime (with a time zone)", 2)
        if end.microsecond % 1000:
            raise InvalidArgumentError("the end is finer than a millisecond, which cannot be kept exactly", 2)
        text_end = end.isoformat(timespec="milliseconds")
        check(lib.sessmgr_session_set_lifetime_end(self._id, text(text_end, "end")))

    # -- storage, files, life ------------------------------------------------------------------

    @property
    def storage(self) -> "Storage":
        """4D's ``.storage``: a mapping view of the session's shared JSON object."""
        return Storage(self)

    def attach_file(self, filename: str, account_name: Optional[str] = None, privset_name: str = "") -> None:
        """Records that the client opened a file (FileMaker's ``guestFiles``)."""
        file = {"filename": filename, "privsetName": privset_name}
        if account_name is not None:
            file["accountName"] = account_name
        check(lib.sessmgr_session_attach_file(self._id, _dumps(file)))

    def detach_file(self, filename: str) -> None:
        check(lib.sessmgr_session_detach_file(self._id, text(filename, "filename")))

    @property
    def client_id(self) -> int:
        """The client number administrators see (the ``id`` of ``clients_list``): not a secret,
        unlike the session ID."""
        client = ctypes.c_uint64()
        check(lib.sessmgr_session_get_client_id(self._id, ctypes.byref(client)))
        return client.value

    def take_messages(self) -> list[dict]:
        """The messages administrators sent this client, oldest first, each handed out once:
        ``{"time", "text"}``, with ``"disconnectAt"`` on a disconnection's notice."""
        return json.loads(call_text(lib.sessmgr_session_take_messages, self._id))["messages"]

    def create_otp(self, lifespan_seconds: int = 0) -> str:
        """4D's ``createOTP()``: a one-time passcode that restores this web session once (see
        :func:`sessmgr.restore`), for ``lifespan_seconds`` (0: the idle timeout; at least 10).
        It is as secret as the session ID."""
        if not 0 <= lifespan_seconds < 2**31:
            raise InvalidArgumentError(f"lifespan {lifespan_seconds} is out of range", 2)
        return call_text(lib.sessmgr_session_create_otp, self._id, lifespan_seconds)

    def touch(self) -> None:
        """Records activity: the idle timeout starts again."""
        check(lib.sessmgr_session_touch(self._id))

    def request(self, privilege: Optional[str] = None, pointer: Optional[str] = None) -> tuple[Optional[bool], Any]:
        """A request's work in one call (``sessmgr_session_request``): records activity, as
        :meth:`touch`; answers :meth:`has_privilege` for ``privilege`` (None when not asked) and
        gives the storage value at the JSON Pointer ``pointer`` (``MISSING`` when nothing is
        stored there, None when not asked)."""
        granted = ctypes.c_bool()
        out = ctypes.c_void_p()
        check(
            lib.sessmgr_session_request(
                self._id,
                None if privilege is None else text(privilege, "privilege"),
                None if pointer is None else text(pointer, "pointer"),
                ctypes.byref(granted),
                ctypes.byref(out),
            )
        )
        value: Any = None
        if pointer is not None:
            value = json.loads(take_text(out)) if out.value else MISSING
        return (granted.value if privilege is not None else None), value

    def close(self) -> None:
        check(lib.sessmgr_session_close(self._id))


class _UseLock:
    """The lock that ``use()`` blocks on one session take, and how many blocks hold or wait
    for it: it exists only while that number is not zero."""

    __slots__ = ("lock", "users", "owner")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.owner: Optional[int] = None


#: One entry per session that a ``use()`` block holds or waits for, none for the others: memory
#: follows the blocks under way, not the sessions ever seen.
_use_locks: dict[str, _UseLock] = {}
_use_locks_guard = threading.Lock()


@contextmanager
def _use_lock(session_id: str) -> Iterator[None]:
    """Holds the ``use()`` lock of one session (by its canonical ID) for the block."""
    me = threading.get_ident()
    with _use_locks_guard:
        entry = _use_locks.get(session_id)
        if entry is None:
            entry = _use_locks[session_id] = _UseLock()
        elif entry.owner == me:
            raise ReentrantError(
                "use() on a session inside a use() block of the same session would wait for itself", 8
            )
        entry.users += 1
    try:
        with entry.lock:
            entry.owner = me
            try:
                yield
            finally:
                entry.owner = None
    finally:
        with _use_locks_guard:
            entry.users -= 1
            if entry.users == 0:
                del _use_locks[session_id]


class Storage(MutableMapping):
    """The session's storage as a mapping of its top-level keys to JSON values.

    Each read and write is one call; for a read-modify-write use :meth:`use` (4D's
    ``Use … End use``) or :meth:`modify`.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._id = session._id

    def _get(self, pointer: bytes) -> Json:
        return json.loads(call_text(lib.sessmgr_storage_get, self._id, pointer))

    def value(self) -> dict:
        """The whole storage, as a dict (a copy)."""
        return self._get(b"")

    def __getitem__(self, key: str) -> Json:
        try:
            return self._get(_pointer(key))
        except NoValueError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, value: Json) -> None:
        check(lib.sessmgr_storage_set(self._id, _pointer(key), _dumps(value)))

    def __delitem__(self, key: str) -> None:
        try:
            check(lib.sessmgr_storage_remove(self._id, _pointer(key)))
        except NoValueError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.value()))

    def __len__(self) -> int:
        return len(self.value())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self.value()

    def at(self, pointer: str) -> Json:
        """The value at a JSON Pointer (``"/a/0"``); NoValueError when there is none."""
        return self._get(text(pointer, "pointer"))

    def set_at(self, pointer: str, value: Json) -> None:
        check(lib.sessmgr_storage_set(self._id, text(pointer, "pointer"), _dumps(value)))

    def merge(self, patch: dict) -> None:
        """Applies an RFC 7386 merge patch (``None`` values remove keys)."""
        check(lib.sessmgr_storage_merge(self._id, _dumps(patch)))

    def compare_and_set(self, pointer: str, expected: Any, new: Any) -> None:
        """Atomically replaces the value at a JSON Pointer with ``new`` (``MISSING``: removes
        it), only if what is there equals ``expected`` as JSON (``MISSING``: only if nothing
        is); otherwise ConflictError, and nothing changes. No callback."""
        check(
            lib.sessmgr_storage_compare_and_set(
                self._id,
                text(pointer, "pointer"),
                None if expected is MISSING else _dumps(expected),
                None if new is MISSING else _dumps(new),
            )
        )

    def increment(self, pointer: str, delta: int = 1) -> int:
        """Atomically adds ``delta`` to the integer at a JSON Pointer (nothing there is 0) and
        returns the sum; ConflictError if the value is not an integer, LimitExceededError
        beyond 64 bits. No callback."""
        if not isinstance(delta, int) or isinstance(delta, bool) or not -(2**63) <= delta < 2**63:
            raise InvalidArgumentError(f"delta must be a 64-bit integer, not {delta!r}", 2)
        result = ctypes.c_int64()
        check(lib.sessmgr_storage_increment(self._id, text(pointer, "pointer"), delta, ctypes.byref(result)))
        return result.value

    def modify(self, change: Callable[[dict], Optional[dict]]) -> None:
        """Atomic read-modify-write: ``change`` gets the storage and returns the new one (or
        ``None`` to leave it). It may be called again if another write lands meanwhile, so it
        must have no other effect. An exception it raises is raised here; nothing changes."""
        failure: list[BaseException] = []

        def callback(update: int, current: bytes, _data: int) -> int:
            try:
                new = change(json.loads(current))
                if new is not None:
                    check(lib.sessmgr_update_set(update, _dumps(new)))
                return 0
            except BaseException as error:  # noqa: BLE001 - handed back to the caller below
                failure.append(error)
                return 1

        status = lib.sessmgr_storage_update(self._id, _native.UPDATE_FN(callback), None)
        if failure:
            raise failure[-1]
        check(status)

    @contextmanager
    def use(self) -> Iterator[dict]:
        """4D's ``Use (Session.storage) … End use``: yields the storage as a dict to change in
        place; at the end of the block the change is written at once, all or nothing.

        ``use()`` blocks on one session in this process run one at a time (a block on a session
        inside a block on the same session, in one thread, raises :class:`ReentrantError`
        instead of waiting for itself). If something outside ``use()`` writes the storage during
        the block, the block's change is refused with :class:`StorageConflictError` rather than
        losing that write. An exception in the block changes nothing."""
        with _use_lock(self._session.id):
            before = self.value()
            data = json.loads(json.dumps(before))
            yield data

            def change(current: dict) -> Optional[dict]:
                if current != before:
                    raise StorageConflictError(
                        "the storage was written outside use() during the block: nothing changed"
                    )
                return data

            self.modify(change)
