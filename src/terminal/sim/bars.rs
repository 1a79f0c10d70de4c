//! OHLC bars (`copy_rates_from_pos`) derived from the tick path.
//!
//! Bars are aligned in broker time like MT5: intraday frames on multiples of their length,
//! D1 at broker midnight, W1 on Sunday 00:00, MN1 on the 1st of the month. A bar covers the
//! ticks whose second falls inside it; the forming bar (position 0) ends at the latest tick,
//! so its close is the current bid.
//!
//! Sampling: open and close are the exact first and last ticks; high, low and spread are the
//! extremes of the bids (and the smallest spread) over evenly spaced samples including both
//! ends: at least 8 per bar, more when fewer bars are asked for, within about 40k evaluations
//! per call (180 M1 bars or a few H1 bars sample every tick, so an H1 bar then equals the
//! aggregate of its M1 bars exactly; 5000 M1 bars sample every ~8 s). With sparse sampling a
//! brief spike between two samples can be missing from a bar's range. That keeps 5000 M1 bars
//! at a few milliseconds. A series holds at most [`MAX_BARS`] bars, like MT5's default "max
//! bars in chart".

use chrono::{Datelike, NaiveDate};

use super::market::Market;
use crate::terminal::Rate;

/// Bars a series holds (MT5's default `TERMINAL_MAXBARS`).
pub(crate) const MAX_BARS: u32 = 100_000;
const SAMPLE_BUDGET: i64 = 40_000;
const MIN_SAMPLES: i64 = 8;
const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
/// 1970-01-04, the first Sunday of the epoch, in days.
const FIRST_SUNDAY: i64 = 3 * DAY;

/// How a timeframe cuts broker time into bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frame {
    Fixed(i64),
    Week,
    Month,
}

impl Frame {
    /// The frame of a `TIMEFRAME_*` value (all 21 official ones), or `None`.
    pub(crate) fn of(timeframe: i64) -> Option<Frame> {
        const MINUTES: [i64; 11] = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30];
        const HOURS: [i64; 8] = [1, 2, 3, 4, 6, 8, 12, 24];
        match timeframe {
            m if MINUTES.contains(&m) => Some(Frame::Fixed(m * 60)),
            h if h & !0x3FFF == 0x4000 && HOURS.contains(&(h & 0x3FFF)) => {
                Some(Frame::Fixed((h & 0x3FFF) * 3_600))
            }
            0x8001 => Some(Frame::Week),
            0xC001 => Some(Frame::Month),
            _ => None,
        }
    }

    /// Open time of the bar containing broker second `t`.
    pub(crate) fn start(self, t: i64) -> i64 {
        match self {
            Frame::Fixed(len) => t.div_euclid(len) * len,
            Frame::Week => (t - FIRST_SUNDAY).div_euclid(WEEK) * WEEK + FIRST_SUNDAY,
            Frame::Month => {
                let (y, m) = year_month(t);
                month_start(y * 12 + m)
            }
        }
    }

    /// Open time of the bar `n` bars after (negative: before) the bar opening at `start`.
    pub(crate) fn shift(self, start: i64, n: i64) -> i64 {
        match self {
            Frame::Fixed(len) => start + n * len,
            Frame::Week => start + n * WEEK,
            Frame::Month => {
                let (y, m) = year_month(start);
                month_start(y * 12 + m + n)
            }
        }
    }
}

/// `(year, month0)` of a broker epoch second.
fn year_month(t: i64) -> (i64, i64) {
    let d = chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.date_naive())
        .unwrap_or_default();
    (d.year() as i64, d.month0() as i64)
}

/// Epoch second of the first day of month index `ym = year·12 + month0`.
fn month_start(ym: i64) -> i64 {
    let (y, m0) = (ym.div_euclid(12), ym.rem_euclid(12));
    NaiveDate::from_ymd_opt(y as i32, m0 as u32 + 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp())
        .unwrap_or_default()
}

