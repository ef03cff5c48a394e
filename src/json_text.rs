//! Writing JSON text directly into a `String`, for the outputs whose field order is fixed.

use std::fmt::Write;

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f
}

/// Appends `s` as a JSON string literal (quotes included).
pub fn push_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    if !s.bytes().any(needs_escape) {
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
            0x00..=0x1f | 0x7f => "",
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
    fn arrays() {
        assert_eq!(string_array([]), "[]");
        assert_eq!(string_array(["a", "b\""]), r#"["a","b\""]"#);
    }
}
