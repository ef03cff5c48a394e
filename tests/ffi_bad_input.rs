//! Every exported function given NULL, invalid UTF-8, malformed JSON, a malformed ID and an
//! unknown ID: the documented status, a message naming the function, no output written, and
//! nothing changed in the registry. These tests share the global registry, so they take a lock
//! and reset it first.

mod common;

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr;
use std::sync::Mutex;

use sessmgr::ffi::admin::*;
use sessmgr::ffi::clients::*;
use sessmgr::ffi::library::*;
use sessmgr::ffi::otp::*;
use sessmgr::ffi::privileges::*;
use sessmgr::ffi::sessions::*;
use sessmgr::ffi::status::*;
use sessmgr::ffi::storage::*;
use sessmgr::ffi::users::*;

static SERIAL: Mutex<()> = Mutex::new(());

const UNKNOWN: &CStr = c"3C81A8D7AFE64C2E9CCFFCDC35DC52F5";
const MALFORMED_ID: &CStr = c"3C81A8D7-not-an-id";
const BAD_UTF8: &CStr = c"\xff\xfeabc";
const BAD_JSON: &CStr = c"{\"a\":";

fn take(text: *mut c_char) -> String {
    assert!(!text.is_null());
    let owned = unsafe { CStr::from_ptr(text) }.to_str().unwrap().to_owned();
    unsafe { sessmgr_string_free(text) };
    owned
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(sessmgr_last_error()) }
        .to_str()
        .unwrap()
        .to_owned()
}

struct Fixture {
    web: CString,
    remote: CString,
}

fn setup() -> Fixture {
    assert_eq!(sessmgr_reset(), SESSMGR_OK);
    let mut web = ptr::null_mut();
    let mut remote = ptr::null_mut();
    unsafe {
        assert_eq!(
            sessmgr_configure(c"{\"clock\":\"manual\"}".as_ptr()),
            SESSMGR_OK
        );
        assert_eq!(sessmgr_session_create(ptr::null(), &mut web), SESSMGR_OK);
        assert_eq!(
            sessmgr_session_create(
                c"{\"type\":\"remote\",\"userName\":\"u\"}".as_ptr(),
                &mut remote
            ),
            SESSMGR_OK
        );
    }
    let fixture = Fixture {
        web: CString::new(take(web)).unwrap(),
        remote: CString::new(take(remote)).unwrap(),
    };
    unsafe {
        assert_eq!(
            sessmgr_session_set_identifier(fixture.web.as_ptr(), c"id-1".as_ptr()),
            SESSMGR_OK
        );
        assert_eq!(
            sessmgr_session_set_privileges(
                fixture.web.as_ptr(),
                c"WebAdmin".as_ptr(),
                ptr::null_mut()
            ),
            SESSMGR_OK
        );
        assert_eq!(
            sessmgr_storage_set(
                fixture.web.as_ptr(),
                c"/k".as_ptr(),
                c"[1,{\"x\":null}]".as_ptr()
            ),
            SESSMGR_OK
        );
        assert_eq!(
            sessmgr_session_attach_file(
                fixture.web.as_ptr(),
                c"{\"filename\":\"Inventory\"}".as_ptr()
            ),
            SESSMGR_OK
        );
    }
    fixture
}

/// Everything a caller could observe about the registry.
fn snapshot(f: &Fixture) -> String {
    let mut out = String::new();
    let mut text = ptr::null_mut();
    let mut count = 0u64;
    unsafe {
        assert_eq!(sessmgr_sessions_list(&mut text), SESSMGR_OK);
        out += &take(text);
        assert_eq!(sessmgr_clients_list(&mut text), SESSMGR_OK);
        out += &take(text);
        assert_eq!(sessmgr_stats(&mut text), SESSMGR_OK);
        out += &take(text);
        assert_eq!(sessmgr_session_count(&mut count), SESSMGR_OK);
        out += &format!(" count={count}");
        for id in [&f.web, &f.remote] {
            for getter in [
                sessmgr_session_get_identifier
                    as unsafe extern "C" fn(*const c_char, *mut *mut c_char) -> i32,
                sessmgr_session_get_user_name,
                sessmgr_session_get_privileges,
            ] {
                assert_eq!(getter(id.as_ptr(), &mut text), SESSMGR_OK);
                out += " ";
                out += &take(text);
            }
            assert_eq!(
                sessmgr_storage_get(id.as_ptr(), c"".as_ptr(), &mut text),
                SESSMGR_OK
            );
            out += &take(text);
        }
        assert_eq!(
            sessmgr_session_get_expiration_date(f.web.as_ptr(), &mut text),
            SESSMGR_OK
        );
        out += &take(text);
    }
    out
}

unsafe extern "C" fn answer_seven(_: *mut sessmgr_update, _: *const c_char, _: *mut c_void) -> i32 {
    7
}

unsafe extern "C" fn set_then_abort(
    update: *mut sessmgr_update,
    _: *const c_char,
    _: *mut c_void,
) -> i32 {
    unsafe { sessmgr_update_set(update, c"{\"changed\":true}".as_ptr()) };
    SESSMGR_UPDATE_ABORT
}

