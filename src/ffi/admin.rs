//! What administrators see: the clients list, the files each client has open, events, and
//! statistics. (The access log is switched on with `sessmgr_configure`'s `accessLog` key.)

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use super::boundary::{call, optional_text, out, session_id, text};
use super::registry;
use super::status::sessmgr_status;
use super::strings::owned_string;

/// `*json` receives FileMaker's Admin API *List Clients* object:
/// `{"response": {"clients": [{"id", "status", "userName", "computerName", "ipaddress",
/// "macaddress", "extpriv", "appType", "appVersion", "appLanguage", "operatingSystem",
/// "connectTime", "connectDuration", "guestFiles": [{"id", "filename", "accountName",
/// "privsetName"}]}, …]}, "messages": [{"code": "0"}]}`, where `userName` is the effective
/// session identifier. Standalone sessions are not clients and are not listed. Free it with
/// `sessmgr_string_free`.
///
/// # Safety
/// `json` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_clients_list(json: *mut *mut c_char) -> sessmgr_status {
    call("sessmgr_clients_list", || {
        // SAFETY: as this function's contract.
        let json = unsafe { out(json, "json") }?;
        *json = owned_string(registry().clients_list()?)?;
        Ok(())
    })
}

/// Records that the client opened a file (a hosted app): `file_json` is
/// `{"filename": text, "accountName": text, "privsetName": text}` (`filename` required;
/// `accountName` defaults to the session's user name). It shows in `guestFiles`; the access log
/// writes code 94. A file of that name already attached: `SESSMGR_BAD_STATE`. Standalone
/// sessions: `SESSMGR_NOT_SUPPORTED`.
///
/// # Safety
/// `id` and `file_json` are NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_attach_file(
    id: *const c_char,
    file_json: *const c_char,
) -> sessmgr_status {
    call("sessmgr_session_attach_file", || {
        // SAFETY: as this function's contract.
        let (id, file) = unsafe { (session_id(id)?, text(file_json, "file_json")?) };
        registry().attach_file(id, file)
    })
}

/// Records that the client closed the file `filename` (access log code 98).
/// `SESSMGR_NO_VALUE` if no file of that name is attached.
///
/// # Safety
/// `id` and `filename` are NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_detach_file(
    id: *const c_char,
    filename: *const c_char,
) -> sessmgr_status {
    call("sessmgr_session_detach_file", || {
        // SAFETY: as this function's contract.
        let (id, filename) = unsafe { (session_id(id)?, text(filename, "filename")?) };
        registry().detach_file(id, filename)
    })
}

/// An event handler: `event_json` is one event (valid during the call only), e.g.
/// `{"event":"identifierChanged","ID":"…","clientId":7,"identifier":"S1234567","time":"…","old":"Guest","new":"S1234567"}`
/// (`"ID": ""` on the Redis store for a session reached by its client number or user name).
/// Handlers run one at a time, on a thread that called the library (not always the one whose
/// call caused the event; the background sweeper's thread for the sessions it removes), with no
/// registry lock held; a handler may call any `sessmgr_` function. No `sessmgr_` call waits for
/// a handler running on another thread. It must not unwind (C++ exceptions) into the library.
pub type sessmgr_event_fn =
    Option<unsafe extern "C" fn(event_json: *const c_char, user_data: *mut c_void)>;

/// The host's handler and its data, as the library keeps them.
struct HostHandler {
    handler: unsafe extern "C" fn(*const c_char, *mut c_void),
    user_data: *mut c_void,
}

impl HostHandler {
    fn deliver(&self, json: &str) {
        if let Ok(json) = CString::new(json) {
            // SAFETY: the host's handler, called as its type says, with its own user_data.
            unsafe { (self.handler)(json.as_ptr(), self.user_data) }
        }
    }
}

