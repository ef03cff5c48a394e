"""The ctypes declarations must match include/sessmgr.h: names, arguments, types."""

import ctypes
import re
from pathlib import Path

from sessmgr import _native

HEADER = Path(__file__).resolve().parents[3] / "include" / "sessmgr.h"

C_TYPES = {
    "sessmgr_status": ctypes.c_int32,
    "void": None,
    "const char *": ctypes.c_char_p,
    "char *": ctypes.c_void_p,
    "char **": _native.TEXT_OUT,
    "bool *": ctypes.POINTER(ctypes.c_bool),
    "int32_t": ctypes.c_int32,
    "int32_t *": ctypes.POINTER(ctypes.c_int32),
    "int64_t": ctypes.c_int64,
    "int64_t *": ctypes.POINTER(ctypes.c_int64),
    "uint32_t": ctypes.c_uint32,
    "uint64_t": ctypes.c_uint64,
    "uint64_t *": ctypes.POINTER(ctypes.c_uint64),
    "void *": ctypes.c_void_p,
    "struct sessmgr_update *": ctypes.c_void_p,
    "sessmgr_update_fn": _native.UPDATE_FN,
    "sessmgr_event_fn": _native.EVENT_FN,
}


def header_functions():
    text = HEADER.read_text()
    pattern = re.compile(r"^(?P<ret>[\w ]+?\s*\*?)\s*(?P<name>sessmgr_\w+)\((?P<args>[^)]*)\);$", re.M)
    functions = {}
    for match in pattern.finditer(text):
        if match.group("ret").startswith("typedef"):
            continue
        args = [] if match.group("args") == "void" else [a.strip() for a in match.group("args").split(",")]
        types = []
        for arg in args:
            name = re.search(r"(\w+)$", arg).group(1)
            types.append(arg[: -len(name)].strip())
        functions[match.group("name")] = (match.group("ret").strip(), types)
    return functions


def test_every_header_function_is_declared_alike():
    functions = header_functions()
    assert len(functions) >= 37
    assert set(functions) == set(_native.DECLARATIONS), "names differ"
    for name, (ret, args) in functions.items():
        restype, argtypes = _native.DECLARATIONS[name]
        assert C_TYPES[ret] is restype, f"{name} returns {ret}"
        assert len(args) == len(argtypes), f"{name} takes {len(args)} arguments"
        for i, (c_type, py_type) in enumerate(zip(args, argtypes)):
            assert C_TYPES[c_type] is py_type, f"{name} argument {i}: {c_type} is not {py_type}"


def test_the_loaded_library_has_those_declarations():
    for name, (restype, argtypes) in _native.DECLARATIONS.items():
        function = getattr(_native.lib, name)
        assert function.restype is restype
        assert function.argtypes == argtypes


def test_every_status_of_the_header_has_its_exception():
    import sessmgr

    statuses = {
        int(value): name
        for name, value in re.findall(r"^#define SESSMGR_(\w+) (\d+)$", HEADER.read_text(), re.M)
        if not name.startswith(("UPDATE_", "VERSION")) and name != "OK"
    }
    assert set(statuses) == set(sessmgr.errors.ERRORS)
    for status, name in statuses.items():
        words = "".join(w.capitalize() for w in name.split("_"))
        assert sessmgr.errors.ERRORS[status].__name__ == f"{words}Error", name