unsafe extern "C" fn set_bad_values(
    update: *mut sessmgr_update,
    _: *const c_char,
    results: *mut c_void,
) -> i32 {
    let results = unsafe { &mut *(results as *mut Vec<i32>) };
    for value in [c"{\"a\":", c"[1]", c"\xff", c"{\"ok\":1}"] {
        results.push(unsafe { sessmgr_update_set(update, value.as_ptr()) });
    }
    results.push(unsafe { sessmgr_update_set(update, ptr::null()) });
    results.push(unsafe { sessmgr_update_set(ptr::null_mut(), c"{}".as_ptr()) });
    SESSMGR_UPDATE_COMMIT
}

type Case<'a> = (&'a str, i32, Box<dyn Fn() -> i32 + 'a>);

#[test]
fn every_function_refuses_bad_input_and_changes_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let f = setup();
    let before = snapshot(&f);
    let web = f.web.as_ptr();
    let remote = f.remote.as_ptr();
    let null = ptr::null::<c_char>();
    let sentinel = 0x5E55_u64 as *mut c_char;
    // Output slots: each case must leave them as they are.
    let text_out = &std::cell::Cell::new(sentinel);
    let flag_out = &std::cell::Cell::new(true);
    let int_out = &std::cell::Cell::new(-77_i32);
    let t = || text_out.as_ptr();
    let b = || flag_out.as_ptr();

    use SESSMGR_INVALID_ARGUMENT as INVALID;
    use SESSMGR_INVALID_JSON as JSON;
    use SESSMGR_NOT_FOUND as NOT_FOUND;
    use SESSMGR_NOT_SUPPORTED as NOT_SUPPORTED;
    use SESSMGR_NULL_ARGUMENT as NULL;
    let mut cases: Vec<Case> = Vec::new();
    macro_rules! case {
        ($function:literal, $expected:expr, $call:expr) => {
            cases.push((
                $function,
                $expected,
                Box::new(move || {
                    #[allow(unused_unsafe)]
                    unsafe {
                        $call
                    }
                }),
            ));
        };
    }
    // Every function that takes an `id`: NULL, malformed, unknown, invalid UTF-8.
    for (id, expected) in [
        (null, NULL),
        (MALFORMED_ID.as_ptr(), INVALID),
        (UNKNOWN.as_ptr(), NOT_FOUND),
        (BAD_UTF8.as_ptr(), INVALID),
    ] {
        case!("sessmgr_session_close", expected, sessmgr_session_close(id));
        case!(
            "sessmgr_session_rotate_id",
            expected,
            sessmgr_session_rotate_id(id, ptr::null(), t())
        );
        case!("sessmgr_session_touch", expected, sessmgr_session_touch(id));
        case!(
            "sessmgr_session_info",
            expected,
            sessmgr_session_info(id, t())
        );
        case!(
            "sessmgr_session_set_state",
            expected,
            sessmgr_session_set_state(id, c"sleeping".as_ptr())
        );
        case!(
            "sessmgr_session_set_identifier",
            expected,
            sessmgr_session_set_identifier(id, c"x".as_ptr())
        );
        case!(
            "sessmgr_session_get_identifier",
            expected,
            sessmgr_session_get_identifier(id, t())
        );
        case!(
            "sessmgr_session_get_user_name",
            expected,
            sessmgr_session_get_user_name(id, t())
        );
        case!(
            "sessmgr_session_set_privileges",
            expected,
            sessmgr_session_set_privileges(id, c"WebAdmin".as_ptr(), t())
        );
        case!(
            "sessmgr_session_clear_privileges",
            expected,
            sessmgr_session_clear_privileges(id)
        );
        case!(
            "sessmgr_session_has_privilege",
            expected,
            sessmgr_session_has_privilege(id, c"WebAdmin".as_ptr(), b())
        );
        case!(
            "sessmgr_session_has_permission",
            expected,
            sessmgr_session_has_permission(id, c"ds".as_ptr(), c"read".as_ptr(), b())
        );
        case!(
            "sessmgr_permissions_explain",
            expected,
            sessmgr_permissions_explain(id, c"ds".as_ptr(), c"read".as_ptr(), t())
        );
        case!(
            "sessmgr_session_request",
            expected,
            sessmgr_session_request(id, c"WebAdmin".as_ptr(), c"/n".as_ptr(), b(), t())
        );
        case!(
            "sessmgr_session_get_privileges",
            expected,
            sessmgr_session_get_privileges(id, t())
        );
        case!(
            "sessmgr_session_is_guest",
            expected,
            sessmgr_session_is_guest(id, b())
        );
        case!(
            "sessmgr_session_set_idle_timeout",
            expected,
            sessmgr_session_set_idle_timeout(id, 90)
        );
        case!(
            "sessmgr_session_get_idle_timeout",
            expected,
            sessmgr_session_get_idle_timeout(id, int_out.as_ptr())
        );
        case!(
            "sessmgr_session_get_expiration_date",
            expected,
            sessmgr_session_get_expiration_date(id, t())
        );
        case!(
            "sessmgr_storage_get",
            expected,
            sessmgr_storage_get(id, c"".as_ptr(), t())
        );
        case!(
            "sessmgr_storage_set",
            expected,
            sessmgr_storage_set(id, c"/a".as_ptr(), c"1".as_ptr())
        );
        case!(
            "sessmgr_storage_remove",
            expected,
            sessmgr_storage_remove(id, c"/k".as_ptr())
        );
        case!(
            "sessmgr_storage_compare_and_set",
            expected,
            sessmgr_storage_compare_and_set(id, c"/n".as_ptr(), ptr::null(), c"1".as_ptr())
        );
        case!(
            "sessmgr_storage_increment",
            expected,
            sessmgr_storage_increment(id, c"/n".as_ptr(), 1, ptr::null_mut())
        );
        case!(
            "sessmgr_storage_merge",
            expected,
            sessmgr_storage_merge(id, c"{}".as_ptr())
        );
        case!(
            "sessmgr_storage_update",
            expected,
            sessmgr_storage_update(id, Some(common::commit_nothing), ptr::null_mut())
        );
        case!(
            "sessmgr_session_attach_file",
            expected,
            sessmgr_session_attach_file(id, c"{\"filename\":\"Survey\"}".as_ptr())
        );
        case!(
            "sessmgr_session_detach_file",
            expected,
            sessmgr_session_detach_file(id, c"Inventory".as_ptr())
        );
        case!(
            "sessmgr_session_get_client_id",
            expected,
            sessmgr_session_get_client_id(id, &mut 0)
        );
        case!(
            "sessmgr_session_create_otp",
            expected,
            sessmgr_session_create_otp(id, 60, t())
        );
        // The same texts as a passcode: no passcode has the unknown one.
        case!(
            "sessmgr_session_restore",
            expected,
            sessmgr_session_restore(id, t())
        );
        case!(
            "sessmgr_session_get_lifetime_end",
            expected,
            sessmgr_session_get_lifetime_end(id, t())
        );
        case!(
            "sessmgr_session_set_lifetime_end",
            expected,
            sessmgr_session_set_lifetime_end(id, c"2030-01-01T00:00:00Z".as_ptr())
        );
        case!(
            "sessmgr_session_take_messages",
            expected,
            sessmgr_session_take_messages(id, t())
        );
    }
    // Rotation: its output, its privileges as set_privileges takes them, a type without it.
    case!(
        "sessmgr_session_rotate_id",
        NULL,
        sessmgr_session_rotate_id(web, ptr::null(), ptr::null_mut())
    );
    case!(
        "sessmgr_session_rotate_id",
        INVALID,
        sessmgr_session_rotate_id(web, BAD_UTF8.as_ptr(), t())
    );
    case!(
        "sessmgr_session_rotate_id",
        JSON,
        sessmgr_session_rotate_id(web, BAD_JSON.as_ptr(), t())
    );
    case!(
        "sessmgr_session_rotate_id",
        INVALID,
        sessmgr_session_rotate_id(web, c"{\"privilege\":[]}".as_ptr(), t())
    );
    case!(
        "sessmgr_session_rotate_id",
        NOT_SUPPORTED,
        sessmgr_session_rotate_id(remote, ptr::null(), t())
    );
    // A user's sessions: NULL and invalid UTF-8 as the user name, a NULL output.
    for name in [null, BAD_UTF8.as_ptr()] {
        let expected = if name.is_null() { NULL } else { INVALID };
        case!(
            "sessmgr_user_sessions",
            expected,
            sessmgr_user_sessions(name, t())
        );
        case!(
            "sessmgr_user_close_sessions",
            expected,
            sessmgr_user_close_sessions(name, &mut 0)
        );
    }
    case!(
        "sessmgr_user_sessions",
        NULL,
        sessmgr_user_sessions(c"u".as_ptr(), ptr::null_mut())
    );
    // One-time passcodes: outputs, a negative lifespan, a type without them, and a live
    // session's ID, which is not a passcode.
    case!(
        "sessmgr_session_create_otp",
        NULL,
        sessmgr_session_create_otp(web, 60, ptr::null_mut())
    );
    case!(
        "sessmgr_session_create_otp",
        INVALID,
        sessmgr_session_create_otp(web, -1, t())
    );
    case!(
        "sessmgr_session_create_otp",
        NOT_SUPPORTED,
        sessmgr_session_create_otp(remote, 60, t())
    );
    case!(
        "sessmgr_session_restore",
        NOT_FOUND,
        sessmgr_session_restore(web, t())
    );
    case!(
        "sessmgr_session_restore",
        NULL,
        sessmgr_session_restore(UNKNOWN.as_ptr(), ptr::null_mut())
    );
    // An absolute end: no absolute end yet, a type without one, and dates that are not dates.
    case!(
        "sessmgr_session_get_lifetime_end",
        SESSMGR_NO_VALUE,
        sessmgr_session_get_lifetime_end(web, t())
    );
    case!(
        "sessmgr_session_get_lifetime_end",
        NOT_SUPPORTED,
        sessmgr_session_get_lifetime_end(remote, t())
    );
    case!(
        "sessmgr_session_get_lifetime_end",
        NULL,
        sessmgr_session_get_lifetime_end(web, ptr::null_mut())
    );
    for date in [
        BAD_UTF8.as_ptr(),
        c"2030-01-01".as_ptr(),
        c"2030-01-01T00:00:00.0001Z".as_ptr(),
        c"1969-01-01T00:00:00Z".as_ptr(),
    ] {
        case!(
            "sessmgr_session_set_lifetime_end",
            INVALID,
            sessmgr_session_set_lifetime_end(web, date)
        );
    }
    case!(
        "sessmgr_session_set_lifetime_end",
        NOT_SUPPORTED,
        sessmgr_session_set_lifetime_end(remote, ptr::null())
    );
    // The functions that name a client by number: 0, a number no client has, then their text.
    let mut client = 0u64;
    assert_eq!(
        unsafe { sessmgr_session_get_client_id(web, &mut client) },
        SESSMGR_OK
    );
    let oversized = CString::new("m".repeat(4097)).unwrap();
    let oversized = oversized.as_ptr();
    for (number, expected) in [(0, INVALID), (client + 1_000_000, NOT_FOUND)] {
        case!(
            "sessmgr_client_send_message",
            expected,
            sessmgr_client_send_message(number, c"hi".as_ptr())
        );
        case!(
            "sessmgr_client_disconnect",
            expected,
            sessmgr_client_disconnect(number, c"bye".as_ptr(), 10)
        );
    }
    case!(
        "sessmgr_client_send_message",
        NULL,
        sessmgr_client_send_message(client, null)
    );
    case!(
        "sessmgr_client_send_message",
        INVALID,
        sessmgr_client_send_message(client, BAD_UTF8.as_ptr())
    );
    case!(
        "sessmgr_client_send_message",
        SESSMGR_LIMIT_EXCEEDED,
        sessmgr_client_send_message(client, oversized)
    );
    case!(
        "sessmgr_client_disconnect",
        INVALID,
        sessmgr_client_disconnect(client, BAD_UTF8.as_ptr(), 10)
    );
    case!(
        "sessmgr_client_disconnect",
        SESSMGR_LIMIT_EXCEEDED,
        sessmgr_client_disconnect(client, oversized, 10)
    );
    case!(
        "sessmgr_client_disconnect",
        INVALID,
        sessmgr_client_disconnect(client, null, 86_401)
    );
    // Every other pointer parameter: NULL, then invalid UTF-8 where it is text.
    case!("sessmgr_configure", NULL, sessmgr_configure(null));
    case!(
        "sessmgr_configure",
        INVALID,
        sessmgr_configure(BAD_UTF8.as_ptr())
    );
    case!(
        "sessmgr_configure",
        JSON,
        sessmgr_configure(BAD_JSON.as_ptr())
    );
    case!(
        "sessmgr_configure",
        JSON,
        sessmgr_configure(c"{\"roles\":{\"privileges\":[[[[".as_ptr())
    );
    case!(
        "sessmgr_configure",
        INVALID,
        sessmgr_configure(c"{\"maxSessions\":0,\"clock\":\"system\"}".as_ptr())
    );
    case!(
        "sessmgr_configure",
        INVALID,
        sessmgr_configure(c"{\"clock\":\"system\",\"unknown\":1}".as_ptr())
    );
    case!("sessmgr_load_roles", NULL, sessmgr_load_roles(null));
    case!(
        "sessmgr_load_roles",
        INVALID,
        sessmgr_load_roles(BAD_UTF8.as_ptr())
    );
    case!(
        "sessmgr_load_roles",
        JSON,
        sessmgr_load_roles(BAD_JSON.as_ptr())
    );
    case!(
        "sessmgr_load_roles",
        INVALID,
        sessmgr_load_roles(c"{\"roles\":[{\"role\":\"r\",\"privileges\":[\"nope\"]}]}".as_ptr())
    );
    case!("sessmgr_clock_advance", INVALID, sessmgr_clock_advance(-1));
    case!(
        "sessmgr_clock_advance",
        INVALID,
        sessmgr_clock_advance(i64::MAX)
    );
    case!(
        "sessmgr_session_count",
        NULL,
        sessmgr_session_count(ptr::null_mut())
    );
    case!(
        "sessmgr_sessions_list",
        NULL,
        sessmgr_sessions_list(ptr::null_mut())
    );
    case!(
        "sessmgr_session_create",
        NULL,
        sessmgr_session_create(null, ptr::null_mut())
    );
    case!(
        "sessmgr_session_create",
        INVALID,
        sessmgr_session_create(BAD_UTF8.as_ptr(), t())
    );
    case!(
        "sessmgr_session_create",
        JSON,
        sessmgr_session_create(BAD_JSON.as_ptr(), t())
    );
    case!(
        "sessmgr_session_create",
        INVALID,
        sessmgr_session_create(c"{\"type\":\"ftp\"}".as_ptr(), t())
    );
    case!(
        "sessmgr_session_create",
        INVALID,
        sessmgr_session_create(c"{\"hostType\":\"amiga\"}".as_ptr(), t())
    );
    case!(
        "sessmgr_session_create",
        NOT_SUPPORTED,
        sessmgr_session_create(c"{\"type\":\"remote\",\"idleTimeout\":5}".as_ptr(), t())
    );
    case!(
        "sessmgr_session_info",
        NULL,
        sessmgr_session_info(web, ptr::null_mut())
    );
    case!(
        "sessmgr_session_set_state",
        NULL,
        sessmgr_session_set_state(web, null)
    );
    case!(
        "sessmgr_session_set_state",
        INVALID,
        sessmgr_session_set_state(web, BAD_UTF8.as_ptr())
    );
    case!(
        "sessmgr_session_set_state",
        INVALID,
        sessmgr_session_set_state(web, c"ACTIVE".as_ptr())
    );
    case!(
        "sessmgr_session_set_identifier",
        NULL,
        sessmgr_session_set_identifier(web, null)
    );
    case!(
        "sessmgr_session_set_identifier",
        INVALID,
        sessmgr_session_set_identifier(web, BAD_UTF8.as_ptr())
    );
    case!(
        "sessmgr_session_get_identifier",
        NULL,
        sessmgr_session_get_identifier(web, ptr::null_mut())
    );
    case!(
        "sessmgr_session_get_user_name",
        NULL,
        sessmgr_session_get_user_name(web, ptr::null_mut())
    );
    case!(
        "sessmgr_session_set_privileges",
        NULL,
        sessmgr_session_set_privileges(web, null, t())
    );
    case!(
        "sessmgr_session_set_privileges",
        INVALID,
        sessmgr_session_set_privileges(web, BAD_UTF8.as_ptr(), t())
    );
    case!(
        "sessmgr_session_set_privileges",
        JSON,
        sessmgr_session_set_privileges(web, c"[\"WebAdmin\"".as_ptr(), t())
    );
    case!(
        "sessmgr_session_set_privileges",
        INVALID,
        sessmgr_session_set_privileges(web, c"{\"privs\":[]}".as_ptr(), t())
    );
    case!(
        "sessmgr_session_set_privileges",
        NOT_SUPPORTED,
        sessmgr_session_set_privileges(remote, c"WebAdmin".as_ptr(), t())
    );
    case!(
        "sessmgr_session_clear_privileges",
        NOT_SUPPORTED,
        sessmgr_session_clear_privileges(remote)
    );
    case!(
        "sessmgr_session_has_privilege",
        NULL,
        sessmgr_session_has_privilege(web, null, b())
    );
    case!(
        "sessmgr_session_has_privilege",
        NULL,
        sessmgr_session_has_privilege(web, c"WebAdmin".as_ptr(), ptr::null_mut())
    );
    case!(
        "sessmgr_session_has_privilege",
        INVALID,
        sessmgr_session_has_privilege(web, BAD_UTF8.as_ptr(), b())
    );
    for (resource, action) in [(null, c"read".as_ptr()), (c"ds".as_ptr(), null)] {
        case!(
            "sessmgr_session_has_permission",
            NULL,
            sessmgr_session_has_permission(web, resource, action, b())
        );
        case!(
            "sessmgr_permissions_explain",
            NULL,
            sessmgr_permissions_explain(web, resource, action, t())
        );
    }
    case!(
        "sessmgr_session_has_permission",
        NULL,
        sessmgr_session_has_permission(web, c"ds".as_ptr(), c"read".as_ptr(), ptr::null_mut())
    );
    case!(
        "sessmgr_permissions_explain",
        NULL,
        sessmgr_permissions_explain(web, c"ds".as_ptr(), c"read".as_ptr(), ptr::null_mut())
    );
    for (resource, action) in [
        (BAD_UTF8.as_ptr(), c"read".as_ptr()),
        (c"ds".as_ptr(), BAD_UTF8.as_ptr()),
        (c"ds".as_ptr(), c"Read".as_ptr()),
        (c"a.b.c".as_ptr(), c"read".as_ptr()),
    ] {
        case!(
            "sessmgr_session_has_permission",
            INVALID,
            sessmgr_session_has_permission(web, resource, action, b())
        );
        case!(
            "sessmgr_permissions_explain",
            INVALID,
            sessmgr_permissions_explain(web, resource, action, t())
        );
    }
    // An output may be NULL only when its question is not asked.
    case!(
        "sessmgr_session_request",
        NULL,
        sessmgr_session_request(web, c"WebAdmin".as_ptr(), null, ptr::null_mut(), t())
    );
    case!(
        "sessmgr_session_request",
        NULL,
        sessmgr_session_request(web, null, c"/n".as_ptr(), b(), ptr::null_mut())
    );
    case!(
        "sessmgr_session_request",
        SESSMGR_OK,
        sessmgr_session_request(web, null, null, ptr::null_mut(), ptr::null_mut())
    );
    case!(
        "sessmgr_session_request",
        INVALID,
        sessmgr_session_request(web, BAD_UTF8.as_ptr(), null, b(), t())
    );
    case!(
        "sessmgr_session_request",
        INVALID,
        sessmgr_session_request(web, null, c"no-slash".as_ptr(), b(), t())
    );
    case!(
        "sessmgr_session_get_privileges",
        NULL,
        sessmgr_session_get_privileges(web, ptr::null_mut())
    );
    case!(
        "sessmgr_session_is_guest",
        NULL,
        sessmgr_session_is_guest(web, ptr::null_mut())
    );
    case!(
        "sessmgr_session_set_idle_timeout",
        INVALID,
        sessmgr_session_set_idle_timeout(web, -1)
    );
    case!(
        "sessmgr_session_set_idle_timeout",
        INVALID,
        sessmgr_session_set_idle_timeout(web, i32::MIN)
    );
    case!(
        "sessmgr_session_set_idle_timeout",
        NOT_SUPPORTED,
        sessmgr_session_set_idle_timeout(remote, 90)
    );
    case!(
        "sessmgr_session_get_idle_timeout",
        NULL,
        sessmgr_session_get_idle_timeout(web, ptr::null_mut())
    );
    case!(
        "sessmgr_session_get_idle_timeout",
        NOT_SUPPORTED,
        sessmgr_session_get_idle_timeout(remote, int_out.as_ptr())
    );
    case!(
        "sessmgr_session_get_expiration_date",
        NULL,
        sessmgr_session_get_expiration_date(web, ptr::null_mut())
    );
    case!(
        "sessmgr_session_get_expiration_date",
        NOT_SUPPORTED,
        sessmgr_session_get_expiration_date(remote, t())
    );
    case!(
        "sessmgr_storage_get",
        NULL,
        sessmgr_storage_get(web, null, t())
    );
    case!(
        "sessmgr_storage_get",
        NULL,
        sessmgr_storage_get(web, c"".as_ptr(), ptr::null_mut())
    );
    case!(
        "sessmgr_storage_get",
        INVALID,
        sessmgr_storage_get(web, BAD_UTF8.as_ptr(), t())
    );
    case!(
        "sessmgr_storage_get",
        INVALID,
        sessmgr_storage_get(web, c"k".as_ptr(), t())
    );
    case!(
        "sessmgr_storage_get",
        SESSMGR_NO_VALUE,
        sessmgr_storage_get(web, c"/k/9".as_ptr(), t())
    );
    case!(
        "sessmgr_storage_compare_and_set",
        NULL,
        sessmgr_storage_compare_and_set(web, null, ptr::null(), c"1".as_ptr())
    );
    case!(
        "sessmgr_storage_compare_and_set",
        INVALID,
        sessmgr_storage_compare_and_set(web, BAD_UTF8.as_ptr(), ptr::null(), c"1".as_ptr())
    );
    case!(
        "sessmgr_storage_compare_and_set",
        INVALID,
        sessmgr_storage_compare_and_set(web, c"k".as_ptr(), ptr::null(), c"1".as_ptr())
    );
    case!(
        "sessmgr_storage_compare_and_set",
        JSON,
        sessmgr_storage_compare_and_set(web, c"/k".as_ptr(), BAD_JSON.as_ptr(), c"1".as_ptr())
    );
    case!(
        "sessmgr_storage_compare_and_set",
        JSON,
        sessmgr_storage_compare_and_set(web, c"/k".as_ptr(), ptr::null(), BAD_JSON.as_ptr())
    );
    case!(
        "sessmgr_storage_compare_and_set",
        INVALID,
        sessmgr_storage_compare_and_set(web, c"/k".as_ptr(), BAD_UTF8.as_ptr(), ptr::null())
    );
    // What is there is not what the caller expects: a conflict, and nothing changes.
    case!(
        "sessmgr_storage_compare_and_set",
        SESSMGR_CONFLICT,
        sessmgr_storage_compare_and_set(web, c"/k".as_ptr(), c"[1]".as_ptr(), c"2".as_ptr())
    );
    case!(
        "sessmgr_storage_compare_and_set",
        SESSMGR_CONFLICT,
        sessmgr_storage_compare_and_set(web, c"/k".as_ptr(), ptr::null(), ptr::null())
    );
    case!(
        "sessmgr_storage_increment",
        NULL,
        sessmgr_storage_increment(web, null, 1, ptr::null_mut())
    );
    case!(
        "sessmgr_storage_increment",
        INVALID,
        sessmgr_storage_increment(web, BAD_UTF8.as_ptr(), 1, ptr::null_mut())
    );
    case!(
        "sessmgr_storage_increment",
        INVALID,
        sessmgr_storage_increment(web, c"".as_ptr(), 1, ptr::null_mut())
    );
    case!(
        "sessmgr_storage_increment",
        SESSMGR_CONFLICT,
        sessmgr_storage_increment(web, c"/k".as_ptr(), 1, ptr::null_mut())
    );
    case!(
        "sessmgr_storage_increment",
        SESSMGR_NO_VALUE,
        sessmgr_storage_increment(web, c"/none/n".as_ptr(), 1, ptr::null_mut())
    );
    case!(
        "sessmgr_storage_set",
        NULL,
        sessmgr_storage_set(web, null, c"1".as_ptr())
    );
    case!(
        "sessmgr_storage_set",
        NULL,
        sessmgr_storage_set(web, c"/a".as_ptr(), null)
    );
    case!(
        "sessmgr_storage_set",
        INVALID,
        sessmgr_storage_set(web, c"/a".as_ptr(), BAD_UTF8.as_ptr())
    );
    case!(
        "sessmgr_storage_set",
        JSON,
        sessmgr_storage_set(web, c"/a".as_ptr(), BAD_JSON.as_ptr())
    );
    case!(
        "sessmgr_storage_set",
        JSON,
        sessmgr_storage_set(web, c"/a".as_ptr(), c"".as_ptr())
    );
    case!(
        "sessmgr_storage_set",
        SESSMGR_NO_VALUE,
        sessmgr_storage_set(web, c"/no/parent".as_ptr(), c"1".as_ptr())
    );
    case!(
        "sessmgr_storage_set",
        INVALID,
        sessmgr_storage_set(web, c"".as_ptr(), c"\"text\"".as_ptr())
    );
    case!(
        "sessmgr_storage_remove",
        NULL,
        sessmgr_storage_remove(web, null)
    );
    case!(
        "sessmgr_storage_remove",
        SESSMGR_NO_VALUE,
        sessmgr_storage_remove(web, c"/missing".as_ptr())
    );
    case!(
        "sessmgr_storage_merge",
        NULL,
        sessmgr_storage_merge(web, null)
    );
    case!(
        "sessmgr_storage_merge",
        JSON,
        sessmgr_storage_merge(web, BAD_JSON.as_ptr())
    );
    case!(
        "sessmgr_storage_merge",
        INVALID,
        sessmgr_storage_merge(web, c"[]".as_ptr())
    );
    case!(
        "sessmgr_storage_update",
        NULL,
        sessmgr_storage_update(web, None, ptr::null_mut())
    );
    case!(
        "sessmgr_storage_update",
        INVALID,
        sessmgr_storage_update(web, Some(answer_seven), ptr::null_mut())
    );
    case!(
        "sessmgr_storage_update",
        SESSMGR_ABORTED,
        sessmgr_storage_update(web, Some(set_then_abort), ptr::null_mut())
    );
    case!(
        "sessmgr_update_set",
        NULL,
        sessmgr_update_set(ptr::null_mut(), c"{}".as_ptr())
    );

    case!(
        "sessmgr_clients_list",
        NULL,
        sessmgr_clients_list(ptr::null_mut())
    );
    case!("sessmgr_stats", NULL, sessmgr_stats(ptr::null_mut()));
    for (query, expected) in [
        (c"{}".as_ptr(), NULL),
        (BAD_UTF8.as_ptr(), INVALID),
        (BAD_JSON.as_ptr(), JSON),
        (c"{\"limit\": 10001}".as_ptr(), INVALID),
        (c"{\"offset\": -1}".as_ptr(), INVALID),
        (c"{\"type\": \"ftp\"}".as_ptr(), INVALID),
        (c"{\"page\": 2}".as_ptr(), INVALID),
        (c"[]".as_ptr(), INVALID),
    ] {
        // A valid query with a NULL output is the NULL case; the rest have somewhere to write.
        let out = move || {
            if expected == NULL {
                ptr::null_mut()
            } else {
                t()
            }
        };
        case!(
            "sessmgr_clients_query",
            expected,
            sessmgr_clients_query(query, out())
        );
        case!(
            "sessmgr_sessions_query",
            expected,
            sessmgr_sessions_query(query, out())
        );
    }
    case!(
        "sessmgr_session_attach_file",
        NULL,
        sessmgr_session_attach_file(web, null)
    );
    case!(
        "sessmgr_session_attach_file",
        INVALID,
        sessmgr_session_attach_file(web, BAD_UTF8.as_ptr())
    );
    case!(
        "sessmgr_session_attach_file",
        JSON,
        sessmgr_session_attach_file(web, BAD_JSON.as_ptr())
    );
    case!(
        "sessmgr_session_attach_file",
        INVALID,
        sessmgr_session_attach_file(web, c"{}".as_ptr())
    );
    case!(
        "sessmgr_session_attach_file",
        INVALID,
        sessmgr_session_attach_file(web, c"[\"Survey\"]".as_ptr())
    );
    case!(
        "sessmgr_session_attach_file",
        INVALID,
        sessmgr_session_attach_file(web, c"{\"filename\":\"Survey\",\"owner\":\"x\"}".as_ptr())
    );
    case!(
        "sessmgr_session_attach_file",
        SESSMGR_BAD_STATE,
        sessmgr_session_attach_file(web, c"{\"filename\":\"Inventory\"}".as_ptr())
    );
    case!(
        "sessmgr_session_detach_file",
        NULL,
        sessmgr_session_detach_file(web, null)
    );
    case!(
        "sessmgr_session_detach_file",
        INVALID,
        sessmgr_session_detach_file(web, BAD_UTF8.as_ptr())
    );
    case!(
        "sessmgr_session_detach_file",
        SESSMGR_NO_VALUE,
        sessmgr_session_detach_file(web, c"Survey".as_ptr())
    );
    case!(
        "sessmgr_configure",
        INVALID,
        sessmgr_configure(c"{\"clock\":\"system\",\"accessLog\":{\"hostName\":\"h\"}}".as_ptr())
    );
    case!(
        "sessmgr_configure",
        INVALID,
        sessmgr_configure(c"{\"accessLog\":{\"path\":\"/tmp/x.log\",\"maxBytes\":10}}".as_ptr())
    );

    let mut functions_seen = std::collections::BTreeSet::new();
    for (function, expected, call) in &cases {
        let status = call();
        assert_eq!(
            status,
            *expected,
            "{function}: expected status {expected}, got {status}: {}",
            last_error()
        );
        let message = last_error();
        assert!(
            message.starts_with(function),
            "{function}: message does not name it: {message}"
        );
        assert!(
            message.len() > function.len() + 5,
            "{function}: empty message: {message}"
        );
        assert_eq!(text_out.get(), sentinel, "{function} wrote its text output");
        assert!(flag_out.get(), "{function} wrote its bool output");
        assert_eq!(int_out.get(), -77, "{function} wrote its int output");
        assert_eq!(snapshot(&f), before, "{function} changed the registry");
        functions_seen.insert(*function);
    }
    // Only the functions that cannot fail on bad input are missing from the matrix.
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/sessmgr.h")).unwrap();
    for line in header
        .lines()
        .filter(|l| l.starts_with("sessmgr_status sessmgr_"))
    {
        let name = &line["sessmgr_status ".len()..line.find('(').unwrap()];
        let cannot_fail = [
            "sessmgr_reset",
            "sessmgr_sweep",
            "sessmgr_set_event_handler",
        ];
        assert!(
            functions_seen.contains(name) || cannot_fail.contains(&name),
            "{name} has no bad-input case"
        );
    }
}

