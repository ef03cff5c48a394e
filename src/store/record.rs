//! A session as the Redis store keeps it: one compact JSON object with every field a host needs
//! to rebuild the session. The grant is kept as the names granted, and expanded by the host
//! that reads it under its own roles file (every host loads the same one). The client number
//! is kept beside the record (Redis gives it), and doubles as the creation order.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::client::{AppDetails, AttachedFile, Message};
use crate::error::{Error, ErrorKind, Result};
use crate::id::SessionId;
use crate::otp::Otp;
use crate::roles::{Grant, PrivilegeSet, RolesTable};
use crate::session::{ClientDetails, Extras, HostType, Session, SessionState, SessionType};
use crate::storage::Storage;

/// The record of `session` (everything but its ID and client number).
pub fn encode(session: &Session) -> String {
    let d = &session.details;
    let mut record = json!({
        "t": session.kind.name(),
        "st": session.state.name(),
        "u": d.user_name,
        "m": d.machine_name,
        "su": d.system_user_name,
        "ip": d.ip_address,
        "ht": d.host_type.name(),
        "p": d.persistent_id,
        "i": session.identifier,
        "cr": session.created,
        "it": session.idle_timeout,
        "la": session.last_activity,
        "s": session.storage.to_json(),
        "sv": session.storage_version,
    });
    let fields = record.as_object_mut().expect("an object");
    if let Some(grant) = session.grant.as_deref() {
        fields.insert("g".into(), json!({"p": grant.privileges, "r": grant.roles}));
    }
    if let Some(end) = session.lifetime_end {
        fields.insert("le".into(), end.into());
    }
    if let Some(app) = session.app.as_deref() {
        fields.insert(
            "app".into(),
            json!({
                "v": app.app_version,
                "l": app.app_language,
                "os": app.operating_system,
                "mac": app.mac_address,
                "xp": app.extended_privilege,
                "at": app.app_type,
            }),
        );
    }
    if !session.files.is_empty() {
        let files: Vec<Value> = session
            .files
            .iter()
            .map(|f| json!([f.file_id, f.filename, f.account_name, f.privset_name]))
            .collect();
        fields.insert("f".into(), files.into());
    }
    if let Some(extras) = session.extras.as_deref() {
        let messages: Vec<Value> = extras
            .messages
            .iter()
            .map(|m| json!([m.time, m.text, m.disconnect_at]))
            .collect();
        let otps: Vec<Value> = extras
            .otps
            .iter()
            .map(|o| json!([o.token.to_string(), o.expires]))
            .collect();
        fields.insert(
            "x".into(),
            json!({"msg": messages, "da": extras.disconnect_at, "otp": otps}),
        );
    }
    record.to_string()
}

