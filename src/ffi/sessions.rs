//! Sessions: create, close, touch, info, state, identifier, user name, idle timeout.
//!
//! Every `id` parameter is a session ID as `sessmgr_session_create` gives it (32 uppercase hex
//! digits), or the same in lower case or the dashed UUID form (the header's ID convention). A
//! malformed one is `SESSMGR_INVALID_ARGUMENT`; one that is not live (never created, closed,
//! expired) is `SESSMGR_NOT_FOUND`.

use std::ffi::c_char;

use super::boundary::{call, optional_text, out, session_id, text, text_bytes};
use super::registry;
use super::status::sessmgr_status;
use super::strings::{copy_out, owned_string};

/// Creates a session. `options_json` is NULL (a web guest) or a JSON object with any of
/// `type` ("web", "rest", "remote", "storedProcedure", "standalone"), `userName` (not for web
/// and rest: `sessmgr_session_set_privileges` sets it), `machineName`, `systemUserName`,
/// `IPAddress`, `hostType` ("windows", "mac", "browser"), `persistentID`, `idleTimeout` and
/// `maxLifetime` (minutes, web and rest only; a `maxLifetime` of 0 gives this session no
/// absolute end, whatever the setting). `*id` receives the new session's ID in its canonical form, 32
/// uppercase hex digits (the only form the library hands out; calls also accept lower case and
/// the dashed UUID form, see the ID convention at the top); free it with `sessmgr_string_free`.
/// Creating a storedProcedure or standalone session when one exists gives the existing one's ID.
///
/// # Safety
/// `options_json` is NULL or a NUL-terminated string; `id` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_create(
    options_json: *const c_char,
    id: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_session_create", || {
        // SAFETY: as this function's contract.
        let options = unsafe { optional_text(options_json, "options_json") }?;
        // SAFETY: as this function's contract.
        let id = unsafe { out(id, "id") }?;
        let created = registry().create(options)?;
        *id = owned_string(created.to_string())?;
        Ok(())
    })
}

/// Closes a session: it is gone for every call at once.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_close(id: *const c_char) -> sessmgr_status {
    call("sessmgr_session_close", || {
        // SAFETY: as this function's contract.
        registry().close(unsafe { session_id(id) }?)
    })
}

/// Gives a web or rest session a new random ID (anti-fixation: call it at login), keeping
/// everything else: storage, grant, identifier, user name, creation time, idle timeout and
/// absolute end, attached files, messages, client number. `privileges` (NULL: keep the grant)
/// is applied as `sessmgr_session_set_privileges` would, in the same step, so the old ID never
/// holds the new grant; names not declared are ignored. The old ID is dead when this returns,
/// unless `rotationGraceSeconds` is set: then it reaches the same session for that long (for
/// requests already in flight), and never after. `*new_id` receives the new ID; free it with
/// `sessmgr_string_free`. Other types: `SESSMGR_NOT_SUPPORTED`. An `idRotated` event (with
/// `previousID`) and an access-log line (code 9005, which holds neither ID) tell of it.
///
/// # Safety
/// `id` and `privileges` are NULL or NUL-terminated strings; `new_id` is NULL or valid for
/// writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_rotate_id(
    id: *const c_char,
    privileges: *const c_char,
    new_id: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_session_rotate_id", || {
        // SAFETY: as this function's contract.
        let (id, privileges, new_id) = unsafe {
            (
                session_id(id)?,
                optional_text(privileges, "privileges")?,
                out(new_id, "new_id")?,
            )
        };
        let (rotated, _ignored) = registry().rotate_id(id, privileges)?;
        *new_id = owned_string(rotated.to_string())?;
        Ok(())
    })
}

/// Records activity on a session (a host calls it once per request): a web or rest session's
/// idle timeout starts again.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_touch(id: *const c_char) -> sessmgr_status {
    call("sessmgr_session_touch", || {
        // SAFETY: as this function's contract.
        registry().touch(unsafe { session_id(id) }?)
    })
}

