//! The registry's clock: the system's, or a manual one that only moves when told to.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use chrono::{DateTime, SecondsFormat};

use crate::error::{Error, ErrorKind, Result};

/// Milliseconds since the Unix epoch, UTC.
pub(crate) type Millis = i64;

#[derive(Debug, Default)]
pub struct Clock {
    manual: AtomicBool,
    manual_now: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> Millis {
        if self.manual.load(Ordering::Acquire) {
            self.manual_now.load(Ordering::Acquire)
        } else {
            system_now()
        }
    }

    pub fn is_manual(&self) -> bool {
        self.manual.load(Ordering::Acquire)
    }

    /// Switches to a manual clock that starts at the current system time, or back to the system's.
    pub fn set_manual(&self, manual: bool) {
        if manual && !self.is_manual() {
            self.manual_now.store(system_now(), Ordering::Release);
        }
        self.manual.store(manual, Ordering::Release);
    }

    /// Moves a manual clock forward.
    pub fn advance(&self, seconds: i64) -> Result<()> {
        if !self.is_manual() {
            return Err(Error::new(
                ErrorKind::BadState,
                "the clock is the system's; configure {\"clock\": \"manual\"} to advance it",
            ));
        }
        if seconds < 0 {
            return Err(Error::invalid(format!(
                "cannot advance the clock by {seconds} seconds: time does not go back"
            )));
        }
        let delta = seconds
            .checked_mul(1000)
            .ok_or_else(|| Error::invalid(format!("{seconds} seconds is out of range")))?;
        self.manual_now
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                now.checked_add(delta).filter(|t| *t <= MAX_MILLIS)
            })
            .map(|_| ())
            .map_err(|_| Error::invalid(format!("advancing by {seconds} seconds is out of range")))
    }
}

/// The last millisecond of year 9999: dates stay in the four-digit ISO 8601 form.
pub(crate) const MAX_MILLIS: Millis = 253_402_300_799_999;

fn system_now() -> Millis {
    crate::os::realtime_millis().max(0)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the form of every date this library writes.
pub fn iso8601(ms: Millis) -> String {
    match DateTime::from_timestamp_millis(ms.min(MAX_MILLIS)) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => "1970-01-01T00:00:00.000Z".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_4d() {
        assert_eq!(iso8601(1_725_962_154_787), "2024-09-10T09:55:54.787Z");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(MAX_MILLIS), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn manual_clock_moves_only_forward_when_told() {
        let clock = Clock::default();
        assert_eq!(clock.advance(1).unwrap_err().kind, ErrorKind::BadState);
        clock.set_manual(true);
        let start = clock.now();
        clock.advance(90).unwrap();
        assert_eq!(clock.now(), start + 90_000);
        assert_eq!(
            clock.advance(-1).unwrap_err().kind,
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            clock.advance(i64::MAX).unwrap_err().kind,
            ErrorKind::InvalidArgument
        );
        assert_eq!(clock.now(), start + 90_000);
    }
}
