//! SPEC section 10 (lifecycle and security) on `Registry` instances: client numbers instead of
//! bearer tokens, an administrator's messages and disconnections, absolute lifetimes, and that
//! no error message repeats a session ID.

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use common::race::{Role, lockstep, race};
use common::recorder;
use serde_json::{Value, json};
use sessmgr::{ErrorKind, Registry, SessionId};

fn manual() -> Registry {
    let r = Registry::new();
    r.configure(r#"{"clock": "manual"}"#).unwrap();
    r
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// A manual-clock registry writing its access log (host "fms") to a fresh file named for `test`.
fn logged(test: &str) -> (Registry, std::path::PathBuf) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("Access.log");
    let r = manual();
    r.configure(&json!({"accessLog": {"path": path, "hostName": "fms"}}).to_string())
        .unwrap();
    (r, path)
}

/// The session expires `minutes` from now: its last activity is now.
#[track_caller]
fn expires_in(r: &Registry, id: SessionId, minutes: i64) {
    assert_eq!(
        r.expiration_date(id).unwrap(),
        sessmgr::iso8601(r.now() + minutes * 60_000)
    );
}

#[track_caller]
fn kind<T: std::fmt::Debug>(result: sessmgr::Result<T>) -> ErrorKind {
    result.unwrap_err().kind
}

fn events_of(seen: &Mutex<Vec<Value>>, event: &str) -> Vec<Value> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == event)
        .cloned()
        .collect()
}

// ----- client numbers -----------------------------------------------------------------------

