//! Case-insensitive name lookup that allocates nothing: privilege and role names are interned
//! once when a roles file loads, and looked up on every `has_privilege`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Names in their declared spelling, found again in any case.
#[derive(Debug, Default, Clone)]
pub struct NameIndex {
    names: Vec<String>,
    /// (fold hash, position in `names`), sorted by hash.
    by_hash: Vec<(u64, u32)>,
    /// The declared spellings, for the usual case of a name asked for as it was declared:
    /// found with one cheap hash and one comparison, before any case folding.
    exact: HashMap<Box<[u8]>, u32, BuildHasherDefault<WordHasher>>,
    /// The ASCII names of at most 16 bytes by their lower-cased bytes, in an open-addressing
    /// table (a power of two long, at least twice as long as the names in it): an ASCII name
    /// asked in any case is found with two words lower-cased, one multiply and one comparison.
    short: Vec<Short>,
    short_names: usize,
    /// Whether a name is not ASCII: an ASCII name asked may then equal it ignoring case
    /// (KELVIN SIGN lower-cases to `k`), so a miss in `short` is not the answer.
    non_ascii: bool,
}

/// An entry of the short-name table: `len` 0 is an empty place.
#[derive(Debug, Default, Clone, Copy)]
struct Short {
    len: u32,
    position: u32,
    words: [u64; 2],
}

/// ASCII bytes (at most 16) as two lower-cased little-endian words, zero-padded.
#[inline(always)]
fn short_words(bytes: &[u8]) -> [u64; 2] {
    use crate::id::bytes_in_range;
    let lower = |w: u64| {
        // 'A'..='Z' gain 0x20: the high bit of each upper-case byte, moved to 0x20.
        w | (bytes_in_range(w, b'A', b'Z') >> 2)
    };
    let [low, high] = padded_words(bytes);
    [lower(low), lower(high)]
}

/// At most 16 bytes as two little-endian words, zero-padded: read as two loads that may
/// overlap (the bytes they share are the same, so or-ing them changes nothing), not copied
/// into a buffer first (a `memcpy` call, and a load waiting on its stores).
#[inline(always)]
pub(crate) fn padded_words(bytes: &[u8]) -> [u64; 2] {
    let len = bytes.len();
    debug_assert!(len <= 16);
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    let u32_at = |at: usize| {
        u64::from(u32::from_le_bytes(
            bytes[at..at + 4].try_into().unwrap_or_default(),
        ))
    };
    match len {
        9..=16 => [u64_at(0), u64_at(len - 8) >> (8 * (16 - len))],
        8 => [u64_at(0), 0],
        4..=7 => [u32_at(0) | u32_at(len - 4) << (8 * (len - 4)), 0],
        1..=3 => {
            let byte = |at: usize| u64::from(bytes[at]) << (8 * at);
            [byte(0) | byte(len / 2) | byte(len - 1), 0]
        }
        _ => [0, 0],
    }
}

/// Files an ASCII name of at most 16 bytes in the short-name table (which has room).
fn file_short(short: &mut [Short], name: &str, position: u32) {
    let words = short_words(name.as_bytes());
    let mask = short.len() - 1;
    let mut at = short_place(words, name.len(), mask);
    while short[at].len != 0 {
        at = (at + 1) & mask;
    }
    short[at] = Short {
        len: name.len() as u32,
        position,
        words,
    };
}

fn short_place(words: [u64; 2], len: usize, mask: usize) -> usize {
    let h = (words[0] ^ words[1].rotate_left(29) ^ len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 32) as usize & mask
}

