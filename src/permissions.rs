//! 4D's permissions: the `permissions.allowed` part of `roles.json`, resolved when the file loads
//! into one [`Rule`] per (resource, action), so that a check on the request path is one lookup
//! and one bitset intersection.
//!
//! The rules followed are those of 4D 21's "Roles and Privileges" page (ORDA chapter), with the
//! implicit actions of the earlier pages (4D 20):
//! - a permission set on the datastore (`ds`) applies to every dataclass and function below it;
//!   one set on a dataclass, a singleton or a function **replaces** what it inherits;
//! - one set on an attribute is **added to** its dataclass's (both must be met);
//! - `read` is granted by `update` and `drop`; `describe` by `read`, `update` and `drop`;
//! - where no permission reaches a resource, `restrictedByDefault` decides.
//!
//! An action's list of privileges is "set" when it names at least one; an empty list (as 4D's
//! default file writes them) sets nothing. A session meets a list when it holds (after roles
//! and includes) any privilege named there. A list may name `guest` without declaring it: that
//! is 4D's Guest privilege, which every session holds.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::id::truncate_for_message;
use crate::names::{NameIndex, WordHasher};
use crate::roles::PrivilegeSet;

/// What a session asks to do to a resource (4D's permission actions, case-sensitive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    Update,
    Drop,
    Execute,
    Describe,
    Promote,
}

impl Action {
    const ALL: [Action; 7] = [
        Action::Create,
        Action::Read,
        Action::Update,
        Action::Drop,
        Action::Execute,
        Action::Describe,
        Action::Promote,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Drop => "drop",
            Action::Execute => "execute",
            Action::Describe => "describe",
            Action::Promote => "promote",
        }
    }

    /// The action spelled exactly as 4D spells it.
    pub fn parse(text: &[u8]) -> Result<Action> {
        Ok(match text {
            b"create" => Action::Create,
            b"read" => Action::Read,
            b"update" => Action::Update,
            b"drop" => Action::Drop,
            b"execute" => Action::Execute,
            b"describe" => Action::Describe,
            b"promote" => Action::Promote,
            _ => {
                return Err(Error::invalid(format!(
                    "the action \"{}\" is not one of create, read, update, drop, execute, \
                     describe, promote (4D's names, case-sensitive)",
                    truncate_for_message(&String::from_utf8_lossy(text))
                )));
            }
        })
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The actions whose permission grants this one too (4D's implicit actions).
    fn implied_by(self) -> &'static [Action] {
        match self {
            Action::Read => &[Action::Update, Action::Drop],
            Action::Describe => &[Action::Read, Action::Update, Action::Drop],
            _ => &[],
        }
    }

    fn is_data(self) -> bool {
        matches!(
            self,
            Action::Create | Action::Read | Action::Update | Action::Drop
        )
    }
}

/// A resource's `type` in the roles file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Datastore,
    Dataclass,
    Attribute,
    Method,
    Singleton,
    SingletonMethod,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::Datastore,
        Kind::Dataclass,
        Kind::Attribute,
        Kind::Method,
        Kind::Singleton,
        Kind::SingletonMethod,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Datastore => "datastore",
            Kind::Dataclass => "dataclass",
            Kind::Attribute => "attribute",
            Kind::Method => "method",
            Kind::Singleton => "singleton",
            Kind::SingletonMethod => "singletonMethod",
        }
    }

    fn in_words(self) -> &'static str {
        match self {
            Kind::Datastore => "the datastore",
            Kind::Dataclass => "a dataclass",
            Kind::Attribute => "an attribute",
            Kind::Method => "a function",
            Kind::Singleton => "a singleton",
            Kind::SingletonMethod => "a singleton function",
        }
    }

    /// Whether an action means anything on this kind of resource (4D's table of actions; the
    /// datastore, dataclasses and singletons take every action their functions or attributes
    /// take, since it is inherited below them).
    fn takes(self, action: Action) -> bool {
        match self {
            Kind::Datastore | Kind::Dataclass => true,
            Kind::Attribute => !matches!(action, Action::Execute | Action::Promote),
            Kind::Method | Kind::SingletonMethod | Kind::Singleton => !action.is_data(),
        }
    }

    /// Whether `applyTo` has this kind's shape: `ds`, `Name` or `Name.member`.
    fn fits(self, parts: &Parts<'_>) -> bool {
        match (self, parts.member) {
            (Kind::Datastore, None) => parts.owner == b"ds",
            (Kind::Dataclass | Kind::Singleton, None) => parts.owner != b"ds",
            (Kind::Method, Some(_)) => true,
            (Kind::Attribute | Kind::SingletonMethod, Some(_)) => parts.owner != b"ds",
            _ => false,
        }
    }
}

