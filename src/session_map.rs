//! The sessions themselves: a sharded map from ID to slot, each session behind its own lock,
//! with its expiry time readable without taking that lock, and an index of expiry times so that
//! a sweep costs what the sessions due cost, not what every session costs.
//!
//! The map also keeps the index from client number to ID (every change of a session's place
//! in the map changes it too), and, after an ID rotation with a grace time, the old ID as an
//! alias of the client for that long.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering, fence};

use hashbrown::hash_map::Entry;
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::client_index::ClientIndex;
use crate::clock::{Millis, Now};
use crate::id::SessionId;
use crate::names::Query;
use crate::roles::{KeptPosition, PrivilegeSet, RolesTable};
use crate::session::Session;
use crate::table_memory::TableMemory;

/// Enough shards that two threads rarely meet on one: the IDs spread evenly over them.
const SHARDS: usize = 64;

/// The client an old ID (in `shard`, its own) reaches during its grace time. A miss on a shard
/// with no aliases costs one empty-map check.
fn alias_client(shard: &ShardData, id: SessionId, now: impl Now) -> Option<u64> {
    if shard.aliases.is_empty() {
        return None;
    }
    let alias = shard
        .aliases
        .get(&id.value())
        .filter(|a| now.is_before(a.until))?;
    Some(alias.client)
}

/// Expiry of a session that never expires.
pub(crate) const NEVER: Millis = Millis::MAX;

/// The expiry index files sessions by the second their expiry falls in.
fn second(ms: Millis) -> i64 {
    ms.div_euclid(1000)
}

/// A session in the map: what a read needs without the session's lock, in the map's own
/// table beside the ID (56 bytes, no pointer to follow), and the session behind a box.
///
/// The privileges a read needs are published from the session whenever its lock is let go
/// after a change (see [`Locked`]), under a sequence number (a seqlock): a reader that sees
/// the number odd or moved takes the lock instead. Readers write nothing shared.
///
/// In this order (`repr(C)`): what a privilege check reads comes first, so that with the key
/// it is the entry's first 40 bytes, within one cache line for half the entries (an entry
/// starts at any multiple of 8 bytes in a line) where all 56 bytes are for a quarter.
#[repr(C)]
pub struct Slot {
    /// When the session expires (`NEVER` for types without idle timeout). Written under the
    /// session's lock, read without it.
    expires_at: AtomicI64,
    /// The session's privileges as bits of the table `roles` names.
    privileges: AtomicU64,
    /// The number of the roles table the bits are of, or what the session's answer is without
    /// one: [`ASK_THE_SESSION`], [`NOT_WEB`], [`NO_TABLE`].
    roles: AtomicU32,
    /// Odd while the two above change.
    sequence: AtomicU32,
    /// Where the session's storage is ([`crate::storage::Storage::address_hint`]), so that a
    /// storage read starts bringing it in while it waits for the session: a hint, never
    /// followed (a reader may see it stale). Written under the session's lock.
    storage_hint: AtomicU64,
    cell: Box<Cell>,
}

/// Whether `session` holds privilege `name`, read from it when its published bits could not
/// answer; its roles table becomes the one this thread keeps, so that they can next time.
fn privilege_from_session(session: &Session, name: Query<'_>) -> bool {
    if let Some(table) = &session.roles {
        RolesTable::keep_for_thread(table);
    }
    session.has_privilege(name)
}

/// A published roles word: the bits cannot answer (more than 64 privileges); take the lock.
const ASK_THE_SESSION: u32 = 0;
/// A published roles word: not a web or rest session, which holds every privilege.
const NOT_WEB: u32 = 1;
/// A published roles word: a web or rest session without a roles table, which holds none.
const NO_TABLE: u32 = 2;
const _: () = assert!(crate::roles::FIRST_TABLE_NUMBER > NO_TABLE);

/// What the published privileges of `session` are.
fn published(session: &Session) -> (u32, u64) {
    if !session.kind.is_web() {
        return (NOT_WEB, 0);
    }
    match (&session.roles, &session.privileges) {
        (None, _) => (NO_TABLE, 0),
        (Some(table), PrivilegeSet::Small(bits)) => (table.number(), *bits),
        (Some(_), PrivilegeSet::Large(_)) => (ASK_THE_SESSION, 0),
    }
}

/// The boxed part of a slot: the session first (its lock and hot fields on its first line).
#[repr(C)]
struct Cell {
    /// Shared by reads (many readers of one session run at once, and a writer waiting is let
    /// in before readers who come after it), exclusive for changes.
    session: RwLock<Session>,
    /// The second under which the expiry index files this session (`NEVER`: not filed).
    /// Written under the shard's write lock; only sweeps read it.
    filed_at: AtomicI64,
    /// The second of last activity under which the guest index files this session (`NEVER`:
    /// not filed). Written under the shard's write lock; only evictions read it.
    guest_at: AtomicI64,
}

