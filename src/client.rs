//! What FileMaker's administrators see of a client beyond 4D's `info`: application details,
//! the files it has open, its row in the Admin API's *List Clients*, and its label in the
//! access log.

use std::fmt::Write;

use serde_json::Value;

use crate::clock::Millis;
use crate::create_options::check_detail;
use crate::error::{Error, Result};
use crate::id::truncate_for_message;
use crate::json_text::{push_date_field, push_field};
use crate::session::{Session, SessionType};

/// Application details given at creation; `None` fields take the session type's default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppDetails {
    pub app_version: String,
    pub app_language: String,
    pub operating_system: String,
    pub mac_address: String,
    pub extended_privilege: Option<String>,
    pub app_type: Option<String>,
}

/// A file (a hosted app) the client has open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachedFile {
    /// The same for every client that opens a file of this name, as FileMaker's database ID.
    pub file_id: u32,
    pub filename: String,
    pub account_name: String,
    pub privset_name: String,
}

/// A message for the client, from an administrator, kept until the host takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub time: Millis,
    pub text: String,
    /// For the message of a disconnection: when the session will be closed.
    pub disconnect_at: Option<Millis>,
}

/// Messages one session keeps at most, and bytes in one message.
pub(crate) const MAX_MESSAGES: usize = 32;
pub(crate) const MAX_MESSAGE_BYTES: usize = 4096;

/// Checks a message's text: at most [`MAX_MESSAGE_BYTES`], no NUL (it goes back to C).
pub fn check_message(text: &str) -> Result<()> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(Error::limit(format!(
            "the message is {} bytes, over the limit of {MAX_MESSAGE_BYTES}",
            text.len()
        )));
    }
    if text.contains('\0') {
        return Err(Error::invalid(
            "the message holds a NUL character, which C text cannot carry",
        ));
    }
    Ok(())
}

/// `{"messages": [{"time", "text", "disconnectAt"?}, …]}`, oldest first.
pub fn messages_json<'a>(messages: impl Iterator<Item = &'a Message>) -> String {
    let mut out = String::from("{\"messages\":[");
    for (i, message) in messages.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        push_date_field(&mut out, true, "time", message.time);
        push_field(&mut out, false, "text", &message.text);
        if let Some(at) = message.disconnect_at {
            push_date_field(&mut out, false, "disconnectAt", at);
        }
        out.push('}');
    }
    out.push_str("]}");
    out
}

/// The argument of `attach_file`.
pub struct FileRequest {
    pub filename: String,
    pub account_name: Option<String>,
    pub privset_name: String,
}

impl FileRequest {
    pub fn parse(text: &str, max_depth: usize) -> Result<FileRequest> {
        let value = crate::json_input::parse(text, max_depth, "the file")?;
        let Value::Object(fields) = value else {
            return Err(Error::invalid(
                "the file must be a JSON object: {\"filename\", \"accountName\", \"privsetName\"}",
            ));
        };
        let mut request = FileRequest {
            filename: String::new(),
            account_name: None,
            privset_name: String::new(),
        };
        for (key, value) in fields {
            let Value::String(text) = value else {
                return Err(Error::invalid(format!(
                    "\"{}\" must be a string",
                    truncate_for_message(&key)
                )));
            };
            check_detail(&key, &text)?;
            match key.as_str() {
                "filename" => request.filename = text,
                "accountName" => request.account_name = Some(text),
                "privsetName" => request.privset_name = text,
                other => {
                    return Err(Error::invalid(format!(
                        "unknown key \"{}\" (expected filename, accountName, privsetName)",
                        truncate_for_message(other)
                    )));
                }
            }
        }
        if request.filename.is_empty() {
            return Err(Error::invalid(
                "\"filename\" is required and cannot be empty",
            ));
        }
        Ok(request)
    }
}

impl SessionType {
    /// FileMaker's extended privilege keyword for this kind of client.
    pub fn default_extended_privilege(self) -> &'static str {
        match self {
            SessionType::Web => "fmwebdirect",
            SessionType::Rest => "fmrest",
            SessionType::Remote => "fmapp",
            SessionType::StoredProcedure | SessionType::Standalone => "",
        }
    }

    /// The client type as FileMaker's Admin Console names it.
    pub fn default_app_type(self) -> &'static str {
        match self {
            SessionType::Web => "WebDirect",
            SessionType::Rest => "Data API",
            SessionType::Remote => "Pro",
            SessionType::StoredProcedure => "FMSE",
            SessionType::Standalone => "",
        }
    }
}

