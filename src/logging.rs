//! Logging: tracing to stderr only (stdout belongs to JSON-RPC in stdio mode).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tracing_subscriber::EnvFilter;

use crate::config::LogLevel;

pub fn init(level: LogLevel) {
    let directive = match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warning => "warn",
        LogLevel::Error | LogLevel::Critical => "error",
    };
    // rmcp logs every request at INFO; keep it at WARN unless debugging, as upstream did
    // with its SDK loggers.
    let filter = if level == LogLevel::Debug {
        EnvFilter::new(directive)
    } else {
        EnvFilter::new(format!("{directive},rmcp=warn,notify=warn"))
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// Lets a warning that can come in bulk through at most once per `every`: a broken terminal
/// sends bad values by the thousand (a 5,000-bar answer holds 20,000 prices), and one line
/// with a count says as much as 20,000 lines.
pub struct Throttle {
    every: Duration,
    /// Milliseconds since `epoch` of the last warning let through; -1 before the first.
    last_ms: AtomicI64,
    held: AtomicU64,
    epoch: OnceLock<Instant>,
}

impl Throttle {
    pub const fn new(every: Duration) -> Self {
        Throttle {
            every,
            last_ms: AtomicI64::new(-1),
            held: AtomicU64::new(0),
            epoch: OnceLock::new(),
        }
    }

    /// `Some(n)` when this warning is to be logged, `n` being how many were held back since
    /// the last one; `None` when it is to be held back.
    pub fn admit(&self) -> Option<u64> {
        let epoch = *self.epoch.get_or_init(Instant::now);
        self.admit_at(epoch.elapsed().as_millis() as i64)
    }

    fn admit_at(&self, now_ms: i64) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Relaxed);
        let due = last < 0 || now_ms - last >= self.every.as_millis() as i64;
        if due
            && self
                .last_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.held.swap(0, Ordering::Relaxed));
        }
        self.held.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttle_lets_one_through_per_period_and_counts_the_rest() {
        let t = Throttle::new(Duration::from_secs(60));
        // (milliseconds, expected)
        let steps: &[(i64, Option<u64>)] = &[
            (0, Some(0)),
            (1, None),
            (59_999, None),
            (60_000, Some(2)),
            (60_001, None),
            (200_000, Some(1)),
            (200_000, None),
        ];
        for &(at, expected) in steps {
            assert_eq!(t.admit_at(at), expected, "at {at} ms");
        }
    }

    #[test]
    fn concurrent_warnings_let_exactly_one_through() {
        let t = Throttle::new(Duration::from_secs(3600));
        let admitted = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        if t.admit().is_some() {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(admitted.load(Ordering::Relaxed), 1);
        assert_eq!(t.held.load(Ordering::Relaxed), 3999);
    }
}