/// A session locked for a change: when let go, what readers read without the lock is
/// published again from it.
pub struct Locked<'a> {
    guard: RwLockWriteGuard<'a, Session>,
    slot: &'a Slot,
}

impl std::ops::Deref for Locked<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.guard
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        &mut self.guard
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.slot.publish(&self.guard);
    }
}

impl Slot {
    fn new(session: Session) -> Slot {
        let (roles, privileges) = published(&session);
        Slot {
            expires_at: AtomicI64::new(session.expires_at().unwrap_or(NEVER)),
            privileges: AtomicU64::new(privileges),
            roles: AtomicU32::new(roles),
            sequence: AtomicU32::new(0),
            storage_hint: AtomicU64::new(session.storage.address_hint()),
            cell: Box::new(Cell {
                filed_at: AtomicI64::new(NEVER),
                guest_at: AtomicI64::new(NEVER),
                session: RwLock::new(session),
            }),
        }
    }

    pub fn is_live(&self, now: impl Now) -> bool {
        now.is_before(self.expires_at.load(Ordering::Acquire))
    }

    /// The session, for a change.
    pub fn lock(&self) -> Locked<'_> {
        Locked {
            guard: self.cell.session.write(),
            slot: self,
        }
    }

    /// Starts bringing in the session's storage, for a read of it that is about to wait for
    /// the session itself: the two waits overlap.
    #[inline(always)]
    pub fn prefetch_storage(&self) {
        crate::storage::Storage::prefetch(self.storage_hint.load(Ordering::Relaxed));
    }

    /// The session, to read (shared with other readers).
    pub fn read(&self) -> RwLockReadGuard<'_, Session> {
        self.cell.session.read()
    }

    /// Whether the session holds privilege `name` (as [`Session::has_privilege`]): from the
    /// published bits, without the session's lock, when they answer and are bits of the table
    /// `kept` (`name` looked up in this thread's kept table); else from the session, whose
    /// table this thread then keeps.
    pub fn has_privilege(&self, name: Query<'_>, kept: Option<KeptPosition>) -> bool {
        self.published_privilege(kept)
            .unwrap_or_else(|| privilege_from_session(&self.read(), name))
    }

    /// As [`Slot::has_privilege`], with the session already read-locked (`session`, this
    /// slot's).
    pub fn has_privilege_locked(
        &self,
        session: &Session,
        name: Query<'_>,
        kept: Option<KeptPosition>,
    ) -> bool {
        self.published_privilege(kept)
            .unwrap_or_else(|| privilege_from_session(session, name))
    }

    fn published_privilege(&self, kept: Option<KeptPosition>) -> Option<bool> {
        let sequence = self.sequence.load(Ordering::Acquire);
        if sequence & 1 == 1 {
            return None;
        }
        let roles = self.roles.load(Ordering::Relaxed);
        let bits = self.privileges.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        if self.sequence.load(Ordering::Relaxed) != sequence {
            return None;
        }
        match roles {
            ASK_THE_SESSION => None,
            NOT_WEB => Some(true),
            NO_TABLE => Some(false),
            table => kept
                .filter(|kept| kept.table == table)
                .map(|kept| kept.position.is_some_and(|p| p < 64 && bits >> p & 1 == 1)),
        }
    }

    /// Publishes what readers read without the lock (under it, for a change).
    fn publish(&self, session: &Session) {
        self.publish_expiry(session);
        self.storage_hint
            .store(session.storage.address_hint(), Ordering::Relaxed);
        let (roles, privileges) = published(session);
        if roles == self.roles.load(Ordering::Relaxed)
            && privileges == self.privileges.load(Ordering::Relaxed)
        {
            return;
        }
        // One writer at a time: the session's lock is held.
        let sequence = self.sequence.load(Ordering::Relaxed);
        self.sequence
            .store(sequence.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        self.roles.store(roles, Ordering::Relaxed);
        self.privileges.store(privileges, Ordering::Relaxed);
        self.sequence
            .store(sequence.wrapping_add(2), Ordering::Release);
    }

    /// Publishes the session's expiry (its activity, idle timeout or ends may have changed).
    fn publish_expiry(&self, session: &Session) {
        self.expires_at
            .store(session.expires_at().unwrap_or(NEVER), Ordering::Release);
    }

    /// Whether the session is a guest the guest index does not have (it became one): then
    /// [`SessionMap::file_if_guest`] should file it.
    pub fn unfiled_guest(&self, session: &Session) -> bool {
        session.is_guest() && self.cell.guest_at.load(Ordering::Acquire) == NEVER
    }

    /// The session, for a slot no longer in the map (so nobody else can lock it).
    pub fn session_mut(&mut self) -> &mut Session {
        self.cell.session.get_mut()
    }

    fn into_session(self) -> Session {
        self.cell.session.into_inner()
    }

    fn expires_at(&self) -> Millis {
        self.expires_at.load(Ordering::Acquire)
    }
}

