//! ID rotation (anti-fixation, OWASP ASVS 3.2): the same session under a new random ID, its
//! grant changed in the same step if the host asks, so that the old ID never holds the new
//! privileges.

use super::{Access, Registry, not_found, require_web};
use crate::error::Result;
use crate::events::{Detail, EventKind};
use crate::id::SessionId;

impl Registry {
    /// Gives a web or rest session a new random ID and keeps everything else (storage, grant,
    /// identifier, user name, creation time, timeouts and absolute end, files, messages, client
    /// number). With `privileges`, the grant is replaced as `set_privileges` would, in the same
    /// step. The old ID is dead at once, or reaches the session for `rotationGraceSeconds`.
    /// Returns the new ID and the names that were not declared. Counts as activity.
    pub fn rotate_id(
        &self,
        id: SessionId,
        privileges: Option<&str>,
    ) -> Result<(SessionId, Vec<String>)> {
        let request = privileges
            .map(|text| self.grant_request(text))
            .transpose()?;
        let user = request.as_ref().and_then(|r| r.user_name.clone());
        let grace = self.live.rotation_grace_seconds() as i64 * 1000;
        // A userName that changes the session's user is a login of that user: its cap applies.
        let rotated = self.as_user_change(id, user.as_deref(), |check| {
            let mut ignored = None;
            let mut rotate = |a: &mut Access<'_>, new: SessionId| -> Result<()> {
                require_web(&a.session, "rotate_id")?;
                check(&a.session)?;
                let previous = a.session.id;
                // Every event from here on is told under the new ID.
                a.session.id = new;
                let names = match request.clone() {
                    Some(request) => self.grant(a, request),
                    None => {
                        a.activity();
                        Vec::new()
                    }
                };
                self.core
                    .emit(EventKind::IdRotated, &a.session, a.now(), || {
                        Detail::Rotated { previous }
                    });
                ignored = Some(names);
                Ok(())
            };
            let new = self
                .first_store(|store| store.rotate(self, id, grace, &mut rotate))
                .unwrap_or_else(|| Err(not_found()))?;
            Ok((new, ignored.take().unwrap_or_default()))
        });
        self.core.events.drain();
        rotated
    }
}
