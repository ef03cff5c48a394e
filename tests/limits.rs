//! Every limit on what a client can make large: its default, `configure` setting it, a refusal
//! with `LimitExceeded` and a message naming the limit, and nothing changed by the refusal.

use sessmgr::{ErrorKind, Registry, SessionId, UpdateOutcome};

/// Everything a caller could observe about the registry and one session.
fn snapshot(r: &Registry, id: SessionId) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}",
        r.sessions_list().unwrap(),
        r.clients_list().unwrap(),
        r.session_count(),
        r.privileges(id).unwrap(),
        r.identifier(id).unwrap(),
        r.storage_get(id, "").unwrap(),
    )
}

/// The call is refused with `LimitExceeded`, names `limit`, and changes nothing.
#[track_caller]
fn refused<T: std::fmt::Debug>(
    r: &Registry,
    id: SessionId,
    limit: &str,
    call: impl FnOnce() -> sessmgr::Result<T>,
) {
    let before = snapshot(r, id);
    let error = call().unwrap_err();
    assert_eq!(error.kind, ErrorKind::LimitExceeded, "{}", error.message);
    assert!(
        error.message.contains(limit),
        "the message should name {limit}: {}",
        error.message
    );
    assert_eq!(snapshot(r, id), before, "a refused call changed something");
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn defaults_are_published_and_each_limit_has_a_range() {
    let settings = Registry::new().settings();
    assert_eq!(settings.max_sessions, 1_000_000);
    assert_eq!(settings.max_storage_bytes, 1 << 20);
    assert_eq!(settings.max_identifier_bytes, 256);
    assert_eq!(settings.max_json_depth, 64);
    assert_eq!(settings.max_privileges_granted, 256);
    assert_eq!(settings.max_attached_files, 64);
    assert_eq!(settings.max_file_names, 10_000);
    let r = Registry::new();
    for (key, below, above) in [
        ("maxSessions", 0_i64, 100_000_001),
        ("maxStorageBytes", 1, (1 << 30) + 1),
        ("maxIdentifierBytes", 0, (1 << 20) + 1),
        ("maxJsonDepth", 0, 128),
        ("maxPrivilegesGranted", 0, 65_537),
        ("maxAttachedFiles", 0, 65_537),
        ("maxFileNames", 0, 1_000_001),
        ("maxLifetime", -1, 2_147_483_648),
    ] {
        for value in [below, above] {
            let error = r.configure(&format!("{{\"{key}\": {value}}}")).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidArgument, "{key} {value}");
            assert!(error.message.contains(key), "{}", error.message);
        }
    }
    assert_eq!(r.settings(), Registry::new().settings());
}