impl Session {
    fn app_field(&self, field: impl Fn(&AppDetails) -> &str) -> &str {
        self.app().map(field).unwrap_or("")
    }

    pub fn extended_privilege(&self) -> &str {
        self.app()
            .and_then(|a| a.extended_privilege.as_deref())
            .unwrap_or(self.kind.default_extended_privilege())
    }

    pub fn app_type(&self) -> &str {
        self.app()
            .and_then(|a| a.app_type.as_deref())
            .unwrap_or(self.kind.default_app_type())
    }

    /// `identifier (computer) [ip]`, FileMaker's way of naming a client in its logs; empty
    /// parts are left out.
    pub fn client_label(&self) -> String {
        let mut label = self.effective_identifier().to_owned();
        for (open, part, close) in [
            ("(", &self.details.machine_name, ")"),
            ("[", &self.details.ip_address, "]"),
        ] {
            if !label.is_empty() && !part.is_empty() {
                label.push(' ');
            }
            push_part(&mut label, open, part, close);
        }
        label
    }

    /// `computer (ip)`: where the client connects from.
    pub fn client_origin(&self) -> String {
        let mut origin = self.details.machine_name.to_string();
        let open = if origin.is_empty() { "(" } else { " (" };
        push_part(&mut origin, open, &self.details.ip_address, ")");
        origin
    }

    /// `appType appVersion [extpriv]`: what the client connects with.
    pub fn client_application(&self) -> String {
        let mut application = self.app_type().to_owned();
        let version = self.app_field(|a| &a.app_version);
        if !version.is_empty() {
            if !application.is_empty() {
                application.push(' ');
            }
            application.push_str(version);
        }
        let extended = self.extended_privilege();
        let open = if application.is_empty() { "[" } else { " [" };
        push_part(&mut application, open, extended, "]");
        application
    }

    /// This client's object in FileMaker's *List Clients*. Its `id` is the client number, a
    /// string as the Admin API gives it: never the session ID, which is a bearer token.
    pub fn client_json(&self, now: Millis, out: &mut String) {
        out.push('{');
        push_field(out, true, "id", &self.client_id.to_string());
        push_field(out, false, "status", "NORMAL");
        push_field(out, false, "userName", self.effective_identifier());
        push_field(out, false, "computerName", &self.details.machine_name);
        push_field(out, false, "ipaddress", &self.details.ip_address);
        push_field(out, false, "macaddress", self.app_field(|a| &a.mac_address));
        push_field(out, false, "extpriv", self.extended_privilege());
        push_field(out, false, "appType", self.app_type());
        push_field(out, false, "appVersion", self.app_field(|a| &a.app_version));
        push_field(
            out,
            false,
            "appLanguage",
            self.app_field(|a| &a.app_language),
        );
        push_field(
            out,
            false,
            "operatingSystem",
            self.app_field(|a| &a.operating_system),
        );
        push_date_field(out, false, "connectTime", self.created);
        push_field(
            out,
            false,
            "connectDuration",
            &duration_hms(now - self.created),
        );
        out.push_str(",\"guestFiles\":[");
        for (i, file) in self.files().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('{');
            push_field(out, true, "id", &file.file_id.to_string());
            push_field(out, false, "filename", &file.filename);
            push_field(out, false, "accountName", &file.account_name);
            push_field(out, false, "privsetName", &file.privset_name);
            out.push('}');
        }
        out.push_str("]}");
    }
}

fn push_part(out: &mut String, open: &str, part: &str, close: &str) {
    if !part.is_empty() {
        out.push_str(open);
        out.push_str(part);
        out.push_str(close);
    }
}

/// `HH:MM:SS`, hours past 24 allowed; a negative span (a clock set back) is `00:00:00`.
pub fn duration_hms(ms: Millis) -> String {
    let seconds = ms.max(0) / 1000;
    let mut out = String::with_capacity(8);
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_hms(0), "00:00:00");
        assert_eq!(duration_hms(61_999), "00:01:01");
        assert_eq!(duration_hms((27 * 3600 + 5) * 1000), "27:00:05");
        assert_eq!(
            duration_hms((123 * 3600 + 59 * 60 + 59) * 1000),
            "123:59:59"
        );
        assert_eq!(duration_hms(-5000), "00:00:00");
    }
}
