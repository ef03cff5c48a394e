//! Generates docs/bad-input.md: every exported function against every class of bad input, with
//! the status it returns, each cell measured by calling the function. The test fails when the
//! committed table differs from what the library does now; `SESSMGR_BLESS_DOCS=1 cargo test
//! --test bad_input_table` rewrites it.

// The rows are closures in a macro; rustfmt braces some of them.
#![allow(unused_braces)]

mod common;

use std::ffi::{CStr, CString, c_char, c_void};
use std::path::Path;
use std::ptr;

use sessmgr::ffi::admin::*;
use sessmgr::ffi::clients::*;
use sessmgr::ffi::library::*;
use sessmgr::ffi::otp::*;
use sessmgr::ffi::privileges::*;
use sessmgr::ffi::sessions::*;
use sessmgr::ffi::status::*;
use sessmgr::ffi::storage::*;
use sessmgr::ffi::users::*;

const CLASSES: [&str; 8] = [
    "NULL",
    "invalid UTF-8",
    "malformed JSON",
    "deeply nested JSON",
    "oversized input",
    "unknown ID",
    "expired ID",
    "wrong session type",
];

/// What a function's text argument is.
#[derive(Clone, Copy, PartialEq)]
enum Text {
    None,
    Plain,
    Json,
}

/// One function: whether it takes a session ID, what its text argument is (with a valid
/// value), and a call with given ID and text (`None` outputs: every output pointer NULL).
struct Function {
    name: &'static str,
    id: bool,
    text: Text,
    valid: &'static CStr,
    call: fn(*const c_char, *const c_char, bool) -> sessmgr_status,
}

/// Output slots for a call; freed afterwards.
struct Outs {
    text: *mut c_char,
    flag: bool,
    minutes: i32,
    count: u64,
}

impl Outs {
    fn text(&mut self, null: bool) -> *mut *mut c_char {
        if null {
            ptr::null_mut()
        } else {
            &mut self.text
        }
    }
    fn flag(&mut self, null: bool) -> *mut bool {
        if null {
            ptr::null_mut()
        } else {
            &mut self.flag
        }
    }
}

fn with_outs(body: impl FnOnce(&mut Outs) -> sessmgr_status) -> sessmgr_status {
    let mut outs = Outs {
        text: ptr::null_mut(),
        flag: false,
        minutes: 0,
        count: 0,
    };
    let status = body(&mut outs);
    unsafe { sessmgr_string_free(outs.text) };
    status
}

/// Calls `sessmgr_update_set` with `text` from inside an update of `id`; its status.
unsafe extern "C" fn set_given(
    update: *mut sessmgr_update,
    _: *const c_char,
    data: *mut c_void,
) -> i32 {
    let (text, status) = unsafe { &mut *(data as *mut (*const c_char, sessmgr_status)) };
    *status = unsafe { sessmgr_update_set(update, *text) };
    SESSMGR_UPDATE_ABORT
}

macro_rules! f {
    ($name:ident, $id:expr, $text:expr, $valid:expr, |$i:ident, $t:ident, $null:ident| $body:expr) => {
        Function {
            name: stringify!($name),
            id: $id,
            text: $text,
            valid: $valid,
            call: |$i, $t, $null| {
                let _ = (&$i, &$t, &$null);
                $body
            },
        }
    };
}

/// The client numbers of the fixture's sessions, by ID, for the functions that take a client
/// number: the ID classes give the number of that session (NULL gives 0, which no client has,
/// and an unknown ID a number no client has).
static CLIENTS: std::sync::Mutex<Vec<(CString, u64)>> = std::sync::Mutex::new(Vec::new());

/// For `sessmgr_session_restore`: a passcode of the session each ID class names, made afresh
/// (it can be made only for a live web session: the others pass their ID, which no passcode
/// has; NULL and malformed text pass through).
fn token_of(id: *const c_char) -> *const c_char {
    static TOKEN: std::sync::Mutex<Option<CString>> = std::sync::Mutex::new(None);
    if id.is_null() {
        return id;
    }
    let mut token = ptr::null_mut();
    if unsafe { sessmgr_session_create_otp(id, 60, &mut token) } != SESSMGR_OK {
        return id;
    }
    let owned = unsafe { CStr::from_ptr(token) }.to_owned();
    unsafe { sessmgr_string_free(token) };
    let mut kept = TOKEN.lock().unwrap();
    kept.insert(owned).as_ptr()
}

