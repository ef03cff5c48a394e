//! A session's storage (4D's `Session.storage`): one JSON object per session, shared by every
//! thread of the host. Pointers are RFC 6901 JSON Pointers ("" is the whole object, "/a/0" the
//! first item of the array under key "a").

use std::ffi::{CString, c_char, c_void};

use serde_json::Value;

use super::boundary::{call, optional_out, optional_text, out, session_id, text};
use super::registry;
use super::status::{SESSMGR_UPDATE_ABORT, SESSMGR_UPDATE_COMMIT, sessmgr_status};
use super::strings::copy_out;
use crate::error::{Error, ErrorKind};
use crate::registry::UpdateOutcome;

/// `*json` receives the JSON text stored at `pointer`; a stored `null` is "null", and nothing
/// stored there is `SESSMGR_NO_VALUE`. Free it with `sessmgr_string_free`.
///
/// # Safety
/// `id` and `pointer` are NULL or NUL-terminated strings; `json` is NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_storage_get(
    id: *const c_char,
    pointer: *const c_char,
    json: *mut *mut c_char,
) -> sessmgr_status {
    call("sessmgr_storage_get", || {
        // SAFETY: as this function's contract.
        let (id, pointer, json) = unsafe {
            (
                session_id(id)?,
                text(pointer, "pointer")?,
                out(json, "json")?,
            )
        };
        *json = registry()
            .storage_get_with(id, pointer, copy_out)??
            .into_raw();
        Ok(())
    })
}

/// Stores the JSON value `value_json` at `pointer`. The parent must exist (else
/// `SESSMGR_NO_VALUE`); in an array, the index one past the end, or "-", appends. "" replaces
/// the whole storage, which must stay an object. Over `maxStorageBytes`:
/// `SESSMGR_LIMIT_EXCEEDED`. On any failure the storage is exactly as it was.
///
/// # Safety
/// `id`, `pointer` and `value_json` are NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_storage_set(
    id: *const c_char,
    pointer: *const c_char,
    value_json: *const c_char,
) -> sessmgr_status {
    call("sessmgr_storage_set", || {
        // SAFETY: as this function's contract.
        let (id, pointer, value) = unsafe {
            (
                session_id(id)?,
                text(pointer, "pointer")?,
                text(value_json, "value_json")?,
            )
        };
        registry().storage_set(id, pointer, value)
    })
}

/// Removes the value at `pointer` (`SESSMGR_NO_VALUE` if there is none; the root cannot be
/// removed).
///
/// # Safety
/// `id` and `pointer` are NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_storage_remove(
    id: *const c_char,
    pointer: *const c_char,
) -> sessmgr_status {
    call("sessmgr_storage_remove", || {
        // SAFETY: as this function's contract.
        let (id, pointer) = unsafe { (session_id(id)?, text(pointer, "pointer")?) };
        registry().storage_remove(id, pointer)
    })
}

/// Applies an RFC 7386 JSON merge patch (an object) to the storage: all of it or nothing.
///
/// # Safety
/// `id` and `patch_json` are NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_storage_merge(
    id: *const c_char,
    patch_json: *const c_char,
) -> sessmgr_status {
    call("sessmgr_storage_merge", || {
        // SAFETY: as this function's contract.
        let (id, patch) = unsafe { (session_id(id)?, text(patch_json, "patch_json")?) };
        registry().storage_merge(id, patch)
    })
}

/// Atomically replaces the value at `pointer` with `new_json`, or removes it when `new_json`
/// is NULL, only if the value there now equals `expected_json` as JSON (members in any order,
/// `1` equal to `1.0`); `expected_json` NULL: only if nothing is there. Otherwise
/// `SESSMGR_CONFLICT`, nothing changes, and the message says what is there (its type and size,
/// not the value). No callback: for hosts in other languages, and for one field. Counts as
/// activity when it succeeds.
///
/// # Safety
/// `id` and `pointer` are NULL or NUL-terminated strings; `expected_json` and `new_json` are
/// NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_storage_compare_and_set(
    id: *const c_char,
    pointer: *const c_char,
    expected_json: *const c_char,
    new_json: *const c_char,
) -> sessmgr_status {
    call("sessmgr_storage_compare_and_set", || {
        // SAFETY: as this function's contract.
        let (id, pointer, expected, new) = unsafe {
            (
                session_id(id)?,
                text(pointer, "pointer")?,
                optional_text(expected_json, "expected_json")?,
                optional_text(new_json, "new_json")?,
            )
        };
        registry().storage_compare_and_set(id, pointer, expected, new)
    })
}

