//! The options of `session_create`: a JSON object, every key optional.

use serde_json::Value;

use crate::client::AppDetails;
use crate::error::{Error, Result};
use crate::session::{ClientDetails, HostType, SessionType};

/// Longest accepted text for each descriptive field (user name, machine name, …).
pub(crate) const MAX_DETAIL_BYTES: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    pub kind: SessionType,
    pub details: ClientDetails,
    pub host_type_given: bool,
    pub machine_name_given: bool,
    /// `persistentID`, if given (a remote session without one is given a new one).
    pub persistent_id: Option<Box<str>>,
    /// Minutes, web and REST only.
    pub idle_timeout: Option<i32>,
    /// Minutes from creation (0: none), web and REST only; `None`: the configured default.
    pub max_lifetime: Option<i32>,
    /// FileMaker's client details, if any was given.
    pub app: Option<Box<AppDetails>>,
}

impl Default for CreateOptions {
    /// A web guest.
    fn default() -> CreateOptions {
        CreateOptions {
            kind: SessionType::Web,
            details: ClientDetails::default(),
            host_type_given: false,
            machine_name_given: false,
            persistent_id: None,
            idle_timeout: None,
            max_lifetime: None,
            app: None,
        }
    }
}

impl CreateOptions {
    pub fn parse(text: &str, max_depth: usize) -> Result<CreateOptions> {
        let value = crate::json_input::parse(text, max_depth, "creation options")?;
        let Value::Object(fields) = value else {
            return Err(Error::invalid("creation options must be a JSON object"));
        };
        let mut options = CreateOptions::default();
        if let Some(kind) = fields.get("type") {
            let Some(kind) = kind.as_str() else {
                return Err(Error::invalid("\"type\" must be a string"));
            };
            options.kind = SessionType::parse(kind)?;
        }
        for (key, value) in &fields {
            let d = &mut options.details;
            match key.as_str() {
                "type" => {}
                "userName" => {
                    if options.kind.is_web() {
                        return Err(Error::invalid(format!(
                            "\"userName\" cannot be given when creating a {} session: it is \"\" until set_privileges sets it",
                            options.kind.name()
                        )));
                    }
                    d.user_name = string_field(key, value)?.into();
                }
                "machineName" => {
                    d.machine_name = string_field(key, value)?.into();
                    options.machine_name_given = true;
                }
                "systemUserName" => d.system_user_name = string_field(key, value)?.into(),
                "IPAddress" => d.ip_address = string_field(key, value)?.into(),
                "hostType" => {
                    let host = string_field(key, value)?;
                    d.host_type = HostType::parse(&host).ok_or_else(|| {
                        Error::invalid(format!(
                            "\"hostType\": \"{}\" is not windows, mac or browser",
                            crate::id::truncate_for_message(&host)
                        ))
                    })?;
                    options.host_type_given = true;
                }
                "persistentID" => {
                    options.persistent_id = Some(string_field(key, value)?.into());
                }
                "idleTimeout" => {
                    options.idle_timeout = Some(minutes(key, value, options.kind, "idle timeout")?)
                }
                "maxLifetime" => {
                    options.max_lifetime = Some(minutes(key, value, options.kind, "lifetime")?)
                }
                "appVersion" => app(&mut options.app).app_version = string_field(key, value)?,
                "appLanguage" => app(&mut options.app).app_language = string_field(key, value)?,
                "operatingSystem" => {
                    app(&mut options.app).operating_system = string_field(key, value)?
                }
                "macAddress" => app(&mut options.app).mac_address = string_field(key, value)?,
                "extendedPrivilege" => {
                    app(&mut options.app).extended_privilege = Some(string_field(key, value)?)
                }
                "appType" => app(&mut options.app).app_type = Some(string_field(key, value)?),
                other => {
                    return Err(Error::invalid(format!(
                        "unknown creation option \"{}\"",
                        crate::id::truncate_for_message(other)
                    )));
                }
            }
        }
        Ok(options)
    }
}

