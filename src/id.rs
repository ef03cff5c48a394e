//! Session IDs: random (v4) UUIDs, written as 32 uppercase hex digits (4D's form).

use std::cell::Cell;
use std::fmt;

use rand::RngCore;

use crate::error::{Error, Result};

/// A session's ID. Only the library makes new ones ([`SessionId::random`]); callers parse them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId([u64; 2]);

impl SessionId {
    /// The ID of a session that a store gave by something other than its ID (a listing, a
    /// client number, a user's sessions): the Redis store keeps no ID, so none is known. Zero
    /// is no v4 UUID: no session has it, and it is written as "".
    pub(crate) const UNKNOWN: SessionId = SessionId([0, 0]);

    pub(crate) fn is_known(self) -> bool {
        self != SessionId::UNKNOWN
    }

    /// `f` of the ID as text: its 32 hex digits, or "" for [`SessionId::UNKNOWN`] (no
    /// allocation).
    pub(crate) fn with_text<R>(self, f: impl FnOnce(&str) -> R) -> R {
        let hex = self.to_hex();
        f(if self.is_known() {
            std::str::from_utf8(&hex).unwrap_or_default()
        } else {
            ""
        })
    }

    /// From the 128 bits (high word first). Kept as two words, not a `u128`: a `u128` would
    /// align every session to 16 bytes and push its hot fields off the slot's first cache line.
    pub(crate) fn from_value(value: u128) -> SessionId {
        SessionId([(value >> 64) as u64, value as u64])
    }

    pub(crate) fn value(self) -> u128 {
        ((self.0[0] as u128) << 64) | self.0[1] as u128
    }

    /// A new random v4 UUID, from a ChaCha generator per thread that the operating system
    /// seeds and periodically reseeds (rand's `ThreadRng`): no system call per ID. After a fork
    /// the child reseeds before its first ID, so it never repeats its parent's.
    pub(crate) fn random() -> SessionId {
        thread_local! {
            static FORKS_SEEN: Cell<u64> = const { Cell::new(0) };
        }
        let mut rng = rand::rng();
        let forks = crate::os::fork_count();
        if FORKS_SEEN.with(|seen| seen.replace(forks)) != forks {
            // If the OS cannot reseed now, ThreadRng keeps its state and retries later.
            let _ = rng.reseed();
        }
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        SessionId::from_value(
            uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .as_u128(),
        )
    }

    /// Parses 32 hex digits, or the dashed 8-4-4-4-12 form; either case. Anything else is
    /// `InvalidArgument`. Allocates nothing.
    pub fn parse(text: &str) -> Result<SessionId> {
        SessionId::parse_bytes(text.as_bytes())
    }

    /// As [`SessionId::parse`], on bytes that need not be UTF-8 (anything that is not an ID
    /// is refused all the same).
    pub fn parse_bytes(bytes: &[u8]) -> Result<SessionId> {
        let parsed = match bytes.len() {
            32 => bytes.try_into().ok().and_then(hex_u128),
            36 if bytes[8] == b'-'
                && bytes[13] == b'-'
                && bytes[18] == b'-'
                && bytes[23] == b'-' =>
            {
                let mut compact = [0u8; 32];
                compact[..8].copy_from_slice(&bytes[..8]);
                compact[8..12].copy_from_slice(&bytes[9..13]);
                compact[12..16].copy_from_slice(&bytes[14..18]);
                compact[16..20].copy_from_slice(&bytes[19..23]);
                compact[20..].copy_from_slice(&bytes[24..]);
                hex_u128(&compact)
            }
            _ => None,
        };
        match parsed {
            Some(words) => Ok(SessionId(words)),
            // The text is not repeated: one character off, it may still be most of a bearer token.
            None => Err(Error::invalid(format!(
                "not a session ID: {} bytes that are not 32 hex digits or the dashed UUID form",
                bytes.len()
            ))),
        }
    }

    /// The 32 uppercase hex digits, without allocating.
    pub fn to_hex(self) -> [u8; 32] {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut out = [0u8; 32];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 124 - 4 * i;
            *slot = HEX[((self.value() >> shift) & 0xF) as usize];
        }
        out
    }

    /// Which of `count` shards (a power of two) holds this ID: the top bits, which are random.
    pub(crate) fn shard(self, count: usize) -> usize {
        debug_assert!(count.is_power_of_two());
        (self.0[0] >> (64 - count.trailing_zeros().max(1))) as usize & (count - 1)
    }
}

pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `x` (all below 0x80) set where the byte is in `lo..=hi`.
#[inline(always)]
pub(crate) fn bytes_in_range(x: u64, lo: u8, hi: u8) -> u64 {
    let at_least_lo = x.wrapping_add(ONES * (0x80 - lo as u64));
    let above_hi = x.wrapping_add(ONES * (0x7F - hi as u64));
    at_least_lo & !above_hi & HIGH
}

/// 32 hex digits (either case) as 128 bits; `None` if any byte is not one. On x86-64, with
/// the SSE2 every such processor has: sixteen digits at a time, about 45 instructions for the
/// whole; elsewhere, eight at a time in general-purpose registers (about 140).
#[inline(always)]
fn hex_u128(digits: &[u8; 32]) -> Option<[u64; 2]> {
    // SAFETY: SSE2 is part of x86-64 itself: every processor that runs this build has it.
    #[cfg(target_arch = "x86_64")]
    return unsafe { hex_u128_sse2(digits) };
    #[cfg(not(target_arch = "x86_64"))]
    return hex_u128_words(digits);
}

