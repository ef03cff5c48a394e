//! Model-based test: random sequences of operations applied to a `Registry` and to a small
//! reference model written plainly from SPEC sections 1–6, compared step by step. Every status
//! and every value read must be equal. It runs on both stores: in memory, and on a real
//! `redis-server` (started by the test), where the same calls must give the same answers.

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sessmgr::{ErrorKind, Registry, SessionId};

/// Privileges and roles of the roles file both sides use: `a` includes `b`; role `R` grants `a`.
/// Its permissions (SPEC section 13): the datastore is read with `b`; `Doc` is updated with `a`;
/// `Doc.secret` is read with `a` as well; nothing else is allowed (restricted by default).
const ROLES: &str = r#"{"privileges": [{"privilege": "a", "includes": ["b"]}, {"privilege": "b"}],
                         "roles": [{"role": "R", "privileges": ["a"]}],
                         "permissions": {"allowed": [
                           {"applyTo": "ds", "type": "datastore", "read": ["b"]},
                           {"applyTo": "Doc", "type": "dataclass", "update": ["a"]},
                           {"applyTo": "Doc.secret", "type": "attribute", "read": ["a"]}]},
                         "restrictedByDefault": true}"#;
/// `has_permission` questions: (resource, action).
const QUERIES: &[(&str, &str)] = &[
    ("Note", "read"),
    ("Doc", "read"),
    ("Doc.secret", "read"),
    ("Doc", "update"),
    ("Doc", "create"),
    ("Doc", "describe"),
    ("ds.run", "execute"),
];
const NAMES: &[&str] = &["a", "b", "R", "WebAdmin", "nope", "A"];
const IDENTIFIERS: &[&str] = &["", "student-1", "Zoë", "x"];
const MINUTE: i64 = 60_000;
/// `activityResolutionSeconds` by default, in milliseconds.
const RESOLUTION: i64 = 60_000;
const USERS: &[&str] = &["ann", "bob", ""];

