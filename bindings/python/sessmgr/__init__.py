"""sessmgr: user sessions the way 4D Server and FileMaker Server keep them, through ctypes.

>>> import sessmgr
>>> with sessmgr.create_session() as web:          # a web guest
...     web.set_privileges({"privileges": ["WebAdmin"], "userName": "ann"})
...     web.identifier = "ann@kiosk-3"
...     web.has_privilege("WebAdmin")
True
True
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional, Union

from . import _native
from ._native import LibraryNotFoundError, call_text, check, lib, text
from .errors import (
    AbortedError,
    BadStateError,
    ConflictError,
    UnavailableError,
    InternalError,
    InvalidArgumentError,
    InvalidJsonError,
    LimitExceededError,
    NoValueError,
    NotFoundError,
    NotSupportedError,
    NullArgumentError,
    ReentrantError,
    SessmgrError,
    StorageConflictError,
)
from .session import MISSING, Session, Storage, canonical_id, parse_date

__all__ = [
    "AbortedError",
    "BadStateError",
    "ConflictError",
    "MISSING",
    "UnavailableError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidJsonError",
    "LibraryNotFoundError",
    "LimitExceededError",
    "NoValueError",
    "NotFoundError",
    "NotSupportedError",
    "NullArgumentError",
    "ReentrantError",
    "Session",
    "SessmgrError",
    "Storage",
    "StorageConflictError",
    "canonical_id",
    "clients_list",
    "clients_query",
    "clock_advance",
    "configure",
    "create_session",
    "disconnect_client",
    "load_roles",
    "parse_date",
    "reset",
    "restore",
    "send_message",
    "session_count",
    "session_info",
    "sessions_list",
    "sessions_query",
    "set_event_handler",
    "stats",
    "sweep",
    "user_close_sessions",
    "user_sessions",
    "version",
]

_OPTION_NAMES = {
    "user_name": "userName",
    "machine_name": "machineName",
    "system_user_name": "systemUserName",
    "ip_address": "IPAddress",
    "host_type": "hostType",
    "persistent_id": "persistentID",
    "idle_timeout": "idleTimeout",
    "max_lifetime": "maxLifetime",
    "app_version": "appVersion",
    "app_language": "appLanguage",
    "operating_system": "operatingSystem",
    "mac_address": "macAddress",
    "extended_privilege": "extendedPrivilege",
    "app_type": "appType",
}

_SETTING_NAMES = {
    "default_idle_timeout": "defaultIdleTimeout",
    "min_idle_timeout": "minIdleTimeout",
    "clock": "clock",
    "max_sessions": "maxSessions",
    "max_storage_bytes": "maxStorageBytes",
    "max_identifier_bytes": "maxIdentifierBytes",
    "max_json_depth": "maxJsonDepth",
    "max_privileges_granted": "maxPrivilegesGranted",
    "max_attached_files": "maxAttachedFiles",
    "max_file_names": "maxFileNames",
    "max_lifetime": "maxLifetime",
    "rotation_grace_seconds": "rotationGraceSeconds",
    "activity_resolution_seconds": "activityResolutionSeconds",
    "max_otps_per_session": "maxOtpsPerSession",
    "max_sessions_per_user": "maxSessionsPerUser",
    "session_limit_policy": "sessionLimitPolicy",
    "overload_policy": "overloadPolicy",
    "sweep_interval_seconds": "sweepIntervalSeconds",
    "roles": "roles",
    "access_log": "accessLog",
}


_QUERY_NAMES = {
    "type": "type",
    "user_name": "userName",
    "search": "search",
    "ip_address": "ipaddress",
    "offset": "offset",
    "limit": "limit",
}


def _query(filters: dict) -> bytes:
    body = {}
    for name, value in filters.items():
        if name not in _QUERY_NAMES:
            raise InvalidArgumentError(f"unknown filter {name!r}", 2)
        if value is not None:
            body[_QUERY_NAMES[name]] = value
    return text(json.dumps(body), "query")


def version() -> str:
    """The library's version."""
    return lib.sessmgr_version().decode()


def create_session(type: str = "web", **options: Any) -> Session:
    """Creates a session: ``type`` is "web" (a guest, the default), "rest", "remote",
    "storedProcedure" or "standalone"; other options in snake case (``user_name``,
    ``machine_name``, ``system_user_name``, ``ip_address``, ``host_type``, ``persistent_id``,
    ``idle_timeout``, ``max_lifetime``, ``app_version``, …). Unknown options raise InvalidArgumentError."""
    body: dict[str, Any] = {"type": type}
    for name, value in options.items():
        if name not in _OPTION_NAMES:
            raise InvalidArgumentError(f"unknown option {name!r}", 2)
        body[_OPTION_NAMES[name]] = value
    return Session(call_text(lib.sessmgr_session_create, text(json.dumps(body), "options")))


def session_info(session_id: str) -> Optional[dict]:
    """4D's ``Session info``: the info object, or None for an unknown or expired ID."""
    try:
        return json.loads(call_text(lib.sessmgr_session_info, text(session_id, "session ID")))
    except (NotFoundError, InvalidArgumentError):
        return None


def sessions_list() -> list[dict]:
    """The info object of every live session, oldest first."""
    return json.loads(call_text(lib.sessmgr_sessions_list))["sessions"]


def clients_list() -> dict:
    """FileMaker's Admin API *List Clients* object."""
    return json.loads(call_text(lib.sessmgr_clients_list))