/// IDs are random and made only by the library, so their own bits are a good hash.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 =
            ((n as u64) ^ ((n >> 64) as u64).rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// An ID as the table's key: its 128 bits as two words, so 8-byte aligned (a `u128` is
/// 16-byte aligned, which would round the table's 56-byte entries up to 64).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key([u64; 2]);

impl Key {
    fn of(id: u128) -> Key {
        Key([id as u64, (id >> 64) as u64])
    }

    fn id(self) -> u128 {
        u128::from(self.0[0]) | u128::from(self.0[1]) << 64
    }
}

impl std::hash::Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u128(self.id());
    }
}

/// The sessions of one shard by ID, in a table whose memory is on huge pages once it is large
/// (see [`TableMemory`]).
struct Slots(hashbrown::HashMap<Key, Slot, BuildHasherDefault<IdHasher>, TableMemory>);

impl Default for Slots {
    fn default() -> Slots {
        Slots(hashbrown::HashMap::with_hasher_in(
            BuildHasherDefault::default(),
            TableMemory,
        ))
    }
}

impl Slots {
    fn get(&self, id: &u128) -> Option<&Slot> {
        self.0.get(&Key::of(*id))
    }

    fn contains_key(&self, id: &u128) -> bool {
        self.0.contains_key(&Key::of(*id))
    }

    fn insert(&mut self, id: u128, slot: Slot) -> Option<Slot> {
        self.0.insert(Key::of(id), slot)
    }

    fn remove(&mut self, id: &u128) -> Option<Slot> {
        self.0.remove(&Key::of(*id))
    }

    fn entry(
        &mut self,
        id: u128,
    ) -> Entry<'_, Key, Slot, BuildHasherDefault<IdHasher>, TableMemory> {
        self.0.entry(Key::of(id))
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn values(&self) -> impl Iterator<Item = &Slot> {
        self.0.values()
    }

    fn iter(&self) -> impl Iterator<Item = (u128, &Slot)> {
        self.0.iter().map(|(key, slot)| (key.id(), slot))
    }
}

/// An old ID that still reaches its session, by client number, until a time.
#[derive(Clone, Copy)]
struct Alias {
    client: u64,
    until: Millis,
}

/// What one shard holds.
#[derive(Default)]
struct ShardData {
    slots: Slots,
    /// Old IDs of rotated sessions, during their grace time (few: one per recent rotation).
    aliases: HashMap<u128, Alias, BuildHasherDefault<IdHasher>>,
    /// Guests by last activity, for evictions.
    guests: GuestIndex,
    /// Sessions that expire, by the second they were filed under. Filing is lazy: activity
    /// only ever moves an expiry later, so a session filed too early is filed again when its
    /// second comes; a closed one is dropped then (or when the index is compacted).
    expiry: ExpiryIndex,
}

/// The expiry index of one shard.
#[derive(Default)]
struct ExpiryIndex {
    by_second: BTreeMap<i64, Vec<u128>>,
    /// Entries, stale ones included.
    entries: usize,
}

impl ExpiryIndex {
    /// Files a session under the second its expiry falls in (sessions that never expire are
    /// not filed).
    fn file(&mut self, id: u128, slot: &Slot) {
        let expires_at = slot.expires_at();
        if expires_at != NEVER {
            self.file_at(id, slot, second(expires_at));
        }
    }

    fn file_at(&mut self, id: u128, slot: &Slot, at: i64) {
        self.by_second.entry(at).or_default().push(id);
        slot.cell.filed_at.store(at, Ordering::Release);
        self.entries += 1;
    }
}

/// The guest index of one shard: web and rest sessions without a grant, by the second of their
/// last activity, filed lazily like the expiry index (activity only moves it later, so an
/// entry filed too early is filed again when an eviction reaches it; a session that gained a
/// grant is dropped then, and filed again if it becomes a guest).
#[derive(Default)]
struct GuestIndex {
    /// In each second, the order of filing: the earliest goes first.
    by_second: BTreeMap<i64, VecDeque<u128>>,
    /// Entries, stale ones included.
    entries: usize,
}

impl GuestIndex {
    fn file(&mut self, id: u128, slot: &Slot, session: &Session) {
        if session.is_guest() {
            let at = second(session.last_activity);
            self.by_second.entry(at).or_default().push_back(id);
            slot.cell.guest_at.store(at, Ordering::Release);
            self.entries += 1;
        }
    }
}

impl ShardData {
    /// Rebuilds the indexes from the slots once stale entries (of closed sessions) outnumber
    /// the sessions: the cost is paid once per that many closes.
    fn compact_if_stale(&mut self) {
        let limit = 2 * self.slots.len() + 1024;
        if self.expiry.entries > limit {
            self.expiry = ExpiryIndex::default();
            for (id, slot) in self.slots.iter() {
                self.expiry.file(id, slot);
            }
        }
        if self.guests.entries > limit {
            self.guests = GuestIndex::default();
            for (id, slot) in self.slots.iter() {
                slot.cell.guest_at.store(NEVER, Ordering::Release);
                self.guests.file(id, slot, &slot.cell.session.read());
            }
        }
    }
}