#[derive(Debug, Clone)]
enum Op {
    Create {
        web: bool,
    },
    Close(usize),
    Touch(usize),
    /// Seconds.
    Advance(i64),
    SetIdentifier(usize, usize),
    SetLongIdentifier(usize),
    Identifier(usize),
    /// Names, and whether they go as JSON (`{"privileges": [...], "roles": [...]}`, "R" as a
    /// role) or as plain comma-separated text (which names privileges only).
    SetPrivileges(usize, Vec<usize>, bool),
    ClearPrivileges(usize),
    HasPrivilege(usize, usize),
    /// `has_permission` of one of [`QUERIES`].
    HasPermission(usize, usize),
    /// `request`: the activity of a touch, a privilege's name and a storage key, in one call.
    Request(usize, usize, bool),
    IsGuest(usize),
    SetIdleTimeout(usize, i32),
    StorageSet(usize, bool, i64),
    StorageGet(usize, bool),
    StorageRemove(usize, bool),
    /// `storage_increment` of the key by a delta.
    StorageIncrement(usize, bool, i64),
    /// `storage_compare_and_set` of the key: the value expected (or none), the new one (or
    /// none: remove).
    StorageCas(usize, bool, Option<i64>, Option<i64>),
    /// A new ID for the session, with a grant (JSON) given in the same step, or none.
    Rotate(usize, Option<Vec<usize>>),
    /// A call through the session's ID before its last rotation (dead: no grace time here).
    TouchPreviousId(usize),
    /// A login: `set_privileges({"userName": …})`, which also empties the grant.
    SetUser(usize, usize),
    /// Logging a user out everywhere.
    CloseUser(usize),
    /// A one-time passcode for the session, valid this many seconds (0: its idle timeout).
    CreateOtp(usize, i32),
    /// Restoring the passcode made `n`-th (wrapping over those made so far).
    Restore(usize),
    /// An absolute end this many minutes from now (before now, when negative), or none.
    SetLifetimeEnd(usize, Option<i64>),
    LifetimeEnd(usize),
    /// `expiration_date`: where the activity recorded shows.
    Expiration(usize),
    Count,
    Sweep,
    /// Starts (true) or stops the background sweeper, which sweeps at once when started. It
    /// must change nothing a caller sees but what an explicit sweep finds left to remove.
    Sweeper(bool),
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..6usize;
    prop_oneof![
        2 => any::<bool>().prop_map(|web| Op::Create { web }),
        1 => slot.clone().prop_map(Op::Close),
        2 => slot.clone().prop_map(Op::Touch),
        2 => prop_oneof![(0..80i64).prop_map(|m| m * 60), 0..90i64].prop_map(Op::Advance),
        2 => (slot.clone(), 0..IDENTIFIERS.len()).prop_map(|(s, i)| Op::SetIdentifier(s, i)),
        1 => slot.clone().prop_map(Op::SetLongIdentifier),
        1 => slot.clone().prop_map(Op::Identifier),
        2 => (slot.clone(), proptest::collection::vec(0..NAMES.len(), 0..4), any::<bool>())
            .prop_map(|(s, n, json)| Op::SetPrivileges(s, n, json)),
        1 => slot.clone().prop_map(Op::ClearPrivileges),
        2 => (slot.clone(), 0..NAMES.len()).prop_map(|(s, n)| Op::HasPrivilege(s, n)),
        2 => (slot.clone(), 0..QUERIES.len()).prop_map(|(s, q)| Op::HasPermission(s, q)),
        2 => (slot.clone(), 0..NAMES.len(), any::<bool>()).prop_map(|(s, n, k)| Op::Request(s, n, k)),
        1 => slot.clone().prop_map(Op::IsGuest),
        1 => (slot.clone(), -1..200i32).prop_map(|(s, m)| Op::SetIdleTimeout(s, m)),
        2 => (slot.clone(), any::<bool>(), -5..5i64).prop_map(|(s, k, v)| Op::StorageSet(s, k, v)),
        2 => (slot.clone(), any::<bool>()).prop_map(|(s, k)| Op::StorageGet(s, k)),
        1 => (slot.clone(), any::<bool>()).prop_map(|(s, k)| Op::StorageRemove(s, k)),
        2 => (slot.clone(), any::<bool>(), -3..3i64)
            .prop_map(|(s, k, d)| Op::StorageIncrement(s, k, d)),
        2 => (
            slot.clone(),
            any::<bool>(),
            proptest::option::of(-2..3i64),
            proptest::option::of(-2..3i64),
        )
            .prop_map(|(s, k, e, n)| Op::StorageCas(s, k, e, n)),
        1 => (slot.clone(), proptest::option::of(-10..150i64))
            .prop_map(|(s, m)| Op::SetLifetimeEnd(s, m)),
        1 => slot.clone().prop_map(Op::LifetimeEnd),
        2 => slot.clone().prop_map(Op::Expiration),
        2 => (slot.clone(), proptest::option::of(proptest::collection::vec(0..NAMES.len(), 0..3)))
            .prop_map(|(s, n)| Op::Rotate(s, n)),
        1 => slot.clone().prop_map(Op::TouchPreviousId),
        2 => (slot.clone(), prop_oneof![Just(0), Just(5), Just(600), Just(7200)])
            .prop_map(|(s, l)| Op::CreateOtp(s, l)),
        2 => (0..8usize).prop_map(Op::Restore),
        3 => (slot.clone(), 0..USERS.len()).prop_map(|(s, u)| Op::SetUser(s, u)),
        1 => (0..USERS.len()).prop_map(Op::CloseUser),
        1 => Just(Op::Count),
        1 => Just(Op::Sweep),
        1 => any::<bool>().prop_map(Op::Sweeper),
    ]
}

/// One session as SPEC describes it.
#[derive(Debug, Clone)]
struct Modelled {
    web: bool,
    identifier: String,
    user_name: String,
    /// Declared names granted, as given (privileges and roles).
    granted: Vec<String>,
    idle_minutes: i64,
    last_activity: i64,
    storage: BTreeMap<String, i64>,
    /// The absolute end, web only.
    lifetime_end: Option<i64>,
    /// Whether the session's ID was ever rotated.
    rotated: bool,
    /// Removed from the registry (closed, or closed or swept after expiring).
    gone: bool,
}

