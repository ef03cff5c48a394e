//! Who a session is: FileMaker's identifier, the user name, 4D's privileges.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Access, Recall, Registry, Target, names, require_web};
use crate::create_options::check_detail;
use crate::error::{Error, Result};
use crate::events::{Detail, EventKind};
use crate::grant_request::GrantRequest;
use crate::id::SessionId;
use crate::names::Query;
use crate::roles::{Grant, KeptPosition, MAX_NAME_BYTES};
use crate::session::SessionType;

impl Registry {
    /// Counts and tells of a change of the identifier administrators see.
    fn identifier_changed(&self, a: &Access<'_>, old: String) {
        if !crate::events::count_held() {
            self.core
                .counters
                .identifier_changes
                .fetch_add(1, Ordering::AcqRel);
        }
        self.core
            .emit(EventKind::IdentifierChanged, &a.session, a.now(), || {
                Detail::Changed {
                    old,
                    new: a.session.effective_identifier().to_owned(),
                }
            });
    }

    /// Tells of a change of the expanded privileges, if they changed (`old` is `None` when
    /// nobody listens).
    fn privileges_changed(&self, a: &Access<'_>, old: Option<Vec<String>>) {
        if let Some(old) = old {
            let new = names(&a.session);
            if old != new {
                self.core
                    .emit(EventKind::PrivilegesChanged, &a.session, a.now(), || {
                        Detail::Privileges { old, new }
                    });
            }
        }
    }

    // ----- identifier ---------------------------------------------------------------------

    /// FileMaker's Set Session Identifier; "" goes back to the user name.
    pub fn set_identifier(&self, id: SessionId, identifier: &str) -> Result<()> {
        let max = self.live.max_identifier_bytes();
        self.change(id, |a| {
            if a.session.kind == SessionType::Standalone {
                return Err(Error::not_supported(
                    "a standalone session (a local file) has no session identifier: set does nothing",
                ));
            }
            if identifier.len() > max {
                return Err(Error::limit(format!(
                    "the identifier is {} bytes, over maxIdentifierBytes ({max})",
                    identifier.len()
                )));
            }
            if a.session.identifier != identifier {
                let old = a.session.effective_identifier().to_owned();
                a.session.identifier.clear();
                a.session.identifier.push_str(identifier);
                self.identifier_changed(a, old);
            }
            a.activity();
            Ok(())
        })
    }

    /// The identifier as set; "" until `set_identifier` has run.
    pub fn identifier(&self, id: SessionId) -> Result<String> {
        self.read(id, |s| Ok(s.identifier.clone()))
    }

    /// The identifier administrators see: the one set, or else the user name.
    pub fn effective_identifier(&self, id: SessionId) -> Result<String> {
        self.read(id, |s| Ok(s.effective_identifier().to_owned()))
    }

    pub fn user_name(&self, id: SessionId) -> Result<String> {
        self.read(id, |s| Ok(s.details.user_name.to_string()))
    }

    // ----- privileges ---------------------------------------------------------------------

    /// Replaces the session's grant; returns the names that are not declared (and so ignored).
    /// A `userName` that changes the session's user is a login of that user: its cap applies.
    pub fn set_privileges(&self, id: SessionId, text: &str) -> Result<Vec<String>> {
        let request = self.grant_request(text)?;
        let granted = self.as_user_change(id, request.user_name.as_deref(), |check| {
            self.access(id, |a| {
                require_web(&a.session, "set_privileges")?;
                check(&a.session)?;
                let ignored = self.grant(a, request.clone());
                Ok((ignored, a.unfiled_guest()))
            })
        });
        self.core.events.drain();
        let (ignored, new_guest) = granted?;
        if new_guest {
            self.core.local.map.file_if_guest(id, self.now());
        }
        Ok(ignored)
    }