#[test]
fn update_set_checks_each_value_at_once() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let f = setup();
    let mut results: Vec<i32> = Vec::new();
    let status = unsafe {
        sessmgr_storage_update(
            f.web.as_ptr(),
            Some(set_bad_values),
            &mut results as *mut Vec<i32> as *mut c_void,
        )
    };
    assert_eq!(status, SESSMGR_OK);
    assert_eq!(
        results,
        [
            SESSMGR_INVALID_JSON,
            SESSMGR_INVALID_ARGUMENT,
            SESSMGR_INVALID_ARGUMENT,
            SESSMGR_OK,
            SESSMGR_NULL_ARGUMENT,
            SESSMGR_NULL_ARGUMENT
        ]
    );
    let mut text = ptr::null_mut();
    assert_eq!(
        unsafe { sessmgr_storage_get(f.web.as_ptr(), c"".as_ptr(), &mut text) },
        SESSMGR_OK
    );
    assert_eq!(
        take(text),
        "{\"ok\":1}",
        "the last value that passed its checks wins"
    );
}

#[test]
fn clock_advance_needs_a_manual_clock() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(sessmgr_reset(), SESSMGR_OK);
    assert_eq!(sessmgr_clock_advance(10), SESSMGR_BAD_STATE);
    assert!(last_error().contains("manual"), "{}", last_error());
}