fn client_of(id: *const c_char) -> u64 {
    if id.is_null() {
        return 0;
    }
    let id = unsafe { CStr::from_ptr(id) };
    CLIENTS
        .lock()
        .unwrap()
        .iter()
        .find(|(known, _)| known.as_c_str() == id)
        .map_or(u64::MAX, |(_, client)| *client)
}

fn functions() -> Vec<Function> {
    vec![
        f!(sessmgr_version, false, Text::None, c"", |_i, _t, _n| {
            SESSMGR_OK
        }),
        f!(sessmgr_last_error, false, Text::None, c"", |_i, _t, _n| {
            SESSMGR_OK
        }),
        f!(sessmgr_string_free, false, Text::None, c"", |_i, _t, _n| {
            unsafe { sessmgr_string_free(ptr::null_mut()) };
            SESSMGR_OK
        }),
        f!(
            sessmgr_configure,
            false,
            Text::Json,
            c"{\"maxSessions\":100}",
            |_i, t, _n| unsafe { sessmgr_configure(t) }
        ),
        f!(
            sessmgr_load_roles,
            false,
            Text::Json,
            c"{\"privileges\":[]}",
            |_i, t, _n| unsafe { sessmgr_load_roles(t) }
        ),
        f!(sessmgr_reset, false, Text::None, c"", |_i, _t, _n| {
            sessmgr_reset()
        }),
        f!(
            sessmgr_clock_advance,
            false,
            Text::None,
            c"",
            |_i, _t, _n| { sessmgr_clock_advance(1) }
        ),
        f!(
            sessmgr_sweep,
            false,
            Text::None,
            c"",
            |_i, _t, n| with_outs(|o| unsafe {
                sessmgr_sweep(if n { ptr::null_mut() } else { &mut o.count })
            })
        ),
        f!(
            sessmgr_session_count,
            false,
            Text::None,
            c"",
            |_i, _t, n| {
                with_outs(|o| unsafe {
                    sessmgr_session_count(if n { ptr::null_mut() } else { &mut o.count })
                })
            }
        ),
        f!(
            sessmgr_sessions_list,
            false,
            Text::None,
            c"",
            |_i, _t, n| { with_outs(|o| unsafe { sessmgr_sessions_list(o.text(n)) }) }
        ),
        f!(
            sessmgr_session_create,
            false,
            Text::Json,
            c"{\"type\":\"remote\"}",
            |_i, t, n| { with_outs(|o| unsafe { sessmgr_session_create(t, o.text(n)) }) }
        ),
        f!(
            sessmgr_session_rotate_id,
            true,
            Text::Json,
            c"{\"privileges\":[\"WebAdmin\"],\"userName\":\"ann\"}",
            |i, t, n| with_outs(|o| unsafe { sessmgr_session_rotate_id(i, t, o.text(n)) })
        ),
        f!(
            sessmgr_session_close,
            true,
            Text::None,
            c"",
            |i, _t, _n| unsafe { sessmgr_session_close(i) }
        ),
        f!(
            sessmgr_session_touch,
            true,
            Text::None,
            c"",
            |i, _t, _n| unsafe { sessmgr_session_touch(i) }
        ),
        f!(sessmgr_session_info, true, Text::None, c"", |i, _t, n| {
            with_outs(|o| unsafe { sessmgr_session_info(i, o.text(n)) })
        }),
        f!(
            sessmgr_session_set_state,
            true,
            Text::Plain,
            c"sleeping",
            |i, t, _n| unsafe { sessmgr_session_set_state(i, t) }
        ),
        f!(
            sessmgr_session_set_identifier,
            true,
            Text::Plain,
            c"student-1",
            |i, t, _n| unsafe { sessmgr_session_set_identifier(i, t) }
        ),
        f!(
            sessmgr_session_get_identifier,
            true,
            Text::None,
            c"",
            |i, _t, n| with_outs(|o| unsafe { sessmgr_session_get_identifier(i, o.text(n)) })
        ),
        f!(
            sessmgr_session_get_user_name,
            true,
            Text::None,
            c"",
            |i, _t, n| with_outs(|o| unsafe { sessmgr_session_get_user_name(i, o.text(n)) })
        ),
        f!(
            sessmgr_session_set_idle_timeout,
            true,
            Text::None,
            c"",
            |i, _t, _n| unsafe { sessmgr_session_set_idle_timeout(i, 90) }
        ),
        f!(
            sessmgr_session_get_idle_timeout,
            true,
            Text::None,
            c"",
            |i, _t, n| with_outs(|o| unsafe {
                sessmgr_session_get_idle_timeout(
                    i,
                    if n { ptr::null_mut() } else { &mut o.minutes },
                )
            })
        ),
        f!(
            sessmgr_session_get_expiration_date,
            true,
            Text::None,
            c"",
            |i, _t, n| with_outs(|o| unsafe { sessmgr_session_get_expiration_date(i, o.text(n)) })
        ),
        f!(
            sessmgr_session_get_lifetime_end,
            true,
            Text::None,
            c"",
            |i, _t, n| with_outs(|o| unsafe { sessmgr_session_get_lifetime_end(i, o.text(n)) })
        ),
        f!(
            sessmgr_session_set_lifetime_end,
            true,
            Text::Plain,
            c"2030-01-01T00:00:00.000Z",
            |i, t, _n| unsafe { sessmgr_session_set_lifetime_end(i, t) }
        ),
        f!(
            sessmgr_session_set_privileges,
            true,
            Text::Json,
            c"[\"WebAdmin\"]",
            |i, t, n| { with_outs(|o| unsafe { sessmgr_session_set_privileges(i, t, o.text(n)) }) }
        ),
        f!(
            sessmgr_session_clear_privileges,
            true,
            Text::None,
            c"",
            |i, _t, _n| unsafe { sessmgr_session_clear_privileges(i) }
        ),
        f!(
            sessmgr_session_has_privilege,
            true,
            Text::Plain,
            c"WebAdmin",
            |i, t, n| with_outs(|o| unsafe { sessmgr_session_has_privilege(i, t, o.flag(n)) })
        ),
        f!(
            sessmgr_session_has_permission,
            true,
            Text::Plain,
            c"City.name",
            |i, t, n| with_outs(|o| unsafe {
                sessmgr_session_has_permission(i, t, c"read".as_ptr(), o.flag(n))
            })
        ),
        f!(
            sessmgr_permissions_explain,
            true,
            Text::Plain,
            c"City.name",
            |i, t, n| with_outs(|o| unsafe {
                sessmgr_permissions_explain(i, t, c"read".as_ptr(), o.text(n))
            })
        ),
        f!(
            sessmgr_session_request,
            true,
            Text::Plain,
            c"/n",
            |i, t, n| with_outs(|o| unsafe {
                sessmgr_session_request(i, c"WebAdmin".as_ptr(), t, o.flag(n), o.text(n))
            })
        ),
        f!(
            sessmgr_session_get_privileges,
            true,
            Text::None,
            c"",
            |i, _t, n| with_outs(|o| unsafe { sessmgr_session_get_privileges(i, o.text(n)) })
        ),
        f!(
            sessmgr_session_is_guest,
            true,
            Text::None,
            c"",
            |i, _t, n| { with_outs(|o| unsafe { sessmgr_session_is_guest(i, o.flag(n)) }) }
        ),
        f!(
            sessmgr_session_attach_file,
            true,
            Text::Json,
            c"{\"filename\":\"Inventory\"}",
            |i, t, _n| unsafe { sessmgr_session_attach_file(i, t) }
        ),
        f!(
            sessmgr_session_detach_file,
            true,
            Text::Plain,
            c"Inventory",
            |i, t, _n| unsafe { sessmgr_session_detach_file(i, t) }
        ),
        f!(
            sessmgr_session_get_client_id,
            true,
            Text::None,
            c"",
            |i, _t, n| with_outs(|o| unsafe {
                sessmgr_session_get_client_id(i, if n { ptr::null_mut() } else { &mut o.count })
            })
        ),
        f!(
            sessmgr_client_send_message,
            true,
            Text::Plain,
            c"The server restarts at noon.",
            |i, t, _n| unsafe { sessmgr_client_send_message(client_of(i), t) }
        ),
        f!(
            sessmgr_session_take_messages,
            true,
            Text::None,
            c"",
            |i, _t, n| with_outs(|o| unsafe { sessmgr_session_take_messages(i, o.text(n)) })
        ),
        f!(
            sessmgr_client_disconnect,
            true,
            Text::Plain,
            c"Please save your work.",
            |i, t, _n| unsafe { sessmgr_client_disconnect(client_of(i), t, 60) }
        ),
        f!(
            sessmgr_session_create_otp,
            true,
            Text::None,
            c"",
            |i, _t, n| with_outs(|o| unsafe { sessmgr_session_create_otp(i, 60, o.text(n)) })
        ),
        f!(
            sessmgr_session_restore,
            true,
            Text::None,
            c"",
            |i, _t, n| with_outs(|o| unsafe { sessmgr_session_restore(token_of(i), o.text(n)) })
        ),
        f!(
            sessmgr_user_sessions,
            false,
            Text::Plain,
            c"ann",
            |_i, t, n| with_outs(|o| unsafe { sessmgr_user_sessions(t, o.text(n)) })
        ),
        f!(
            sessmgr_user_close_sessions,
            false,
            Text::Plain,
            c"ann",
            |_i, t, n| with_outs(|o| unsafe {
                sessmgr_user_close_sessions(t, if n { ptr::null_mut() } else { &mut o.count })
            })
        ),
        f!(sessmgr_clients_list, false, Text::None, c"", |_i, _t, n| {
            with_outs(|o| unsafe { sessmgr_clients_list(o.text(n)) })
        }),
        f!(
            sessmgr_clients_query,
            false,
            Text::Json,
            c"{\"limit\": 5}",
            |_i, t, n| with_outs(|o| unsafe { sessmgr_clients_query(t, o.text(n)) })
        ),
        f!(
            sessmgr_sessions_query,
            false,
            Text::Json,
            c"{\"type\": \"web\"}",
            |_i, t, n| with_outs(|o| unsafe { sessmgr_sessions_query(t, o.text(n)) })
        ),
        f!(
            sessmgr_set_event_handler,
            false,
            Text::None,
            c"",
            |_i, _t, _n| sessmgr_set_event_handler(None, ptr::null_mut())
        ),
        f!(
            sessmgr_stats,
            false,
            Text::None,
            c"",
            |_i, _t, n| with_outs(|o| unsafe { sessmgr_stats(o.text(n)) })
        ),
        f!(sessmgr_storage_get, true, Text::Plain, c"/k", |i, t, n| {
            with_outs(|o| unsafe { sessmgr_storage_get(i, t, o.text(n)) })
        }),
        f!(
            sessmgr_storage_set,
            true,
            Text::Json,
            c"[1,2]",
            |i, t, _n| unsafe {
                // The text class goes to the value; the pointer is valid (or NULL with the rest).
                sessmgr_storage_set(i, if t.is_null() { t } else { c"/k".as_ptr() }, t)
            }
        ),
        f!(
            sessmgr_storage_compare_and_set,
            true,
            Text::Json,
            c"[1,2]",
            |i, t, _n| unsafe {
                // The text class goes to the new value (nothing expected there); the pointer
                // is valid (or NULL with the rest).
                sessmgr_storage_compare_and_set(
                    i,
                    if t.is_null() { t } else { c"/k".as_ptr() },
                    ptr::null(),
                    t,
                )
            }
        ),
        f!(
            sessmgr_storage_increment,
            true,
            Text::Plain,
            c"/k",
            |i, t, _n| unsafe { sessmgr_storage_increment(i, t, 1, ptr::null_mut()) }
        ),
        f!(
            sessmgr_storage_remove,
            true,
            Text::Plain,
            c"/k",
            |i, t, _n| unsafe { sessmgr_storage_remove(i, t) }
        ),
        f!(
            sessmgr_storage_merge,
            true,
            Text::Json,
            c"{\"m\":1}",
            |i, t, _n| unsafe { sessmgr_storage_merge(i, t) }
        ),
        f!(
            sessmgr_storage_update,
            true,
            Text::None,
            c"",
            |i, _t, n| unsafe {
                sessmgr_storage_update(
                    i,
                    if n {
                        None
                    } else {
                        Some(common::commit_nothing)
                    },
                    ptr::null_mut(),
                )
            }
        ),
        f!(
            sessmgr_update_set,
            false,
            Text::Json,
            c"{\"u\":1}",
            |_i, t, n| {
                if n {
                    return unsafe { sessmgr_update_set(ptr::null_mut(), ptr::null()) };
                }
                // Called from inside an update of the fixture's web session.
                let mut data: (*const c_char, sessmgr_status) = (t, -1);
                let web = CString::new(std::env::var("SESSMGR_TABLE_WEB").unwrap()).unwrap();
                unsafe {
                    sessmgr_storage_update(
                        web.as_ptr(),
                        Some(set_given),
                        (&mut data as *mut (*const c_char, sessmgr_status)).cast(),
                    )
                };
                data.1
            }
        ),
    ]
}

