//! Session IDs: random (v4) UUIDs, written as 32 uppercase hex digits (4D's form).

use std::fmt;

use crate::error::{Error, Result};

/// A session's ID. Only the library makes new ones ([`SessionId::random`]); callers parse them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub(crate) u128);

impl SessionId {
    /// A new random v4 UUID from the operating system's generator.
    pub(crate) fn random() -> SessionId {
        SessionId(uuid::Uuid::new_v4().as_u128())
    }

    /// Parses 32 hex digits, or the dashed 8-4-4-4-12 form; either case. Anything else is
    /// `InvalidArgument`. Allocates nothing.
    pub fn parse(text: &str) -> Result<SessionId> {
        let bytes = text.as_bytes();
        let mut value: u128 = 0;
        let mut digits = 0;
        let ok = match bytes.len() {
            32 => bytes.iter().all(|&b| push_hex(&mut value, &mut digits, b)),
            36 => bytes.iter().enumerate().all(|(i, &b)| {
                if matches!(i, 8 | 13 | 18 | 23) {
                    b == b'-'
                } else {
                    push_hex(&mut value, &mut digits, b)
                }
            }),
            _ => false,
        };
        if ok && digits == 32 {
            Ok(SessionId(value))
        } else {
            Err(Error::invalid(format!(
                "\"{}\" is not a session ID (32 hex digits, or the dashed UUID form)",
                truncate_for_message(text)
            )))
        }
    }

    /// The 32 uppercase hex digits, without allocating.
    pub fn to_hex(self) -> [u8; 32] {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut out = [0u8; 32];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 124 - 4 * i;
            *slot = HEX[((self.0 >> shift) & 0xF) as usize];
        }
        out
    }

    /// Which of `count` shards (a power of two) holds this ID: the top bits, which are random.
    pub(crate) fn shard(self, count: usize) -> usize {
        debug_assert!(count.is_power_of_two());
        ((self.0 >> 64) as u64 >> (64 - count.trailing_zeros().max(1))) as usize & (count - 1)
    }
}

fn push_hex(value: &mut u128, digits: &mut u32, b: u8) -> bool {
    let nibble = match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => return false,
    };
    *value = (*value << 4) | nibble as u128;
    *digits += 1;
    true
}

/// Cuts hostile input down to a readable size for an error message.
pub(crate) fn truncate_for_message(text: &str) -> String {
    const MAX: usize = 64;
    if text.len() <= MAX {
        return text.escape_debug().to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", text[..end].escape_debug(), text.len())
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.to_hex();
        // The buffer holds only ASCII hex digits.
        f.write_str(std::str::from_utf8(&hex).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms_and_cases() {
        let a = SessionId::parse("3C81A8D7AFE64C2E9CCFFCDC35DC52F5").unwrap();
        let b = SessionId::parse("3c81a8d7afe64c2e9ccffcdc35dc52f5").unwrap();
        let c = SessionId::parse("3c81a8d7-afe6-4c2e-9ccf-fcdc35dc52f5").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.to_string(), "3C81A8D7AFE64C2E9CCFFCDC35DC52F5");
    }

    #[test]
    fn refuses_malformed_ids() {
        for bad in [
            "",
            "3C81A8D7AFE64C2E9CCFFCDC35DC52F",
            "3C81A8D7AFE64C2E9CCFFCDC35DC52F55",
            "3C81A8D7AFE64C2E9CCFFCDC35DC52FG",
            "3c81a8d7-afe6-4c2e-9ccf-fcdc35dc52f",
            "3c81a8d7afe6-4c2e-9ccf-fcdc35dc52f5-",
            "3c81a8d7_afe6_4c2e_9ccf_fcdc35dc52f5",
            "+C81A8D7AFE64C2E9CCFFCDC35DC52F5",
            "ÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿ",
        ] {
            let err = SessionId::parse(bad).unwrap_err();
            assert_eq!(err.kind, crate::error::ErrorKind::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn random_ids_are_v4_and_distinct() {
        let a = SessionId::random();
        let b = SessionId::random();
        assert_ne!(a, b);
        let text = a.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(&text[12..13], "4", "version nibble of {text}");
        assert!(
            matches!(&text[16..17], "8" | "9" | "A" | "B"),
            "variant of {text}"
        );
    }

    #[test]
    fn shard_is_in_range() {
        for _ in 0..1000 {
            assert!(SessionId::random().shard(64) < 64);
        }
        assert_eq!(SessionId(u128::MAX).shard(1), 0);
    }
}