/// A request's session work in one call, the ID parsed and the session found once: records
/// activity (as `sessmgr_session_touch`); if `privilege` is not NULL, `*granted` receives
/// whether the session holds it (as `sessmgr_session_has_privilege`); if `pointer` is not NULL,
/// `*json` receives the storage value there (as `sessmgr_storage_get`; free it with
/// `sessmgr_string_free`), or NULL when nothing is stored there (not an error: a first request
/// often finds nothing yet). `granted` must not be NULL when `privilege` is given, nor `json`
/// when `pointer` is. A bad argument changes nothing, the activity included.
///
/// # Safety
/// `id`, `privilege` and `pointer` are NULL or NUL-terminated strings; `granted` and `json` are
/// NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_request(
    id: *const c_char,
    privilege: *const c_char,
    pointer: *const c_char,
    granted: *mut bool,
    json: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_session_request", || {
        // SAFETY: as this function's contract.
        let id = unsafe { session_id(id) }?;
        let privilege = if privilege.is_null() {
            None
        } else {
            // SAFETY: as this function's contract.
            Some(unsafe {
                (
                    text_bytes(privilege, "privilege")?,
                    out(granted, "granted")?,
                )
            })
        };
        let pointer = if pointer.is_null() {
            None
        } else {
            // SAFETY: as this function's contract.
            Some(unsafe { (text(pointer, "pointer")?, out(json, "json")?) })
        };
        let answer = registry().request_with(
            id,
            privilege.as_ref().map(|p| p.0),
            pointer.as_ref().map(|p| p.0),
            copy_out,
        )?;
        if let (Some((_, granted)), Some(held)) = (privilege, answer.granted) {
            *granted = held;
        }
        if let Some((_, json)) = pointer {
            *json = match answer.value {
                Some(value) => value?.into_raw(),
                None => std::ptr::null_mut(),
            };
        }
        Ok(())
    })
}

/// `*json` receives 4D's `Session info` object: `type`, `userName`, `machineName`,
/// `systemUserName`, `IPAddress`, `hostType`, `creationDateTime`, `state`, `ID`,
/// `persistentID`, in that order. Free it with `sessmgr_string_free`. Reading does not count as
/// activity.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string; `json` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_info(
    id: *const c_char,
    json: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_session_info", || {
        // SAFETY: as this function's contract.
        let (id, json) = unsafe { (session_id(id)?, out(json, "json")?) };
        *json = owned_string(registry().info(id)?)?;
        Ok(())
    })
}

/// Sets a session's state: "active", "postponed" or "sleeping".
///
/// # Safety
/// `id` and `state` are NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_set_state(
    id: *const c_char,
    state: *const c_char,
) -> sessmgr_status {
    call("sessmgr_session_set_state", || {
        // SAFETY: as this function's contract.
        let (id, state) = unsafe { (session_id(id)?, text(state, "state")?) };
        registry().set_state(id, state)
    })
}

/// FileMaker's Set Session Identifier: the identifier administrators see for this client. ""
/// goes back to the default, the user name. Never changes the user name or privileges. A
/// standalone session gives `SESSMGR_NOT_SUPPORTED`; more than `maxIdentifierBytes` bytes gives
/// `SESSMGR_LIMIT_EXCEEDED`; either way nothing changes.
///
/// # Safety
/// `id` and `identifier` are NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_set_identifier(
    id: *const c_char,
    identifier: *const c_char,
) -> sessmgr_status {
    call("sessmgr_session_set_identifier", || {
        // SAFETY: as this function's contract.
        let (id, identifier) = unsafe { (session_id(id)?, text(identifier, "identifier")?) };
        registry().set_identifier(id, identifier)
    })
}

/// `*identifier` receives the identifier as set, "" until `sessmgr_session_set_identifier` has
/// run (like FileMaker's `Get(SessionIdentifier)`). Free it with `sessmgr_string_free`.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string; `identifier` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_get_identifier(
    id: *const c_char,
    identifier: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_session_get_identifier", || {
        // SAFETY: as this function's contract.
        let (id, identifier) = unsafe { (session_id(id)?, out(identifier, "identifier")?) };
        *identifier = owned_string(registry().identifier(id)?)?;
        Ok(())
    })
}

