//! The bodies of the fuzz targets, shared by the libFuzzer binaries in `fuzz/fuzz_targets/`
//! and by `tests/fuzz_corpus.rs`, which replays the committed corpus through them in
//! `cargo test`.
//!
//! Each drives the exported C functions with one input (cut at its first NUL, as C would read
//! it) and panics, which libFuzzer reports as a crash, when the library
//!   - returns `SESSMGR_INTERNAL` (a panic the boundary caught: a bug),
//!   - changes anything on a call that failed,
//!   - or answers differently from a plain reference (serde_json's JSON Pointer, RFC 7386's
//!     merge algorithm).
//!
//! Each starts from `sessmgr_reset`, so that an input gives the same result whenever it runs.

#![allow(dead_code)] // each fuzz binary uses one target

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr;

use serde_json::{Value, json};
use sessmgr::ffi::admin::*;
use sessmgr::ffi::clients::*;
use sessmgr::ffi::library::*;
use sessmgr::ffi::otp::*;
use sessmgr::ffi::privileges::*;
use sessmgr::ffi::sessions::*;
use sessmgr::ffi::status::*;
use sessmgr::ffi::storage::*;
use sessmgr::ffi::users::*;

/// One fuzz target: it takes the fuzzer's bytes and panics on a finding.
pub type Target = fn(&[u8]);

/// Every target, by name: the binaries and the corpus replay both go through this list.
pub const TARGETS: &[(&str, Target)] = &[
    ("create_options", create_options),
    ("session_id", session_id),
    ("set_privileges", set_privileges),
    ("roles", roles),
    ("configure", configure),
    ("storage_value", storage_value),
    ("json_pointer", json_pointer),
    ("merge_patch", merge_patch),
    ("identifier", identifier),
    ("attach_file", attach_file),
    ("lifetime_end", lifetime_end),
    ("permission", permission),
];

/// The input as C would see it: up to its first NUL.
fn c_text(data: &[u8]) -> CString {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    CString::new(&data[..end]).expect("no NUL before end")
}

fn take(text: *mut c_char) -> String {
    assert!(!text.is_null(), "a successful call left its output NULL");
    let owned = unsafe { CStr::from_ptr(text) }
        .to_str()
        .expect("the library handed out invalid UTF-8")
        .to_owned();
    unsafe { sessmgr_string_free(text) };
    owned
}

#[track_caller]
fn not_internal(status: sessmgr_status) -> sessmgr_status {
    if status == SESSMGR_INTERNAL {
        let message = unsafe { CStr::from_ptr(sessmgr_last_error()) };
        panic!("SESSMGR_INTERNAL: {message:?}");
    }
    status
}

#[track_caller]
fn ok(status: sessmgr_status) {
    assert_eq!(not_internal(status), SESSMGR_OK, "{:?}", unsafe {
        CStr::from_ptr(sessmgr_last_error())
    });
}

fn fresh() {
    ok(sessmgr_reset());
    ok(unsafe { sessmgr_configure(c"{\"clock\":\"manual\"}".as_ptr()) });
}

fn create(options: Option<&CStr>) -> CString {
    let mut id = ptr::null_mut();
    ok(unsafe { sessmgr_session_create(options.map_or(ptr::null(), CStr::as_ptr), &mut id) });
    CString::new(take(id)).unwrap()
}

fn json_out(call: impl FnOnce(*mut *mut c_char) -> sessmgr_status) -> String {
    let mut out = ptr::null_mut();
    ok(call(&mut out));
    take(out)
}

/// What an administrator and the host could observe of the registry.
fn snapshot() -> String {
    let mut count = 0u64;
    ok(unsafe { sessmgr_session_count(&mut count) });
    format!(
        "{count}|{}|{}",
        json_out(|o| unsafe { sessmgr_sessions_list(o) }),
        json_out(|o| unsafe { sessmgr_clients_list(o) })
    )
}

fn storage(id: &CStr) -> String {
    json_out(|o| unsafe { sessmgr_storage_get(id.as_ptr(), c"".as_ptr(), o) })
}

fn parses(text: &str) -> Value {
    serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("the library wrote invalid JSON {text:?}: {e}"))
}

