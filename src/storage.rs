//! A session's `.storage`: one JSON object, read and written at RFC 6901 JSON Pointers, patched
//! with RFC 7386 merge patches. Every write is all-or-nothing and keeps the object's compact
//! JSON text under a size limit.
//!
//! The object is kept as that compact text (what `serde_json` would write, members in key
//! order) with the place of each top-level member beside it, not as a parsed tree: reading the
//! whole storage or one top-level value is one copy, and the size is the text's length. A write
//! builds the new text (copying the members it leaves alone) and replaces the old one only if
//! it fits, so a write costs time in proportion to the storage's size. Below the top level, a
//! read or write parses only the one member it goes through.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::id::truncate_for_message;
use crate::json_text::{push_string, push_value, string_len, value_len};

#[derive(Debug, Clone, Default)]
pub struct Storage {
    /// The object's compact JSON text; empty for `{}` (so that an empty storage allocates
    /// nothing).
    text: Box<str>,
    /// Where each top-level member is in `text`, in key order.
    members: Box<[Member]>,
}

/// A member's place in the text: `"key":value` starts at `start`.
#[derive(Debug, Clone, Copy)]
struct Member {
    start: u32,
    /// The key's JSON text, quotes included.
    key_len: u32,
    value_len: u32,
}

impl Member {
    fn key_range(self) -> std::ops::Range<usize> {
        let start = self.start as usize;
        start..start + self.key_len as usize
    }
    fn value_range(self) -> std::ops::Range<usize> {
        let start = self.start as usize + self.key_len as usize + 1;
        start..start + self.value_len as usize
    }
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.value_range().end
    }
}

/// A new storage text, written member by member in key order.
struct Builder {
    text: String,
    members: Vec<Member>,
}

impl Builder {
    fn with_capacity(bytes: usize, members: usize) -> Builder {
        let mut text = String::with_capacity(bytes);
        text.push('{');
        Builder {
            text,
            members: Vec::with_capacity(members),
        }
    }

    fn offset(&self) -> u32 {
        // Texts over 4 GiB never reach a storage: `finish` refuses anything over the limit,
        // which is at most 1 GiB.
        u32::try_from(self.text.len()).unwrap_or(u32::MAX)
    }

    /// Appends a member from its key's JSON text and its value's JSON text.
    fn push(&mut self, key_json: &str, value_json: &str) {
        if !self.members.is_empty() {
            self.text.push(',');
        }
        let start = self.offset();
        self.text.push_str(key_json);
        self.text.push(':');
        self.text.push_str(value_json);
        self.members.push(Member {
            start,
            key_len: key_json.len() as u32,
            value_len: value_json.len() as u32,
        });
    }

    /// Appends a member whose key is raw text and whose value is JSON text.
    fn push_text(&mut self, key: &str, value_json: &str) {
        self.push_with(key, |text| text.push_str(value_json));
    }

    /// Appends a member whose key is raw text and whose value is a parsed value.
    fn push_parsed(&mut self, key: &str, value: &Value) {
        self.push_with(key, |text| push_value(text, value));
    }

    /// Appends a member whose key is raw text and whose value `write` writes.
    fn push_with(&mut self, key: &str, write: impl FnOnce(&mut String)) {
        if !self.members.is_empty() {
            self.text.push(',');
        }
        let start = self.offset();
        push_string(&mut self.text, key);
        let key_len = self.offset() - start;
        self.text.push(':');
        let value_start = self.offset();
        write(&mut self.text);
        self.members.push(Member {
            start,
            key_len,
            value_len: self.offset() - value_start,
        });
    }

    /// The storage, if its text fits in `max_bytes`.
    fn finish(mut self, max_bytes: usize) -> Result<Storage> {
        if self.members.is_empty() {
            check_size(2, max_bytes)?;
            return Ok(Storage::default());
        }
        self.text.push('}');
        check_size(self.text.len(), max_bytes)?;
        Ok(Storage {
            text: self.text.into_boxed_str(),
            members: self.members.into_boxed_slice(),
        })
    }
}