/// One shard on cache lines of its own, so that threads working on neighbouring shards do not
/// fight over one line (false sharing).
#[derive(Default)]
#[repr(align(128))]
struct Shard(RwLock<ShardData>);

impl std::ops::Deref for Shard {
    type Target = RwLock<ShardData>;
    fn deref(&self) -> &RwLock<ShardData> {
        &self.0
    }
}

pub struct SessionMap {
    shards: Box<[Shard]>,
    /// Entries in the map, expired or not.
    entries: AtomicU64,
    /// Client number → ID of every session in the map; changed under the shard's write lock.
    clients: ClientIndex,
}

impl Default for SessionMap {
    fn default() -> SessionMap {
        SessionMap {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            entries: AtomicU64::new(0),
            clients: ClientIndex::default(),
        }
    }
}

impl SessionMap {
    fn shard(&self, id: SessionId) -> &Shard {
        &self.shards[id.shard(SHARDS)]
    }

    /// Runs `f` on the live session `id` (or that an old ID in its grace time reaches), with
    /// its shard read-locked; `None` when there is none.
    pub fn with<R>(&self, id: SessionId, now: impl Now, f: impl FnOnce(&Slot) -> R) -> Option<R> {
        let client = {
            let shard = self.shard(id).read();
            match shard.slots.get(&id.value()) {
                Some(slot) => return slot.is_live(now).then(|| f(slot)),
                None => alias_client(&shard, id, now)?,
            }
        };
        self.with_client(client, now, f)
    }

    /// Runs `f` on the live session of a client number, with its shard read-locked; `None`
    /// when there is none.
    pub fn with_client<R>(
        &self,
        client: u64,
        now: impl Now,
        f: impl FnOnce(&Slot) -> R,
    ) -> Option<R> {
        let mut f = Some(f);
        self.follow_client(client, |current| {
            let shard = self.shard(current).read();
            let slot = shard.slots.get(&current.value())?;
            Some(
                slot.is_live(now)
                    .then(|| f.take().map(|f| f(slot)))
                    .flatten(),
            )
        })
        .flatten()
    }

    /// As [`SessionMap::remove`], for the session of a client number.
    pub fn remove_client(&self, client: u64, now: Millis) -> Option<(Session, bool)> {
        self.follow_client(client, |current| self.remove_exact(current, now))
    }

    /// Calls `attempt` with a client's current ID until it finds the session there, following
    /// the client through rotations in between (each miss means another rotation finished);
    /// `None` when the client has no session.
    fn follow_client<R>(
        &self,
        client: u64,
        mut attempt: impl FnMut(SessionId) -> Option<R>,
    ) -> Option<R> {
        let mut tried = None;
        loop {
            let current = self.clients.get(client)?;
            if tried == Some(current) {
                return None;
            }
            tried = Some(current);
            if let Some(found) = attempt(current) {
                return Some(found);
            }
        }
    }

    /// `id`, or the current ID of the session an old ID in its grace time reaches.
    pub fn resolve(&self, id: SessionId, now: Millis) -> SessionId {
        let shard = self.shard(id).read();
        if shard.slots.contains_key(&id.value()) {
            return id;
        }
        alias_client(&shard, id, now)
            .and_then(|client| self.clients.get(client))
            .unwrap_or(id)
    }

    /// The ID of a client's session, if it is in the map.
    pub fn client_session(&self, client: u64) -> Option<SessionId> {
        self.clients.get(client)
    }

    /// Entries of the client index (one per session held).
    pub fn clients_held(&self) -> usize {
        self.clients.len()
    }

