//! What administrators and the host see and are told: files, listings, events, statistics.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Registry;
use crate::client::{AttachedFile, FileRequest};
use crate::clock::Millis;
use crate::error::{Error, ErrorKind, Result};
use crate::events::{Detail, End, EventHandler, EventKind};
use crate::id::{SessionId, truncate_for_message};
use crate::listing_query::ListingQuery;
use crate::session::{Session, SessionType};

impl Registry {
    /// A page of the sessions list for people to see: `{"sessions": [info, …], "total",
    /// "offset", "limit"}`, the live sessions that pass the query's filters, oldest first,
    /// `offset` of them skipped and at most `limit` given; `total` is how many passed. Each
    /// info object has the client number, `clientId`, in place of the session ID. Every live
    /// session is scanned (its lock taken, a few fields compared); only the page's rows are
    /// written.
    pub fn sessions_query(&self, query: Option<&str>) -> Result<String> {
        let query = self.listing_query(query)?;
        let (rows, total) = self.page(
            &query,
            |_| true,
            |session, _, out| session.info_json_for_people(out),
        )?;
        Ok(format!(
            "{{\"sessions\":[{}],\"total\":{total},\"offset\":{},\"limit\":{}}}",
            rows.join(","),
            query.offset,
            query.limit
        ))
    }

    /// A page of FileMaker's *List Clients* (standalone sessions are no clients):
    /// `{"response": {"clients": […], "total", "offset", "limit"}, "messages": [{"code": "0"}]}`,
    /// as [`Registry::sessions_query`] pages the sessions.
    pub fn clients_query(&self, query: Option<&str>) -> Result<String> {
        let query = self.listing_query(query)?;
        let (rows, total) = self.page(
            &query,
            |session| session.kind != SessionType::Standalone,
            |session, now, out| session.client_json(now, out),
        )?;
        Ok(format!(
            "{{\"response\":{{\"clients\":[{}],\"total\":{total},\"offset\":{},\"limit\":{}}},\
             \"messages\":[{{\"code\":\"0\"}}]}}",
            rows.join(","),
            query.offset,
            query.limit
        ))
    }

    fn listing_query(&self, text: Option<&str>) -> Result<ListingQuery> {
        text.map_or_else(
            || Ok(ListingQuery::default()),
            |text| ListingQuery::parse(text, self.live.max_json_depth()),
        )
    }

    /// The rows of one page of the live sessions that `listed` and the query's filters pass,
    /// oldest first, and how many passed. The scan keeps only the order of each match; rows
    /// are written for the page alone, its sessions found again by client number (a session
    /// gone meanwhile leaves its row out).
    fn page(
        &self,
        query: &ListingQuery,
        listed: impl Fn(&Session) -> bool,
        row: impl Fn(&Session, Millis, &mut String),
    ) -> Result<(Vec<String>, u64)> {
        let now = self.now();
        let mut matches: Vec<Order> = Vec::new();
        self.for_each_session(now, |session| {
            if listed(session) && query.matches(session) {
                matches.push(order_of(session));
            }
        })?;
        matches.sort_unstable();
        // A session rotated during the scan moves shards and may be met twice: once is enough.
        matches.dedup();
        let page: Vec<Order> = matches
            .iter()
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(query.limit as usize)
            .copied()
            .collect();
        let clients: Vec<u64> = page.iter().map(|&(_, client, _)| client).collect();
        let mut rows: HashMap<Order, String> = HashMap::with_capacity(page.len());
        self.each_store(|store| {
            store.for_clients(self, now, &clients, &mut |session| {
                let order = order_of(session);
                if page.binary_search(&order).is_ok() {
                    let mut out = String::with_capacity(400);
                    row(session, now, &mut out);
                    rows.insert(order, out);
                }
            })
        })?;
        let rows = page.iter().filter_map(|order| rows.remove(order)).collect();
        Ok((rows, matches.len() as u64))
    }

    /// `{"sessions": [info, …]}`, oldest first.
    pub fn sessions_list(&self) -> Result<String> {
        self.listing("{\"sessions\":[", "]}", |session, _, out| {
            session.info_json(out);
            true
        })
    }