/// A name to look up: text, or bytes known to be ASCII (and so valid UTF-8 without a check).
#[derive(Clone, Copy, Debug)]
pub enum Query<'a> {
    Ascii(&'a [u8]),
    Text(&'a str),
}

impl<'a> Query<'a> {
    /// Bytes from outside: ASCII is taken as it is, anything else must be valid UTF-8.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Query<'a>, std::str::Utf8Error> {
        if bytes.is_ascii() {
            Ok(Query::Ascii(bytes))
        } else {
            std::str::from_utf8(bytes).map(Query::Text)
        }
    }

    fn is_ascii(self) -> bool {
        match self {
            Query::Ascii(_) => true,
            Query::Text(text) => text.is_ascii(),
        }
    }

    pub(crate) fn bytes(self) -> &'a [u8] {
        match self {
            Query::Ascii(bytes) => bytes,
            Query::Text(text) => text.as_bytes(),
        }
    }

    fn folded(self) -> impl Iterator<Item = char> + 'a {
        let (ascii, text) = match self {
            Query::Ascii(bytes) => (bytes, ""),
            Query::Text(text) => (&[][..], text),
        };
        ascii
            .iter()
            .map(|b| b.to_ascii_lowercase() as char)
            .chain(folded(text))
    }
}

/// A fast hash of short byte strings, eight bytes at a time. The names it hashes come from the
/// roles file (trusted); what is looked up only probes.
#[derive(Default)]
pub(crate) struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            self.0 = (self.0 ^ word)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .rotate_left(29);
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.0 = (self.0 ^ u64::from_le_bytes(tail) ^ bytes.len() as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_u8(&mut self, byte: u8) {
        self.0 = (self.0 ^ byte as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl NameIndex {
    /// Adds a name; returns its position, or `Err(existing position)` when a name equal to it
    /// in any case is already there.
    pub fn insert(&mut self, name: &str) -> Result<u32, u32> {
        if let Some(existing) = self.find(name) {
            return Err(existing);
        }
        let position = self.names.len() as u32;
        let hash = fold_hash(Query::Text(name));
        let at = self.by_hash.partition_point(|&(h, _)| h < hash);
        self.by_hash.insert(at, (hash, position));
        self.exact.insert(name.as_bytes().into(), position);
        self.names.push(name.to_owned());
        if !name.is_ascii() {
            self.non_ascii = true;
        } else if name.len() <= 16 {
            self.short_names += 1;
            if 2 * self.short_names > self.short.len() {
                let size = (4 * self.short_names).next_power_of_two();
                self.short = vec![Short::default(); size];
                for (position, name) in self.names.iter().enumerate() {
                    if name.is_ascii() && name.len() <= 16 {
                        file_short(&mut self.short, name, position as u32);
                    }
                }
            } else {
                file_short(&mut self.short, name, position);
            }
        }
        Ok(position)
    }

    pub fn find(&self, name: &str) -> Option<u32> {
        self.find_query(Query::Text(name))
    }

    /// The declared spelling is found by one hash of its bytes; any other case by folding.
    pub fn find_query(&self, name: Query<'_>) -> Option<u32> {
        let bytes = name.bytes();
        if bytes.len() <= 16 && !self.short.is_empty() && name.is_ascii() {
            let words = short_words(bytes);
            let mask = self.short.len() - 1;
            let mut at = short_place(words, bytes.len(), mask);
            loop {
                let entry = &self.short[at];
                if entry.len == 0 {
                    break;
                }
                if entry.len as usize == bytes.len() && entry.words == words {
                    return Some(entry.position);
                }
                at = (at + 1) & mask;
            }
            // Lower-casing keeps an ASCII name's length: no longer name equals it.
            if !self.non_ascii {
                return None;
            }
        }
        if let Some(&position) = self.exact.get(bytes) {
            return Some(position);
        }
        let hash = fold_hash(name);
        let start = self.by_hash.partition_point(|&(h, _)| h < hash);
        self.by_hash[start..]
            .iter()
            .take_while(|&&(h, _)| h == hash)
            .map(|&(_, position)| position)
            .find(|&position| fold_eq(&self.names[position as usize], name))
    }

    pub fn name(&self, position: u32) -> &str {
        &self.names[position as usize]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }
}

fn folded(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

/// FNV-1a over the lower-cased characters.
fn fold_hash(name: Query<'_>) -> u64 {
    name.folded().fold(0xcbf2_9ce4_8422_2325, |hash: u64, c| {
        (hash ^ c as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A declared name and a query, equal ignoring case (Unicode lower-case mapping).
fn fold_eq(declared: &str, name: Query<'_>) -> bool {
    let bytes = name.bytes();
    (declared.len() == bytes.len() && declared.as_bytes().eq_ignore_ascii_case(bytes))
        || folded(declared).eq(name.folded())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_words_are_the_bytes_zero_padded_at_every_length() {
        let source: Vec<u8> = (1..=16).map(|i| i as u8 * 7 + 0x20).collect();
        for len in 0..=16 {
            let mut padded = [0u8; 16];
            padded[..len].copy_from_slice(&source[..len]);
            let expected = [
                u64::from_le_bytes(padded[..8].try_into().unwrap()),
                u64::from_le_bytes(padded[8..].try_into().unwrap()),
            ];
            assert_eq!(padded_words(&source[..len]), expected, "{len} bytes");
        }
    }

    #[test]
    fn finds_in_any_case_and_refuses_duplicates() {
        let mut index = NameIndex::default();
        assert_eq!(index.insert("WebAdmin"), Ok(0));
        assert_eq!(index.insert("Élève"), Ok(1));
        assert_eq!(index.insert("webadmin"), Err(0));
        assert_eq!(index.find("WEBADMIN"), Some(0));
        assert_eq!(index.find("élÈVE"), Some(1));
        assert_eq!(index.find("web admin"), None);
        assert_eq!(index.name(1), "Élève");
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn declared_spelling_and_any_other_case_find_the_same() {
        let mut index = NameIndex::default();
        for name in ["WebAdmin", "Reports", "a-much-longer-privilege-name", "K"] {
            index.insert(name).unwrap();
        }
        assert_eq!(index.find("Reports"), Some(1));
        assert_eq!(index.find("reports"), Some(1));
        assert_eq!(index.find("A-MUCH-LONGER-PRIVILEGE-NAME"), Some(2));
        assert_eq!(
            index.find("\u{212A}"),
            Some(3),
            "KELVIN SIGN lower-cases to k"
        );
        assert_eq!(index.find("Report"), None);
        assert_eq!(index.find(""), None);
    }

    #[test]
    fn short_ascii_names_are_found_in_any_case_and_only_themselves() {
        let mut index = NameIndex::default();
        let names = [
            "a",
            "WebAdmin",
            "WebAdminA",
            "WebAdminB",
            "exactly-16-bytes",
            "exactly-17-bytes!",
            "Z@[`{",
        ];
        for name in names {
            index.insert(name).unwrap();
        }
        for (position, name) in names.iter().enumerate() {
            let upper = name.to_ascii_uppercase();
            let lower = name.to_ascii_lowercase();
            for asked in [*name, &upper, &lower] {
                assert_eq!(index.find(asked), Some(position as u32), "{asked}");
                let query = Query::Ascii(asked.as_bytes());
                assert_eq!(index.find_query(query), Some(position as u32), "{asked}");
            }
        }
        // Not letters: '@' and '`', '[' and '{' differ by 0x20 but are not one another's case.
        assert_eq!(index.find("z`{@["), None);
        assert_eq!(index.find("z@[`{"), Some(6));
        for absent in [
            "",
            "b",
            "WebAdmi",
            "WebAdminC",
            "WebAdmin ",
            "exactly-16-byte",
            "A\0",
        ] {
            assert_eq!(index.find(absent), None, "{absent}");
        }
    }

    #[test]
    fn an_ascii_name_asked_finds_a_declared_name_that_is_not_ascii() {
        let mut index = NameIndex::default();
        index.insert("Reports").unwrap();
        index.insert("\u{212A}ey").unwrap();
        assert_eq!(index.find_query(Query::Ascii(b"KEY")), Some(1));
        assert_eq!(index.find_query(Query::Ascii(b"reports")), Some(0));
        assert_eq!(index.find_query(Query::Ascii(b"kez")), None);
    }

    #[test]
    fn many_names() {
        let mut index = NameIndex::default();
        for i in 0..500 {
            index.insert(&format!("Priv{i}")).unwrap();
        }
        for i in 0..500 {
            assert_eq!(index.find(&format!("PRIV{i}")), Some(i));
        }
    }
}
