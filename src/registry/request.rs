//! What a host does with a session on every request, in one call: the activity of `touch`, a
//! `has_privilege` and a `storage_get`, with the ID parsed and the session found once.

use super::{Reads, Registry};
use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::names::Query;
use crate::roles::KeptPosition;
use crate::session::Session;

/// What [`Registry::request`] found; `V` is the storage value's copy (a `String` of JSON, or
/// what [`Registry::request_with`]'s `copy` made of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestAnswer<V = String> {
    /// Whether the session holds the privilege asked (`None` when none was asked).
    pub granted: Option<bool>,
    /// The storage value at the pointer asked, as JSON (`None` when none was asked, or nothing
    /// is stored there).
    pub value: Option<V>,
}

impl Registry {
    /// Marks the session's activity (as [`Registry::touch`]), and answers in the same step
    /// whether it holds `privilege` and what its storage holds at `pointer`. A bad argument
    /// changes nothing (not even the activity); nothing stored at `pointer` is `value: None`,
    /// not an error.
    pub fn request(
        &self,
        id: SessionId,
        privilege: Option<&[u8]>,
        pointer: Option<&str>,
    ) -> Result<RequestAnswer> {
        self.request_with(id, privilege, pointer, str::to_owned)
    }

    /// As [`Registry::request`], the storage value's JSON text handed to `copy` while the
    /// session is read (the C boundary copies it straight into the string it returns: one
    /// copy, no `String` between).
    pub fn request_with<V>(
        &self,
        id: SessionId,
        privilege: Option<&[u8]>,
        pointer: Option<&str>,
        copy: impl Fn(&str) -> V,
    ) -> Result<RequestAnswer<V>> {
        let privilege = privilege
            .map(|name| {
                Query::from_bytes(name).map_err(|e| {
                    Error::invalid(format!(
                        "the privilege name is not valid UTF-8 (at byte {})",
                        e.valid_up_to()
                    ))
                })
            })
            .transpose()?;
        if pointer.is_some() {
            self.refuse_reentry(id)?;
        }
        let kept = privilege.and_then(KeptPosition::of);
        let value = |session: &Session| match pointer {
            None => Ok(None),
            Some(p) => session.storage.get_if_any(p, &copy),
        };
        // Mostly no activity is due: the session read-locked, its privilege from what it
        // publishes.
        let reads = match pointer {
            Some(_) => Reads::Storage,
            None => Reads::Session,
        };
        let read = self.read_unless_activity_due(id, reads, |slot, session| {
            Ok(RequestAnswer {
                value: value(session)?,
                granted: privilege.map(|name| slot.has_privilege_locked(session, name, kept)),
            })
        });
        match read {
            Ok(answer) => answer,
            Err(unread) => self.access_unread(id, unread, |a| {
                let value = value(&a.session)?;
                let granted = privilege.map(|name| a.session.has_privilege(name));
                a.activity();
                Ok(RequestAnswer { granted, value })
            }),
        }
    }
}
