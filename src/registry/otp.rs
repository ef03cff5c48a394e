//! 4D's one-time passcodes: `Session.createOTP()` and `Session.restore()`.

use super::Registry;
use crate::error::{Error, ErrorKind, Result};
use crate::id::SessionId;
use crate::otp::{MIN_LIFESPAN_SECONDS, Otp, key_of};
use crate::session::SessionType;

/// The one answer to a passcode that restores nothing: unknown, spent, expired, or its session
/// gone are not told apart (4D), and the token is not repeated (it is a bearer secret).
fn no_passcode() -> Error {
    Error::new(
        ErrorKind::NotFound,
        "no live session has this one-time passcode (unknown, used, expired, or its session ended)",
    )
}

impl Registry {
    /// A new one-time passcode for a web session, valid for `lifespan_seconds` (0: the
    /// session's idle timeout; at least 10) and usable once. At most `maxOtpsPerSession` wait
    /// per session. Counts as activity.
    pub fn create_otp(&self, id: SessionId, lifespan_seconds: i32) -> Result<SessionId> {
        if lifespan_seconds < 0 {
            return Err(Error::invalid(format!(
                "a lifespan of {lifespan_seconds} seconds is out of range (0 to {})",
                i32::MAX
            )));
        }
        let max = self.live.max_otps_per_session();
        let token = SessionId::random();
        // Only the caller has the token: the session and the index keep its digest.
        let key = key_of(token);
        let _scope = self.scope();
        let lapsed = self.access(id, |a| {
            if a.session.kind != SessionType::Web {
                return Err(Error::not_supported(format!(
                    "one-time passcodes: a {} session has none (web sessions only)",
                    a.session.kind.name()
                )));
            }
            let seconds = match i64::from(lifespan_seconds) {
                0 => i64::from(a.session.idle_timeout) * 60,
                given => given,
            }
            .max(MIN_LIFESPAN_SECONDS);
            let now = a.now();
            let otps = &mut a.session.extras_mut().otps;
            // Spent ones are gone already; expired ones make room.
            let lapsed: Vec<u128> = otps
                .iter()
                .filter(|otp| otp.expires <= now)
                .map(|otp| otp.key)
                .collect();
            otps.retain(|otp| otp.expires > now);
            if otps.len() >= max {
                return Err(Error::limit(format!(
                    "the session holds {} one-time passcodes: maxOtpsPerSession ({max}) is reached",
                    otps.len()
                )));
            }
            let expires = now.saturating_add(seconds * 1000);
            otps.push(Otp { key, expires });
            // A session of this process is indexed in place, under its lock: it cannot end
            // (and forget its passcodes) before the index has this one.
            self.core.local.passcode_made(a, key);
            a.activity();
            Ok((lapsed, a.session.client_id, expires))
        })?;
        let (lapsed, client, expires) = lapsed;
        // Should filing fail, the token was never handed out: nobody can use it.
        self.with_site(|store| store.passcode_filed(self, id, token, client, expires, &lapsed))?;
        Ok(token)
    }

    /// Passcodes the index holds (for tests and diagnostics that nothing of a session gone, or
    /// of a passcode spent or expired, is kept).
    pub fn held_passcodes(&self) -> u64 {
        self.core.local.otps.len() as u64
    }

    /// The current ID of the session a one-time passcode was made for, which it spends: the
    /// token must exist, be unused and unexpired, and its session live; otherwise `NotFound`
    /// and nothing changes. Counts as activity.
    pub fn restore(&self, token: SessionId) -> Result<SessionId> {
        let _scope = self.scope();
        let key = key_of(token);
        // Where the store keeps no ID, what the passcode opens leads to its session's.
        let (client, secret) = self
            .with_site(|store| store.take_passcode(token))?
            .ok_or_else(no_passcode)?;
        let now = self.now();
        loop {
            let target = self.client_session(client)?.ok_or_else(no_passcode)?;
            let id = self
                .with_site(|store| store.session_id(self, target, secret))?
                .ok_or_else(no_passcode)?;
            let found = self.access(id, |a| {
                let otps = &mut a.session.extras_mut().otps;
                let Some(at) = otps.iter().position(|otp| otp.key == key) else {
                    return Ok(None);
                };
                let otp = otps.swap_remove(at);
                if otp.expires <= now {
                    return Ok(None);
                }
                a.activity();
                Ok(Some(a.session.id))
            });
            match found {
                Ok(Some(id)) => return Ok(id),
                Ok(None) => return Err(no_passcode()),
                // Rotated away in between: follow the client to its new ID.
                Err(e) if e.kind == ErrorKind::NotFound => {
                    if self.client_session(client)? == Some(target) {
                        return Err(no_passcode());
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
}
