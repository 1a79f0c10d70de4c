//! Broker time-zone inference.
//!
//! MetaTrader reports broker-local wall time encoded as epoch seconds, and the API has no
//! call that states the broker's offset. Like upstream we infer it at connect: from the
//! terminal's own clock when a build exposes one, else from fresh ticks of liquid symbols,
//! rounding to the nearest quarter hour with ties to even (Python's `round`).

/// Symbols probed, in order, when the terminal exposes no clock.
pub const PROBE_SYMBOLS: [&str; 6] = ["BTCUSD", "ETHUSD", "EURUSD", "XAUUSD", "USDJPY", "GBPUSD"];

/// A tick older than this is not evidence of the current offset.
const MAX_TICK_AGE_SECS: i64 = 300;
/// The widest real offset is UTC+14:00.
const MAX_OFFSET_MINUTES: i64 = 840;

/// `(broker_epoch − now) / 60 / 15`, rounded half to even, times 15.
pub fn quarter_hours(broker_epoch: i64, now_utc: i64) -> i64 {
    let quarters = (broker_epoch - now_utc) as f64 / 60.0 / 15.0;
    quarters.round_ties_even() as i64 * 15
}

/// Offset from the terminal's own clock (`terminal_info().time`), taken as is (upstream:
/// no sanity check, the terminal is authoritative about itself).
pub fn from_terminal_clock(time: Option<i64>, now_utc: i64) -> Option<i32> {
    match time {
        Some(t) if t != 0 => Some(quarter_hours(t, now_utc) as i32),
        _ => None,
    }
}

/// Offset from one tick time, accepted only if plausible and fresh under that offset.
pub fn from_tick(tick_time: i64, now_utc: i64) -> Option<i32> {
    if tick_time == 0 {
        return None;
    }
    let candidate = quarter_hours(tick_time, now_utc);
    if candidate.abs() > MAX_OFFSET_MINUTES {
        return None;
    }
    let age = (tick_time - candidate * 60 - now_utc).abs();
    (age <= MAX_TICK_AGE_SECS).then_some(candidate as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_776_765_600; // 2026-04-21T10:00:00Z

    #[test]
    fn rounds_to_quarter_hours_with_ties_to_even() {
        let table: &[(i64, i64)] = &[
            (0, 0),
            (180 * 60, 180),
            (180 * 60 - 20, 180),
            (-300 * 60 + 40, -300),
            (7 * 60 + 30, 0),   // 7.5 min = 0.5 quarter -> 0 (even)
            (22 * 60 + 30, 30), // 22.5 min = 1.5 quarters -> 2 quarters
            (37 * 60 + 30, 30), // 2.5 quarters -> 2
            (-(7 * 60 + 30), 0),
            (-(22 * 60 + 30), -30),
            (330 * 60, 330),
            (345 * 60, 345),
        ];
        for (delta, expected) in table {
            assert_eq!(quarter_hours(NOW + delta, NOW), *expected, "delta {delta}");
        }
    }

    #[test]
    fn tick_inference_rejects_stale_and_absurd_ticks() {
        let table: &[(i64, Option<i32>)] = &[
            (NOW + 120 * 60, Some(120)),
            (NOW + 120 * 60 - 3, Some(120)),
            (NOW - 300 * 60, Some(-300)),
            (0, None),
            (NOW + 900 * 60, None),                  // beyond UTC+14
            (NOW + 120 * 60 - 3600 * 5, Some(-180)), // plausible as another zone
            (NOW - 86_400 * 3, None),                // a weekend-old tick
        ];
        for (tick, expected) in table {
            assert_eq!(from_tick(*tick, NOW), *expected, "tick {tick}");
        }
    }

    #[test]
    fn terminal_clock_is_taken_as_is() {
        assert_eq!(from_terminal_clock(Some(NOW + 3 * 3600), NOW), Some(180));
        assert_eq!(from_terminal_clock(Some(0), NOW), None);
        assert_eq!(from_terminal_clock(None, NOW), None);
    }
}
