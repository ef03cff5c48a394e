//! 4D's `.storage`: reads, writes and the atomic update.

use std::cell::RefCell;
use std::sync::Arc;

use serde_json::Value;

use super::{Access, Reads, Registry, UpdateOutcome};
use crate::error::{Error, ErrorKind, Result};
use crate::id::SessionId;

impl Registry {
    // ----- storage ------------------------------------------------------------------------

    /// The JSON text at `pointer` (`""`: the whole object).
    pub fn storage_get(&self, id: SessionId, pointer: &str) -> Result<String> {
        self.storage_get_with(id, pointer, str::to_owned)
    }

    /// As [`Registry::storage_get`], the JSON text handed to `copy` while the session is read
    /// (see [`Registry::request_with`]).
    pub fn storage_get_with<V>(
        &self,
        id: SessionId,
        pointer: &str,
        copy: impl Fn(&str) -> V,
    ) -> Result<V> {
        self.refuse_reentry(id)?;
        self.read_as(id, Reads::Storage, |s| s.storage.get_with(pointer, &copy))
    }

    pub fn storage_set(&self, id: SessionId, pointer: &str, value_json: &str) -> Result<()> {
        self.refuse_reentry(id)?;
        let max = self.live.max_storage_bytes();
        // The usual case, a scalar written compactly for a top-level key that is there: its
        // text replaces the old value's in place, with no parse.
        if let (Some(_), Some(scalar)) = (
            crate::storage::plain_key(pointer),
            crate::storage::compact_scalar(value_json),
        ) {
            self.check_value_size(scalar)?;
            return self.storage_write(id, |a| match a.session.storage.plain_member(pointer) {
                Some(index) => a.session.storage.set_member_text(index, scalar, max),
                None => {
                    let value = self.parse_storage_value(scalar)?;
                    a.session.storage.set(pointer, value, max)
                }
            });
        }
        let mut value = Some(self.parse_storage_value(value_json)?);
        self.storage_write(id, |a| {
            let value = a.given(&mut value);
            a.session.storage.set(pointer, value, max)
        })
    }

    pub fn storage_remove(&self, id: SessionId, pointer: &str) -> Result<()> {
        self.refuse_reentry(id)?;
        self.storage_write(id, |a| a.session.storage.remove(pointer))
    }

    pub fn storage_merge(&self, id: SessionId, patch_json: &str) -> Result<()> {
        self.refuse_reentry(id)?;
        let patch = self.parse_storage_value(patch_json)?;
        let max = self.live.max_storage_bytes();
        self.storage_write(id, |a| a.session.storage.merge(&patch, max))
    }