/// Creation options: a session is created (and its info is a JSON object) or nothing is.
pub fn create_options(data: &[u8]) {
    fresh();
    let options = c_text(data);
    let before = snapshot();
    let mut id = ptr::null_mut();
    let status = not_internal(unsafe { sessmgr_session_create(options.as_ptr(), &mut id) });
    if status != SESSMGR_OK {
        assert!(id.is_null(), "a failed create wrote its output");
        assert_eq!(snapshot(), before, "a failed create changed the registry");
        return;
    }
    let id = CString::new(take(id)).unwrap();
    let info = parses(&json_out(|o| unsafe {
        sessmgr_session_info(id.as_ptr(), o)
    }));
    assert_eq!(info["ID"].as_str(), id.to_str().ok());
    // Every text handed back as C text can be: the user name, and the identifier it backs.
    let user = json_out(|o| unsafe { sessmgr_session_get_user_name(id.as_ptr(), o) });
    assert_eq!(info["userName"].as_str(), Some(user.as_str()));
    json_out(|o| unsafe { sessmgr_session_get_identifier(id.as_ptr(), o) });
    parses(&json_out(|o| unsafe { sessmgr_clients_list(o) }));
    ok(unsafe { sessmgr_session_close(id.as_ptr()) });
}

/// Session IDs as a cookie would bring them: refused unless they name a live session.
pub fn session_id(data: &[u8]) {
    fresh();
    let live = create(None);
    let text = c_text(data);
    let known = text.as_bytes().eq_ignore_ascii_case(live.as_bytes())
        || parse_dashed(text.to_bytes()).is_some_and(|t| t.eq_ignore_ascii_case(live.as_bytes()));
    let mut granted = true;
    let status = not_internal(unsafe {
        sessmgr_session_has_privilege(text.as_ptr(), c"WebAdmin".as_ptr(), &mut granted)
    });
    if !known {
        assert_ne!(status, SESSMGR_OK, "an unknown ID was accepted: {text:?}");
        assert!(granted, "a failed call wrote its output");
    }
    let before = snapshot();
    for status in [
        unsafe { sessmgr_session_touch(text.as_ptr()) },
        unsafe { sessmgr_session_set_identifier(text.as_ptr(), c"x".as_ptr()) },
        unsafe { sessmgr_storage_set(text.as_ptr(), c"/k".as_ptr(), c"1".as_ptr()) },
    ] {
        let status = not_internal(status);
        assert_eq!(status == SESSMGR_OK, known, "{text:?}: status {status}");
    }
    if !known {
        assert_eq!(
            snapshot(),
            before,
            "a call with an unknown ID changed something"
        );
        assert_ne!(
            not_internal(unsafe { sessmgr_session_close(text.as_ptr()) }),
            SESSMGR_OK
        );
    }
    // The same text as a one-time passcode (the session holds one it cannot guess): refused,
    // with nothing spent, and its message repeats none of it.
    let mut token = ptr::null_mut();
    ok(unsafe { sessmgr_session_create_otp(live.as_ptr(), 60, &mut token) });
    let token = CString::new(take(token)).unwrap();
    let before = snapshot();
    let mut restored = ptr::null_mut();
    let status = not_internal(unsafe { sessmgr_session_restore(text.as_ptr(), &mut restored) });
    if text.as_bytes().eq_ignore_ascii_case(token.as_bytes())
        || parse_dashed(text.to_bytes()).is_some_and(|t| t.eq_ignore_ascii_case(token.as_bytes()))
    {
        assert_eq!(status, SESSMGR_OK);
        assert_eq!(take(restored).as_bytes(), live.as_bytes());
    } else {
        assert_ne!(status, SESSMGR_OK, "restored by {text:?}");
        assert!(restored.is_null(), "a failed restore wrote its output");
        assert_eq!(snapshot(), before, "a refused restore changed something");
        // A bearer secret is never repeated: text that could be most of one (8 hex digits or
        // more) is not in the message.
        let message = unsafe { CStr::from_ptr(sessmgr_last_error()) }.to_bytes();
        let hex = text.to_bytes();
        if hex.len() >= 8 && hex.iter().all(u8::is_ascii_hexdigit) {
            assert!(
                !message.windows(hex.len()).any(|w| w == hex),
                "the message repeats the text: {message:?}"
            );
        }
        let mut again = ptr::null_mut();
        ok(unsafe { sessmgr_session_restore(token.as_ptr(), &mut again) });
        take(again);
    }
}