// SAFETY: the host promises, by installing the handler, that it may be called from any thread
// with this user_data (the header says so); the library never touches what user_data points to.
unsafe impl Send for HostHandler {}
// SAFETY: as above.
unsafe impl Sync for HostHandler {}

/// Installs the event handler, replacing any other; NULL removes it. Each event (`created`,
/// `closed`, `expired`, `identifierChanged`, `privilegesChanged`, `stateChanged`,
/// `fileAttached`, `fileDetached`) is delivered exactly once, in order for any one session.
/// `user_data` is passed back to each call. Once this returns, the handler replaced gets no
/// further event, but a call of it already under way on another thread may still be finishing
/// (this does not wait for it): free what its `user_data` points to only once that call has
/// returned.
#[unsafe(no_mangle)]
pub extern "C" fn sessmgr_set_event_handler(
    handler: sessmgr_event_fn,
    user_data: *mut c_void,
) -> sessmgr_status {
    call("sessmgr_set_event_handler", || {
        let handler = handler.map(|handler| {
            let host = HostHandler { handler, user_data };
            Arc::new(move |json: &str| host.deliver(json)) as crate::EventHandler
        });
        registry().set_event_handler(handler);
        Ok(())
    })
}

/// `*json` receives `{"live": {"web", "rest", "remote", "storedProcedure", "standalone",
/// "total"}, "created", "closed", "expired", "identifierChanges", "accessLogWriteFailures",
/// "eventsDelivered", "accessLogError"}`: live sessions by type and counters since the start
/// (or the last `sessmgr_reset`). `accessLogError` is the last access-log failure's message, or
/// null. Free it with `sessmgr_string_free`.
///
/// # Safety
/// `json` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_stats(json: *mut *mut c_char) -> sessmgr_status {
    call("sessmgr_stats", || {
        // SAFETY: as this function's contract.
        let json = unsafe { out(json, "json") }?;
        *json = owned_string(registry().stats()?)?;
        Ok(())
    })
}

/// A page of `sessmgr_clients_list`, for an admin page: `query_json` is NULL (the first 100) or
/// `{"type", "userName", "search", "ipaddress", "offset", "limit"}`, every key optional: `type`
/// a session type; `userName` exact bytes; `search` a case-insensitive substring of the
/// identifier administrators see or of the user name; `ipaddress` a prefix of the address
/// (`"192.0.2."` for a subnet); `offset` (0) and `limit` (100, at most 10,000). `*json`
/// receives `{"response": {"clients": [...], "total", "offset", "limit"}, "messages": [...]}`,
/// oldest first, `total` being how many matched. Its cost: every live session is scanned (its
/// lock taken, a few fields compared), and rows are written for the page only. An unknown key
/// or a value out of range is `SESSMGR_INVALID_ARGUMENT`. Free it with `sessmgr_string_free`.
///
/// # Safety
/// `query_json` is NULL or a NUL-terminated string; `json` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_clients_query(
    query_json: *const c_char,
    json: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_clients_query", || {
        // SAFETY: as this function's contract.
        let (query, json) =
            unsafe { (optional_text(query_json, "query_json")?, out(json, "json")?) };
        *json = owned_string(registry().clients_query(query)?)?;
        Ok(())
    })
}

/// A page of `sessmgr_sessions_list` for people to see, as `sessmgr_clients_query` pages the
/// clients list: `*json` receives `{"sessions": [info, …], "total", "offset", "limit"}`, each
/// info object with the client number, `"clientId": 17`, in place of the session ID (a bearer
/// token, never shown to people). Free it with `sessmgr_string_free`.
///
/// # Safety
/// `query_json` is NULL or a NUL-terminated string; `json` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_sessions_query(
    query_json: *const c_char,
    json: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_sessions_query", || {
        // SAFETY: as this function's contract.
        let (query, json) =
            unsafe { (optional_text(query_json, "query_json")?, out(json, "json")?) };
        *json = owned_string(registry().sessions_query(query)?)?;
        Ok(())
    })
}
