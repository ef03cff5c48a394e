//! A loaded `roles.json`: privileges (with transitive `includes`) and roles, interned once, each
//! expanded into a bitset so that checking a session's privilege is a bit test.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::names::{NameIndex, Query, padded_words};
use crate::permissions::PermissionTable;

/// The privilege every roles file declares, whether or not it names it.
pub(crate) const WEB_ADMIN: &str = "WebAdmin";

/// A number for a new table, skipping the reserved ones when the count wraps (after four
/// billion tables: a number then names two tables only if one loaded four billion tables ago
/// is still held by a session).
fn next_table_number() -> u32 {
    loop {
        let number = NEXT_TABLE_NUMBER.fetch_add(1, Ordering::Relaxed);
        if number >= FIRST_TABLE_NUMBER {
            return number;
        }
    }
}

/// A set of privileges, as bits indexed by their position in a [`RolesTable`]: in place for
/// the first 64 privileges (no allocation, and no pointer to follow on `has_privilege`), on the
/// heap beyond.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrivilegeSet {
    Small(u64),
    Large(Box<[u64]>),
}

impl Default for PrivilegeSet {
    fn default() -> PrivilegeSet {
        PrivilegeSet::Small(0)
    }
}

impl PrivilegeSet {
    pub(crate) fn with_capacity(privileges: usize) -> PrivilegeSet {
        if privileges <= 64 {
            PrivilegeSet::Small(0)
        } else {
            PrivilegeSet::Large(vec![0; privileges.div_ceil(64)].into_boxed_slice())
        }
    }

    fn words(&self) -> &[u64] {
        match self {
            PrivilegeSet::Small(word) => std::slice::from_ref(word),
            PrivilegeSet::Large(words) => words,
        }
    }

    fn words_mut(&mut self) -> &mut [u64] {
        match self {
            PrivilegeSet::Small(word) => std::slice::from_mut(word),
            PrivilegeSet::Large(words) => words,
        }
    }

    pub fn contains(&self, position: u32) -> bool {
        self.words()
            .get((position / 64) as usize)
            .is_some_and(|w| w & (1u64 << (position % 64)) != 0)
    }

    pub(crate) fn insert(&mut self, position: u32) {
        self.words_mut()[(position / 64) as usize] |= 1u64 << (position % 64);
    }

    fn union_with(&mut self, other: &PrivilegeSet) {
        for (a, b) in self.words_mut().iter_mut().zip(other.words()) {
            *a |= b;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.words().iter().all(|w| *w == 0)
    }

    /// Whether the two sets share a privilege. Allocates nothing.
    #[inline]
    pub fn intersects(&self, other: &PrivilegeSet) -> bool {
        match (self, other) {
            (PrivilegeSet::Small(a), PrivilegeSet::Small(b)) => a & b != 0,
            _ => self
                .words()
                .iter()
                .zip(other.words())
                .any(|(a, b)| a & b != 0),
        }
    }

    /// Both sets in one, as large as the larger.
    pub fn union(&self, other: &PrivilegeSet) -> PrivilegeSet {
        let (larger, smaller) = if self.words().len() >= other.words().len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut set = larger.clone();
        set.union_with(smaller);
        set
    }

    /// Positions of the privileges held, in ascending order.
    pub fn positions(&self) -> impl Iterator<Item = u32> + '_ {
        self.words().iter().enumerate().flat_map(|(i, &word)| {
            (0..64u32)
                .filter(move |bit| word & (1u64 << bit) != 0)
                .map(move |bit| i as u32 * 64 + bit)
        })
    }
}

/// What a session was granted, by name, as `set_privileges` accepted it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grant {
    pub privileges: Vec<String>,
    pub roles: Vec<String>,
}

impl Grant {
    pub fn is_empty(&self) -> bool {
        self.privileges.is_empty() && self.roles.is_empty()
    }
}

/// Values of a session's published roles word (see `session_map::Slot`) that are no table:
/// the table numbers start above them.
pub(crate) const FIRST_TABLE_NUMBER: u32 = 3;

static NEXT_TABLE_NUMBER: AtomicU32 = AtomicU32::new(FIRST_TABLE_NUMBER);

