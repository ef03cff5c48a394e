//! Privileges and roles (4D's `roles.json`): set, clear, check, list; guests; user names.

use std::ffi::c_char;

use super::boundary::{call, optional_out, out, session_id, text, text_bytes};
use super::registry;
use super::status::sessmgr_status;
use super::strings::owned_string;

/// Replaces a web or rest session's privileges. `privileges` is comma-separated names
/// ("WebAdmin, simple") or JSON: a string, an array of strings, or an object
/// `{"privileges": text|array, "roles": text|array, "userName": text}`. Names are
/// case-insensitive; names that the roles file does not declare are ignored, and `*ignored_json`
/// (if `ignored_json` is not NULL) receives them as a JSON array, to be freed with
/// `sessmgr_string_free`. Other session types: `SESSMGR_NOT_SUPPORTED` (4D returns False).
///
/// # Safety
/// `id` and `privileges` are NULL or NUL-terminated strings; `ignored_json` is NULL or valid for
/// writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_set_privileges(
    id: *const c_char,
    privileges: *const c_char,
    ignored_json: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_session_set_privileges", || {
        // SAFETY: as this function's contract.
        let (id, privileges) = unsafe { (session_id(id)?, text(privileges, "privileges")?) };
        let ignored = registry().set_privileges(id, privileges)?;
        // SAFETY: as this function's contract.
        if let Some(out) = unsafe { optional_out(ignored_json) } {
            *out = owned_string(crate::json_text::string_array(
                ignored.iter().map(String::as_str),
            ))?;
        }
        Ok(())
    })
}

/// Removes every privilege of a web or rest session: it becomes a guest. Other types:
/// `SESSMGR_NOT_SUPPORTED`.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_clear_privileges(id: *const c_char) -> sessmgr_status {
    call("sessmgr_session_clear_privileges", || {
        // SAFETY: as this function's contract.
        registry().clear_privileges(unsafe { session_id(id) }?)
    })
}

/// `*result` receives whether the session holds `privilege` (case-insensitive): for web and
/// rest, whether it is among the privileges granted, those of the roles granted, and everything
/// they include; for the other types, always true (as 4D).
///
/// # Safety
/// `id` and `privilege` are NULL or NUL-terminated strings; `result` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_has_privilege(
    id: *const c_char,
    privilege: *const c_char,
    result: *mut bool,
) -> sessmgr_status {
    call("sessmgr_session_has_privilege", || {
        // SAFETY: as this function's contract.
        let (id, privilege, result) = unsafe {
            (
                session_id(id)?,
                text_bytes(privilege, "privilege")?,
                out(result, "result")?,
            )
        };
        *result = registry().has_privilege_bytes(id, privilege)?;
        Ok(())
    })
}

/// `*allowed` receives whether the session may do `action` on `resource` under the roles file's
/// `permissions` (4D's rules, see docs/permissions.md): `resource` as 4D writes `applyTo` (`ds`,
/// `Dataclass`, `Dataclass.attribute`, `Dataclass.function`, `ds.function`, `Singleton`,
/// `Singleton.function`); `action` one of `create`, `read`, `update`, `drop`, `execute`,
/// `describe`, `promote` (case-sensitive). Web and rest sessions are checked; the other types
/// are allowed everything (as their `has_privilege` is). Not an activity.
///
/// # Safety
/// `id`, `resource` and `action` are NULL or NUL-terminated strings; `allowed` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_has_permission(
    id: *const c_char,
    resource: *const c_char,
    action: *const c_char,
    allowed: *mut bool,
) -> sessmgr_status {
    call("sessmgr_session_has_permission", || {
        // SAFETY: as this function's contract.
        let (id, resource, action, allowed) = unsafe {
            (
                session_id(id)?,
                text_bytes(resource, "resource")?,
                text_bytes(action, "action")?,
                out(allowed, "allowed")?,
            )
        };
        *allowed = registry().has_permission(id, resource, action)?;
        Ok(())
    })
}

/// `*json` receives why `sessmgr_session_has_permission` answers as it does for these
/// arguments: `{"allowed", "resource", "type", "action", "restrictedByDefault", "reason",
/// "checks", "sessionType"}`, where `checks` lists, for the action and those that imply it, the
/// lists of privileges required (`applyTo`, `type`, `entry` in the roles file, `level`) and, for
/// each privilege, whether the session holds it and `through` which grant, role or include.
/// Free it with `sessmgr_string_free`.
///
/// # Safety
/// `id`, `resource` and `action` are NULL or NUL-terminated strings; `json` is NULL or valid
/// for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_permissions_explain(
    id: *const c_char,
    resource: *const c_char,
    action: *const c_char,
    json: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_permissions_explain", || {
        // SAFETY: as this function's contract.
        let (id, resource, action, json) = unsafe {
            (
                session_id(id)?,
                text_bytes(resource, "resource")?,
                text_bytes(action, "action")?,
                out(json, "json")?,
            )
        };
        *json = owned_string(registry().explain_permission(id, resource, action)?)?;
        Ok(())
    })
}

/// `*json` receives the session's privileges, expanded, as a JSON array in the roles file's
/// order; `["WebAdmin"]` for remote, storedProcedure and standalone sessions (as 4D). Free it
/// with `sessmgr_string_free`.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string; `json` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_get_privileges(
    id: *const c_char,
    json: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_session_get_privileges", || {
        // SAFETY: as this function's contract.
        let (id, json) = unsafe { (session_id(id)?, out(json, "json")?) };
        *json = owned_string(registry().privileges(id)?)?;
        Ok(())
    })
}

/// `*result` receives whether a web or rest session holds no privilege; always false for the
/// other types (as 4D).
///
/// # Safety
/// `id` is NULL or a NUL-terminated string; `result` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_session_is_guest(
    id: *const c_char,
    result: *mut bool,
) -> sessmgr_status {
    call("sessmgr_session_is_guest", || {
        // SAFETY: as this function's contract.
        let (id, result) = unsafe { (session_id(id)?, out(result, "result")?) };
        *result = registry().is_guest(id)?;
        Ok(())
    })
}