impl Modelled {
    /// Activity at `now`: recorded when a minute (or a tenth of the idle timeout, if shorter)
    /// has passed since the activity last recorded.
    fn activity(&mut self, now: i64) {
        if now - self.last_activity >= RESOLUTION.min(self.idle_minutes * MINUTE / 10) {
            self.last_activity = now;
        }
    }

    fn live(&self, now: i64) -> bool {
        !self.gone
            && (!self.web
                || (self.last_activity + self.idle_minutes * MINUTE > now
                    && self.lifetime_end.is_none_or(|end| end > now)))
    }

    fn expanded(&self) -> Vec<&'static str> {
        let mut held = Vec::new();
        for name in &self.granted {
            match name.to_ascii_lowercase().as_str() {
                "a" | "r" => held.extend(["a", "b"]),
                "b" => held.push("b"),
                "webadmin" => held.push("webadmin"),
                _ => {}
            }
        }
        held
    }
}

#[derive(Default)]
struct Model {
    /// `maxSessionsPerUser`, and whether its policy is `closeOldest`.
    cap: Option<(usize, bool)>,
    /// Passcodes made: the session's slot, when it expires, and whether it was spent.
    otps: Vec<(usize, i64, bool)>,
    now: i64,
    /// The registry's clock when `now` was 0: dates the library writes are `base + now`.
    base: i64,
    sessions: Vec<Modelled>,
    /// Whether a background sweeper has run: it may have removed some expired sessions
    /// before an explicit sweep counts them.
    background: bool,
}

type Outcome = Result<String, ErrorKind>;

impl Model {
    /// The session in `slot` (slots wrap over the sessions made so far), if any was made.
    fn pick(&self, slot: usize) -> Option<usize> {
        (!self.sessions.is_empty()).then(|| slot % self.sessions.len())
    }

    /// Runs `f` on a live session, or answers NotFound.
    fn live(&mut self, i: usize, f: impl FnOnce(&mut Modelled, i64) -> Outcome) -> Outcome {
        let now = self.now;
        let s = &mut self.sessions[i];
        if !s.live(now) {
            return Err(ErrorKind::NotFound);
        }
        f(s, now)
    }

