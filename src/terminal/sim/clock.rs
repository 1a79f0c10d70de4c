//! Where the sim broker's "now" comes from.
//!
//! Everything in the paper broker (the tick path, fills, triggers, bar alignment) is a
//! function of one number: the current real UTC instant in milliseconds. Reading it through
//! a trait lets tests (here and in the layers above) drive time explicitly with
//! [`ManualClock`] instead of sleeping, while production uses [`SystemClock`].

use std::sync::atomic::{AtomicI64, Ordering};

/// A source of the current instant, as real UTC epoch milliseconds (not broker time).
pub trait SimClock: Send + Sync + 'static {
    fn now_ms(&self) -> i64;
}

/// The machine's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SimClock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// A clock that only moves when told to; shareable between a test and the terminal.
#[derive(Debug)]
pub struct ManualClock {
    now_ms: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `now_ms` (UTC epoch milliseconds).
    pub fn new(now_ms: i64) -> Self {
        Self {
            now_ms: AtomicI64::new(now_ms),
        }
    }

    pub fn set_ms(&self, now_ms: i64) {
        self.now_ms.store(now_ms, Ordering::SeqCst);
    }

    pub fn advance_ms(&self, delta_ms: i64) {
        self.now_ms.fetch_add(delta_ms, Ordering::SeqCst);
    }

    pub fn advance_secs(&self, secs: i64) {
        self.advance_ms(secs * 1000);
    }
}

impl SimClock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance_secs(2);
        assert_eq!(clock.now_ms(), 3_000);
        clock.advance_ms(-500);
        assert_eq!(clock.now_ms(), 2_500);
        clock.set_ms(7);
        assert_eq!(clock.now_ms(), 7);
    }

    #[test]
    fn system_clock_is_a_plausible_utc_instant() {
        let now = SystemClock.now_ms();
        // After 2024-01-01 and before 2200-01-01.
        assert!(now > 1_704_067_200_000 && now < 7_258_118_400_000, "{now}");
    }
}