/// [`hex_u128`] in 128-bit vectors: each of two halves of 16 digits checked (digits and
/// letters by signed compares: bytes of 0x80 and more are negative, so never in range) and
/// turned into 16 nibbles, pairs of nibbles shifted into bytes, the two halves' 8 bytes packed
/// into one vector in the text's order (big-endian), one branch at the end.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn hex_u128_sse2(digits: &[u8; 32]) -> Option<[u64; 2]> {
    use std::arch::x86_64::*;
    let word = |at: usize| i64::from_le_bytes(digits[at..at + 8].try_into().unwrap_or_default());
    let bytes = |b: u8| _mm_set1_epi8(b as i8);
    let half = |v: __m128i| {
        let lower = _mm_or_si128(v, bytes(0x20));
        let digit = _mm_and_si128(
            _mm_cmpgt_epi8(v, bytes(b'0' - 1)),
            _mm_cmplt_epi8(v, bytes(b'9' + 1)),
        );
        let letter = _mm_and_si128(
            _mm_cmpgt_epi8(lower, bytes(b'a' - 1)),
            _mm_cmplt_epi8(lower, bytes(b'f' + 1)),
        );
        // '0'..'9' have their value in the low nibble; 'a'..'f' and 'A'..'F' have 1..6 there.
        let nibbles = _mm_add_epi8(
            _mm_and_si128(v, bytes(0x0F)),
            _mm_and_si128(letter, bytes(9)),
        );
        // Each 16-bit lane holds two digits, the first in its low byte: (first << 4) | second.
        let pairs = _mm_or_si128(
            _mm_and_si128(_mm_slli_epi16::<4>(nibbles), _mm_set1_epi16(0xF0)),
            _mm_srli_epi16::<8>(nibbles),
        );
        (_mm_or_si128(digit, letter), pairs)
    };
    let (valid_a, a) = half(_mm_set_epi64x(word(8), word(0)));
    let (valid_b, b) = half(_mm_set_epi64x(word(24), word(16)));
    let valid = _mm_movemask_epi8(_mm_and_si128(valid_a, valid_b));
    let packed = _mm_packus_epi16(a, b);
    let high = _mm_cvtsi128_si64(packed) as u64;
    let low = _mm_cvtsi128_si64(_mm_unpackhi_epi64(packed, packed)) as u64;
    (valid == 0xFFFF).then(|| [high.swap_bytes(), low.swap_bytes()])
}

/// [`hex_u128`] in 64-bit words: the four words checked and converted side by side, with one
/// branch at the end.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn hex_u128_words(digits: &[u8; 32]) -> Option<[u64; 2]> {
    let mut valid = HIGH;
    let mut halves = [0u64; 4];
    for (half, chunk) in halves.iter_mut().zip(digits.chunks_exact(8)) {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let digit = bytes_in_range(x, b'0', b'9');
        let letter = bytes_in_range(x | (ONES * 0x20), b'a', b'f');
        // A byte of 0x80 or more is refused by `!x` (its neighbours' ranges may be off then,
        // which changes nothing: the whole is refused).
        valid &= (digit | letter) & !x;
        // '0'..'9' have their value in the low nibble; 'a'..'f' and 'A'..'F' have 1..6 there.
        let nibbles = (x & (ONES * 0x0F)) + (letter >> 7) * 9;
        // The first character is the most significant nibble: gather pairs, then pairs of
        // pairs.
        let pairs = ((nibbles << 4) | (nibbles >> 8)) & 0x00FF_00FF_00FF_00FF;
        let quads = ((pairs << 8) | (pairs >> 16)) & 0x0000_FFFF_0000_FFFF;
        *half = ((quads << 16) | (quads >> 32)) & 0xFFFF_FFFF;
    }
    (valid == HIGH).then(|| [halves[0] << 32 | halves[1], halves[2] << 32 | halves[3]])
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
    fn every_byte_in_every_position_is_judged_right() {
        let valid = b"0123456789abcdefABCDEF";
        let base = *b"3C81A8D7AFE64C2E9CCFFCDC35DC52F5";
        for position in 0..32 {
            for byte in 0..=255u8 {
                let mut text = base;
                text[position] = byte;
                let parsed = SessionId::parse_bytes(&text);
                // Both ways of converting, whichever this processor uses.
                let words = hex_u128_words(&text);
                if valid.contains(&byte) {
                    let expected =
                        u128::from_str_radix(std::str::from_utf8(&text).unwrap(), 16).unwrap();
                    assert_eq!(parsed.unwrap().value(), expected, "{position} {byte}");
                    let words = words.unwrap();
                    assert_eq!((words[0] as u128) << 64 | words[1] as u128, expected);
                } else {
                    assert!(parsed.is_err(), "byte {byte:#x} at {position} accepted");
                    assert!(words.is_none(), "byte {byte:#x} at {position} accepted");
                }
            }
        }
    }

    #[test]
    fn shard_is_in_range() {
        for _ in 0..1000 {
            assert!(SessionId::random().shard(64) < 64);
        }
        assert_eq!(SessionId::from_value(u128::MAX).shard(1), 0);
    }
}
