//! Case-insensitive name lookup that allocates nothing: privilege and role names are interned
//! once when a roles file loads, and looked up on every `has_privilege`.

/// Names in their declared spelling, found again in any case.
#[derive(Debug, Default, Clone)]
pub struct NameIndex {
    names: Vec<String>,
    /// (fold hash, position in `names`), sorted by hash.
    by_hash: Vec<(u64, u32)>,
}

impl NameIndex {
    /// Adds a name; returns its position, or `Err(existing position)` when a name equal to it
    /// in any case is already there.
    pub fn insert(&mut self, name: &str) -> Result<u32, u32> {
        if let Some(existing) = self.find(name) {
            return Err(existing);
        }
        let position = self.names.len() as u32;
        let hash = fold_hash(name);
        let at = self.by_hash.partition_point(|&(h, _)| h < hash);
        self.by_hash.insert(at, (hash, position));
        self.names.push(name.to_owned());
        Ok(position)
    }

    pub fn find(&self, name: &str) -> Option<u32> {
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
fn fold_hash(s: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for c in folded(s) {
        hash ^= c as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Equal ignoring case (Unicode lower-case mapping).
pub fn fold_eq(a: &str, b: &str) -> bool {
    (a.len() == b.len() && a.eq_ignore_ascii_case(b)) || folded(a).eq(folded(b))
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
