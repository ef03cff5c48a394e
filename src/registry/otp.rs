//! 4D's one-time passcodes: `Session.createOTP()` and `Session.restore()`.

use super::Registry;
use crate::digest::{self, Purpose};
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
        let _scope = self.redis_scope();
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
            let now = a.now;
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
            if a.slot.is_some() {
                // Indexed under the session's lock: the session cannot end (and forget its
                // passcodes) before the index has this one.
                self.core.otps.insert(key, a.session.client_id);
            }
            a.activity();
            Ok((
                lapsed,
                a.slot.is_none().then_some((a.session.client_id, expires)),
            ))
        })?;
        let (lapsed, remote) = lapsed;
        match (remote, self.redis()) {
            // In Redis, the passcode is filed once its session holds it, with the session's
            // secret sealed under it (what leads its holder to the session's ID); expired ones
            // go by themselves. Should filing fail, the token was never handed out: nobody can
            // use it.
            (Some((client, expires)), Some(store)) => {
                let secret = self.remote_secret(&store, id)?;
                let sealed = digest::seal(Purpose::Secret, token.value(), secret);
                store.put_otp(store.deadline(), key, client, &sealed, expires)?
            }
            _ => {
                for expired in lapsed {
                    self.core.otps.take(expired);
                }
            }
        }
        Ok(token)
    }

    /// Passcodes the index holds (for tests and diagnostics that nothing of a session gone, or
    /// of a passcode spent or expired, is kept).
    pub fn held_passcodes(&self) -> u64 {
        self.core.otps.len() as u64
    }

    /// The current ID of the session a one-time passcode was made for, which it spends: the
    /// token must exist, be unused and unexpired, and its session live; otherwise `NotFound`
    /// and nothing changes. Counts as activity.
    pub fn restore(&self, token: SessionId) -> Result<SessionId> {
        let _scope = self.redis_scope();
        let key = key_of(token);
        // In Redis, the passcode's entry holds its session's secret, sealed under the token:
        // what opens the session's ID.
        let (client, secret) = match (self.core.otps.take(key), self.redis()) {
            (Some(client), _) => (client, None),
            (None, Some(store)) => {
                let (client, sealed) = store
                    .take_otp(store.deadline(), key)?
                    .ok_or_else(no_passcode)?;
                let secret = digest::open(Purpose::Secret, token.value(), &sealed)
                    .ok_or_else(no_passcode)?;
                (client, Some(secret))
            }
            (None, None) => return Err(no_passcode()),
        };
        let now = self.now();
        loop {
            let target = self.client_session(client)?.ok_or_else(no_passcode)?;
            let id = self.id_of(target, secret)?.ok_or_else(no_passcode)?;
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
