//! Other hosts told (the Redis store): every end of a session (closed, expired, disconnected,
//! evicted), every rotation and every disconnection begun is appended by the host that made it
//! to one Redis stream under the prefix, `{prefix}events`, as the event's JSON without the
//! session's ID (`"ID": ""`, `"previousID": ""`: the stream is Redis', which never holds a
//! bearer token) and with `"host"`, the host that made it. Each host reads the stream from the
//! moment it configured the store, on a thread and connection of its own, and hands the others'
//! notices to its event handler (never to its access log: the host that made the change logged
//! it).
//!
//! Guarantee: a host gets each notice appended while it is configured once, in the stream's
//! order, including those appended while it had lost Redis, as long as the stream still holds
//! them (the last [`KEPT`], about). A host that was not running misses what happened meanwhile.
//! A notice is appended after the change it tells of, in a second exchange: a host that fails
//! between the two (killed, or Redis lost at that moment) leaves the change untold to the
//! others, who find out at their next call on the session.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::streams::StreamReadReply;

use super::redis::{Deadline, RedisStore};
use crate::events::Event;
use crate::registry::Core;

/// Notices the stream keeps, about (`XADD … MAXLEN ~`).
pub(crate) const KEPT: u64 = 10_000;

/// How long one read of the stream waits for a notice before the listener checks whether it
/// should stop: a store dropped is let go of within this.
const BLOCK: Duration = Duration::from_millis(300);

/// How long the listener waits before connecting again, after Redis failed it.
const RETRY: Duration = Duration::from_millis(200);

/// Stops the listener when dropped.
pub struct Listener {
    stop: Arc<AtomicBool>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

impl RedisStore {
    fn events_key(&self) -> String {
        format!("{}events", self.prefix())
    }

    /// Appends `events` to the stream as this host's notices; one round trip (none for none).
    pub fn publish(&self, deadline: Deadline, events: &[Event]) -> crate::error::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let key = self.events_key();
        self.run(deadline, false, |c| {
            let mut pipe = redis::pipe();
            for event in events {
                pipe.cmd("XADD")
                    .arg(&key)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(KEPT)
                    .arg("*")
                    .arg("h")
                    .arg(self.instance())
                    .arg("e")
                    .arg(event.notice(self.host()))
                    .ignore();
            }
            pipe.query::<()>(c)
        })
    }

    /// Starts reading the stream from now on (the last notice it holds is the last one this
    /// host is not told), on a thread that hands the others' notices to `core`'s handler.
    pub fn listen(self: &Arc<Self>, core: &Arc<Core>) -> crate::error::Result<Listener> {
        let key = self.events_key();
        let last: Vec<(String, redis::Value)> = self.run(self.deadline(), true, |c| {
            redis::cmd("XREVRANGE")
                .arg(&key)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query(c)
        })?;
        let mut last = last
            .into_iter()
            .next()
            .map_or_else(|| "0-0".to_owned(), |(id, _)| id);
        let stop = Arc::new(AtomicBool::new(false));
        // Not kept alive by this thread: a registry dropped (whose core holds this store) ends it.
        let (store, core, stopped) = (Arc::clone(self), Arc::downgrade(core), Arc::clone(&stop));
        let read = move || {
            let mut connection = None;
            while !stopped.load(Ordering::Acquire) {
                let c = match connection.as_mut() {
                    Some(c) => c,
                    None => match store.listening_connection(BLOCK * 4) {
                        Ok(c) => connection.insert(c),
                        Err(_) => {
                            std::thread::sleep(RETRY);
                            continue;
                        }
                    },
                };
                let reply: redis::RedisResult<Option<StreamReadReply>> = redis::cmd("XREAD")
                    .arg("COUNT")
                    .arg(256)
                    .arg("BLOCK")
                    .arg(BLOCK.as_millis() as u64)
                    .arg("STREAMS")
                    .arg(&key)
                    .arg(&last)
                    .query(c);
                let Ok(reply) = reply else {
                    connection = None;
                    std::thread::sleep(RETRY);
                    continue;
                };
                let Some(core) = core.upgrade() else {
                    return;
                };
                let mut told = false;
                for entry in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
                    last = entry.id.clone();
                    let from: Option<String> = entry.get("h");
                    let json: Option<String> = entry.get("e");
                    if let (Some(from), Some(json)) = (from, json)
                        && from != store.instance()
                        && core.events.listening()
                        && !stopped.load(Ordering::Acquire)
                    {
                        core.events.push(Event::relayed(json));
                        told = true;
                    }
                }
                // Only when it brought something: delivering, this thread would deliver the
                // host's own events of the moment too (whoever drains delivers all queued).
                if told {
                    core.events.drain();
                }
            }
        };
        crate::os::spawn_without_signals(
            std::thread::Builder::new().name("sessmgr-notices".to_owned()),
            read,
        )
        .map_err(|e| {
            crate::error::Error::new(
                crate::error::ErrorKind::Internal,
                format!("could not start the thread that reads other hosts' notices: {e}"),
            )
        })?;
        Ok(Listener { stop })
    }
}
