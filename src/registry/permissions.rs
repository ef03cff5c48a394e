//! 4D's permissions on a session: may it do this action on this resource, and why.

use serde_json::json;

use super::Registry;
use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::permissions::Action;
use crate::roles::RolesTable;
use crate::session::Session;

/// The resource as text: ASCII as it is, anything else must be valid UTF-8.
fn resource_text(resource: &[u8]) -> Result<&str> {
    std::str::from_utf8(resource).map_err(|e| {
        Error::invalid(format!(
            "the resource is not valid UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })
}

impl Registry {
    /// Runs `f` on the roles file a session's answer comes from: the one its privileges were
    /// expanded under, or (a guest's) the current one, under its read lock.
    fn with_table<R>(&self, session: &Session, f: impl FnOnce(&RolesTable) -> R) -> R {
        match &session.roles {
            Some(table) => f(table),
            None => f(&self.core.roles.read()),
        }
    }

    /// Whether the session may do `action` on `resource` (4D's `applyTo`). Web and rest
    /// sessions by the roles file's permissions; the other types are allowed everything.
    /// Allocates nothing but, for a guest, takes the roles file's read lock.
    pub fn has_permission(&self, id: SessionId, resource: &[u8], action: &[u8]) -> Result<bool> {
        let action = Action::parse(action)?;
        if !resource.is_ascii() {
            resource_text(resource)?;
        }
        self.read(id, |s| {
            self.with_table(s, |table| {
                let rule = table.permissions().rule(resource, action)?;
                Ok(!s.kind.is_web() || rule.allows(&s.privileges))
            })
        })
    }

    /// Why [`Registry::has_permission`] answers as it does, as JSON: which entry of the roles
    /// file, at which level, through which privilege or role.
    pub fn explain_permission(
        &self,
        id: SessionId,
        resource: &[u8],
        action: &[u8],
    ) -> Result<String> {
        let action = Action::parse(action)?;
        let resource = resource_text(resource)?;
        self.read(id, |s| {
            self.with_table(s, |table| explain(table, s, resource, action))
        })
    }
}

/// [`Registry::explain_permission`] for one session under one roles file.
fn explain(table: &RolesTable, s: &Session, resource: &str, action: Action) -> Result<String> {
    let permissions = table.permissions();
    if !s.kind.is_web() {
        // Checked all the same: a bad resource is bad whatever the session.
        permissions.rule(resource.as_bytes(), action)?;
        return Ok(json!({
            "allowed": true,
            "resource": resource,
            "action": action.name(),
            "reason": format!(
                "allowed: {} sessions are allowed everything (permissions apply to web and \
                 rest sessions, as has_privilege is always true for the others)",
                s.kind.name()
            ),
            "checks": [],
        })
        .to_string());
    }
    // A guest's privileges are the empty set.
    let through = |p: u32| match s.grant.as_deref() {
        Some(grant) => table.sources(grant, p),
        None => Vec::new(),
    };
    let mut explanation = permissions.explain(resource, action, &s.privileges, &through)?;
    explanation["sessionType"] = json!(s.kind.name());
    Ok(explanation.to_string())
}
