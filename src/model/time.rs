//! Time on the wire: ISO-8601 UTC with a `Z`, and parsing of the timestamps agents send.
//!
//! MetaTrader reports broker-local wall time encoded as if it were UTC; [`broker_to_utc`]
//! and [`utc_to_broker`] apply the broker offset (minutes east of UTC) inferred at connect.

use chrono::{DateTime, FixedOffset, SecondsFormat, TimeZone, Utc};

/// `2026-04-21T10:00:00Z`, with a 6-digit fraction only when it is non-zero (upstream).
pub fn format_utc(t: DateTime<Utc>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.to_rfc3339_opts(SecondsFormat::Secs, true)
    } else {
        t.to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

/// Whole UTC seconds since the epoch, formatted. Out-of-range values (a broken terminal)
/// clamp to the epoch rather than fail a whole listing.
pub fn format_epoch(secs: i64) -> String {
    format_utc(Utc.timestamp_opt(secs, 0).single().unwrap_or_default())
}

pub fn broker_to_utc(broker_epoch: i64, offset_minutes: i32) -> i64 {
    broker_epoch - i64::from(offset_minutes) * 60
}

pub fn utc_to_broker(utc_epoch: i64, offset_minutes: i32) -> i64 {
    utc_epoch + i64::from(offset_minutes) * 60
}

/// Why a timestamp argument was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampError {
    /// Not an ISO-8601 / RFC 3339 date-time at all.
    Malformed,
    /// A date-time without a UTC offset: ambiguous, so refused (upstream rule).
    Naive,
}

/// Parses an RFC 3339 timestamp with `Z` or an explicit offset (`2026-04-21T10:00:00Z`,
/// `2026-04-21T13:00:00+03:00`, a `T` or a space between date and time, optional fraction).
/// Naive date-times are recognised separately so the caller can say what is wrong.
pub fn parse_timestamp(raw: &str) -> Result<DateTime<Utc>, TimestampError> {
    let s = raw.trim();
    if s.is_empty() || !s.is_ascii() || s.len() > 64 {
        return Err(TimestampError::Malformed);
    }
    let normalised = s.replace(['z'], "Z");
    if let Ok(t) = DateTime::<FixedOffset>::parse_from_rfc3339(&normalised) {
        return Ok(t.with_timezone(&Utc));
    }
    let spaced = normalised.replacen(' ', "T", 1);
    if let Ok(t) = DateTime::<FixedOffset>::parse_from_rfc3339(&spaced) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d"] {
        let ok = if fmt == "%Y-%m-%d" {
            chrono::NaiveDate::parse_from_str(&spaced, fmt).is_ok()
        } else {
            chrono::NaiveDateTime::parse_from_str(&spaced, fmt).is_ok()
        };
        if ok {
            return Err(TimestampError::Naive);
        }
    }
    Err(TimestampError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_z_and_optional_micros() {
        let t = Utc.timestamp_opt(1_776_765_600, 0).unwrap();
        assert_eq!(format_utc(t), "2026-04-21T10:00:00Z");
        let t = Utc.timestamp_opt(1_795_482_058, 269_069_000).unwrap();
        assert_eq!(format_utc(t), "2026-11-24T01:00:58.269069Z");
        assert_eq!(format_epoch(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn broker_offset_round_trips() {
        assert_eq!(broker_to_utc(10_800, 180), 0);
        assert_eq!(utc_to_broker(0, 180), 10_800);
        assert_eq!(broker_to_utc(0, -300), 18_000);
    }

    #[test]
    fn parses_aware_timestamps_and_refuses_the_rest() {
        use TimestampError::*;
        let ok: &[(&str, i64)] = &[
            ("2026-04-21T10:00:00Z", 1_776_765_600),
            ("2026-04-21T10:00:00z", 1_776_765_600),
            ("2026-04-21T13:00:00+03:00", 1_776_765_600),
            ("2026-04-21 10:00:00Z", 1_776_765_600),
            ("2026-04-21T10:00:00.5Z", 1_776_765_600),
            ("2026-04-21T05:00:00-05:00", 1_776_765_600),
        ];
        for (raw, secs) in ok {
            assert_eq!(
                parse_timestamp(raw).map(|t| t.timestamp()),
                Ok(*secs),
                "{raw}"
            );
        }
        let bad: &[(&str, TimestampError)] = &[
            ("2026-04-21T10:00:00", Naive),
            ("2026-04-21", Naive),
            ("2026-04-21T10:00", Naive),
            ("", Malformed),
            ("yesterday", Malformed),
            ("2026-13-01T00:00:00Z", Malformed),
            ("2026-04-21T25:00:00Z", Malformed),
            ("1776765600", Malformed),
            ("２０２６-04-21T10:00:00Z", Malformed),
        ];
        for (raw, err) in bad {
            assert_eq!(parse_timestamp(raw), Err(*err), "{raw}");
        }
    }
}