    fn apply(&mut self, op: &Op, slot: Option<usize>) -> Outcome {
        let ok = || Ok(String::new());
        match *op {
            Op::Create { web } => {
                self.sessions.push(Modelled {
                    web,
                    identifier: String::new(),
                    user_name: if web { String::new() } else { "u".into() },
                    granted: Vec::new(),
                    idle_minutes: 60,
                    last_activity: self.now,
                    storage: BTreeMap::new(),
                    lifetime_end: None,
                    rotated: false,
                    gone: false,
                });
                ok()
            }
            Op::Advance(seconds) => {
                self.now += seconds * 1000;
                ok()
            }
            Op::CloseUser(u) => {
                let now = self.now;
                let mut closed = 0;
                // Its expired sessions not swept yet go too (counted as expired, not closed).
                for s in self.sessions.iter_mut() {
                    if s.web && !USERS[u].is_empty() && s.user_name == USERS[u] && !s.gone {
                        closed += u64::from(s.live(now));
                        s.gone = true;
                    }
                }
                Ok(closed.to_string())
            }
            Op::SetUser(_, u) => {
                let Some(i) = slot else {
                    return Err(ErrorKind::NotFound);
                };
                let now = self.now;
                if !self.sessions[i].live(now) {
                    return Err(ErrorKind::NotFound);
                }
                if !self.sessions[i].web {
                    return Err(ErrorKind::NotSupported);
                }
                let user = USERS[u];
                if let Some((max, close_oldest)) = self.cap
                    && !user.is_empty()
                    && self.sessions[i].user_name != user
                {
                    let mut members: Vec<usize> = (0..self.sessions.len())
                        .filter(|&j| {
                            let s = &self.sessions[j];
                            j != i && s.web && s.user_name == user && s.live(now)
                        })
                        .collect();
                    if members.len() >= max {
                        if !close_oldest {
                            return Err(ErrorKind::LimitExceeded);
                        }
                        // The least recently active go, the oldest first among equals.
                        members.sort_by_key(|&j| (self.sessions[j].last_activity, j));
                        for &j in &members[..=members.len() - max] {
                            self.sessions[j].gone = true;
                        }
                    }
                }
                let s = &mut self.sessions[i];
                s.user_name = user.to_owned();
                s.granted.clear();
                s.activity(now);
                Ok(String::new())
            }
            Op::Restore(n) => {
                let now = self.now;
                let Some(k) = (!self.otps.is_empty()).then(|| n % self.otps.len()) else {
                    return Err(ErrorKind::NotFound);
                };
                let (i, expires, spent) = self.otps[k];
                self.otps[k].2 = true;
                if spent || expires <= now || !self.sessions[i].live(now) {
                    return Err(ErrorKind::NotFound);
                }
                self.sessions[i].activity(now);
                Ok(i.to_string())
            }
            Op::CreateOtp(_, seconds) => {
                let Some(i) = slot else {
                    return Err(ErrorKind::NotFound);
                };
                let now = self.now;
                let s = &mut self.sessions[i];
                if !s.live(now) {
                    return Err(ErrorKind::NotFound);
                }
                if !s.web {
                    return Err(ErrorKind::NotSupported);
                }
                let held = self
                    .otps
                    .iter()
                    .filter(|(j, expires, spent)| *j == i && !spent && *expires > now)
                    .count();
                if held >= 16 {
                    return Err(ErrorKind::LimitExceeded);
                }
                let lifespan = match seconds {
                    0 => s.idle_minutes * MINUTE,
                    given => i64::from(given).max(10) * 1000,
                };
                s.activity(now);
                self.otps.push((i, now + lifespan, false));
                Ok(String::new())
            }
            Op::Count => {
                let now = self.now;
                Ok(self
                    .sessions
                    .iter()
                    .filter(|s| s.live(now))
                    .count()
                    .to_string())
            }
            Op::Sweep => {
                let now = self.now;
                let mut swept = 0;
                for s in self.sessions.iter_mut().filter(|s| !s.gone && !s.live(now)) {
                    s.gone = true;
                    swept += 1;
                }
                Ok(swept.to_string())
            }
            Op::Sweeper(on) => {
                self.background |= on;
                ok()
            }
            _ => {
                let Some(i) = slot else {
                    return Err(ErrorKind::NotFound);
                };
                // Arguments are checked before the session is looked up.
                if let Op::SetIdleTimeout(_, minutes) = *op
                    && minutes < 0
                {
                    return Err(ErrorKind::InvalidArgument);
                }
                let now = self.now;
                if let Op::Close(_) = op {
                    let s = &mut self.sessions[i];
                    let was_live = s.live(now);
                    s.gone = true;
                    return if was_live {
                        ok()
                    } else {
                        Err(ErrorKind::NotFound)
                    };
                }
                self.live(i, |s, now| session_op(s, op, now))
            }
        }
    }
}