def clients_query(**filters: Any) -> dict:
    """A page of the clients list, for an admin page: ``{"clients": [...], "total", "offset",
    "limit"}``, ``total`` being how many matched. Filters, all optional and ANDed: ``type``,
    ``user_name`` (exact), ``search`` (a case-insensitive part of the identifier administrators
    see or of the user name), ``ip_address`` (a prefix: ``"192.0.2."``), ``offset`` (0) and
    ``limit`` (100, at most 10,000). ``clients_query(search="kiosk", limit=20)``."""
    return json.loads(call_text(lib.sessmgr_clients_query, _query(filters)))["response"]


def sessions_query(**filters: Any) -> dict:
    """A page of the sessions list for people to see, filtered as ``clients_query``:
    ``{"sessions": [info, ...], "total", "offset", "limit"}``, each info dict with the client
    number, ``clientId``, in place of the session ID."""
    return json.loads(call_text(lib.sessmgr_sessions_query, _query(filters)))


def stats() -> dict:
    """Live sessions by type and counters."""
    return json.loads(call_text(lib.sessmgr_stats))


def configure(settings: Optional[dict] = None, **keys: Any) -> None:
    """Changes settings, as a dict in the library's names or keywords in snake case:
    ``configure(clock="manual", max_sessions=1000)``. All or nothing."""
    body = dict(settings or {})
    for name, value in keys.items():
        if name not in _SETTING_NAMES:
            raise InvalidArgumentError(f"unknown setting {name!r}", 2)
        body[_SETTING_NAMES[name]] = value
    check(lib.sessmgr_configure(text(json.dumps(body), "configuration")))


def load_roles(roles: Union[str, dict]) -> None:
    """Loads a roles.json (its text, or the parsed dict)."""
    check(lib.sessmgr_load_roles(text(roles if isinstance(roles, str) else json.dumps(roles), "roles")))


def reset() -> None:
    """Closes every session and restores every default."""
    check(lib.sessmgr_reset())
    set_event_handler(None)


def user_sessions(user_name: str) -> list[dict]:
    """The live web and rest sessions of a user (exact ``userName``), oldest first, as clients
    list rows (``id`` is the client number, never a session ID) with ``lastActivity``."""
    return json.loads(call_text(lib.sessmgr_user_sessions, text(user_name, "user name")))["clients"]


def user_close_sessions(user_name: str) -> int:
    """Logs a user out everywhere: closes every live web and rest session of ``user_name``;
    returns how many."""
    closed = _native.c_uint64()
    check(lib.sessmgr_user_close_sessions(text(user_name, "user name"), _native.ctypes.byref(closed)))
    return closed.value


def restore(token: str) -> Session:
    """4D's ``Session.restore()``: the session a one-time passcode was made for, which it spends.
    An unknown, used or expired passcode, or one whose session ended, raises NotFoundError."""
    return Session(call_text(lib.sessmgr_session_restore, text(token, "token")))


def send_message(client_id: int, message_text: str) -> None:
    """Queues a message for a client, named by its client number (``Session.client_id``)."""
    check(lib.sessmgr_client_send_message(_client_number(client_id), _native.text(message_text, "text")))


def disconnect_client(client_id: int, message: Optional[str] = None, grace_seconds: int = 0) -> None:
    """FileMaker's *Disconnect client*: closes the client's session after ``grace_seconds``
    (0: at once), with an optional message it can show meanwhile."""
    if not 0 <= grace_seconds < 2**32:
        raise InvalidArgumentError(f"grace time {grace_seconds} is out of range", 2)
    text = None if message is None else _native.text(message, "message")
    check(lib.sessmgr_client_disconnect(_client_number(client_id), text, grace_seconds))


def _client_number(client_id: int) -> int:
    if not 0 <= client_id < 2**64:
        raise InvalidArgumentError(f"client number {client_id} is out of range", 2)
    return client_id


def clock_advance(seconds: int) -> None:
    """Moves a manual clock forward."""
    check(lib.sessmgr_clock_advance(seconds))


def sweep() -> int:
    """Removes expired sessions; returns how many."""
    expired = _native.c_uint64()
    check(lib.sessmgr_sweep(_native.ctypes.byref(expired)))
    return expired.value


def session_count() -> int:
    """Live sessions."""
    count = _native.c_uint64()
    check(lib.sessmgr_session_count(_native.ctypes.byref(count)))
    return count.value


#: The handler Python code installed; the one C callback below calls it.
_handler: Optional[Callable[[dict], None]] = None


def _deliver(event_json: bytes, _data: int) -> None:
    handler = _handler
    if handler is None:  # removed while this event was on its way
        return
    try:
        handler(json.loads(event_json))
    except Exception:  # noqa: BLE001 - must not unwind into C
        import traceback

        traceback.print_exc()


#: One C callback for the life of the process, never freed: the library may still be calling a
#: handler on another thread when it is replaced, so the code it calls must stay valid.
_DELIVER = _native.EVENT_FN(_deliver)


def set_event_handler(handler: Optional[Callable[[dict], None]]) -> None:
    """Installs ``handler(event: dict)`` for every event (None removes it). An exception it
    raises is printed and ignored: it cannot travel through the library. Once this returns, the
    old handler gets no further event, but a call of it already under way on another thread may
    still be finishing."""
    global _handler
    if handler is None:
        check(lib.sessmgr_set_event_handler(_native.EVENT_FN(), None))  # a NULL handler
        _handler = None
        return
    _handler = handler
    check(lib.sessmgr_set_event_handler(_DELIVER, None))