/// The dashed 8-4-4-4-12 form of a 32-digit ID, as bytes without its four dashes.
fn parse_dashed(text: &[u8]) -> Option<Vec<u8>> {
    let dashes = [8, 13, 18, 23];
    (text.len() == 36 && dashes.iter().all(|&i| text[i] == b'-')).then(|| {
        text.iter()
            .enumerate()
            .filter(|(i, _)| !dashes.contains(i))
            .map(|(_, b)| *b)
            .collect()
    })
}

/// `set_privileges` input: granted and readable, or refused with the grant unchanged; the same
/// input given to `rotate_id` grants the same, under a new ID, or is refused the same way with
/// the old ID still alive.
pub fn set_privileges(data: &[u8]) {
    fresh();
    ok(unsafe {
        sessmgr_load_roles(
            c"{\"privileges\":[{\"privilege\":\"a\",\"includes\":[\"b\"]},{\"privilege\":\"b\"}],\"roles\":[{\"role\":\"R\",\"privileges\":[\"a\"]}]}"
                .as_ptr(),
        )
    });
    let id = create(None);
    ok(unsafe { sessmgr_session_set_privileges(id.as_ptr(), c"b".as_ptr(), ptr::null_mut()) });
    let privileges = || json_out(|o| unsafe { sessmgr_session_get_privileges(id.as_ptr(), o) });
    let before = (privileges(), snapshot());
    let text = c_text(data);
    let mut ignored = ptr::null_mut();
    let status = not_internal(unsafe {
        sessmgr_session_set_privileges(id.as_ptr(), text.as_ptr(), &mut ignored)
    });
    if status == SESSMGR_OK {
        parses(&take(ignored));
        let now = parses(&privileges());
        assert!(now.is_array());
        json_out(|o| unsafe { sessmgr_session_get_user_name(id.as_ptr(), o) });
    } else {
        assert!(ignored.is_null(), "a failed call wrote its output");
        assert_eq!(
            (privileges(), snapshot()),
            before,
            "a refused grant changed something"
        );
    }
    let granted = privileges();
    let other = create(None);
    ok(unsafe { sessmgr_session_set_privileges(other.as_ptr(), c"b".as_ptr(), ptr::null_mut()) });
    let mut rotated = ptr::null_mut();
    let rotation = not_internal(unsafe {
        sessmgr_session_rotate_id(other.as_ptr(), text.as_ptr(), &mut rotated)
    });
    assert_eq!(
        rotation, status,
        "rotate_id and set_privileges disagree on {text:?}"
    );
    let after = if rotation == SESSMGR_OK {
        let new = CString::new(take(rotated)).unwrap();
        let mut gone = false;
        assert_eq!(
            not_internal(unsafe {
                sessmgr_session_has_privilege(other.as_ptr(), c"b".as_ptr(), &mut gone)
            }),
            SESSMGR_NOT_FOUND,
            "the old ID outlived its rotation"
        );
        new
    } else {
        assert!(rotated.is_null(), "a failed rotation wrote its output");
        other
    };
    assert_eq!(
        json_out(|o| unsafe { sessmgr_session_get_privileges(after.as_ptr(), o) }),
        granted
    );
}

