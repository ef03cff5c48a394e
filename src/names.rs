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

    fn bytes(self) -> &'a [u8] {
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
        Ok(position)
    }

    pub fn find(&self, name: &str) -> Option<u32> {
        self.find_query(Query::Text(name))
    }

    /// The declared spelling is found by one hash of its bytes; any other case by folding.
    pub fn find_query(&self, name: Query<'_>) -> Option<u32> {
        if let Some(&position) = self.exact.get(name.bytes()) {
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
