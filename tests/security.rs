//! SPEC section 10 (lifecycle and security) on `Registry` instances: client numbers instead of
//! bearer tokens, an administrator's messages and disconnections, and that no error message
//! repeats a session ID.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sessmgr::{ErrorKind, EventHandler, Registry, SessionId};

fn manual() -> Registry {
    let r = Registry::new();
    r.configure(r#"{"clock": "manual"}"#).unwrap();
    r
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn kind<T: std::fmt::Debug>(result: sessmgr::Result<T>) -> ErrorKind {
    result.unwrap_err().kind
}

/// Events as the handler saw them, parsed.
fn recorder(r: &Registry) -> Arc<Mutex<Vec<Value>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let theirs = Arc::clone(&seen);
    let handler: EventHandler = Arc::new(move |json: &str| {
        theirs
            .lock()
            .unwrap()
            .push(serde_json::from_str(json).unwrap())
    });
    r.set_event_handler(Some(handler));
    seen
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
    let list = r.clients_list();
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
    let stats = json_of(&r.stats());
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
    let stats = json_of(&r.stats());
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
    assert_eq!(json_of(&r.stats())["closed"], 2);
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
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("security-log-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("Access.log");
    let r = manual();
    r.configure(&json!({"accessLog": {"path": path, "hostName": "fms"}}).to_string())
        .unwrap();
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
    let _ = std::fs::remove_dir_all(&dir);
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
