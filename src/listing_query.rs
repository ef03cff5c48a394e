//! The filters and the page of `clients_query` and `sessions_query`: what an admin page asks
//! for instead of the whole list.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::session::{Session, SessionType};

/// Rows one page holds at most, and by default.
pub(crate) const MAX_LIMIT: u64 = 10_000;
pub(crate) const DEFAULT_LIMIT: u64 = 100;

/// `{"type", "userName", "search", "ipaddress", "offset", "limit"}`, every key optional.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListingQuery {
    pub kind: Option<SessionType>,
    /// Exact bytes.
    pub user_name: Option<String>,
    /// Lower case: a substring of the effective identifier or the user name, case-insensitive.
    pub search: Option<String>,
    /// A prefix of the IP address ("192.0.2." for a subnet, a whole address for one client).
    pub ip_prefix: Option<String>,
    pub offset: u64,
    pub limit: u64,
}

impl Default for ListingQuery {
    fn default() -> ListingQuery {
        ListingQuery {
            kind: None,
            user_name: None,
            search: None,
            ip_prefix: None,
            offset: 0,
            limit: DEFAULT_LIMIT,
        }
    }
}

impl ListingQuery {
    pub fn parse(text: &str, max_depth: usize) -> Result<ListingQuery> {
        let value = crate::json_input::parse(text, max_depth, "the query")?;
        let Value::Object(fields) = value else {
            return Err(Error::invalid(
                "the query must be a JSON object: {\"type\", \"userName\", \"search\", \
                 \"ipaddress\", \"offset\", \"limit\"}",
            ));
        };
        let mut query = ListingQuery::default();
        for (key, value) in &fields {
            let text = || {
                value
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::invalid(format!("\"{key}\" must be a string")))
            };
            let count = |max: u64| match value.as_u64() {
                Some(n) if n <= max => Ok(n),
                _ => Err(Error::invalid(format!(
                    "\"{key}\" must be an integer from 0 to {max}"
                ))),
            };
            match key.as_str() {
                "type" => query.kind = Some(SessionType::parse(&text()?)?),
                "userName" => query.user_name = Some(text()?),
                "search" => query.search = Some(text()?.to_lowercase()),
                "ipaddress" => query.ip_prefix = Some(text()?),
                "offset" => query.offset = count(u64::MAX)?,
                "limit" => query.limit = count(MAX_LIMIT)?,
                other => {
                    return Err(Error::invalid(format!(
                        "unknown query key \"{}\" (expected type, userName, search, ipaddress, \
                         offset, limit)",
                        crate::id::truncate_for_message(other)
                    )));
                }
            }
        }
        Ok(query)
    }

    /// Whether a session passes the filters.
    pub fn matches(&self, session: &Session) -> bool {
        self.kind.is_none_or(|kind| session.kind == kind)
            && self
                .user_name
                .as_deref()
                .is_none_or(|user| *session.details.user_name == *user)
            && self
                .ip_prefix
                .as_deref()
                .is_none_or(|prefix| session.details.ip_address.starts_with(prefix))
            && self.search.as_deref().is_none_or(|needle| {
                contains_folded(session.effective_identifier(), needle)
                    || contains_folded(&session.details.user_name, needle)
            })
    }
}

/// Whether `haystack`, lower-cased, contains `needle` (already lower case); no allocation when
/// the haystack is ASCII.
fn contains_folded(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        return n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    haystack.to_lowercase().contains(needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn parses_every_key_and_refuses_the_rest() {
        let q = ListingQuery::parse(
            r#"{"type": "web", "userName": "ann", "search": "KiOsK", "ipaddress": "192.0.2.",
                "offset": 20, "limit": 10}"#,
            64,
        )
        .unwrap();
        assert_eq!(q.kind, Some(SessionType::Web));
        assert_eq!(q.search.as_deref(), Some("kiosk"));
        assert_eq!((q.offset, q.limit), (20, 10));
        for bad in [
            r#"{"limit": 10001}"#,
            r#"{"limit": -1}"#,
            r#"{"offset": 1.5}"#,
            r#"{"type": "ftp"}"#,
            r#"{"userName": 3}"#,
            r#"{"page": 2}"#,
            r#"[]"#,
        ] {
            assert_eq!(
                ListingQuery::parse(bad, 64).unwrap_err().kind,
                ErrorKind::InvalidArgument,
                "{bad}"
            );
        }
        assert_eq!(
            ListingQuery::parse("{", 64).unwrap_err().kind,
            ErrorKind::InvalidJson
        );
    }

    #[test]
    fn folds_case_without_allocating_ascii() {
        assert!(contains_folded("Kiosk 3", "osk"));
        assert!(contains_folded("ZOË", "zoë"));
        assert!(!contains_folded("ann", "bob"));
        assert!(contains_folded("anything", ""));
    }
}