    /// Each live session's row (those `row` writes and returns true for), oldest first,
    /// comma-separated between `open` and `close`.
    fn listing(
        &self,
        open: &str,
        close: &str,
        mut row: impl FnMut(&Session, Millis, &mut String) -> bool,
    ) -> Result<String> {
        let now = self.now();
        let mut rows: Vec<(Order, String)> = Vec::new();
        self.for_each_session(now, |session| {
            let mut text = String::with_capacity(400);
            if row(session, now, &mut text) {
                rows.push((order_of(session), text));
            }
        })?;
        rows.sort_unstable_by_key(|&(order, _)| order);
        // A session rotated during the scan moves shards and may be met twice: once is enough.
        rows.dedup_by_key(|&mut (order, _)| order);
        let mut out = String::with_capacity(
            open.len() + close.len() + rows.iter().map(|r| r.1.len() + 1).sum::<usize>(),
        );
        out.push_str(open);
        for (i, (_, text)) in rows.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(text);
        }
        out.push_str(close);
        Ok(out)
    }

    /// Runs `f` on every live session of every store (in memory under its lock; from a
    /// store that keeps copies, on copies).
    fn for_each_session(&self, now: Millis, mut f: impl FnMut(&Session)) -> Result<()> {
        self.each_store(|store| {
            store.for_each(self, now, &mut |session, live| {
                if live {
                    f(session)
                }
            })
        })
    }

    // ----- files, listings, events, statistics ---------------------------------------------

    /// A client opens a file (a hosted app): `{"filename", "accountName", "privsetName"}`.
    /// The same file name has the same ID for every client.
    pub fn attach_file(&self, id: SessionId, file_json: &str) -> Result<()> {
        let request = FileRequest::parse(file_json, self.live.max_json_depth())?;
        let max_files = self.live.max_attached_files();
        let _scope = self.scope();
        self.change(id, |a| {
            if a.session.kind == SessionType::Standalone {
                return Err(Error::not_supported(
                    "a standalone session is a local file: it attaches no hosted file",
                ));
            }
            if a.session
                .files()
                .iter()
                .any(|f| f.filename == request.filename)
            {
                return Err(Error::new(
                    ErrorKind::BadState,
                    format!(
                        "\"{}\" is already attached to this session",
                        truncate_for_message(&request.filename)
                    ),
                ));
            }
            if a.session.files().len() >= max_files {
                return Err(Error::limit(format!(
                    "the session has {} files attached: maxAttachedFiles ({max_files}) is reached",
                    a.session.files().len()
                )));
            }
            let file_id = self.file_id(&request.filename)?;
            let file = AttachedFile {
                file_id,
                filename: request.filename.clone(),
                account_name: request
                    .account_name
                    .clone()
                    .unwrap_or_else(|| a.session.details.user_name.to_string()),
                privset_name: request.privset_name.clone(),
            };
            self.core
                .emit(EventKind::FileAttached, &a.session, a.now(), || {
                    file_detail(&file)
                });
            a.session.extras_mut().files.push(file);
            a.activity();
            Ok(())
        })
    }

    /// The ID of a file name, given on first use; `LimitExceeded` if it would be a new name
    /// beyond `maxFileNames`.
    fn file_id(&self, filename: &str) -> Result<u32> {
        let max = self.live.max_file_names();
        self.with_site(|store| store.file_id(filename, max))?
            .ok_or_else(|| {
                Error::limit(format!(
                    "{max} file names have IDs: maxFileNames is reached (they are kept until \
                     reset, or for as long as the site's store keeps them)"
                ))
            })
    }

    /// A client closes a file; `NoValue` if it has no file of that name open.
    pub fn detach_file(&self, id: SessionId, filename: &str) -> Result<()> {
        self.change(id, |a| {
            let Some(at) = a
                .session
                .files()
                .iter()
                .position(|f| f.filename == filename)
            else {
                return Err(Error::new(
                    ErrorKind::NoValue,
                    format!(
                        "no file \"{}\" is attached to this session",
                        truncate_for_message(filename)
                    ),
                ));
            };
            let file = a.session.extras_mut().files.remove(at);
            self.core
                .emit(EventKind::FileDetached, &a.session, a.now(), || {
                    file_detail(&file)
                });
            a.activity();
            Ok(())
        })
    }

    /// FileMaker's Admin API *List Clients*: every live session but standalone ones (local
    /// files are nobody's client), oldest first.
    pub fn clients_list(&self) -> Result<String> {
        self.listing(
            "{\"response\":{\"clients\":[",
            "]},\"messages\":[{\"code\":\"0\"}]}",
            |session, now, out| {
                let client = session.kind != SessionType::Standalone;
                if client {
                    session.client_json(now, out);
                }
                client
            },
        )
    }

    /// The host's event handler (`None` removes it). It gets each event's JSON, once, in order
    /// for any one session, with no registry lock held; it may call back into the registry.
    pub fn set_event_handler(&self, handler: Option<EventHandler>) {
        self.core.events.set_handler(handler);
    }

    /// Live sessions by type, and counters since the start (or the last reset).
    pub fn stats(&self) -> Result<String> {
        let mut live = [0u64; 5];
        // Sessions that lapsed and are not swept yet count as they ended.
        let (mut closed_unswept, mut expired_unswept) = (0, 0);
        let now = self.now();
        self.each_store(|store| {
            store.for_each(self, now, &mut |session, is_live| {
                if is_live {
                    live[type_index(session.kind)] += 1;
                } else if let End::Expired(_) = session.lapsed_end() {
                    expired_unswept += 1;
                } else {
                    closed_unswept += 1;
                }
            })
        })?;
        let c = &self.core.counters;
        let load = |counter: &AtomicU64| counter.load(Ordering::Acquire);
        let mut out = String::from("{\"live\":{");
        for (i, kind) in SessionType::ALL.iter().enumerate() {
            let _ = write!(out, "\"{}\":{},", kind.name(), live[i]);
        }
        let _ = write!(
            out,
            "\"total\":{}}},\"created\":{},\"closed\":{},\"expired\":{},\"identifierChanges\":{},\
             \"accessLogWriteFailures\":{},\"eventsDelivered\":{},\"accessLogError\":",
            live.iter().sum::<u64>(),
            load(&c.created),
            load(&c.closed) + closed_unswept,
            load(&c.expired) + expired_unswept,
            load(&c.identifier_changes),
            load(&self.core.events.log_failures),
            load(&self.core.events.delivered),
        );
        match self.core.events.log_error() {
            Some(error) => crate::json_text::push_string(&mut out, &error),
            None => out.push_str("null"),
        }
        out.push('}');
        Ok(out)
    }
}

/// Where a session comes in a listing: its creation order, then (a storedProcedure or
/// standalone session of this process beside the shared store's) its client number and type.
type Order = (u64, u64, &'static str);

fn order_of(session: &Session) -> Order {
    (session.sequence, session.client_id, session.kind.name())
}

fn type_index(kind: SessionType) -> usize {
    SessionType::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(0)
}

fn file_detail(file: &AttachedFile) -> Detail {
    Detail::File {
        filename: file.filename.clone(),
        account_name: file.account_name.clone(),
        privset_name: file.privset_name.clone(),
    }
}