    /// Gives the live session `id` (or the one an old ID reaches) a new random ID, once `f`
    /// (which sees it in place, with its new ID, and may refuse) agrees; the old ID reaches it
    /// until `grace_until` if that is later than `now`. Returns the new ID and `f`'s answer;
    /// `None` when there is no such live session. The session's client number stays.
    pub fn rekey<R>(
        &self,
        id: SessionId,
        now: Millis,
        grace_until: Millis,
        f: impl FnOnce(&Slot, SessionId) -> crate::error::Result<R>,
    ) -> Option<crate::error::Result<(SessionId, R)>> {
        let mut old = self.resolve(id, now);
        loop {
            let new = SessionId::random();
            let (a, b) = (old.shard(SHARDS), new.shard(SHARDS));
            // Both shards for writing, the lower first (one lock when they are the same).
            let mut low = self.shards[a.min(b)].write();
            let mut high = (a != b).then(|| self.shards[a.max(b)].write());
            let (from, to): (&mut ShardData, Option<&mut ShardData>) = match (a.cmp(&b), &mut high)
            {
                (std::cmp::Ordering::Less, Some(high)) => (&mut low, Some(high)),
                (std::cmp::Ordering::Greater, Some(high)) => (high, Some(&mut low)),
                _ => (&mut low, None),
            };
            let taken = match &to {
                Some(to) => to.slots.contains_key(&new.value()),
                None => new == old || from.slots.contains_key(&new.value()),
            };
            if taken {
                continue;
            }
            let Some(slot) = from.slots.get(&old.value()) else {
                // Rotated away in between (another rotation finished): follow it.
                drop(high);
                drop(low);
                let again = self.resolve(id, now);
                if again == old {
                    return None;
                }
                old = again;
                continue;
            };
            if !slot.is_live(now) {
                return None;
            }
            let answer = match f(slot, new) {
                Ok(answer) => answer,
                Err(e) => return Some(Err(e)),
            };
            let mut slot = from.slots.remove(&old.value()).expect("looked up above");
            // Its entries under the old ID go stale, as for a close.
            from.compact_if_stale();
            let client = {
                let session = slot.session_mut();
                session.id = new;
                session.client_id
            };
            if grace_until > now {
                let until = grace_until;
                from.aliases.insert(old.value(), Alias { client, until });
            }
            let to = to.unwrap_or(from);
            to.expiry.file(new.value(), &slot);
            slot.cell.guest_at.store(NEVER, Ordering::Release);
            to.guests
                .file(new.value(), &slot, &slot.cell.session.read());
            to.slots.insert(new.value(), slot);
            self.clients.set(client, new);
            return Some(Ok((new, answer)));
        }
    }

    /// Entries in the map, counting expired ones not yet swept.
    pub fn entries(&self) -> u64 {
        self.entries.load(Ordering::Acquire)
    }

