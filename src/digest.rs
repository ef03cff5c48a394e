//! What the library keeps in place of a bearer token (a session ID, a one-time passcode) where
//! it must keep something: a one-way digest of it (SHA-256, the first 128 bits, as Rack keys
//! its sessions since CVE-2019-16782), and a value sealed so that only the token's holder can
//! open it (XChaCha20-Poly1305 under a key derived from the token).
//!
//! A token has 122 random bits: its digest cannot be turned back into it, and needs no key.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::id::SessionId;

/// What a digest or a seal is for: the same token gives unrelated values in each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A session's key in a store.
    Session,
    /// A one-time passcode's key.
    Passcode,
    /// A session's own secret, sealed under its ID or under one of its passcodes.
    Secret,
    /// A session's ID, sealed under its own secret.
    Id,
    /// A session's new ID, sealed under the ID it had before a rotation.
    NextId,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Session => b"sessmgr session key\0",
            Purpose::Passcode => b"sessmgr passcode key\0",
            Purpose::Secret => b"sessmgr sealed session secret\0",
            Purpose::Id => b"sessmgr sealed session id\0",
            Purpose::NextId => b"sessmgr sealed next session id\0",
        }
    }
}

/// The digest of `token` for `purpose`: 128 bits that name it without revealing it.
pub fn digest(purpose: Purpose, token: SessionId) -> u128 {
    let hash = Sha256::new()
        .chain_update(purpose.label())
        .chain_update(token.value().to_be_bytes())
        .finalize();
    u128::from_be_bytes(hash[..16].try_into().expect("SHA-256 has 32 bytes"))
}

/// 32 lowercase hex digits (a session ID is written in upper case: the two never look alike).
pub fn hex(value: u128) -> String {
    let mut out = String::with_capacity(32);
    push_hex(&mut out, &value.to_be_bytes());
    out
}

/// Appends `bytes` as lowercase hex digits.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xF)]));
    }
}

pub fn parse_hex(text: &str) -> Option<u128> {
    (text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u128::from_str_radix(text, 16).ok())
        .flatten()
}

fn cipher(purpose: Purpose, secret: u128) -> XChaCha20Poly1305 {
    let key = Sha256::new()
        .chain_update(purpose.label())
        .chain_update(secret.to_be_bytes())
        .finalize();
    XChaCha20Poly1305::new(&key)
}

/// `value` sealed under `secret` (a token's 128 bits): hex of a random 24-byte nonce, then the
/// ciphertext and its tag. Only `secret` opens it; a change to it is detected.
pub fn seal(purpose: Purpose, secret: u128, value: u128) -> String {
    let mut nonce = [0u8; 24];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher(purpose, secret)
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &value.to_be_bytes(),
                aad: purpose.label(),
            },
        )
        .expect("sealing 16 bytes cannot fail");
    let mut out = String::with_capacity(2 * (nonce.len() + sealed.len()));
    push_hex(&mut out, &nonce);
    push_hex(&mut out, &sealed);
    out
}

/// What [`seal`] sealed, if `secret` is the one it was sealed under and the text is whole.
pub fn open(purpose: Purpose, secret: u128, text: &str) -> Option<u128> {
    if text.len() != 2 * (24 + 16 + 16) || !text.is_ascii() {
        return None;
    }
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).ok())
        .collect::<Option<_>>()?;
    let (nonce, sealed) = bytes.split_at(24);
    let plain = cipher(purpose, secret)
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: purpose.label(),
            },
        )
        .ok()?;
    Some(u128::from_be_bytes(plain.try_into().ok()?))
}

/// A new random secret (a session's own: see the Redis store).
pub fn random_secret() -> u128 {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    u128::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_differ_by_purpose_and_name_the_token() {
        let id = SessionId::random();
        let key = digest(Purpose::Session, id);
        assert_eq!(key, digest(Purpose::Session, id));
        assert_ne!(key, digest(Purpose::Passcode, id));
        assert_ne!(key, digest(Purpose::Session, SessionId::random()));
        assert_ne!(key, id.value());
        assert_eq!(parse_hex(&hex(key)), Some(key));
        assert!(!hex(key).eq_ignore_ascii_case(&id.to_string()));
        assert_eq!(parse_hex("not hex"), None);
    }

    #[test]
    fn only_the_secret_opens_a_seal_and_a_changed_seal_opens_to_nothing() {
        let (secret, value) = (random_secret(), random_secret());
        let sealed = seal(Purpose::Secret, secret, value);
        assert_eq!(open(Purpose::Secret, secret, &sealed), Some(value));
        assert_ne!(sealed, seal(Purpose::Secret, secret, value), "nonce");
        assert_eq!(open(Purpose::Secret, secret ^ 1, &sealed), None);
        assert_eq!(open(Purpose::Id, secret, &sealed), None);
        let mut changed = sealed.clone().into_bytes();
        changed[60] = if changed[60] == b'0' { b'1' } else { b'0' };
        let changed = String::from_utf8(changed).unwrap();
        assert_eq!(open(Purpose::Secret, secret, &changed), None);
        assert_eq!(open(Purpose::Secret, secret, &sealed[2..]), None);
        assert!(!sealed.contains(&format!("{value:032x}")));
    }
}