    /// Parses and checks `set_privileges`' input, before any session is touched.
    pub(super) fn grant_request(&self, text: &str) -> Result<GrantRequest> {
        let request = GrantRequest::parse(text, self.live.max_json_depth())?;
        if let Some(name) = request
            .privileges
            .iter()
            .chain(&request.roles)
            .find(|name| name.len() > MAX_NAME_BYTES)
        {
            return Err(Error::limit(format!(
                "a privilege or role name is {} bytes, over the limit of {MAX_NAME_BYTES}",
                name.len()
            )));
        }
        let named = request.privileges.len() + request.roles.len();
        let max = self.live.max_privileges_granted();
        if named > max {
            return Err(Error::limit(format!(
                "the request names {named} privileges and roles, over maxPrivilegesGranted ({max})"
            )));
        }
        if let Some(name) = &request.user_name {
            check_detail("userName", name)?;
        }
        Ok(request)
    }

    /// Replaces the grant of the web or rest session `a` holds, as `set_privileges` does
    /// (activity, events); returns the names that are not declared.
    pub(super) fn grant(&self, a: &mut Access<'_>, request: GrantRequest) -> Vec<String> {
        let old_names = self.core.events.listening().then(|| names(&a.session));
        // Read under the session's lock: see install_roles.
        let table = Arc::clone(&self.core.roles.read());
        let mut ignored = Vec::new();
        let mut grant = Grant::default();
        for name in request.privileges {
            if table.is_privilege(&name) {
                grant.privileges.push(name);
            } else {
                ignored.push(name);
            }
        }
        for name in request.roles {
            if table.is_role(&name) {
                grant.roles.push(name);
            } else {
                ignored.push(name);
            }
        }
        a.session.grant = (!grant.is_empty()).then(|| Box::new(grant));
        a.session.expand_under(&table);
        if let Some(name) = request.user_name
            && *name != *a.session.details.user_name
        {
            let old = a.session.effective_identifier().to_owned();
            a.session.details.user_name = name.into_boxed_str();
            self.identifier_changed(a, old);
        }
        a.activity();
        self.privileges_changed(a, old_names);
        ignored
    }

    /// Removes every privilege: the session becomes a guest.
    pub fn clear_privileges(&self, id: SessionId) -> Result<()> {
        let new_guest = self.change(id, |a| {
            require_web(&a.session, "clear_privileges")?;
            let old_names = self.core.events.listening().then(|| names(&a.session));
            a.session.grant = None;
            a.session.roles = None;
            a.session.privileges = Default::default();
            a.activity();
            self.privileges_changed(a, old_names);
            Ok(a.unfiled_guest())
        })?;
        if new_guest {
            self.core.local.map.file_if_guest(id, self.now());
        }
        Ok(())
    }

    /// Allocates nothing.
    pub fn has_privilege(&self, id: SessionId, name: &str) -> Result<bool> {
        self.privilege_of(id, Query::Text(name))
    }

    /// As [`Registry::has_privilege`], with the name as bytes from outside: ASCII is used as it
    /// is, anything else must be valid UTF-8 (`InvalidArgument`).
    pub fn has_privilege_bytes(&self, id: SessionId, name: &[u8]) -> Result<bool> {
        let name = Query::from_bytes(name).map_err(|e| {
            Error::invalid(format!(
                "the privilege name is not valid UTF-8 (at byte {})",
                e.valid_up_to()
            ))
        })?;
        self.privilege_of(id, name)
    }

    /// In memory, from what the session publishes for readers (see `session_map::Slot`):
    /// mostly no lock of the session's and no pointer to it followed. As [`Registry::read`]
    /// otherwise.
    fn privilege_of(&self, id: SessionId, name: Query<'_>) -> Result<bool> {
        let now = self.core.clock.moment();
        let kept = KeptPosition::of(name);
        match self
            .core
            .local
            .map
            .with(id, now, |slot| slot.has_privilege(name, kept))
        {
            Some(answer) => Ok(answer),
            None => self.shared_access(Target::Id(id), Recall::No, |a| {
                Ok(a.session.has_privilege(name))
            }),
        }
    }

    pub fn privileges(&self, id: SessionId) -> Result<String> {
        self.read(id, |s| Ok(s.privileges_json()))
    }

    pub fn is_guest(&self, id: SessionId) -> Result<bool> {
        self.read(id, |s| Ok(s.is_guest()))
    }
}
