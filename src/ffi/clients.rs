//! Clients by number: what FileMaker's Admin Console does to a client (send it a message,
//! disconnect it), named by the client number administrators see (`id` in
//! `sessmgr_clients_list`), never by the session ID.

use std::ffi::c_char;

use super::boundary::{call, optional_text, out, session_id, text};
use super::registry;
use super::status::sessmgr_status;
use super::strings::owned_string;

/// `*client_id` receives the session's client number: a positive integer, never reused while
/// the library is loaded, the `id` administrators see in `sessmgr_clients_list` and use to
/// message or disconnect the client. It is not a secret.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string; `client_id` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_get_client_id(
    id: *const c_char,
    client_id: *mut u64,
) -> sessmgr_status {
    call("sessmgr_session_get_client_id", || {
        // SAFETY: as this function's contract.
        let (id, client_id) = unsafe { (session_id(id)?, out(client_id, "client_id")?) };
        *client_id = registry().client_id(id)?;
        Ok(())
    })
}

/// Queues a message (at most 4,096 bytes) for a client, which the host collects with
/// `sessmgr_session_take_messages` to show it to the user (FileMaker's *Send Message*). At
/// most 32 wait per client: more is `SESSMGR_LIMIT_EXCEEDED`. An unknown client number is
/// `SESSMGR_NOT_FOUND`, 0 `SESSMGR_INVALID_ARGUMENT`.
///
/// # Safety
/// `text` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_client_send_message(
    client_id: u64,
    text: *const c_char,
) -> sessmgr_status {
    call("sessmgr_client_send_message", || {
        // SAFETY: as this function's contract.
        let message = unsafe { self::text(text, "text") }?;
        registry().send_message(client_id, message)
    })
}

/// `*json` receives `{"messages": [{"time", "text", "disconnectAt"?}, …]}`: the messages
/// waiting for this session's client, oldest first; each is handed out once (`disconnectAt`,
/// on a disconnection's message, says when the session will be closed). Not activity. Free it
/// with `sessmgr_string_free`.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string; `json` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_take_messages(
    id: *const c_char,
    json: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_session_take_messages", || {
        // SAFETY: as this function's contract.
        let (id, json) = unsafe { (session_id(id)?, out(json, "json")?) };
        *json = owned_string(registry().take_messages(id)?)?;
        Ok(())
    })
}

/// FileMaker's *Disconnect client*: queues `message` (NULL: none) for the client and closes its
/// session when `grace_seconds` (0 … 86,400) have passed; 0 closes it at once. Meanwhile the
/// session works, its `state` is `"disconnecting"` (which `sessmgr_session_set_state` cannot
/// change), and activity does not put the end off. The session ends with a `closed` event of
/// reason `"disconnected"` and an access-log line (code 9006).
///
/// # Safety
/// `message` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_client_disconnect(
    client_id: u64,
    message: *const c_char,
    grace_seconds: u32,
) -> sessmgr_status {
    call("sessmgr_client_disconnect", || {
        // SAFETY: as this function's contract.
        let message = unsafe { optional_text(message, "message") }?;
        registry().disconnect(client_id, message, grace_seconds)
    })
}