#[test]
fn max_sessions() {
    // With the refuse policy, today's behaviour: full is full.
    let r = Registry::new();
    r.configure(r#"{"maxSessions": 3, "overloadPolicy": "refuse"}"#)
        .unwrap();
    let id = r.create(None).unwrap();
    r.create(None).unwrap();
    r.create(None).unwrap();
    refused(&r, id, "maxSessions", || r.create(None));
    r.close(id).unwrap();
    r.create(None).unwrap();
    // With the default policy, a guest makes room; sessions that are no guests do not.
    let r = Registry::new();
    r.configure(r#"{"maxSessions": 3}"#).unwrap();
    let id = r.create(Some(r#"{"type": "remote"}"#)).unwrap();
    r.create(Some(r#"{"type": "remote"}"#)).unwrap();
    let guest = r.create(Some(r#"{"type": "rest"}"#)).unwrap();
    let evicted = r.create(None).unwrap();
    assert!(r.info(guest).is_err(), "the rest guest made room");
    r.set_privileges(evicted, "WebAdmin").unwrap();
    refused(&r, id, "maxSessions", || r.create(None));
}

#[test]
fn max_storage_bytes() {
    let r = Registry::new();
    r.configure(r#"{"maxStorageBytes": 32}"#).unwrap();
    let id = r.create(None).unwrap();
    r.storage_set(id, "/a", "\"0123456789\"").unwrap();
    let long = format!("\"{}\"", "x".repeat(20));
    refused(&r, id, "maxStorageBytes", || r.storage_set(id, "/b", &long));
    refused(&r, id, "maxStorageBytes", || {
        r.storage_merge(id, &format!("{{\"b\": {long}}}"))
    });
    refused(&r, id, "maxStorageBytes", || {
        r.storage_update(id, |_| {
            UpdateOutcome::Replace(serde_json::json!({ "b": "x".repeat(40) }))
        })
    });
    // Text longer than the limit is refused before it is parsed.
    refused(&r, id, "maxStorageBytes", || {
        r.storage_set(id, "/a", &" ".repeat(100))
    });
}

#[test]
fn max_identifier_bytes() {
    let r = Registry::new();
    r.configure(r#"{"maxIdentifierBytes": 8}"#).unwrap();
    let id = r.create(None).unwrap();
    r.set_identifier(id, "é-1234").unwrap(); // 7 bytes
    refused(&r, id, "maxIdentifierBytes", || {
        r.set_identifier(id, "éé-12345")
    });
}

#[test]
fn max_json_depth_applies_to_every_json_input() {
    let r = Registry::new();
    r.configure(r#"{"maxJsonDepth": 4}"#).unwrap();
    let id = r.create(None).unwrap();
    let deep = nested(5);
    let options = format!(r#"{{"type": "remote", "x": {deep}}}"#);
    refused(&r, id, "maxJsonDepth", || r.create(Some(&options)));
    refused(&r, id, "maxJsonDepth", || {
        r.set_privileges(id, &format!(r#"{{"privileges": {deep}}}"#))
    });
    refused(&r, id, "maxJsonDepth", || {
        r.attach_file(id, &format!(r#"{{"filename": {deep}}}"#))
    });
    refused(&r, id, "maxJsonDepth", || r.storage_set(id, "/a", &deep));
    refused(&r, id, "maxJsonDepth", || {
        r.storage_merge(id, &format!(r#"{{"a": {deep}}}"#))
    });
    refused(&r, id, "maxJsonDepth", || {
        r.parse_storage_root(&format!(r#"{{"a": {deep}}}"#))
    });
    refused(&r, id, "maxJsonDepth", || {
        r.load_roles(&format!(r#"{{"privileges": {deep}}}"#))
    });
    refused(&r, id, "maxJsonDepth", || {
        r.configure(&format!(r#"{{"roles": {{"privileges": {deep}}}}}"#))
    });
    // At the limit, the same inputs are parsed (and judged on what they say).
    r.storage_set(id, "/a", &nested(4)).unwrap();
    assert_eq!(r.storage_get(id, "/a").unwrap(), nested(4));
    // Brackets inside strings are text, not nesting.
    r.storage_set(id, "/s", &format!("\"{}\"", "[".repeat(100)))
        .unwrap();
    // Far beyond serde_json's own limit: still the depth limit, not a crash or a parse error.
    refused(&r, id, "maxJsonDepth", || {
        r.storage_set(id, "/a", &"[".repeat(1_000_000))
    });
}

#[test]
fn max_privileges_granted() {
    let r = Registry::new();
    r.load_roles(r#"{"privileges": [{"privilege": "a"}, {"privilege": "b"}, {"privilege": "c"}]}"#)
        .unwrap();
    r.configure(r#"{"maxPrivilegesGranted": 2}"#).unwrap();
    let id = r.create(None).unwrap();
    r.set_privileges(id, "a, b").unwrap();
    refused(&r, id, "maxPrivilegesGranted", || {
        r.set_privileges(id, "a,b,c")
    });
    refused(&r, id, "maxPrivilegesGranted", || {
        r.set_privileges(id, r#"{"privileges": ["a"], "roles": ["x", "y"]}"#)
    });
    // Names that are not declared count too: they are what a client can make many of.
    let many = (0..10_000).map(|i| format!("n{i}")).collect::<Vec<_>>();
    refused(&r, id, "maxPrivilegesGranted", || {
        r.set_privileges(id, &many.join(","))
    });
    assert!(r.has_privilege(id, "b").unwrap());
    // One name is at most 1,024 bytes, declared or not.
    refused(&r, id, "1024", || r.set_privileges(id, &"n".repeat(1025)));
}

#[test]
fn max_attached_files() {
    let r = Registry::new();
    r.configure(r#"{"maxAttachedFiles": 2}"#).unwrap();
    let id = r.create(Some(r#"{"type": "remote"}"#)).unwrap();
    r.attach_file(id, r#"{"filename": "A"}"#).unwrap();
    r.attach_file(id, r#"{"filename": "B"}"#).unwrap();
    refused(&r, id, "maxAttachedFiles", || {
        r.attach_file(id, r#"{"filename": "C"}"#)
    });
    r.detach_file(id, "A").unwrap();
    r.attach_file(id, r#"{"filename": "C"}"#).unwrap();
}

#[test]
fn max_file_names() {
    let r = Registry::new();
    r.configure(r#"{"maxFileNames": 2}"#).unwrap();
    let first = r.create(Some(r#"{"type": "remote"}"#)).unwrap();
    let second = r.create(Some(r#"{"type": "remote"}"#)).unwrap();
    r.attach_file(first, r#"{"filename": "A"}"#).unwrap();
    r.attach_file(first, r#"{"filename": "B"}"#).unwrap();
    r.detach_file(first, "A").unwrap();
    // A name already known keeps its ID, detached or not; a third name is refused.
    r.attach_file(second, r#"{"filename": "A"}"#).unwrap();
    refused(&r, second, "maxFileNames", || {
        r.attach_file(second, r#"{"filename": "C"}"#)
    });
    // reset forgets the names.
    r.reset();
    r.configure(r#"{"maxFileNames": 2}"#).unwrap();
    let third = r.create(Some(r#"{"type": "remote"}"#)).unwrap();
    r.attach_file(third, r#"{"filename": "C"}"#).unwrap();
}