/// The IDs each class needs, made fresh before each call.
struct Fixture {
    web: CString,
    standalone: CString,
    expired: CString,
}

fn create(options: &CStr) -> CString {
    let mut id = ptr::null_mut();
    assert_eq!(
        unsafe { sessmgr_session_create(options.as_ptr(), &mut id) },
        SESSMGR_OK
    );
    let owned = unsafe { CStr::from_ptr(id) }.to_owned();
    unsafe { sessmgr_string_free(id) };
    owned
}

fn client_number(id: &CStr) -> u64 {
    let mut client = 0;
    assert_eq!(
        unsafe { sessmgr_session_get_client_id(id.as_ptr(), &mut client) },
        SESSMGR_OK
    );
    client
}

fn fixture() -> Fixture {
    assert_eq!(sessmgr_reset(), SESSMGR_OK);
    assert_eq!(
        unsafe { sessmgr_configure(c"{\"clock\":\"manual\",\"maxJsonDepth\":64}".as_ptr()) },
        SESSMGR_OK
    );
    let expired = create(c"{\"type\":\"web\"}");
    let mut clients = vec![(expired.clone(), client_number(&expired))];
    assert_eq!(sessmgr_clock_advance(2 * 3600), SESSMGR_OK);
    let web = create(c"{\"type\":\"web\"}");
    let standalone = create(c"{\"type\":\"standalone\"}");
    clients.push((web.clone(), client_number(&web)));
    clients.push((standalone.clone(), client_number(&standalone)));
    *CLIENTS.lock().unwrap() = clients;
    unsafe {
        assert_eq!(
            sessmgr_storage_set(web.as_ptr(), c"/k".as_ptr(), c"1".as_ptr()),
            SESSMGR_OK
        );
        assert_eq!(
            sessmgr_storage_set(standalone.as_ptr(), c"/k".as_ptr(), c"1".as_ptr()),
            SESSMGR_OK
        );
        assert_eq!(
            sessmgr_session_attach_file(web.as_ptr(), c"{\"filename\":\"Inventory\"}".as_ptr()),
            SESSMGR_OK
        );
    }
    // SAFETY (of the environment): this test binary runs this one test.
    unsafe { std::env::set_var("SESSMGR_TABLE_WEB", web.to_str().unwrap()) };
    Fixture {
        web,
        standalone,
        expired,
    }
}

