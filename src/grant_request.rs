//! The argument of `set_privileges`, in each form 4D accepts: comma-separated text, or JSON (a
//! string, an array of strings, or `{"privileges", "roles", "userName"}`).

use serde_json::Value;

use crate::error::{Error, Result};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrantRequest {
    pub privileges: Vec<String>,
    pub roles: Vec<String>,
    pub user_name: Option<String>,
}

impl GrantRequest {
    /// Text that starts with `[`, `{` or `"` is JSON; anything else is comma-separated names.
    pub fn parse(text: &str, max_depth: usize) -> Result<GrantRequest> {
        let trimmed = text.trim_start();
        if !trimmed.starts_with(['[', '{', '"']) {
            return Ok(GrantRequest {
                privileges: split_names(text),
                ..GrantRequest::default()
            });
        }
        let value = crate::json_input::parse(text, max_depth, "the privileges")?;
        match value {
            Value::Object(fields) => {
                let mut request = GrantRequest::default();
                for (key, value) in fields {
                    match key.as_str() {
                        "privileges" => request.privileges = names_of(&value, "privileges")?,
                        "roles" => request.roles = names_of(&value, "roles")?,
                        "userName" => match value {
                            Value::String(name) => request.user_name = Some(name),
                            _ => return Err(Error::invalid("\"userName\" must be a string")),
                        },
                        other => {
                            return Err(Error::invalid(format!(
                                "unknown key \"{}\" (expected \"privileges\", \"roles\" or \"userName\")",
                                crate::id::truncate_for_message(other)
                            )));
                        }
                    }
                }
                Ok(request)
            }
            other => Ok(GrantRequest {
                privileges: names_of(&other, "privileges")?,
                ..GrantRequest::default()
            }),
        }
    }
}

fn names_of(value: &Value, what: &str) -> Result<Vec<String>> {
    match value {
        Value::String(text) => Ok(split_names(text)),
        Value::Array(items) => {
            let mut names = Vec::with_capacity(items.len());
            for item in items {
                let Some(name) = item.as_str() else {
                    return Err(Error::invalid(format!("\"{what}\" must hold only strings")));
                };
                let name = name.trim();
                if !name.is_empty() {
                    names.push(name.to_owned());
                }
            }
            Ok(names)
        }
        _ => Err(Error::invalid(format!(
            "\"{what}\" must be a string or an array of strings"
        ))),
    }
}

fn split_names(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    fn parse_grant(text: &str) -> Result<GrantRequest> {
        GrantRequest::parse(text, 64)
    }
    use super::*;
    use crate::error::ErrorKind;

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_form() {
        assert_eq!(
            parse_grant("WebAdmin, simple").unwrap().privileges,
            strings(&["WebAdmin", "simple"])
        );
        assert_eq!(parse_grant("  ").unwrap(), GrantRequest::default());
        assert_eq!(
            parse_grant(r#""a,b""#).unwrap().privileges,
            strings(&["a", "b"])
        );
        assert_eq!(
            parse_grant(r#"["a", " b ", ""]"#).unwrap().privileges,
            strings(&["a", "b"])
        );
        let object =
            parse_grant(r#"{"privileges":"a","roles":["R1","R2"],"userName":"bob"}"#).unwrap();
        assert_eq!(object.privileges, strings(&["a"]));
        assert_eq!(object.roles, strings(&["R1", "R2"]));
        assert_eq!(object.user_name.as_deref(), Some("bob"));
    }

    #[test]
    fn wrong_shapes_are_refused() {
        for (text, kind) in [
            ("[1]", ErrorKind::InvalidArgument),
            ("{\"privilege\":\"a\"}", ErrorKind::InvalidArgument),
            ("{\"userName\":3}", ErrorKind::InvalidArgument),
            ("{\"roles\":{}}", ErrorKind::InvalidArgument),
            ("[\"a\"", ErrorKind::InvalidJson),
            ("{", ErrorKind::InvalidJson),
        ] {
            assert_eq!(parse_grant(text).unwrap_err().kind, kind, "{text}");
        }
    }
}