impl Storage {
    /// Length of the compact JSON text.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.text.len().max(2)
    }

    /// Where its member table and its text are in memory, packed in one word for
    /// [`Storage::prefetch`]: read through a session's slot before the session is, so that the
    /// waits for the session and for its storage overlap. Never followed as a pointer: `0`
    /// when the storage is empty (or its text lies above 2^48, where no user space reaches).
    pub fn address_hint(&self) -> u64 {
        if self.text.is_empty() {
            return 0;
        }
        packed_hint(self.text.as_ptr() as u64, self.members.as_ptr() as u64)
    }

    /// Starts bringing in the member table and the text of the storage whose
    /// [`Storage::address_hint`] is `hint` (a hint only: a stale one costs a wasted prefetch).
    /// No branch: a hint of nothing prefetches address 0, one without the table the text twice.
    #[inline(always)]
    pub fn prefetch(hint: u64) {
        let [text, members] = hinted_addresses(hint);
        crate::prefetch::prefetch(text);
        crate::prefetch::prefetch(members);
    }

    /// The whole object as compact JSON text.
    pub fn to_json(&self) -> String {
        owned(self.json_text())
    }

    /// The object's JSON text (`{}` when empty).
    fn json_text(&self) -> &str {
        if self.text.is_empty() {
            "{}"
        } else {
            &self.text
        }
    }

    /// The raw key of a member (its JSON text unescaped).
    fn key(&self, member: Member) -> Cow<'_, str> {
        let json = &self.text[member.key_range()];
        let inner = &json[1..json.len() - 1];
        if !inner.contains('\\') {
            return Cow::Borrowed(inner);
        }
        // Written by `push_string`, so always a valid string literal.
        Cow::Owned(serde_json::from_str(json).unwrap_or_default())
    }

    /// The member holding `key`, or where it would go.
    fn find(&self, key: &str) -> std::result::Result<usize, usize> {
        // A session's storage usually holds a few keys: walked in order, they cost fewer
        // instructions than a binary search's bookkeeping.
        if self.members.len() <= 8 {
            // Where the keys are in the text comes from the members: the text's first line is
            // read now, beside them, instead of after them (on a cache miss, one wait, not two).
            std::hint::black_box(self.text.as_bytes().first().copied());
            for (i, member) in self.members.iter().enumerate() {
                match self.compare_key(*member, key) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => return Ok(i),
                    std::cmp::Ordering::Greater => return Err(i),
                }
            }
            return Err(self.members.len());
        }
        self.members.binary_search_by(|m| self.compare_key(*m, key))
    }

    /// A member's key against `key`, as [`Storage::key`]`(member).cmp(key)` would order them,
    /// without a call or an allocation while the stored text has no escape up to where the
    /// two differ: JSON text without a backslash is its own unescaped value, so until one
    /// appears the stored bytes are the key's bytes.
    fn compare_key(&self, member: Member, key: &str) -> std::cmp::Ordering {
        let range = member.key_range();
        let stored = &self.text.as_bytes()[range.start + 1..range.end - 1];
        let bytes = key.as_bytes();
        for (i, &byte) in stored.iter().enumerate() {
            if byte == b'\\' {
                return self.key(member).as_ref().cmp(key);
            }
            match bytes.get(i) {
                // The stored key goes on (with at least one more character): it is greater.
                None => return std::cmp::Ordering::Greater,
                Some(&k) if k != byte => return byte.cmp(&k),
                Some(_) => {}
            }
        }
        stored.len().cmp(&bytes.len())
    }

    fn value_text(&self, member: Member) -> &str {
        &self.text[member.value_range()]
    }

    /// The value of member `index`, parsed.
    fn parse_member(&self, index: usize) -> Result<Value> {
        serde_json::from_str(self.value_text(self.members[index]))
            .map_err(|e| Error::new(ErrorKind::Internal, format!("stored JSON unreadable: {e}")))
    }

    /// The value at `pointer`, as JSON text; `NoValue` when nothing is there (a stored `null`
    /// is `"null"`).
    pub fn get(&self, pointer: &str) -> Result<String> {
        self.get_with(pointer, owned)
    }

    /// As [`Storage::get`], the text handed to `copy` instead of copied into a `String`: the
    /// caller copies it where its answer goes (the C boundary, straight into the string it
    /// returns), once.
    pub fn get_with<T>(&self, pointer: &str, copy: impl FnOnce(&str) -> T) -> Result<T> {
        self.lookup(pointer, copy, || Err(no_value(pointer)))
    }

    /// As [`Storage::get_with`], with nothing at `pointer` as `None` (no error built to be
    /// dropped: a request often finds nothing yet).
    pub fn get_if_any<T>(&self, pointer: &str, copy: impl FnOnce(&str) -> T) -> Result<Option<T>> {
        self.lookup(pointer, |text| Some(copy(text)), || Ok(None))
    }

    /// The value at `pointer` through `found`, or `missing()` when nothing is there: each
    /// caller's own copy, so that neither pays for the other's answer.
    #[inline(always)]
    fn lookup<T>(
        &self,
        pointer: &str,
        found: impl FnOnce(&str) -> T,
        missing: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        // The usual case, one plain key ("/cart"), without building a token list.
        if let Some(key) = plain_key(pointer) {
            return match self.find(key) {
                Ok(index) => Ok(found(self.value_text(self.members[index]))),
                Err(_) => missing(),
            };
        }
        let tokens = parse_pointer(pointer)?;
        let Some((first, rest)) = tokens.split_first() else {
            return Ok(found(self.json_text()));
        };
        let Ok(index) = self.find(first) else {
            return missing();
        };
        if rest.is_empty() {
            return Ok(found(self.value_text(self.members[index])));
        }
        let member = self.parse_member(index)?;
        match find_in(&member, rest) {
            Some(value) => {
                let mut out = String::new();
                push_value(&mut out, value);
                Ok(found(&out))
            }
            None => missing(),
        }
    }

    /// The top-level member a plain one-key pointer (`"/n"`) names, and its value, when that
    /// value is an integer written as one that fits an `i64` (what `Value::as_i64` accepts of
    /// a parsed value; `-0` is left to the parsed path); `None` for anything else.
    pub fn integer_member(&self, pointer: &str) -> Option<(usize, i64)> {
        let index = self.plain_member(pointer)?;
        let text = self.value_text(self.members[index]);
        let digits = text.strip_prefix('-').unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || text == "-0" {
            return None;
        }
        Some((index, text.parse().ok()?))
    }

    /// Writes `value` as the value of member `index` (from [`Storage::integer_member`]),
    /// splicing its digits into the text. All or nothing.
    pub fn set_integer_member(&mut self, index: usize, value: i64, max_bytes: usize) -> Result<()> {
        let mut buffer = [0u8; 20];
        self.set_member_text(index, decimal(value, &mut buffer), max_bytes)
    }

    /// The member a plain one-key pointer (`"/cart"`) names, if it is there.
    pub fn plain_member(&self, pointer: &str) -> Option<usize> {
        self.find(plain_key(pointer)?).ok()
    }

    /// Writes `json` (compact JSON text, as this storage keeps it: see [`compact_scalar`]) as
    /// the value of member `index`, splicing it into the text: the members after it only move.
    /// All or nothing.
    pub fn set_member_text(&mut self, index: usize, json: &str, max_bytes: usize) -> Result<()> {
        let range = self.members[index].value_range();
        let new_len = self.text.len() - range.len() + json.len();
        check_size(new_len, max_bytes)?;
        let shift = json.len() as i64 - range.len() as i64;
        if shift == 0 {
            // As long as the old value: copied over it, no allocation.
            let mut bytes = std::mem::take(&mut self.text).into_boxed_bytes();
            bytes[range].copy_from_slice(json.as_bytes());
            self.text = String::from_utf8(bytes.into_vec())
                .expect("UTF-8 text with one value replaced by another stays UTF-8")
                .into_boxed_str();
            return Ok(());
        }
        // Built at its exact size in three copies (String::replace_range copies byte by byte).
        let mut text = String::with_capacity(new_len);
        text.push_str(&self.text[..range.start]);
        text.push_str(json);
        text.push_str(&self.text[range.end..]);
        self.text = text.into_boxed_str();
        self.members[index].value_len = json.len() as u32;
        for m in &mut self.members[index + 1..] {
            m.start = (i64::from(m.start) + shift) as u32;
        }
        Ok(())
    }

    /// The value at `pointer`, parsed; `None` when nothing is there (a missing parent
    /// included). A malformed pointer is `InvalidArgument`.
    pub fn value_at(&self, pointer: &str) -> Result<Option<Value>> {
        match self.get(pointer) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                Error::new(ErrorKind::Internal, format!("stored JSON unreadable: {e}"))
            }),
            Err(e) if e.kind == ErrorKind::NoValue => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores `value` at `pointer` (`""` replaces the whole object, and must be an object). The
    /// parent must exist; in an array, the index may be one past the end, or `-`, to append.
    pub fn set(&mut self, pointer: &str, value: Value, max_bytes: usize) -> Result<()> {
        let tokens = parse_pointer(pointer)?;
        let Some((first, rest)) = tokens.split_first() else {
            *self = from_root(&value, max_bytes)?;
            return Ok(());
        };
        if rest.is_empty() {
            return self.replace(first, Some(&value), max_bytes);
        }
        let index = self.find(first).map_err(|_| no_parent(pointer))?;
        let mut member = self.parse_member(index)?;
        set_in(&mut member, pointer, rest, value)?;
        self.replace(first, Some(&member), max_bytes)
    }

    /// Removes the value at `pointer`; `NoValue` when nothing is there.
    pub fn remove(&mut self, pointer: &str) -> Result<()> {
        let tokens = parse_pointer(pointer)?;
        let Some((first, rest)) = tokens.split_first() else {
            return Err(Error::invalid(
                "the storage root cannot be removed; set \"\" to {} to empty it",
            ));
        };
        let index = self.find(first).map_err(|_| no_value(pointer))?;
        if rest.is_empty() {
            return self.replace(first, None, usize::MAX);
        }
        let mut member = self.parse_member(index)?;
        remove_in(&mut member, pointer, rest)?;
        self.replace(first, Some(&member), usize::MAX)
    }

    /// Applies an RFC 7386 merge patch to the whole object.
    pub fn merge(&mut self, patch: &Value, max_bytes: usize) -> Result<()> {
        let Value::Object(patch) = patch else {
            return Err(Error::invalid(
                "a merge patch for the storage must be a JSON object (anything else would replace the root)",
            ));
        };
        let mut out = Builder::with_capacity(self.text.len() + 16, self.members.len());
        let mut existing = self.members.iter().copied().peekable();
        for (key, change) in patch {
            // The members before this key stay as they are.
            while let Some(member) = existing.next_if(|m| self.key(*m).as_ref() < key.as_str()) {
                out.push(&self.text[member.key_range()], self.value_text(member));
            }
            let old = existing.next_if(|m| self.key(*m) == key.as_str());
            match change {
                Value::Null => {}
                Value::Object(inner) => {
                    let mut merged = match old {
                        Some(member) => serde_json::from_str(self.value_text(member))
                            .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?,
                        None => Value::Null,
                    };
                    merge_into(&mut merged, inner);
                    out.push_parsed(key, &merged);
                }
                other => out.push_parsed(key, other),
            }
        }
        for member in existing {
            out.push(&self.text[member.key_range()], self.value_text(member));
        }
        *self = out.finish(max_bytes)?;
        Ok(())
    }

    /// Replaces (or with `None`, removes) the top-level member `key`; all or nothing. The new
    /// text is allocated at its exact size and written once; the index is changed in place
    /// unless a member comes or goes.
    fn replace(&mut self, key: &str, value: Option<&Value>, max_bytes: usize) -> Result<()> {
        let at = self.find(key);
        let (before, after) = match at {
            Ok(i) => (i, i + 1),
            Err(i) => (i, i),
        };
        // The text is '{' prefix [',' member] [',' suffix] '}', with the commas only between
        // parts that are there.
        let prefix = match before.checked_sub(1) {
            Some(last) => 1..self.members[last].range().end,
            None => 1..1,
        };
        let suffix = match self.members.get(after) {
            Some(next) => next.start as usize..self.text.len() - 1,
            None => 0..0,
        };
        let key_json_len = match at {
            Ok(i) => self.members[i].key_len as usize,
            Err(_) => string_len(key),
        };
        let value_len = value.map(value_len);
        let member_len = value_len.map(|v| key_json_len + 1 + v);
        let parts = [prefix.len(), member_len.unwrap_or(0), suffix.len()];
        let present = parts.iter().filter(|len| **len > 0).count();
        let new_len = 2 + parts.iter().sum::<usize>() + present.saturating_sub(1);
        check_size(new_len, max_bytes)?;
        if present == 0 {
            *self = Storage::default();
            return Ok(());
        }

        let mut text = String::with_capacity(new_len);
        text.push('{');
        if !prefix.is_empty() {
            text.push_str(&self.text[prefix.clone()]);
        }
        let mut new_member = None;
        if let (Some(value), Some(value_len)) = (value, value_len) {
            if !prefix.is_empty() {
                text.push(',');
            }
            let start = text.len() as u32;
            match at {
                Ok(i) => text.push_str(&self.text[self.members[i].key_range()]),
                Err(_) => push_string(&mut text, key),
            }
            text.push(':');
            push_value(&mut text, value);
            new_member = Some(Member {
                start,
                key_len: key_json_len as u32,
                value_len: value_len as u32,
            });
        }
        // How far the members after it move.
        let shift = (text.len() + usize::from(!suffix.is_empty() && text.len() > 1)) as i64
            - suffix.start as i64;
        if !suffix.is_empty() {
            if text.len() > 1 {
                text.push(',');
            }
            text.push_str(&self.text[suffix]);
        }
        text.push('}');
        debug_assert_eq!(text.len(), new_len);

        let moved = |m: &Member| Member {
            start: (i64::from(m.start) + shift) as u32,
            ..*m
        };
        match (at, new_member) {
            (Ok(i), Some(member)) => {
                self.members[i] = member;
                for m in &mut self.members[after..] {
                    *m = moved(m);
                }
            }
            _ => {
                let mut members = Vec::with_capacity(before + 1 + self.members.len() - after);
                members.extend_from_slice(&self.members[..before]);
                members.extend(new_member);
                members.extend(self.members[after..].iter().map(moved));
                self.members = members.into_boxed_slice();
            }
        }
        self.text = text.into_boxed_str();
        Ok(())
    }
}

