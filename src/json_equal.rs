//! JSON equality as a compare-and-set needs it: values, not texts. Object members in any
//! order, numbers by value (`1`, `1.0` and `1e0` are equal; integers beyond 2^53 compared
//! exactly, not through a float).

use serde_json::Value;

pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => match (x.as_f64(), y.as_f64()) {
                    // An integer too large for f64 to hold exactly equals no float (a float
                    // that rounds to it is not that integer).
                    (Some(fx), Some(fy)) => fx == fy && exact(x) && exact(y),
                    _ => false,
                },
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| json_equal(x, y)))
        }
        _ => a == b,
    }
}

/// Whether a number is held exactly by its f64 (every float is; an integer within 2^53 is).
fn exact(n: &serde_json::Number) -> bool {
    const LIMIT: u64 = 1 << 53;
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => i.unsigned_abs() <= LIMIT,
        (_, Some(u)) => u <= LIMIT,
        _ => true,
    }
}

/// What a value is like, for a message: its type and its size as compact JSON, never the
/// value itself (a session's storage may be private).
pub fn describe(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "missing".to_owned();
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    format!("{kind} of {} bytes", value.to_string().len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_not_texts() {
        let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap();
        for (a, b) in [
            (r#"{"a":1,"b":2}"#, r#"{"b":2,"a":1}"#),
            ("1", "1.0"),
            ("1e0", "1"),
            ("-0", "0"),
            ("[1,{\"x\":[2.50]}]", "[1.0,{\"x\":[2.5]}]"),
            ("9007199254740993", "9007199254740993"),
        ] {
            assert!(json_equal(&parse(a), &parse(b)), "{a} = {b}");
        }
        for (a, b) in [
            ("1", "\"1\""),
            ("[1,2]", "[2,1]"),
            (r#"{"a":1}"#, r#"{"a":1,"b":null}"#),
            ("null", "false"),
            ("9007199254740993", "9007199254740992"),
            ("9007199254740993", "9007199254740992.0"),
            ("0.1", "0.10000000000000002"),
        ] {
            assert!(!json_equal(&parse(a), &parse(b)), "{a} ≠ {b}");
        }
    }

    #[test]
    fn a_description_tells_the_kind_and_size_only() {
        assert_eq!(describe(None), "missing");
        assert_eq!(describe(Some(&json!("secret"))), "a string of 8 bytes");
        assert_eq!(describe(Some(&json!({"k": [1]}))), "an object of 9 bytes");
    }
}