/// roles.json: loaded (and then usable), or refused with the old file still in force.
pub fn roles(data: &[u8]) {
    fresh();
    let id = create(None);
    ok(unsafe {
        sessmgr_session_set_privileges(id.as_ptr(), c"WebAdmin".as_ptr(), ptr::null_mut())
    });
    let text = c_text(data);
    let status = not_internal(unsafe { sessmgr_load_roles(text.as_ptr()) });
    let mut granted = false;
    ok(unsafe { sessmgr_session_has_privilege(id.as_ptr(), c"WebAdmin".as_ptr(), &mut granted) });
    assert!(
        granted,
        "WebAdmin is always declared, whatever the roles file"
    );
    if status == SESSMGR_OK {
        // Whatever the file's permissions, a loaded file answers a check.
        ok(unsafe {
            sessmgr_session_has_permission(
                id.as_ptr(),
                c"ds".as_ptr(),
                c"read".as_ptr(),
                &mut granted,
            )
        });
        let value = parses(text.to_str().unwrap());
        // Every declared privilege can be granted and then held.
        if let Some(list) = value.get("privileges").and_then(Value::as_array) {
            for entry in list.iter().take(8) {
                if let Some(name) = entry.get("privilege").and_then(Value::as_str)
                    && !name.contains(',')
                    && !name.trim().is_empty()
                    && name.trim() == name
                    && !name.starts_with(['[', '{', '"'])
                {
                    let name = CString::new(name).unwrap();
                    ok(unsafe {
                        sessmgr_session_set_privileges(id.as_ptr(), name.as_ptr(), ptr::null_mut())
                    });
                    ok(unsafe {
                        sessmgr_session_has_privilege(id.as_ptr(), name.as_ptr(), &mut granted)
                    });
                    assert!(granted, "declared {name:?} was granted but is not held");
                }
            }
        }
    }
}

/// Configuration: applied or refused whole; the registry keeps working either way. Inputs that
/// would name a log file are skipped (the fuzzer must not write files where it likes).
pub fn configure(data: &[u8]) {
    fresh();
    let text = c_text(data);
    if let Ok(value) = serde_json::from_slice::<Value>(text.to_bytes())
        && value.get("accessLog").is_some_and(|log| !log.is_null())
    {
        return;
    }
    let id = create(None);
    let before = snapshot();
    let status = not_internal(unsafe { sessmgr_configure(text.as_ptr()) });
    if status != SESSMGR_OK {
        assert_eq!(
            snapshot(),
            before,
            "a refused configuration changed something"
        );
    }
    // Whatever was applied, the registry still answers.
    not_internal(unsafe { sessmgr_session_touch(id.as_ptr()) });
    let mut other = ptr::null_mut();
    if not_internal(unsafe { sessmgr_session_create(ptr::null(), &mut other) }) == SESSMGR_OK {
        take(other);
    }
    ok(sessmgr_reset());
}

unsafe extern "C" fn hand_back(
    update: *mut sessmgr_update,
    _current: *const c_char,
    text: *mut c_void,
) -> i32 {
    let text = unsafe { &*(text as *const CString) };
    let status = not_internal(unsafe { sessmgr_update_set(update, text.as_ptr()) });
    if status == SESSMGR_OK {
        SESSMGR_UPDATE_COMMIT
    } else {
        SESSMGR_UPDATE_ABORT
    }
}

/// Storage values, as `storage_set`, `storage_merge` and an update's new storage: stored exactly
/// as serde_json reads them, or refused with the storage unchanged.
pub fn storage_value(data: &[u8]) {
    fresh();
    ok(unsafe { sessmgr_configure(c"{\"maxStorageBytes\":4096}".as_ptr()) });
    let id = create(None);
    ok(unsafe { sessmgr_storage_set(id.as_ptr(), c"/k".as_ptr(), c"{\"a\":[1,2]}".as_ptr()) });
    let text = c_text(data);
    let reference: Option<Value> = text
        .to_str()
        .ok()
        .and_then(|t| serde_json::from_str(t).ok());

    let before = storage(&id);
    let status =
        not_internal(unsafe { sessmgr_storage_set(id.as_ptr(), c"/v".as_ptr(), text.as_ptr()) });
    if status == SESSMGR_OK {
        let stored = parses(&json_out(|o| unsafe {
            sessmgr_storage_get(id.as_ptr(), c"/v".as_ptr(), o)
        }));
        assert_eq!(
            Some(&stored),
            reference.as_ref(),
            "stored differently from how serde_json reads it"
        );
        assert!(storage(&id).len() <= 4096);
    } else {
        assert_eq!(storage(&id), before, "a refused set changed the storage");
    }

    let before = storage(&id);
    if not_internal(unsafe { sessmgr_storage_merge(id.as_ptr(), text.as_ptr()) }) != SESSMGR_OK {
        assert_eq!(storage(&id), before, "a refused merge changed the storage");
    }

    // compare_and_set with the text as the expected value: it succeeds only when the stored
    // value (just set from the same text, if that worked) is equal to it as JSON.
    let before = storage(&id);
    let status = not_internal(unsafe {
        sessmgr_storage_compare_and_set(id.as_ptr(), c"/v".as_ptr(), text.as_ptr(), c"0".as_ptr())
    });
    if status != SESSMGR_OK {
        assert_eq!(
            storage(&id),
            before,
            "a refused compare_and_set changed the storage"
        );
    } else {
        assert!(
            reference.is_some(),
            "compare_and_set accepted what is not JSON"
        );
    }
    // The text as the new value where nothing is: as a set would.
    let before = storage(&id);
    if not_internal(unsafe {
        sessmgr_storage_compare_and_set(id.as_ptr(), c"/w".as_ptr(), ptr::null(), text.as_ptr())
    }) != SESSMGR_OK
    {
        assert_eq!(
            storage(&id),
            before,
            "a refused compare_and_set changed the storage"
        );
    }

    let before = storage(&id);
    let status = not_internal(unsafe {
        sessmgr_storage_update(
            id.as_ptr(),
            Some(hand_back),
            &text as *const CString as *mut c_void,
        )
    });
    if status == SESSMGR_OK {
        assert_eq!(
            Some(parses(&storage(&id))),
            reference,
            "an update stored something else"
        );
    } else {
        assert_eq!(storage(&id), before, "a refused update changed the storage");
    }
}