#[test]
fn every_session_has_a_client_number_increasing_and_never_reused() {
    let r = manual();
    let a = r.create(None).unwrap();
    let b = r.create(Some(r#"{"type": "remote"}"#)).unwrap();
    let (na, nb) = (r.client_id(a).unwrap(), r.client_id(b).unwrap());
    assert!(na > 0 && nb > na, "{na} {nb}");
    r.close(a).unwrap();
    r.reset();
    let c = r.create(None).unwrap();
    assert!(r.client_id(c).unwrap() > nb, "numbers go on after a reset");
    // Another registry of the process never repeats them either.
    let other = Registry::new();
    let d = other.create(None).unwrap();
    assert!(other.client_id(d).unwrap() > r.client_id(c).unwrap());
}

#[test]
fn the_clients_list_names_clients_by_number_never_by_session_id() {
    let r = manual();
    let ids: Vec<SessionId> = (0..5).map(|_| r.create(None).unwrap()).collect();
    let list = r.clients_list().unwrap();
    for id in &ids {
        assert!(!list.contains(&id.to_string()), "{list}");
        assert!(!list.contains(&id.to_string().to_lowercase()), "{list}");
    }
    let clients = json_of(&list)["response"]["clients"].clone();
    let numbers: Vec<Value> = ids
        .iter()
        .map(|id| json!(r.client_id(*id).unwrap().to_string()))
        .collect();
    let shown: Vec<Value> = clients
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(shown, numbers);
}

// ----- messages -----------------------------------------------------------------------------

#[test]
fn messages_wait_for_the_host_oldest_first_and_are_taken_once() {
    let r = manual();
    let id = r.create(None).unwrap();
    let client = r.client_id(id).unwrap();
    assert_eq!(r.take_messages(id).unwrap(), r#"{"messages":[]}"#);
    r.send_message(client, "first").unwrap();
    r.advance_clock(5).unwrap();
    r.send_message(client, "second \"quoted\"").unwrap();
    let before = r.expiration_date(id).unwrap();
    let taken = json_of(&r.take_messages(id).unwrap());
    let texts: Vec<&str> = taken["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["first", "second \"quoted\""]);
    assert_ne!(taken["messages"][0]["time"], taken["messages"][1]["time"]);
    assert!(taken["messages"][0].get("disconnectAt").is_none());
    assert_eq!(r.take_messages(id).unwrap(), r#"{"messages":[]}"#);
    // Neither sending nor taking is activity.
    assert_eq!(r.expiration_date(id).unwrap(), before);
}

#[test]
fn messages_are_bounded_and_refusals_change_nothing() {
    let r = manual();
    let id = r.create(None).unwrap();
    let client = r.client_id(id).unwrap();
    for i in 0..32 {
        r.send_message(client, &format!("m{i}")).unwrap();
    }
    assert_eq!(
        kind(r.send_message(client, "one more")),
        ErrorKind::LimitExceeded
    );
    assert_eq!(
        kind(r.send_message(client, &"x".repeat(4097))),
        ErrorKind::LimitExceeded
    );
    let taken = json_of(&r.take_messages(id).unwrap());
    assert_eq!(taken["messages"].as_array().unwrap().len(), 32);
    assert_eq!(taken["messages"][31]["text"], "m31");
    r.send_message(client, &"x".repeat(4096)).unwrap();
    assert_eq!(kind(r.send_message(0, "hi")), ErrorKind::InvalidArgument);
    assert_eq!(kind(r.send_message(u64::MAX, "hi")), ErrorKind::NotFound);
    r.close(id).unwrap();
    assert_eq!(kind(r.send_message(client, "hi")), ErrorKind::NotFound);
    assert_eq!(r.held_clients(), 0);
}

// ----- disconnection ------------------------------------------------------------------------

#[test]
fn a_disconnection_with_no_grace_closes_at_once() {
    let r = manual();
    let seen = recorder(&r);
    let id = r.create(Some(r#"{"type": "remote"}"#)).unwrap();
    let client = r.client_id(id).unwrap();
    r.disconnect(client, Some("bye"), 0).unwrap();
    assert_eq!(kind(r.info(id)), ErrorKind::NotFound);
    assert_eq!(kind(r.disconnect(client, None, 0)), ErrorKind::NotFound);
    let closed = events_of(&seen, "closed");
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0]["reason"], "disconnected");
    let stats = json_of(&r.stats().unwrap());
    assert_eq!(
        (stats["closed"].clone(), stats["expired"].clone()),
        (json!(1), json!(0))
    );
}

#[test]
fn a_disconnection_with_grace_warns_then_closes_whatever_the_activity() {
    let r = manual();
    let seen = recorder(&r);
    let web = r.create(None).unwrap();
    let remote = r.create(Some(r#"{"type": "remote"}"#)).unwrap();
    for id in [web, remote] {
        r.disconnect(
            r.client_id(id).unwrap(),
            Some("Save your work: the server stops."),
            120,
        )
        .unwrap();
        assert_eq!(json_of(&r.info(id).unwrap())["state"], "disconnecting");
        assert_eq!(kind(r.set_state(id, "active")), ErrorKind::BadState);
        let message = json_of(&r.take_messages(id).unwrap())["messages"][0].clone();
        assert_eq!(message["text"], "Save your work: the server stops.");
        let due = message["disconnectAt"].as_str().unwrap().to_owned();
        assert_eq!(
            due,
            sessmgr::iso8601(r.now() + 120_000),
            "disconnectAt is now + grace"
        );
    }
    assert_eq!(
        r.expiration_date(web).unwrap(),
        sessmgr::iso8601(r.now() + 120_000)
    );
    // A second disconnection with a longer grace does not put it off; a shorter one brings it
    // closer.
    r.disconnect(r.client_id(web).unwrap(), None, 600).unwrap();
    assert_eq!(
        r.expiration_date(web).unwrap(),
        sessmgr::iso8601(r.now() + 120_000)
    );
    r.advance_clock(100).unwrap();
    r.touch(web).unwrap();
    r.storage_set(remote, "/k", "1").unwrap();
    assert_eq!(r.session_count(), 2);
    r.advance_clock(20).unwrap();
    // Gone for every call at once, swept or not.
    assert_eq!(r.session_count(), 0);
    assert_eq!(kind(r.touch(web)), ErrorKind::NotFound);
    let stats = json_of(&r.stats().unwrap());
    assert_eq!(stats["closed"], 2, "{stats}");
    assert_eq!(stats["expired"], 0, "{stats}");
    assert_eq!(r.sweep(), 2);
    let closed = events_of(&seen, "closed");
    assert_eq!(closed.len(), 2);
    assert!(
        closed.iter().all(|e| e["reason"] == "disconnected"),
        "{closed:?}"
    );
    assert!(events_of(&seen, "expired").is_empty());
    let changes = events_of(&seen, "stateChanged");
    assert_eq!(
        changes.len(),
        2,
        "one per session: the second disconnection changes no state"
    );
    assert_eq!(changes[0]["new"], "disconnecting");
    assert_eq!(json_of(&r.stats().unwrap())["closed"], 2);
    assert_eq!(r.held_clients(), 0);
}

#[test]
fn a_disconnection_refuses_what_it_cannot_do_and_changes_nothing() {
    let r = manual();
    let id = r.create(None).unwrap();
    let client = r.client_id(id).unwrap();
    assert_eq!(
        kind(r.disconnect(client, None, 86_401)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(r.disconnect(client, Some(&"x".repeat(4097)), 10)),
        ErrorKind::LimitExceeded
    );
    assert_eq!(kind(r.disconnect(0, None, 10)), ErrorKind::InvalidArgument);
    assert_eq!(
        kind(r.disconnect(client + 1_000_000, None, 10)),
        ErrorKind::NotFound
    );
    assert_eq!(json_of(&r.info(id).unwrap())["state"], "active");
    assert_eq!(r.take_messages(id).unwrap(), r#"{"messages":[]}"#);
    // A full queue makes room for the disconnection's notice.
    for i in 0..32 {
        r.send_message(client, &format!("m{i}")).unwrap();
    }
    r.disconnect(client, Some("closing"), 10).unwrap();
    let messages = json_of(&r.take_messages(id).unwrap())["messages"].clone();
    assert_eq!(messages.as_array().unwrap().len(), 32);
    assert_eq!(messages[0]["text"], "m1");
    assert_eq!(messages[31]["text"], "closing");
}

#[test]
fn the_access_log_tells_a_disconnection_with_a_code_of_ours() {
    let (r, path) = logged("security-log");
    let id = r
        .create(Some(r#"{"type": "remote", "userName": "ann"}"#))
        .unwrap();
    let other = r
        .create(Some(r#"{"type": "remote", "userName": "bob"}"#))
        .unwrap();
    r.disconnect(r.client_id(id).unwrap(), None, 0).unwrap();
    r.close(other).unwrap();
    let log = std::fs::read_to_string(&path).unwrap();
    assert!(
        log.contains("\t9006\tfms\tClient \"ann\" closing a connection: \"disconnected\"."),
        "{log}"
    );
    assert!(
        log.contains("\t22\tfms\tClient \"bob\" closing a connection."),
        "{log}"
    );
    for session in [id, other] {
        assert!(!log.contains(&session.to_string()), "{log}");
    }
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

// ----- no session ID in an error message ---------------------------------------------------

#[test]
fn no_error_message_repeats_a_session_id() {
    let r = manual();
    let live = r.create(None).unwrap();
    let closed = r.create(None).unwrap();
    r.close(closed).unwrap();
    let text = closed.to_string();
    let messages = [
        r.info(closed).unwrap_err().message,
        r.touch(closed).unwrap_err().message,
        r.storage_get(closed, "").unwrap_err().message,
        r.close(closed).unwrap_err().message,
        SessionId::parse(&format!("{text}0")).unwrap_err().message,
        SessionId::parse(&text[1..]).unwrap_err().message,
        SessionId::parse(&format!("G{}", &text[1..]))
            .unwrap_err()
            .message,
    ];
    for message in &messages {
        assert!(!message.contains(&text), "{message}");
        assert!(!message.contains(&text[1..20]), "{message}");
    }
    let _ = r.storage_update(live, |_| {
        let message = r.storage_get(live, "").unwrap_err().message;
        assert!(!message.contains(&live.to_string()), "{message}");
        sessmgr::UpdateOutcome::Keep
    });
}

// ----- absolute lifetime --------------------------------------------------------------------

#[test]
fn max_lifetime_ends_a_session_whatever_its_activity() {
    let r = manual();
    let seen = recorder(&r);
    r.configure(r#"{"maxLifetime": 120}"#).unwrap();
    let web = r.create(None).unwrap();
    let rest = r
        .create(Some(r#"{"type": "rest", "maxLifetime": 0}"#))
        .unwrap();
    let short = r.create(Some(r#"{"maxLifetime": 30}"#)).unwrap();
    let remote = r.create(Some(r#"{"type": "remote"}"#)).unwrap();
    let created = r.now();
    assert_eq!(
        r.lifetime_end(web).unwrap(),
        sessmgr::iso8601(created + 120 * 60_000)
    );
    assert_eq!(
        r.lifetime_end(short).unwrap(),
        sessmgr::iso8601(created + 30 * 60_000)
    );
    assert_eq!(
        kind(r.lifetime_end(rest)),
        ErrorKind::NoValue,
        "0 at creation: none"
    );
    assert_eq!(kind(r.lifetime_end(remote)), ErrorKind::NotSupported);
    // Activity every 50 minutes keeps the idle timeout from ever ending them.
    for _ in 0..2 {
        r.advance_clock(50 * 60).unwrap();
        for id in [web, rest] {
            r.touch(id).unwrap();
        }
        r.storage_set(web, "/k", "1").unwrap();
    }
    assert_eq!(
        r.expiration_date(web).unwrap(),
        sessmgr::iso8601(created + 120 * 60_000),
        "the earlier of idle expiry and the absolute end"
    );
    assert_eq!(
        r.lifetime_end(web).unwrap(),
        sessmgr::iso8601(created + 120 * 60_000)
    );
    r.advance_clock(20 * 60).unwrap();
    assert_eq!(kind(r.touch(web)), ErrorKind::NotFound);
    r.touch(rest).unwrap();
    r.info(remote).unwrap();
    assert_eq!(r.sweep(), 2);
    let mut expired: Vec<(String, String)> = events_of(&seen, "expired")
        .iter()
        .map(|e| (e["reason"].to_string(), e["lifetimeEnd"].to_string()))
        .collect();
    expired.sort();
    let end = |minutes: i64| format!("\"{}\"", sessmgr::iso8601(created + minutes * 60_000));
    assert_eq!(
        expired,
        [
            ("\"lifetime\"".to_owned(), end(30)),
            ("\"lifetime\"".to_owned(), end(120)),
        ]
    );
}

#[test]
fn an_absolute_end_is_set_read_back_exactly_and_never_moved_by_activity() {
    let r = manual();
    let id = r.create(None).unwrap();
    assert_eq!(kind(r.lifetime_end(id)), ErrorKind::NoValue);
    let end = r.now() + 45 * 60_000 + 123;
    r.set_lifetime_end(id, Some(&sessmgr::iso8601(end)))
        .unwrap();
    assert_eq!(r.lifetime_end(id).unwrap(), sessmgr::iso8601(end));
    // Another offset, the same instant, read back in the library's form.
    let stamp = sessmgr::iso8601(end);
    let hour: i64 = stamp[11..13].parse().unwrap();
    let shifted = format!(
        "{}{:02}{}+01:00",
        &stamp[..11],
        (hour + 1) % 24,
        &stamp[13..23]
    );
    if hour < 23 {
        r.set_lifetime_end(id, Some(&shifted)).unwrap();
        assert_eq!(r.lifetime_end(id).unwrap(), stamp);
    }
    for _ in 0..3 {
        r.advance_clock(60).unwrap();
        r.touch(id).unwrap();
        r.storage_set(id, "/n", "1").unwrap();
        r.set_identifier(id, "x").unwrap();
    }
    assert_eq!(r.lifetime_end(id).unwrap(), stamp);
    // Refusals change nothing.
    for bad in [
        "tomorrow",
        "2026-12-31",
        "2026-12-31T23:59:59.9999Z",
        "1969-12-31T23:59:59Z",
    ] {
        assert_eq!(
            kind(r.set_lifetime_end(id, Some(bad))),
            ErrorKind::InvalidArgument,
            "{bad}"
        );
    }
    assert_eq!(r.lifetime_end(id).unwrap(), stamp);
    // Cleared: the idle timeout alone ends it.
    r.set_lifetime_end(id, None).unwrap();
    assert_eq!(kind(r.lifetime_end(id)), ErrorKind::NoValue);
    let remote = r.create(Some(r#"{"type": "remote"}"#)).unwrap();
    assert_eq!(
        kind(r.set_lifetime_end(remote, None)),
        ErrorKind::NotSupported
    );
}

#[test]
fn an_absolute_end_brought_earlier_is_swept_then() {
    let r = manual();
    let seen = recorder(&r);
    let id = r.create(None).unwrap();
    r.set_lifetime_end(id, Some(&sessmgr::iso8601(r.now() + 5_000)))
        .unwrap();
    assert_eq!(
        r.expiration_date(id).unwrap(),
        sessmgr::iso8601(r.now() + 5_000)
    );
    r.advance_clock(4).unwrap();
    assert_eq!(r.sweep(), 0);
    r.advance_clock(1).unwrap();
    assert_eq!(
        r.sweep(),
        1,
        "filed at its new end, not its idle expiry an hour later"
    );
    assert_eq!(events_of(&seen, "expired")[0]["reason"], "lifetime");
    // A date already past ends the session at once.
    let other = r.create(None).unwrap();
    r.set_lifetime_end(other, Some("2000-01-01T00:00:00Z"))
        .unwrap();
    assert_eq!(kind(r.info(other)), ErrorKind::NotFound);
    // An idle expiry says so.
    let idle = r.create(None).unwrap();
    r.advance_clock(3600).unwrap();
    assert_eq!(kind(r.info(idle)), ErrorKind::NotFound);
    r.sweep();
    let mut reasons: Vec<String> = events_of(&seen, "expired")
        .iter()
        .map(|e| e["reason"].as_str().unwrap().to_owned())
        .collect();
    reasons.sort();
    assert_eq!(reasons, ["idle", "lifetime", "lifetime"]);
}

#[test]
fn lifetime_settings_and_options_refuse_what_they_cannot_take() {
    let r = manual();
    assert_eq!(
        kind(r.configure(r#"{"maxLifetime": -1}"#)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(r.configure(r#"{"maxLifetime": "1"}"#)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(r.create(Some(r#"{"type": "remote", "maxLifetime": 5}"#))),
        ErrorKind::NotSupported
    );
    assert_eq!(
        kind(r.create(Some(r#"{"maxLifetime": -5}"#))),
        ErrorKind::InvalidArgument
    );
    assert_eq!(r.session_count(), 0);
}

// ----- ID rotation --------------------------------------------------------------------------

const ROLES: &str =
    r#"{"privileges": [{"privilege": "simple"}, {"privilege": "medium", "includes": ["simple"]}]}"#;

#[test]
fn rotation_keeps_everything_but_the_id() {
    let r = manual();
    r.load_roles(ROLES).unwrap();
    r.configure(r#"{"maxLifetime": 600}"#).unwrap();
    let old = r
        .create(Some(r#"{"IPAddress": "192.0.2.7", "idleTimeout": 90}"#))
        .unwrap();
    r.set_privileges(old, r#"{"privileges": ["simple"], "userName": "ann"}"#)
        .unwrap();
    r.set_identifier(old, "ann@kiosk").unwrap();
    r.storage_set(old, "/cart", "[1,2]").unwrap();
    r.attach_file(old, r#"{"filename": "Survey"}"#).unwrap();
    let client = r.client_id(old).unwrap();
    r.send_message(client, "hello").unwrap();
    let info_before = json_of(&r.info(old).unwrap());
    let lifetime = r.lifetime_end(old).unwrap();
    r.advance_clock(60).unwrap();
    let (new, ignored) = r.rotate_id(old, None).unwrap();
    assert!(ignored.is_empty());
    assert_ne!(new, old);
    // The old ID is dead at once.
    assert_eq!(kind(r.info(old)), ErrorKind::NotFound);
    assert_eq!(kind(r.storage_get(old, "")), ErrorKind::NotFound);
    let info = json_of(&r.info(new).unwrap());
    assert_eq!(info["ID"], new.to_string());
    for field in [
        "type",
        "userName",
        "IPAddress",
        "creationDateTime",
        "state",
        "persistentID",
    ] {
        assert_eq!(info[field], info_before[field], "{field}");
    }
    assert_eq!(r.storage_get(new, "").unwrap(), r#"{"cart":[1,2]}"#);
    assert_eq!(r.privileges(new).unwrap(), r#"["simple"]"#);
    assert_eq!(r.identifier(new).unwrap(), "ann@kiosk");
    assert_eq!(r.idle_timeout(new).unwrap(), 90);
    assert_eq!(
        r.lifetime_end(new).unwrap(),
        lifetime,
        "rotation does not restart it"
    );
    assert_eq!(r.client_id(new).unwrap(), client);
    assert_eq!(
        json_of(&r.take_messages(new).unwrap())["messages"][0]["text"],
        "hello"
    );
    let clients = json_of(&r.clients_list().unwrap());
    assert_eq!(
        clients["response"]["clients"][0]["guestFiles"][0]["filename"],
        "Survey"
    );
    assert_eq!(r.session_count(), 1);
    // Rotation is activity.
    expires_in(&r, new, 90);
}

#[test]
fn rotation_with_a_grant_applies_it_in_the_same_step() {
    let r = manual();
    r.load_roles(ROLES).unwrap();
    let seen = recorder(&r);
    let guest = r.create(None).unwrap();
    r.storage_set(guest, "/cart", "[7]").unwrap();
    assert!(r.is_guest(guest).unwrap());
    let (user, ignored) = r
        .rotate_id(
            guest,
            Some(r#"{"privileges": ["medium", "nope"], "userName": "ann"}"#),
        )
        .unwrap();
    assert_eq!(ignored, ["nope"]);
    assert!(r.has_privilege(user, "simple").unwrap());
    assert_eq!(r.user_name(user).unwrap(), "ann");
    assert_eq!(r.storage_get(user, "/cart").unwrap(), "[7]");
    assert_eq!(kind(r.has_privilege(guest, "simple")), ErrorKind::NotFound);
    // The events are told under the new ID; idRotated names the old one.
    let rotated = events_of(&seen, "idRotated");
    assert_eq!(rotated.len(), 1);
    assert_eq!(rotated[0]["ID"], user.to_string());
    assert_eq!(rotated[0]["previousID"], guest.to_string());
    for event in ["privilegesChanged", "identifierChanged"] {
        let found = events_of(&seen, event);
        assert_eq!(found.len(), 1, "{event}");
        assert_eq!(found[0]["ID"], user.to_string(), "{event}");
    }
    // Refusals change nothing: the old ID still works.
    let remote = r.create(Some(r#"{"type": "remote"}"#)).unwrap();
    assert_eq!(kind(r.rotate_id(remote, None)), ErrorKind::NotSupported);
    r.info(remote).unwrap();
    assert_eq!(
        kind(r.rotate_id(user, Some("{\"bad\": 1}"))),
        ErrorKind::InvalidArgument
    );
    assert_eq!(kind(r.rotate_id(user, Some("{"))), ErrorKind::InvalidJson);
    let long = format!("[\"{}\"]", "x".repeat(1025));
    assert_eq!(
        kind(r.rotate_id(user, Some(&long))),
        ErrorKind::LimitExceeded
    );
    assert!(r.has_privilege(user, "medium").unwrap());
    assert_eq!(events_of(&seen, "idRotated").len(), 1);
    let unknown = SessionId::parse("3C81A8D7AFE64C2E9CCFFCDC35DC52F5").unwrap();
    assert_eq!(kind(r.rotate_id(unknown, None)), ErrorKind::NotFound);
}

#[test]
fn during_the_grace_time_the_old_id_reaches_the_session_and_never_after() {
    let r = manual();
    assert_eq!(
        kind(r.configure(r#"{"rotationGraceSeconds": 61}"#)),
        ErrorKind::InvalidArgument
    );
    r.configure(r#"{"rotationGraceSeconds": 30}"#).unwrap();
    let first = r.create(None).unwrap();
    let (second, _) = r.rotate_id(first, None).unwrap();
    r.storage_set(first, "/via", "\"old\"").unwrap();
    assert_eq!(r.storage_get(second, "/via").unwrap(), "\"old\"");
    assert_eq!(json_of(&r.info(first).unwrap())["ID"], second.to_string());
    r.advance_clock(20).unwrap();
    // Rotating through the old ID rotates the session again; both old IDs still reach it.
    let (third, _) = r.rotate_id(first, None).unwrap();
    for id in [first, second, third] {
        assert_eq!(json_of(&r.info(id).unwrap())["ID"], third.to_string());
    }
    assert_eq!(r.session_count(), 1);
    r.advance_clock(11).unwrap();
    // The first alias (30 s after its rotation) is gone; the second has 19 s left.
    assert_eq!(kind(r.info(first)), ErrorKind::NotFound);
    assert_eq!(kind(r.storage_set(first, "/via", "1")), ErrorKind::NotFound);
    r.touch(second).unwrap();
    r.advance_clock(20).unwrap();
    assert_eq!(kind(r.touch(second)), ErrorKind::NotFound);
    r.touch(third).unwrap();
    // A sweep forgets the expired aliases; closing through a live alias closes the session.
    r.sweep();
    let (fourth, _) = r.rotate_id(third, None).unwrap();
    r.close(third).unwrap();
    assert_eq!(kind(r.info(fourth)), ErrorKind::NotFound);
    assert_eq!(r.session_count(), 0);
    assert_eq!(r.held_clients(), 0);
}

#[test]
fn the_access_log_tells_a_rotation_without_either_id() {
    let (r, path) = logged("security-rotation");
    let old = r.create(None).unwrap();
    let (new, _) = r.rotate_id(old, Some(r#"{"userName": "ann"}"#)).unwrap();
    let log = std::fs::read_to_string(&path).unwrap();
    assert!(
        log.contains("\t9005\tfms\tClient \"ann\" session ID rotated."),
        "{log}"
    );
    for id in [old, new] {
        assert!(!log.contains(&id.to_string()), "{log}");
        assert!(!log.contains(&id.to_string().to_lowercase()), "{log}");
    }
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

/// 8 threads: 4 rotate one session over and over while 4 increment its storage through the IDs
/// they last saw, old and new (at least 200 rotations each, and 300 increments each of which
///100 during a rotation). With a grace time every increment lands; without one, a write
/// through a dead ID is refused, never lost. Once the grace time has passed, only the last ID
/// works; each rotation call that succeeded gave a distinct ID.
fn rotate_under_load(grace_seconds: u64) {
    let r = manual();
    r.configure(&format!("{{\"rotationGraceSeconds\": {grace_seconds}}}"))
        .unwrap();
    let first = r.create(None).unwrap();
    let client = r.client_id(first).unwrap();
    let current = Mutex::new(first);
    let issued = Mutex::new(vec![first]);
    let (landed, refused) = (AtomicU64::new(0), AtomicU64::new(0));
    let rotate = |_, _| {
        let id = *current.lock().unwrap();
        match r.rotate_id(id, None) {
            Ok((new, _)) => {
                issued.lock().unwrap().push(new);
                *current.lock().unwrap() = new;
            }
            // Rotated by another thread first, with no grace time.
            Err(e) => assert_eq!(e.kind, ErrorKind::NotFound),
        }
    };
    let write = |t: usize, i: u64| {
        let id = if i.is_multiple_of(2) {
            *current.lock().unwrap()
        } else {
            let issued = issued.lock().unwrap();
            issued[issued.len().saturating_sub(1 + (i as usize + t) % 3)]
        };
        let outcome = r.storage_update(id, |text| {
            let mut value: Value = serde_json::from_str(text).unwrap();
            value["n"] = (value["n"].as_u64().unwrap_or(0) + 1).into();
            sessmgr::UpdateOutcome::Replace(value)
        });
        match outcome {
            Ok(()) => landed.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::NotFound);
                refused.fetch_add(1, Ordering::Relaxed)
            }
        };
    };
    race(&[
        Role::new("rotator", 4, &rotate).rounds(200),
        Role::new("writer", 4, &write).rounds(300).overlapped(100),
    ]);
    let (increments, refused) = (landed.into_inner(), refused.into_inner());
    let issued = issued.lock().unwrap().clone();
    let last = *current.lock().unwrap();
    let distinct: std::collections::HashSet<_> = issued.iter().collect();
    assert_eq!(
        distinct.len(),
        issued.len(),
        "a rotation handed out an ID twice"
    );
    assert_eq!(r.client_id(last).unwrap(), client);
    assert_eq!(r.session_count(), 1);
    let stored: u64 = r.storage_get(last, "/n").map_or(0, |n| n.parse().unwrap());
    assert_eq!(stored, increments, "a write was lost");
    if grace_seconds > 0 {
        assert_eq!(refused, 0, "an ID in its grace time was refused");
    }
    r.advance_clock(grace_seconds as i64 + 1).unwrap();
    for id in &issued {
        let reached = r.touch(*id).is_ok();
        assert_eq!(
            reached,
            *id == last,
            "after the grace time only the last ID works"
        );
    }
    eprintln!(
        "grace {grace_seconds} s: {} rotations, {increments} increments landed, {refused} refused",
        issued.len() - 1
    );
}

#[test]
fn rotating_under_load_with_a_grace_time_loses_nothing() {
    rotate_under_load(10);
}

#[test]
fn rotating_under_load_without_a_grace_time_loses_nothing() {
    rotate_under_load(0);
}

/// A session being moved to its new ID is never reported gone by a lookup that meets it moving
/// (a lookup without a shard lock must wait for the move: branch papaya-lookups). 2 threads
/// rotate a user's session (no grace time) while 2 list the user's sessions (by client number)
/// and 2 message it by client number and read its messages through its current ID: every
/// listing shows the session, every message by client finds it. The race is made to happen:
/// the rotators go on until every lister and sender has done 200 rounds during which a rotation
/// finished (and each rotator 400 rotations).
#[test]
fn lookups_during_rotations_never_miss_the_moving_session() {
    let r = manual();
    let first = r.create(None).unwrap();
    r.set_privileges(first, r#"{"privileges": [], "userName": "ann"}"#)
        .unwrap();
    let client = r.client_id(first).unwrap();
    let current = Mutex::new(first);
    let rotate = |_, _| {
        let id = *current.lock().unwrap();
        if let Ok((new, _)) = r.rotate_id(id, None) {
            *current.lock().unwrap() = new;
        }
    };
    let list = |_, _| {
        let rows = json_of(&r.user_sessions("ann").unwrap());
        assert_eq!(rows["clients"].as_array().unwrap().len(), 1, "{rows}");
    };
    let send = |_, _| {
        // Found by client number: delivered, or the queue is full.
        if let Err(e) = r.send_message(client, "hello") {
            assert_eq!(e.kind, ErrorKind::LimitExceeded, "{e:?}");
        }
        r.take_messages(*current.lock().unwrap()).ok();
    };
    let done = race(&[
        Role::new("rotator", 2, &rotate).rounds(400),
        Role::new("lister", 2, &list).rounds(200).overlapped(200),
        Role::new("sender", 2, &send).rounds(200).overlapped(200),
    ]);
    assert_eq!(r.session_count(), 1);
    eprintln!(
        "{} listings ({} during a rotation) and {} messages ({} during a rotation) during {} \
         rotations",
        done[1].rounds, done[1].overlapped, done[2].rounds, done[2].overlapped, done[0].rounds
    );
}

// ----- one-time passcodes -------------------------------------------------------------------

#[test]
fn a_passcode_restores_its_session_once() {
    let r = manual();
    let id = r.create(None).unwrap();
    let token = r.create_otp(id, 120).unwrap();
    assert_ne!(token, id);
    r.advance_clock(60).unwrap();
    assert_eq!(r.restore(token).unwrap(), id);
    // Spent: the same answer as a token that never was.
    let spent = r.restore(token).unwrap_err();
    assert_eq!(spent.kind, ErrorKind::NotFound);
    assert!(
        !spent.message.contains(&token.to_string()),
        "{}",
        spent.message
    );
    assert_eq!(r.held_passcodes(), 0);
    // A restore is activity.
    expires_in(&r, id, 60);
}

#[test]
fn a_passcode_lives_its_lifespan_at_least_ten_seconds_and_dies_with_its_session() {
    let r = manual();
    let id = r.create(None).unwrap();
    let brief = r.create_otp(id, 3).unwrap();
    let raised = r.create_otp(id, 3).unwrap();
    let default = r.create_otp(id, 0).unwrap();
    r.advance_clock(9).unwrap();
    assert_eq!(r.restore(raised).unwrap(), id, "3 s is raised to 10");
    let still = r.create_otp(id, 10).unwrap();
    r.advance_clock(1).unwrap();
    assert_eq!(kind(r.restore(brief)), ErrorKind::NotFound, "and no more");
    assert_eq!(r.restore(still).unwrap(), id);
    // 0: the session's idle timeout (60 minutes).
    r.advance_clock(59 * 60 + 40).unwrap();
    let token = r.create_otp(id, 0).unwrap();
    r.advance_clock(10).unwrap();
    assert_eq!(kind(r.restore(default)), ErrorKind::NotFound);
    // The session ends: its passcodes with it.
    r.close(id).unwrap();
    assert_eq!(kind(r.restore(token)), ErrorKind::NotFound);
    assert_eq!(r.held_passcodes(), 0);
}

#[test]
fn a_passcode_follows_its_session_through_a_rotation() {
    let r = manual();
    let old = r.create(None).unwrap();
    let token = r.create_otp(old, 60).unwrap();
    let (new, _) = r.rotate_id(old, None).unwrap();
    assert_eq!(r.restore(token).unwrap(), new);
}

#[test]
fn passcodes_are_for_web_sessions_bounded_and_refusals_change_nothing() {
    let r = manual();
    r.configure(r#"{"maxOtpsPerSession": 2}"#).unwrap();
    assert_eq!(
        kind(r.configure(r#"{"maxOtpsPerSession": 0}"#)),
        ErrorKind::InvalidArgument
    );
    for options in [
        r#"{"type": "rest"}"#,
        r#"{"type": "remote"}"#,
        r#"{"type": "standalone"}"#,
    ] {
        let other = r.create(Some(options)).unwrap();
        assert_eq!(
            kind(r.create_otp(other, 60)),
            ErrorKind::NotSupported,
            "{options}"
        );
    }
    let id = r.create(None).unwrap();
    assert_eq!(kind(r.create_otp(id, -1)), ErrorKind::InvalidArgument);
    let first = r.create_otp(id, 20).unwrap();
    r.create_otp(id, 60).unwrap();
    assert_eq!(kind(r.create_otp(id, 60)), ErrorKind::LimitExceeded);
    // An expired one makes room (and leaves the index).
    r.advance_clock(20).unwrap();
    r.create_otp(id, 60).unwrap();
    assert_eq!(r.held_passcodes(), 2);
    assert_eq!(kind(r.restore(first)), ErrorKind::NotFound);
    // Expired sessions' passcodes leave the index when they are swept.
    r.advance_clock(3600).unwrap();
    r.sweep();
    assert_eq!(r.held_passcodes(), 0);
}

#[test]
fn many_threads_restoring_one_passcode_restore_it_once() {
    let r = manual();
    let id = r.create(None).unwrap();
    for _ in 0..50 {
        let token = r.create_otp(id, 60).unwrap();
        // The 8 restores start together.
        let tries = lockstep(8, 1, |_, _| r.restore(token).is_ok());
        assert_eq!(tries[0].iter().filter(|&&won| won).count(), 1);
    }
}

// ----- no bearer secret where people look ---------------------------------------------------

#[test]
fn the_clients_list_and_the_access_log_hold_no_session_id_or_passcode() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("security-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("Access.log");
    let r = manual();
    r.load_roles(ROLES).unwrap();
    r.configure(
        &json!({"accessLog": {"path": path, "hostName": "fms"}, "rotationGraceSeconds": 5})
            .to_string(),
    )
    .unwrap();
    let mut secrets: Vec<SessionId> = Vec::new();
    for i in 0..6 {
        let id = r
            .create(Some(
                &json!({"IPAddress": format!("192.0.2.{i}")}).to_string(),
            ))
            .unwrap();
        secrets.push(id);
        secrets.push(r.create_otp(id, 60).unwrap());
        let (new, _) = r
            .rotate_id(
                id,
                Some(&json!({"privileges": ["simple"], "userName": format!("u{i}")}).to_string()),
            )
            .unwrap();
        secrets.push(new);
        r.set_identifier(new, &format!("device {i}")).unwrap();
        r.attach_file(new, r#"{"filename": "Survey"}"#).unwrap();
        let token = r.create_otp(new, 60).unwrap();
        secrets.push(token);
        if i % 2 == 0 {
            r.restore(token).unwrap();
            r.close(new).unwrap();
        } else {
            r.disconnect(r.client_id(new).unwrap(), Some("bye"), 30)
                .unwrap();
        }
    }
    let listed = r.clients_list().unwrap();
    assert_eq!(
        json_of(&listed)["response"]["clients"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    r.advance_clock(3600).unwrap();
    r.sweep();
    let log = std::fs::read_to_string(&path).unwrap();
    for secret in &secrets {
        for text in [secret.to_string(), secret.to_string().to_lowercase()] {
            assert!(!listed.contains(&text), "the clients list holds {text}");
            assert!(!log.contains(&text), "the access log holds {text}");
        }
    }
    assert!(log.lines().count() > 40, "{log}");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

// ----- a user's sessions --------------------------------------------------------------------

fn login(r: &Registry, user: &str) -> sessmgr::Result<SessionId> {
    let id = r.create(None).unwrap();
    r.set_privileges(
        id,
        &json!({"privileges": ["simple"], "userName": user}).to_string(),
    )
    .map(|_| id)
}

fn listed(r: &Registry, user: &str) -> Vec<Value> {
    json_of(&r.user_sessions(user).unwrap())["clients"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_users_sessions_are_listed_by_client_number_and_closed_together() {
    let r = manual();
    r.load_roles(ROLES).unwrap();
    let seen = recorder(&r);
    let a1 = login(&r, "ann").unwrap();
    r.advance_clock(5).unwrap();
    let a2 = login(&r, "ann").unwrap();
    let capital = login(&r, "Ann").unwrap();
    let bob = login(&r, "bob").unwrap();
    let remote = r
        .create(Some(r#"{"type": "remote", "userName": "ann"}"#))
        .unwrap();
    let rows = listed(&r, "ann");
    let numbers: Vec<Value> = rows.iter().map(|row| row["id"].clone()).collect();
    assert_eq!(
        numbers,
        [
            json!(r.client_id(a1).unwrap().to_string()),
            json!(r.client_id(a2).unwrap().to_string())
        ],
        "exact bytes, oldest first, web and rest only"
    );
    assert_eq!(rows[0]["lastActivity"], sessmgr::iso8601(r.now() - 5000));
    assert_eq!(rows[1]["userName"], "ann");
    let text = r.user_sessions("ann").unwrap();
    for id in [a1, a2] {
        assert!(!text.contains(&id.to_string()), "{text}");
    }
    assert_eq!(r.user_sessions("nobody").unwrap(), r#"{"clients":[]}"#);
    // Log out everywhere: only ann's web and rest sessions.
    assert_eq!(r.user_close_sessions("ann").unwrap(), 2);
    assert_eq!(r.user_close_sessions("ann").unwrap(), 0);
    for id in [a1, a2] {
        assert_eq!(kind(r.touch(id)), ErrorKind::NotFound);
    }
    for id in [capital, bob, remote] {
        r.touch(id).unwrap();
    }
    let closed = events_of(&seen, "closed");
    assert_eq!(closed.len(), 2);
    assert!(
        closed.iter().all(|e| e["reason"] == "userLogout"),
        "{closed:?}"
    );
    assert_eq!(r.held_user_sessions(), 2, "Ann and bob");
}

#[test]
fn a_session_changing_user_moves_between_them() {
    let r = manual();
    let id = login(&r, "ann").unwrap();
    r.set_privileges(id, r#"{"userName": "bob"}"#).unwrap();
    assert!(listed(&r, "ann").is_empty());
    assert_eq!(listed(&r, "bob").len(), 1);
    let (new, _) = r.rotate_id(id, Some(r#"{"userName": "cy"}"#)).unwrap();
    assert!(listed(&r, "bob").is_empty());
    assert_eq!(
        listed(&r, "cy")[0]["id"],
        r.client_id(new).unwrap().to_string()
    );
    // A grant without a user name keeps the user; an empty one leaves it.
    r.set_privileges(new, "simple").unwrap();
    assert_eq!(listed(&r, "cy").len(), 1);
    r.set_privileges(new, r#"{"userName": ""}"#).unwrap();
    assert!(listed(&r, "cy").is_empty());
    assert_eq!(r.held_user_sessions(), 0);
    // Sessions that expire leave the index when swept.
    login(&r, "dee").unwrap();
    r.advance_clock(3600).unwrap();
    assert!(
        listed(&r, "dee").is_empty(),
        "expired sessions are not listed"
    );
    r.sweep();
    assert_eq!(r.held_user_sessions(), 0);
}

#[test]
fn the_cap_refuses_a_login_over_it_and_changes_nothing() {
    let r = manual();
    r.load_roles(ROLES).unwrap();
    r.configure(r#"{"maxSessionsPerUser": 2}"#).unwrap();
    login(&r, "ann").unwrap();
    login(&r, "ann").unwrap();
    let guest = r.create(None).unwrap();
    let refused = r
        .set_privileges(guest, r#"{"privileges": ["simple"], "userName": "ann"}"#)
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::LimitExceeded);
    assert!(
        refused.message.contains("maxSessionsPerUser"),
        "{}",
        refused.message
    );
    assert!(r.is_guest(guest).unwrap());
    assert_eq!(r.user_name(guest).unwrap(), "");
    assert_eq!(
        kind(r.rotate_id(guest, Some(r#"{"userName": "ann"}"#))),
        ErrorKind::LimitExceeded
    );
    r.info(guest).unwrap();
    assert_eq!(listed(&r, "ann").len(), 2);
    // A grant that keeps the user is no new login.
    let list = json_of(&r.sessions_list().unwrap());
    let member = SessionId::parse(list["sessions"][0]["ID"].as_str().unwrap()).unwrap();
    r.set_privileges(member, r#"{"privileges": [], "userName": "ann"}"#)
        .unwrap();
    // Room comes back when one leaves.
    r.close(member).unwrap();
    r.set_privileges(guest, r#"{"userName": "ann"}"#).unwrap();
    assert_eq!(
        kind(r.configure(r#"{"sessionLimitPolicy": "closeNewest"}"#)),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn the_cap_closes_the_least_recently_active_under_close_oldest() {
    let r = manual();
    let seen = recorder(&r);
    r.configure(r#"{"maxSessionsPerUser": 2, "sessionLimitPolicy": "closeOldest"}"#)
        .unwrap();
    let first = login(&r, "ann").unwrap();
    r.advance_clock(60).unwrap();
    let second = login(&r, "ann").unwrap();
    r.advance_clock(60).unwrap();
    r.touch(first).unwrap();
    r.advance_clock(60).unwrap();
    let third = login(&r, "ann").unwrap();
    assert_eq!(
        kind(r.touch(second)),
        ErrorKind::NotFound,
        "the least recently active"
    );
    r.touch(first).unwrap();
    r.touch(third).unwrap();
    let closed = events_of(&seen, "closed");
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0]["reason"], "sessionLimit");
    assert_eq!(closed[0]["ID"], second.to_string());
    assert_eq!(listed(&r, "ann").len(), 2);
    // Among equally recent sessions, the one created first goes.
    let older = login(&r, "bob").unwrap();
    let newer = login(&r, "bob").unwrap();
    login(&r, "bob").unwrap();
    assert_eq!(kind(r.touch(older)), ErrorKind::NotFound);
    r.touch(newer).unwrap();
}

/// 8 threads log one user in at once, 250 times each at least, with `maxSessionsPerUser` 3,
/// while a ninth watches (200 times during a login at least): never more than 3 live, and the
/// events add up.
fn logins_at_once(policy: &str) {
    let r = manual();
    r.load_roles(ROLES).unwrap();
    let seen = recorder(&r);
    // Every activity recorded (logins a second apart), so that a session's last activity is
    // its login.
    r.configure(&format!(
        "{{\"maxSessionsPerUser\": 3, \"sessionLimitPolicy\": \"{policy}\", \
         \"activityResolutionSeconds\": 0}}"
    ))
    .unwrap();
    let (ok, refused, most) = (AtomicU64::new(0), AtomicU64::new(0), AtomicUsize::new(0));
    let log_in = |_, round| {
        match login(&r, "ann") {
            Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::LimitExceeded);
                refused.fetch_add(1, Ordering::Relaxed)
            }
        };
        // A second apart (the first 250 of each thread: no session reaches its idle timeout).
        if round < 250 {
            r.advance_clock(1).unwrap();
        }
    };
    let watch = |_, _| {
        most.fetch_max(listed(&r, "ann").len(), Ordering::Relaxed);
    };
    race(&[
        Role::new("login", 8, &log_in).rounds(250),
        Role::new("watcher", 1, &watch).rounds(200).overlapped(200),
    ]);
    let (logins, refusals, most) = (ok.into_inner(), refused.into_inner(), most.into_inner());
    assert!(most <= 3, "{most} sessions of one user were live at once");
    let live = listed(&r, "ann");
    assert_eq!(live.len(), 3);
    let limit_closes = events_of(&seen, "closed")
        .iter()
        .filter(|e| e["reason"] == "sessionLimit")
        .count() as u64;
    match policy {
        "refuse" => {
            assert_eq!(logins, 3);
            assert!(refusals >= 1997);
            assert_eq!(limit_closes, 0);
        }
        _ => {
            assert_eq!(refusals, 0);
            assert!(logins >= 2000);
            assert_eq!(limit_closes, logins - 3);
            // The right ones were closed: none was active after any survivor. (A session's
            // last activity is its login, whose privilegesChanged event has its time.)
            let login_time: std::collections::HashMap<String, String> =
                events_of(&seen, "privilegesChanged")
                    .iter()
                    .map(|e| (e["ID"].to_string(), e["time"].to_string()))
                    .collect();
            let latest_closed = events_of(&seen, "closed")
                .iter()
                .map(|e| login_time[&e["ID"].to_string()].clone())
                .max()
                .unwrap();
            let earliest_survivor = live
                .iter()
                .map(|row| row["lastActivity"].to_string())
                .min()
                .unwrap();
            assert!(
                latest_closed <= earliest_survivor,
                "closed {latest_closed}, kept {earliest_survivor}"
            );
        }
    }
    assert_eq!(r.held_user_sessions(), 3);
}

#[test]
fn eight_threads_logging_one_user_in_under_refuse() {
    logins_at_once("refuse");
}

#[test]
fn eight_threads_logging_one_user_in_under_close_oldest() {
    logins_at_once("closeOldest");
}

// ----- overload -----------------------------------------------------------------------------

#[test]
fn at_max_sessions_a_new_visitor_evicts_the_least_recently_active_guest() {
    let r = manual();
    r.load_roles(ROLES).unwrap();
    let seen = recorder(&r);
    r.configure(r#"{"maxSessions": 4}"#).unwrap();
    let oldest = r.create(None).unwrap();
    r.advance_clock(60).unwrap();
    let older = r.create(None).unwrap();
    r.advance_clock(60).unwrap();
    let member = login(&r, "ann").unwrap();
    let remote = r.create(Some(r#"{"type": "remote"}"#)).unwrap();
    r.advance_clock(60).unwrap();
    r.touch(oldest).unwrap();
    r.advance_clock(60).unwrap();
    // Full: the least recently active guest (older) makes room.
    let newcomer = r.create(None).unwrap();
    assert_eq!(kind(r.touch(older)), ErrorKind::NotFound);
    let closed = events_of(&seen, "closed");
    assert_eq!(closed.len(), 1);
    assert_eq!(
        (closed[0]["reason"].clone(), closed[0]["ID"].clone()),
        (json!("evicted"), json!(older.to_string()))
    );
    // Then oldest, then the newcomer; never the session with a grant, nor the remote one.
    // (Activity a minute apart: recorded under the default activityResolutionSeconds.)
    r.advance_clock(60).unwrap();
    r.create(None).unwrap();
    assert_eq!(kind(r.touch(oldest)), ErrorKind::NotFound);
    r.advance_clock(60).unwrap();
    r.create(None).unwrap();
    assert_eq!(kind(r.touch(newcomer)), ErrorKind::NotFound);
    for id in [member, remote] {
        r.touch(id).unwrap();
    }
    assert_eq!(r.session_count(), 4);
    assert_eq!(json_of(&r.stats().unwrap())["closed"], 3);
}

#[test]
fn sessions_with_a_grant_are_never_evicted_and_refuse_keeps_todays_behaviour() {
    let r = manual();
    r.load_roles(ROLES).unwrap();
    r.configure(r#"{"maxSessions": 2}"#).unwrap();
    let a = login(&r, "ann").unwrap();
    let b = login(&r, "bob").unwrap();
    assert_eq!(kind(r.create(None)), ErrorKind::LimitExceeded);
    // A grant cleared makes a guest again, evictable.
    r.clear_privileges(b).unwrap();
    let x = r.create(None).unwrap();
    assert_eq!(kind(r.touch(b)), ErrorKind::NotFound);
    r.advance_clock(60).unwrap();
    r.touch(x).unwrap();
    // A roles file that takes a's privilege away makes it a guest too, and the least recently
    // active one (activity a minute apart, as the default activityResolutionSeconds records it).
    r.load_roles(r#"{"privileges": [{"privilege": "other"}]}"#)
        .unwrap();
    assert!(r.is_guest(a).unwrap());
    r.create(None).unwrap();
    assert_eq!(kind(r.touch(a)), ErrorKind::NotFound);
    r.touch(x).unwrap();
    // refuse: today's behaviour.
    r.configure(r#"{"overloadPolicy": "refuse"}"#).unwrap();
    assert_eq!(kind(r.create(None)), ErrorKind::LimitExceeded);
    assert_eq!(r.session_count(), 2);
    assert_eq!(
        kind(r.configure(r#"{"overloadPolicy": "evict"}"#)),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn a_rotated_guest_stays_evictable_and_expired_ones_go_first() {
    let r = manual();
    r.configure(r#"{"maxSessions": 2}"#).unwrap();
    let guest = r.create(None).unwrap();
    r.advance_clock(60).unwrap();
    let other = r.create(None).unwrap();
    r.advance_clock(60).unwrap();
    let (rotated, _) = r.rotate_id(guest, None).unwrap();
    r.advance_clock(60).unwrap();
    // Rotation is activity: `other` is now the least recently active.
    r.create(None).unwrap();
    assert_eq!(kind(r.touch(other)), ErrorKind::NotFound);
    r.touch(rotated).unwrap();
    // Expired sessions are swept before any live guest is evicted.
    r.advance_clock(3600).unwrap();
    let seen = recorder(&r);
    r.create(None).unwrap();
    assert!(events_of(&seen, "closed").is_empty());
    assert_eq!(events_of(&seen, "expired").len(), 2);
}

#[test]
fn eight_threads_creating_at_the_limit_never_pass_it_nor_evict_a_grant() {
    let r = manual();
    r.load_roles(ROLES).unwrap();
    r.configure(r#"{"maxSessions": 64}"#).unwrap();
    let members: Vec<SessionId> = (0..16)
        .map(|i| login(&r, &format!("u{i}")).unwrap())
        .collect();
    let create = |_, i: u64| {
        let id = r.create(None).unwrap();
        if i.is_multiple_of(7) {
            let _ = r.touch(id);
        }
        assert!(r.held_sessions() <= 64);
    };
    // 500 each at least, 100 of them while another thread's creation finished.
    let done = race(&[Role::new("creator", 8, &create).rounds(500).overlapped(100)]);
    assert_eq!(r.session_count(), 64);
    for id in members {
        r.touch(id).unwrap();
    }
    assert_eq!(json_of(&r.stats().unwrap())["closed"], done[0].rounds - 48);
    assert_eq!(r.held_clients(), 64);
}

/// Logins of one user under its cap while its sessions are rotated: a member in the middle of a
/// rotation still counts (the cap finds members by client number), so the cap holds. 3 threads
/// log in, 3 rotate (2,000 times each at least), and one watches (200 times during a login).
#[test]
fn the_cap_holds_while_the_users_sessions_are_rotated() {
    let r = manual();
    r.load_roles(ROLES).unwrap();
    r.configure(r#"{"maxSessionsPerUser": 3, "sessionLimitPolicy": "closeOldest"}"#)
        .unwrap();
    let most = AtomicUsize::new(0);
    let mine: Vec<Mutex<Option<SessionId>>> = (0..3).map(|_| Mutex::new(None)).collect();
    // A clock second every 50 calls (the first 2,000: no session reaches its idle timeout).
    let tick = |i: u64| {
        if i.is_multiple_of(50) && i < 2000 {
            r.advance_clock(1).unwrap();
        }
    };
    let log_in = |_, i| {
        login(&r, "ann").unwrap();
        tick(i);
    };
    let rotate = |t: usize, i| {
        let mut mine = mine[t].lock().unwrap();
        if let Some(id) = mine.or_else(|| login(&r, "ann").ok()) {
            // A grant that keeps the user: no login, only a new ID. A session closed as the
            // oldest is replaced by a login next round.
            *mine = r
                .rotate_id(id, Some(r#"["simple"]"#))
                .ok()
                .map(|(new, _)| new);
        }
        tick(i);
    };
    let watch = |_, _| {
        most.fetch_max(listed(&r, "ann").len(), Ordering::Relaxed);
    };
    race(&[
        Role::new("login", 3, &log_in).rounds(2000),
        Role::new("rotator", 3, &rotate)
            .rounds(2000)
            .overlapped(200),
        Role::new("watcher", 1, &watch).rounds(200).overlapped(200),
    ]);
    let most = most.into_inner();
    assert!(most <= 3, "{most} sessions of one user were live at once");
    assert_eq!(listed(&r, "ann").len(), 3);
    assert_eq!(r.session_count(), 3);
    assert_eq!(r.held_user_sessions(), 3);
}
