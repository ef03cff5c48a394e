"""Loading libsessmgr.so and declaring every exported function for ctypes.

``DECLARATIONS`` is checked against ``include/sessmgr.h`` by the tests, so that the two cannot
drift apart.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import POINTER, c_bool, c_char_p, c_int32, c_int64, c_uint32, c_uint64, c_void_p
from pathlib import Path
from typing import Any, Callable

from .errors import InvalidArgumentError, error_for

Status = c_int32
#: ``sessmgr_update_fn``: int32_t (*)(sessmgr_update *, const char *, void *)
UPDATE_FN = ctypes.CFUNCTYPE(c_int32, c_void_p, c_char_p, c_void_p)
#: ``sessmgr_event_fn``: void (*)(const char *, void *)
EVENT_FN = ctypes.CFUNCTYPE(None, c_char_p, c_void_p)
#: A ``char **`` out-parameter: the string it receives is freed with sessmgr_string_free.
TEXT_OUT = POINTER(c_void_p)

#: name: (restype, argtypes), for every function of sessmgr.h.
DECLARATIONS: dict[str, tuple[Any, list[Any]]] = {
    "sessmgr_version": (c_char_p, []),
    "sessmgr_last_error": (c_char_p, []),
    "sessmgr_string_free": (None, [c_void_p]),
    "sessmgr_configure": (Status, [c_char_p]),
    "sessmgr_load_roles": (Status, [c_char_p]),
    "sessmgr_reset": (Status, []),
    "sessmgr_clock_advance": (Status, [c_int64]),
    "sessmgr_sweep": (Status, [POINTER(c_uint64)]),
    "sessmgr_session_count": (Status, [POINTER(c_uint64)]),
    "sessmgr_sessions_list": (Status, [TEXT_OUT]),
    "sessmgr_session_create": (Status, [c_char_p, TEXT_OUT]),
    "sessmgr_session_rotate_id": (Status, [c_char_p, c_char_p, TEXT_OUT]),
    "sessmgr_session_close": (Status, [c_char_p]),
    "sessmgr_session_touch": (Status, [c_char_p]),
    "sessmgr_session_request": (Status, [c_char_p, c_char_p, c_char_p, POINTER(c_bool), TEXT_OUT]),
    "sessmgr_session_info": (Status, [c_char_p, TEXT_OUT]),
    "sessmgr_session_set_state": (Status, [c_char_p, c_char_p]),
    "sessmgr_session_set_identifier": (Status, [c_char_p, c_char_p]),
    "sessmgr_session_get_identifier": (Status, [c_char_p, TEXT_OUT]),
    "sessmgr_session_get_user_name": (Status, [c_char_p, TEXT_OUT]),
    "sessmgr_session_set_privileges": (Status, [c_char_p, c_char_p, TEXT_OUT]),
    "sessmgr_session_clear_privileges": (Status, [c_char_p]),
    "sessmgr_session_has_privilege": (Status, [c_char_p, c_char_p, POINTER(c_bool)]),
    "sessmgr_session_has_permission": (Status, [c_char_p, c_char_p, c_char_p, POINTER(c_bool)]),
    "sessmgr_permissions_explain": (Status, [c_char_p, c_char_p, c_char_p, TEXT_OUT]),
    "sessmgr_session_get_privileges": (Status, [c_char_p, TEXT_OUT]),
    "sessmgr_session_is_guest": (Status, [c_char_p, POINTER(c_bool)]),
    "sessmgr_session_set_idle_timeout": (Status, [c_char_p, c_int32]),
    "sessmgr_session_get_idle_timeout": (Status, [c_char_p, POINTER(c_int32)]),
    "sessmgr_session_get_expiration_date": (Status, [c_char_p, TEXT_OUT]),
    "sessmgr_session_get_lifetime_end": (Status, [c_char_p, TEXT_OUT]),
    "sessmgr_session_set_lifetime_end": (Status, [c_char_p, c_char_p]),
    "sessmgr_storage_get": (Status, [c_char_p, c_char_p, TEXT_OUT]),
    "sessmgr_storage_set": (Status, [c_char_p, c_char_p, c_char_p]),
    "sessmgr_storage_remove": (Status, [c_char_p, c_char_p]),
    "sessmgr_storage_merge": (Status, [c_char_p, c_char_p]),
    "sessmgr_storage_compare_and_set": (Status, [c_char_p, c_char_p, c_char_p, c_char_p]),
    "sessmgr_storage_increment": (Status, [c_char_p, c_char_p, c_int64, POINTER(c_int64)]),
    "sessmgr_storage_update": (Status, [c_char_p, UPDATE_FN, c_void_p]),
    "sessmgr_update_set": (Status, [c_void_p, c_char_p]),
    "sessmgr_clients_list": (Status, [TEXT_OUT]),
    "sessmgr_clients_query": (Status, [c_char_p, TEXT_OUT]),
    "sessmgr_sessions_query": (Status, [c_char_p, TEXT_OUT]),
    "sessmgr_session_attach_file": (Status, [c_char_p, c_char_p]),
    "sessmgr_session_detach_file": (Status, [c_char_p, c_char_p]),
    "sessmgr_session_get_client_id": (Status, [c_char_p, POINTER(c_uint64)]),
    "sessmgr_client_send_message": (Status, [c_uint64, c_char_p]),
    "sessmgr_session_take_messages": (Status, [c_char_p, TEXT_OUT]),
    "sessmgr_client_disconnect": (Status, [c_uint64, c_char_p, c_uint32]),
    "sessmgr_session_create_otp": (Status, [c_char_p, c_int32, TEXT_OUT]),
    "sessmgr_user_sessions": (Status, [c_char_p, TEXT_OUT]),
    "sessmgr_user_close_sessions": (Status, [c_char_p, POINTER(c_uint64)]),
    "sessmgr_session_restore": (Status, [c_char_p, TEXT_OUT]),
    "sessmgr_set_event_handler": (Status, [EVENT_FN, c_void_p]),
    "sessmgr_stats": (Status, [TEXT_OUT]),
}

LIBRARY_NAME = "libsessmgr.so"


class LibraryNotFoundError(OSError):
    """libsessmgr.so could not be loaded; the message lists every place tried."""


def _candidates() -> list[str]:
    places = []
    explicit = os.environ.get("SESSMGR_LIBRARY")
    if explicit:
        places.append(explicit)
    places.append(str(Path(__file__).resolve().parent / LIBRARY_NAME))
    found = ctypes.util.find_library("sessmgr")
    if found:
        places.append(found)
    places.append(LIBRARY_NAME)  # the dynamic loader's own search path
    return places


def load() -> ctypes.CDLL:
    """Loads the library: from ``SESSMGR_LIBRARY``, else next to this package, else from the
    system's search path; declares every function."""
    tried = []
    for place in _candidates():
        try:
            library = ctypes.CDLL(place)
        except OSError as error:
            tried.append(f"{place} ({error})")
            continue
        for name, (restype, argtypes) in DECLARATIONS.items():
            function = getattr(library, name)
            function.restype = restype
            function.argtypes = argtypes
        return library
    raise LibraryNotFoundError(
        "cannot load libsessmgr.so; set SESSMGR_LIBRARY to its path. Tried: " + "; ".join(tried)
    )


lib = load()


def text(value: str, what: str = "text") -> bytes:
    """A str as the library's NUL-terminated UTF-8 (a NUL inside would silently cut it)."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a str, not {type(value).__name__}", 2)
    if "\0" in value:
        raise InvalidArgumentError(f"{what} holds a NUL character", 2)
    return value.encode("utf-8")


def check(status: int) -> None:
    """Raises the exception for a failed status, with the library's message."""
    if status != 0:
        message = lib.sessmgr_last_error()
        raise error_for(status, message.decode("utf-8", "replace") if message else "")


def take_text(pointer: c_void_p) -> str:
    """Reads a string the library handed out, and frees it."""
    if not pointer.value:
        return ""
    try:
        return ctypes.string_at(pointer.value).decode("utf-8")
    finally:
        lib.sessmgr_string_free(pointer.value)


def call_text(function: Callable[..., int], *args: Any) -> str:
    """Calls a function whose last parameter is a ``char **`` out; returns that text."""
    out = c_void_p()
    check(function(*args, ctypes.byref(out)))
    return take_text(out)