/// The text's address in the upper 48 bits (user-space addresses are below 2^47), the member
/// table's distance from it in the lower 16: both are allocated one after the other, so
/// usually a few hundred bytes apart. Farther: only the text is hinted. A text above 2^48: 0.
fn packed_hint(text: u64, members: u64) -> u64 {
    let distance = i16::try_from(members.wrapping_sub(text) as i64).unwrap_or(0);
    if text >> 48 != 0 {
        return 0;
    }
    text << 16 | u64::from(distance as u16)
}

/// The text's and the member table's addresses that [`Storage::address_hint`] packed (the
/// text's again when the table was too far to pack).
#[inline(always)]
fn hinted_addresses(hint: u64) -> [usize; 2] {
    let text = (hint >> 16) as usize;
    [
        text,
        text.wrapping_add_signed(isize::from(hint as u16 as i16)),
    ]
}

/// `json` if it is a scalar written exactly as this storage would write it once parsed (so that
/// it can be stored as it is): `true`, `false`, `null`, an integer that fits an `i64` (not
/// `-0`), or a string with nothing to escape (no quote, backslash or control character inside).
pub fn compact_scalar(json: &str) -> Option<&str> {
    let bytes = json.as_bytes();
    let plain = match bytes.first()? {
        b't' | b'f' | b'n' => matches!(json, "true" | "false" | "null"),
        b'"' => {
            bytes.len() >= 2
                && bytes[bytes.len() - 1] == b'"'
                && !crate::json_text::any_needs_escape(&json[1..json.len() - 1])
        }
        b'-' | b'0'..=b'9' => {
            let digits = json.strip_prefix('-').unwrap_or(json);
            !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && (digits == "0" || !digits.starts_with('0'))
                && json != "-0"
                && json.parse::<i64>().is_ok()
        }
        _ => false,
    };
    plain.then_some(json)
}

