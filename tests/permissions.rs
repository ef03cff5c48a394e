//! SPEC section 13: 4D's permissions from `roles.json`, case by case from 4D's documentation.
//!
//! Each case cites where its rule comes from:
//! - [DS]     4D 21, ORDA > Roles and Privileges, "Permissions": "A permission action defined at
//!   the datastore level is automatically assigned to all dataclasses."
//! - [EXEC]   ibid.: "The execute permission action defined at the datastore level applies to
//!   all functions of the project, including all singleton functions."
//! - [CLASS]  ibid.: "A permission action defined at a dataclass level overrides the datastore
//!   setting (if any). By default, all attributes of the dataclass inherit from the
//!   dataclass permission(s)."
//! - [ATTR]   ibid.: an attribute's permission "is added to" its dataclass's: with "general" on
//!   the dataclass and "detail" on the attribute, "both ... must be set".
//! - [TABLE]  ibid., "Permission actions": the table of actions per resource (n/a cells).
//! - [SINGLE] ibid., notes: a permission on a singleton class "will be applied to all its
//!   exposed functions", or to one function (`singletonMethod`).
//! - [FUNC]   ibid., "Assigning permissions to ORDA class functions": `City.dropEntity` and
//!   `City.dropSelection` of type `method` with `promote: ["name"]`.
//! - [DEFAULT] ibid., "restrictedByDefault": false, access to a resource without permission "is
//!   free for all requests"; true, it "is forbidden for all requests".
//! - [FILE]   ibid., "Default file": `ds` with empty lists for every action, restrictedByDefault
//!   false.
//! - [LOCKED] ibid., "Example of privilege configuration": every datastore action locked with
//!   the "none" privilege, `ds.loginAs`, `ds.getPrivileges`… and
//!   `mySingletonClass.createID` opened to "guest", restrictedByDefault true.
//! - [IMPLY]  4D 20, ORDA > Privileges, "Permission actions": "Read action is granted Describe
//!   action automatically. Update and Remove actions are granted Read and Describe
//!   actions automatically."
//! - [SEED]   SPEC section 4's example file (the seed): `ds` read for "medium", which includes
//!   "simple"; role "Medium".
//! - [INCL]   4D 21, "Privileges and Roles": "A privilege can include other privileges."
//! - [TYPES]  4D 21, Session class: "only the code executed in a web context is actually
//!   controlled by session's privileges" (remote sessions are allowed everything, as
//!   their has_privilege is).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::race::{Role, race};
use serde_json::Value;
use sessmgr::{ErrorKind, Registry};

const LOCKED: &str = r#"{
  "privileges": [{"privilege": "none", "includes": []}],
  "roles": [],
  "permissions": {"allowed": [
    {"applyTo": "ds", "type": "datastore", "read": ["none"], "create": ["none"],
     "update": ["none"], "drop": ["none"], "execute": ["none"], "promote": ["none"]},
    {"applyTo": "ds.loginAs", "type": "method", "execute": ["guest"]},
    {"applyTo": "ds.getPrivileges", "type": "method", "execute": ["guest"]},
    {"applyTo": "mySingletonClass.createID", "type": "singletonMethod", "execute": ["guest"]}
  ]},
  "restrictedByDefault": true, "forceLogin": true }"#;

/// [ATTR]'s "general" and "detail", a dataclass overriding the datastore, and an update
/// permission that grants read.
fn staff(restricted: bool) -> String {
    format!(
        r#"{{
  "privileges": [{{"privilege": "general"}}, {{"privilege": "detail"}}, {{"privilege": "admin"}},
                 {{"privilege": "reader"}}],
  "permissions": {{"allowed": [
    {{"applyTo": "ds", "type": "datastore", "read": ["reader"]}},
    {{"applyTo": "Employee", "type": "dataclass", "read": ["general"], "update": ["admin"]}},
    {{"applyTo": "Employee.salary", "type": "attribute", "read": ["detail"]}}
  ]}},
  "restrictedByDefault": {restricted} }}"#
    )
}