thread_local! {
    /// The table this thread looked a privilege up in last, by its number: what a session's
    /// published privilege bits are read against without its lock.
    static RECENT: RefCell<Option<Kept>> = const { RefCell::new(None) };
}

/// The table a thread keeps, and the last name it looked up in it: a host asks for the same
/// few privileges again and again, and a name of at most 16 bytes equal to the last one
/// asked is answered by two compares, not by folding its case, hashing it and probing.
struct Kept {
    table: Arc<RolesTable>,
    last: std::cell::Cell<Option<LastAsked>>,
}

/// The last name asked of a kept table (its length and its bytes as [`padded_words`]) and
/// its position there.
#[derive(Clone, Copy)]
struct LastAsked {
    len: usize,
    words: [u64; 2],
    position: Option<u32>,
}

impl Kept {
    fn position(&self, name: Query<'_>) -> Option<u32> {
        let bytes = name.bytes();
        if bytes.len() > 16 {
            return self.table.privilege_position(name);
        }
        let words = padded_words(bytes);
        if let Some(last) = self.last.get()
            && last.len == bytes.len()
            && last.words == words
        {
            return last.position;
        }
        let position = self.table.privilege_position(name);
        self.last.set(Some(LastAsked {
            len: bytes.len(),
            words,
            position,
        }));
        position
    }
}

/// Privilege `name` looked up in the roles table this thread keeps
/// ([`RolesTable::keep_for_thread`]): before the session is found, so that what follows the
/// session's (likely uncached) entry in the map is a comparison and a bit test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeptPosition {
    /// The number of the table kept.
    pub table: u32,
    /// The privilege's position in it (`None`: the table has no such privilege).
    pub position: Option<u32>,
}

impl KeptPosition {
    /// `name` in this thread's kept table; `None` if the thread keeps none.
    pub(crate) fn of(name: Query<'_>) -> Option<KeptPosition> {
        RECENT
            .try_with(|recent| {
                let recent = recent.try_borrow().ok()?;
                let kept = recent.as_ref()?;
                Some(KeptPosition {
                    table: kept.table.number,
                    position: kept.position(name),
                })
            })
            .ok()
            .flatten()
    }
}

#[derive(Debug, Clone)]
pub struct RolesTable {
    /// Which table this is, among all a process loads (a copy keeps it: same positions).
    number: u32,
    privileges: NameIndex,
    /// For each privilege, itself and everything it includes, transitively.
    closures: Vec<PrivilegeSet>,
    roles: NameIndex,
    /// For each role, the closure of its privileges.
    role_sets: Vec<PrivilegeSet>,
    permissions: PermissionTable,
}

impl Default for RolesTable {
    fn default() -> RolesTable {
        RolesTable::parse(&Value::Object(Map::new())).expect("the empty roles file is valid")
    }
}

impl RolesTable {
    pub fn from_json(text: &str, max_depth: usize) -> Result<RolesTable> {
        let value = crate::json_input::parse(text, max_depth, "the roles file")?;
        RolesTable::parse(&value)
    }