/// `*user_name` receives the session's user name: for web and rest, "" until a
/// `sessmgr_session_set_privileges` object carries `userName`; for the others, as created.
/// Free it with `sessmgr_string_free`.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string; `user_name` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_get_user_name(
    id: *const c_char,
    user_name: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_session_get_user_name", || {
        // SAFETY: as this function's contract.
        let (id, user_name) = unsafe { (session_id(id)?, out(user_name, "user_name")?) };
        *user_name = owned_string(registry().user_name(id)?)?;
        Ok(())
    })
}

/// Sets a web or rest session's idle timeout in minutes (0 or more); a value under
/// `minIdleTimeout` is raised to it, and the expiration date moves. Other types:
/// `SESSMGR_NOT_SUPPORTED`.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_set_idle_timeout(
    id: *const c_char,
    minutes: i32,
) -> sessmgr_status {
    call("sessmgr_session_set_idle_timeout", || {
        // SAFETY: as this function's contract.
        registry().set_idle_timeout(unsafe { session_id(id) }?, minutes)
    })
}

/// `*minutes` receives a web or rest session's idle timeout. Other types: `SESSMGR_NOT_SUPPORTED`.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string; `minutes` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_get_idle_timeout(
    id: *const c_char,
    minutes: *mut i32,
) -> sessmgr_status {
    call("sessmgr_session_get_idle_timeout", || {
        // SAFETY: as this function's contract.
        let (id, minutes) = unsafe { (session_id(id)?, out(minutes, "minutes")?) };
        *minutes = registry().idle_timeout(id)?;
        Ok(())
    })
}

/// `*date` receives when a web or rest session expires if left idle: the earlier of last
/// activity + idle timeout and its absolute end (`maxLifetime`, or
/// `sessmgr_session_set_lifetime_end`), as `YYYY-MM-DDTHH:MM:SS.mmmZ`. Free it with
/// `sessmgr_string_free`. Other types: `SESSMGR_NOT_SUPPORTED`.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string; `date` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_get_expiration_date(
    id: *const c_char,
    date: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_session_get_expiration_date", || {
        // SAFETY: as this function's contract.
        let (id, date) = unsafe { (session_id(id)?, out(date, "date")?) };
        *date = owned_string(registry().expiration_date(id)?)?;
        Ok(())
    })
}

/// `*date` receives a web or rest session's absolute end, which activity never moves
/// (`maxLifetime` after its creation, or what `sessmgr_session_set_lifetime_end` set), as
/// `YYYY-MM-DDTHH:MM:SS.mmmZ`; `SESSMGR_NO_VALUE` when it has none. Free it with
/// `sessmgr_string_free`. Other types: `SESSMGR_NOT_SUPPORTED`.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string; `date` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_get_lifetime_end(
    id: *const c_char,
    date: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_session_get_lifetime_end", || {
        // SAFETY: as this function's contract.
        let (id, date) = unsafe { (session_id(id)?, out(date, "date")?) };
        *date = owned_string(registry().lifetime_end(id)?)?;
        Ok(())
    })
}

/// Fixes a web or rest session's absolute end ("remember me until"): `date` is an RFC 3339 date
/// (`2026-12-31T23:59:59.999Z`, or with an offset), kept to the millisecond and read back
/// exactly; NULL clears it (the session then has none, whatever `maxLifetime` gave it). Activity
/// never moves it; ID rotation keeps it. A date already past ends the session at once. A date
/// that is not RFC 3339, is finer than a millisecond or lies outside 1970 … 9999 is
/// `SESSMGR_INVALID_ARGUMENT`. Counts as activity. Other types: `SESSMGR_NOT_SUPPORTED`.
///
/// # Safety
/// `id` and `date` are NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_set_lifetime_end(
    id: *const c_char,
    date: *const c_char,
) -> sessmgr_status {
    call("sessmgr_session_set_lifetime_end", || {
        // SAFETY: as this function's contract.
        let (id, date) = unsafe { (session_id(id)?, optional_text(date, "date")?) };
        registry().set_lifetime_end(id, date)
    })
}