    /// Reserves room for one more entry, unless that would pass `max`.
    pub fn reserve(&self, max: u64) -> bool {
        self.entries
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Inserts a session under a reservation; returns its ID, which is new if (against all
    /// odds) the one it came with was taken.
    /// `inserted` sees the session under the shard's lock, before anyone else can.
    pub fn insert_reserved(
        &self,
        mut session: Session,
        inserted: impl FnOnce(&Session),
    ) -> SessionId {
        loop {
            let id = session.id;
            let mut shard = self.shard(id).write();
            if shard.slots.contains_key(&id.value()) {
                drop(shard);
                session.id = SessionId::random();
                continue;
            }
            inserted(&session);
            self.clients.set(session.client_id, id);
            let slot = Slot::new(session);
            shard.expiry.file(id.value(), &slot);
            shard
                .guests
                .file(id.value(), &slot, &slot.cell.session.read());
            shard.slots.insert(id.value(), slot);
            return id;
        }
    }

    /// Removes `id` (or the session an old ID in its grace time reaches); returns the session
    /// if it was there, and whether it was still live.
    pub fn remove(&self, id: SessionId, now: Millis) -> Option<(Session, bool)> {
        let mut current = self.resolve(id, now);
        loop {
            if let Some(removed) = self.remove_exact(current, now) {
                return Some(removed);
            }
            // Rotated away in between (another rotation finished): follow it.
            let again = self.resolve(id, now);
            if again == current {
                return None;
            }
            current = again;
        }
    }

    /// Removes the session stored under exactly `id`, if it is there.
    fn remove_exact(&self, id: SessionId, now: Millis) -> Option<(Session, bool)> {
        let slot = {
            let mut shard = self.shard(id).write();
            let slot = shard.slots.remove(&id.value())?;
            self.clients.remove(slot.cell.session.read().client_id);
            shard.compact_if_stale();
            slot
        };
        self.entries.fetch_sub(1, Ordering::AcqRel);
        let live = slot.is_live(now);
        Some((slot.into_session(), live))
    }

    /// Files a session again if its expiry moved earlier than where the index has it (a
    /// shorter idle timeout); later moves need nothing.
    pub fn refile_if_earlier(&self, id: SessionId, now: Millis) {
        let id = self.resolve(id, now);
        let mut shard = self.shard(id).write();
        let ShardData { slots, expiry, .. } = &mut *shard;
        if let Some(slot) = slots.get(&id.value()) {
            let expires_at = slot.expires_at();
            if expires_at != NEVER
                && second(expires_at) < slot.cell.filed_at.load(Ordering::Acquire)
            {
                // The older entry goes stale: its second no longer matches `filed_at`.
                expiry.file_at(id.value(), slot, second(expires_at));
            }
        }
    }

    /// Removes every session whose expiry has passed; returns their slots. Only the index
    /// entries of the seconds gone by are read: live sessions among them are filed again,
    /// stale entries dropped. (The sessions stay boxed as the map held them: no copy.)
    pub fn sweep(&self, now: Millis) -> Vec<Slot> {
        let mut removed = Vec::new();
        let due_until = second(now);
        for shard in self.shards.iter() {
            let due = {
                let shard = shard.read();
                let sessions_due = shard
                    .expiry
                    .by_second
                    .first_key_value()
                    .is_some_and(|(at, _)| *at <= due_until);
                sessions_due || !shard.aliases.is_empty()
            };
            if !due {
                continue;
            }
            let mut shard = shard.write();
            let ShardData {
                slots,
                expiry,
                aliases,
                ..
            } = &mut *shard;
            aliases.retain(|_, alias| alias.until > now);
            let later = expiry.by_second.split_off(&(due_until + 1));
            let due = std::mem::replace(&mut expiry.by_second, later);
            for (at, ids) in due {
                expiry.entries -= ids.len();
                for id in ids {
                    let Entry::Occupied(entry) = slots.entry(id) else {
                        continue; // closed since it was filed
                    };
                    let slot = entry.get();
                    if slot.cell.filed_at.load(Ordering::Acquire) != at {
                        continue; // filed again elsewhere since
                    }
                    if slot.is_live(now) {
                        expiry.file(id, slot);
                    } else {
                        removed.push(entry.remove());
                    }
                }
            }
            // The swept sessions' guest entries went stale.
            shard.compact_if_stale();
        }
        // Out of the client index too (each of its shards locked once): no session can take a
        // client number again, so doing it after the shards is safe.
        self.clients.remove_all(
            removed
                .iter()
                .map(|slot| slot.cell.session.read().client_id),
        );
        self.entries
            .fetch_sub(removed.len() as u64, Ordering::AcqRel);
        removed
    }

    /// Calls `f` on every session held, live or not (with its liveness), one shard read-locked
    /// at a time.
    pub fn for_each(&self, now: Millis, mut f: impl FnMut(&Slot, bool)) {
        for shard in self.shards.iter() {
            for slot in shard.read().slots.values() {
                f(slot, slot.is_live(now));
            }
        }
    }

    /// Calls `f` on every live session, one shard read-locked at a time.
    pub fn for_each_live(&self, now: Millis, mut f: impl FnMut(&Slot)) {
        for shard in self.shards.iter() {
            for slot in shard.read().slots.values().filter(|slot| slot.is_live(now)) {
                f(slot);
            }
        }
    }

    /// Files `id` in the guest index if it has become a guest (a grant cleared) and is not
    /// filed there; call it after such a change, with no lock held.
    pub fn file_if_guest(&self, id: SessionId, now: Millis) {
        let id = self.resolve(id, now);
        let mut shard = self.shard(id).write();
        let ShardData { slots, guests, .. } = &mut *shard;
        if let Some(slot) = slots.get(&id.value())
            && slot.cell.guest_at.load(Ordering::Acquire) == NEVER
        {
            guests.file(id.value(), slot, &slot.cell.session.read());
        }
    }

    /// Files every guest that is not filed (after a roles file emptied some grants).
    pub fn file_all_guests(&self) {
        for shard in self.shards.iter() {
            let mut shard = shard.write();
            let ShardData { slots, guests, .. } = &mut *shard;
            for (id, slot) in slots.iter() {
                if slot.cell.guest_at.load(Ordering::Acquire) == NEVER {
                    guests.file(id, slot, &slot.cell.session.read());
                }
            }
        }
    }

    /// Takes out the least recently active live guest (to the second of its last activity),
    /// if there is one: a look at each shard's oldest second, then at the entries there, each
    /// visited once before it is dropped (stale, or no guest any more) or filed again (active
    /// since): a cost that does not grow with the number of sessions. The caller accounts for
    /// the session (it has not ended yet).
    pub fn evict_guest(&self, now: Millis) -> Option<Session> {
        loop {
            let oldest = self
                .shards
                .iter()
                .enumerate()
                .filter_map(|(i, shard)| {
                    let shard = shard.read();
                    shard
                        .guests
                        .by_second
                        .first_key_value()
                        .map(|(at, _)| (*at, i))
                })
                .min()?;
            let mut shard = self.shards[oldest.1].write();
            let ShardData { slots, guests, .. } = &mut *shard;
            let Some(mut entry) = guests.by_second.first_entry() else {
                continue;
            };
            let at = *entry.key();
            let Some(id) = entry.get_mut().pop_front() else {
                entry.remove();
                continue;
            };
            if entry.get().is_empty() {
                entry.remove();
            }
            guests.entries -= 1;
            let Some(slot) = slots.get(&id) else {
                continue; // closed since it was filed
            };
            if slot.cell.guest_at.load(Ordering::Acquire) != at {
                continue; // filed again elsewhere since
            }
            let (guest, active_at) = {
                let session = slot.cell.session.read();
                (session.is_guest(), second(session.last_activity))
            };
            if !guest || !slot.is_live(now) {
                // A grant since, or lapsed (left to the sweep): not a guest to evict.
                slot.cell.guest_at.store(NEVER, Ordering::Release);
                continue;
            }
            if active_at > at {
                let session = slot.cell.session.read();
                guests.file(id, slot, &session);
                continue;
            }
            // Its expiry entry goes stale, as for a close.
            let slot = slots.remove(&id).expect("looked up above");
            self.entries.fetch_sub(1, Ordering::AcqRel);
            let session = slot.into_session();
            self.clients.remove(session.client_id);
            return Some(session);
        }
    }

    /// Removes everything.
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            let mut shard = shard.write();
            self.entries
                .fetch_sub(shard.slots.len() as u64, Ordering::AcqRel);
            *shard = ShardData::default();
        }
        self.clients.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Millis;
    use crate::session::SessionType;

    fn web_session(now: Millis, minutes: i32) -> Session {
        let mut session = Session::for_tests(SessionType::Web, now);
        session.idle_timeout = minutes;
        session
    }

    #[test]
    fn a_change_publishes_where_the_storage_is() {
        let hint = |slot: &Slot| slot.storage_hint.load(Ordering::Relaxed);
        let slot = Slot::new(web_session(0, 10));
        assert_eq!(hint(&slot), 0, "an empty storage is nowhere");
        slot.lock().storage =
            crate::storage::from_root(&serde_json::json!({"n": 1}), 1 << 20).unwrap();
        let at = slot.read().storage.address_hint();
        assert_ne!(at, 0);
        assert_eq!(hint(&slot), at);
        slot.prefetch_storage();
        slot.lock().storage = crate::storage::Storage::default();
        assert_eq!(hint(&slot), 0);
        let mut stored = web_session(0, 10);
        stored.storage = crate::storage::from_root(&serde_json::json!({"a": []}), 1 << 20).unwrap();
        let at = stored.storage.address_hint();
        assert_eq!(hint(&Slot::new(stored)), at, "a new slot has it at once");
    }

    fn filed(map: &SessionMap) -> usize {
        map.shards.iter().map(|s| s.read().expiry.entries).sum()
    }

    #[test]
    fn stale_entries_of_closed_sessions_are_compacted() {
        let map = SessionMap::default();
        for _ in 0..200_000 {
            assert!(map.reserve(u64::MAX));
            let id = map.insert_reserved(web_session(0, 60), |_| {});
            map.remove(id, 0).unwrap();
        }
        assert_eq!(map.entries(), 0);
        // At most 1,024 + 2 × live entries per shard stay behind.
        assert!(filed(&map) <= SHARDS * 1025, "{} entries", filed(&map));
    }

    fn guest_entries(map: &SessionMap) -> usize {
        map.shards.iter().map(|s| s.read().guests.entries).sum()
    }

    #[test]
    fn stale_guest_entries_of_swept_and_rotated_sessions_are_compacted() {
        let map = SessionMap::default();
        for round in 0..100i64 {
            let now = round * 61_000;
            for _ in 0..2_000 {
                assert!(map.reserve(u64::MAX));
                map.insert_reserved(web_session(now, 1), |_| {});
            }
            map.sweep(now + 61_000);
        }
        assert!(
            guest_entries(&map) <= SHARDS * 1025,
            "{} entries",
            guest_entries(&map)
        );
        // 100,000 rotations of 4,000 live sessions leave as many entries under old IDs.
        map.clear();
        for _ in 0..4_000 {
            assert!(map.reserve(u64::MAX));
            let mut id = map.insert_reserved(web_session(0, 60), |_| {});
            for _ in 0..25 {
                id = map.rekey(id, 0, 0, |_, _| Ok(())).unwrap().unwrap().0;
            }
        }
        let bound = 2 * 4_000 + SHARDS * 1025;
        assert!(
            guest_entries(&map) <= bound,
            "{} entries",
            guest_entries(&map)
        );
        assert!(filed(&map) <= bound, "{} entries", filed(&map));
    }

    #[test]
    fn a_sweep_reads_only_the_seconds_gone_by() {
        let map = SessionMap::default();
        for i in 0..10_000 {
            assert!(map.reserve(u64::MAX));
            // 1% expire after 1 minute, the rest after 60.
            map.insert_reserved(web_session(0, if i % 100 == 0 { 1 } else { 60 }), |_| {});
        }
        let due: usize = map
            .shards
            .iter()
            .map(|s| {
                s.read()
                    .expiry
                    .by_second
                    .range(..=second(60_000))
                    .map(|(_, ids)| ids.len())
                    .sum::<usize>()
            })
            .sum();
        assert_eq!(
            due, 100,
            "only the due sessions are under the seconds gone by"
        );
        assert_eq!(map.sweep(60_000).len(), 100);
        assert_eq!(filed(&map), 9_900);
        assert_eq!(map.sweep(60_000).len(), 0);
    }
}

#[cfg(test)]
mod published {
    use std::sync::{Arc, Barrier};