    /// Validates a whole roles file; on any problem, one error that lists them all.
    pub fn parse(value: &Value) -> Result<RolesTable> {
        let mut problems: Vec<String> = Vec::new();
        let Some(root) = value.as_object() else {
            return Err(Error::invalid("roles file: the root must be a JSON object"));
        };

        let mut privileges = NameIndex::default();
        privileges.insert(WEB_ADMIN).ok();
        let mut includes: Vec<Vec<String>> = vec![Vec::new()];
        let mut web_admin_declared = false;
        for (i, entry) in entries(root, "privileges", &mut problems)
            .iter()
            .enumerate()
        {
            let at = format!("privileges[{i}]");
            let Some(name) = entry_name(entry, "privilege", &at, &mut problems) else {
                continue;
            };
            let listed = name_list(entry, "includes", &at, &mut problems);
            match privileges.insert(name) {
                Ok(_) => includes.push(listed),
                Err(0) if !web_admin_declared => {
                    web_admin_declared = true;
                    includes[0] = listed;
                }
                Err(_) => problems.push(format!("{at}: privilege \"{name}\" is declared twice")),
            }
        }

        let mut edges: Vec<Vec<u32>> = Vec::with_capacity(includes.len());
        for (p, listed) in includes.iter().enumerate() {
            let mut targets = Vec::new();
            for included in listed {
                match privileges.find(included) {
                    Some(t) => targets.push(t),
                    None => problems.push(format!(
                        "privilege \"{}\" includes \"{included}\", which is not declared",
                        privileges.name(p as u32)
                    )),
                }
            }
            edges.push(targets);
        }
        if let Some(cycle) = find_cycle(&edges) {
            let path: Vec<&str> = cycle.iter().map(|&p| privileges.name(p)).collect();
            problems.push(format!(
                "privileges include each other in a cycle: {}",
                path.join(" -> ")
            ));
        }

        let mut roles = NameIndex::default();
        let mut role_members: Vec<Vec<u32>> = Vec::new();
        for (i, entry) in entries(root, "roles", &mut problems).iter().enumerate() {
            let at = format!("roles[{i}]");
            let Some(name) = entry_name(entry, "role", &at, &mut problems) else {
                continue;
            };
            let mut members = Vec::new();
            for privilege in name_list(entry, "privileges", &at, &mut problems) {
                match privileges.find(&privilege) {
                    Some(p) => members.push(p),
                    None => problems.push(format!(
                        "role \"{name}\" names privilege \"{privilege}\", which is not declared"
                    )),
                }
            }
            if roles.insert(name).is_err() {
                problems.push(format!("{at}: role \"{name}\" is declared twice"));
            }
            role_members.push(members);
        }

        for key in ["forceLogin", "restrictedByDefault"] {
            if root.get(key).is_some_and(|v| !v.is_boolean()) {
                problems.push(format!("\"{key}\" must be true or false"));
            }
        }
        let permissions = PermissionTable::parse(root, &privileges, &roles, &mut problems);

        if !problems.is_empty() {
            return Err(Error::invalid(format!(
                "roles file has {} problem{}: {}",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" },
                problems.join("; ")
            )));
        }

        let count = privileges.len();
        let mut closures: Vec<Option<PrivilegeSet>> = vec![None; count];
        for p in 0..count {
            closure_of(p as u32, &edges, &mut closures, count);
        }
        let closures: Vec<PrivilegeSet> = closures
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect();
        let role_sets = role_members
            .iter()
            .map(|members| {
                let mut set = PrivilegeSet::with_capacity(count);
                for &p in members {
                    set.union_with(&closures[p as usize]);
                }
                set
            })
            .collect();
        Ok(RolesTable {
            number: next_table_number(),
            privileges,
            closures,
            roles,
            role_sets,
            permissions,
        })
    }

    /// This table's number (at least [`FIRST_TABLE_NUMBER`]).
    pub(crate) fn number(&self) -> u32 {
        self.number
    }

    /// Keeps `table` as this thread's recent table (the one before is let go).
    pub(crate) fn keep_for_thread(table: &Arc<RolesTable>) {
        let _ = RECENT.try_with(|recent| {
            if let Ok(mut recent) = recent.try_borrow_mut()
                && !recent
                    .as_ref()
                    .is_some_and(|kept| Arc::ptr_eq(&kept.table, table))
            {
                *recent = Some(Kept {
                    table: Arc::clone(table),
                    last: Default::default(),
                });
            }
        });
    }

    pub fn privilege_position(&self, name: Query<'_>) -> Option<u32> {
        self.privileges.find_query(name)
    }

    pub fn privilege_name(&self, position: u32) -> &str {
        self.privileges.name(position)
    }

    pub fn permissions(&self) -> &PermissionTable {
        &self.permissions
    }

    /// How a grant comes to hold the privilege at `position`: "granted", "included by
    /// privilege \"x\"", "through role \"r\"".
    pub fn sources(&self, grant: &Grant, position: u32) -> Vec<String> {
        let mut sources = Vec::new();
        for name in &grant.privileges {
            if let Some(p) = self.privileges.find(name)
                && self.closures[p as usize].contains(position)
            {
                sources.push(if p == position {
                    "granted".to_owned()
                } else {
                    format!("included by privilege \"{}\"", self.privileges.name(p))
                });
            }
        }
        for name in &grant.roles {
            if let Some(r) = self.roles.find(name)
                && self.role_sets[r as usize].contains(position)
            {
                sources.push(format!("through role \"{}\"", self.roles.name(r)));
            }
        }
        sources
    }