/// JSON Pointers: `storage_get` answers what serde_json's `Value::pointer` answers, and writes at
/// a pointer either succeed or change nothing. The input is the pointer; a fixed document is
/// stored first.
pub fn json_pointer(data: &[u8]) {
    fresh();
    let id = create(None);
    let document = json!({
        "a": {"b": [10, {"c": "d"}, []], "": 1, "~": 2, "/": 3, "0": 4},
        "list": [[1], [2, [3]]],
        "e\u{e9}": null
    });
    let document_text = CString::new(document.to_string()).unwrap();
    ok(unsafe { sessmgr_storage_set(id.as_ptr(), c"".as_ptr(), document_text.as_ptr()) });
    let pointer = c_text(data);
    // An increment there: a number appears only where the pointer reached nothing or an
    // integer; anything refused changes nothing.
    let before = storage(&id);
    let mut sum = 0i64;
    let status = not_internal(unsafe {
        sessmgr_storage_increment(id.as_ptr(), pointer.as_ptr(), 1, &mut sum)
    });
    if status == SESSMGR_OK {
        let at = pointer.to_str().ok().and_then(|p| document.pointer(p));
        assert!(
            at.is_none_or(|v| v.is_i64()),
            "incremented a non-integer at {pointer:?}"
        );
        ok(unsafe { sessmgr_storage_set(id.as_ptr(), c"".as_ptr(), document_text.as_ptr()) });
    } else {
        assert_eq!(
            storage(&id),
            before,
            "a refused increment changed the storage"
        );
    }
    let mut out = ptr::null_mut();
    let status =
        not_internal(unsafe { sessmgr_storage_get(id.as_ptr(), pointer.as_ptr(), &mut out) });
    // serde_json reads a "~" followed by neither 0 nor 1 as itself; RFC 6901 (and sessmgr)
    // refuse it.
    let bytes = pointer.to_bytes();
    let bad_escape = bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'~' && !matches!(bytes.get(i + 1), Some(b'0' | b'1')));
    if bad_escape {
        assert_eq!(
            status, SESSMGR_INVALID_ARGUMENT,
            "{pointer:?} has a bad escape"
        );
        assert!(out.is_null());
        return;
    }
    let expected = pointer.to_str().ok().and_then(|p| document.pointer(p));
    match expected {
        Some(value) => {
            assert_eq!(status, SESSMGR_OK, "{pointer:?} names {value}");
            assert_eq!(parses(&take(out)), *value, "{pointer:?}");
        }
        None => {
            assert_ne!(
                status, SESSMGR_OK,
                "{pointer:?} names nothing in serde_json's reading"
            );
            assert!(out.is_null());
        }
    }
    for status in [
        unsafe { sessmgr_storage_set(id.as_ptr(), pointer.as_ptr(), c"[true]".as_ptr()) },
        unsafe { sessmgr_storage_remove(id.as_ptr(), pointer.as_ptr()) },
    ] {
        let before = storage(&id);
        if not_internal(status) != SESSMGR_OK {
            assert_eq!(storage(&id), before);
        }
        parses(&storage(&id));
    }
}