/// `applyTo` split at its dot.
struct Parts<'a> {
    owner: &'a [u8],
    member: Option<&'a [u8]>,
}

/// The longest resource name: two names of the roles file's longest and a dot.
pub const MAX_RESOURCE_BYTES: usize = 2 * crate::roles::MAX_NAME_BYTES + 1;

/// The ASCII bytes a name may hold: letters, digits and `_`.
const NAME_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = (b as u8).is_ascii_alphanumeric() || b == b'_' as usize;
        b += 1;
    }
    table
};

/// `Name` or `Name.member`, each part letters, digits and `_` (any script), at most
/// [`MAX_RESOURCE_BYTES`]; the reason otherwise. ASCII names are checked byte by byte; others
/// character by character (and refused if not UTF-8).
fn split(text: &[u8]) -> std::result::Result<Parts<'_>, &'static str> {
    if text.len() > MAX_RESOURCE_BYTES {
        return Err("is longer than 2049 bytes");
    }
    const SHAPE: &str = "is not as 4D writes applyTo (ds, Dataclass, Dataclass.member, \
                         ds.function, Singleton or Singleton.function: letters, digits and _ \
                         around at most one dot)";
    // One pass: the dot, and whether every other byte is an ASCII name byte.
    let mut dot = None;
    let mut ascii = true;
    for (i, &b) in text.iter().enumerate() {
        if b == b'.' {
            if dot.replace(i).is_some() {
                return Err(SHAPE);
            }
        } else if !NAME_BYTE[b as usize] {
            if b < 0x80 {
                return Err(SHAPE);
            }
            ascii = false;
        }
    }
    let (owner, member) = match dot {
        Some(dot) => (&text[..dot], Some(&text[dot + 1..])),
        None => (text, None),
    };
    let unicode_ok = |s: &[u8]| {
        std::str::from_utf8(s).is_ok_and(|s| s.chars().all(|c| c == '_' || c.is_alphanumeric()))
    };
    if owner.is_empty()
        || member.is_some_and(<[u8]>::is_empty)
        || !(ascii || (unicode_ok(owner) && member.is_none_or(unicode_ok)))
    {
        return Err(SHAPE);
    }
    Ok(Parts { owner, member })
}

/// A name's bit in [`PermissionTable`]'s `lengths`.
fn length_bit(len: usize) -> u64 {
    1u64 << len.min(63)
}

/// One list of privileges in the file, as it names them.
#[derive(Clone, Debug)]
struct Clause {
    /// The declared privileges it names, as bits.
    set: PrivilegeSet,
    /// It names `guest` (undeclared): every session meets it.
    everyone: bool,
    /// The names as written, for explanations.
    names: Vec<String>,
    positions: Vec<u32>,
}

impl Clause {
    /// Whether a session holding `held` meets this list.
    fn met(&self, held: &PrivilegeSet) -> bool {
        self.everyone || held.intersects(&self.set)
    }
}

/// One entry of `permissions.allowed`.
#[derive(Clone, Debug)]
struct Entry {
    apply_to: String,
    kind: Kind,
    /// Its index in `permissions.allowed`.
    at: usize,
    /// Per action (in [`Action::ALL`]'s order), the privileges named, when any are.
    lists: [Option<Clause>; 7],
}

/// What a session must hold for one action on one resource, resolved when the file loads.
#[derive(Clone, Debug)]
pub enum Rule {
    Always,
    /// Any one of these privileges.
    Any(PrivilegeSet),
    /// Any one alternative, each a list of sets of which the session must meet every one (an
    /// attribute's own permission and its dataclass's).
    Either(Box<[Box<[PrivilegeSet]>]>),
}

