//! The rules of SPEC.md sections 1 to 6, checked on `Registry` instances (no global state).

mod common;

use common::race::{Role, race};
use serde_json::{Value, json};
use sessmgr::{ErrorKind, Registry, SessionId, UpdateOutcome};

const SEED_ROLES: &str = r#"{ "privileges": [ {"privilege": "simple", "includes": []},
                  {"privilege": "medium", "includes": ["simple"]} ],
  "roles":      [ {"role": "Medium", "privileges": ["medium"]} ],
  "permissions": { "allowed": [ {"applyTo": "ds", "type": "datastore", "read": ["medium"]} ] },
  "forceLogin": false, "restrictedByDefault": false }"#;

/// A registry, in memory; or on the Redis store when `SESSMGR_TEST_STORE` names one (a URL),
/// each under a prefix of its own: see `the_rules_hold_on_the_redis_store`.
fn new_registry() -> Registry {
    static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let r = Registry::new();
    if let Ok(url) = std::env::var("SESSMGR_TEST_STORE") {
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let prefix = format!("rules{}-{n}:", std::process::id());
        r.configure(&json!({"store": {"kind": "redis", "url": url, "prefix": prefix}}).to_string())
            .unwrap();
    }
    r
}

/// Whether the registries of this run are on the Redis store, which keeps no session ID: a
/// session it lists shows `"ID": ""` (its client number is what names it there).
fn on_redis() -> bool {
    std::env::var_os("SESSMGR_TEST_STORE").is_some()
}