/// RFC 7386's algorithm, as the RFC writes it.
fn merge_reference(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let map = target.as_object_mut().unwrap();
    for (key, value) in patch {
        if value.is_null() {
            map.remove(key);
        } else {
            merge_reference(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// Merge patches: the result is RFC 7386's, or the patch is refused and nothing changes.
pub fn merge_patch(data: &[u8]) {
    fresh();
    let id = create(None);
    let start = json!({"a": {"b": 1, "c": [1, 2]}, "d": "e", "n": null});
    let start_text = CString::new(start.to_string()).unwrap();
    ok(unsafe { sessmgr_storage_set(id.as_ptr(), c"".as_ptr(), start_text.as_ptr()) });
    let patch = c_text(data);
    let status = not_internal(unsafe { sessmgr_storage_merge(id.as_ptr(), patch.as_ptr()) });
    let reference: Option<Value> = patch
        .to_str()
        .ok()
        .and_then(|p| serde_json::from_str(p).ok());
    if status == SESSMGR_OK {
        let patch = reference.expect("a merge succeeded with text serde_json refuses");
        let mut expected = start.clone();
        merge_reference(&mut expected, &patch);
        assert_eq!(parses(&storage(&id)), expected);
    } else {
        assert_eq!(
            parses(&storage(&id)),
            start,
            "a refused merge changed the storage"
        );
    }
}

/// Identifiers: stored byte for byte, shown in the listings as valid JSON, or refused with the
/// old identifier kept. The same text as an administrator's message (kept byte for byte and
/// handed back once) and as a user name to look up and log out (nobody's).
pub fn identifier(data: &[u8]) {
    fresh();
    let id = create(None);
    let remote = create(Some(c"{\"type\":\"remote\",\"userName\":\"u\"}"));
    ok(unsafe { sessmgr_session_set_identifier(id.as_ptr(), c"before".as_ptr()) });
    let text = c_text(data);
    for session in [&id, &remote] {
        let get = || json_out(|o| unsafe { sessmgr_session_get_identifier(session.as_ptr(), o) });
        let before = get();
        let status = not_internal(unsafe {
            sessmgr_session_set_identifier(session.as_ptr(), text.as_ptr())
        });
        if status == SESSMGR_OK {
            assert_eq!(get().as_bytes(), text.to_bytes());
        } else {
            assert_eq!(get(), before, "a refused identifier replaced the old one");
        }
    }
    // The same text as an administrator's message: kept byte for byte and handed back once,
    // or refused (only for its size) with nothing queued.
    let mut client = 0u64;
    ok(unsafe { sessmgr_session_get_client_id(id.as_ptr(), &mut client) });
    let status = not_internal(unsafe { sessmgr_client_send_message(client, text.as_ptr()) });
    let taken = parses(&json_out(|o| unsafe {
        sessmgr_session_take_messages(id.as_ptr(), o)
    }));
    if status == SESSMGR_OK {
        assert_eq!(
            taken["messages"][0]["text"].as_str().map(str::as_bytes),
            Some(text.to_bytes())
        );
    } else {
        // Too long, or not UTF-8.
        assert!(
            (status == SESSMGR_LIMIT_EXCEEDED && text.to_bytes().len() > 4096)
                || (status == SESSMGR_INVALID_ARGUMENT && text.to_str().is_err()),
            "{status}"
        );
        assert_eq!(taken["messages"], json!([]));
    }
    // The same text as a user name to look up or log out: no session has it (web sessions
    // here have no user), so both find nothing and change nothing.
    let before = snapshot();
    let mut out = ptr::null_mut();
    let status = not_internal(unsafe { sessmgr_user_sessions(text.as_ptr(), &mut out) });
    if status == SESSMGR_OK {
        assert_eq!(parses(&take(out)), json!({"clients": []}));
        let mut closed = 7u64;
        ok(unsafe { sessmgr_user_close_sessions(text.as_ptr(), &mut closed) });
        assert_eq!(closed, 0);
    } else {
        assert_eq!(
            status, SESSMGR_INVALID_ARGUMENT,
            "only text that is not UTF-8"
        );
        assert!(text.to_str().is_err());
    }
    assert_eq!(snapshot(), before, "a user lookup changed something");
    let clients = parses(&json_out(|o| unsafe { sessmgr_clients_list(o) }));
    assert!(clients.is_object());
    parses(&json_out(|o| unsafe { sessmgr_sessions_list(o) }));
}

/// A client's file (`attach_file`'s JSON): attached and shown in the clients list, then
/// detached by its name; or refused with nothing changed. The same text as a file name to
/// detach is refused unless it names the attached file.
pub fn attach_file(data: &[u8]) {
    fresh();
    let id = create(Some(c"{\"type\":\"remote\",\"userName\":\"u\"}"));
    ok(unsafe {
        sessmgr_session_attach_file(id.as_ptr(), c"{\"filename\":\"Inventory\"}".as_ptr())
    });
    let text = c_text(data);
    let before = snapshot();
    let status = not_internal(unsafe { sessmgr_session_attach_file(id.as_ptr(), text.as_ptr()) });
    if status == SESSMGR_OK {
        let file = parses(text.to_str().unwrap());
        let name = file["filename"]
            .as_str()
            .expect("attached without a filename");
        let clients = parses(&json_out(|o| unsafe { sessmgr_clients_list(o) }));
        assert!(
            clients
                .to_string()
                .contains(&serde_json::to_string(name).unwrap()[1..])
        );
        let name = CString::new(name).unwrap();
        ok(unsafe { sessmgr_session_detach_file(id.as_ptr(), name.as_ptr()) });
    } else {
        assert_eq!(snapshot(), before, "a refused attach changed something");
    }
    let before = snapshot();
    let status = not_internal(unsafe { sessmgr_session_detach_file(id.as_ptr(), text.as_ptr()) });
    if text.to_bytes() != b"Inventory" {
        assert_ne!(
            status, SESSMGR_OK,
            "detached a file that was never attached"
        );
        assert_eq!(snapshot(), before, "a refused detach changed something");
    }
}

/// An absolute end as a host would pass it: kept as the instant chrono reads in it (RFC 3339,
/// to the millisecond, 1970 to 9999) and read back in the library's form, or refused with the
/// old end kept.
pub fn lifetime_end(data: &[u8]) {
    fresh();
    let id = create(None);
    let get = || {
        let mut out = ptr::null_mut();
        let status =
            not_internal(unsafe { sessmgr_session_get_lifetime_end(id.as_ptr(), &mut out) });
        (status == SESSMGR_OK).then(|| take(out))
    };
    ok(unsafe { sessmgr_session_set_lifetime_end(id.as_ptr(), c"9000-01-01T00:00:00Z".as_ptr()) });
    let before = get();
    let text = c_text(data);
    let status =
        not_internal(unsafe { sessmgr_session_set_lifetime_end(id.as_ptr(), text.as_ptr()) });
    let reference = text
        .to_str()
        .ok()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .filter(|d| d.timestamp_subsec_nanos() % 1_000_000 == 0)
        .map(|d| d.timestamp_millis())
        .filter(|ms| (0..=253_402_300_799_999).contains(ms));
    match reference {
        Some(ms) => {
            assert_eq!(status, SESSMGR_OK, "refused {text:?}");
            let written = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let mut info = ptr::null_mut();
            let live = not_internal(unsafe { sessmgr_session_info(id.as_ptr(), &mut info) });
            if live == SESSMGR_OK {
                take(info);
                assert_eq!(get(), Some(written));
            } else {
                // A date already past ends the session at once.
                assert_eq!(live, SESSMGR_NOT_FOUND);
            }
        }
        None => {
            assert_ne!(status, SESSMGR_OK, "accepted {text:?}");
            assert_eq!(get(), before, "a refused date replaced the end");
        }
    }
}

/// The roles file the permission target checks against: every kind of resource and level.
const PERMISSIONS: &CStr =
    c"{\"privileges\": [{\"privilege\": \"a\", \"includes\": [\"b\"]}, {\"privilege\": \"b\"}],
  \"permissions\": {\"allowed\": [
    {\"applyTo\": \"ds\", \"type\": \"datastore\", \"read\": [\"b\"], \"execute\": [\"a\"]},
    {\"applyTo\": \"City\", \"type\": \"dataclass\", \"update\": [\"a\"], \"create\": [\"guest\"]},
    {\"applyTo\": \"City.name\", \"type\": \"attribute\", \"read\": [\"a\"]},
    {\"applyTo\": \"City.go\", \"type\": \"method\", \"promote\": [\"b\"]},
    {\"applyTo\": \"ds.run\", \"type\": \"method\", \"execute\": [\"guest\"]},
    {\"applyTo\": \"S\", \"type\": \"singleton\", \"execute\": [\"b\"]},
    {\"applyTo\": \"S.f\", \"type\": \"singletonMethod\", \"execute\": [\"a\"]}]},
  \"restrictedByDefault\": true}";

/// Resource and action text (the input's first line and the rest): a check and its
/// explanation agree on the status and the answer, for a guest, a session holding `b`, and a
/// remote session (allowed whenever the text is good); only good text passes.
pub fn permission(data: &[u8]) {
    fresh();
    ok(unsafe { sessmgr_load_roles(PERMISSIONS.as_ptr()) });
    let text = c_text(data);
    let bytes = text.to_bytes();
    let (resource, action) = match bytes.iter().position(|&b| b == b'\n') {
        Some(at) => (&bytes[..at], &bytes[at + 1..]),
        None => (bytes, &b"read"[..]),
    };
    let (resource, action) = (
        CString::new(resource).unwrap(),
        CString::new(action).unwrap(),
    );
    let guest = create(None);
    let holder = create(None);
    ok(unsafe { sessmgr_session_set_privileges(holder.as_ptr(), c"b".as_ptr(), ptr::null_mut()) });
    let remote = create(Some(c"{\"type\": \"remote\"}"));
    let mut statuses = Vec::new();
    for id in [&guest, &holder, &remote] {
        let mut allowed = false;
        let status = not_internal(unsafe {
            sessmgr_session_has_permission(
                id.as_ptr(),
                resource.as_ptr(),
                action.as_ptr(),
                &mut allowed,
            )
        });
        let mut json = ptr::null_mut();
        let explained = not_internal(unsafe {
            sessmgr_permissions_explain(id.as_ptr(), resource.as_ptr(), action.as_ptr(), &mut json)
        });
        assert_eq!(status, explained, "check and explanation disagree");
        if status == SESSMGR_OK {
            let why = parses(&take(json));
            assert_eq!(why["allowed"], allowed, "{why}");
            assert!(why["reason"].as_str().is_some_and(|r| !r.is_empty()));
            if id == &remote {
                assert!(allowed, "a remote session is allowed everything");
            }
        } else {
            assert_eq!(status, SESSMGR_INVALID_ARGUMENT);
            let message = unsafe { CStr::from_ptr(sessmgr_last_error()) }
                .to_string_lossy()
                .to_lowercase();
            assert!(
                !message.contains(&id.to_string_lossy().to_lowercase()),
                "the ID in {message}"
            );
        }
        statuses.push(status);
    }
    assert!(
        statuses.windows(2).all(|w| w[0] == w[1]),
        "types answer bad text alike"
    );
    let good_action = [
        "create", "read", "update", "drop", "execute", "describe", "promote",
    ]
    .iter()
    .any(|a| a.as_bytes() == action.to_bytes());
    let resource = resource.to_bytes();
    let good_shape = !resource.is_empty()
        && resource.len() <= 2049
        && resource.iter().filter(|&&b| b == b'.').count() <= 1
        && resource.first() != Some(&b'.')
        && resource.last() != Some(&b'.');
    if statuses[0] == SESSMGR_OK {
        assert!(good_action && good_shape, "bad text passed: {resource:?}");
    } else if !good_action {
        let message = unsafe { CStr::from_ptr(sessmgr_last_error()) }
            .to_string_lossy()
            .into_owned();
        assert!(message.contains("action"), "{message}");
    }
}