/// Allows nothing: what a table holds before its rules are resolved.
impl Default for Rule {
    fn default() -> Rule {
        Rule::Any(PrivilegeSet::default())
    }
}

impl Rule {
    /// Allocates nothing.
    pub fn allows(&self, held: &PrivilegeSet) -> bool {
        match self {
            Rule::Always => true,
            Rule::Any(set) => held.intersects(set),
            Rule::Either(alternatives) => alternatives
                .iter()
                .any(|all| all.iter().all(|set| held.intersects(set))),
        }
    }
}

/// One level a resource inherits from, most specific first.
#[derive(Clone, Copy)]
struct Level<'a> {
    entry: Option<&'a Entry>,
    apply_to: &'a str,
    kind: Kind,
    /// An attribute's own permission adds to its dataclass's instead of replacing it.
    adds: bool,
}

/// The permissions of a roles file.
#[derive(Clone, Debug, Default)]
pub struct PermissionTable {
    restricted: bool,
    entries: Vec<Entry>,
    by_name: HashMap<Box<[u8]>, u32, BuildHasherDefault<WordHasher>>,
    /// Bit `n` (`n` < 63) or bit 63 (longer) set when some declared `applyTo` is `n` bytes
    /// long: a name of another length is known not declared without hashing it.
    lengths: u64,
    /// Per entry, per action.
    rules: Vec<[Rule; 7]>,
    /// The datastore's, for resources the file does not mention.
    root: [Rule; 7],
}

impl PermissionTable {
    /// Reads `permissions` and `restrictedByDefault`; problems are added to `problems` (the
    /// table is only used when there are none).
    pub fn parse(
        root: &Map<String, Value>,
        privileges: &NameIndex,
        roles: &NameIndex,
        problems: &mut Vec<String>,
    ) -> PermissionTable {
        let mut table = PermissionTable {
            restricted: root
                .get("restrictedByDefault")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            ..PermissionTable::default()
        };
        let allowed: &[Value] = match root.get("permissions") {
            None | Some(Value::Null) => &[],
            Some(Value::Object(permissions)) => match permissions.get("allowed") {
                None | Some(Value::Null) => &[],
                Some(Value::Array(items)) => items,
                Some(_) => {
                    problems.push("\"permissions.allowed\" must be an array".to_owned());
                    &[]
                }
            },
            Some(_) => {
                problems.push("\"permissions\" must be an object".to_owned());
                &[]
            }
        };
        // Where each applyTo was first given permissions, valid entry or not.
        let mut first: HashMap<&str, usize> = HashMap::new();
        for (i, item) in allowed.iter().enumerate() {
            let at = format!("permissions.allowed[{i}]");
            let mut twice = false;
            if let Some(apply_to) = item.get("applyTo").and_then(Value::as_str) {
                if let Some(&earlier) = first.get(apply_to) {
                    problems.push(format!(
                        "{at}: \"{}\" is already given permissions by \
                         permissions.allowed[{earlier}]",
                        truncate_for_message(apply_to)
                    ));
                    twice = true;
                } else {
                    first.insert(apply_to, i);
                }
            }
            let entry = parse_entry(item, i, &at, privileges, roles, problems);
            if let Some(entry) = entry.filter(|_| !twice) {
                table
                    .by_name
                    .insert(entry.apply_to.as_bytes().into(), table.entries.len() as u32);
                table.lengths |= length_bit(entry.apply_to.len());
                table.entries.push(entry);
            }
        }
        // An owner must be of the kind its members say: a singleton's functions are
        // `singletonMethod`, a dataclass's members are attributes or methods.
        for entry in &table.entries {
            let Some((owner, _)) = entry.apply_to.split_once('.') else {
                continue;
            };
            let Some(owner_entry) = table.find(owner) else {
                continue;
            };
            let fits = match entry.kind {
                Kind::SingletonMethod => owner_entry.kind == Kind::Singleton,
                Kind::Attribute | Kind::Method => owner_entry.kind != Kind::Singleton,
                _ => true,
            };
            if !fits {
                problems.push(format!(
                    "permissions.allowed[{}]: \"{}\" is of type \"{}\", but \"{owner}\" is {} \
                     (permissions.allowed[{}])",
                    entry.at,
                    entry.apply_to,
                    entry.kind.name(),
                    owner_entry.kind.in_words(),
                    owner_entry.at
                ));
            }
        }
        table.rules = table
            .entries
            .iter()
            .map(|e| {
                let levels = table.levels_of(&e.apply_to, e.kind);
                Action::ALL.map(|a| table.resolve(&levels, a))
            })
            .collect();
        let levels = table.levels_of("ds", Kind::Datastore);
        table.root = Action::ALL.map(|a| table.resolve(&levels, a));
        table
    }