    use super::*;
    use crate::roles::Grant;
    use crate::session::SessionType;

    fn table(names: &[&str]) -> Arc<RolesTable> {
        let privileges: Vec<String> = names
            .iter()
            .map(|n| format!(r#"{{"privilege": "{n}", "includes": []}}"#))
            .collect();
        let text = format!(r#"{{"privileges": [{}]}}"#, privileges.join(","));
        Arc::new(RolesTable::from_json(&text, 64).unwrap())
    }

    #[test]
    fn readers_without_the_lock_never_see_bits_of_one_table_under_another() {
        // "A" is bit 0 of one table and bit 1 of the other: bits read against the wrong
        // table answer "A" wrong.
        let first = table(&["A", "B"]);
        let second = table(&["B", "A"]);
        let mut session = Session::for_tests(SessionType::Web, 0);
        session.grant = Some(Box::new(Grant {
            privileges: vec!["A".to_owned()],
            roles: vec![],
        }));
        session.expand_under(&first);
        let slot = Slot::new(session);
        let a = Query::Text("A");
        assert!(slot.has_privilege(a, KeptPosition::of(a)));
        const SWAPS: usize = 100_000;
        let start = Barrier::new(3);
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                start.wait();
                for i in 0..SWAPS {
                    let table = if i % 2 == 0 { &second } else { &first };
                    slot.lock().expand_under(table);
                }
                done.store(true, Ordering::Release);
            });
            for _ in 0..2 {
                scope.spawn(|| {
                    start.wait();
                    let (mut published, mut reads) = (0u64, 0u64);
                    // Until the swaps end, and at least 200,000 reads.
                    while !done.load(Ordering::Acquire) || reads < 200_000 {
                        match slot.published_privilege(KeptPosition::of(a)) {
                            Some(answer) => {
                                assert!(answer, "bits read against the wrong table");
                                published += 1;
                            }
                            // Keeps the session's table of the moment for this thread.
                            None => assert!(slot.has_privilege(a, KeptPosition::of(a))),
                        }
                        reads += 1;
                    }
                    assert!(published > 0, "no read was answered from the bits");
                });
            }
        });
        // Published again on every change: a session that lost the grant says so at once.
        slot.lock().grant = None;
        slot.lock().expand_under(&first);
        assert_eq!(slot.published_privilege(KeptPosition::of(a)), Some(false));
        assert!(!slot.has_privilege(a, KeptPosition::of(a)));
        let remote = Slot::new(Session::for_tests(SessionType::Remote, 0));
        assert_eq!(
            remote.published_privilege(KeptPosition::of(Query::Text("anything"))),
            Some(true)
        );
    }
}

