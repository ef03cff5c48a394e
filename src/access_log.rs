//! The access log, in FileMaker Server's `Access.log` form: one header line, then one
//! tab-separated line per event, `TIMESTAMP  LEVEL  CODE  HOST  MESSAGE`. Every value is escaped,
//! so that nothing a client sends can break a line or forge one. At its size limit the file is
//! renamed `<name>-old<.ext>` (`Access-old.log`), replacing an older one, and a new one starts.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::DateTime;

use crate::clock::Millis;

pub const HEADER: &str = "Timestamp\tLevel\tCode\tHost\tMessage\n";

/// Where and how big: the `accessLog` object of `configure`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessLogSettings {
    pub path: PathBuf,
    pub host_name: String,
    pub max_bytes: u64,
}

pub(crate) const DEFAULT_MAX_BYTES: u64 = 10 << 20;
pub(crate) const MAX_BYTES_RANGE: (i64, i64) = (1024, 1 << 40);

/// An open access log. A write that fails is counted by the caller and never fails the
/// operation that caused it; the next write tries again (re-opening the file if need be).
pub struct AccessLog {
    settings: AccessLogSettings,
    file: Option<File>,
    size: u64,
    /// The last failure, for `stats`.
    pub last_error: Option<String>,
}

impl AccessLog {
    /// Opens (or creates) the log; a failure is kept in `last_error` and retried on each write.
    pub fn open(settings: AccessLogSettings) -> AccessLog {
        let mut log = AccessLog {
            settings,
            file: None,
            size: 0,
            last_error: None,
        };
        log.ensure_open();
        log
    }

    fn ensure_open(&mut self) -> bool {
        if self.file.is_some() {
            return true;
        }
        let opened = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.settings.path)
            .and_then(|mut file| {
                let size = file.metadata()?.len();
                if size == 0 {
                    file.write_all(HEADER.as_bytes())?;
                }
                Ok((file, size.max(HEADER.len() as u64)))
            });
        match opened {
            Ok((file, size)) => {
                self.file = Some(file);
                self.size = size;
                true
            }
            Err(e) => self.fail(format!("cannot open {}: {e}", self.settings.path.display())),
        }
    }

    fn fail(&mut self, message: String) -> bool {
        self.file = None;
        self.last_error = Some(message);
        false
    }

    /// Writes one line; `false` if it could not be written.
    pub fn write(&mut self, time: Millis, code: u32, message: &str) -> bool {
        let mut line = String::with_capacity(64 + message.len());
        line.push_str(&timestamp(time));
        line.push_str("\tInformation\t");
        line.push_str(&code.to_string());
        line.push('\t');
        escape_into(&mut line, &self.settings.host_name);
        line.push('\t');
        line.push_str(message);
        line.push('\n');
        if !self.ensure_open() {
            return false;
        }
        if self.size > HEADER.len() as u64
            && self.size + line.len() as u64 > self.settings.max_bytes
            && !self.rotate()
        {
            return false;
        }
        let Some(file) = self.file.as_mut() else {
            return false;
        };
        // One write call per line: the file only ever holds whole lines.
        match file.write_all(line.as_bytes()) {
            Ok(()) => {
                self.size += line.len() as u64;
                true
            }
            Err(e) => self.fail(format!(
                "cannot write {}: {e}",
                self.settings.path.display()
            )),
        }
    }

    fn rotate(&mut self) -> bool {
        self.file = None;
        let old = old_path(&self.settings.path);
        if let Err(e) = std::fs::rename(&self.settings.path, &old) {
            return self.fail(format!(
                "cannot rename {} to {}: {e}",
                self.settings.path.display(),
                old.display()
            ));
        }
        self.ensure_open()
    }
}

/// `Access.log` → `Access-old.log`, in the same directory.
pub fn old_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-old.{}", ext.to_string_lossy()),
        None => format!("{stem}-old"),
    };
    path.with_file_name(name)
}

/// `2026-11-22 10:04:12.581 +0000`.
pub fn timestamp(ms: Millis) -> String {
    match DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.3f +0000").to_string(),
        None => "1970-01-01 00:00:00.000 +0000".to_owned(),
    }
}

/// Appends `value` with `\` `"` tab, line breaks and every other control or line-separating
/// character escaped: the result holds no tab, no line break and no unescaped quote.
pub fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = std::fmt::Write::write_fmt(out, format_args!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
}

/// A quoted, escaped value: `"…"`.
pub fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    escape_into(&mut out, value);
    out.push('"');
    out
}

/// The inverse of [`escape_into`], for readers of the log (and its tests).
pub fn unescape(escaped: &str) -> Option<String> {
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            't' => out.push('\t'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips_and_leaves_no_separator() {
        let nasty = "a\"b\\c\td\ne\rf\u{0}g\u{1b}h\u{85}i\u{2028}j\\n\\\"\\u0041";
        let mut out = String::new();
        escape_into(&mut out, nasty);
        assert!(
            !out.contains(['\t', '\n', '\r', '\u{85}', '\u{2028}']),
            "{out:?}"
        );
        assert!(!out.replace("\\\"", "").contains('"'), "{out:?}");
        assert_eq!(unescape(&out).as_deref(), Some(nasty));
    }

    #[test]
    fn old_log_name() {
        assert_eq!(
            old_path(Path::new("/var/log/Access.log")),
            Path::new("/var/log/Access-old.log")
        );
        assert_eq!(
            old_path(Path::new("log/access")),
            Path::new("log/access-old")
        );
    }

    #[test]
    fn timestamps_like_filemaker() {
        assert_eq!(
            timestamp(1_725_962_154_787),
            "2024-09-10 09:55:54.787 +0000"
        );
    }
}