    pub fn restricted_by_default(&self) -> bool {
        self.restricted
    }

    fn find(&self, apply_to: &str) -> Option<&Entry> {
        self.declared(apply_to.as_bytes())
            .map(|i| &self.entries[i as usize])
    }

    /// The entry that gives `name` permissions, if one does.
    #[inline]
    fn declared(&self, name: &[u8]) -> Option<u32> {
        if self.lengths & length_bit(name.len()) == 0 {
            return None;
        }
        self.by_name.get(name).copied()
    }

    /// The resource a query names, its kind and the entry (if any) whose rules it follows;
    /// `InvalidArgument` when the text is not a resource or the action does not apply to it.
    fn target(&self, resource: &[u8], action: Action) -> Result<(Kind, Option<u32>)> {
        let shown = || truncate_for_message(&String::from_utf8_lossy(resource));
        let declared = |name: &[u8]| self.declared(name);
        // A resource the file declares was checked when it loaded; any other is checked here.
        let (kind, entry) = match declared(resource) {
            Some(e) => (self.entries[e as usize].kind, Some(e)),
            None => {
                // Text that is not UTF-8 (which callers refuse first, with its own message)
                // fails the check of names all the same.
                let parts = split(resource)
                    .map_err(|why| Error::invalid(format!("the resource \"{}\" {why}", shown())))?;
                match parts.member {
                    None if parts.owner == b"ds" => (Kind::Datastore, None),
                    None => (Kind::Dataclass, None),
                    Some(_) if parts.owner == b"ds" => (Kind::Method, None),
                    Some(_) => {
                        let owner = declared(parts.owner);
                        let kind = match owner.map(|o| self.entries[o as usize].kind) {
                            Some(Kind::Singleton) => Kind::SingletonMethod,
                            _ if action.is_data() || action == Action::Describe => Kind::Attribute,
                            _ => Kind::Method,
                        };
                        (kind, owner)
                    }
                }
            }
        };
        if !kind.takes(action) {
            let how = if entry
                .is_some_and(|e| self.entries[e as usize].apply_to.as_bytes() == resource)
            {
                format!("the roles file declares it of type \"{}\"", kind.name())
            } else {
                "by its name".to_owned()
            };
            return Err(Error::invalid(format!(
                "\"{}\" does not apply to \"{}\": it is {} ({how})",
                action.name(),
                shown(),
                kind.in_words()
            )));
        }
        Ok((kind, entry))
    }

    /// The rule for `action` on `resource`: what a web or rest session must hold.
    pub fn rule(&self, resource: &[u8], action: Action) -> Result<&Rule> {
        let (_, entry) = self.target(resource, action)?;
        Ok(self.rule_of(entry, action))
    }

    /// The rule of the entry a resource follows (`None`: the datastore's).
    fn rule_of(&self, entry: Option<u32>, action: Action) -> &Rule {
        let rules = entry.map_or(&self.root, |e| &self.rules[e as usize]);
        &rules[action.index()]
    }

