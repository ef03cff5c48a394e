//! Writing JSON text directly into a `String`, for the outputs whose field order is fixed.

use std::fmt::Write;

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether any byte of `s` needs escaping, eight bytes at a time.
pub(crate) fn any_needs_escape(s: &str) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte of `x` that is below `n` (for n <= 128); bytes of 0x80 and up
    // never count (they are UTF-8 beyond ASCII).
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let mut chunks = s.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        if below(x, 0x20) | below(x ^ (ONES * 0x22), 1) | below(x ^ (ONES * 0x5C), 1) != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| needs_escape(b))
}

/// Appends `s` as a JSON string literal (quotes included).
pub fn push_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    if !any_needs_escape(s) {
        // The usual case: nothing to escape, one copy.
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends `"key":"value"` (with a leading comma unless `first`). Keys are this library's own
/// names, which need no escaping.
pub fn push_field(out: &mut String, first: bool, key: &str, value: &str) {
    debug_assert!(!key.bytes().any(needs_escape));
    if !first {
        out.push(',');
    }
    out.push('"');
    out.push_str(key);
    out.push_str("\":");
    push_string(out, value);
}

/// Appends `"key":"YYYY-MM-DDTHH:MM:SS.mmmZ"` (with a leading comma unless `first`).
pub fn push_date_field(out: &mut String, first: bool, key: &str, ms: crate::clock::Millis) {
    if !first {
        out.push(',');
    }
    out.push('"');
    out.push_str(key);
    out.push_str("\":\"");
    crate::clock::push_iso8601(out, ms);
    out.push('"');
}

/// Appends a JSON value as compact text, byte for byte what serde_json writes (object keys in
/// the map's order), but with strings that need no escaping copied whole.
pub fn push_value(out: &mut String, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(text) => push_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_string(out, key);
                out.push(':');
                push_value(out, item);
            }
            out.push('}');
        }
    }
}

/// The length of [`push_value`]'s text for `value`, without writing it.
pub fn value_len(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::Null | Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => {
            let mut counter = Counter(0);
            let _ = write!(counter, "{n}");
            counter.0
        }
        Value::String(text) => string_len(text),
        Value::Array(items) => {
            2 + items.len().saturating_sub(1) + items.iter().map(value_len).sum::<usize>()
        }
        Value::Object(map) => {
            2 + map.len().saturating_sub(1)
                + map
                    .iter()
                    .map(|(k, v)| string_len(k) + 1 + value_len(v))
                    .sum::<usize>()
        }
    }
}

/// The length of [`push_string`]'s text for `s`, quotes included.
pub fn string_len(s: &str) -> usize {
    if !any_needs_escape(s) {
        return s.len() + 2;
    }
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

struct Counter(usize);

impl Write for Counter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// `["a","b"]`.
pub fn string_array<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_string(&mut out, item);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip_through_serde() {
        let nasty = "a\"b\\c\nd\te\u{1}f\u{7f}g é \u{2028}";
        let mut out = String::new();
        push_string(&mut out, nasty);
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, nasty);
        assert!(!out.contains('\n'));
    }

    #[test]
    fn values_are_written_exactly_as_serde_json_writes_them() {
        let value = serde_json::json!({
            "a": [1, -2, 3.5, 1e300, 12345678901234567890u64, -9223372036854775808i64, 0.1],
            "s": "plain", "t": "tab\there \"q\" \\ \u{1} \u{7f} é \u{2028}",
            "n": null, "b": [true, false], "o": {"z": {}, "y": []}, "": ""
        });
        let mut out = String::new();
        push_value(&mut out, &value);
        assert_eq!(out, serde_json::to_string(&value).unwrap());
        assert_eq!(value_len(&value), out.len());
        for part in value.as_object().unwrap().values() {
            assert_eq!(
                value_len(part),
                serde_json::to_string(part).unwrap().len(),
                "{part}"
            );
        }
    }

    #[test]
    fn the_fast_check_agrees_with_the_byte_check() {
        let base = "abcdefghijklmnopqrstuvwxyz012345";
        for position in 0..base.len() {
            for byte in 0..=0x7fu8 {
                let mut text = base.as_bytes().to_vec();
                text[position] = byte;
                let text = String::from_utf8(text).unwrap();
                assert_eq!(
                    any_needs_escape(&text),
                    text.bytes().any(needs_escape),
                    "{byte:#x} at {position}"
                );
            }
        }
        assert!(!any_needs_escape("é ü \u{2028} 日本語 plain"));
    }

    #[test]
    fn arrays() {
        assert_eq!(string_array([]), "[]");
        assert_eq!(string_array(["a", "b\""]), r#"["a","b\""]"#);
    }
}