fn status_name(status: sessmgr_status) -> &'static str {
    match status {
        SESSMGR_OK => "OK",
        SESSMGR_NULL_ARGUMENT => "NULL_ARGUMENT",
        SESSMGR_INVALID_ARGUMENT => "INVALID_ARGUMENT",
        SESSMGR_INVALID_JSON => "INVALID_JSON",
        SESSMGR_NOT_FOUND => "NOT_FOUND",
        SESSMGR_NO_VALUE => "NO_VALUE",
        SESSMGR_NOT_SUPPORTED => "NOT_SUPPORTED",
        SESSMGR_LIMIT_EXCEEDED => "LIMIT_EXCEEDED",
        SESSMGR_REENTRANT => "REENTRANT",
        SESSMGR_ABORTED => "ABORTED",
        SESSMGR_INTERNAL => "INTERNAL",
        SESSMGR_BAD_STATE => "BAD_STATE",
        SESSMGR_UNAVAILABLE => "UNAVAILABLE",
        SESSMGR_CONFLICT => "CONFLICT",
        other => panic!("unknown status {other}"),
    }
}

/// The status of `f` for one class, or `None` when the class does not apply to it.
fn probe(f: &Function, class: &str) -> Option<sessmgr_status> {
    let fx = fixture();
    let valid = f.valid.as_ptr();
    let web = fx.web.as_ptr();
    let id = |i: *const c_char| if f.id { i } else { ptr::null() };
    let takes_text = f.text != Text::None;
    let json = f.text == Text::Json;
    let bad_utf8 = c"\xff\xfe{}";
    let malformed = c"{\"a\":";
    let deep = CString::new(format!("{{\"a\":{}1{}}}", "[".repeat(100), "]".repeat(100))).unwrap();
    let oversized = CString::new(format!("\"{}\"", "a".repeat(2 << 20))).unwrap();
    let unknown = c"3C81A8D7AFE64C2E9CCFFCDC35DC52F5";
    let has_pointer = f.id
        || takes_text
        || [
            "sessmgr_sweep",
            "sessmgr_session_count",
            "sessmgr_sessions_list",
            "sessmgr_clients_list",
            "sessmgr_stats",
            "sessmgr_set_event_handler",
            "sessmgr_string_free",
        ]
        .contains(&f.name);
    let status = match class {
        "NULL" if has_pointer => (f.call)(ptr::null(), ptr::null(), true),
        // Invalid UTF-8 goes to the text argument, or else to the ID.
        "invalid UTF-8" if takes_text => (f.call)(id(web), bad_utf8.as_ptr(), false),
        "invalid UTF-8" if f.id => (f.call)(bad_utf8.as_ptr(), valid, false),
        "malformed JSON" if json => (f.call)(id(web), malformed.as_ptr(), false),
        "deeply nested JSON" if json => (f.call)(id(web), deep.as_ptr(), false),
        "oversized input" if takes_text => (f.call)(id(web), oversized.as_ptr(), false),
        "oversized input" if f.id => (f.call)(oversized.as_ptr(), valid, false),
        "unknown ID" if f.id => (f.call)(unknown.as_ptr(), valid, false),
        "expired ID" if f.id => (f.call)(fx.expired.as_ptr(), valid, false),
        "wrong session type" if f.id => (f.call)(fx.standalone.as_ptr(), valid, false),
        _ => return None,
    };
    Some(status)
}