    /// Replaces the value at `pointer` with `new_json` (`None`: removes it), only if what is
    /// there now equals `expected_json` as JSON (`None`: only if nothing is there); otherwise
    /// `Conflict`, and nothing changes. Counts as activity when it succeeds.
    pub fn storage_compare_and_set(
        &self,
        id: SessionId,
        pointer: &str,
        expected_json: Option<&str>,
        new_json: Option<&str>,
    ) -> Result<()> {
        self.refuse_reentry(id)?;
        crate::storage::parse_pointer(pointer)?;
        let expected = expected_json
            .map(|text| self.parse_storage_value(text))
            .transpose()?;
        let mut new = new_json
            .map(|text| self.parse_storage_value(text))
            .transpose()?;
        let max = self.live.max_storage_bytes();
        self.storage_write(id, |a| {
            let current = a.session.storage.value_at(pointer)?;
            let same = match (&expected, &current) {
                (None, None) => true,
                (Some(e), Some(c)) => crate::json_equal::json_equal(e, c),
                _ => false,
            };
            if !same {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "compare_and_set: the value at the pointer is {}, not the one expected: \
                         nothing changed",
                        crate::json_equal::describe(current.as_ref())
                    ),
                ));
            }
            match (a.given_opt(&mut new), current) {
                (Some(value), _) => a.session.storage.set(pointer, value, max),
                (None, Some(_)) => a.session.storage.remove(pointer),
                // Nothing there, and nothing to put: done, unchanged.
                (None, None) => Ok(()),
            }
        })
    }

    /// Adds `delta` to the integer at `pointer` (nothing there counts as 0) and returns the
    /// sum. A value that is not an integer is `Conflict`, a sum beyond 64 bits
    /// `LimitExceeded`; either way nothing changes. Counts as activity.
    pub fn storage_increment(&self, id: SessionId, pointer: &str, delta: i64) -> Result<i64> {
        self.refuse_reentry(id)?;
        if pointer.is_empty() {
            return Err(Error::invalid(
                "increment: the pointer \"\" is the whole storage, an object, not an integer",
            ));
        }
        if crate::storage::plain_key(pointer).is_none() {
            crate::storage::parse_pointer(pointer)?;
        }
        let max = self.live.max_storage_bytes();
        let mut sum = 0;
        let overflow = |current: i64| {
            Error::limit(format!(
                "increment: {current} + {delta} is beyond a 64-bit integer: nothing changed"
            ))
        };
        self.storage_write(id, |a| {
            // The usual case, an integer at a top-level key: its digits replaced in the text.
            if let Some((index, current)) = a.session.storage.integer_member(pointer) {
                sum = current
                    .checked_add(delta)
                    .ok_or_else(|| overflow(current))?;
                return a.session.storage.set_integer_member(index, sum, max);
            }
            let current = match a.session.storage.value_at(pointer)? {
                None => 0,
                Some(value) => value.as_i64().ok_or_else(|| {
                    Error::new(
                        ErrorKind::Conflict,
                        format!(
                            "increment: the value at the pointer is {}, not an integer: nothing \
                             changed",
                            crate::json_equal::describe(Some(&value))
                        ),
                    )
                })?,
            };
            sum = current
                .checked_add(delta)
                .ok_or_else(|| overflow(current))?;
            a.session.storage.set(pointer, Value::from(sum), max)
        })?;
        Ok(sum)
    }

    /// Parses a value for the storage, refusing text larger than the storage may hold.
    pub fn parse_storage_value(&self, text: &str) -> Result<Value> {
        self.check_value_size(text)?;
        crate::json_input::parse(text, self.live.max_json_depth(), "the value")
    }

    /// Refuses a value's text larger than the storage may hold.
    fn check_value_size(&self, text: &str) -> Result<()> {
        let max = self.live.max_storage_bytes();
        if text.len() > max {
            return Err(Error::limit(format!(
                "the value is {} bytes, over maxStorageBytes ({max})",
                text.len()
            )));
        }
        Ok(())
    }

    /// Checks a whole new storage object: valid JSON, an object, within the size limit.
    pub fn parse_storage_root(&self, text: &str) -> Result<Value> {
        let value = self.parse_storage_value(text)?;
        crate::storage::check_root(&value, self.live.max_storage_bytes())?;
        Ok(value)
    }

    fn storage_write(
        &self,
        id: SessionId,
        mut write: impl FnMut(&mut Access<'_>) -> Result<()>,
    ) -> Result<()> {
        self.write(id, |a| {
            write(a)?;
            a.session.storage_version += 1;
            a.activity();
            Ok(())
        })
    }

    /// 4D's `Use (Session.storage) … End use`: `callback` sees the storage as JSON text and
    /// decides. No lock is held while it runs; if another write lands meanwhile, it is called
    /// again with the new value, so that no update is lost. A storage call on this session from
    /// inside it is refused with `Reentrant`.
    pub fn storage_update(
        &self,
        id: SessionId,
        mut callback: impl FnMut(&str) -> UpdateOutcome,
    ) -> Result<()> {
        self.refuse_reentry(id)?;
        let max = self.live.max_storage_bytes();
        loop {
            let (current, version) = self.read_as(id, Reads::Storage, |s| {
                Ok((s.storage.to_json(), s.storage_version))
            })?;
            let outcome = {
                let _inside = InsideUpdate::enter(self.identity(), id);
                callback(&current)
            };
            let value = match outcome {
                UpdateOutcome::Keep => return self.read(id, |_| Ok(())),
                UpdateOutcome::Abort => {
                    return Err(Error::new(
                        ErrorKind::Aborted,
                        "the update callback aborted: nothing changed",
                    ));
                }
                // Written out before the lock is taken.
                UpdateOutcome::Replace(value) => Some(crate::storage::from_root(&value, max)?),
            };
            let mut value = value;
            let committed = self.write(id, |a| {
                if a.session.storage_version != version {
                    return Ok(false);
                }
                a.session.storage = a.given(&mut value);
                a.session.storage_version += 1;
                a.activity();
                Ok(true)
            })?;
            if committed {
                return Ok(());
            }
        }
    }

    fn identity(&self) -> usize {
        Arc::as_ptr(&self.core) as usize
    }

    pub(super) fn refuse_reentry(&self, id: SessionId) -> Result<()> {
        let key = (self.identity(), id);
        if UPDATING.with(|u| u.borrow().contains(&key)) {
            return Err(Error::new(
                ErrorKind::Reentrant,
                "a storage call on a session from inside its own update callback is refused",
            ));
        }
        Ok(())
    }
}

thread_local! {
    /// (registry, session) pairs whose storage update callback runs on this thread.
    static UPDATING: RefCell<Vec<(usize, SessionId)>> = const { RefCell::new(Vec::new()) };
}

/// Marks this thread as inside the update callback of one session, until dropped.
struct InsideUpdate((usize, SessionId));

impl InsideUpdate {
    fn enter(registry: usize, id: SessionId) -> InsideUpdate {
        UPDATING.with(|u| u.borrow_mut().push((registry, id)));
        InsideUpdate((registry, id))
    }
}

impl Drop for InsideUpdate {
    fn drop(&mut self) {
        UPDATING.with(|u| {
            let mut u = u.borrow_mut();
            if let Some(at) = u.iter().rposition(|k| *k == self.0) {
                u.remove(at);
            }
        });
    }
}