/// Bars `start_pos .. start_pos + count` back from the forming bar, oldest first.
pub(crate) fn rates(
    market: &Market,
    i: usize,
    frame: Frame,
    now_ms: i64,
    start_pos: u32,
    count: u32,
) -> Vec<Rate> {
    let end = start_pos.saturating_add(count).min(MAX_BARS);
    if start_pos >= end {
        return Vec::new();
    }
    let n_bars = (end - start_pos) as i64;
    let per_bar = (SAMPLE_BUDGET / n_bars).max(MIN_SAMPLES);
    let off = market.offset_secs();
    let k_now = market.tick_index_at(i, now_ms);
    let current = frame.start(k_now + off);
    let mut start = frame.shift(current, -((end - 1) as i64));
    let mut cursor = market.cursor(i);
    let mut out = Vec::with_capacity(n_bars as usize);
    for _ in 0..n_bars {
        let next = frame.shift(start, 1);
        let k_a = start - off;
        let k_b = (next - off - 1).min(k_now);
        let ticks = k_b - k_a + 1;
        let samples = ticks.min(per_bar);
        let (open, open_spread) = cursor.bid_spread(k_a);
        let (mut high, mut low, mut spread, mut close) = (open, open, open_spread, open);
        for j in 1..samples {
            let k = k_a + (j * (ticks - 1)) / (samples - 1);
            let (bid, s) = cursor.bid_spread(k);
            high = high.max(bid);
            low = low.min(bid);
            spread = spread.min(s);
            close = bid;
        }
        out.push(Rate {
            time: start,
            open,
            high,
            low,
            close,
            tick_volume: ticks,
            spread,
            real_volume: 0,
        });
        start = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::consts::*;
    use crate::terminal::sim::catalogue::default_catalogue;

    // 2026-03-18 (a Wednesday) 14:37:21.500 UTC.
    const NOW: i64 = 1_773_844_641_500;

    fn market(offset_min: i32) -> Market {
        Market::new(99, default_catalogue(), offset_min).unwrap()
    }

    #[test]
    fn every_official_timeframe_is_known_and_others_are_not() {
        for tf in [
            TIMEFRAME_M1,
            TIMEFRAME_M5,
            TIMEFRAME_M15,
            TIMEFRAME_M30,
            TIMEFRAME_H1,
            TIMEFRAME_H4,
            TIMEFRAME_D1,
            TIMEFRAME_W1,
            TIMEFRAME_MN1,
            2,
            3,
            4,
            6,
            10,
            12,
            20,
            0x4002,
            0x4003,
            0x4006,
            0x4008,
            0x400C,
        ] {
            assert!(Frame::of(tf).is_some(), "{tf}");
        }
        for tf in [
            0,
            7,
            60,
            0x4005,
            0x4000,
            0x8002,
            0xC002,
            -1,
            16_385 + 0x10000,
        ] {
            assert!(Frame::of(tf).is_none(), "{tf}");
        }
    }

    #[test]
    fn bars_are_aligned_like_mt5_in_broker_time() {
        let m = market(180);
        let cases = [
            (TIMEFRAME_M1, 60),
            (TIMEFRAME_M15, 900),
            (TIMEFRAME_H4, 14_400),
            (TIMEFRAME_D1, 86_400),
        ];
        for (tf, len) in cases {
            let bars = rates(&m, 0, Frame::of(tf).unwrap(), NOW, 0, 30);
            for b in &bars {
                assert_eq!(b.time % len, 0, "tf {tf}");
            }
        }
        let weeks = rates(&m, 0, Frame::Week, NOW, 0, 30);
        for b in &weeks {
            let d = chrono::DateTime::from_timestamp(b.time, 0).unwrap();
            assert_eq!(d.weekday(), chrono::Weekday::Sun);
            assert_eq!(b.time % DAY, 0);
        }
        let months = rates(&m, 0, Frame::Month, NOW, 0, 30);
        for b in &months {
            let d = chrono::DateTime::from_timestamp(b.time, 0).unwrap();
            assert_eq!((d.day(), b.time % DAY), (1, 0));
        }
        assert_eq!(
            months.last().unwrap().time,
            1_772_323_200,
            "2026-03-01 broker"
        );
        // Broker midnight (2026-03-18 00:00 broker = 2026-03-17 21:00 UTC).
        let d1 = rates(&m, 0, Frame::Fixed(DAY), NOW, 0, 1)[0];
        assert_eq!(d1.time, 1_773_792_000);
        let late = rates(&m, 0, Frame::Fixed(DAY), 1_773_781_200_000 + 1_500, 0, 1)[0];
        assert_eq!(
            late.time, 1_773_792_000,
            "21:00:01.5 UTC is already the next broker day"
        );
    }

    #[test]
    fn series_is_oldest_first_contiguous_counted_and_ends_at_the_forming_bar() {
        let m = market(120);
        let eur = m.index("EURUSD").unwrap();
        for (tf, count) in [(TIMEFRAME_M1, 500), (TIMEFRAME_H1, 48), (TIMEFRAME_MN1, 14)] {
            let frame = Frame::of(tf).unwrap();
            let bars = rates(&m, eur, frame, NOW, 0, count);
            assert_eq!(bars.len(), count as usize);
            for w in bars.windows(2) {
                assert_eq!(
                    frame.shift(w[0].time, 1),
                    w[1].time,
                    "contiguous, oldest first"
                );
            }
            let last = bars.last().unwrap();
            let now_b = m.broker_secs(NOW);
            assert!(last.time <= now_b && now_b < frame.shift(last.time, 1));
            assert_eq!(
                last.close,
                m.quote(eur, NOW).bid,
                "forming bar closes at the bid"
            );
            let shifted = rates(&m, eur, frame, NOW, 3, count);
            assert_eq!(shifted.last().unwrap(), &bars[bars.len() - 4]);
        }
    }

    #[test]
    fn ohlc_is_consistent_with_the_tick_path() {
        let m = market(0);
        for name in ["EURUSD", "USDJPY", "BTCUSD", "EURJPY"] {
            let i = m.index(name).unwrap();
            let bars = rates(&m, i, Frame::Fixed(60), NOW, 1, 200);
            for b in &bars {
                assert!(
                    b.high >= b.open.max(b.close) && b.low <= b.open.min(b.close),
                    "{b:?}"
                );
                assert!(b.low > 0.0);
                assert_eq!(b.open, m.quote_k(i, b.time).bid, "open is the first tick");
                assert_eq!(
                    b.close,
                    m.quote_k(i, b.time + 59).bid,
                    "close is the last tick"
                );
                assert_eq!(b.tick_volume, 60);
                assert!(b.spread >= m.spec(i).spread_min);
            }
            assert!(
                bars.windows(2).any(|w| w[0].close != w[1].close),
                "{name} never moved"
            );
        }
    }

    #[test]
    fn an_h1_bar_is_the_aggregate_of_its_m1_bars_when_every_tick_is_sampled() {
        let m = market(180);
        for name in ["EURUSD", "EURJPY", "BTCUSD"] {
            let i = m.index(name).unwrap();
            let h1 = rates(&m, i, Frame::Fixed(3_600), NOW, 0, 2)[0];
            let m1 = rates(&m, i, Frame::Fixed(60), NOW, 0, 180);
            let inside: Vec<_> = m1
                .iter()
                .filter(|b| b.time >= h1.time && b.time < h1.time + 3_600)
                .collect();
            assert_eq!(inside.len(), 60, "{name}");
            assert_eq!(h1.open, inside[0].open, "{name}");
            assert_eq!(h1.close, inside[59].close, "{name}");
            assert_eq!(
                h1.high,
                inside.iter().map(|b| b.high).fold(f64::MIN, f64::max),
                "{name}"
            );
            assert_eq!(
                h1.low,
                inside.iter().map(|b| b.low).fold(f64::MAX, f64::min),
                "{name}"
            );
            assert_eq!(
                h1.tick_volume,
                inside.iter().map(|b| b.tick_volume).sum::<i64>(),
                "{name}"
            );
            assert_eq!(
                h1.spread,
                inside.iter().map(|b| b.spread).min().unwrap(),
                "{name}"
            );
        }
    }

    #[test]
    fn window_is_capped_and_empty_past_the_end() {
        let m = market(0);
        assert!(rates(&m, 0, Frame::Fixed(60), NOW, MAX_BARS, 10).is_empty());
        assert!(rates(&m, 0, Frame::Fixed(60), NOW, 0, 0).is_empty());
        assert_eq!(
            rates(&m, 0, Frame::Fixed(60), NOW, MAX_BARS - 5, 10).len(),
            5
        );
    }

    #[test]
    #[ignore = "benchmark; run with --release -- --ignored"]
    fn five_thousand_m1_bars_take_well_under_ten_ms() {
        let m = market(0);
        let eur = m.index("EURJPY").unwrap();
        let _ = rates(&m, eur, Frame::Fixed(60), NOW, 0, 5000);
        let t = std::time::Instant::now();
        let n = 20;
        for r in 0..n {
            std::hint::black_box(rates(&m, eur, Frame::Fixed(60), NOW + r * 1000, 0, 5000));
        }
        let per_call = t.elapsed() / n as u32;
        eprintln!("5000 M1 bars of a cross: {per_call:?} per call");
        assert!(
            per_call < std::time::Duration::from_millis(10),
            "{per_call:?}"
        );
    }
}