fn table() -> String {
    let mut out = String::from(
        "# Bad input: what each function returns\n\n\
         Generated by `tests/bad_input_table.rs`, which calls every exported function with each \
         class of bad input and records the status (`SESSMGR_` left off); `cargo test` fails \
         when this file and the library disagree. — means the class does not apply (the \
         function takes no such argument). On every failure the call writes no output and \
         changes nothing (`tests/ffi_bad_input.rs`).\n\n\
         The inputs: NULL for every pointer argument at once; `\\xff\\xfe{}` as the text \
         argument (or as the ID when the function takes no other text); `{\"a\":`; an object \
         nesting 101 levels (`maxJsonDepth` is 64); a 2 MiB JSON string (or ID); a well-formed \
         ID no session has; the ID of a web session past its idle timeout; a standalone \
         session (the type with the fewest features). The other arguments are valid. \
         `has_privilege` answers an oversized name (false: a roles file declares no name over \
         1,024 bytes) rather than refusing it, since it stores nothing, and so do \
         `user_sessions` and `user_close_sessions` an oversized user name (no session has \
         one); OK under \
         \"wrong session type\" means the function works for every type. The functions that \
         take a client number (`sessmgr_client_…`) get the client number of the session each \
         ID class names: 0 for NULL, and a number no client has for an unknown ID. \
         `sessmgr_session_restore` gets a passcode of the session each ID class names when it \
         has one (the web session), and the ID itself otherwise (no passcode has it).\n\n",
    );
    out += "| function |";
    for class in CLASSES {
        out += &format!(" {class} |");
    }
    out += "\n|---|";
    out += &"---|".repeat(CLASSES.len());
    out += "\n";
    for f in functions() {
        out += &format!("| `{}` |", f.name);
        for class in CLASSES {
            match probe(&f, class) {
                Some(status) => out += &format!(" {} |", status_name(status)),
                None => out += " — |",
            }
        }
        out += "\n";
    }
    out
}

#[test]
fn the_bad_input_table_is_current() {
    let functions: std::collections::BTreeSet<String> =
        functions().iter().map(|f| f.name.to_owned()).collect();
    assert_eq!(
        functions,
        common::header_functions(),
        "every exported function has a row"
    );
    let generated = table();
    assert!(
        !generated.contains("INTERNAL"),
        "a probe hit a panic:\n{generated}"
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/bad-input.md");
    if std::env::var_os("SESSMGR_BLESS_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/bad-input.md is not what the library does now; rerun with SESSMGR_BLESS_DOCS=1 \
         and review the diff:\n{generated}"
    );
}
