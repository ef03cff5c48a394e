//! What administrators see (SPEC sections 7 and 8): the clients list, the access log, events,
//! attached files and statistics, on `Registry` instances.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::race::{Role, race};
use common::recorder;
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

/// A fresh directory for one test's log files.
fn temp_dir(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("admin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn log_config(path: &Path, max_bytes: u64) -> String {
    json!({"accessLog": {"path": path, "hostName": "fms\tone", "maxBytes": max_bytes}}).to_string()
}

/// One line of the access log, split and checked for shape.
#[derive(Debug)]
struct LogLine {
    timestamp: String,
    level: String,
    code: u32,
    host: String,
    message: String,
}

fn read_log(path: &Path) -> Vec<LogLine> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.starts_with(sessmgr::ACCESS_LOG_HEADER),
        "no header in {text:?}"
    );
    assert!(text.ends_with('\n'), "a partial line in {text:?}");
    text[sessmgr::ACCESS_LOG_HEADER.len()..]
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 5, "not five fields: {line:?}");
            LogLine {
                timestamp: fields[0].to_owned(),
                level: fields[1].to_owned(),
                code: fields[2]
                    .parse()
                    .unwrap_or_else(|_| panic!("code of {line:?}")),
                host: sessmgr::unescape_log_value(fields[3]).unwrap(),
                message: fields[4].to_owned(),
            }
        })
        .collect()
}

/// The quoted values of a log message, unescaped, and the text around them.
fn quoted_values(message: &str) -> (Vec<String>, String) {
    let mut values = Vec::new();
    let mut skeleton = String::new();
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            skeleton.push(c);
            continue;
        }
        let mut raw = String::new();
        loop {
            match chars.next().expect("an unterminated quote") {
                '\\' => {
                    raw.push('\\');
                    raw.push(chars.next().unwrap());
                }
                '"' => break,
                other => raw.push(other),
            }
        }
        values.push(sessmgr::unescape_log_value(&raw).expect("a valid escape"));
        skeleton.push('%');
    }
    (values, skeleton)
}

// ----- clients list and sessions list ---------------------------------------------------------

