//! A session as the Redis store keeps it: one compact JSON object with every field a host needs
//! to rebuild the session. The grant is kept as the names granted, and expanded by the host
//! that reads it under its own roles file (every host loads the same one). The client number
//! is kept beside the record (Redis gives it), and doubles as the creation order.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::client::{AppDetails, AttachedFile, Message};
use crate::error::{Error, ErrorKind, Result};
use crate::id::SessionId;
use crate::json_text::push_string;
use crate::otp::Otp;
use crate::roles::{Grant, PrivilegeSet, RolesTable};
use crate::session::{ClientDetails, Extras, HostType, Session, SessionState, SessionType};

/// The record of `session` (everything but its ID and client number): written directly, the
/// storage as its own compact text (no tree is built).
pub fn encode(session: &Session) -> String {
    let d = &session.details;
    let storage = session.storage.to_json();
    let mut out = String::with_capacity(160 + storage.len() + d.user_name.len());
    let mut w = Writer::open(&mut out);
    w.text("t", session.kind.name());
    w.text("st", session.state.name());
    w.text("u", &d.user_name);
    w.text("m", &d.machine_name);
    w.text("su", &d.system_user_name);
    w.text("ip", &d.ip_address);
    w.text("ht", d.host_type.name());
    w.text("p", &d.persistent_id);
    w.text("i", &session.identifier);
    w.number("cr", session.created);
    w.number("it", i64::from(session.idle_timeout));
    w.number("la", session.last_activity);
    w.raw("s", &storage);
    w.number("sv", session.storage_version);
    if let Some(grant) = session.grant.as_deref() {
        w.key("g");
        let mut g = Writer::open(w.0);
        g.list("p", &grant.privileges);
        g.list("r", &grant.roles);
        g.close();
    }
    if let Some(end) = session.lifetime_end {
        w.number("le", end);
    }
    if let Some(app) = session.app.as_deref() {
        w.key("app");
        let mut a = Writer::open(w.0);
        a.text("v", &app.app_version);
        a.text("l", &app.app_language);
        a.text("os", &app.operating_system);
        a.text("mac", &app.mac_address);
        a.optional_text("xp", app.extended_privilege.as_deref());
        a.optional_text("at", app.app_type.as_deref());
        a.close();
    }
    if !session.files.is_empty() {
        w.array("f", session.files.iter(), |out, f| {
            out.push('[');
            push_number(out, f.file_id);
            for text in [&f.filename, &f.account_name, &f.privset_name] {
                out.push(',');
                push_string(out, text);
            }
            out.push(']');
        });
    }
    if let Some(extras) = session.extras.as_deref() {
        w.key("x");
        let mut x = Writer::open(w.0);
        x.array("msg", extras.messages.iter(), |out, m| {
            out.push('[');
            push_number(out, m.time);
            out.push(',');
            push_string(out, &m.text);
            out.push(',');
            push_optional_number(out, m.disconnect_at);
            out.push(']');
        });
        x.key("da");
        push_optional_number(x.0, extras.disconnect_at);
        x.array("otp", extras.otps.iter(), |out, o| {
            out.push('[');
            push_string(out, &crate::digest::hex(o.key));
            out.push(',');
            push_number(out, o.expires);
            out.push(']');
        });
        x.close();
    }
    w.close();
    out
}

/// Writes the members of one JSON object: the `{` when made, each `"key":` with a comma
/// before all but the first, the `}` when closed.
struct Writer<'a>(&'a mut String);