    pub fn is_privilege(&self, name: &str) -> bool {
        self.privileges.find(name).is_some()
    }

    pub fn is_role(&self, name: &str) -> bool {
        self.roles.find(name).is_some()
    }

    /// The privileges a grant amounts to under this file; names it no longer declares count
    /// for nothing.
    pub fn expand(&self, grant: &Grant) -> PrivilegeSet {
        let mut set = PrivilegeSet::with_capacity(self.privileges.len());
        for name in &grant.privileges {
            if let Some(p) = self.privileges.find(name) {
                set.union_with(&self.closures[p as usize]);
            }
        }
        for name in &grant.roles {
            if let Some(r) = self.roles.find(name) {
                set.union_with(&self.role_sets[r as usize]);
            }
        }
        set
    }
}

fn entries<'a>(root: &'a Map<String, Value>, key: &str, problems: &mut Vec<String>) -> &'a [Value] {
    match root.get(key) {
        None => &[],
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.push(format!("\"{key}\" must be an array"));
            &[]
        }
    }
}

/// The longest privilege or role name a roles file may declare (and `set_privileges` may name).
pub(crate) const MAX_NAME_BYTES: usize = 1024;

fn entry_name<'a>(
    entry: &'a Value,
    key: &str,
    at: &str,
    problems: &mut Vec<String>,
) -> Option<&'a str> {
    match entry.get(key) {
        Some(Value::String(name)) if name.len() > MAX_NAME_BYTES => {
            problems.push(format!(
                "{at}: \"{key}\" is {} bytes, over the limit of {MAX_NAME_BYTES}",
                name.len()
            ));
            None
        }
        Some(Value::String(name)) if name.contains('\0') => {
            problems.push(format!(
                "{at}: \"{key}\" holds a NUL character (\\u0000): no C caller could name it"
            ));
            None
        }
        Some(Value::String(name)) if !name.trim().is_empty() => Some(name.as_str()),
        Some(Value::String(_)) => {
            problems.push(format!("{at}: \"{key}\" is empty"));
            None
        }
        _ if !entry.is_object() => {
            problems.push(format!("{at} must be an object"));
            None
        }
        _ => {
            problems.push(format!("{at}: \"{key}\" must be a string"));
            None
        }
    }
}

fn name_list(entry: &Value, key: &str, at: &str, problems: &mut Vec<String>) -> Vec<String> {
    match entry.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| match item.as_str() {
                Some(s) => Some(s.to_owned()),
                None => {
                    problems.push(format!("{at}: \"{key}\" must hold only strings"));
                    None
                }
            })
            .collect(),
        Some(_) => {
            problems.push(format!("{at}: \"{key}\" must be an array of names"));
            Vec::new()
        }
    }
}

/// A cycle in the include graph, as a path that starts and ends on the same privilege.
fn find_cycle(edges: &[Vec<u32>]) -> Option<Vec<u32>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks = vec![Mark::New; edges.len()];
    for start in 0..edges.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // Iterative depth-first search: (node, next edge to follow).
        let mut path: Vec<(u32, usize)> = vec![(start as u32, 0)];
        marks[start] = Mark::OnPath;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            if let Some(&target) = edges[node as usize].get(*next) {
                *next += 1;
                match marks[target as usize] {
                    Mark::New => {
                        marks[target as usize] = Mark::OnPath;
                        path.push((target, 0));
                    }
                    Mark::OnPath => {
                        let from = path.iter().position(|&(n, _)| n == target).unwrap_or(0);
                        let mut cycle: Vec<u32> = path[from..].iter().map(|&(n, _)| n).collect();
                        cycle.push(target);
                        return Some(cycle);
                    }
                    Mark::Done => {}
                }
            } else {
                marks[node as usize] = Mark::Done;
                path.pop();
            }
        }
    }
    None
}