#[cfg(test)]
mod layout {
    use super::*;
    use crate::session::SessionType;

    #[test]
    fn what_a_request_reads_is_in_the_first_cache_line() {
        // In the map's table: the ID, what a privilege check reads and where the storage is,
        // 56 bytes.
        assert_eq!(std::mem::size_of::<(Key, Slot)>(), 56);
        // What a privilege check reads, with the key, in the entry's first 40 bytes.
        use std::mem::offset_of;
        assert_eq!(offset_of!((Key, Slot), 0), 0);
        let slot = offset_of!((Key, Slot), 1);
        let ends = [
            slot + offset_of!(Slot, expires_at) + 8,
            slot + offset_of!(Slot, privileges) + 8,
            slot + offset_of!(Slot, roles) + 4,
            slot + offset_of!(Slot, sequence) + 4,
        ];
        assert!(ends.iter().all(|&end| end <= 40), "{ends:?}");
        // Behind the box, at most 264 bytes: with malloc's 8-byte header, a 272-byte chunk
        // (the memory target of 512 bytes per empty session at 1,000,000 counts on it: there
        // the tables are on huge pages, 2 MiB for each shard's 1.87 MiB, ~15 bytes a session
        // more, see `table_memory`).
        assert!(
            std::mem::size_of::<Cell>() <= 264,
            "{}",
            std::mem::size_of::<Cell>()
        );
        // Behind the box: the lock and what a request reads under it (its activity, idle
        // timeout and storage; the privileges are in the map's table), in its first 64 bytes.
        let slot = Slot::new(Session::for_tests(SessionType::Web, 0));
        let base = &*slot.cell as *const Cell as usize;
        let session = slot.read();
        let storage = &session.storage as *const _ as usize;
        let end = storage + std::mem::size_of::<crate::storage::Storage>() - base;
        assert!(end <= 64, "the hot fields end at byte {end}");
        let idle = &session.idle_timeout as *const _ as usize - base;
        let activity = &session.last_activity as *const _ as usize - base;
        assert!(idle < 64 && activity < 64, "{idle}, {activity}");
        let lock = &slot.cell.session as *const _ as usize - base;
        assert!(lock < 64, "the lock is at byte {lock}");
    }
}