impl<'a> Writer<'a> {
    fn open(out: &'a mut String) -> Writer<'a> {
        out.push('{');
        Writer(out)
    }

    /// A member's key (the keys here are plain ASCII, written as they are). No value ends
    /// with `{`, so a text that does has just opened an object.
    fn key(&mut self, key: &str) {
        if !self.0.ends_with('{') {
            self.0.push(',');
        }
        self.0.push('"');
        self.0.push_str(key);
        self.0.push_str("\":");
    }

    fn text(&mut self, key: &str, value: &str) {
        self.key(key);
        push_string(self.0, value);
    }

    fn optional_text(&mut self, key: &str, value: Option<&str>) {
        self.key(key);
        match value {
            Some(text) => push_string(self.0, text),
            None => self.0.push_str("null"),
        }
    }

    fn number(&mut self, key: &str, value: impl std::fmt::Display) {
        self.key(key);
        push_number(self.0, value);
    }

    fn raw(&mut self, key: &str, json: &str) {
        self.key(key);
        self.0.push_str(json);
    }

    fn list(&mut self, key: &str, names: &[String]) {
        self.array(key, names, |out, name| push_string(out, name));
    }

    /// `"key":[…]`, each item written by `write`.
    fn array<T>(
        &mut self,
        key: &str,
        items: impl IntoIterator<Item = T>,
        mut write: impl FnMut(&mut String, T),
    ) {
        self.key(key);
        self.0.push('[');
        for (n, item) in items.into_iter().enumerate() {
            if n > 0 {
                self.0.push(',');
            }
            write(self.0, item);
        }
        self.0.push(']');
    }

    fn close(self) {
        self.0.push('}');
    }
}

fn push_number(out: &mut String, n: impl std::fmt::Display) {
    use std::fmt::Write;
    let _ = write!(out, "{n}");
}

fn push_optional_number(out: &mut String, n: Option<i64>) {
    match n {
        Some(n) => push_number(out, n),
        None => out.push_str("null"),
    }
}

/// A record as stored, its texts borrowed from it where they need no unescaping.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Record<'a> {
    #[serde(borrow)]
    t: Cow<'a, str>,
    #[serde(borrow)]
    st: Cow<'a, str>,
    #[serde(borrow)]
    u: Cow<'a, str>,
    #[serde(borrow)]
    m: Cow<'a, str>,
    #[serde(borrow)]
    su: Cow<'a, str>,
    #[serde(borrow)]
    ip: Cow<'a, str>,
    #[serde(borrow)]
    ht: Cow<'a, str>,
    #[serde(borrow)]
    p: Cow<'a, str>,
    #[serde(borrow)]
    i: Cow<'a, str>,
    cr: i64,
    it: i32,
    la: i64,
    #[serde(borrow)]
    s: &'a RawValue,
    sv: u64,
    g: Option<GrantRecord>,
    le: Option<i64>,
    app: Option<AppRecord>,
    #[serde(default)]
    f: Vec<(u32, String, String, String)>,
    x: Option<ExtrasRecord>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantRecord {
    p: Vec<String>,
    r: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppRecord {
    v: String,
    l: String,
    os: String,
    mac: String,
    xp: Option<String>,
    at: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtrasRecord {
    msg: Vec<(i64, String, Option<i64>)>,
    da: Option<i64>,
    otp: Vec<(String, i64)>,
}

/// The session `id` (client number `client`; the ID is [`SessionId::UNKNOWN`] for a session
/// reached otherwise than by its ID) from its record, its grant expanded under `roles`. A
/// record this library did not write is `Internal`: the key holds something else.
pub fn decode(id: SessionId, client: u64, text: &str, roles: &Arc<RolesTable>) -> Result<Session> {
    let r: Record<'_> = serde_json::from_str(text).map_err(|_| corrupt())?;
    let kind = SessionType::parse(&r.t).map_err(|_| corrupt())?;
    let state = match &*r.st {
        "disconnecting" => SessionState::Disconnecting,
        other => SessionState::parse(other).map_err(|_| corrupt())?,
    };
    let host_type = match &*r.ht {
        "" => HostType::Unknown,
        other => HostType::parse(other).ok_or_else(corrupt)?,
    };
    let storage = crate::storage::from_compact_object(r.s.get()).map_err(|_| corrupt())?;
    let extras = match r.x {
        Some(x) => {
            let mut extras = Extras {
                disconnect_at: x.da,
                ..Extras::default()
            };
            extras.messages = x
                .msg
                .into_iter()
                .map(|(time, text, disconnect_at)| Message {
                    time,
                    text,
                    disconnect_at,
                })
                .collect();
            for (key, expires) in x.otp {
                extras.otps.push(Otp {
                    key: crate::digest::parse_hex(&key).ok_or_else(corrupt)?,
                    expires,
                });
            }
            Some(Box::new(extras))
        }
        None => None,
    };
    let mut session = Session {
        kind,
        state,
        roles: None,
        privileges: PrivilegeSet::default(),
        idle_timeout: r.it,
        last_activity: r.la,
        id,
        details: ClientDetails {
            user_name: r.u.into(),
            machine_name: r.m.into(),
            system_user_name: r.su.into(),
            ip_address: r.ip.into(),
            host_type,
            persistent_id: r.p.into(),
        },
        identifier: r.i.into_owned(),
        created: r.cr,
        sequence: client,
        grant: r.g.map(|g| {
            Box::new(Grant {
                privileges: g.p,
                roles: g.r,
            })
        }),
        storage,
        storage_version: r.sv,
        app: r.app.map(|a| {
            Box::new(AppDetails {
                app_version: a.v,
                app_language: a.l,
                operating_system: a.os,
                mac_address: a.mac,
                extended_privilege: a.xp,
                app_type: a.at,
            })
        }),
        files: r
            .f
            .into_iter()
            .map(
                |(file_id, filename, account_name, privset_name)| AttachedFile {
                    file_id,
                    filename,
                    account_name,
                    privset_name,
                },
            )
            .collect(),
        client_id: client,
        lifetime_end: r.le,
        extras,
    };
    session.expand_under(roles);
    Ok(session)
}

pub(crate) fn corrupt() -> Error {
    Error::new(
        ErrorKind::Internal,
        "a session record in the Redis store is not one this library wrote",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::VecDeque;

    #[test]
    fn a_session_survives_its_record() {
        let roles = Arc::new(
            RolesTable::from_json(
                r#"{"privileges": [{"privilege": "a"}, {"privilege": "b", "includes": ["a"]}],
                    "roles": [{"role": "R", "privileges": ["b"]}]}"#,
                64,
            )
            .unwrap(),
        );
        let mut s = Session::for_tests(SessionType::Web, 1_700_000_000_000);
        s.state = SessionState::Disconnecting;
        s.details.user_name = "ann \"the\" user".into();
        s.details.ip_address = "10.0.0.1".into();
        s.details.host_type = HostType::Browser;
        s.identifier = "Kiosk 7".into();
        s.idle_timeout = 90;
        s.last_activity += 5_000;
        s.lifetime_end = Some(1_700_000_999_000);
        s.grant = Some(Box::new(Grant {
            privileges: vec![],
            roles: vec!["R".into()],
        }));
        s.storage =
            crate::storage::from_root(&json!({"n": 1, "o": {"é": [true]}}), 1 << 20).unwrap();
        s.app = Some(Box::new(AppDetails {
            app_version: "Pro 21".into(),
            extended_privilege: Some("fmapp".into()),
            ..AppDetails::default()
        }));
        s.files = vec![AttachedFile {
            file_id: 3,
            filename: "Survey".into(),
            account_name: "ann".into(),
            privset_name: "[Full Access]".into(),
        }]
        .into_boxed_slice();
        let extras = s.extras_mut();
        extras.disconnect_at = Some(1_700_000_100_000);
        extras.messages = VecDeque::from([
            Message {
                time: 1,
                text: "bye".into(),
                disconnect_at: Some(2),
            },
            Message {
                time: 3,
                text: "line\nbreak \u{1F600}".into(),
                disconnect_at: None,
            },
        ]);
        let token = SessionId::random();
        extras.otps.push(Otp {
            key: crate::otp::key_of(token),
            expires: 9,
        });
        let text = encode(&s);
        let back = decode(s.id, 42, &text, &roles).unwrap();
        assert_eq!(encode(&back), text);
        assert_eq!(
            back.extras.as_ref().unwrap().otps,
            s.extras.as_ref().unwrap().otps
        );
        assert!(
            !text.contains(&token.to_string()),
            "a passcode is kept as its digest"
        );
        assert_eq!(back.client_id, 42);
        assert_eq!(back.id, s.id);
        assert!(back.has_privilege(crate::names::Query::Text("a")));
        assert_eq!(back.privilege_names(), vec!["a", "b"]);
        assert_eq!(back.storage.to_json(), s.storage.to_json());
        assert_eq!(back.expires_at(), s.expires_at());
        assert!(
            !text.contains(&s.id.to_string()),
            "the ID is the key, not the record"
        );
    }

    #[test]
    fn a_record_of_something_else_is_refused() {
        let roles = Arc::new(RolesTable::default());
        let mut s = Session::for_tests(SessionType::Web, 1_700_000_000_000);
        s.storage = crate::storage::from_root(&json!({"n": 1}), 1 << 20).unwrap();
        let good = encode(&s);
        // The storage as a string (the record of earlier versions), an unknown field, a
        // storage that is no object, a field of the wrong type.
        let as_string = good.replace(r#""s":{"n":1}"#, r#""s":"{\"n\":1}""#);
        let unknown = good.replacen('{', r#"{"zz":1,"#, 1);
        let not_object = good.replace(r#""s":{"n":1}"#, r#""s":[1]"#);
        let wrong_type = good.replace(r#""it":60"#, r#""it":"60""#);
        assert_ne!(as_string, good);
        assert_ne!(wrong_type, good);
        assert!(decode(s.id, 1, &good, &roles).is_ok());
        for text in [
            "",
            "[]",
            "{}",
            r#"{"t": "web"}"#,
            "not json",
            &as_string,
            &unknown,
            &not_object,
            &wrong_type,
        ] {
            let e = decode(SessionId::random(), 1, text, &roles).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Internal, "{text}");
        }
    }
}