/// Atomically adds `delta` to the integer at `pointer` (nothing there counts as 0) and writes
/// the sum to `*result` (if not NULL). A value there that is not an integer (`1.5`, `"1"`,
/// `1.0`) is `SESSMGR_CONFLICT`; a sum beyond `int64_t` is `SESSMGR_LIMIT_EXCEEDED`; either way
/// nothing changes. Counts as activity.
///
/// # Safety
/// `id` and `pointer` are NULL or NUL-terminated strings; `result` is NULL or valid for
/// writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_storage_increment(
    id: *const c_char,
    pointer: *const c_char,
    delta: i64,
    result: *mut i64,
) -> sessmgr_status {
    call("sessmgr_storage_increment", || {
        // SAFETY: as this function's contract.
        let (id, pointer) = unsafe { (session_id(id)?, text(pointer, "pointer")?) };
        let sum = registry().storage_increment(id, pointer, delta)?;
        // SAFETY: as this function's contract.
        if let Some(result) = unsafe { optional_out(result) } {
            *result = sum;
        }
        Ok(())
    })
}

/// The handle a storage update callback receives, to hand back the new storage with
/// `sessmgr_update_set`. Valid only during that call of the callback.
pub struct sessmgr_update {
    value: Option<Value>,
}

/// A storage update callback: `current_json` is the whole storage as JSON text (valid during the
/// call only). To change it, pass the new object to `sessmgr_update_set(update, …)`, which copies
/// it, then return `SESSMGR_UPDATE_COMMIT`; return `SESSMGR_UPDATE_ABORT` to change nothing. No
/// lock is held while it runs, and it may call any `sessmgr_` function, except storage functions
/// on this same session (`SESSMGR_REENTRANT`). If another write reaches this session's storage
/// meanwhile, the callback is called again with the new value, so it must have no effect other
/// than through `sessmgr_update_set`. It must not unwind (C++ exceptions) into the library.
pub type sessmgr_update_fn = Option<
    unsafe extern "C" fn(
        update: *mut sessmgr_update,
        current_json: *const c_char,
        user_data: *mut c_void,
    ) -> i32,
>;

/// 4D's `Use (Session.storage) … End use`: an atomic read-modify-write of a session's storage
/// through `callback` (see `sessmgr_update_fn`), which gets `user_data` as given. Returns
/// `SESSMGR_ABORTED` if it aborts, `SESSMGR_INVALID_ARGUMENT` if it returns anything other than
/// `SESSMGR_UPDATE_COMMIT` or `SESSMGR_UPDATE_ABORT`; either way nothing changes.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string; `callback` is NULL or a function of that type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_storage_update(
    id: *const c_char,
    callback: sessmgr_update_fn,
    user_data: *mut c_void,
) -> sessmgr_status {
    call("sessmgr_storage_update", || {
        // SAFETY: as this function's contract.
        let id = unsafe { session_id(id) }?;
        let callback =
            callback.ok_or_else(|| Error::new(ErrorKind::NullArgument, "`callback` is NULL"))?;
        let mut unknown_answer = None;
        let result = registry().storage_update(id, |current| {
            let Ok(current) = CString::new(current) else {
                return UpdateOutcome::Abort;
            };
            let mut update = sessmgr_update { value: None };
            // SAFETY: the callback is the host's function of this type; both pointers outlive it.
            let answer = unsafe { callback(&mut update, current.as_ptr(), user_data) };
            match answer {
                SESSMGR_UPDATE_COMMIT => update
                    .value
                    .map_or(UpdateOutcome::Keep, UpdateOutcome::Replace),
                SESSMGR_UPDATE_ABORT => UpdateOutcome::Abort,
                other => {
                    unknown_answer = Some(other);
                    UpdateOutcome::Abort
                }
            }
        });
        match unknown_answer {
            Some(answer) => Err(Error::invalid(format!(
                "the callback returned {answer}, neither SESSMGR_UPDATE_COMMIT (0) nor SESSMGR_UPDATE_ABORT (1): nothing changed"
            ))),
            None => result,
        }
    })
}

/// From inside a storage update callback: the new storage, a JSON object, copied. Checked at
/// once (`SESSMGR_INVALID_JSON`, `SESSMGR_INVALID_ARGUMENT` for a non-object,
/// `SESSMGR_LIMIT_EXCEEDED`); a failed call keeps what an earlier call set. The last successful
/// call wins.
///
/// # Safety
/// `update` is NULL or the handle the running callback received; `new_json` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sessmgr_update_set(
    update: *mut sessmgr_update,
    new_json: *const c_char,
) -> sessmgr_status {
    call("sessmgr_update_set", || {
        // SAFETY: as this function's contract.
        let (update, new_json) = unsafe { (out(update, "update")?, text(new_json, "new_json")?) };
        update.value = Some(registry().parse_storage_root(new_json)?);
        Ok(())
    })
}