/// The session `id` (client number `client`) from its record, its grant expanded under
/// `roles`. A record this library did not write is `Internal`: the key holds something else.
pub fn decode(id: SessionId, client: u64, text: &str, roles: &Arc<RolesTable>) -> Result<Session> {
    let value: Value = serde_json::from_str(text).map_err(|_| corrupt())?;
    let r = value.as_object().ok_or_else(corrupt)?;
    let kind = SessionType::parse(text_of(r, "t")?).map_err(|_| corrupt())?;
    let state = match text_of(r, "st")? {
        "disconnecting" => SessionState::Disconnecting,
        other => SessionState::parse(other).map_err(|_| corrupt())?,
    };
    let host_type = match text_of(r, "ht")? {
        "" => HostType::Unknown,
        other => HostType::parse(other).ok_or_else(corrupt)?,
    };
    let storage_text = text_of(r, "s")?;
    let storage_value: Value = serde_json::from_str(storage_text).map_err(|_| corrupt())?;
    let storage: Storage = crate::storage::from_root(&storage_value, usize::MAX)?;
    let grant = match r.get("g") {
        Some(g) => Some(Box::new(Grant {
            privileges: names_of(g.get("p"))?,
            roles: names_of(g.get("r"))?,
        })),
        None => None,
    };
    let app = match r.get("app") {
        Some(a) => Some(Box::new(AppDetails {
            app_version: string_in(a, "v")?,
            app_language: string_in(a, "l")?,
            operating_system: string_in(a, "os")?,
            mac_address: string_in(a, "mac")?,
            extended_privilege: a.get("xp").and_then(Value::as_str).map(str::to_owned),
            app_type: a.get("at").and_then(Value::as_str).map(str::to_owned),
        })),
        None => None,
    };
    let mut files = Vec::new();
    for f in r.get("f").and_then(Value::as_array).into_iter().flatten() {
        files.push(AttachedFile {
            file_id: f
                .get(0)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(corrupt)?,
            filename: string_at(f, 1)?,
            account_name: string_at(f, 2)?,
            privset_name: string_at(f, 3)?,
        });
    }
    let extras = match r.get("x") {
        Some(x) => {
            let mut extras = Extras {
                disconnect_at: x.get("da").and_then(Value::as_i64),
                ..Extras::default()
            };
            for m in x.get("msg").and_then(Value::as_array).into_iter().flatten() {
                extras.messages.push_back(Message {
                    time: m.get(0).and_then(Value::as_i64).ok_or_else(corrupt)?,
                    text: string_at(m, 1)?,
                    disconnect_at: m.get(2).and_then(Value::as_i64),
                });
            }
            for o in x.get("otp").and_then(Value::as_array).into_iter().flatten() {
                extras.otps.push(Otp {
                    token: SessionId::parse(&string_at(o, 0)?).map_err(|_| corrupt())?,
                    expires: o.get(1).and_then(Value::as_i64).ok_or_else(corrupt)?,
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
        idle_timeout: int_of(r, "it")?.try_into().map_err(|_| corrupt())?,
        last_activity: int_of(r, "la")?,
        id,
        details: ClientDetails {
            user_name: text_of(r, "u")?.into(),
            machine_name: text_of(r, "m")?.into(),
            system_user_name: text_of(r, "su")?.into(),
            ip_address: text_of(r, "ip")?.into(),
            host_type,
            persistent_id: text_of(r, "p")?.into(),
        },
        identifier: text_of(r, "i")?.to_owned(),
        created: int_of(r, "cr")?,
        sequence: client,
        grant,
        storage,
        storage_version: r.get("sv").and_then(Value::as_u64).ok_or_else(corrupt)?,
        app,
        files: files.into_boxed_slice(),
        client_id: client,
        lifetime_end: r.get("le").and_then(Value::as_i64),
        extras,
    };
    session.expand_under(roles);
    Ok(session)
}

fn corrupt() -> Error {
    Error::new(
        ErrorKind::Internal,
        "a session record in the Redis store is not one this library wrote",
    )
}

fn text_of<'a>(r: &'a Map<String, Value>, key: &str) -> Result<&'a str> {
    r.get(key).and_then(Value::as_str).ok_or_else(corrupt)
}

fn int_of(r: &Map<String, Value>, key: &str) -> Result<i64> {
    r.get(key).and_then(Value::as_i64).ok_or_else(corrupt)
}

fn string_in(v: &Value, key: &str) -> Result<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(corrupt)
}

fn string_at(v: &Value, at: usize) -> Result<String> {
    v.get(at)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(corrupt)
}

fn names_of(v: Option<&Value>) -> Result<Vec<String>> {
    v.and_then(Value::as_array)
        .ok_or_else(corrupt)?
        .iter()
        .map(|n| n.as_str().map(str::to_owned).ok_or_else(corrupt))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
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
        extras.messages = VecDeque::from([Message {
            time: 1,
            text: "bye".into(),
            disconnect_at: Some(2),
        }]);
        extras.otps.push(Otp {
            token: SessionId::random(),
            expires: 9,
        });
        let text = encode(&s);
        let back = decode(s.id, 42, &text, &roles).unwrap();
        assert_eq!(encode(&back), text);
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
        for text in ["", "[]", "{}", r#"{"t": "web"}"#, "not json"] {
            let e = decode(SessionId::random(), 1, text, &roles).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Internal, "{text}");
        }
    }
}