/// What SPEC says an operation on one live session does.
fn session_op(s: &mut Modelled, op: &Op, now: i64) -> Outcome {
    let ok = Ok(String::new());
    let activity = |s: &mut Modelled| s.activity(now);
    match *op {
        Op::Touch(_) => {
            activity(s);
            ok
        }
        Op::SetIdentifier(_, which) => {
            s.identifier = IDENTIFIERS[which].to_owned();
            activity(s);
            ok
        }
        Op::SetLongIdentifier(_) => Err(ErrorKind::LimitExceeded),
        Op::Identifier(_) => Ok(if s.identifier.is_empty() {
            s.user_name.clone()
        } else {
            s.identifier.clone()
        }),
        Op::SetPrivileges(_, ref names, json) => {
            if !s.web {
                return Err(ErrorKind::NotSupported);
            }
            // Undeclared names are ignored; plain text names privileges, so "R" (a role) is
            // granted only through JSON's "roles".
            s.granted = names
                .iter()
                .map(|&n| NAMES[n].to_owned())
                .filter(|n| n != "nope" && (json || n != "R"))
                .collect();
            activity(s);
            ok
        }
        Op::ClearPrivileges(_) => {
            if !s.web {
                return Err(ErrorKind::NotSupported);
            }
            s.granted.clear();
            activity(s);
            ok
        }
        Op::HasPrivilege(_, name) => {
            let name = NAMES[name].to_ascii_lowercase();
            // A role is not a privilege: "R" is held by nobody.
            let held = !s.web || s.expanded().contains(&name.as_str());
            Ok(held.to_string())
        }
        Op::HasPermission(_, query) => {
            let has = |p: &str| s.expanded().contains(&p);
            let allowed = !s.web
                || match QUERIES[query] {
                    // The datastore's read reaches every dataclass.
                    ("Note", "read") => has("b"),
                    // Read inherited from the datastore, or granted by Doc's update; describe
                    // is granted by either.
                    ("Doc", "read") | ("Doc", "describe") => has("b") || has("a"),
                    // The attribute's own read adds to the inherited one; update grants it.
                    ("Doc.secret", "read") => (has("b") && has("a")) || has("a"),
                    ("Doc", "update") => has("a"),
                    // Set nowhere, and restricted by default.
                    _ => false,
                };
            Ok(allowed.to_string())
        }
        Op::Request(_, name, key) => {
            let name = NAMES[name].to_ascii_lowercase();
            let granted = !s.web || s.expanded().contains(&name.as_str());
            let value = s.storage.get(key_name(key)).map(|v| v.to_string());
            activity(s);
            Ok(format!("{granted} {value:?}"))
        }
        Op::IsGuest(_) => Ok((s.web && s.expanded().is_empty()).to_string()),
        Op::SetIdleTimeout(_, minutes) => {
            if !s.web {
                return Err(ErrorKind::NotSupported);
            }
            s.idle_minutes = i64::from(minutes).max(60);
            activity(s);
            ok
        }
        Op::StorageSet(_, key, value) => {
            s.storage.insert(key_name(key).into(), value);
            activity(s);
            ok
        }
        Op::StorageGet(_, key) => s
            .storage
            .get(key_name(key))
            .map(|v| v.to_string())
            .ok_or(ErrorKind::NoValue),
        Op::StorageIncrement(_, key, delta) => {
            let sum = s.storage.get(key_name(key)).copied().unwrap_or(0) + delta;
            s.storage.insert(key_name(key).into(), sum);
            activity(s);
            Ok(sum.to_string())
        }
        Op::StorageCas(_, key, expected, new) => {
            if s.storage.get(key_name(key)).copied() != expected {
                return Err(ErrorKind::Conflict);
            }
            match new {
                Some(value) => s.storage.insert(key_name(key).into(), value),
                None => s.storage.remove(key_name(key)),
            };
            activity(s);
            ok
        }
        Op::Rotate(_, ref names) => {
            if !s.web {
                return Err(ErrorKind::NotSupported);
            }
            if let Some(names) = names {
                s.granted = names
                    .iter()
                    .map(|&n| NAMES[n].to_owned())
                    .filter(|n| n != "nope")
                    .collect();
            }
            s.rotated = true;
            activity(s);
            ok
        }
        Op::TouchPreviousId(_) => {
            if s.rotated {
                Err(ErrorKind::NotFound)
            } else {
                ok
            }
        }
        Op::SetLifetimeEnd(_, minutes) => {
            if !s.web {
                return Err(ErrorKind::NotSupported);
            }
            s.lifetime_end = minutes.map(|m| now + m * MINUTE);
            activity(s);
            ok
        }
        Op::LifetimeEnd(_) => {
            if !s.web {
                return Err(ErrorKind::NotSupported);
            }
            s.lifetime_end
                .map(|end| end.to_string())
                .ok_or(ErrorKind::NoValue)
        }
        Op::Expiration(_) => {
            if !s.web {
                return Err(ErrorKind::NotSupported);
            }
            let idle_end = s.last_activity + s.idle_minutes * MINUTE;
            Ok(s.lifetime_end
                .map_or(idle_end, |end| end.min(idle_end))
                .to_string())
        }
        Op::StorageRemove(_, key) => match s.storage.remove(key_name(key)) {
            Some(_) => {
                activity(s);
                ok
            }
            None => Err(ErrorKind::NoValue),
        },
        _ => unreachable!("not a session operation: {op:?}"),
    }
}

