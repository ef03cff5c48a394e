//! The interface every store gives the registry (SPEC §11): what a store must do to keep the
//! sessions of a site, and nothing of the rules, which stay in the registry, written once.
//!
//! A store keeps sessions and its own indexes (by client number, by user, by passcode, by
//! expiry), finds the session an operation names, and hands it to the registry's operation:
//! locked in place (memory), or as a copy written back only if the operation changed it and
//! nobody wrote it meanwhile, the operation running again otherwise (Redis). The registry
//! always has this process's store (the storedProcedure and standalone sessions live there in
//! any case); a site configured with another store keeps every other session in it.

use std::any::Any;

use crate::clock::Millis;
use crate::error::Result;
use crate::events::CloseReason;
use crate::id::SessionId;
use crate::registry::{Access, Core, Registry};
use crate::session::Session;
use crate::store::redis::{Key, key_of};

/// Whether an operation may first go on the copy of the session this thread read last (a
/// store that keeps copies: Redis), for a change that writes whenever it succeeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recall {
    No,
    Yes,
}

/// The session an operation is on: one named by its ID (in any store), or one reached by its
/// key in a store that keeps no ID (a client number's, on Redis), whose ID is not known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Id(SessionId),
    Key(Key),
}

impl Target {
    /// The session's key in a store that keeps keys, not IDs.
    pub fn key(self) -> Key {
        match self {
            Target::Id(id) => key_of(id),
            Target::Key(key) => key,
        }
    }

    /// The session's ID, [`SessionId::UNKNOWN`] for one reached by its key.
    pub fn id(self) -> SessionId {
        match self {
            Target::Id(id) => id,
            Target::Key(_) => SessionId::UNKNOWN,
        }
    }
}

/// An operation on one session, as a store runs it (its result kept by the caller).
pub(crate) type Operation<'f> = dyn FnMut(&mut Access<'_>) -> Result<()> + 'f;

/// A rotation's operation: the session, and its new ID.
pub(crate) type Rotation<'f> = dyn FnMut(&mut Access<'_>, SessionId) -> Result<()> + 'f;

/// A change that gives a session another user (see `Registry::as_user_change`).
pub(crate) type UserChange<'f> = dyn FnMut() -> Result<()> + 'f;

/// One store of sessions. Methods that answer `None` did not find the session in this store
/// (the registry then asks the next); `Some(Err(NotFound))` means it is nowhere.
pub(crate) trait Store: Send + Sync {
    /// Holds one deadline for every exchange of a call made of several, until dropped.
    fn scope(&self) -> Option<Box<dyn Any>>;

    /// Runs `f` on the live session `target` (see [`Recall`]).
    fn access(
        &self,
        r: &Registry,
        target: Target,
        recall: Recall,
        f: &mut Operation<'_>,
    ) -> Option<Result<()>>;

    /// Keeps a new session (made by the registry, counted and told by this call: the created
    /// event, and the guest evicted to make room under `maxSessions`); returns its ID.
    fn insert(&self, r: &Registry, session: Session) -> Result<SessionId>;

    /// Takes the session `target` out, closed for `reason` (one that had lapsed is accounted
    /// for as it ended, and is `NotFound`).
    fn end(&self, r: &Registry, target: Target, reason: CloseReason) -> Option<Result<()>>;

    /// Gives the session `id` a new ID, running `f` on it; the old ID reaches it for `grace`
    /// milliseconds. Returns the new ID.
    fn rotate(
        &self,
        r: &Registry,
        id: SessionId,
        grace: Millis,
        f: &mut Rotation<'_>,
    ) -> Option<Result<SessionId>>;

    /// A client number for a session of this process (a storedProcedure or standalone one)
    /// that no session of this store has or will have; `None` where this process's own
    /// numbers are the store's.
    fn new_client_number(&self) -> Result<Option<u64>>;

    /// The live session with client number `client`.
    fn client_session(&self, client: u64) -> Result<Option<Target>>;

    /// The ID of the session `target` names; for one reached by its key, the one `secret` (a
    /// passcode's) opens, if any.
    fn session_id(
        &self,
        r: &Registry,
        target: Target,
        secret: Option<u128>,
    ) -> Result<Option<SessionId>>;

    /// Runs `op`, a change that moves the session `id` (client number `client`) from the user
    /// `old` to `new` (`""`: none), so that `new`'s cap (`Registry::over_cap` decides) holds
    /// exactly whatever runs at once, and the user indexes follow if `op` succeeds. `Ok(false)`:
    /// `new`'s sessions changed meanwhile, and nothing was done (decide again).
    #[allow(clippy::too_many_arguments)]
    fn move_user(
        &self,
        r: &Registry,
        id: SessionId,
        client: u64,
        old: &str,
        new: &str,
        op: &mut UserChange<'_>,
    ) -> Option<Result<bool>>;

    /// `(creation order, row)` of each live session of `user` (rows by `users::user_row`).
    fn user_rows(&self, r: &Registry, user: &str) -> Result<Vec<(u64, String)>>;

    /// Closes every live session of `user` (reason `userLogout`); how many.
    fn user_close(&self, r: &Registry, user: &str) -> Result<u64>;

    /// After the passcode `token` was added to the session `id` (client number `client`) until
    /// `expires`, with `lapsed` passcodes dropped: files it where a store files it afterwards.
    fn passcode_filed(
        &self,
        r: &Registry,
        id: SessionId,
        token: SessionId,
        client: u64,
        expires: Millis,
        lapsed: &[u128],
    ) -> Result<()>;

    /// Takes the passcode `token` out, once: its session's client number, and what the
    /// passcode opens of that session (see [`Store::session_id`]).
    fn take_passcode(&self, token: SessionId) -> Result<Option<(u64, Option<u128>)>>;

    /// Runs `f` on every session this store holds (`true`: live at `now`; a store that drops
    /// what ended by itself gives only live ones).
    fn for_each(&self, r: &Registry, now: Millis, f: &mut dyn FnMut(&Session, bool)) -> Result<()>;

    /// Runs `f` on each live session of this store whose client number is in `clients`.
    fn for_clients(
        &self,
        r: &Registry,
        now: Millis,
        clients: &[u64],
        f: &mut dyn FnMut(&Session),
    ) -> Result<()>;

    /// The ID every host gives the file name `name`; `None` if `max` names have IDs already.
    fn file_id(&self, name: &str, max: usize) -> Result<Option<u32>>;

    /// Live sessions at `now`.
    fn count(&self, now: Millis) -> Result<u64>;

    /// Takes out the sessions whose end `now` has passed, each accounted for as it ended
    /// (`Core::ended`: its event and access-log line queued) by exactly one caller, whichever
    /// host or thread sweeps; how many this call took.
    fn sweep(&self, core: &Core, now: Millis) -> Result<u64>;
}