fn default_file(restricted: bool) -> String {
    format!(
        r#"{{ "privileges": [], "roles": [],
  "permissions": {{"allowed": [{{"applyTo": "ds", "type": "datastore", "read": [], "create": [],
     "update": [], "drop": [], "execute": [], "promote": []}}]}},
  "restrictedByDefault": {restricted}, "forceLogin": false }}"#
    )
}

const FUNCTIONS: &str = r#"{
  "privileges": [{"privilege": "name"}, {"privilege": "analyst"}, {"privilege": "admin"},
                 {"privilege": "clerk"}],
  "permissions": {"allowed": [
    {"applyTo": "City", "type": "dataclass", "execute": ["clerk"]},
    {"applyTo": "City.dropEntity", "type": "method", "promote": ["name"]},
    {"applyTo": "City.dropSelection", "type": "method", "promote": ["name"]},
    {"applyTo": "Stats", "type": "singleton", "execute": ["analyst"]},
    {"applyTo": "Stats.reset", "type": "singletonMethod", "execute": ["admin"]}
  ]},
  "restrictedByDefault": true }"#;

const SEED: &str = r#"{ "privileges": [ {"privilege": "simple", "includes": []},
                  {"privilege": "medium", "includes": ["simple"]},
                  {"privilege": "boss", "includes": ["medium"]} ],
  "roles":      [ {"role": "Medium", "privileges": ["medium"]} ],
  "permissions": { "allowed": [ {"applyTo": "ds", "type": "datastore", "read": ["medium"]} ] },
  "forceLogin": false, "restrictedByDefault": false }"#;

/// What a case expects.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Allowed,
    Refused,
    Invalid,
}
use Want::*;

struct Case {
    file: String,
    /// `set_privileges` text; "" is a guest; "remote" a remote session.
    grant: &'static str,
    resource: &'static str,
    action: &'static str,
    want: Want,
    cite: &'static str,
}