#[test]
fn clients_list_field_by_field() {
    let r = manual();
    let kiosk = r
        .create(Some(
            r#"{"type":"remote","userName":"Guest","machineName":"Kiosk 1","IPAddress":"192.0.2.31",
                "appVersion":"21.0.1","appLanguage":"English","operatingSystem":"macOS 15.1",
                "macAddress":"00:11:22:33:44:55"}"#,
        ))
        .unwrap();
    let web = r
        .create(Some(r#"{"IPAddress":"198.51.100.4","idleTimeout":3000}"#))
        .unwrap();
    let rest = r
        .create(Some(
            r#"{"type":"rest","appType":"Custom","extendedPrivilege":"fmxml","idleTimeout":3000}"#,
        ))
        .unwrap();
    r.create(Some(r#"{"type":"standalone","userName":"local"}"#))
        .unwrap();
    r.attach_file(
        kiosk,
        r#"{"filename":"Survey","accountName":"Guest","privsetName":"[Read-Only Access]"}"#,
    )
    .unwrap();
    r.attach_file(web, r#"{"filename":"Survey"}"#).unwrap();
    r.attach_file(
        web,
        r#"{"filename":"Inventory","privsetName":"[Data Entry Only]"}"#,
    )
    .unwrap();
    r.advance_clock(27 * 3600 + 61).unwrap();

    let list = json_of(&r.clients_list().unwrap());
    assert_eq!(list["messages"], json!([{"code": "0"}]));
    let clients = list["response"]["clients"].as_array().unwrap();
    assert_eq!(
        clients.len(),
        3,
        "standalone sessions are not clients: {clients:?}"
    );
    let k = &clients[0];
    let keys: Vec<&str> = k.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected_keys = vec![
        "id",
        "status",
        "userName",
        "computerName",
        "ipaddress",
        "macaddress",
        "extpriv",
        "appType",
        "appVersion",
        "appLanguage",
        "operatingSystem",
        "connectTime",
        "connectDuration",
        "guestFiles",
    ];
    expected_keys.sort_unstable();
    assert_eq!(keys, expected_keys);
    // The client number (a string, as FileMaker's Admin API gives it), never the session ID.
    assert_eq!(k["id"], r.client_id(kiosk).unwrap().to_string());
    assert_eq!(k["status"], "NORMAL");
    assert_eq!(k["userName"], "Guest");
    assert_eq!(k["computerName"], "Kiosk 1");
    assert_eq!(k["ipaddress"], "192.0.2.31");
    assert_eq!(k["macaddress"], "00:11:22:33:44:55");
    assert_eq!(k["extpriv"], "fmapp");
    assert_eq!(k["appType"], "Pro");
    assert_eq!(k["appVersion"], "21.0.1");
    assert_eq!(k["appLanguage"], "English");
    assert_eq!(k["operatingSystem"], "macOS 15.1");
    assert_eq!(
        k["connectTime"],
        json_of(&r.info(kiosk).unwrap())["creationDateTime"]
    );
    assert_eq!(k["connectDuration"], "27:01:01");
    assert_eq!(
        k["guestFiles"],
        json!([{"id": "1", "filename": "Survey", "accountName": "Guest", "privsetName": "[Read-Only Access]"}])
    );

    let w = &clients[1];
    assert_eq!(w["id"], r.client_id(web).unwrap().to_string());
    assert_eq!(w["userName"], "");
    assert_eq!(w["extpriv"], "fmwebdirect");
    assert_eq!(w["appType"], "WebDirect");
    assert_eq!(w["ipaddress"], "198.51.100.4");
    assert_eq!(
        w["guestFiles"][0]["id"], "1",
        "the same file has the same ID for every client"
    );
    assert_eq!(w["guestFiles"][1]["id"], "2");
    assert_eq!(w["guestFiles"][1]["privsetName"], "[Data Entry Only]");

    let s = &clients[2];
    assert_eq!(s["id"], r.client_id(rest).unwrap().to_string());
    assert_eq!(s["extpriv"], "fmxml");
    assert_eq!(s["appType"], "Custom");
    assert_eq!(s["guestFiles"], json!([]));
}

#[test]
fn listings_follow_the_identifier_and_reset() {
    let r = manual();
    let a = r
        .create(Some(
            r#"{"type":"remote","userName":"Guest","machineName":"Kiosk 1"}"#,
        ))
        .unwrap();
    let b = r
        .create(Some(
            r#"{"type":"remote","userName":"Guest","machineName":"Kiosk 2"}"#,
        ))
        .unwrap();
    let names = |r: &Registry| -> Vec<String> {
        json_of(&r.clients_list().unwrap())["response"]["clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["userName"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&r), ["Guest", "Guest"]);
    r.set_identifier(a, "S1234567").unwrap();
    assert_eq!(
        names(&r),
        ["S1234567", "Guest"],
        "administrators tell the two apart"
    );
    let sessions = json_of(&r.sessions_list().unwrap());
    assert_eq!(
        sessions["sessions"][0]["userName"], "Guest",
        "4D's info keeps the user name"
    );
    assert_eq!(sessions["sessions"][0]["ID"], a.to_string());
    assert_eq!(sessions["sessions"][1]["ID"], b.to_string());
    r.set_identifier(a, "").unwrap();
    assert_eq!(names(&r), ["Guest", "Guest"]);
    r.reset();
    assert_eq!(
        r.clients_list().unwrap(),
        r#"{"response":{"clients":[]},"messages":[{"code":"0"}]}"#
    );
    assert_eq!(r.sessions_list().unwrap(), r#"{"sessions":[]}"#);
}

#[test]
fn attached_files_rules() {
    let r = Registry::new();
    let web = r.create(None).unwrap();
    let local = r.create(Some(r#"{"type":"standalone"}"#)).unwrap();
    r.attach_file(web, r#"{"filename":"Survey"}"#).unwrap();
    assert_eq!(
        r.attach_file(web, r#"{"filename":"Survey"}"#)
            .unwrap_err()
            .kind,
        ErrorKind::BadState
    );
    assert_eq!(
        r.attach_file(local, r#"{"filename":"Survey"}"#)
            .unwrap_err()
            .kind,
        ErrorKind::NotSupported
    );
    assert_eq!(
        r.attach_file(web, r#"{"filename":""}"#).unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        r.attach_file(web, r#"{"filename":7}"#).unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        r.detach_file(web, "Nope").unwrap_err().kind,
        ErrorKind::NoValue
    );
    r.detach_file(web, "Survey").unwrap();
    assert_eq!(
        json_of(&r.clients_list().unwrap())["response"]["clients"][0]["guestFiles"],
        json!([])
    );
    r.attach_file(web, r#"{"filename":"Survey"}"#).unwrap();
}

// ----- the access log -------------------------------------------------------------------------

#[test]
fn every_access_log_line_reads_back_field_by_field() {
    let dir = temp_dir("fields");
    let path = dir.join("Access.log");
    let r = manual();
    r.configure(&log_config(&path, 1 << 20)).unwrap();
    r.load_roles(r#"{"privileges":[{"privilege":"simple"}]}"#)
        .unwrap();
    let nasty = "Ann \"the\" O'Neil\t\\n\\u0041\nnext\u{2028}line\\";
    let remote = r
        .create(Some(
            r#"{"type":"remote","userName":"Guest","machineName":"Kiosk 1","IPAddress":"192.0.2.31","appVersion":"21.0"}"#,
        ))
        .unwrap();
    r.set_identifier(remote, nasty).unwrap();
    r.attach_file(
        remote,
        r#"{"filename":"Survey \"2026\"","accountName":"Guest"}"#,
    )
    .unwrap();
    r.detach_file(remote, "Survey \"2026\"").unwrap();
    r.set_state(remote, "sleeping").unwrap();
    let web = r.create(Some(r#"{"IPAddress":"198.51.100.4"}"#)).unwrap();
    r.set_privileges(
        web,
        r#"{"privileges":"WebAdmin, simple","userName":"admin"}"#,
    )
    .unwrap();
    r.close(remote).unwrap();
    // A local file is nobody's client: no line.
    let local = r.create(Some(r#"{"type":"standalone"}"#)).unwrap();
    r.close(local).unwrap();
    r.advance_clock(3600).unwrap();
    assert_eq!(r.sweep(), 1);

    let lines = read_log(&path);
    let codes: Vec<u32> = lines.iter().map(|l| l.code).collect();
    assert_eq!(codes, [638, 9001, 94, 98, 9003, 638, 9001, 9002, 22, 9004]);
    for line in &lines {
        assert_eq!(line.level, "Information");
        assert_eq!(line.host, "fms\tone");
        assert_eq!(
            line.timestamp.len(),
            "2026-11-22 10:04:12.581 +0000".len(),
            "{}",
            line.timestamp
        );
        assert!(line.timestamp.ends_with(" +0000"));
        chrono::NaiveDateTime::parse_from_str(&line.timestamp[..23], "%Y-%m-%d %H:%M:%S%.3f")
            .unwrap();
    }
    let label = format!("{nasty} (Kiosk 1) [192.0.2.31]");
    let expect = |i: usize, skeleton: &str, values: &[&str]| {
        let (got, shape) = quoted_values(&lines[i].message);
        assert_eq!(shape, skeleton, "line {i}: {}", lines[i].message);
        assert_eq!(got, values, "line {i}");
    };
    expect(
        0,
        "Client % opening a connection from % using %.",
        &[
            "Guest (Kiosk 1) [192.0.2.31]",
            "Kiosk 1 (192.0.2.31)",
            "Pro 21.0 [fmapp]",
        ],
    );
    expect(
        1,
        "Client % session identifier changed from % to %.",
        &[&label, "Guest", nasty],
    );
    expect(
        2,
        "Client % opening database % as %.",
        &[&label, "Survey \"2026\"", "Guest"],
    );
    expect(
        3,
        "Client % closing database % as %.",
        &[&label, "Survey \"2026\"", "Guest"],
    );
    expect(
        4,
        "Client % state changed from % to %.",
        &[&label, "active", "sleeping"],
    );
    expect(
        5,
        "Client % opening a connection from % using %.",
        &[
            "[198.51.100.4]",
            "(198.51.100.4)",
            "WebDirect [fmwebdirect]",
        ],
    );
    expect(
        6,
        "Client % session identifier changed from % to %.",
        &["admin [198.51.100.4]", "", "admin"],
    );
    expect(
        7,
        "Client % privileges changed from % to %.",
        &["admin [198.51.100.4]", "", "WebAdmin, simple"],
    );
    expect(8, "Client % closing a connection.", &[&label]);
    let (values, shape) = quoted_values(&lines[9].message);
    assert_eq!(
        shape,
        "Client % session expired: last activity %, idle timeout % minutes."
    );
    assert_eq!(values[0], "admin [198.51.100.4]");
    assert_eq!(values[2], "60");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_log_rotates_at_its_size_limit() {
    let dir = temp_dir("rotate");
    let path = dir.join("Access.log");
    let r = manual();
    r.configure(&log_config(&path, 2048)).unwrap();
    let id = r
        .create(Some(r#"{"type":"remote","userName":"Guest"}"#))
        .unwrap();
    for i in 0..100 {
        r.set_identifier(id, &format!("student-{i:03}")).unwrap();
    }
    let old = dir.join("Access-old.log");
    let current = read_log(&path);
    let previous = read_log(&old);
    for file in [&path, &old] {
        let size = std::fs::metadata(file).unwrap().len();
        assert!(size <= 2048, "{} is {size} bytes", file.display());
    }
    // The newest lines are in the current file, right after the older file's last line.
    let last = |lines: &[LogLine]| quoted_values(&lines.last().unwrap().message).0[2].clone();
    assert_eq!(last(&current), "student-099");
    let first_current = quoted_values(&current[0].message).0[1].clone();
    assert_eq!(
        first_current,
        last(&previous),
        "no line lost at the rotation"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_log_that_cannot_be_written_never_fails_an_operation() {
    let dir = temp_dir("unwritable");
    let path = dir.join("missing-directory").join("Access.log");
    let r = manual();
    r.configure(&log_config(&path, 1 << 20)).unwrap();
    let id = r.create(Some(r#"{"type":"remote"}"#)).unwrap();
    r.set_identifier(id, "still works").unwrap();
    r.close(id).unwrap();
    let stats = json_of(&r.stats().unwrap());
    // One failure opening at configure, then one per event (created, identifier, closed).
    assert_eq!(stats["accessLogWriteFailures"], 4, "{stats}");
    assert!(
        stats["accessLogError"]
            .as_str()
            .unwrap()
            .contains("missing-directory"),
        "{stats}"
    );
    // Once the directory exists, logging resumes.
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    r.create(None).unwrap();
    assert_eq!(read_log(&path).len(), 1);
    r.configure(r#"{"accessLog": null}"#).unwrap();
    r.create(None).unwrap();
    assert_eq!(read_log(&path).len(), 1, "switched off");
    let _ = std::fs::remove_dir_all(dir);
}

// ----- events and statistics ------------------------------------------------------------------

#[test]
fn each_event_kind_with_its_fields() {
    let r = manual();
    r.load_roles(
        r#"{"privileges":[{"privilege":"simple"},{"privilege":"medium","includes":["simple"]}]}"#,
    )
    .unwrap();
    let seen = recorder(&r);
    let id = r.create(Some(r#"{"type":"rest"}"#)).unwrap();
    r.set_privileges(id, r#"{"privileges":"medium","userName":"bob"}"#)
        .unwrap();
    r.set_identifier(id, "bob@desk").unwrap();
    r.set_identifier(id, "bob@desk").unwrap();
    r.set_state(id, "postponed").unwrap();
    r.attach_file(id, r#"{"filename":"Survey"}"#).unwrap();
    r.detach_file(id, "Survey").unwrap();
    r.load_roles(r#"{"privileges":[{"privilege":"medium"}]}"#)
        .unwrap();
    r.close(id).unwrap();
    let other = r.create(None).unwrap();
    r.advance_clock(3600).unwrap();
    r.sweep();

    let events = seen.lock().unwrap().clone();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "identifierChanged",
            "privilegesChanged",
            "identifierChanged",
            "stateChanged",
            "fileAttached",
            "fileDetached",
            "privilegesChanged",
            "closed",
            "created",
            "expired"
        ]
    );
    for event in &events {
        assert!(event["ID"].as_str().unwrap().len() == 32);
        assert!(chrono::DateTime::parse_from_rfc3339(event["time"].as_str().unwrap()).is_ok());
    }
    assert_eq!(events[0]["type"], "rest");
    assert_eq!(events[0]["ID"], id.to_string());
    assert_eq!(
        (events[1]["old"].as_str(), events[1]["new"].as_str()),
        (Some(""), Some("bob"))
    );
    assert_eq!(events[2]["old"], json!([]));
    assert_eq!(events[2]["new"], json!(["simple", "medium"]));
    assert_eq!(events[3]["identifier"], "bob@desk");
    assert_eq!(
        (events[3]["old"].as_str(), events[3]["new"].as_str()),
        (Some("bob"), Some("bob@desk"))
    );
    assert_eq!(
        (events[4]["old"].as_str(), events[4]["new"].as_str()),
        (Some("active"), Some("postponed"))
    );
    assert_eq!(events[5]["filename"], "Survey");
    assert_eq!(events[5]["accountName"], "bob");
    assert_eq!(
        events[7]["new"],
        json!(["medium"]),
        "a new roles file changes what sessions hold"
    );
    assert_eq!(events[10]["ID"], other.to_string());
    assert_eq!(events[10]["idleTimeout"], 60);

    let stats = json_of(&r.stats().unwrap());
    assert_eq!(
        stats["live"],
        json!({"web":0,"rest":0,"remote":0,"storedProcedure":0,"standalone":0,"total":0})
    );
    assert_eq!(stats["created"], 2);
    assert_eq!(stats["closed"], 1);
    assert_eq!(stats["expired"], 1);
    assert_eq!(stats["identifierChanges"], 2);
    assert_eq!(stats["eventsDelivered"], 11);
    assert_eq!(stats["accessLogWriteFailures"], 0);
    assert_eq!(stats["accessLogError"], Value::Null);
}

#[test]
fn stats_count_live_sessions_by_type_and_expired_ones_at_once() {
    let r = manual();
    for options in [
        r#"{"type":"remote"}"#,
        r#"{"type":"remote"}"#,
        r#"{"type":"standalone"}"#,
        "{}",
        r#"{"type":"rest"}"#,
    ] {
        r.create(Some(options)).unwrap();
    }
    let stats = json_of(&r.stats().unwrap());
    assert_eq!(
        stats["live"],
        json!({"web":1,"rest":1,"remote":2,"storedProcedure":0,"standalone":1,"total":5})
    );
    r.advance_clock(3600).unwrap();
    let stats = json_of(&r.stats().unwrap());
    assert_eq!(stats["live"]["total"], 3);
    assert_eq!(
        stats["expired"], 2,
        "expired sessions count as expired before they are swept"
    );
    r.sweep();
    assert_eq!(json_of(&r.stats().unwrap())["expired"], 2);
    r.reset();
    assert_eq!(json_of(&r.stats().unwrap())["created"], 0);
}

#[test]
fn a_handler_may_call_back_into_the_registry() {
    let r = Arc::new(manual());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (registry, theirs) = (Arc::downgrade(&r), Arc::clone(&seen));
    let handler: EventHandler = Arc::new(move |json: &str| {
        let event: Value = serde_json::from_str(json).unwrap();
        let registry = registry.upgrade().unwrap();
        let id = SessionId::parse(event["ID"].as_str().unwrap()).unwrap();
        if event["event"] == "created" {
            // Reads and even changes from inside the handler: no deadlock, and the change's
            // own event comes after this one.
            registry.info(id).unwrap();
            registry.set_identifier(id, "named by the handler").unwrap();
        }
        theirs
            .lock()
            .unwrap()
            .push(event["event"].as_str().unwrap().to_owned());
    });
    r.set_event_handler(Some(handler));
    let id = r.create(Some(r#"{"type":"remote"}"#)).unwrap();
    assert_eq!(r.effective_identifier(id).unwrap(), "named by the handler");
    assert_eq!(*seen.lock().unwrap(), ["created", "identifierChanged"]);
    r.set_event_handler(None);
    r.close(id).unwrap();
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "a removed handler hears nothing"
    );
}

#[test]
fn eight_threads_whole_lines_and_each_event_once() {
    let dir = temp_dir("threads");
    let path = dir.join("Access.log");
    let r = manual();
    r.configure(&log_config(&path, 1 << 30)).unwrap();
    let seen = recorder(&r);
    let closes = AtomicUsize::new(0);
    let round = |t: usize, i: u64| {
        let id = r
            .create(Some(r#"{"type":"remote","userName":"Guest"}"#))
            .unwrap();
        r.set_identifier(id, &format!("t{t}\t\"{i}\"\n")).unwrap();
        r.set_identifier(id, &format!("t{t}-{i}")).unwrap();
        if !i.is_multiple_of(3) {
            r.close(id).unwrap();
            closes.fetch_add(1, Ordering::Relaxed);
        }
    };
    // 8 threads, 300 rounds each at least, 50 of them while another thread finished one.
    let done = race(&[Role::new("writer", 8, &round).rounds(300).overlapped(50)]);
    let total = done[0].rounds as usize;
    let closed = closes.into_inner();
    let events = seen.lock().unwrap().clone();
    let mut by_kind: HashMap<String, usize> = HashMap::new();
    for event in &events {
        *by_kind
            .entry(event["event"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(by_kind["created"], total);
    assert_eq!(by_kind["identifierChanged"], 2 * total);
    assert_eq!(by_kind["closed"], closed);
    assert_eq!(
        events.len(),
        3 * total + closed,
        "no event twice, none missing"
    );
    // In order for each session: created, the two renames, then closed.
    let mut per_session: HashMap<String, Vec<String>> = HashMap::new();
    for event in &events {
        let kind = event["event"].as_str().unwrap().to_owned();
        per_session
            .entry(event["ID"].as_str().unwrap().to_owned())
            .or_default()
            .push(kind);
    }
    for kinds in per_session.values() {
        assert_eq!(
            &kinds[..3],
            ["created", "identifierChanged", "identifierChanged"]
        );
        assert!(kinds.len() == 3 || kinds[3] == "closed");
    }
    // The log: one whole line per event, each of five fields.
    let lines = read_log(&path);
    assert_eq!(lines.len(), events.len());
    assert_eq!(lines.iter().filter(|l| l.code == 9001).count(), 2 * total);
    let stats = json_of(&r.stats().unwrap());
    assert_eq!(stats["created"].as_u64().unwrap() as usize, total);
    assert_eq!(
        stats["live"]["total"].as_u64().unwrap() as usize,
        total - closed
    );
    assert_eq!(
        stats["eventsDelivered"].as_u64().unwrap() as usize,
        events.len()
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The `id`s (client numbers) of a clients page, and its total.
fn client_page(r: &Registry, query: &str) -> (Vec<String>, u64) {
    let page = json_of(&r.clients_query(Some(query)).unwrap());
    assert_eq!(page["messages"], json!([{"code": "0"}]));
    let page = &page["response"];
    let ids = page["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, page["total"].as_u64().unwrap())
}

#[test]
fn queries_filter_and_page_the_lists() {
    let r = manual();
    let mut all = Vec::new();
    for n in 0..30 {
        let kind = if n % 3 == 1 { "rest" } else { "remote" };
        let user = if n % 5 == 0 { "Ann" } else { "bob" };
        let mut options = json!({"type": kind, "IPAddress": format!("192.0.{}.{n}", n % 2)});
        // A remote client names its user when it connects; a REST one when it logs in.
        if kind == "remote" {
            options["userName"] = json!(user);
        }
        let id = r.create(Some(&options.to_string())).unwrap();
        if kind == "rest" {
            r.set_privileges(id, &json!({"privileges": [], "userName": user}).to_string())
                .unwrap();
        }
        if n % 4 == 0 {
            r.set_identifier(id, &format!("Kiosk-{n}")).unwrap();
        }
        all.push((n, id, r.client_id(id).unwrap().to_string()));
    }
    let standalone = r.create(Some(r#"{"type":"standalone"}"#)).unwrap();
    let numbers = |pick: &dyn Fn(usize) -> bool| -> Vec<String> {
        all.iter()
            .filter(|(n, ..)| pick(*n))
            .map(|(.., c)| c.clone())
            .collect()
    };

    // No query, or an empty one: the first 100, oldest first, as the whole list gives them.
    let whole: Vec<String> = json_of(&r.clients_list().unwrap())["response"]["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(whole, numbers(&|_| true));
    assert_eq!(client_page(&r, "{}"), (whole.clone(), 30));
    let default = json_of(&r.clients_query(None).unwrap());
    assert_eq!(default["response"]["limit"], 100);
    assert_eq!(default["response"]["offset"], 0);
    assert_eq!(default["response"]["clients"].as_array().unwrap().len(), 30);

    // Each filter, and all of them together (they are ANDed).
    assert_eq!(
        client_page(&r, r#"{"type":"rest"}"#).0,
        numbers(&|n| n % 3 == 1)
    );
    assert_eq!(
        client_page(&r, r#"{"userName":"Ann"}"#).0,
        numbers(&|n| n % 5 == 0)
    );
    assert_eq!(
        client_page(&r, r#"{"userName":"ann"}"#).1,
        0,
        "userName is exact"
    );
    // `search` is case-insensitive, over the identifier administrators see or the user name.
    assert_eq!(
        client_page(&r, r#"{"search":"KIOSK"}"#).0,
        numbers(&|n| n % 4 == 0)
    );
    assert_eq!(
        client_page(&r, r#"{"search":"an"}"#).0,
        numbers(&|n| n % 5 == 0),
        "Ann, by user name; Kiosk-0 and Kiosk-20 are Ann's too"
    );
    assert_eq!(
        client_page(&r, r#"{"search":"kiosk-1"}"#).0,
        numbers(&|n| [12, 16].contains(&n))
    );
    assert_eq!(
        client_page(&r, r#"{"ipaddress":"192.0.1."}"#).0,
        numbers(&|n| n % 2 == 1)
    );
    assert_eq!(
        client_page(&r, r#"{"ipaddress":"192.0.1.1"}"#).0,
        numbers(&|n| [1, 11, 13, 15, 17, 19].contains(&n))
    );
    assert_eq!(
        client_page(
            &r,
            r#"{"type":"remote","userName":"bob","ipaddress":"192.0.0.","search":"kiosk"}"#
        )
        .0,
        numbers(&|n| n % 3 != 1 && n % 5 != 0 && n % 2 == 0 && n % 4 == 0),
    );

    // Pages: offset and limit cut the filtered list; total counts the whole of it.
    assert_eq!(
        client_page(&r, r#"{"offset":10,"limit":5}"#),
        (whole[10..15].to_vec(), 30)
    );
    let mut pages = Vec::new();
    for offset in (0..30).step_by(7) {
        let (ids, total) = client_page(&r, &format!(r#"{{"offset":{offset},"limit":7}}"#));
        assert_eq!(total, 30);
        pages.extend(ids);
    }
    assert_eq!(pages, whole, "the pages, end to end, are the list");
    assert_eq!(client_page(&r, r#"{"offset":30}"#), (vec![], 30));
    assert_eq!(
        client_page(&r, r#"{"type":"rest","offset":2,"limit":3}"#),
        (numbers(&|n| n % 3 == 1)[2..5].to_vec(), 10)
    );
    assert_eq!(client_page(&r, r#"{"limit":0}"#), (vec![], 30));

    // The sessions query lists standalone sessions too, and pages the same way.
    let sessions = json_of(&r.sessions_query(Some(r#"{"offset":29}"#)).unwrap());
    assert_eq!(sessions["total"], 31);
    let rows = sessions["sessions"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    // People see client numbers, never session IDs.
    assert_eq!(rows[0]["clientId"].to_string(), all[29].2);
    assert_eq!(rows[1]["clientId"], r.client_id(standalone).unwrap());
    assert_eq!(rows[1]["type"], "standalone");
    let mut keys: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let info = json_of(&r.info(all[29].1).unwrap());
    let mut expected: Vec<&str> = info
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    expected.retain(|&k| k != "ID");
    expected.push("clientId");
    expected.sort_unstable();
    assert_eq!(
        keys, expected,
        "the info object, the client number in place of the ID"
    );
    for (key, value) in info.as_object().unwrap() {
        if key != "ID" {
            assert_eq!(&rows[0][key], value, "{key}");
        }
    }
    let text = r.sessions_query(Some(r#"{"limit":10000}"#)).unwrap();
    for id in all.iter().map(|a| a.1).chain([standalone]) {
        assert!(!text.contains(&id.to_string()), "a session ID in {text}");
    }
    assert_eq!(
        json_of(&r.sessions_query(Some(r#"{"type":"standalone"}"#)).unwrap())["total"],
        1
    );
    assert_eq!(client_page(&r, r#"{"type":"standalone"}"#), (vec![], 0));

    // Clients pages name clients by number only: no session ID is in them.
    let text = r.clients_query(Some(r#"{"limit":10000}"#)).unwrap();
    for (_, id, _) in &all {
        assert!(!text.contains(&id.to_string()), "a session ID in {text}");
    }

    // Expired sessions are gone from the pages at once; closed ones too.
    r.close(all[0].1).unwrap();
    r.advance_clock(3000).unwrap();
    let (ids, total) = client_page(&r, "{}");
    assert_eq!(total, 29);
    assert_eq!(ids, whole[1..].to_vec());
    // REST sessions time out after an hour idle; remote clients stay until they disconnect.
    r.advance_clock(100_000).unwrap();
    let remote = numbers(&|n| n % 3 != 1 && n != 0);
    assert_eq!(client_page(&r, "{}"), (remote.clone(), remote.len() as u64));
    assert_eq!(client_page(&r, r#"{"type":"rest"}"#), (vec![], 0));

    // A bad query is refused with a message that names what was wrong.
    let err = r.clients_query(Some(r#"{"limit":10001}"#)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert!(
        err.message
            .contains("\"limit\" must be an integer from 0 to 10000"),
        "{}",
        err.message
    );
    let err = r.sessions_query(Some(r#"{"name":"ann"}"#)).unwrap_err();
    assert!(
        err.message.contains("unknown query key \"name\""),
        "{}",
        err.message
    );
}

/// Six threads open sessions (1,500 each at least), log them in and close two in three,
/// rotating the IDs of the rest, while two threads page through them (200 pages each at least
/// during which a session was opened): every page is whole.
#[test]
fn pages_stay_whole_while_eight_threads_open_and_close_sessions() {
    let r = Registry::new();
    let kept: Vec<AtomicUsize> = (0..6).map(|_| AtomicUsize::new(0)).collect();
    let churn = |t: usize, n: u64| {
        let login = json!({"privileges": [], "userName": format!("user{t}")}).to_string();
        let id = r.create(Some(r#"{"type": "rest"}"#)).unwrap();
        // A login rotates the ID: the session moves to another shard mid-scan.
        let (mut id, _) = r.rotate_id(id, Some(&login)).unwrap();
        if n.is_multiple_of(2) {
            r.set_identifier(id, &format!("Kiosk {t}-{n}")).unwrap();
        }
        if !n.is_multiple_of(3) {
            r.close(id).unwrap();
        } else {
            for _ in 0..3 {
                id = r.rotate_id(id, None).unwrap().0;
            }
            kept[t].fetch_add(1, Ordering::Relaxed);
        }
    };
    let read = |t: usize, rounds: u64| {
        let query = json!({"userName": format!("user{t}"), "offset": rounds % 7, "limit": 25});
        let page = json_of(&r.clients_query(Some(&query.to_string())).unwrap());
        let page = &page["response"];
        let rows = page["clients"].as_array().unwrap();
        assert!(rows.len() <= 25);
        let ids: std::collections::HashSet<&str> =
            rows.iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), rows.len(), "a client twice in {rows:?}");
        assert!(page["total"].as_u64().unwrap() >= rows.len() as u64);
        assert!(rows.iter().all(|c| {
            c["userName"]
                .as_str()
                .unwrap()
                .starts_with(&format!("Kiosk {t}-"))
                || c["userName"] == format!("user{t}")
        }));
    };
    race(&[
        Role::new("churn", 6, &churn).rounds(1500),
        Role::new("reader", 2, &read).rounds(200).overlapped(200),
    ]);
    assert_eq!(
        client_page(&r, r#"{"userName":"user0","limit":0}"#).1,
        kept[0].load(Ordering::Relaxed) as u64
    );
    let (_, total) = client_page(&r, r#"{"limit":0}"#);
    assert_eq!(
        total,
        r.session_count(),
        "every live session is a client here"
    );
}