/// The transitive closure of one privilege, memoised; the graph is known to be acyclic.
fn closure_of(p: u32, edges: &[Vec<u32>], memo: &mut [Option<PrivilegeSet>], count: usize) {
    let mut stack: Vec<u32> = vec![p];
    while let Some(&node) = stack.last() {
        if memo[node as usize].is_some() {
            stack.pop();
            continue;
        }
        let pending: Vec<u32> = edges[node as usize]
            .iter()
            .copied()
            .filter(|t| memo[*t as usize].is_none())
            .collect();
        if pending.is_empty() {
            let mut set = PrivilegeSet::with_capacity(count);
            set.insert(node);
            for &t in &edges[node as usize] {
                if let Some(included) = &memo[t as usize] {
                    set.union_with(included);
                }
            }
            memo[node as usize] = Some(set);
            stack.pop();
        } else {
            stack.extend(pending);
        }
    }
}

#[cfg(test)]
mod tests {
    fn parse_roles(text: &str) -> Result<RolesTable> {
        RolesTable::from_json(text, 64)
    }
    use super::*;

    const SEED: &str = r#"{ "privileges": [ {"privilege": "simple", "includes": []},
                  {"privilege": "medium", "includes": ["simple"]} ],
  "roles":      [ {"role": "Medium", "privileges": ["medium"]} ],
  "permissions": { "allowed": [ {"applyTo": "ds", "type": "datastore", "read": ["medium"]} ] },
  "forceLogin": false, "restrictedByDefault": false }"#;

    fn grant(privileges: &[&str], roles: &[&str]) -> Grant {
        Grant {
            privileges: privileges.iter().map(|s| s.to_string()).collect(),
            roles: roles.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn names(table: &RolesTable, set: &PrivilegeSet) -> Vec<String> {
        set.positions()
            .map(|p| table.privilege_name(p).to_owned())
            .collect()
    }

    #[test]
    fn the_kept_table_answers_the_last_name_again_and_any_other_as_the_table_does() {
        // On a thread of its own: what it keeps is its own.
        std::thread::spawn(|| {
            let of = |name: &str| KeptPosition::of(Query::Text(name)).map(|k| k.position);
            assert_eq!(of("simple"), None, "no table kept yet");
            let first = Arc::new(parse_roles(SEED).unwrap());
            let long = "a-privilege-named-longer-than-16";
            let second = Arc::new(
                parse_roles(&format!(
                    r#"{{"privileges": [{{"privilege": "{long}"}}, {{"privilege": "medium"}},
                        {{"privilege": "simplE"}}, {{"privilege": "m"}}]}}"#
                ))
                .unwrap(),
            );
            RolesTable::keep_for_thread(&first);
            let asked = [
                "simple", "simple", "medium", "SIMPLE", "simple", "simpl", "simplex", "m", "m\0",
                "medium", long, long, "",
            ];
            let answers = |table: &RolesTable| -> Vec<Option<Option<u32>>> {
                asked
                    .iter()
                    .map(|&name| Some(table.privilege_position(Query::Text(name))))
                    .collect()
            };
            let kept: Vec<_> = asked.iter().map(|&name| of(name)).collect();
            assert_eq!(kept, answers(&first));
            // Another table kept: the last name is asked of it, not answered from the first.
            assert_eq!(of("m"), Some(first.privilege_position(Query::Text("m"))));
            RolesTable::keep_for_thread(&second);
            assert_eq!(of("m"), Some(second.privilege_position(Query::Text("m"))));
            assert_ne!(
                second.privilege_position(Query::Text("m")),
                first.privilege_position(Query::Text("m"))
            );
            let kept: Vec<_> = asked.iter().map(|&name| of(name)).collect();
            assert_eq!(kept, answers(&second));
            let declared = second.privilege_position(Query::Text("simplE"));
            assert!(declared.is_some());
            assert_eq!(of("simple"), Some(declared), "case-blind, as the table");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn spec_example_expands_roles_and_includes() {
        let table = parse_roles(SEED).unwrap();
        let by_role = table.expand(&grant(&[], &["medium"]));
        assert_eq!(names(&table, &by_role), ["simple", "medium"]);
        let by_privilege = table.expand(&grant(&["SIMPLE"], &[]));
        assert_eq!(names(&table, &by_privilege), ["simple"]);
        assert!(table.expand(&grant(&[], &[])).is_empty());
        assert!(table.is_privilege("webadmin"));
        assert!(table.is_role("MEDIUM"));
        assert!(!table.is_role("medium2"));
    }

    #[test]
    fn includes_are_transitive() {
        let table = parse_roles(
            r#"{"privileges":[{"privilege":"a","includes":["b"]},{"privilege":"b","includes":["c"]},
                {"privilege":"c"},{"privilege":"WebAdmin","includes":["a"]}]}"#,
        )
        .unwrap();
        let set = table.expand(&grant(&["webadmin"], &[]));
        assert_eq!(names(&table, &set), ["WebAdmin", "a", "b", "c"]);
    }

    #[test]
    fn empty_file_declares_web_admin_only() {
        let table = RolesTable::default();
        assert_eq!(table.privilege_position(Query::Text("WEBADMIN")), Some(0));
        assert_eq!(table.privilege_name(0), WEB_ADMIN);
        assert!(!table.is_privilege("simple"));
    }

    #[test]
    fn names_are_at_most_1024_bytes_and_hold_no_nul() {
        let name = |n: usize| format!(r#"{{"privileges":[{{"privilege":"{}"}}]}}"#, "p".repeat(n));
        assert!(parse_roles(&name(1024)).is_ok());
        let err = parse_roles(&name(1025)).unwrap_err();
        assert!(
            err.message.contains("over the limit of 1024"),
            "{}",
            err.message
        );
        let err = parse_roles(r#"{"privileges":[{"privilege":"a\u0000b"}]}"#).unwrap_err();
        assert!(err.message.contains("NUL"), "{}", err.message);
    }

    #[test]
    fn cycle_is_an_error_not_a_hang() {
        let err = parse_roles(
            r#"{"privileges":[{"privilege":"a","includes":["b"]},{"privilege":"b","includes":["A"]}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::InvalidArgument);
        assert!(
            err.message.contains("cycle: a -> b -> a"),
            "{}",
            err.message
        );
        let self_loop =
            parse_roles(r#"{"privileges":[{"privilege":"a","includes":["a"]}]}"#).unwrap_err();
        assert!(
            self_loop.message.contains("a -> a"),
            "{}",
            self_loop.message
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let err = parse_roles(
            r#"{"privileges":[{"privilege":"a","includes":["nope"]},{"privilege":"A"},{"includes":[]},7,
                {"privilege":"b","includes":"a"}],
                "roles":[{"role":"r","privileges":["ghost"]},{"role":"R"}],
                "forceLogin":"yes"}"#,
        )
        .unwrap_err();
        for expected in [
            "includes \"nope\", which is not declared",
            "privilege \"A\" is declared twice",
            "privileges[2]: \"privilege\" must be a string",
            "privileges[3] must be an object",
            "privileges[4]: \"includes\" must be an array",
            "names privilege \"ghost\"",
            "role \"R\" is declared twice",
            "\"forceLogin\" must be true or false",
        ] {
            assert!(
                err.message.contains(expected),
                "missing {expected:?} in {}",
                err.message
            );
        }
        assert!(
            err.message.starts_with("roles file has 8 problems"),
            "{}",
            err.message
        );
    }

    #[test]
    fn unknown_keys_are_tolerated_and_bad_json_is_invalid_json() {
        parse_roles(r#"{"id":"x","privileges":[{"privilege":"a","id":3}],"extra":[1]}"#).unwrap();
        assert_eq!(
            parse_roles("{").unwrap_err().kind,
            crate::error::ErrorKind::InvalidJson
        );
        assert_eq!(
            parse_roles("[]").unwrap_err().kind,
            crate::error::ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn more_than_64_privileges() {
        let list: Vec<String> = (0..130)
            .map(|i| {
                if i == 0 {
                    r#"{"privilege":"p0"}"#.to_owned()
                } else {
                    format!(r#"{{"privilege":"p{i}","includes":["p{}"]}}"#, i - 1)
                }
            })
            .collect();
        let table = parse_roles(&format!(r#"{{"privileges":[{}]}}"#, list.join(","))).unwrap();
        let set = table.expand(&grant(&["p129"], &[]));
        assert_eq!(set.positions().count(), 130);
        assert!(!set.contains(0), "WebAdmin is not included");
        assert!(set.contains(130));
        assert!(!set.contains(131));
        assert!(!set.contains(100_000));
    }
}
