//! JSON text from outside (a host's or a client's), parsed within the nesting limit
//! `maxJsonDepth`. Every JSON input of the library comes through [`parse`].

use serde_json::Value;

use crate::error::{Error, Result};

/// The deepest nesting `maxJsonDepth` may allow: serde_json refuses deeper text on its own.
pub(crate) const MAX_DEPTH_CEILING: usize = 127;

/// Parses `text` (named `what` in messages); nesting deeper than `max_depth` is `LimitExceeded`,
/// checked before parsing.
pub fn parse(text: &str, max_depth: usize, what: &str) -> Result<Value> {
    check_depth(text.as_bytes(), max_depth, what)?;
    serde_json::from_str(text).map_err(|e| Error::json(format!("{what}: not valid JSON ({e})")))
}

/// Refuses text whose arrays and objects nest deeper than `max_depth`. Text with no more
/// opening brackets than that (nearly all of it) is only counted, not walked.
fn check_depth(bytes: &[u8], max_depth: usize, what: &str) -> Result<()> {
    let opening = bytes.iter().filter(|&&b| b == b'[' || b == b'{').count();
    if opening <= max_depth {
        return Ok(());
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return Err(Error::limit(format!(
                        "{what}: nests deeper than maxJsonDepth ({max_depth})"
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn depth_is_counted_outside_strings_only() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(&nested(4), 4, "x").is_ok());
        let err = parse(&nested(5), 4, "the value").unwrap_err();
        assert_eq!(err.kind, ErrorKind::LimitExceeded);
        assert!(err.message.contains("maxJsonDepth (4)"), "{}", err.message);
        // Brackets inside strings, escaped quotes included, are not nesting.
        assert!(parse(r#"["[[[[[[", "\"[[[[[", {"a": "{{{{{"}]"#, 2, "x").is_ok());
        // Siblings do not add up.
        assert!(parse("[[1],[2],[3],[4],[5],[6]]", 2, "x").is_ok());
        // Too deep and malformed: the depth is what is reported, before parsing.
        assert_eq!(
            parse(&"[".repeat(10_000), 8, "x").unwrap_err().kind,
            ErrorKind::LimitExceeded
        );
        assert_eq!(
            parse("[1,", 8, "x").unwrap_err().kind,
            ErrorKind::InvalidJson
        );
    }

    #[test]
    fn the_ceiling_is_within_what_serde_json_parses() {
        let deepest = format!(
            "{}{}",
            "[".repeat(MAX_DEPTH_CEILING),
            "]".repeat(MAX_DEPTH_CEILING)
        );
        assert!(parse(&deepest, MAX_DEPTH_CEILING, "x").is_ok());
    }
}
