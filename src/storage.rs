//! A session's `.storage`: one JSON object, read and written at RFC 6901 JSON Pointers, patched
//! with RFC 7386 merge patches. Every write is all-or-nothing and keeps the object's serialised
//! size (tracked exactly, without re-serialising the whole object) under a limit.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::id::truncate_for_message;
use crate::json_text::{string_len, value_len};

#[derive(Debug, Clone)]
pub struct Storage {
    root: Map<String, Value>,
    /// Length of the compact JSON text of `root`.
    bytes: usize,
}

impl Default for Storage {
    fn default() -> Storage {
        Storage {
            root: Map::new(),
            bytes: 2,
        }
    }
}

/// Where a write lands, found before anything changes.
enum Slot {
    Root,
    /// Key in an object; `Some(len)` when it already holds a value of that serialised length.
    Key {
        existing: Option<usize>,
        siblings: usize,
    },
    /// Index in an array; `existing` as above (`None` appends).
    Index {
        existing: Option<usize>,
        siblings: usize,
    },
}

impl Storage {
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The whole object as compact JSON text.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(self.bytes);
        out.push('{');
        for (i, (key, value)) in self.root.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            crate::json_text::push_string(&mut out, key);
            out.push(':');
            crate::json_text::push_value(&mut out, value);
        }
        out.push('}');
        out
    }

    /// The value at `pointer`, as JSON text; `NoValue` when nothing is there (a stored `null`
    /// is `"null"`).
    pub fn get(&self, pointer: &str) -> Result<String> {
        // The usual case, one plain key ("/cart"), without building a token list.
        if let Some(key) = pointer
            .strip_prefix('/')
            .filter(|k| !k.contains(['/', '~']))
        {
            let value = self.root.get(key).ok_or_else(|| no_value(pointer))?;
            let mut out = String::new();
            crate::json_text::push_value(&mut out, value);
            return Ok(out);
        }
        let tokens = parse_pointer(pointer)?;
        let value = self.find(&tokens).ok_or_else(|| no_value(pointer))?;
        match value {
            Found::Root => Ok(self.to_json()),
            Found::Value(v) => {
                let mut out = String::new();
                crate::json_text::push_value(&mut out, v);
                Ok(out)
            }
        }
    }

    /// Stores `value` at `pointer` (`""` replaces the whole object, and must be an object). The
    /// parent must exist; in an array, the index may be one past the end, or `-`, to append.
    pub fn set(&mut self, pointer: &str, value: Value, max_bytes: usize) -> Result<()> {
        let tokens = parse_pointer(pointer)?;
        let value_len = value_len(&value);
        let slot = self.slot_for_write(pointer, &tokens)?;
        let new_bytes = match slot {
            Slot::Root => {
                check_root(&value)?;
                value_len
            }
            Slot::Key {
                existing: Some(old),
                ..
            }
            | Slot::Index {
                existing: Some(old),
                ..
            } => self.bytes - old + value_len,
            Slot::Key {
                existing: None,
                siblings,
            } => {
                let key = tokens.last().map(|k| k.as_ref()).unwrap_or_default();
                self.bytes + string_len(key) + 1 + value_len + usize::from(siblings > 0)
            }
            Slot::Index {
                existing: None,
                siblings,
            } => self.bytes + value_len + usize::from(siblings > 0),
        };
        check_size(new_bytes, max_bytes)?;

        let (parent_tokens, last) = match tokens.split_last() {
            None => {
                if let Value::Object(map) = value {
                    self.root = map;
                }
                self.bytes = new_bytes;
                return Ok(());
            }
            Some((last, parents)) => (parents, last),
        };
        match self.find_mut(parent_tokens) {
            Some(Value::Object(map)) => {
                map.insert(last.to_string(), value);
            }
            Some(Value::Array(items)) => match array_index(last, items.len()) {
                Some(i) if i < items.len() => items[i] = value,
                _ => items.push(value),
            },
            None if parent_tokens.is_empty() => {
                self.root.insert(last.to_string(), value);
            }
            _ => return Err(Error::new(ErrorKind::Internal, "storage parent vanished")),
        }
        self.bytes = new_bytes;
        Ok(())
    }

    /// Removes the value at `pointer`; `NoValue` when nothing is there.
    pub fn remove(&mut self, pointer: &str) -> Result<()> {
        let tokens = parse_pointer(pointer)?;
        let Some((last, parent_tokens)) = tokens.split_last() else {
            return Err(Error::invalid(
                "the storage root cannot be removed; set \"\" to {} to empty it",
            ));
        };
        let removed_bytes = match self.slot_for_write(pointer, &tokens)? {
            Slot::Key {
                existing: Some(old),
                siblings,
            } => string_len(last) + 1 + old + usize::from(siblings > 1),
            Slot::Index {
                existing: Some(old),
                siblings,
            } => old + usize::from(siblings > 1),
            _ => return Err(no_value(pointer)),
        };
        if parent_tokens.is_empty() {
            self.root.remove(last.as_ref());
        } else {
            match self.find_mut(parent_tokens) {
                Some(Value::Object(map)) => {
                    map.remove(last.as_ref());
                }
                Some(Value::Array(items)) => {
                    if let Some(i) = array_index(last, items.len()) {
                        items.remove(i);
                    }
                }
                _ => return Err(Error::new(ErrorKind::Internal, "storage parent vanished")),
            }
        }
        self.bytes -= removed_bytes;
        Ok(())
    }

    /// Applies an RFC 7386 merge patch to the whole object.
    pub fn merge(&mut self, patch: &Value, max_bytes: usize) -> Result<()> {
        let Value::Object(patch) = patch else {
            return Err(Error::invalid(
                "a merge patch for the storage must be a JSON object (anything else would replace the root)",
            ));
        };
        let mut merged = Value::Object(self.root.clone());
        merge_into(&mut merged, patch);
        let new_bytes = value_len(&merged);
        check_size(new_bytes, max_bytes)?;
        if let Value::Object(map) = merged {
            self.root = map;
        }
        self.bytes = new_bytes;
        Ok(())
    }

    fn slot_for_write(&self, pointer: &str, tokens: &[Cow<'_, str>]) -> Result<Slot> {
        let Some((last, parent_tokens)) = tokens.split_last() else {
            return Ok(Slot::Root);
        };
        let parent = match self.find(parent_tokens) {
            None => {
                return Err(Error::new(
                    ErrorKind::NoValue,
                    format!(
                        "no value at the parent of \"{}\": create it first",
                        truncate_for_message(pointer)
                    ),
                ));
            }
            Some(Found::Root) => return Ok(key_slot(&self.root, last)),
            Some(Found::Value(parent)) => parent,
        };
        match parent {
            Value::Object(map) => Ok(key_slot(map, last)),
            Value::Array(items) => match array_index(last, items.len()) {
                Some(i) if i < items.len() => Ok(Slot::Index {
                    existing: Some(value_len(&items[i])),
                    siblings: items.len(),
                }),
                Some(_) => Ok(Slot::Index {
                    existing: None,
                    siblings: items.len(),
                }),
                None => Err(Error::new(
                    ErrorKind::NoValue,
                    format!(
                        "\"{}\": \"{}\" is not an index of an array of {} items",
                        truncate_for_message(pointer),
                        truncate_for_message(last),
                        items.len()
                    ),
                )),
            },
            _ => Err(Error::invalid(format!(
                "\"{}\": its parent is neither an object nor an array",
                truncate_for_message(pointer)
            ))),
        }
    }

    fn find(&self, tokens: &[Cow<'_, str>]) -> Option<Found<'_>> {
        let Some((first, rest)) = tokens.split_first() else {
            return Some(Found::Root);
        };
        let mut current = self.root.get(first.as_ref())?;
        for token in rest {
            current = match current {
                Value::Object(map) => map.get(token.as_ref())?,
                Value::Array(items) => {
                    items.get(array_index(token, items.len()).filter(|i| *i < items.len())?)?
                }
                _ => return None,
            };
        }
        Some(Found::Value(current))
    }

    fn find_mut(&mut self, tokens: &[Cow<'_, str>]) -> Option<&mut Value> {
        let (first, rest) = tokens.split_first()?;
        let mut current = self.root.get_mut(first.as_ref())?;
        for token in rest {
            current = match current {
                Value::Object(map) => map.get_mut(token.as_ref())?,
                Value::Array(items) => {
                    let i = array_index(token, items.len()).filter(|i| *i < items.len())?;
                    items.get_mut(i)?
                }
                _ => return None,
            };
        }
        Some(current)
    }
}

enum Found<'a> {
    Root,
    Value(&'a Value),
}

fn key_slot(map: &Map<String, Value>, key: &str) -> Slot {
    Slot::Key {
        existing: map.get(key).map(value_len),
        siblings: map.len(),
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

/// Whether a value may be the whole storage: an object.
fn check_root(value: &Value) -> Result<()> {
    if value.is_object() {
        Ok(())
    } else {
        Err(Error::invalid(
            "the storage root must stay a JSON object; set a key under it instead",
        ))
    }
}

/// Whether a value may replace the whole storage: an object, within the size limit.
pub fn check_new_root(value: &Value, max_bytes: usize) -> Result<()> {
    check_root(value)?;
    check_size(value_len(value), max_bytes)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MAX: usize = 1 << 20;

    fn check_bytes(storage: &Storage) {
        assert_eq!(
            storage.bytes(),
            storage.to_json().len(),
            "{}",
            storage.to_json()
        );
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