    /// The levels `apply_to` inherits from, most specific first, mentioned or not.
    fn levels_of<'a>(&'a self, apply_to: &'a str, kind: Kind) -> Vec<Level<'a>> {
        let level = |apply_to: &'a str, kind: Kind, adds: bool| Level {
            entry: self.find(apply_to),
            apply_to,
            kind,
            adds,
        };
        let mut levels = vec![level(apply_to, kind, kind == Kind::Attribute)];
        if let Some((owner, _)) = apply_to.split_once('.')
            && owner != "ds"
        {
            let owner_kind = match kind {
                Kind::SingletonMethod => Kind::Singleton,
                _ => self.find(owner).map_or(Kind::Dataclass, |e| e.kind),
            };
            levels.push(level(owner, owner_kind, false));
        }
        if kind != Kind::Datastore {
            levels.push(level("ds", Kind::Datastore, false));
        }
        levels
    }

    /// The lists a session must meet for `action` at the most specific level: an attribute's
    /// own (if set) and the first set among the levels that replace each other.
    fn required<'a>(levels: &[Level<'a>], action: Action) -> Vec<(Level<'a>, &'a Clause)> {
        let list = |l: &Level<'a>| {
            l.entry
                .and_then(|e| e.lists[action.index()].as_ref())
                .map(|c| (*l, c))
        };
        let mut required = Vec::new();
        let mut rest = levels;
        if let Some(first) = levels.first()
            && first.adds
        {
            required.extend(list(first));
            rest = &levels[1..];
        }
        required.extend(rest.iter().find_map(list));
        required
    }

    fn resolve(&self, levels: &[Level<'_>], action: Action) -> Rule {
        let own = PermissionTable::required(levels, action);
        if own.is_empty() && !self.restricted {
            return Rule::Always;
        }
        let mut alternatives: Vec<Vec<&Clause>> = Vec::new();
        for a in std::iter::once(action).chain(action.implied_by().iter().copied()) {
            let required = PermissionTable::required(levels, a);
            if !required.is_empty() {
                alternatives.push(required.into_iter().map(|(_, c)| c).collect());
            }
        }
        // A list naming `guest` is met by everyone: it drops out of its alternative.
        let mut sets: Vec<Vec<PrivilegeSet>> = Vec::new();
        for all in alternatives {
            let remaining: Vec<PrivilegeSet> = all
                .into_iter()
                .filter(|c| !c.everyone)
                .map(|c| c.set.clone())
                .collect();
            if remaining.is_empty() {
                return Rule::Always;
            }
            sets.push(remaining);
        }
        if sets.iter().all(|all| all.len() == 1) {
            let mut any = PrivilegeSet::default();
            for all in &sets {
                any = any.union(&all[0]);
            }
            return Rule::Any(any);
        }
        Rule::Either(sets.into_iter().map(Vec::into_boxed_slice).collect())
    }

    /// Why [`PermissionTable::rule`] answers as it does for a session holding `held`; `through`
    /// says how the session holds a privilege (by its position).
    pub fn explain(
        &self,
        resource: &str,
        action: Action,
        held: &PrivilegeSet,
        through: &dyn Fn(u32) -> Vec<String>,
    ) -> Result<Value> {
        let (kind, entry) = self.target(resource.as_bytes(), action)?;
        let allowed = self.rule_of(entry, action).allows(held);
        let levels = self.levels_of(resource, kind);
        let describe_list = |level: &Level<'_>, clause: &Clause, how: &str| -> Value {
            let entry = level.entry.map(|e| e.at);
            json!({
                "applyTo": level.apply_to,
                "type": level.kind.name(),
                "entry": entry.map(|at| format!("permissions.allowed[{at}]")),
                "level": how,
                "privileges": clause.names.iter().zip(&clause.positions).map(|(name, &p)| {
                    let holds = p != u32::MAX && held.contains(p);
                    json!({
                        "name": name,
                        "held": holds || p == u32::MAX,
                        "through": if p == u32::MAX {
                            vec!["every session holds guest".to_owned()]
                        } else if holds { through(p) } else { Vec::new() },
                    })
                }).collect::<Vec<_>>(),
                "met": clause.met(held),
            })
        };
        let mut checks = Vec::new();
        let mut decided_by: Option<String> = None;
        let mut own_set = false;
        for a in std::iter::once(action).chain(action.implied_by().iter().copied()) {
            let required = PermissionTable::required(&levels, a);
            if required.is_empty() {
                if a == action {
                    checks.push(json!({"action": a.name(), "set": false}));
                }
                continue;
            }
            own_set |= a == action;
            let met = required.iter().all(|(_, c)| c.met(held));
            let lists: Vec<Value> = required
                .iter()
                .map(|(level, clause)| {
                    let how = if level.apply_to == resource && level.entry.is_some() {
                        if level.adds {
                            "own, added to its dataclass's"
                        } else {
                            "own"
                        }
                    } else {
                        "inherited"
                    };
                    describe_list(level, clause, how)
                })
                .collect();
            let mut check = json!({"action": a.name(), "set": true, "met": met, "requires": lists});
            if a != action {
                check["grants"] = json!(action.name());
            }
            if met && decided_by.is_none() {
                decided_by = Some(sentence(a, action, resource, &required, true));
            }
            checks.push(check);
        }
        let reason = match decided_by {
            Some(reason) => reason,
            None if !own_set && !self.restricted => format!(
                "allowed: no permission is set for {} on \"{resource}\" or above it, and \
                 restrictedByDefault is false",
                action.name()
            ),
            None if !own_set && checks.len() == 1 => format!(
                "refused: no permission is set for {} on \"{resource}\" or above it, and \
                 restrictedByDefault is true",
                action.name()
            ),
            None => {
                let own = PermissionTable::required(&levels, action);
                if own.is_empty() {
                    format!(
                        "refused: no permission is set for {} on \"{resource}\" \
                         (restrictedByDefault is true), and the session meets none of the \
                         actions that grant it",
                        action.name()
                    )
                } else {
                    sentence(action, action, resource, &own, false)
                }
            }
        };
        debug_assert_eq!(allowed, reason.starts_with("allowed"));
        Ok(json!({
            "allowed": allowed,
            "resource": resource,
            "type": kind.name(),
            "action": action.name(),
            "restrictedByDefault": self.restricted,
            "reason": reason,
            "checks": checks,
        }))
    }
}