fn manual() -> Registry {
    let r = new_registry();
    r.configure(r#"{"clock": "manual"}"#).unwrap();
    r
}

fn create(r: &Registry, options: &str) -> SessionId {
    r.create(Some(options)).unwrap()
}

fn info(r: &Registry, id: SessionId) -> Value {
    serde_json::from_str(&r.info(id).unwrap()).unwrap()
}

fn kind<T: std::fmt::Debug>(result: sessmgr::Result<T>) -> ErrorKind {
    result.unwrap_err().kind
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

// ----- 1. Sessions ------------------------------------------------------------------------

#[test]
fn default_session_is_a_web_guest_with_a_4d_style_id() {
    let r = new_registry();
    let id = r.create(None).unwrap();
    let text = id.to_string();
    assert_eq!(text.len(), 32);
    assert!(
        text.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
        "{text}"
    );
    assert_eq!(info(&r, id)["type"], "web");
    assert!(r.is_guest(id).unwrap());
    // Lower case and the dashed form name the same session.
    let lower = SessionId::parse(&text.to_lowercase()).unwrap();
    let dashed = format!(
        "{}-{}-{}-{}-{}",
        &text[0..8],
        &text[8..12],
        &text[12..16],
        &text[16..20],
        &text[20..]
    );
    assert_eq!(
        r.info(lower).unwrap(),
        r.info(SessionId::parse(&dashed).unwrap()).unwrap()
    );
}

#[test]
fn each_type_is_created_with_its_name() {
    let r = new_registry();
    for name in ["web", "rest", "remote", "storedProcedure", "standalone"] {
        let id = create(&r, &format!(r#"{{"type": "{name}"}}"#));
        assert_eq!(info(&r, id)["type"], name);
    }
    assert_eq!(r.live_sessions().unwrap(), 5);
}

#[test]
fn stored_procedure_and_standalone_are_singletons() {
    let r = new_registry();
    for name in ["storedProcedure", "standalone"] {
        let options = format!(r#"{{"type": "{name}"}}"#);
        let first = create(&r, &options);
        assert_eq!(create(&r, &options), first, "{name}");
        r.close(first).unwrap();
        let again = create(&r, &options);
        assert_ne!(again, first);
        assert_eq!(create(&r, &options), again);
    }
    // Other types are never shared.
    assert_ne!(
        create(&r, r#"{"type":"remote"}"#),
        create(&r, r#"{"type":"remote"}"#)
    );
}

#[test]
fn bad_creation_options_are_refused_and_create_nothing() {
    let r = new_registry();
    for (options, expected) in [
        (r#"{"type":"Web"}"#, ErrorKind::InvalidArgument),
        (r#"{"colour":"red"}"#, ErrorKind::InvalidArgument),
        (
            r#"{"type":"remote","IPAddress":7}"#,
            ErrorKind::InvalidArgument,
        ),
        (r#"{"userName":"bob"}"#, ErrorKind::InvalidArgument),
        (
            r#"{"type":"remote","idleTimeout":90}"#,
            ErrorKind::NotSupported,
        ),
        (r#"not json"#, ErrorKind::InvalidJson),
        (r#"["web"]"#, ErrorKind::InvalidArgument),
    ] {
        assert_eq!(kind(r.create(Some(options))), expected, "{options}");
    }
    assert_eq!(r.live_sessions().unwrap(), 0);
}

#[test]
fn state_starts_active_and_the_host_sets_it() {
    let r = new_registry();
    let id = create(&r, r#"{"type":"remote"}"#);
    assert_eq!(info(&r, id)["state"], "active");
    for state in ["postponed", "sleeping", "active"] {
        r.set_state(id, state).unwrap();
        assert_eq!(info(&r, id)["state"], state);
    }
    assert_eq!(
        kind(r.set_state(id, "Sleeping")),
        ErrorKind::InvalidArgument
    );
    assert_eq!(info(&r, id)["state"], "active");
}

#[test]
fn unknown_and_closed_ids_are_not_found() {
    let r = new_registry();
    let ghost = SessionId::parse("3C81A8D7AFE64C2E9CCFFCDC35DC52F5").unwrap();
    assert_eq!(kind(r.info(ghost)), ErrorKind::NotFound);
    assert_eq!(kind(r.close(ghost)), ErrorKind::NotFound);
    let id = r.create(None).unwrap();
    r.close(id).unwrap();
    assert_eq!(kind(r.info(id)), ErrorKind::NotFound);
    assert_eq!(kind(r.touch(id)), ErrorKind::NotFound);
    assert_eq!(kind(r.close(id)), ErrorKind::NotFound);
}

// ----- 2. session_info --------------------------------------------------------------------

#[test]
fn info_has_exactly_4d_fields_in_order() {
    let r = new_registry();
    let id = create(
        &r,
        r#"{"type":"remote","userName":"Designer","machineName":"My Computer","systemUserName":"John Doe",
            "IPAddress":"localhost","hostType":"mac","persistentID":"8FFDAE519F1F4DCDB81E8E8DB00AD101"}"#,
    );
    let text = r.info(id).unwrap();
    let keys: Vec<String> = {
        // serde_json's map sorts keys; read the order from the text itself.
        let mut keys = Vec::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("\":") {
            let start = rest[..at].rfind('"').unwrap();
            keys.push(rest[start + 1..at].to_owned());
            rest = &rest[at + 2..];
            rest = rest.trim_start_matches(|c| c != ',' && c != '}');
        }
        keys
    };
    assert_eq!(
        keys,
        [
            "type",
            "userName",
            "machineName",
            "systemUserName",
            "IPAddress",
            "hostType",
            "creationDateTime",
            "state",
            "ID",
            "persistentID"
        ]
    );
    let v = json_of(&text);
    assert_eq!(v["userName"], "Designer");
    assert_eq!(v["machineName"], "My Computer");
    assert_eq!(v["systemUserName"], "John Doe");
    assert_eq!(v["IPAddress"], "localhost");
    assert_eq!(v["hostType"], "mac");
    assert_eq!(v["state"], "active");
    assert_eq!(v["ID"], id.to_string());
    assert_eq!(v["persistentID"], "8FFDAE519F1F4DCDB81E8E8DB00AD101");
    let created = v["creationDateTime"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
    assert_eq!(created.len(), 24);
    assert!(created.ends_with('Z'));
}

#[test]
fn info_defaults_by_type() {
    let r = new_registry();
    let web = info(&r, r.create(None).unwrap());
    assert_eq!(web["machineName"], "");
    assert_eq!(web["hostType"], "browser");
    assert_eq!(web["userName"], "");
    assert_eq!(web["persistentID"], "");
    let remote = info(&r, create(&r, r#"{"type":"remote"}"#));
    let persistent = remote["persistentID"].as_str().unwrap();
    assert_eq!(persistent.len(), 32);
    assert!(persistent.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(persistent, remote["ID"].as_str().unwrap());
    let procedures = info(&r, create(&r, r#"{"type":"storedProcedure"}"#));
    assert_eq!(
        procedures["machineName"].as_str().unwrap().is_empty(),
        hostname_is_empty()
    );
}

fn hostname_is_empty() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().is_empty())
        .unwrap_or(true)
}

#[test]
fn expired_session_info_is_not_found_swept_or_not() {
    let r = manual();
    let id = r.create(None).unwrap();
    r.advance_clock(60 * 60).unwrap();
    assert_eq!(kind(r.info(id)), ErrorKind::NotFound);
    assert_eq!(r.sessions_list().unwrap(), r#"{"sessions":[]}"#);
    assert_eq!(r.live_sessions().unwrap(), 0);
    assert_eq!(r.sweep(), 1);
    assert_eq!(r.sweep(), 0);
}

// ----- 3. Session identifier --------------------------------------------------------------

#[test]
fn identifier_is_empty_until_set_and_defaults_to_the_user_name() {
    let r = new_registry();
    let id = create(&r, r#"{"type":"remote","userName":"Guest"}"#);
    assert_eq!(r.identifier(id).unwrap(), "");
    assert_eq!(r.effective_identifier(id).unwrap(), "Guest");
    r.set_identifier(id, "S12345").unwrap();
    assert_eq!(r.identifier(id).unwrap(), "S12345");
    assert_eq!(r.effective_identifier(id).unwrap(), "S12345");
    assert_eq!(
        r.user_name(id).unwrap(),
        "Guest",
        "set_identifier never changes userName"
    );
    assert_eq!(info(&r, id)["userName"], "Guest");
    r.set_identifier(id, "").unwrap();
    assert_eq!(r.identifier(id).unwrap(), "");
    assert_eq!(r.effective_identifier(id).unwrap(), "Guest");
}

#[test]
fn identifier_does_not_touch_privileges() {
    let r = new_registry();
    r.load_roles(SEED_ROLES).unwrap();
    let id = r.create(None).unwrap();
    r.set_privileges(id, r#"{"roles":"Medium","userName":"alice"}"#)
        .unwrap();
    let before = r.privileges(id).unwrap();
    r.set_identifier(id, "alice@desk-4").unwrap();
    assert_eq!(r.privileges(id).unwrap(), before);
    assert_eq!(r.user_name(id).unwrap(), "alice");
    assert_eq!(r.effective_identifier(id).unwrap(), "alice@desk-4");
}

#[test]
fn identifier_is_per_session() {
    let r = new_registry();
    let a = create(&r, r#"{"type":"remote","userName":"Guest"}"#);
    let b = create(&r, r#"{"type":"remote","userName":"Guest"}"#);
    r.set_identifier(a, "S1").unwrap();
    assert_eq!(r.effective_identifier(a).unwrap(), "S1");
    assert_eq!(r.effective_identifier(b).unwrap(), "Guest");
}

#[test]
fn standalone_identifier_does_nothing_and_says_so() {
    let r = new_registry();
    let id = create(&r, r#"{"type":"standalone","userName":"me"}"#);
    assert_eq!(kind(r.set_identifier(id, "x")), ErrorKind::NotSupported);
    assert_eq!(r.identifier(id).unwrap(), "");
    assert_eq!(r.effective_identifier(id).unwrap(), "me");
    for name in ["web", "rest", "remote", "storedProcedure"] {
        let id = create(&r, &format!(r#"{{"type": "{name}"}}"#));
        r.set_identifier(id, "x").unwrap();
    }
}

#[test]
fn identifier_over_the_limit_is_refused_and_changes_nothing() {
    let r = new_registry();
    let id = create(&r, r#"{"type":"remote"}"#);
    r.set_identifier(id, "first").unwrap();
    assert_eq!(
        kind(r.set_identifier(id, &"x".repeat(257))),
        ErrorKind::LimitExceeded
    );
    r.set_identifier(id, &"é".repeat(128)).unwrap();
    r.configure(r#"{"maxIdentifierBytes": 8}"#).unwrap();
    let err = r.set_identifier(id, "123456789").unwrap_err();
    assert_eq!(err.kind, ErrorKind::LimitExceeded);
    assert!(
        err.message.contains("maxIdentifierBytes"),
        "{}",
        err.message
    );
    assert_eq!(r.identifier(id).unwrap(), "é".repeat(128));
    r.set_identifier(id, "12345678").unwrap();
}

// ----- 4. Privileges and roles ------------------------------------------------------------

#[test]
fn web_admin_is_always_declared_and_names_are_case_insensitive() {
    let r = new_registry();
    let id = r.create(None).unwrap();
    assert!(!r.has_privilege(id, "WebAdmin").unwrap());
    assert_eq!(
        r.set_privileges(id, "webadmin").unwrap(),
        Vec::<String>::new()
    );
    assert!(r.has_privilege(id, "WEBADMIN").unwrap());
    assert_eq!(r.privileges(id).unwrap(), r#"["WebAdmin"]"#);
    assert!(!r.is_guest(id).unwrap());
}

#[test]
fn set_privileges_accepts_every_form_and_replaces() {
    let r = new_registry();
    r.load_roles(SEED_ROLES).unwrap();
    let id = r.create(None).unwrap();
    for (input, expected) in [
        ("WebAdmin, simple", r#"["WebAdmin","simple"]"#),
        (r#""medium""#, r#"["simple","medium"]"#),
        (r#"["SIMPLE"]"#, r#"["simple"]"#),
        (
            r#"{"privileges":"webadmin","roles":["medium"]}"#,
            r#"["WebAdmin","simple","medium"]"#,
        ),
        (r#"{"roles":"Medium"}"#, r#"["simple","medium"]"#),
        ("", "[]"),
    ] {
        r.set_privileges(id, input).unwrap();
        assert_eq!(r.privileges(id).unwrap(), expected, "{input}");
    }
    assert!(r.is_guest(id).unwrap());
}

#[test]
fn undeclared_names_are_ignored_and_reported() {
    let r = new_registry();
    r.load_roles(SEED_ROLES).unwrap();
    let id = r.create(None).unwrap();
    let ignored = r
        .set_privileges(
            id,
            r#"{"privileges":["simple","root"],"roles":["Medium","Boss"]}"#,
        )
        .unwrap();
    assert_eq!(ignored, ["root", "Boss"]);
    assert!(r.has_privilege(id, "medium").unwrap());
    assert!(!r.has_privilege(id, "root").unwrap());
    // A role name is not a privilege name.
    assert_eq!(r.set_privileges(id, "Medium2").unwrap(), ["Medium2"]);
}

#[test]
fn user_name_comes_from_set_privileges_for_web_sessions() {
    let r = new_registry();
    let id = create(&r, r#"{"type":"rest"}"#);
    assert_eq!(r.user_name(id).unwrap(), "");
    r.set_privileges(id, r#"{"privileges":[],"userName":"bob"}"#)
        .unwrap();
    assert_eq!(r.user_name(id).unwrap(), "bob");
    assert_eq!(info(&r, id)["userName"], "bob");
    assert_eq!(r.effective_identifier(id).unwrap(), "bob");
    r.set_privileges(id, "WebAdmin").unwrap();
    assert_eq!(
        r.user_name(id).unwrap(),
        "bob",
        "a grant without userName keeps it"
    );
}

#[test]
fn privileges_do_nothing_for_other_types() {
    let r = new_registry();
    r.load_roles(SEED_ROLES).unwrap();
    for name in ["remote", "storedProcedure", "standalone"] {
        let id = create(
            &r,
            &format!(r#"{{"type": "{name}", "userName": "Designer"}}"#),
        );
        assert_eq!(
            kind(r.set_privileges(id, "simple")),
            ErrorKind::NotSupported,
            "{name}"
        );
        assert_eq!(
            kind(r.clear_privileges(id)),
            ErrorKind::NotSupported,
            "{name}"
        );
        assert!(r.has_privilege(id, "anything at all").unwrap(), "{name}");
        assert!(r.has_privilege(id, "WebAdmin").unwrap(), "{name}");
        assert_eq!(r.privileges(id).unwrap(), r#"["WebAdmin"]"#, "{name}");
        assert!(!r.is_guest(id).unwrap(), "{name}");
        assert_eq!(r.user_name(id).unwrap(), "Designer", "{name}");
    }
}

#[test]
fn clear_privileges_makes_a_guest() {
    let r = new_registry();
    let id = r.create(None).unwrap();
    r.set_privileges(id, "WebAdmin").unwrap();
    r.clear_privileges(id).unwrap();
    assert!(r.is_guest(id).unwrap());
    assert!(!r.has_privilege(id, "WebAdmin").unwrap());
    assert_eq!(r.privileges(id).unwrap(), "[]");
}

#[test]
fn malformed_privileges_change_nothing() {
    let r = new_registry();
    let id = r.create(None).unwrap();
    r.set_privileges(id, "WebAdmin").unwrap();
    assert_eq!(kind(r.set_privileges(id, "[\"a\"")), ErrorKind::InvalidJson);
    assert_eq!(
        kind(r.set_privileges(id, r#"{"privilege":"x"}"#)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(r.set_privileges(id, "[1,2]")),
        ErrorKind::InvalidArgument
    );
    assert!(r.has_privilege(id, "WebAdmin").unwrap());
}

#[test]
fn reloading_roles_re_expands_sessions() {
    let r = new_registry();
    r.load_roles(SEED_ROLES).unwrap();
    let id = r.create(None).unwrap();
    r.set_privileges(id, r#"{"roles":"Medium"}"#).unwrap();
    assert!(r.has_privilege(id, "simple").unwrap());
    // medium no longer includes simple; a new privilege appears in the role.
    r.load_roles(
        r#"{"privileges":[{"privilege":"simple"},{"privilege":"medium"},{"privilege":"extra"}],
            "roles":[{"role":"medium","privileges":["medium","extra"]}]}"#,
    )
    .unwrap();
    assert!(!r.has_privilege(id, "simple").unwrap());
    assert!(r.has_privilege(id, "extra").unwrap());
    // A file without the privilege: no longer held.
    r.load_roles(r#"{"privileges":[{"privilege":"simple"}]}"#)
        .unwrap();
    assert!(!r.has_privilege(id, "medium").unwrap());
    assert!(r.is_guest(id).unwrap());
}

#[test]
fn an_invalid_roles_file_changes_nothing() {
    let r = new_registry();
    r.load_roles(SEED_ROLES).unwrap();
    let id = r.create(None).unwrap();
    r.set_privileges(id, "medium").unwrap();
    let err = r
        .load_roles(r#"{"privileges":[{"privilege":"a","includes":["b"]},{"privilege":"b","includes":["a"]}]}"#)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert!(err.message.contains("cycle"), "{}", err.message);
    assert_eq!(kind(r.load_roles("{")), ErrorKind::InvalidJson);
    assert!(r.has_privilege(id, "simple").unwrap());
    let other = r.create(None).unwrap();
    assert!(
        r.set_privileges(other, "medium").unwrap().is_empty(),
        "the old file is still in force"
    );
}

#[test]
fn roles_can_come_with_the_configuration() {
    let r = new_registry();
    r.configure(&format!(r#"{{"roles": {SEED_ROLES}}}"#))
        .unwrap();
    let id = r.create(None).unwrap();
    assert!(r.set_privileges(id, "medium").unwrap().is_empty());
    assert_eq!(
        kind(r.configure(r#"{"roles": {"roles": [{"role": 3}]}, "maxSessions": 5}"#)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        r.settings().max_sessions,
        1_000_000,
        "a refused configuration applies nothing"
    );
}

// ----- 5. Idle timeout and expiration -----------------------------------------------------

#[test]
fn guest_60_minutes_others_120_as_in_4d() {
    let r = manual();
    let guest = r.create(None).unwrap();
    let admin = r.create(None).unwrap();
    r.set_privileges(admin, "WebAdmin").unwrap();
    for id in [guest, admin] {
        let minutes = if r.is_guest(id).unwrap() { 60 } else { 120 };
        r.set_idle_timeout(id, minutes).unwrap();
    }
    assert_eq!(r.idle_timeout(guest).unwrap(), 60);
    assert_eq!(r.idle_timeout(admin).unwrap(), 120);
    r.advance_clock(60 * 60 - 1).unwrap();
    r.info(guest).unwrap();
    r.advance_clock(1).unwrap();
    assert_eq!(kind(r.info(guest)), ErrorKind::NotFound);
    r.advance_clock(60 * 60 - 1).unwrap();
    r.info(admin).unwrap();
    r.advance_clock(1).unwrap();
    assert_eq!(kind(r.info(admin)), ErrorKind::NotFound);
}

#[test]
fn timeout_under_the_minimum_is_raised() {
    let r = new_registry();
    let id = r.create(None).unwrap();
    assert_eq!(r.idle_timeout(id).unwrap(), 60);
    r.set_idle_timeout(id, 5).unwrap();
    assert_eq!(r.idle_timeout(id).unwrap(), 60);
    r.set_idle_timeout(id, 0).unwrap();
    assert_eq!(r.idle_timeout(id).unwrap(), 60);
    assert_eq!(kind(r.set_idle_timeout(id, -1)), ErrorKind::InvalidArgument);
    r.configure(r#"{"minIdleTimeout": 10, "defaultIdleTimeout": 20}"#)
        .unwrap();
    r.set_idle_timeout(id, 5).unwrap();
    assert_eq!(r.idle_timeout(id).unwrap(), 10);
    assert_eq!(r.idle_timeout(r.create(None).unwrap()).unwrap(), 20);
    assert_eq!(
        r.idle_timeout(r.create(Some(r#"{"idleTimeout": 3}"#)).unwrap())
            .unwrap(),
        10
    );
    assert_eq!(
        r.idle_timeout(r.create(Some(r#"{"idleTimeout": 300}"#)).unwrap())
            .unwrap(),
        300
    );
    r.configure(r#"{"minIdleTimeout": 30, "defaultIdleTimeout": 20}"#)
        .unwrap();
    assert_eq!(
        r.idle_timeout(r.create(None).unwrap()).unwrap(),
        30,
        "the default is raised too"
    );
}

#[test]
fn expiration_date_is_last_activity_plus_timeout() {
    let r = manual();
    let id = r.create(None).unwrap();
    let created = r.now();
    assert_eq!(
        r.expiration_date(id).unwrap(),
        sessmgr::iso8601(created + 60 * 60_000)
    );
    r.advance_clock(600).unwrap();
    r.set_idle_timeout(id, 120).unwrap();
    assert_eq!(
        r.expiration_date(id).unwrap(),
        sessmgr::iso8601(created + 600_000 + 120 * 60_000)
    );
}

#[test]
fn one_request_call_answers_as_the_three_calls_and_refuses_bad_input_whole() {
    let r = manual();
    r.load_roles(SEED_ROLES).unwrap();
    let id = r.create(None).unwrap();
    r.set_privileges(id, "medium").unwrap();
    r.storage_set(id, "/cart", r#"{"items": [1, 2]}"#).unwrap();
    let before = r.expiration_date(id).unwrap();
    r.advance_clock(600).unwrap();
    let answer = r
        .request(id, Some(b"SIMPLE".as_slice()), Some("/cart/items"))
        .unwrap();
    assert_eq!(answer.granted, Some(true));
    assert_eq!(answer.value.as_deref(), Some("[1,2]"));
    let touched = r.expiration_date(id).unwrap();
    assert_ne!(touched, before, "a request is an activity");
    // Nothing stored there is no error; nothing asked is no answer.
    let answer = r
        .request(id, Some(b"WebAdmin".as_slice()), Some("/nothing"))
        .unwrap();
    assert_eq!((answer.granted, answer.value), (Some(false), None));
    let answer = r.request(id, None, None).unwrap();
    assert_eq!((answer.granted, answer.value), (None, None));
    // Bad input changes nothing, the activity included.
    r.advance_clock(600).unwrap();
    let touched = r.expiration_date(id).unwrap();
    for (privilege, pointer) in [
        (Some(&b"\xff"[..]), Some("/cart")),
        (None, Some("cart")),
        (Some(&b"simple"[..]), Some("/cart/~2")),
    ] {
        assert_eq!(
            kind(r.request(id, privilege, pointer)),
            ErrorKind::InvalidArgument
        );
        assert_eq!(r.expiration_date(id).unwrap(), touched, "{pointer:?}");
    }
    // An index past the end is no value, as storage_get says.
    assert_eq!(
        r.request(id, None, Some("/cart/items/9")).unwrap().value,
        None
    );
    // A remote session holds every privilege, as has_privilege says.
    let remote = create(&r, r#"{"type": "remote"}"#);
    assert_eq!(
        r.request(remote, Some(b"x".as_slice()), None)
            .unwrap()
            .granted,
        Some(true)
    );
    r.close(id).unwrap();
    assert_eq!(kind(r.request(id, None, None)), ErrorKind::NotFound);
}

#[test]
fn reads_do_not_count_as_activity_and_writes_do() {
    type Op = fn(&Registry, SessionId);
    let reads: [(&str, Op); 9] = [
        ("info", |r, id| drop(r.info(id).unwrap())),
        ("has_permission", |r, id| {
            r.has_permission(id, b"City", b"read").unwrap();
        }),
        ("has_privilege", |r, id| {
            r.has_privilege(id, "x").unwrap();
        }),
        ("get_privileges", |r, id| drop(r.privileges(id).unwrap())),
        ("is_guest", |r, id| {
            r.is_guest(id).unwrap();
        }),
        ("identifier", |r, id| drop(r.identifier(id).unwrap())),
        ("user_name", |r, id| drop(r.user_name(id).unwrap())),
        ("storage_get", |r, id| drop(r.storage_get(id, "").unwrap())),
        ("sessions_list", |r, _| drop(r.sessions_list().unwrap())),
    ];
    let writes: [(&str, Op); 11] = [
        ("touch", |r, id| r.touch(id).unwrap()),
        ("request", |r, id| drop(r.request(id, None, None).unwrap())),
        ("set_identifier", |r, id| r.set_identifier(id, "x").unwrap()),
        ("set_privileges", |r, id| {
            drop(r.set_privileges(id, "WebAdmin").unwrap())
        }),
        ("clear_privileges", |r, id| r.clear_privileges(id).unwrap()),
        ("set_idle_timeout", |r, id| {
            r.set_idle_timeout(id, 60).unwrap()
        }),
        ("set_state", |r, id| r.set_state(id, "sleeping").unwrap()),
        ("storage_set", |r, id| r.storage_set(id, "/a", "1").unwrap()),
        ("storage_merge", |r, id| {
            r.storage_merge(id, r#"{"b":2}"#).unwrap()
        }),
        ("storage_remove", |r, id| {
            r.storage_set(id, "/gone", "1").unwrap();
            r.storage_remove(id, "/gone").unwrap()
        }),
        ("storage_update", |r, id| {
            r.storage_update(id, |_| UpdateOutcome::Replace(json!({"c": 3})))
                .unwrap()
        }),
    ];
    for (name, op) in reads {
        let r = manual();
        let id = r.create(None).unwrap();
        let before = r.expiration_date(id).unwrap();
        r.advance_clock(30 * 60).unwrap();
        op(&r, id);
        assert_eq!(
            r.expiration_date(id).unwrap(),
            before,
            "{name} must not count as activity"
        );
    }
    for (name, op) in writes {
        let r = manual();
        let id = r.create(None).unwrap();
        let before = r.expiration_date(id).unwrap();
        r.advance_clock(30 * 60).unwrap();
        op(&r, id);
        assert_ne!(
            r.expiration_date(id).unwrap(),
            before,
            "{name} must count as activity"
        );
        r.advance_clock(59 * 60).unwrap();
        r.info(id)
            .unwrap_or_else(|_| panic!("{name}: the session should still be alive"));
    }
}

#[test]
fn activity_is_recorded_once_a_minute_and_a_session_never_ends_late() {
    let r = manual();
    let id = r.create(None).unwrap();
    let created = r.now();
    let ends = |r: &Registry| r.expiration_date(id).unwrap();
    // Within a minute of the activity recorded: the calls succeed, the activity stays.
    r.advance_clock(59).unwrap();
    r.touch(id).unwrap();
    r.request(id, None, None).unwrap();
    r.storage_set(id, "/a", "1").unwrap();
    assert_eq!(r.storage_get(id, "/a").unwrap(), "1", "the write is done");
    assert_eq!(ends(&r), sessmgr::iso8601(created + 60 * 60_000));
    // A minute after it: recorded.
    r.advance_clock(1).unwrap();
    r.request(id, None, None).unwrap();
    let recorded = created + 60_000;
    assert_eq!(ends(&r), sessmgr::iso8601(recorded + 60 * 60_000));
    // A request every 59 minutes keeps it for good.
    let mut recorded = recorded;
    for _ in 0..4 {
        r.advance_clock(59 * 60).unwrap();
        r.request(id, None, None).unwrap();
        recorded += 59 * 60_000;
    }
    assert_eq!(ends(&r), sessmgr::iso8601(recorded + 60 * 60_000));
    // Left idle after a request that was not recorded (50 s after one that was), it ends
    // 60 minutes after the one recorded: 50 s early, never late.
    r.advance_clock(50).unwrap();
    r.touch(id).unwrap();
    r.advance_clock(59 * 60).unwrap();
    r.info(id).unwrap();
    r.advance_clock(10).unwrap();
    assert_eq!(kind(r.info(id)), ErrorKind::NotFound);

    // A tenth of a shorter idle timeout, if that is less than the resolution: 6 s of 1 minute.
    r.configure(r#"{"minIdleTimeout": 1}"#).unwrap();
    let short = r.create(Some(r#"{"idleTimeout": 1}"#)).unwrap();
    let made = r.now();
    r.advance_clock(5).unwrap();
    r.touch(short).unwrap();
    assert_eq!(
        r.expiration_date(short).unwrap(),
        sessmgr::iso8601(made + 60_000)
    );
    r.advance_clock(1).unwrap();
    r.touch(short).unwrap();
    assert_eq!(
        r.expiration_date(short).unwrap(),
        sessmgr::iso8601(made + 66_000)
    );
    // 0 records every activity.
    r.configure(r#"{"activityResolutionSeconds": 0}"#).unwrap();
    r.advance_clock(1).unwrap();
    r.touch(short).unwrap();
    assert_eq!(
        r.expiration_date(short).unwrap(),
        sessmgr::iso8601(made + 67_000)
    );
    // Out of range: refused, nothing changed.
    assert_eq!(
        kind(r.configure(r#"{"activityResolutionSeconds": -1}"#)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(r.settings().activity_resolution_seconds, 0);
}

#[test]
fn an_expired_session_is_gone_for_every_call() {
    let r = manual();
    let id = r.create(None).unwrap();
    r.advance_clock(3600).unwrap();
    let results = [
        kind(r.touch(id)),
        kind(r.info(id)),
        kind(r.set_identifier(id, "x")),
        kind(r.identifier(id)),
        kind(r.user_name(id)),
        kind(r.set_privileges(id, "WebAdmin")),
        kind(r.clear_privileges(id)),
        kind(r.has_privilege(id, "WebAdmin")),
        kind(r.privileges(id)),
        kind(r.is_guest(id)),
        kind(r.set_idle_timeout(id, 90)),
        kind(r.idle_timeout(id)),
        kind(r.expiration_date(id)),
        kind(r.set_state(id, "active")),
        kind(r.storage_get(id, "")),
        kind(r.storage_set(id, "/a", "1")),
        kind(r.storage_remove(id, "/a")),
        kind(r.storage_merge(id, "{}")),
        kind(r.storage_update(id, |_| UpdateOutcome::Keep)),
        kind(r.close(id)),
    ];
    assert!(
        results.iter().all(|k| *k == ErrorKind::NotFound),
        "{results:?}"
    );
}

#[test]
fn other_types_never_expire_and_have_no_idle_timeout() {
    let r = manual();
    for name in ["remote", "storedProcedure", "standalone"] {
        let id = create(&r, &format!(r#"{{"type": "{name}"}}"#));
        assert_eq!(kind(r.set_idle_timeout(id, 90)), ErrorKind::NotSupported);
        assert_eq!(kind(r.idle_timeout(id)), ErrorKind::NotSupported);
        assert_eq!(kind(r.expiration_date(id)), ErrorKind::NotSupported);
        r.touch(id).unwrap();
    }
    r.advance_clock(10 * 365 * 24 * 3600).unwrap();
    assert_eq!(r.sweep(), 0);
    assert_eq!(r.live_sessions().unwrap(), 3);
}

#[test]
fn sweep_removes_only_the_expired() {
    let r = manual();
    let old = r.create(None).unwrap();
    r.advance_clock(1800).unwrap();
    let young = r.create(None).unwrap();
    r.advance_clock(1800).unwrap();
    assert_eq!(r.sweep(), 1);
    assert_eq!(kind(r.info(old)), ErrorKind::NotFound);
    r.info(young).unwrap();
}

#[test]
fn background_sweeper_runs_on_its_interval() {
    let r = manual();
    r.create(None).unwrap();
    r.advance_clock(3600).unwrap();
    r.configure(r#"{"sweepIntervalSeconds": 1}"#).unwrap();
    // The expired session is invisible at once; the sweeper frees its room within seconds.
    assert_eq!(r.live_sessions().unwrap(), 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while r.held_sessions() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the sweeper did not run"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    r.configure(r#"{"sweepIntervalSeconds": 0}"#).unwrap();
}

#[test]
fn the_clock_only_advances_when_manual() {
    let r = new_registry();
    assert_eq!(kind(r.advance_clock(1)), ErrorKind::BadState);
    r.configure(r#"{"clock":"manual"}"#).unwrap();
    assert_eq!(kind(r.advance_clock(-1)), ErrorKind::InvalidArgument);
    r.advance_clock(0).unwrap();
}

// ----- 6. Storage -------------------------------------------------------------------------

#[test]
fn storage_starts_empty_and_distinguishes_null_from_missing() {
    let r = new_registry();
    let id = r.create(None).unwrap();
    assert_eq!(r.storage_get(id, "").unwrap(), "{}");
    r.storage_set(id, "/n", "null").unwrap();
    assert_eq!(r.storage_get(id, "/n").unwrap(), "null");
    assert_eq!(kind(r.storage_get(id, "/m")), ErrorKind::NoValue);
}

#[test]
fn storage_operations() {
    let r = new_registry();
    let id = create(&r, r#"{"type":"remote"}"#);
    r.storage_set(id, "/settings", r#"{"property": 1, "property2": [true]}"#)
        .unwrap();
    r.storage_set(id, "/settings/property2/-", "false").unwrap();
    r.storage_merge(
        id,
        r#"{"settings": {"property": null, "p3": "x"}, "top": 1}"#,
    )
    .unwrap();
    assert_eq!(
        json_of(&r.storage_get(id, "").unwrap()),
        json!({"settings": {"property2": [true, false], "p3": "x"}, "top": 1})
    );
    r.storage_remove(id, "/settings/property2/0").unwrap();
    assert_eq!(r.storage_get(id, "/settings/property2").unwrap(), "[false]");
    r.storage_set(id, "", r#"{"fresh": {}}"#).unwrap();
    assert_eq!(r.storage_get(id, "").unwrap(), r#"{"fresh":{}}"#);
}

#[test]
fn failed_storage_writes_leave_it_exactly_as_it_was() {
    let r = new_registry();
    r.configure(r#"{"maxStorageBytes": 64}"#).unwrap();
    let id = r.create(None).unwrap();
    r.storage_set(id, "/a", r#"{"b": [1, 2]}"#).unwrap();
    let before = r.storage_get(id, "").unwrap();
    for (result, expected) in [
        (r.storage_set(id, "/a", "{bad"), ErrorKind::InvalidJson),
        (r.storage_set(id, "/x/y", "1"), ErrorKind::NoValue),
        (r.storage_set(id, "", "[]"), ErrorKind::InvalidArgument),
        (r.storage_set(id, "", "7"), ErrorKind::InvalidArgument),
        (r.storage_set(id, "a", "1"), ErrorKind::InvalidArgument),
        (r.storage_set(id, "/a/b/9", "1"), ErrorKind::NoValue),
        (
            r.storage_set(id, "/big", &format!("\"{}\"", "x".repeat(80))),
            ErrorKind::LimitExceeded,
        ),
        (
            r.storage_merge(
                id,
                r#"{"big": "0123456789012345678901234567890123456789012345678901"}"#,
            ),
            ErrorKind::LimitExceeded,
        ),
        (r.storage_merge(id, "[1]"), ErrorKind::InvalidArgument),
        (r.storage_merge(id, "nope"), ErrorKind::InvalidJson),
        (r.storage_remove(id, "/zzz"), ErrorKind::NoValue),
        (r.storage_remove(id, ""), ErrorKind::InvalidArgument),
        (
            r.storage_get(id, "/~3").map(drop),
            ErrorKind::InvalidArgument,
        ),
    ] {
        assert_eq!(result.unwrap_err().kind, expected);
        assert_eq!(r.storage_get(id, "").unwrap(), before);
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let r2 = new_registry();
    let id2 = r2.create(None).unwrap();
    assert_eq!(
        kind(r2.storage_set(id2, "/deep", &deep)),
        ErrorKind::LimitExceeded
    );
}

#[test]
fn update_callback_sees_the_storage_and_replaces_it() {
    let r = new_registry();
    let id = r.create(None).unwrap();
    // The seed: store the client IP on first access, inside Use … End use.
    r.storage_update(id, |current| {
        let mut storage: Value = serde_json::from_str(current).unwrap();
        if storage.get("clientIP").is_none() {
            storage["clientIP"] = json!({"value": "192.0.2.7"});
        }
        UpdateOutcome::Replace(storage)
    })
    .unwrap();
    assert_eq!(
        r.storage_get(id, "/clientIP/value").unwrap(),
        "\"192.0.2.7\""
    );
    assert_eq!(
        kind(r.storage_update(id, |_| UpdateOutcome::Abort)),
        ErrorKind::Aborted
    );
    r.storage_update(id, |_| UpdateOutcome::Keep).unwrap();
    assert_eq!(
        r.storage_get(id, "/clientIP/value").unwrap(),
        "\"192.0.2.7\""
    );
    assert_eq!(
        kind(r.storage_update(id, |_| UpdateOutcome::Replace(json!([1])))),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        r.storage_get(id, "").unwrap(),
        r#"{"clientIP":{"value":"192.0.2.7"}}"#
    );
}

#[test]
fn storage_calls_from_inside_the_callback_are_refused_not_deadlocked() {
    let r = new_registry();
    let id = r.create(None).unwrap();
    let other = r.create(None).unwrap();
    let mut seen = Vec::new();
    r.storage_update(id, |_| {
        seen.push(kind(r.storage_get(id, "")));
        seen.push(kind(r.storage_set(id, "/a", "1")));
        seen.push(kind(r.storage_update(id, |_| UpdateOutcome::Keep)));
        // Other sessions, and non-storage calls on this one, work.
        r.storage_set(other, "/ok", "true").unwrap();
        r.set_identifier(id, "inside").unwrap();
        UpdateOutcome::Replace(json!({"done": true}))
    })
    .unwrap();
    assert_eq!(seen, [ErrorKind::Reentrant; 3]);
    assert_eq!(r.storage_get(id, "/done").unwrap(), "true");
    // Outside the callback, storage calls work again.
    r.storage_set(id, "/after", "1").unwrap();
}

#[test]
fn concurrent_updates_lose_nothing() {
    let r = new_registry();
    let id = r.create(None).unwrap();
    r.storage_set(id, "/n", "0").unwrap();
    let increment = |_, _| {
        r.storage_update(id, |current| {
            let mut v: Value = serde_json::from_str(current).unwrap();
            v["n"] = json!(v["n"].as_i64().unwrap() + 1);
            UpdateOutcome::Replace(v)
        })
        .unwrap();
    };
    // 4 threads, 500 increments each at least, 100 each while another's landed.
    let done = race(&[Role::new("incrementer", 4, &increment)
        .rounds(500)
        .overlapped(100)]);
    assert_eq!(r.storage_get(id, "/n").unwrap(), done[0].rounds.to_string());
}

// ----- settings, limits, listing, reset ---------------------------------------------------

#[test]
fn max_sessions_is_enforced_and_expired_sessions_free_room() {
    let r = manual();
    r.configure(r#"{"maxSessions": 2, "overloadPolicy": "refuse"}"#)
        .unwrap();
    r.create(None).unwrap();
    r.create(None).unwrap();
    let err = r.create(None).unwrap_err();
    assert_eq!(err.kind, ErrorKind::LimitExceeded);
    assert!(err.message.contains("maxSessions"), "{}", err.message);
    assert_eq!(r.live_sessions().unwrap(), 2);
    r.advance_clock(3600).unwrap();
    r.create(None).unwrap();
    assert_eq!(r.live_sessions().unwrap(), 1);
}

#[test]
fn sessions_list_holds_every_live_session_oldest_first() {
    let r = manual();
    let a = create(&r, r#"{"type":"remote","userName":"a"}"#);
    r.advance_clock(1).unwrap();
    let b = r.create(None).unwrap();
    r.advance_clock(1).unwrap();
    let c = create(&r, r#"{"type":"storedProcedure"}"#);
    r.close(b).unwrap();
    let list = json_of(&r.sessions_list().unwrap());
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let mut remote = info(&r, a);
    if on_redis() {
        remote["ID"] = json!("");
    }
    assert_eq!(sessions[0], remote);
    // The storedProcedure session is this process's in either store.
    assert_eq!(sessions[1], info(&r, c));
}

#[test]
fn sessions_created_in_one_millisecond_list_in_creation_order() {
    let r = manual();
    let names: Vec<String> = (0..20).map(|n| format!("u{n}")).collect();
    for name in &names {
        r.create(Some(
            &json!({"type": "remote", "userName": name}).to_string(),
        ))
        .unwrap();
    }
    let list = json_of(&r.sessions_list().unwrap());
    let listed: Vec<String> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["userName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, names);
}

#[test]
fn reset_closes_everything_and_restores_defaults() {
    let r = manual();
    r.configure(r#"{"maxSessions": 3, "maxIdentifierBytes": 4}"#)
        .unwrap();
    r.load_roles(SEED_ROLES).unwrap();
    let sp = create(&r, r#"{"type":"storedProcedure"}"#);
    let web = r.create(None).unwrap();
    r.reset();
    assert_eq!(r.live_sessions().unwrap(), 0);
    assert_eq!(kind(r.info(web)), ErrorKind::NotFound);
    assert_eq!(r.settings(), sessmgr::Settings::default());
    assert_eq!(kind(r.advance_clock(1)), ErrorKind::BadState);
    assert_ne!(create(&r, r#"{"type":"storedProcedure"}"#), sp);
    let id = r.create(None).unwrap();
    assert_eq!(
        r.set_privileges(id, "simple").unwrap(),
        ["simple"],
        "roles are back to the default file"
    );
}

#[test]
fn sweep_follows_activity_and_shorter_timeouts() {
    let r = manual();
    let touched = r.create(None).unwrap();
    let shortened = r.create(Some(r#"{"idleTimeout": 600}"#)).unwrap();
    let idle = r.create(None).unwrap();
    r.advance_clock(30 * 60).unwrap();
    r.touch(touched).unwrap();
    r.configure(r#"{"minIdleTimeout": 1}"#).unwrap();
    r.set_idle_timeout(shortened, 5).unwrap(); // now due 5 minutes from now, not 9½ hours
    r.advance_clock(5 * 60).unwrap();
    assert_eq!(r.sweep(), 1, "the shortened session is due");
    assert_eq!(kind(r.info(shortened)), ErrorKind::NotFound);
    r.advance_clock(25 * 60).unwrap();
    assert_eq!(r.sweep(), 1, "the idle one is due; the touched one is not");
    assert_eq!(kind(r.info(idle)), ErrorKind::NotFound);
    r.info(touched).unwrap();
    assert_eq!(r.held_sessions(), 1);
    r.advance_clock(30 * 60).unwrap();
    assert_eq!(r.sweep(), 1);
    assert_eq!(r.held_sessions(), 0);
}

#[test]
fn closing_many_sessions_keeps_the_sweep_index_bounded() {
    let r = manual();
    for _ in 0..50_000 {
        let id = r.create(None).unwrap();
        r.close(id).unwrap();
    }
    let keep = r.create(None).unwrap();
    r.advance_clock(3600).unwrap();
    assert_eq!(r.sweep(), 1);
    assert_eq!(kind(r.info(keep)), ErrorKind::NotFound);
    assert_eq!(r.held_sessions(), 0);
}

#[test]
fn nul_characters_in_json_text_are_refused_where_c_text_comes_back() {
    // JSON can carry U+0000; the user name, the identifier it backs and file names come back
    // to C as NUL-terminated text, so they are refused at the door.
    let r = new_registry();
    let error = r
        .create(Some(r#"{"type": "remote", "userName": "a\u0000b"}"#))
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidArgument);
    assert!(error.message.contains("userName"), "{}", error.message);
    assert_eq!(r.live_sessions().unwrap(), 0);
    let web = r.create(None).unwrap();
    assert_eq!(
        kind(r.set_privileges(web, r#"{"privileges": [], "userName": "x\u0000"}"#)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(r.user_name(web).unwrap(), "");
    let remote = create(&r, r#"{"type": "remote"}"#);
    assert_eq!(
        kind(r.attach_file(remote, r#"{"filename": "\u0000x"}"#)),
        ErrorKind::InvalidArgument
    );
    assert!(!r.clients_list().unwrap().contains("\\u0000"));
}

/// The rules that are about memory itself: what the map holds (`held_sessions`, the sweep's
/// index). (A sweep on Redis claims what ended: the other rules about sweeping run there too.)
const MEMORY_ONLY: &[&str] = &[
    "sweep_follows_activity_and_shorter_timeouts",
    "closing_many_sessions_keeps_the_sweep_index_bounded",
];

/// Every rule test again, on the Redis store: this binary runs itself with
/// `SESSMGR_TEST_STORE` set to a real `redis-server` started here, skipping only
/// [`MEMORY_ONLY`], and every other test must pass there.
#[test]
fn the_rules_hold_on_the_redis_store() {
    if std::env::var_os("SESSMGR_TEST_STORE").is_some() {
        return;
    }
    let server = common::redis_server::RedisServer::start();
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .env("SESSMGR_TEST_STORE", server.url())
        .args(["--exact", "--test-threads=2"])
        .args(["--skip", "the_rules_hold_on_the_redis_store"]);
    for name in MEMORY_ONLY {
        command.args(["--skip", name]);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "on Redis:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Nothing else was left out.
    let left_out = format!("; {} filtered out;", MEMORY_ONLY.len() + 1);
    assert!(
        stdout.contains(" passed; 0 failed") && stdout.contains(&left_out),
        "{stdout}"
    );
}

// ----- 12. Atomic storage without callbacks -------------------------------------------------

#[test]
fn compare_and_set_compares_values_not_texts_and_changes_nothing_on_a_conflict() {
    let r = manual();
    let id = r.create(None).unwrap();
    r.storage_set(id, "/cart", r#"{"b": 2, "a": [1.0, "x"]}"#)
        .unwrap();
    // Another order of members, 1 for 1.0: equal.
    r.storage_compare_and_set(id, "/cart", Some(r#"{"a": [1, "x"], "b": 2}"#), Some("7"))
        .unwrap();
    assert_eq!(r.storage_get(id, "/cart").unwrap(), "7");
    // Not equal: a conflict that says what is there, not its value; nothing changed.
    let e = r
        .storage_compare_and_set(id, "/cart", Some("8"), Some(r#""secret""#))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(e.message.contains("a number of 1 bytes"), "{}", e.message);
    assert_eq!(r.storage_get(id, "/cart").unwrap(), "7");
    r.storage_set(id, "/pin", r#""4321""#).unwrap();
    let e = r
        .storage_compare_and_set(id, "/pin", Some(r#""0000""#), None)
        .unwrap_err();
    assert!(!e.message.contains("4321"), "{}", e.message);
    // Expected missing: only where nothing is; new missing: removes.
    assert_eq!(
        kind(r.storage_compare_and_set(id, "/cart", None, Some("1"))),
        ErrorKind::Conflict
    );
    r.storage_compare_and_set(id, "/fresh", None, Some("[]"))
        .unwrap();
    r.storage_compare_and_set(id, "/fresh", Some("[]"), None)
        .unwrap();
    assert_eq!(kind(r.storage_get(id, "/fresh")), ErrorKind::NoValue);
    r.storage_compare_and_set(id, "/fresh", None, None).unwrap();
    // The root: an object, compared whole.
    let whole = r.storage_get(id, "").unwrap();
    r.storage_compare_and_set(id, "", Some(&whole), Some(r#"{"v": 1}"#))
        .unwrap();
    assert_eq!(r.storage_get(id, "").unwrap(), r#"{"v":1}"#);
    // Bad input: named statuses, nothing changed.
    assert_eq!(
        kind(r.storage_compare_and_set(id, "v", None, Some("1"))),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(r.storage_compare_and_set(id, "/v", Some("{"), Some("1"))),
        ErrorKind::InvalidJson
    );
    assert_eq!(
        kind(r.storage_compare_and_set(id, "/a/b", None, Some("1"))),
        ErrorKind::NoValue
    );
    assert_eq!(
        kind(r.storage_compare_and_set(id, "", Some(r#"{"v": 1}"#), Some("[]"))),
        ErrorKind::InvalidArgument
    );
    assert_eq!(r.storage_get(id, "").unwrap(), r#"{"v":1}"#);
}

#[test]
fn increment_adds_to_an_integer_and_refuses_anything_else() {
    let r = manual();
    let id = r.create(None).unwrap();
    assert_eq!(r.storage_increment(id, "/n", 5).unwrap(), 5, "missing is 0");
    assert_eq!(r.storage_increment(id, "/n", -7).unwrap(), -2);
    assert_eq!(r.storage_get(id, "/n").unwrap(), "-2");
    for (value, expected) in [
        ("1.5", ErrorKind::Conflict),
        ("1.0", ErrorKind::Conflict),
        (r#""1""#, ErrorKind::Conflict),
        ("null", ErrorKind::Conflict),
        ("18446744073709551615", ErrorKind::Conflict),
    ] {
        r.storage_set(id, "/x", value).unwrap();
        let e = r.storage_increment(id, "/x", 1).unwrap_err();
        assert_eq!(e.kind, expected, "{value}: {}", e.message);
        assert_eq!(r.storage_get(id, "/x").unwrap(), value, "unchanged");
    }
    r.storage_set(id, "/max", &i64::MAX.to_string()).unwrap();
    assert_eq!(
        kind(r.storage_increment(id, "/max", 1)),
        ErrorKind::LimitExceeded
    );
    assert_eq!(r.storage_get(id, "/max").unwrap(), i64::MAX.to_string());
    assert_eq!(r.storage_increment(id, "/max", i64::MIN).unwrap(), -1);
    assert_eq!(
        kind(r.storage_increment(id, "", 1)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(r.storage_increment(id, "/no/n", 1)),
        ErrorKind::NoValue
    );
    // Activity, as every storage write.
    let before = r.expiration_date(id).unwrap();
    r.advance_clock(60).unwrap();
    r.storage_increment(id, "/n", 1).unwrap();
    assert!(r.expiration_date(id).unwrap() > before);
}

#[test]
fn eight_threads_incrementing_and_swapping_lose_nothing() {
    let r = new_registry();
    let id = r.create(None).unwrap();
    let increment = |_, _| {
        r.storage_increment(id, "/n", 1).unwrap();
    };
    let conflicts = std::sync::atomic::AtomicU64::new(0);
    // The same through compare_and_set: read, then swap if unchanged.
    let swap = |_, _| {
        loop {
            let seen = r.storage_get(id, "/n").ok();
            let next = seen.as_deref().map_or(1, |n| n.parse::<i64>().unwrap() + 1);
            match r.storage_compare_and_set(id, "/n", seen.as_deref(), Some(&next.to_string())) {
                Ok(()) => break,
                Err(e) => assert_eq!(e.kind, ErrorKind::Conflict),
            }
            conflicts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    };
    // Until a swap met an increment between its read and its swap, 250 each at least.
    let met = || conflicts.load(std::sync::atomic::Ordering::Relaxed) > 0;
    let done = race(&[
        Role::new("increment", 4, &increment).rounds(250),
        Role::new("swap", 4, &swap)
            .rounds(250)
            .overlapped(50)
            .until(&met),
    ]);
    let total = done[0].rounds + done[1].rounds;
    assert_eq!(r.storage_get(id, "/n").unwrap(), total.to_string());
}