/// `value` in decimal, written into `buffer` (an `i64` needs at most 20 bytes).
fn decimal(value: i64, buffer: &mut [u8; 20]) -> &str {
    let mut n = value.unsigned_abs();
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if value < 0 {
        at -= 1;
        buffer[at] = b'-';
    }
    // ASCII digits and a sign only.
    std::str::from_utf8(&buffer[at..]).unwrap_or_default()
}

/// The key of a pointer to one top-level member with no escapes in it (`"/cart"`): the usual
/// case, which needs no token list.
pub fn plain_key(pointer: &str) -> Option<&str> {
    // A byte loop: a `[char]` pattern costs about a hundred instructions on a one-letter key.
    pointer
        .strip_prefix('/')
        .filter(|k| !k.bytes().any(|b| b == b'/' || b == b'~'))
}

/// A copy of `text` with one byte to spare, so that the C terminator the FFI layer appends
/// needs no second allocation.
fn owned(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    out.push_str(text);
    out
}

/// A storage holding the members of `map`.
fn from_map(map: &Map<String, Value>, max_bytes: usize) -> Result<Storage> {
    // Sized exactly, and checked before anything is written.
    let len = 2
        + map.len().saturating_sub(1)
        + map
            .iter()
            .map(|(k, v)| string_len(k) + 1 + value_len(v))
            .sum::<usize>();
    check_size(len, max_bytes)?;
    let mut out = Builder::with_capacity(len, map.len());
    for (key, value) in map {
        out.push_parsed(key, value);
    }
    out.finish(max_bytes)
}

