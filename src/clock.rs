//! The registry's clock: the system's, or a manual one that only moves when told to.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

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

    /// Now, for a call that only compares it with times (is a session live): see [`Moment`].
    pub fn moment(&self) -> Moment {
        if self.manual.load(Ordering::Acquire) {
            Moment::Exact(self.manual_now.load(Ordering::Acquire))
        } else {
            Moment::Coarse(crate::os::coarse_realtime_millis().max(0))
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

/// How far behind the precise clock the coarse one may be, at most, with a wide margin: it is
/// the precise clock as of the last timer tick, which comes every 1 to 10 ms.
const COARSE_LAG: Millis = 1000;

/// "Now" for a call that only compares it with times. The precise real-time clock costs a
/// fenced read of the time-stamp counter (about 40 to 60 ns on a virtual machine, most of a
/// `has_privilege`); its coarse reading costs a few nanoseconds and settles every comparison
/// with a time more than [`COARSE_LAG`] away. Only a time closer than that, a session about to
/// expire, reads the precise clock: the answers are those of the precise clock.
#[derive(Clone, Copy, Debug)]
pub enum Moment {
    /// A manual clock's time, or a precise reading.
    Exact(Millis),
    /// The coarse clock's reading.
    Coarse(Millis),
}

impl Moment {
    /// The time read: exact, or the coarse clock's (behind the precise clock by at most a
    /// tick, 1 to 10 ms). Activity is recorded at it: no fenced read of the time-stamp counter
    /// on a request, which would also stop the processor from reaching the next request's
    /// reads before this one's have come back.
    pub fn reading(self) -> Millis {
        match self {
            Moment::Exact(t) | Moment::Coarse(t) => t,
        }
    }

    /// The exact time: this moment's own, or the precise clock read now.
    pub fn exact(self) -> Millis {
        match self {
            Moment::Exact(t) => t,
            Moment::Coarse(_) => system_now(),
        }
    }
}

/// A time that sessions' ends are compared with: an exact one, or a [`Moment`].
pub trait Now: Copy {
    /// Whether this time is before `t`.
    fn is_before(self, t: Millis) -> bool;
}

impl Now for Millis {
    fn is_before(self, t: Millis) -> bool {
        self < t
    }
}

impl Now for Moment {
    fn is_before(self, t: Millis) -> bool {
        match self {
            Moment::Exact(now) => now < t,
            Moment::Coarse(coarse) => {
                if t > coarse.saturating_add(COARSE_LAG) {
                    true
                } else if t <= coarse {
                    // The precise clock is never behind the coarse one.
                    false
                } else {
                    system_now() < t
                }
            }
        }
    }
}

/// The last millisecond of year 9999: dates stay in the four-digit ISO 8601 form.
pub(crate) const MAX_MILLIS: Millis = 253_402_300_799_999;

fn system_now() -> Millis {
    crate::os::realtime_millis().max(0)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the form of every date this library writes (years 1970 to 9999;
/// written by hand: this runs for every info object and event).
pub fn iso8601(ms: Millis) -> String {
    let mut out = String::with_capacity(24);
    push_iso8601(&mut out, ms);
    out
}

/// Appends [`iso8601`]'s text to `out`, allocating nothing else.
pub fn push_iso8601(text: &mut String, ms: Millis) {
    let ms = ms.clamp(0, MAX_MILLIS);
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for slot in out[at..at + width].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, (ms_of_day / 3_600_000) as u32);
    put(14, 2, (ms_of_day / 60_000 % 60) as u32);
    put(17, 2, (ms_of_day / 1000 % 60) as u32);
    put(20, 3, (ms_of_day % 1000) as u32);
    // Only ASCII digits and separators were written.
    text.push_str(std::str::from_utf8(&out).unwrap_or_default());
}

/// Reads an RFC 3339 date (`2026-12-31T23:59:59.999Z`, or with an offset such as `+01:00`, and
/// with up to three digits of a second) as milliseconds since the epoch, between 1970 and 9999:
/// what [`iso8601`] writes reads back to the same millisecond. A finer time, which could not be
/// kept exactly, is refused.
pub fn parse_iso8601(text: &str) -> Result<Millis> {
    let shape = "an RFC 3339 date such as 2026-12-31T23:59:59.999Z";
    let date = chrono::DateTime::parse_from_rfc3339(text).map_err(|e| {
        Error::invalid(format!(
            "\"{}\" is not {shape} ({e})",
            crate::id::truncate_for_message(text)
        ))
    })?;
    if date.timestamp_subsec_nanos() % 1_000_000 != 0 {
        return Err(Error::invalid(format!(
            "\"{}\" is finer than a millisecond, which cannot be kept exactly",
            crate::id::truncate_for_message(text)
        )));
    }
    let ms = date.timestamp_millis();
    if !(0..=MAX_MILLIS).contains(&ms) {
        return Err(Error::invalid(format!(
            "\"{}\" is out of range (1970 to 9999, UTC)",
            crate::id::truncate_for_message(text)
        )));
    }
    Ok(ms)
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (Howard Hinnant's
/// algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coarse_moment_answers_as_the_precise_clock() {
        let coarse = crate::os::coarse_realtime_millis();
        let precise = system_now();
        assert!(coarse <= precise, "the coarse clock is never ahead");
        assert!(precise - coarse < COARSE_LAG, "nor far behind");
        let moment = Moment::Coarse(coarse);
        // Far: settled by the coarse reading.
        assert!(moment.is_before(precise + 5_000));
        assert!(!moment.is_before(coarse));
        assert!(!moment.is_before(coarse - 5_000));
        // Near, after the coarse reading: the precise clock decides. Half a second before
        // the coarse reading's margin ends, but already past by the precise clock.
        let lagging = Moment::Coarse(precise - 800);
        assert!(
            !lagging.is_before(precise - 100),
            "passed by the precise clock"
        );
        assert!(lagging.is_before(precise + 10_000));
        assert!(Moment::Exact(5).is_before(6) && !Moment::Exact(6).is_before(6));
        let manual = Clock::default();
        manual.set_manual(true);
        manual.advance(3_600).unwrap();
        assert!(matches!(manual.moment(), Moment::Exact(t) if t == manual.now()));
    }

    #[test]
    fn matches_chrono_across_the_range() {
        use chrono::{DateTime, SecondsFormat};
        let mut ms: i64 = 0;
        while ms <= MAX_MILLIS {
            let expected = DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339_opts(SecondsFormat::Millis, true);
            assert_eq!(iso8601(ms), expected);
            ms += 86_400_000 * 37 + 3_723_456;
        }
        for ms in [
            951_782_400_000,
            951_868_799_999,
            4_107_542_400_000,
            MAX_MILLIS,
        ] {
            let expected = DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339_opts(SecondsFormat::Millis, true);
            assert_eq!(iso8601(ms), expected);
        }
        assert_eq!(iso8601(-5), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn parses_what_it_writes_and_refuses_what_it_cannot_keep() {
        for ms in [0, 1_725_962_154_787, MAX_MILLIS, 951_868_799_999] {
            assert_eq!(parse_iso8601(&iso8601(ms)).unwrap(), ms);
        }
        assert_eq!(
            parse_iso8601("2024-09-10T11:55:54.787+02:00").unwrap(),
            1_725_962_154_787
        );
        assert_eq!(
            parse_iso8601("2024-09-10T09:55:54Z").unwrap(),
            1_725_962_154_000
        );
        assert_eq!(
            parse_iso8601("2024-09-10T09:55:54.7870Z").unwrap(),
            1_725_962_154_787
        );
        // RFC 3339 lets a space stand for the T.
        assert_eq!(
            parse_iso8601("2024-09-10 09:55:54Z").unwrap(),
            1_725_962_154_000
        );
        for bad in [
            "",
            "2024-09-10",
            "2024-09-10T09:55:54",
            "2024-09-10T09:55:54.7871Z",
            "1969-12-31T23:59:59.999Z",
            "10000-01-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
        ] {
            assert_eq!(
                parse_iso8601(bad).unwrap_err().kind,
                ErrorKind::InvalidArgument,
                "{bad}"
            );
        }
    }

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