/// Minutes (0 to 2³¹−1) for a web or REST session; `NotSupported` for the other types.
fn minutes(key: &str, value: &Value, kind: SessionType, what: &str) -> Result<i32> {
    if !kind.is_web() {
        return Err(Error::not_supported(format!(
            "\"{key}\": a {} session has no {what}",
            kind.name()
        )));
    }
    match value.as_i64() {
        Some(n) if (0..=i32::MAX as i64).contains(&n) => Ok(n as i32),
        _ if value.is_number() => Err(Error::invalid(format!(
            "\"{key}\": {value} is out of range (0 to {} minutes)",
            i32::MAX
        ))),
        _ => Err(Error::invalid(format!(
            "\"{key}\" must be an integer (minutes)"
        ))),
    }
}

fn app(details: &mut Option<Box<AppDetails>>) -> &mut AppDetails {
    details.get_or_insert_with(Box::default)
}

fn string_field(key: &str, value: &Value) -> Result<String> {
    let Some(s) = value.as_str() else {
        return Err(Error::invalid(format!("\"{key}\" must be a string")));
    };
    check_detail(key, s)?;
    Ok(s.to_owned())
}

/// Checks a descriptive text that came as JSON and will be handed back as C text: at most
/// [`MAX_DETAIL_BYTES`], and no NUL character (JSON can carry `\u0000`; C text cannot).
pub(crate) fn check_detail(key: &str, text: &str) -> Result<()> {
    let key = crate::id::truncate_for_message(key);
    if text.len() > MAX_DETAIL_BYTES {
        return Err(Error::limit(format!(
            "\"{key}\" is {} bytes, over the limit of {MAX_DETAIL_BYTES}",
            text.len()
        )));
    }
    if text.contains('\0') {
        return Err(Error::invalid(format!(
            "\"{key}\" holds a NUL character (\\u0000), which C text cannot carry"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    fn parse_options(text: &str) -> Result<CreateOptions> {
        CreateOptions::parse(text, 64)
    }
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn parses_a_remote_client() {
        let o = parse_options(
            r#"{"type":"remote","userName":"Designer","machineName":"My Computer","systemUserName":"John Doe",
                "IPAddress":"localhost","hostType":"mac","persistentID":"8FFDAE519F1F4DCDB81E8E8DB00AD101"}"#,
        )
        .unwrap();
        assert_eq!(o.kind, SessionType::Remote);
        assert_eq!(&*o.details.user_name, "Designer");
        assert_eq!(o.details.host_type, HostType::Mac);
        assert_eq!(
            o.persistent_id.as_deref(),
            Some("8FFDAE519F1F4DCDB81E8E8DB00AD101")
        );
    }

    #[test]
    fn each_error_names_its_key() {
        for (text, kind, key) in [
            (r#"{"type":"Web"}"#, ErrorKind::InvalidArgument, "type"),
            (r#"{"type":1}"#, ErrorKind::InvalidArgument, "type"),
            (r#"{"usrName":"x"}"#, ErrorKind::InvalidArgument, "usrName"),
            (
                r#"{"userName":"x"}"#,
                ErrorKind::InvalidArgument,
                "userName",
            ),
            (
                r#"{"type":"remote","machineName":3}"#,
                ErrorKind::InvalidArgument,
                "machineName",
            ),
            (
                r#"{"hostType":"linux"}"#,
                ErrorKind::InvalidArgument,
                "hostType",
            ),
            (
                r#"{"idleTimeout":-5}"#,
                ErrorKind::InvalidArgument,
                "idleTimeout",
            ),
            (
                r#"{"idleTimeout":"60"}"#,
                ErrorKind::InvalidArgument,
                "idleTimeout",
            ),
            (
                r#"{"idleTimeout":1e12}"#,
                ErrorKind::InvalidArgument,
                "idleTimeout",
            ),
            (
                r#"{"type":"remote","idleTimeout":60}"#,
                ErrorKind::NotSupported,
                "idleTimeout",
            ),
            (r#"[]"#, ErrorKind::InvalidArgument, "object"),
            (r#"{"#, ErrorKind::InvalidJson, "JSON"),
        ] {
            let err = parse_options(text).unwrap_err();
            assert_eq!(err.kind, kind, "{text}");
            assert!(err.message.contains(key), "{text}: {}", err.message);
        }
        let huge = format!(r#"{{"IPAddress":"{}"}}"#, "1".repeat(MAX_DETAIL_BYTES + 1));
        assert_eq!(
            parse_options(&huge).unwrap_err().kind,
            ErrorKind::LimitExceeded
        );
    }
}