/// The value below `tokens` of `value`.
fn find_in<'a>(mut value: &'a Value, tokens: &[Cow<'_, str>]) -> Option<&'a Value> {
    for token in tokens {
        value = match value {
            Value::Object(map) => map.get(token.as_ref())?,
            Value::Array(items) => {
                items.get(array_index(token, items.len()).filter(|i| *i < items.len())?)?
            }
            _ => return None,
        };
    }
    Some(value)
}

fn find_in_mut<'a>(mut value: &'a mut Value, tokens: &[Cow<'_, str>]) -> Option<&'a mut Value> {
    for token in tokens {
        value = match value {
            Value::Object(map) => map.get_mut(token.as_ref())?,
            Value::Array(items) => {
                let i = array_index(token, items.len()).filter(|i| *i < items.len())?;
                items.get_mut(i)?
            }
            _ => return None,
        };
    }
    Some(value)
}

/// Sets `value` at `tokens` (at least one) below `member`.
fn set_in(member: &mut Value, pointer: &str, tokens: &[Cow<'_, str>], value: Value) -> Result<()> {
    let Some((last, parents)) = tokens.split_last() else {
        *member = value;
        return Ok(());
    };
    match find_in_mut(member, parents).ok_or_else(|| no_parent(pointer))? {
        Value::Object(map) => {
            map.insert(last.to_string(), value);
            Ok(())
        }
        Value::Array(items) => match array_index(last, items.len()) {
            Some(i) if i < items.len() => {
                items[i] = value;
                Ok(())
            }
            Some(_) => {
                items.push(value);
                Ok(())
            }
            None => Err(not_an_index(pointer, last, items.len())),
        },
        _ => Err(not_a_container(pointer)),
    }
}

/// Removes the value at `tokens` (at least one) below `member`.
fn remove_in(member: &mut Value, pointer: &str, tokens: &[Cow<'_, str>]) -> Result<()> {
    let Some((last, parents)) = tokens.split_last() else {
        return Err(no_value(pointer));
    };
    match find_in_mut(member, parents).ok_or_else(|| no_parent(pointer))? {
        Value::Object(map) => map
            .remove(last.as_ref())
            .map(drop)
            .ok_or_else(|| no_value(pointer)),
        Value::Array(items) => match array_index(last, items.len()) {
            Some(i) if i < items.len() => {
                items.remove(i);
                Ok(())
            }
            _ => Err(no_value(pointer)),
        },
        _ => Err(not_a_container(pointer)),
    }
}

/// An array index token: `-` (one past the end) or a decimal without leading zeros.
fn array_index(token: &str, len: usize) -> Option<usize> {
    if token == "-" {
        return Some(len);
    }
    if token.is_empty()
        || (token.len() > 1 && token.starts_with('0'))
        || !token.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    token.parse::<usize>().ok().filter(|i| *i <= len)
}

/// Splits an RFC 6901 pointer into its reference tokens, with `~1` and `~0` decoded.
pub fn parse_pointer(pointer: &str) -> Result<Vec<Cow<'_, str>>> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(Error::invalid(format!(
            "\"{}\" is not a JSON Pointer: it must be \"\" or start with \"/\"",
            truncate_for_message(pointer)
        )));
    };
    rest.split('/')
        .map(|token| {
            if !token.contains('~') {
                return Ok(Cow::Borrowed(token));
            }
            let mut out = String::with_capacity(token.len());
            let mut chars = token.chars();
            while let Some(c) = chars.next() {
                if c != '~' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('0') => out.push('~'),
                    Some('1') => out.push('/'),
                    _ => {
                        return Err(Error::invalid(format!(
                            "\"{}\" is not a JSON Pointer: \"~\" must be followed by 0 or 1",
                            truncate_for_message(pointer)
                        )));
                    }
                }
            }
            Ok(Cow::Owned(out))
        })
        .collect()
}

fn merge_into(target: &mut Value, patch: &Map<String, Value>) {
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            match value {
                Value::Null => {
                    map.remove(key);
                }
                Value::Object(inner) => {
                    merge_into(map.entry(key.clone()).or_insert(Value::Null), inner)
                }
                other => {
                    map.insert(key.clone(), other.clone());
                }
            }
        }
    }
}

/// A storage from the compact text of an object, as [`Storage::to_json`] wrote it: its members
/// are found, each value kept as its text, without building a tree. Anything but an object is
/// `InvalidJson`.
pub fn from_compact_object(text: &str) -> Result<Storage> {
    let members: std::collections::BTreeMap<String, &serde_json::value::RawValue> =
        serde_json::from_str(text).map_err(|_| {
            Error::new(
                ErrorKind::InvalidJson,
                "the storage text is not a JSON object",
            )
        })?;
    let mut out = Builder::with_capacity(text.len(), members.len());
    for (key, value) in &members {
        out.push_text(key, value.get());
    }
    out.finish(usize::MAX)
}

/// A storage holding `value`, which must be an object within the size limit.
pub fn from_root(value: &Value, max_bytes: usize) -> Result<Storage> {
    match value {
        Value::Object(map) => from_map(map, max_bytes),
        _ => Err(not_an_object()),
    }
}

/// Whether `value` may replace the whole storage: an object within the size limit.
pub fn check_root(value: &Value, max_bytes: usize) -> Result<()> {
    if !value.is_object() {
        return Err(not_an_object());
    }
    check_size(value_len(value), max_bytes)
}

fn not_an_object() -> Error {
    Error::invalid("the storage root must stay a JSON object; set a key under it instead")
}

fn check_size(new_bytes: usize, max_bytes: usize) -> Result<()> {
    if new_bytes > max_bytes {
        return Err(Error::limit(format!(
            "the storage would hold {new_bytes} bytes of JSON, over maxStorageBytes ({max_bytes})"
        )));
    }
    Ok(())
}

