//! Where sessions live: in this process's memory (the default: the sharded map of
//! `session_map`, see `memory`), or in Redis, shared by every host that names the same server
//! and prefix (`redis`, the client, and `redis_site`, what the registry asks of it).
//!
//! The rules (privilege expansion, identifiers, timeouts, events, limits) are the registry's,
//! written once above the stores, which it reaches through one interface (`site::Store`): the
//! Redis store keeps each session as a record that the registry reads, changes with the same
//! code as a session in memory, and writes back only if nobody else wrote it meanwhile. A
//! third store is a module here, a variant of [`StoreSettings`] and its `open`.

pub mod memory;
pub mod notices;
pub mod record;
pub mod redis;
pub mod redis_site;
pub mod site;

use std::sync::Arc;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::registry::Core;
use site::Store;

/// `configure`'s `store` object.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum StoreSettings {
    #[default]
    Memory,
    Redis(RedisSettings),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisSettings {
    /// The server, or (with `sentinels`) "" and the primary found through Sentinel.
    pub url: String,
    /// `host:port` of each Sentinel that watches the site's primary, named `service`.
    pub sentinels: Vec<String>,
    pub service: String,
    /// A PEM file of the certificates that `rediss://` servers are checked against, in place of
    /// the system's.
    pub ca_file: Option<String>,
    /// Put before every key the library writes.
    pub prefix: String,
    /// No call waits for Redis longer than this.
    pub timeout_ms: u64,
}

pub(crate) const DEFAULT_PREFIX: &str = "sessmgr:";
pub(crate) const DEFAULT_TIMEOUT_MS: u64 = 2000;
pub(crate) const TIMEOUT_MS_RANGE: (i64, i64) = (1, 60_000);
pub(crate) const MAX_PREFIX_BYTES: usize = 256;
pub(crate) const MAX_SENTINELS: usize = 16;

/// `host:port`, the port a number.
fn is_address(text: &str) -> bool {
    text.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty() && host.len() <= 255 && port.parse::<u16>().is_ok_and(|p| p > 0)
    })
}

impl StoreSettings {
    /// The store these settings name, connected: `None` for memory (every registry has its
    /// own); a store that does not answer is `Unavailable`.
    pub(crate) fn open(&self, core: &Arc<Core>) -> Result<Option<Arc<dyn Store>>> {
        match self {
            StoreSettings::Memory => Ok(None),
            StoreSettings::Redis(settings) => {
                let store = Arc::new(redis::RedisStore::open(settings)?);
                let listener = store.listen(core)?;
                Ok(Some(Arc::new(redis_site::RedisSite {
                    store,
                    _listener: listener,
                })))
            }
        }
    }

    /// `{"kind": "memory"}` or `{"kind": "redis", "url": …, "prefix": …, "timeoutMs": …}`.
    pub fn parse(value: &Value) -> Result<StoreSettings> {
        let Value::Object(fields) = value else {
            return Err(Error::invalid(
                "\"store\" must be an object: {\"kind\": \"memory\"} or {\"kind\": \"redis\", \"url\": …}",
            ));
        };
        let kind = match fields.get("kind").map(Value::as_str) {
            Some(Some(kind @ ("memory" | "redis"))) => kind,
            None => return Err(Error::invalid("\"store\": \"kind\" is required")),
            Some(_) => {
                return Err(Error::invalid(
                    "\"store\": \"kind\" must be \"memory\" or \"redis\"",
                ));
            }
        };
        let mut url = None;
        let (mut sentinels, mut service, mut ca_file) = (None, None, None);
        let mut prefix = DEFAULT_PREFIX.to_owned();
        let mut timeout_ms = DEFAULT_TIMEOUT_MS;
        for (key, value) in fields {
            match (kind, key.as_str()) {
                (_, "kind") => {}
                ("redis", "url") => match value.as_str() {
                    Some(u)
                        if u.starts_with("redis://")
                            || u.starts_with("rediss://")
                            || u.starts_with("unix://") =>
                    {
                        url = Some(u.to_owned())
                    }
                    // The URL may hold a password: it is not repeated.
                    _ => {
                        return Err(Error::invalid(
                            "\"store\": \"url\" must be a string starting redis://, rediss:// or unix://",
                        ));
                    }
                },
                ("redis", "sentinels") => match value.as_array() {
                    Some(list)
                        if !list.is_empty()
                            && list.len() <= MAX_SENTINELS
                            && list.iter().all(|a| a.as_str().is_some_and(is_address)) =>
                    {
                        sentinels = Some(
                            list.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect(),
                        )
                    }
                    _ => {
                        return Err(Error::invalid(format!(
                            "\"store\": \"sentinels\" must be an array of 1 to {MAX_SENTINELS} \
                             \"host:port\" strings"
                        )));
                    }
                },
                ("redis", "service") => match value.as_str() {
                    Some(name) if !name.is_empty() && name.len() <= 255 => {
                        service = Some(name.to_owned())
                    }
                    _ => {
                        return Err(Error::invalid(
                            "\"store\": \"service\" must be the name Sentinel knows the primary by (1 to 255 bytes)",
                        ));
                    }
                },
                ("redis", "caFile") => match value.as_str() {
                    Some(path) if !path.is_empty() && path.len() <= 4096 => {
                        ca_file = Some(path.to_owned())
                    }
                    _ => {
                        return Err(Error::invalid(
                            "\"store\": \"caFile\" must be the path of a PEM file (1 to 4,096 bytes)",
                        ));
                    }
                },
                ("redis", "prefix") => match value.as_str() {
                    Some(p) if p.len() <= MAX_PREFIX_BYTES => prefix = p.to_owned(),
                    _ => {
                        return Err(Error::invalid(format!(
                            "\"store\": \"prefix\" must be a string of at most {MAX_PREFIX_BYTES} bytes"
                        )));
                    }
                },
                ("redis", "timeoutMs") => {
                    timeout_ms =
                        crate::settings::integer("store.timeoutMs", value, TIMEOUT_MS_RANGE)? as u64
                }
                (_, other) => {
                    return Err(Error::invalid(format!(
                        "\"store\": unknown key \"{}\" for kind {kind} (expected {})",
                        crate::id::truncate_for_message(other),
                        if kind == "redis" {
                            "kind, url, sentinels, service, caFile, prefix, timeoutMs"
                        } else {
                            "kind"
                        }
                    )));
                }
            }
        }
        if kind == "memory" {
            return Ok(StoreSettings::Memory);
        }
        let (url, sentinels, service) = match (url, sentinels, service) {
            (Some(url), None, None) => (url, Vec::new(), String::new()),
            (None, Some(sentinels), Some(service)) => (String::new(), sentinels, service),
            (None, None, None) => {
                return Err(Error::invalid(
                    "\"store\": \"url\" (or \"sentinels\" and \"service\") is required for redis",
                ));
            }
            (Some(_), _, _) => {
                return Err(Error::invalid(
                    "\"store\": \"url\" names one server; with Sentinel, give \"sentinels\" and \"service\" instead",
                ));
            }
            _ => {
                return Err(Error::invalid(
                    "\"store\": \"sentinels\" and \"service\" go together",
                ));
            }
        };
        if ca_file.is_some() && !url.starts_with("rediss://") {
            return Err(Error::invalid(
                "\"store\": \"caFile\" is for a rediss:// (TLS) url",
            ));
        }
        Ok(StoreSettings::Redis(RedisSettings {
            url,
            sentinels,
            service,
            ca_file,
            prefix,
            timeout_ms,
        }))
    }
}
