//! A session as the Redis store keeps it: one compact binary record (postcard, serde's
//! compact format: every text length-prefixed, so that reading it borrows from the bytes read
//! and unescapes nothing) with every field a host needs to rebuild the session. The grant is
//! kept as the names granted, and expanded by the host that reads it under its own roles file
//! (every host loads the same one); the storage as its compact JSON text. The client number is
//! kept beside the record (Redis gives it), and doubles as the creation order.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::client::{AppDetails, AttachedFile, Message};
use crate::error::{Error, ErrorKind, Result};
use crate::id::SessionId;
use crate::otp::Otp;
use crate::roles::{Grant, PrivilegeSet, RolesTable};
use crate::session::{ClientDetails, Extras, HostType, Session, SessionState, SessionType};

/// The first byte of every record: a record of another layout (or of something else) is
/// refused rather than misread.
const FORMAT: u8 = 1;

/// A record, its texts borrowed (from the session when written, from the bytes when read).
#[derive(Serialize, Deserialize)]
struct Record<'a> {
    format: u8,
    kind: &'a str,
    state: &'a str,
    user: &'a str,
    machine: &'a str,
    system_user: &'a str,
    ip: &'a str,
    host_type: &'a str,
    persistent_id: &'a str,
    identifier: &'a str,
    created: i64,
    idle_timeout: i32,
    last_activity: i64,
    storage: &'a str,
    storage_version: u64,
    #[serde(borrow)]
    grant: Option<(Vec<&'a str>, Vec<&'a str>)>,
    lifetime_end: Option<i64>,
    #[serde(borrow)]
    app: Option<AppRecord<'a>>,
    #[serde(borrow)]
    files: Vec<(u32, &'a str, &'a str, &'a str)>,
    #[serde(borrow)]
    extras: Option<ExtrasRecord<'a>>,
}

#[derive(Serialize, Deserialize)]
struct AppRecord<'a> {
    version: &'a str,
    language: &'a str,
    os: &'a str,
    mac: &'a str,
    extended_privilege: Option<&'a str>,
    app_type: Option<&'a str>,
}

#[derive(Serialize, Deserialize)]
struct ExtrasRecord<'a> {
    #[serde(borrow)]
    messages: Vec<(i64, &'a str, Option<i64>)>,
    disconnect_at: Option<i64>,
    /// Each passcode's digest (never the passcode) and end.
    otps: Vec<(u128, i64)>,
}

/// The record of `session` (everything but its ID and client number).
pub fn encode(session: &Session) -> Vec<u8> {
    let d = &session.details;
    let storage = session.storage.to_json();
    let record = Record {
        format: FORMAT,
        kind: session.kind.name(),
        state: session.state.name(),
        user: &d.user_name,
        machine: &d.machine_name,
        system_user: &d.system_user_name,
        ip: &d.ip_address,
        host_type: d.host_type.name(),
        persistent_id: session.persistent_id(),
        identifier: &session.identifier,
        created: session.created,
        idle_timeout: session.idle_timeout,
        last_activity: session.last_activity,
        storage: &storage,
        storage_version: session.storage_version,
        grant: session
            .grant
            .as_deref()
            .map(|g| (names(&g.privileges), names(&g.roles))),
        lifetime_end: session.lifetime_end.get(),
        app: session.app().map(|a| AppRecord {
            version: &a.app_version,
            language: &a.app_language,
            os: &a.operating_system,
            mac: &a.mac_address,
            extended_privilege: a.extended_privilege.as_deref(),
            app_type: a.app_type.as_deref(),
        }),
        files: session
            .files()
            .iter()
            .map(|f| {
                (
                    f.file_id,
                    f.filename.as_str(),
                    f.account_name.as_str(),
                    f.privset_name.as_str(),
                )
            })
            .collect(),
        extras: session.extras.as_deref().map(|x| ExtrasRecord {
            messages: x
                .messages
                .iter()
                .map(|m| (m.time, m.text.as_str(), m.disconnect_at))
                .collect(),
            disconnect_at: x.disconnect_at,
            otps: x.otps.iter().map(|o| (o.key, o.expires)).collect(),
        }),
    };
    postcard::to_allocvec(&record).expect("a record of texts and numbers always serializes")
}