#[test]
fn huge_inputs_are_refused_with_limit_exceeded() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let f = setup();
    let before = snapshot(&f);
    let huge_value = CString::new(format!("\"{}\"", "x".repeat(2 << 20))).unwrap();
    let huge_identifier = CString::new("y".repeat(1 << 20)).unwrap();
    let huge_option = CString::new(format!(
        "{{\"type\":\"remote\",\"userName\":\"{}\"}}",
        "z".repeat(100_000)
    ))
    .unwrap();
    let mut out = ptr::null_mut();
    unsafe {
        assert_eq!(
            sessmgr_storage_set(f.web.as_ptr(), c"/big".as_ptr(), huge_value.as_ptr()),
            SESSMGR_LIMIT_EXCEEDED
        );
        assert_eq!(
            sessmgr_session_set_identifier(f.web.as_ptr(), huge_identifier.as_ptr()),
            SESSMGR_LIMIT_EXCEEDED
        );
        assert_eq!(
            sessmgr_session_create(huge_option.as_ptr(), &mut out),
            SESSMGR_LIMIT_EXCEEDED
        );
    }
    assert!(out.is_null());
    assert_eq!(snapshot(&f), before);
}

#[test]
fn strings_out_are_freed_by_the_library_and_version_is_static() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let version = unsafe { CStr::from_ptr(sessmgr_version()) }
        .to_str()
        .unwrap();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    unsafe { sessmgr_string_free(ptr::null_mut()) };
}