fn cases() -> Vec<Case> {
    let staff_open = staff(false);
    let staff_closed = staff(true);
    #[rustfmt::skip]
    let rows: Vec<(&str, &'static str, &'static str, &'static str, Want, &'static str)> = vec![
        (LOCKED, "", "ds.loginAs", "execute", Allowed, "[LOCKED] a function's own permission replaces the datastore's"),
        (LOCKED, "", "ds.getPrivileges", "execute", Allowed, "[LOCKED] opened to guest"),
        (LOCKED, "", "mySingletonClass.createID", "execute", Allowed, "[LOCKED] singletonMethod opened to guest"),
        (LOCKED, "", "ds", "read", Refused, "[LOCKED] only \"none\" reads the datastore"),
        (LOCKED, "", "City", "read", Refused, "[LOCKED]+[DS] every dataclass inherits the lock"),
        (LOCKED, "", "City.name", "read", Refused, "[LOCKED]+[CLASS] and every attribute"),
        (LOCKED, "", "City.getPopulation", "execute", Refused, "[LOCKED]+[EXEC] and every function"),
        (LOCKED, "", "mySingletonClass.other", "execute", Refused, "[LOCKED]+[EXEC] including other singleton functions"),
        (LOCKED, "", "ds.isGuest", "execute", Refused, "[LOCKED] a datastore function the file does not open"),
        (LOCKED, "none", "City", "drop", Allowed, "[LOCKED] the \"none\" privilege holds the key"),
        (LOCKED, "", "mySingletonClass.createID", "read", Invalid, "[TABLE] read is n/a for a singleton function"),
        (&staff_open, "general, detail", "Employee.salary", "read", Allowed, "[ATTR] both general and detail"),
        (&staff_open, "general", "Employee.salary", "read", Refused, "[ATTR] general alone is not enough"),
        (&staff_open, "detail", "Employee.salary", "read", Refused, "[ATTR] detail alone is not enough"),
        (&staff_open, "general", "Employee.name", "read", Allowed, "[CLASS] attributes inherit the dataclass"),
        (&staff_open, "reader", "Employee", "read", Refused, "[CLASS] the dataclass overrides the datastore"),
        (&staff_open, "reader", "Employee.name", "read", Refused, "[CLASS] so do its attributes"),
        (&staff_open, "reader", "Company", "read", Allowed, "[DS] the datastore's read reaches every dataclass"),
        (&staff_open, "", "Company", "read", Refused, "[DS] a guest does not hold reader"),
        (&staff_open, "", "Company", "create", Allowed, "[DEFAULT] nothing set for create, not restricted"),
        (&staff_open, "admin", "Employee", "read", Allowed, "[IMPLY] update grants read"),
        (&staff_open, "admin", "Employee", "describe", Allowed, "[IMPLY] update grants describe"),
        (&staff_open, "general", "Employee", "describe", Allowed, "[IMPLY] read grants describe"),
        (&staff_open, "", "Employee", "describe", Allowed, "[IMPLY]+[DEFAULT] describe is not itself set"),
        (&staff_open, "admin", "Employee.salary", "read", Allowed, "[IMPLY]+[CLASS] update on the attribute, inherited, grants read"),
        (&staff_open, "general", "Employee", "update", Refused, "[CLASS] update is admin's"),
        (&staff_open, "admin", "Employee", "drop", Allowed, "[DEFAULT] nothing set for drop, not restricted"),
        (&staff_closed, "", "Company", "create", Refused, "[DEFAULT] restricted: nothing set is forbidden"),
        (&staff_closed, "admin", "Employee", "drop", Refused, "[DEFAULT] restricted"),
        (&staff_closed, "admin", "Employee", "read", Allowed, "[IMPLY] update grants read, restricted or not"),
        (&staff_closed, "", "Employee", "describe", Refused, "[IMPLY]+[DEFAULT] restricted, no action granting describe held"),
        (&staff_closed, "general", "Employee", "describe", Allowed, "[IMPLY] read grants describe"),
        (&staff_closed, "reader", "Company.name", "read", Allowed, "[DS]+[CLASS] down to attributes"),
        (&staff_closed, "reader", "Company.compute", "execute", Refused, "[DEFAULT] execute set nowhere, restricted"),
        (FUNCTIONS, "name", "City.dropEntity", "promote", Allowed, "[FUNC] promote for name"),
        (FUNCTIONS, "", "City.dropSelection", "promote", Refused, "[FUNC] a guest does not hold name"),
        (FUNCTIONS, "clerk", "City.anyFunction", "execute", Allowed, "[TABLE] dataclass execute: any function of the dataclass"),
        (FUNCTIONS, "clerk", "City.dropEntity", "execute", Allowed, "[FUNC]+[CLASS] only promote is set on dropEntity"),
        (FUNCTIONS, "analyst", "Stats.compute", "execute", Allowed, "[SINGLE] applied to all its functions"),
        (FUNCTIONS, "analyst", "Stats.reset", "execute", Refused, "[SINGLE] singletonMethod replaces the singleton's"),
        (FUNCTIONS, "admin", "Stats.reset", "execute", Allowed, "[SINGLE] singletonMethod"),
        (FUNCTIONS, "", "Stats.compute", "read", Invalid, "[TABLE] read is n/a for a singleton function"),
        (FUNCTIONS, "", "ds.f", "create", Invalid, "[TABLE] create is n/a for a function"),
        (FUNCTIONS, "", "Stats", "update", Invalid, "[TABLE] update is n/a for a singleton"),
        (FUNCTIONS, "", "City.dropEntity", "read", Invalid, "[TABLE] read is n/a for a method"),
        (FUNCTIONS, "clerk", "City", "read", Refused, "[DEFAULT] restricted, read set nowhere"),
        (SEED, r#"{"roles": "Medium"}"#, "ds", "read", Allowed, "[SEED] through the role"),
        (SEED, "simple", "ds", "read", Refused, "[SEED] simple does not include medium"),
        (SEED, "medium", "City.x", "read", Allowed, "[SEED]+[DS] down to attributes"),
        (SEED, "boss", "City", "read", Allowed, "[INCL] boss includes medium"),
        (SEED, "", "City", "update", Allowed, "[DEFAULT] not restricted"),
        (LOCKED, "remote", "City", "read", Allowed, "[TYPES] remote sessions are allowed everything"),
        (LOCKED, "remote", "City", "Read", Invalid, "[TYPES] but bad input is bad input"),
        (LOCKED, "remote", "mySingletonClass.createID", "update", Invalid, "[TABLE] for every type"),
    ];
    let mut cases = Vec::new();
    for (file, grant, resource, action, want, cite) in rows {
        cases.push(Case {
            file: file.to_owned(),
            grant,
            resource,
            action,
            want,
            cite,
        });
    }
    for restricted in [false, true] {
        for (resource, action) in [("ds", "read"), ("City.f", "execute"), ("City", "drop")] {
            cases.push(Case {
                file: default_file(restricted),
                grant: "",
                resource,
                action,
                want: if restricted { Refused } else { Allowed },
                cite: "[FILE]+[DEFAULT] empty lists set nothing",
            });
        }
    }
    cases
}

fn answer(r: &Registry, case: &Case) -> Want {
    r.load_roles(&case.file).unwrap();
    let id = if case.grant == "remote" {
        r.create(Some(r#"{"type": "remote"}"#)).unwrap()
    } else {
        let id = r.create(None).unwrap();
        if !case.grant.is_empty() {
            assert!(r.set_privileges(id, case.grant).unwrap().is_empty());
        }
        id
    };
    let got = r.has_permission(id, case.resource.as_bytes(), case.action.as_bytes());
    let explained = r.explain_permission(id, case.resource.as_bytes(), case.action.as_bytes());
    r.close(id).unwrap();
    match (got, explained) {
        (Ok(allowed), Ok(text)) => {
            let json: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(json["allowed"], allowed, "explain disagrees: {text}");
            if allowed { Allowed } else { Refused }
        }
        (Err(e), Err(e2)) => {
            assert_eq!(e.kind, ErrorKind::InvalidArgument, "{}", e.message);
            assert_eq!(e, e2);
            Invalid
        }
        (got, explained) => panic!("has_permission {got:?} but explain {explained:?}"),
    }
}

#[test]
fn four_d_documentation_cases() {
    let r = Registry::new();
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for case in &cases {
        let got = answer(&r, case);
        if got != case.want {
            wrong.push(format!(
                "{} {} by {:?}: {got:?}, want {:?} ({})",
                case.action, case.resource, case.grant, case.want, case.cite
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

fn load_error(r: &Registry, text: &str) -> String {
    let e = r.load_roles(text).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument, "{}", e.message);
    e.message
}

#[test]
fn a_bad_permission_refuses_the_file_and_changes_nothing() {
    let r = Registry::new();
    r.load_roles(&staff(false)).unwrap();
    let id = r.create(None).unwrap();
    r.set_privileges(id, "reader").unwrap();
    let message = load_error(
        &r,
        r#"{"privileges": [{"privilege": "p"}], "roles": [{"role": "R", "privileges": ["p"]}],
            "permissions": {"allowed": [
              {"applyTo": "ds", "type": "dataclass", "read": ["p"]},
              {"applyTo": "City.name", "type": "datastore"},
              {"applyTo": "City", "type": "table"},
              {"applyTo": "City", "type": "dataclass", "delete": ["p"], "id": "x"},
              {"applyTo": "City.f", "type": "method", "read": ["p"]},
              {"applyTo": "Town", "type": "dataclass", "read": ["ghost"], "update": ["R"]},
              {"applyTo": "Town", "type": "dataclass"},
              {"applyTo": "a.b.c", "type": "attribute"},
              {"type": "dataclass"},
              {"applyTo": "Stats", "type": "singleton"},
              {"applyTo": "Stats.x", "type": "method"},
              {"applyTo": "Gauge", "type": "dataclass", "read": "p"},
              7
            ]}}"#,
    );
    for expected in [
        "permissions.allowed[0]: \"ds\" does not fit type \"dataclass\"",
        "permissions.allowed[1]: \"City.name\" does not fit type \"datastore\"",
        "permissions.allowed[2]: \"type\" \"table\" is not one of",
        "permissions.allowed[3]: \"City\" is already given permissions by permissions.allowed[2]",
        "permissions.allowed[3]: \"delete\" is not an action",
        "4D calls deleting \"drop\"",
        "permissions.allowed[4]: \"read\" does not apply to a function",
        "names privilege \"ghost\", which is not declared",
        "names \"R\", which is a role",
        "permissions.allowed[6]: \"Town\" is already given permissions by permissions.allowed[5]",
        "permissions.allowed[7]: \"applyTo\" \"a.b.c\" is not as 4D writes applyTo",
        "permissions.allowed[8]: \"applyTo\" is missing",
        "\"Stats.x\" is of type \"method\", but \"Stats\" is a singleton",
        "permissions.allowed[11]: \"read\" must be an array of privilege names",
        "permissions.allowed[12] must be an object",
    ] {
        assert!(
            message.contains(expected),
            "missing {expected:?} in {message}"
        );
    }
    assert!(
        message.starts_with("roles file has 14 problems"),
        "{message}"
    );
    for (text, expected) in [
        (
            r#"{"permissions": []}"#,
            "\"permissions\" must be an object",
        ),
        (
            r#"{"permissions": {"allowed": {}}}"#,
            "\"permissions.allowed\" must be an array",
        ),
        (
            r#"{"restrictedByDefault": "yes"}"#,
            "\"restrictedByDefault\" must be true or false",
        ),
    ] {
        let message = load_error(&r, text);
        assert!(
            message.contains(expected),
            "missing {expected:?} in {message}"
        );
    }
    // Nothing changed: the first file still answers.
    assert!(r.has_permission(id, b"Company", b"read").unwrap());
    assert!(!r.has_permission(id, b"Employee", b"read").unwrap());
}

#[test]
fn bad_resources_and_actions_are_invalid_arguments_with_their_reason() {
    let r = Registry::new();
    r.load_roles(FUNCTIONS).unwrap();
    let id = r.create(None).unwrap();
    for (resource, action, expected) in [
        (
            &b"City"[..],
            &b"Read"[..],
            "the action \"Read\" is not one of create, read",
        ),
        (b"City", b"delete", "the action \"delete\" is not one of"),
        (b"City", b"", "the action \"\" is not one of"),
        (
            b"",
            b"read",
            "the resource \"\" is not as 4D writes applyTo",
        ),
        (
            b"a.b.c",
            b"read",
            "the resource \"a.b.c\" is not as 4D writes applyTo",
        ),
        (b"City.", b"read", "is not as 4D writes applyTo"),
        (b".x", b"read", "is not as 4D writes applyTo"),
        (b"Cit y", b"read", "is not as 4D writes applyTo"),
        (
            b"City\xff",
            b"read",
            "the resource is not valid UTF-8 (at byte 4)",
        ),
        (
            b"Stats",
            b"read",
            "\"read\" does not apply to \"Stats\": it is a singleton (the roles file declares it of type \"singleton\")",
        ),
        (
            b"ds.go",
            b"drop",
            "\"drop\" does not apply to \"ds.go\": it is a function (by its name)",
        ),
        (
            b"Stats.reset",
            b"create",
            "\"create\" does not apply to \"Stats.reset\": it is a singleton function (the roles file declares it of type \"singletonMethod\")",
        ),
    ] {
        let e = r.has_permission(id, resource, action).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(
            e.message.contains(expected),
            "missing {expected:?} in {}",
            e.message
        );
        assert_eq!(r.explain_permission(id, resource, action).unwrap_err(), e);
    }
    let long = "x".repeat(2050);
    let e = r.has_permission(id, long.as_bytes(), b"read").unwrap_err();
    assert!(
        e.message.contains("longer than 2049 bytes"),
        "{}",
        e.message
    );
    assert!(
        e.message.len() < 200,
        "the message does not repeat 2 KB: {}",
        e.message
    );
    // Names in any script are resources.
    assert!(
        !r.has_permission(id, "Élève.âge".as_bytes(), b"read")
            .unwrap()
    );
}

fn explain(r: &Registry, id: sessmgr::SessionId, resource: &str, action: &str) -> Value {
    serde_json::from_str(
        &r.explain_permission(id, resource.as_bytes(), action.as_bytes())
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn explain_names_the_entry_the_level_and_how_each_privilege_is_held() {
    let r = Registry::new();
    r.load_roles(
        r#"{"privileges": [{"privilege": "general"}, {"privilege": "detail"},
                           {"privilege": "hr", "includes": ["detail"]}],
            "roles": [{"role": "Manager", "privileges": ["general"]}],
            "permissions": {"allowed": [
              {"applyTo": "Employee", "type": "dataclass", "read": ["general"], "update": ["hr"]},
              {"applyTo": "Employee.salary", "type": "attribute", "read": ["detail"]}]},
            "restrictedByDefault": true}"#,
    )
    .unwrap();
    let id = r.create(None).unwrap();
    r.set_privileges(id, r#"{"roles": "Manager", "privileges": "hr"}"#)
        .unwrap();
    let e = explain(&r, id, "Employee.salary", "read");
    assert_eq!(e["allowed"], true);
    assert_eq!(e["type"], "attribute");
    assert_eq!(e["sessionType"], "web");
    let reason = e["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(
            "allowed: read on \"Employee.salary\" needs \"detail\" (attribute \"Employee.salary\", \
             permissions.allowed[1]) and \"general\" (dataclass \"Employee\", permissions.allowed[0])"
        ),
        "{reason}"
    );
    let read = &e["checks"][0];
    assert_eq!(read["action"], "read");
    assert_eq!(read["requires"][0]["entry"], "permissions.allowed[1]");
    assert_eq!(
        read["requires"][0]["level"],
        "own, added to its dataclass's"
    );
    assert_eq!(
        read["requires"][0]["privileges"][0]["through"][0],
        "included by privilege \"hr\""
    );
    assert_eq!(read["requires"][1]["level"], "inherited");
    assert_eq!(
        read["requires"][1]["privileges"][0]["through"][0],
        "through role \"Manager\""
    );
    let update = &e["checks"][1];
    assert_eq!(update["action"], "update");
    assert_eq!(update["grants"], "read");
    assert_eq!(
        update["requires"][0]["privileges"][0]["through"][0],
        "granted"
    );

    let guest = r.create(None).unwrap();
    let e = explain(&r, guest, "Employee", "create");
    assert_eq!(e["allowed"], false);
    assert_eq!(
        e["reason"],
        "refused: no permission is set for create on \"Employee\" or above it, and \
         restrictedByDefault is true"
    );
    let e = explain(&r, guest, "Employee", "read");
    assert_eq!(e["allowed"], false);
    assert!(
        e["reason"].as_str().unwrap().starts_with(
            "refused: read on \"Employee\" needs \"general\" (dataclass \"Employee\", \
             permissions.allowed[0]), and the session does not hold it"
        ),
        "{}",
        e["reason"]
    );
    assert_eq!(
        e["checks"][0]["requires"][0]["privileges"][0]["held"],
        false
    );
    let remote = r.create(Some(r#"{"type": "remote"}"#)).unwrap();
    let e = explain(&r, remote, "Employee", "read");
    assert_eq!(e["allowed"], true);
    assert!(
        e["reason"]
            .as_str()
            .unwrap()
            .starts_with("allowed: remote sessions")
    );
    // Nothing in an explanation is the session's ID.
    for session in [id, guest, remote] {
        let text = r.explain_permission(session, b"Employee", b"read").unwrap();
        assert!(
            !text
                .to_lowercase()
                .contains(&session.to_string().to_lowercase())
        );
    }
}

#[test]
fn a_new_roles_file_changes_the_answers_at_once() {
    let r = Registry::new();
    r.load_roles(SEED).unwrap();
    let id = r.create(None).unwrap();
    r.set_privileges(id, "simple").unwrap();
    assert!(!r.has_permission(id, b"City", b"read").unwrap());
    r.load_roles(&SEED.replace(r#""read": ["medium"]"#, r#""read": ["simple"]"#))
        .unwrap();
    assert!(r.has_permission(id, b"City", b"read").unwrap());
    // A guest answers by the current file too.
    let guest = r.create(None).unwrap();
    assert!(r.has_permission(guest, b"City", b"create").unwrap());
    r.load_roles(&SEED.replace(
        r#""restrictedByDefault": false"#,
        r#""restrictedByDefault": true"#,
    ))
    .unwrap();
    assert!(!r.has_permission(guest, b"City", b"create").unwrap());
    assert_eq!(
        r.has_permission(
            sessmgr::SessionId::parse("0123456789abcdef0123456789abcdef").unwrap(),
            b"City",
            b"read"
        )
        .unwrap_err()
        .kind,
        ErrorKind::NotFound
    );
}

/// 3 threads check permissions (2,000 times each at least, 500 of them while a grant changed,
/// and until both grants were seen) while one flips a session's grant and another
/// reloads the roles file: every answer is one the grant of the moment gives.
#[test]
fn checks_on_many_threads_agree_while_grants_change() {
    let r = Registry::new();
    r.load_roles(&staff(true)).unwrap();
    let reader = r.create(None).unwrap();
    r.set_privileges(reader, "general").unwrap();
    let flipping = r.create(None).unwrap();
    let flip = |_, n: u64| {
        let grant = if n.is_multiple_of(2) {
            "general, detail"
        } else {
            "detail"
        };
        r.set_privileges(flipping, grant).unwrap();
    };
    // And the roles file reloads (restricted or not: these answers are the same in both).
    let reload = |_, n: u64| r.load_roles(&staff(n.is_multiple_of(2))).unwrap();
    let (yes, no) = (AtomicU64::new(0), AtomicU64::new(0));
    let check = |_, _| {
        assert!(r.has_permission(reader, b"Employee.name", b"read").unwrap());
        assert!(
            !r.has_permission(reader, b"Employee.salary", b"read")
                .unwrap()
        );
        let seen = if r
            .has_permission(flipping, b"Employee.salary", b"read")
            .unwrap()
        {
            &yes
        } else {
            &no
        };
        seen.fetch_add(1, Ordering::Relaxed);
        // One consistent read: its verdict is what its own checks say.
        let e: Value = serde_json::from_str(
            &r.explain_permission(flipping, b"Employee.salary", b"read")
                .unwrap(),
        )
        .unwrap();
        let met = e["checks"][0]["met"] == true;
        assert_eq!(e["allowed"], met, "{e}");
    };
    let both = || yes.load(Ordering::Relaxed) > 0 && no.load(Ordering::Relaxed) > 0;
    let done = race(&[
        Role::new("flipper", 1, &flip).rounds(10),
        Role::new("reloader", 1, &reload).rounds(10).overlapped(10),
        Role::new("checker", 3, &check)
            .rounds(2_000)
            .overlapped(500)
            .until(&both),
    ]);
    eprintln!(
        "{} checks ({} yes, {} no) during {} flips and {} reloads",
        done[2].rounds,
        yes.into_inner(),
        no.into_inner(),
        done[0].rounds,
        done[1].rounds
    );
}