/// "allowed: read on "City.name" needs "general" (dataclass City, permissions.allowed[1])…".
fn sentence(
    by: Action,
    action: Action,
    resource: &str,
    required: &[(Level<'_>, &Clause)],
    met: bool,
) -> String {
    let lists: Vec<String> = required
        .iter()
        .map(|(level, clause)| {
            let names: Vec<String> = clause.names.iter().map(|n| format!("\"{n}\"")).collect();
            format!(
                "{} {} ({} \"{}\", permissions.allowed[{}])",
                if names.len() == 1 { "" } else { "one of" },
                names.join(", "),
                level.kind.name(),
                level.apply_to,
                level.entry.map_or(0, |e| e.at)
            )
            .trim_start()
            .to_owned()
        })
        .collect();
    let needs = lists.join(" and ");
    if !met {
        return format!(
            "refused: {} on \"{resource}\" needs {needs}, and the session does not hold {}",
            action.name(),
            if lists.len() == 1 { "it" } else { "them all" }
        );
    }
    if by == action {
        format!(
            "allowed: {} on \"{resource}\" needs {needs}, and the session holds {}",
            action.name(),
            if lists.len() == 1 { "it" } else { "them all" }
        )
    } else {
        format!(
            "allowed: {} on \"{resource}\" needs {needs}, which the session holds, and {} \
             grants {} (4D's implicit actions)",
            by.name(),
            by.name(),
            action.name()
        )
    }
}

fn parse_entry(
    item: &Value,
    i: usize,
    at: &str,
    privileges: &NameIndex,
    roles: &NameIndex,
    problems: &mut Vec<String>,
) -> Option<Entry> {
    let Some(object) = item.as_object() else {
        problems.push(format!("{at} must be an object"));
        return None;
    };
    let before = problems.len();
    let apply_to = match object.get("applyTo") {
        Some(Value::String(s)) => match split(s.as_bytes()) {
            Ok(_) => Some(s.as_str()),
            Err(why) => {
                problems.push(format!(
                    "{at}: \"applyTo\" \"{}\" {why}",
                    truncate_for_message(s)
                ));
                None
            }
        },
        Some(_) => {
            problems.push(format!("{at}: \"applyTo\" must be a string"));
            None
        }
        None => {
            problems.push(format!("{at}: \"applyTo\" is missing"));
            None
        }
    };
    let kind = match object.get("type") {
        Some(Value::String(s)) => match Kind::ALL.into_iter().find(|k| k.name() == s) {
            Some(kind) => Some(kind),
            None => {
                problems.push(format!(
                    "{at}: \"type\" \"{}\" is not one of datastore, dataclass, attribute, \
                     method, singleton, singletonMethod",
                    truncate_for_message(s)
                ));
                None
            }
        },
        Some(_) => {
            problems.push(format!("{at}: \"type\" must be a string"));
            None
        }
        None => {
            problems.push(format!("{at}: \"type\" is missing"));
            None
        }
    };
    if let (Some(apply_to), Some(kind)) = (apply_to, kind)
        && let Ok(parts) = split(apply_to.as_bytes())
        && !kind.fits(&parts)
    {
        problems.push(format!(
            "{at}: \"{apply_to}\" does not fit type \"{}\" ({})",
            kind.name(),
            match kind {
                Kind::Datastore => "the datastore is \"ds\"",
                Kind::Dataclass => "a dataclass is one name, not \"ds\"",
                Kind::Singleton => "a singleton is one name, not \"ds\"",
                Kind::Attribute => "an attribute is \"Dataclass.attribute\"",
                Kind::Method => "a function is \"Dataclass.function\" or \"ds.function\"",
                Kind::SingletonMethod => "a singleton function is \"Singleton.function\"",
            }
        ));
    }
    let mut lists: [Option<Clause>; 7] = Default::default();
    for (key, value) in object {
        let action = Action::ALL.into_iter().find(|a| a.name() == key);
        let Some(action) = action else {
            // Other keys are tolerated (4D's tools add "id"), unless they hold a list: that is
            // an action 4D does not have, or one misspelt.
            if value.is_array() && !matches!(key.as_str(), "applyTo" | "type") {
                problems.push(format!(
                    "{at}: \"{}\" is not an action (create, read, update, drop, execute, \
                     describe, promote){}",
                    truncate_for_message(key),
                    if key.eq_ignore_ascii_case("delete") || key.eq_ignore_ascii_case("remove") {
                        "; 4D calls deleting \"drop\""
                    } else {
                        ""
                    }
                ));
            }
            continue;
        };
        if let Some(kind) = kind
            && !kind.takes(action)
        {
            problems.push(format!(
                "{at}: \"{key}\" does not apply to {} (type \"{}\")",
                kind.in_words(),
                kind.name()
            ));
            continue;
        }
        let names: Vec<&str> = match value {
            Value::Null => Vec::new(),
            Value::Array(items) if items.iter().all(Value::is_string) => {
                items.iter().filter_map(Value::as_str).collect()
            }
            _ => {
                problems.push(format!(
                    "{at}: \"{key}\" must be an array of privilege names"
                ));
                continue;
            }
        };
        let mut clause = Clause {
            set: PrivilegeSet::with_capacity(privileges.len()),
            everyone: false,
            names: Vec::new(),
            positions: Vec::new(),
        };
        for name in names {
            match privileges.find(name) {
                Some(p) => {
                    clause.set.insert(p);
                    clause.positions.push(p);
                }
                None if name.eq_ignore_ascii_case("guest") => {
                    clause.everyone = true;
                    clause.positions.push(u32::MAX);
                }
                None if roles.find(name).is_some() => {
                    problems.push(format!(
                        "{at}: \"{key}\" names \"{name}\", which is a role: permissions name \
                         privileges (name the role's privileges instead)"
                    ));
                    continue;
                }
                None => {
                    problems.push(format!(
                        "{at}: \"{key}\" names privilege \"{}\", which is not declared",
                        truncate_for_message(name)
                    ));
                    continue;
                }
            }
            clause.names.push(name.to_owned());
        }
        if !clause.names.is_empty() {
            lists[action.index()] = Some(clause);
        }
    }
    if problems.len() > before {
        return None;
    }
    Some(Entry {
        apply_to: apply_to?.to_owned(),
        kind: kind?,
        at: i,
        lists,
    })
}