/// The session `id` (client number `client`; the ID is [`SessionId::UNKNOWN`] for a session
/// reached otherwise than by its ID) from its record, its grant expanded under `roles`. A
/// record this library did not write is `Internal`: the key holds something else.
pub fn decode(
    id: SessionId,
    client: u64,
    bytes: &[u8],
    roles: &Arc<RolesTable>,
) -> Result<Session> {
    let (r, rest): (Record<'_>, &[u8]) = postcard::take_from_bytes(bytes).map_err(|_| corrupt())?;
    if r.format != FORMAT || !rest.is_empty() {
        return Err(corrupt());
    }
    let kind = SessionType::parse(r.kind).map_err(|_| corrupt())?;
    let state = match r.state {
        "disconnecting" => SessionState::Disconnecting,
        other => SessionState::parse(other).map_err(|_| corrupt())?,
    };
    let host_type = match r.host_type {
        "" => HostType::Unknown,
        other => HostType::parse(other).ok_or_else(corrupt)?,
    };
    let storage = crate::storage::from_compact_object(r.storage).map_err(|_| corrupt())?;
    let owned = |list: Vec<&str>| -> Vec<String> { list.into_iter().map(str::to_owned).collect() };
    let mut session = Session {
        kind,
        state,
        roles: None,
        privileges: PrivilegeSet::default(),
        idle_timeout: r.idle_timeout,
        last_activity: r.last_activity,
        id,
        details: ClientDetails {
            user_name: r.user.into(),
            machine_name: r.machine.into(),
            system_user_name: r.system_user.into(),
            ip_address: r.ip.into(),
            host_type,
        },
        identifier: r.identifier.to_owned(),
        created: r.created,
        sequence: client,
        grant: r.grant.map(|(privileges, roles)| {
            Box::new(Grant {
                privileges: owned(privileges),
                roles: owned(roles),
            })
        }),
        storage,
        storage_version: r.storage_version,
        client_id: client,
        lifetime_end: r.lifetime_end.into(),
        extras: None,
    };
    let mut extras = r.extras.map(|x| Extras {
        messages: x
            .messages
            .into_iter()
            .map(|(time, text, disconnect_at)| Message {
                time,
                text: text.to_owned(),
                disconnect_at,
            })
            .collect(),
        disconnect_at: x.disconnect_at,
        otps: x
            .otps
            .into_iter()
            .map(|(key, expires)| Otp { key, expires })
            .collect(),
        ..Extras::default()
    });
    let app = r.app.map(|a| {
        Box::new(AppDetails {
            app_version: a.version.to_owned(),
            app_language: a.language.to_owned(),
            operating_system: a.os.to_owned(),
            mac_address: a.mac.to_owned(),
            extended_privilege: a.extended_privilege.map(str::to_owned),
            app_type: a.app_type.map(str::to_owned),
        })
    });
    let files: Vec<AttachedFile> = r
        .files
        .into_iter()
        .map(
            |(file_id, filename, account_name, privset_name)| AttachedFile {
                file_id,
                filename: filename.to_owned(),
                account_name: account_name.to_owned(),
                privset_name: privset_name.to_owned(),
            },
        )
        .collect();
    if app.is_some() || !files.is_empty() {
        let extras = extras.get_or_insert_with(Extras::default);
        extras.app = app;
        extras.files = files;
    }
    session.extras = extras.map(Box::new);
    session.set_persistent_id(r.persistent_id.into());
    session.expand_under(roles);
    Ok(session)
}

fn names(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
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
        s.set_persistent_id("8FFDAE519F1F4DCDB81E8E8DB00AD101".into());
        s.idle_timeout = 90;
        s.last_activity += 5_000;
        s.lifetime_end = Some(1_700_000_999_000).into();
        s.grant = Some(Box::new(Grant {
            privileges: vec![],
            roles: vec!["R".into()],
        }));
        s.storage =
            crate::storage::from_root(&json!({"n": 1, "o": {"é": [true]}}), 1 << 20).unwrap();
        s.extras_mut().app = Some(Box::new(AppDetails {
            app_version: "Pro 21".into(),
            extended_privilege: Some("fmapp".into()),
            ..AppDetails::default()
        }));
        s.extras_mut().files = vec![AttachedFile {
            file_id: 3,
            filename: "Survey".into(),
            account_name: "ann".into(),
            privset_name: "[Full Access]".into(),
        }]
        .into_iter()
        .collect();
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
        assert!(!holds(&text, token), "a passcode is kept as its digest");
        assert_eq!(back.client_id, 42);
        assert_eq!(back.persistent_id(), "8FFDAE519F1F4DCDB81E8E8DB00AD101");
        assert_eq!(back.id, s.id);
        assert!(back.has_privilege(crate::names::Query::Text("a")));
        assert_eq!(back.privilege_names(), vec!["a", "b"]);
        assert_eq!(back.storage.to_json(), s.storage.to_json());
        assert_eq!(back.expires_at(), s.expires_at());
        assert!(!holds(&text, s.id), "the ID is the key, not the record");
        assert!(holds(
            &[b"x".as_slice(), &s.id.value().to_be_bytes()].concat(),
            s.id
        ));
    }

    #[test]
    fn a_persistent_id_alone_makes_the_only_extras_and_none_makes_none() {
        let roles = Arc::new(RolesTable::default());
        let web = Session::for_tests(SessionType::Web, 1_700_000_000_000);
        let back = decode(web.id, 1, &encode(&web), &roles).unwrap();
        assert!(
            back.extras.is_none(),
            "a web session's record makes no extras"
        );
        assert_eq!(back.persistent_id(), "");
        let mut remote = Session::for_tests(SessionType::Remote, 1_700_000_000_000);
        remote.set_persistent_id("P-1".into());
        let back = decode(remote.id, 2, &encode(&remote), &roles).unwrap();
        assert_eq!(back.persistent_id(), "P-1");
        let extras = back.extras.as_deref().unwrap();
        assert!(extras.app.is_none() && extras.messages.is_empty() && extras.otps.is_empty());
    }

    /// Whether `bytes` hold `token`, as its 16 bytes or as text in any case.
    fn holds(bytes: &[u8], token: SessionId) -> bool {
        let text = String::from_utf8_lossy(bytes).to_lowercase();
        bytes.windows(16).any(|w| w == token.value().to_be_bytes())
            || text.contains(&token.to_string().to_lowercase())
    }

    #[test]
    fn a_record_of_something_else_is_refused() {
        let roles = Arc::new(RolesTable::default());
        let mut s = Session::for_tests(SessionType::Web, 1_700_000_000_000);
        s.storage = crate::storage::from_root(&json!({"n": 1}), 1 << 20).unwrap();
        let good = encode(&s);
        assert!(decode(s.id, 1, &good, &roles).is_ok());
        // The JSON record of earlier versions, another format byte, a record cut short or with
        // bytes after it, a storage that is no object, a type that is none.
        let json = br#"{"t":"web","st":"active","s":{"n":1}}"#.to_vec();
        let mut other_format = good.clone();
        other_format[0] = 2;
        let mut trailing = good.clone();
        trailing.push(0);
        let not_object = encode_with(&s, |r| r.storage = "[1]");
        let no_type = encode_with(&s, |r| r.kind = "webby");
        for bytes in [
            Vec::new(),
            json,
            other_format,
            good[..good.len() - 1].to_vec(),
            trailing,
            not_object,
            no_type,
        ] {
            let e = decode(SessionId::random(), 1, &bytes, &roles).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Internal, "{bytes:?}");
        }
    }

    /// The record of `s`, changed by `change` before it is written.
    fn encode_with(s: &Session, change: impl FnOnce(&mut Record<'_>)) -> Vec<u8> {
        let good = encode(s);
        let (mut record, _): (Record<'_>, _) = postcard::take_from_bytes(&good).unwrap();
        change(&mut record);
        postcard::to_allocvec(&record).unwrap()
    }
}