fn no_value(pointer: &str) -> Error {
    Error::new(
        ErrorKind::NoValue,
        format!("no value at \"{}\"", truncate_for_message(pointer)),
    )
}

fn no_parent(pointer: &str) -> Error {
    Error::new(
        ErrorKind::NoValue,
        format!(
            "no value at the parent of \"{}\": create it first",
            truncate_for_message(pointer)
        ),
    )
}

fn not_an_index(pointer: &str, token: &str, len: usize) -> Error {
    Error::new(
        ErrorKind::NoValue,
        format!(
            "\"{}\": \"{}\" is not an index of an array of {len} items",
            truncate_for_message(pointer),
            truncate_for_message(token),
        ),
    )
}

fn not_a_container(pointer: &str) -> Error {
    Error::invalid(format!(
        "\"{}\": its parent is neither an object nor an array",
        truncate_for_message(pointer)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MAX: usize = 1 << 20;

    #[test]
    fn the_address_hint_gives_back_the_text_and_the_member_table() {
        assert_eq!(Storage::default().address_hint(), 0);
        assert_eq!(hinted_addresses(0), [0, 0]);
        let mut storage = from_root(&json!({"n": 0, "v": "x"}), MAX).unwrap();
        // Many writes: the text moves with each, the table as members come. Whether the two
        // lie close enough to pack is the allocator's (other tests' threads allocate too):
        // both ways are checked on made-up addresses below.
        for n in 0..200 {
            let hint = storage.address_hint();
            let [text, members] = hinted_addresses(hint);
            assert_eq!(text, storage.text.as_ptr() as usize);
            if members != storage.members.as_ptr() as usize {
                assert_eq!(members, text, "not packed: the text twice");
                assert!(
                    (storage.members.as_ptr() as i64 - storage.text.as_ptr() as i64).abs()
                        > i64::from(i16::MAX)
                );
            }
            Storage::prefetch(hint);
            let value = "y".repeat(n % 60);
            storage
                .set(&format!("/k{}", n % 8), json!(value), usize::MAX)
                .unwrap();
        }
        // Both ways, on addresses made up: the table before the text and after it, at the
        // edges of what 16 bits reach and beyond.
        let text = 0x7f12_3456_7890_u64;
        let (lowest, highest) = (i64::from(i16::MIN), i64::from(i16::MAX));
        for distance in [
            1,
            -1,
            48,
            -4096,
            highest,
            lowest,
            highest + 1,
            lowest - 1,
            1 << 40,
        ] {
            let members = text.wrapping_add_signed(distance);
            // Out of reach, the text's address stands for both.
            let table = if (lowest..=highest).contains(&distance) {
                members
            } else {
                text
            };
            assert_eq!(
                hinted_addresses(packed_hint(text, members)),
                [text as usize, table as usize],
                "{distance}"
            );
        }
        assert_eq!(packed_hint(1 << 48, (1 << 48) + 8), 0, "above user space");
        // A hint of a storage since freed is only a wasted prefetch.
        let stale = storage.address_hint();
        drop(storage);
        Storage::prefetch(stale);
    }

    /// The size is the text's, the text is serde_json's writing of itself, and the index of
    /// members points at every member's key and value.
    fn check_bytes(storage: &Storage) {
        let json = storage.to_json();
        assert_eq!(storage.bytes(), json.len(), "{json}");
        let parsed: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
        let map = parsed.as_object().unwrap();
        assert_eq!(storage.members.len(), map.len());
        for (member, (key, value)) in storage.members.iter().zip(map) {
            assert_eq!(storage.key(*member), key.as_str());
            assert_eq!(
                storage.value_text(*member),
                serde_json::to_string(value).unwrap()
            );
        }
    }

    /// The byte comparison of keys orders them as their unescaped text does, escapes or not,
    /// and so every key is found again.
    #[test]
    fn keys_compare_as_their_unescaped_text() {
        let keys = [
            "",
            "a",
            "ab",
            "a\"b",
            "a\\b",
            "a\nb",
            "a\u{1}",
            "b",
            "é",
            "éa",
            "\u{7f}",
            "zz\t",
            "\"",
            "\\",
            "a\u{2028}",
        ];
        let mut map = Map::new();
        for key in keys {
            map.insert(key.to_owned(), json!(1));
        }
        let storage = from_map(&map, MAX).unwrap();
        for member in storage.members.iter() {
            for query in keys.iter().chain(&["a\\", "aa", "a\"", "\\\\", "z"]) {
                assert_eq!(
                    storage.compare_key(*member, query),
                    storage.key(*member).as_ref().cmp(*query),
                    "{:?} against {query:?}",
                    storage.key(*member)
                );
            }
        }
        for (i, key) in keys.iter().enumerate() {
            let found = storage.find(key).expect("every key is found");
            assert_eq!(storage.key(storage.members[found]), *key, "{i}");
        }
        assert!(storage.find("missing").is_err());
    }

    /// The same writes applied to the storage and to a plain serde_json tree give the same
    /// text, whatever the keys hold (escapes, non-ASCII, prefixes of each other).
    #[test]
    fn agrees_with_a_plain_tree_through_mixed_writes() {
        let keys = ["a", "ab", "", "b\"", "é", "\u{1}x", "z", "a~b", "a/b"];
        let mut storage = Storage::default();
        let mut tree = json!({});
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let escape = |k: &str| k.replace('~', "~0").replace('/', "~1");
        for round in 0..2_000 {
            let key = keys[next(keys.len())];
            let pointer = format!("/{}", escape(key));
            let value = match next(4) {
                0 => json!(round),
                1 => json!({"n": round, "f": 0.1 * round as f64, "l": [1, "two"]}),
                2 => json!(format!("text \"{round}\"\n")),
                _ => json!(null),
            };
            match next(6) {
                0 | 1 => {
                    storage.set(&pointer, value.clone(), MAX).unwrap();
                    tree[key] = value;
                }
                2 => {
                    let removed = tree.as_object_mut().unwrap().remove(key).is_some();
                    assert_eq!(storage.remove(&pointer).is_ok(), removed);
                }
                3 => {
                    let deep = format!("{pointer}/n");
                    let result = storage.set(&deep, json!(round), MAX);
                    match tree.get_mut(key) {
                        Some(Value::Object(map)) => {
                            result.unwrap();
                            map.insert("n".into(), json!(round));
                        }
                        Some(_) => assert_eq!(result.unwrap_err().kind, ErrorKind::InvalidArgument),
                        None => assert_eq!(result.unwrap_err().kind, ErrorKind::NoValue),
                    }
                }
                4 => {
                    let patch = json!({ key: value, "m": {"x": round, "y": null} });
                    storage.merge(&patch, MAX).unwrap();
                    let mut merged = tree.clone();
                    json_patch_reference(&mut merged, &patch);
                    tree = merged;
                }
                _ => {
                    let got = storage.get(&pointer).ok();
                    assert_eq!(
                        got,
                        tree.get(key).map(|v| serde_json::to_string(v).unwrap())
                    );
                }
            }
            assert_eq!(
                storage.to_json(),
                serde_json::to_string(&tree).unwrap(),
                "round {round}"
            );
            check_bytes(&storage);
        }
    }

    /// RFC 7386's algorithm, as the RFC writes it.
    fn json_patch_reference(target: &mut Value, patch: &Value) {
        let Value::Object(patch) = patch else {
            *target = patch.clone();
            return;
        };
        if !target.is_object() {
            *target = json!({});
        }
        let map = target.as_object_mut().unwrap();
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                json_patch_reference(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }

    #[test]
    fn numbers_beside_a_deep_write_keep_every_digit() {
        let mut s = Storage::default();
        let numbers = json!([
            0.1,
            1e-300,
            2.2250738585072014e-308,
            12345678901234567890u64,
            -1,
            1.7976931348623157e308
        ]);
        s.set("/o", json!({"numbers": numbers, "n": 0}), MAX)
            .unwrap();
        for i in 0..10 {
            s.set("/o/n", json!(i), MAX).unwrap();
        }
        assert_eq!(
            s.get("/o/numbers").unwrap(),
            serde_json::to_string(&numbers).unwrap()
        );
    }

    #[test]
    fn an_integer_member_is_rewritten_in_place_and_its_neighbours_move() {
        let mut storage = from_root(
            &serde_json::json!({"a": [1], "n": 9, "z": {"k": "v"}, "f": 1.0, "s": "1"}),
            usize::MAX,
        )
        .unwrap();
        for (pointer, expected) in [("/n", Some(9)), ("/f", None), ("/s", None), ("/a", None)] {
            assert_eq!(
                storage.integer_member(pointer).map(|(_, v)| v),
                expected,
                "{pointer}"
            );
        }
        assert!(storage.integer_member("/missing").is_none());
        assert!(storage.integer_member("/z/k").is_none());
        for value in [10, -1234567, i64::MIN, i64::MAX, 0] {
            let (index, _) = storage.integer_member("/n").unwrap();
            storage
                .set_integer_member(index, value, usize::MAX)
                .unwrap();
            check_bytes(&storage);
            assert_eq!(storage.get("/n").unwrap(), value.to_string());
            assert_eq!(storage.get("/z/k").unwrap(), "\"v\"");
            assert_eq!(storage.get("/s").unwrap(), "\"1\"");
        }
        // Over the size limit: refused, nothing changed.
        let (index, _) = storage.integer_member("/n").unwrap();
        let before = storage.to_json();
        let limit = before.len() + 5;
        assert!(storage.set_integer_member(index, i64::MAX, limit).is_err());
        assert_eq!(storage.to_json(), before);
    }

    /// What is stored as it is given is text that parsing and writing out again give back
    /// unchanged (anything else takes the parsed path); and storing it so leaves the storage
    /// as a parsed set would.
    #[test]
    fn compact_scalars_are_the_texts_a_parse_would_write_again() {
        let accepted = [
            "true",
            "false",
            "null",
            "0",
            "-1",
            "42",
            "9223372036854775807",
            "-9223372036854775808",
            "\"\"",
            "\"plain text\"",
            "\"caf\u{e9} \u{1F600}\"",
        ];
        // Numbers other than i64 integers are left to the parse (their text may change), as
        // are strings with anything to escape, and what is no scalar or no JSON at all.
        let refused = [
            "-0",
            "007",
            "1.0",
            "1e3",
            "9223372036854775808",
            "\"a\\\"b\"",
            "\"tab\there\"",
            "\"a\\\\b\"",
            "\"\\u0041\"",
            " 1",
            "1 ",
            "tru",
            "\"",
            "[]",
            "{}",
            "",
        ];
        for text in refused {
            assert!(compact_scalar(text).is_none(), "{text:?}");
        }
        for text in accepted {
            assert_eq!(compact_scalar(text), Some(text));
            let value: Value = serde_json::from_str(text).unwrap();
            let mut written = String::new();
            push_value(&mut written, &value);
            assert_eq!(written, text);
            let mut spliced = from_root(
                &serde_json::json!({"a": 1, "k": [1, 2], "z": "zz"}),
                usize::MAX,
            )
            .unwrap();
            let mut parsed = spliced.clone();
            let index = spliced.plain_member("/k").unwrap();
            spliced.set_member_text(index, text, usize::MAX).unwrap();
            parsed.set("/k", value, usize::MAX).unwrap();
            assert_eq!(spliced.to_json(), parsed.to_json(), "{text:?}");
            check_bytes(&spliced);
            assert_eq!(spliced.get("/z").unwrap(), "\"zz\"");
        }
    }

    #[test]
    fn get_set_remove_at_pointers() {
        let mut s = Storage::default();
        assert_eq!(s.get("").unwrap(), "{}");
        s.set("/clientIP", json!({"value": "10.0.0.1"}), MAX)
            .unwrap();
        assert_eq!(s.get("/clientIP/value").unwrap(), "\"10.0.0.1\"");
        s.set("/list", json!([1, 2]), MAX).unwrap();
        s.set("/list/-", json!(3), MAX).unwrap();
        s.set("/list/3", json!(4), MAX).unwrap();
        s.set("/list/0", json!("zero"), MAX).unwrap();
        assert_eq!(s.get("/list").unwrap(), r#"["zero",2,3,4]"#);
        s.set("/a~1b~0c", json!(null), MAX).unwrap();
        assert_eq!(s.get("/a~1b~0c").unwrap(), "null");
        assert_eq!(s.get("/missing").unwrap_err().kind, ErrorKind::NoValue);
        s.remove("/list/1").unwrap();
        assert_eq!(s.get("/list").unwrap(), r#"["zero",3,4]"#);
        s.remove("/a~1b~0c").unwrap();
        assert_eq!(s.get("/a~1b~0c").unwrap_err().kind, ErrorKind::NoValue);
        check_bytes(&s);
    }

    #[test]
    fn writes_that_fail_change_nothing() {
        let mut s = Storage::default();
        s.set("/n", json!(1), MAX).unwrap();
        let before = s.to_json();
        for (result, kind) in [
            (
                s.clone().set("/missing/x", json!(1), MAX),
                ErrorKind::NoValue,
            ),
            (
                s.clone().set("/n/x", json!(1), MAX),
                ErrorKind::InvalidArgument,
            ),
            (
                s.clone().set("", json!([1]), MAX),
                ErrorKind::InvalidArgument,
            ),
            (
                s.clone().set("nope", json!(1), MAX),
                ErrorKind::InvalidArgument,
            ),
            (
                s.clone().set("/~2", json!(1), MAX),
                ErrorKind::InvalidArgument,
            ),
            (
                s.clone().set("/big", json!("x".repeat(100)), 50),
                ErrorKind::LimitExceeded,
            ),
            (s.clone().remove(""), ErrorKind::InvalidArgument),
            (s.clone().remove("/nope"), ErrorKind::NoValue),
            (
                s.clone().merge(&json!([1]), MAX),
                ErrorKind::InvalidArgument,
            ),
            (
                s.clone().merge(&json!({"big": "x".repeat(100)}), 50),
                ErrorKind::LimitExceeded,
            ),
        ] {
            assert_eq!(result.unwrap_err().kind, kind);
        }
        let mut t = s.clone();
        assert!(t.set("/big", json!("x".repeat(100)), 50).is_err());
        assert!(
            t.merge(&json!({"n": null, "big": "x".repeat(100)}), 50)
                .is_err()
        );
        assert_eq!(t.to_json(), before);
        check_bytes(&t);
    }

    #[test]
    fn array_indices_follow_rfc_6901() {
        let mut s = Storage::default();
        s.set("/a", json!([0, 1]), MAX).unwrap();
        assert_eq!(s.get("/a/01").unwrap_err().kind, ErrorKind::NoValue);
        assert_eq!(s.get("/a/2").unwrap_err().kind, ErrorKind::NoValue);
        assert_eq!(s.get("/a/-").unwrap_err().kind, ErrorKind::NoValue);
        assert_eq!(
            s.set("/a/5", json!(1), MAX).unwrap_err().kind,
            ErrorKind::NoValue
        );
        assert_eq!(s.get("/a/1").unwrap(), "1");
    }

    #[test]
    fn merge_patch_per_rfc_7386() {
        let mut s = Storage::default();
        s.set("", json!({"a": "b", "c": {"d": "e", "f": "g"}}), MAX)
            .unwrap();
        s.merge(&json!({"a": "z", "c": {"f": null}, "n": {"x": 1}}), MAX)
            .unwrap();
        assert_eq!(s.get("").unwrap(), r#"{"a":"z","c":{"d":"e"},"n":{"x":1}}"#);
        check_bytes(&s);
    }

    #[test]
    fn tracked_size_matches_serialisation_through_many_writes() {
        let mut s = Storage::default();
        for i in 0..200 {
            let key = format!("/k{}\"é\\", i % 17);
            s.set(&key, json!({"i": i, "s": "v\n".repeat(i % 5)}), MAX)
                .unwrap();
            check_bytes(&s);
            if i % 3 == 0 {
                s.set(&format!("{key}/list"), json!([]), MAX).unwrap();
                s.set(&format!("{key}/list/-"), json!(i), MAX).unwrap();
                s.set(&format!("{key}/list/-"), json!(1.5), MAX).unwrap();
                s.remove(&format!("{key}/list/0")).unwrap();
                check_bytes(&s);
            }
            if i % 7 == 0 {
                s.remove(&key).unwrap();
                check_bytes(&s);
            }
        }
        s.set("", json!({}), MAX).unwrap();
        assert_eq!(s.bytes(), 2);
    }
}