fn key_name(first: bool) -> &'static str {
    if first { "x" } else { "y" }
}

/// The same operation on the library.
/// Each slot's session ID, and its ID before its last rotation; the passcodes made.
#[derive(Default)]
struct Ids {
    sessions: Vec<(SessionId, Option<SessionId>)>,
    tokens: Vec<SessionId>,
}

fn run(r: &Registry, base: i64, all: &mut Ids, op: &Op, slot: Option<usize>) -> Outcome {
    let ids = &mut all.sessions;
    let text = |result: sessmgr::Result<String>| result.map_err(|e| e.kind);
    let unit = |result: sessmgr::Result<()>| result.map(|()| String::new()).map_err(|e| e.kind);
    if let Op::Create { web } = *op {
        let options = if web {
            None
        } else {
            Some(r#"{"type": "remote", "userName": "u"}"#)
        };
        let id = r.create(options).map_err(|e| e.kind)?;
        ids.push((id, None));
        return Ok(String::new());
    }
    match (op, slot) {
        (Op::Advance(seconds), _) => unit(r.advance_clock(*seconds)),
        (Op::Count, _) => r.live_sessions().map(|n| n.to_string()).map_err(|e| e.kind),
        (Op::Sweep, _) => Ok(r.sweep().to_string()),
        (&Op::CloseUser(u), _) => Ok(r.user_close_sessions(USERS[u]).unwrap().to_string()),
        (&Op::Restore(n), _) => {
            let Some(&token) = all.tokens.get(n % all.tokens.len().max(1)) else {
                return Err(ErrorKind::NotFound);
            };
            let id = r.restore(token).map_err(|e| e.kind)?;
            Ok(ids
                .iter()
                .position(|(current, _)| *current == id)
                .unwrap()
                .to_string())
        }
        (&Op::Sweeper(on), _) => unit(r.configure(if on {
            r#"{"sweepIntervalSeconds": 1}"#
        } else {
            r#"{"sweepIntervalSeconds": 0}"#
        })),
        (_, None) => Err(ErrorKind::NotFound),
        (op, Some(i)) => {
            let (id, previous) = ids[i];
            match *op {
                Op::Rotate(_, ref names) => {
                    let grant = names.as_ref().map(|names| {
                        let (roles, privileges): (Vec<&str>, Vec<&str>) =
                            names.iter().map(|&n| NAMES[n]).partition(|n| *n == "R");
                        serde_json::json!({"privileges": privileges, "roles": roles}).to_string()
                    });
                    let (new, _) = r.rotate_id(id, grant.as_deref()).map_err(|e| e.kind)?;
                    ids[i] = (new, Some(id));
                    Ok(String::new())
                }
                Op::CreateOtp(_, seconds) => {
                    all.tokens
                        .push(r.create_otp(id, seconds).map_err(|e| e.kind)?);
                    Ok(String::new())
                }
                Op::SetUser(_, u) => r
                    .set_privileges(id, &serde_json::json!({"userName": USERS[u]}).to_string())
                    .map(|_| String::new())
                    .map_err(|e| e.kind),
                Op::TouchPreviousId(_) => match previous {
                    Some(previous) => unit(r.touch(previous)),
                    // Never rotated: only its live ID to call through (a read: not activity).
                    None => unit(r.info(id).map(|_| ())),
                },
                Op::Close(_) => unit(r.close(id)),
                Op::Touch(_) => unit(r.touch(id)),
                Op::SetIdentifier(_, which) => unit(r.set_identifier(id, IDENTIFIERS[which])),
                Op::SetLongIdentifier(_) => unit(r.set_identifier(id, &"x".repeat(257))),
                Op::Identifier(_) => text(r.effective_identifier(id)),
                Op::SetPrivileges(_, ref names, json) => {
                    let list: Vec<&str> = names.iter().map(|&n| NAMES[n]).collect();
                    let text = if json {
                        let (roles, privileges): (Vec<&str>, Vec<&str>) =
                            list.iter().partition(|n| **n == "R");
                        serde_json::json!({"privileges": privileges, "roles": roles}).to_string()
                    } else {
                        list.join(",")
                    };
                    r.set_privileges(id, &text)
                        .map(|_| String::new())
                        .map_err(|e| e.kind)
                }
                Op::ClearPrivileges(_) => unit(r.clear_privileges(id)),
                Op::HasPrivilege(_, name) => r
                    .has_privilege(id, NAMES[name])
                    .map(|b| b.to_string())
                    .map_err(|e| e.kind),
                Op::HasPermission(_, query) => {
                    let (resource, action) = QUERIES[query];
                    r.has_permission(id, resource.as_bytes(), action.as_bytes())
                        .map(|b| b.to_string())
                        .map_err(|e| e.kind)
                }
                Op::Request(_, name, key) => r
                    .request(
                        id,
                        Some(NAMES[name].as_bytes()),
                        Some(&format!("/{}", key_name(key))),
                    )
                    .map(|a| format!("{} {:?}", a.granted.unwrap_or_default(), a.value))
                    .map_err(|e| e.kind),
                Op::IsGuest(_) => r.is_guest(id).map(|b| b.to_string()).map_err(|e| e.kind),
                Op::SetIdleTimeout(_, minutes) => unit(r.set_idle_timeout(id, minutes)),
                Op::StorageSet(_, key, value) => {
                    unit(r.storage_set(id, &format!("/{}", key_name(key)), &value.to_string()))
                }
                Op::StorageGet(_, key) => text(r.storage_get(id, &format!("/{}", key_name(key)))),
                Op::StorageIncrement(_, key, delta) => r
                    .storage_increment(id, &format!("/{}", key_name(key)), delta)
                    .map(|sum| sum.to_string())
                    .map_err(|e| e.kind),
                Op::StorageCas(_, key, expected, new) => unit(r.storage_compare_and_set(
                    id,
                    &format!("/{}", key_name(key)),
                    expected.map(|v| v.to_string()).as_deref(),
                    new.map(|v| v.to_string()).as_deref(),
                )),
                Op::StorageRemove(_, key) => {
                    unit(r.storage_remove(id, &format!("/{}", key_name(key))))
                }
                Op::SetLifetimeEnd(_, minutes) => {
                    let date = minutes.map(|m| sessmgr::iso8601(r.now() + m * MINUTE));
                    unit(r.set_lifetime_end(id, date.as_deref()))
                }
                // Read back as milliseconds since the model's start.
                Op::LifetimeEnd(_) => text(r.lifetime_end(id)).map(|date| since(&date, base)),
                Op::Expiration(_) => text(r.expiration_date(id)).map(|date| since(&date, base)),
                _ => unreachable!(),
            }
        }
    }
}

/// A date the library wrote, as milliseconds since the model's start.
fn since(date: &str, base: i64) -> String {
    let ms = chrono::DateTime::parse_from_rfc3339(date)
        .unwrap()
        .timestamp_millis();
    (ms - base).to_string()
}

type Cap = Option<(usize, bool)>;

fn cases() -> impl Strategy<Value = (Vec<Op>, Cap)> {
    (
        proptest::collection::vec(op(), 1..80),
        proptest::option::of((1..4usize, any::<bool>())),
    )
}

/// Runs `ops` on `r` (configured with its store, nothing else) and on the model.
fn check(r: Registry, ops: &[Op], cap: Cap) -> Result<(), TestCaseError> {
    r.configure(r#"{"clock": "manual"}"#).unwrap();
    if let Some((max, close_oldest)) = cap {
        let policy = if close_oldest {
            "closeOldest"
        } else {
            "refuse"
        };
        r.configure(&format!(
            "{{\"maxSessionsPerUser\": {max}, \"sessionLimitPolicy\": \"{policy}\"}}"
        ))
        .unwrap();
    }
    r.load_roles(ROLES).unwrap();
    let mut model = Model {
        base: r.now(),
        cap,
        ..Model::default()
    };
    let mut ids = Ids::default();
    for (step, op) in ops.iter().enumerate() {
        let slot = match op {
            Op::Create { .. }
            | Op::Advance(_)
            | Op::Count
            | Op::Sweep
            | Op::Sweeper(_)
            | Op::Restore(_)
            | Op::CloseUser(_) => None,
            Op::Close(s)
            | Op::Touch(s)
            | Op::SetIdentifier(s, _)
            | Op::SetLongIdentifier(s)
            | Op::Identifier(s)
            | Op::SetPrivileges(s, _, _)
            | Op::ClearPrivileges(s)
            | Op::HasPrivilege(s, _)
            | Op::HasPermission(s, _)
            | Op::Request(s, _, _)
            | Op::IsGuest(s)
            | Op::SetIdleTimeout(s, _)
            | Op::StorageSet(s, _, _)
            | Op::StorageGet(s, _)
            | Op::StorageRemove(s, _)
            | Op::StorageIncrement(s, _, _)
            | Op::StorageCas(s, _, _, _)
            | Op::SetLifetimeEnd(s, _)
            | Op::LifetimeEnd(s)
            | Op::Expiration(s)
            | Op::Rotate(s, _)
            | Op::TouchPreviousId(s)
            | Op::CreateOtp(s, _)
            | Op::SetUser(s, _) => model.pick(*s),
        };
        let expected = model.apply(op, slot);
        let got = run(&r, model.base, &mut ids, op, slot);
        if let (Op::Sweep, Ok(got), Ok(expected)) = (op, &got, &expected) {
            let (got, expected): (u64, u64) = (got.parse().unwrap(), expected.parse().unwrap());
            if model.background {
                // The background sweeper may have removed some of them first.
                prop_assert!(
                    got <= expected,
                    "step {}: swept {} of {}",
                    step,
                    got,
                    expected
                );
                continue;
            }
        }
        prop_assert_eq!(&got, &expected, "step {}: {:?}", step, op);
    }
    // At the end, every session's identifier and storage agree too.
    for (i, (id, _)) in ids.sessions.iter().enumerate() {
        let s = &model.sessions[i];
        if s.live(model.now) {
            prop_assert_eq!(r.identifier(*id).unwrap(), s.identifier.clone());
            let storage: BTreeMap<String, i64> =
                serde_json::from_str(&r.storage_get(*id, "").unwrap()).unwrap();
            prop_assert_eq!(&storage, &s.storage);
        } else {
            prop_assert_eq!(r.touch(*id).unwrap_err().kind, ErrorKind::NotFound);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_library_behaves_as_the_model((ops, cap) in cases()) {
        check(Registry::new(), &ops, cap)?;
    }
}

/// The same, each case on a prefix of its own of one Redis server (fewer cases: each call is a
/// round trip).
#[test]
fn the_library_on_redis_behaves_as_the_model() {
    let server = common::redis_server::RedisServer::start();
    let case = std::sync::atomic::AtomicU32::new(0);
    let mut runner = TestRunner::new(Config {
        cases: 256,
        ..Config::default()
    });
    runner
        .run(&cases(), |(ops, cap)| {
            let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let r = Registry::new();
            r.configure(&server.store(&format!("model{n}:"))).unwrap();
            check(r, &ops, cap)
        })
        .unwrap();
}
