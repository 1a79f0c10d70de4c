//! Local limits checked before an order is sent: pure rules, no I/O.
//!
//! These are a convenience for the human who set them, not a security boundary (the broker
//! enforces the real ones). They differ from upstream (reference §3.2) as DESIGN §3.4 says:
//! the symbol lists apply to every mutating tool on the target's symbol, not only to
//! `place_order`, and `max_daily_loss` is live (the engine supplies the day's realised P&L)
//! and also stops a close that would push the day past the cap. Every money figure is in
//! the account currency, and a cap of 0 switches its rule off.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;

use crate::config::Config;
use crate::errors::ToolError;

/// The limits as configured. Built from the live config for each call, so reloads apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub max_notional_per_trade: Decimal,
    pub max_realised_loss_per_close: Decimal,
    pub max_daily_loss: Decimal,
    pub allowlist: Vec<String>,
    pub denylist: Vec<String>,
    pub max_orders_per_minute: u32,
}

impl From<&Config> for Limits {
    fn from(config: &Config) -> Self {
        Limits {
            max_notional_per_trade: config.policy.max_notional_per_trade,
            max_realised_loss_per_close: config.policy.max_realised_loss_per_close,
            max_daily_loss: config.policy.max_daily_loss,
            allowlist: config.symbols.allowlist.clone(),
            denylist: config.symbols.denylist.clone(),
            max_orders_per_minute: config.policy.max_orders_per_minute,
        }
    }
}

/// What a mutating call is about to do, with the figures the rules need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target<'a> {
    Place {
        symbol: &'a str,
        notional: Decimal,
    },
    Close {
        symbol: &'a str,
        notional: Decimal,
        /// Signed P&L this close would realise (negative for a loss).
        realised: Decimal,
    },
    Modify {
        symbol: &'a str,
    },
    Cancel {
        symbol: &'a str,
    },
}

impl Target<'_> {
    fn symbol(&self) -> &str {
        match self {
            Target::Place { symbol, .. }
            | Target::Close { symbol, .. }
            | Target::Modify { symbol }
            | Target::Cancel { symbol } => symbol,
        }
    }
}

/// A refused call: the details of EXCEEDS_LOCAL_LIMIT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub limit_name: &'static str,
    pub configured: String,
    pub attempted: String,
}

impl Refusal {
    fn new(limit_name: &'static str, configured: impl ToString, attempted: impl ToString) -> Self {
        Refusal {
            limit_name,
            configured: configured.to_string(),
            attempted: attempted.to_string(),
        }
    }
}

impl From<Refusal> for ToolError {
    fn from(r: Refusal) -> Self {
        ToolError::exceeds_local_limit(r.limit_name, &r.configured, &r.attempted)
    }
}

/// Checks `target` against `limits`; `day_realised_pnl` is the realised P&L of deals closed
/// since the broker day began (negative when losing). The first failing rule wins, in this
/// order: denylist, allowlist, `max_notional_per_trade`, `max_daily_loss`,
/// `max_realised_loss_per_close`.
pub fn check(
    limits: &Limits,
    target: &Target<'_>,
    day_realised_pnl: Decimal,
) -> Result<(), Refusal> {
    let symbol = target.symbol();
    if limits.denylist.iter().any(|s| s == symbol) {
        return Err(Refusal::new("denylist", limits.denylist.join(","), symbol));
    }
    if !limits.allowlist.is_empty() && !limits.allowlist.iter().any(|s| s == symbol) {
        return Err(Refusal::new(
            "allowlist",
            limits.allowlist.join(","),
            symbol,
        ));
    }

    let notional_cap = limits.max_notional_per_trade;
    if let Target::Place { notional, .. } = target
        && notional_cap > Decimal::ZERO
        && *notional > notional_cap
    {
        return Err(Refusal::new(
            "max_notional_per_trade",
            notional_cap,
            notional,
        ));
    }

    let daily_cap = limits.max_daily_loss;
    if daily_cap > Decimal::ZERO {
        match target {
            // Once the day's losses reach the cap, nothing new opens.
            Target::Place { .. } => {
                let loss = -day_realised_pnl;
                if loss >= daily_cap {
                    return Err(Refusal::new("max_daily_loss", daily_cap, loss));
                }
            }
            // A losing close may not carry the day past the cap. A profitable or flat close
            // only reduces the day's loss, so it is never refused here: refusing it would
            // trap the user in a losing position.
            Target::Close { realised, .. } if *realised < Decimal::ZERO => {
                let loss = -(day_realised_pnl + *realised);
                if loss > daily_cap {
                    return Err(Refusal::new("max_daily_loss", daily_cap, loss));
                }
            }
            _ => {}
        }
    }

    let close_cap = limits.max_realised_loss_per_close;
    if let Target::Close { realised, .. } = target
        && close_cap > Decimal::ZERO
        && -*realised > close_cap
    {
        return Err(Refusal::new(
            "max_realised_loss_per_close",
            close_cap,
            -*realised,
        ));
    }
    Ok(())
}

/// The order-rate cap's memory: when orders were executed in this process. In-process and on
/// the monotonic clock, as upstream (reference §3.1 step 6); another server sharing the
/// account keeps its own count.
#[derive(Debug, Default)]
pub struct RateCap {
    executed: Mutex<Vec<Instant>>,
}

/// The rolling window of `max_orders_per_minute`.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

impl RateCap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses when `cap` executions (or more) happened in the last minute. `cap == 0` means
    /// no cap.
    pub fn check(&self, cap: u32, now: Instant) -> Result<(), Refusal> {
        if cap == 0 {
            return Ok(());
        }
        let mut executed = self.executed.lock().unwrap_or_else(PoisonError::into_inner);
        prune(&mut executed, now);
        let count = executed.len();
        if count >= cap as usize {
            return Err(Refusal::new("max_orders_per_minute", cap, count + 1));
        }
        Ok(())
    }

    /// Counts one execution at `now` (rejected and null results count too: each reached the
    /// broker).
    pub fn record(&self, now: Instant) {
        let mut executed = self.executed.lock().unwrap_or_else(PoisonError::into_inner);
        prune(&mut executed, now);
        executed.push(now);
    }
}

/// Drops executions older than the window. An instant exactly 60 s old has left it.
fn prune(executed: &mut Vec<Instant>, now: Instant) {
    executed.retain(|t| now.saturating_duration_since(*t) < RATE_WINDOW);
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn limits() -> Limits {
        Limits {
            max_notional_per_trade: Decimal::ZERO,
            max_realised_loss_per_close: Decimal::ZERO,
            max_daily_loss: Decimal::ZERO,
            allowlist: vec![],
            denylist: vec![],
            max_orders_per_minute: 0,
        }
    }

    fn refused(name: &'static str, configured: &str, attempted: &str) -> Result<(), Refusal> {
        Err(Refusal {
            limit_name: name,
            configured: configured.into(),
            attempted: attempted.into(),
        })
    }

    fn place(notional: &str) -> Target<'static> {
        Target::Place {
            symbol: "EURUSD",
            notional: dec(notional),
        }
    }

    fn close(realised: &str) -> Target<'static> {
        Target::Close {
            symbol: "EURUSD",
            notional: dec("1000"),
            realised: dec(realised),
        }
    }

    #[test]
    fn from_config() {
        let mut config = Config::with_data_dir(std::path::Path::new("/tmp/x"));
        config.policy.max_notional_per_trade = dec("5000.00");
        config.policy.max_realised_loss_per_close = dec("50");
        config.policy.max_daily_loss = dec("200");
        config.policy.max_orders_per_minute = 3;
        config.symbols.allowlist = vec!["EURUSD".into()];
        config.symbols.denylist = vec!["XAUUSD".into()];
        assert_eq!(
            Limits::from(&config),
            Limits {
                max_notional_per_trade: dec("5000.00"),
                max_realised_loss_per_close: dec("50"),
                max_daily_loss: dec("200"),
                allowlist: vec!["EURUSD".into()],
                denylist: vec!["XAUUSD".into()],
                max_orders_per_minute: 3,
            }
        );
    }

    #[test]
    fn symbol_lists_apply_to_every_target() {
        let deny = Limits {
            denylist: vec!["XAUUSD".into(), "BTCUSD".into()],
            ..limits()
        };
        let allow = Limits {
            allowlist: vec!["EURUSD".into(), "GBPUSD".into()],
            ..limits()
        };
        let both = Limits {
            allowlist: vec!["XAUUSD".into()],
            denylist: vec!["XAUUSD".into()],
            ..limits()
        };
        let targets = |symbol: &'static str| {
            [
                Target::Place {
                    symbol,
                    notional: dec("1"),
                },
                Target::Close {
                    symbol,
                    notional: dec("1"),
                    realised: dec("1"),
                },
                Target::Modify { symbol },
                Target::Cancel { symbol },
            ]
        };
        for t in targets("XAUUSD") {
            assert_eq!(
                check(&deny, &t, Decimal::ZERO),
                refused("denylist", "XAUUSD,BTCUSD", "XAUUSD")
            );
            assert_eq!(
                check(&allow, &t, Decimal::ZERO),
                refused("allowlist", "EURUSD,GBPUSD", "XAUUSD")
            );
            // The denylist is checked first.
            assert_eq!(
                check(&both, &t, Decimal::ZERO),
                refused("denylist", "XAUUSD", "XAUUSD")
            );
        }
        for t in targets("EURUSD") {
            assert_eq!(check(&deny, &t, Decimal::ZERO), Ok(()));
            assert_eq!(check(&allow, &t, Decimal::ZERO), Ok(()));
        }
        // Exact and case-sensitive.
        for t in targets("eurusd").into_iter().chain(targets("EURUSD.m")) {
            assert!(check(&allow, &t, Decimal::ZERO).is_err());
        }
        for t in targets("xauusd") {
            assert_eq!(check(&deny, &t, Decimal::ZERO), Ok(()));
        }
    }

    #[test]
    fn max_notional_per_trade() {
        let l = Limits {
            max_notional_per_trade: dec("10000.00"),
            ..limits()
        };
        let table: &[(&str, Result<(), Refusal>)] = &[
            ("9999.99", Ok(())),
            ("10000", Ok(())),
            ("10000.000", Ok(())),
            (
                "10000.01",
                refused("max_notional_per_trade", "10000.00", "10000.01"),
            ),
            (
                "108240.000",
                refused("max_notional_per_trade", "10000.00", "108240.000"),
            ),
        ];
        for (notional, expected) in table {
            assert_eq!(
                check(&l, &place(notional), Decimal::ZERO),
                *expected,
                "{notional}"
            );
        }
        // Only new exposure is capped.
        let big_close = Target::Close {
            symbol: "EURUSD",
            notional: dec("1000000"),
            realised: dec("0"),
        };
        assert_eq!(check(&l, &big_close, Decimal::ZERO), Ok(()));
        // Off at 0.
        assert_eq!(check(&limits(), &place("1000000"), Decimal::ZERO), Ok(()));
    }

    #[test]
    fn max_daily_loss_on_place() {
        let l = Limits {
            max_daily_loss: dec("200"),
            ..limits()
        };
        let table: &[(&str, Result<(), Refusal>)] = &[
            ("100", Ok(())),
            ("0", Ok(())),
            ("-199.99", Ok(())),
            ("-200", refused("max_daily_loss", "200", "200")),
            ("-200.01", refused("max_daily_loss", "200", "200.01")),
        ];
        for (pnl, expected) in table {
            assert_eq!(check(&l, &place("1"), dec(pnl)), *expected, "day pnl {pnl}");
        }
        assert_eq!(check(&limits(), &place("1"), dec("-1000000")), Ok(()));
    }

    #[test]
    fn max_daily_loss_on_close() {
        let l = Limits {
            max_daily_loss: dec("200"),
            ..limits()
        };
        let table: &[(&str, &str, Result<(), Refusal>)] = &[
            // (day pnl, realised by this close, verdict)
            ("-150", "-49.99", Ok(())),
            ("-150", "-50", Ok(())),
            ("-150", "-50.01", refused("max_daily_loss", "200", "200.01")),
            ("0", "-300", refused("max_daily_loss", "200", "300")),
            ("100", "-250", Ok(())),
            // A profitable or flat close is never refused, however bad the day.
            ("-500", "10", Ok(())),
            ("-500", "0", Ok(())),
            // Already past the cap: a further loss is refused.
            ("-500", "-0.01", refused("max_daily_loss", "200", "500.01")),
        ];
        for (pnl, realised, expected) in table {
            assert_eq!(
                check(&l, &close(realised), dec(pnl)),
                *expected,
                "{pnl} {realised}"
            );
        }
        // Modify and cancel are never refused by it.
        for t in [
            Target::Modify { symbol: "EURUSD" },
            Target::Cancel { symbol: "EURUSD" },
        ] {
            assert_eq!(check(&l, &t, dec("-1000")), Ok(()));
        }
    }

    #[test]
    fn max_realised_loss_per_close() {
        let l = Limits {
            max_realised_loss_per_close: dec("0.001"),
            ..limits()
        };
        let table: &[(&str, Result<(), Refusal>)] = &[
            ("5", Ok(())),
            ("0", Ok(())),
            ("-0.0009", Ok(())),
            ("-0.001", Ok(())),
            (
                "-0.0010001",
                refused("max_realised_loss_per_close", "0.001", "0.0010001"),
            ),
            // Upstream's captured example.
            (
                "-0.00770",
                refused("max_realised_loss_per_close", "0.001", "0.00770"),
            ),
        ];
        for (realised, expected) in table {
            assert_eq!(
                check(&l, &close(realised), Decimal::ZERO),
                *expected,
                "{realised}"
            );
        }
        assert_eq!(check(&limits(), &close("-1000000"), Decimal::ZERO), Ok(()));
        assert_eq!(check(&l, &place("1"), Decimal::ZERO), Ok(()));
    }

    #[test]
    fn daily_loss_is_checked_before_the_per_close_cap() {
        let l = Limits {
            max_daily_loss: dec("100"),
            max_realised_loss_per_close: dec("10"),
            ..limits()
        };
        assert_eq!(
            check(&l, &close("-150"), Decimal::ZERO),
            refused("max_daily_loss", "100", "150")
        );
        assert_eq!(
            check(&l, &close("-50"), Decimal::ZERO),
            refused("max_realised_loss_per_close", "10", "50")
        );
    }

    #[test]
    fn refusal_becomes_exceeds_local_limit() {
        let e = ToolError::from(Refusal::new("max_orders_per_minute", 2, 3));
        assert_eq!(e.code, crate::errors::ErrorCode::EXCEEDS_LOCAL_LIMIT);
        assert_eq!(
            e.details,
            Some(
                serde_json::json!({"limit_name": "max_orders_per_minute", "configured": "2", "attempted": "3"})
            )
        );
    }

    #[test]
    fn rate_cap_window_and_count() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let cap = RateCap::new();
        assert_eq!(cap.check(2, at(0)), Ok(()));
        cap.record(at(0));
        assert_eq!(cap.check(2, at(1)), Ok(()), "one below the cap");
        cap.record(at(1_000));
        assert_eq!(
            cap.check(2, at(2_000)),
            refused("max_orders_per_minute", "2", "3"),
            "at the cap"
        );
        assert_eq!(cap.check(3, at(2_000)), Ok(()));
        // No cap at 0, however many executions.
        assert_eq!(cap.check(0, at(2_000)), Ok(()));
        // The first execution leaves the window exactly 60 s later.
        assert_eq!(
            cap.check(2, at(59_999)),
            refused("max_orders_per_minute", "2", "3")
        );
        assert_eq!(cap.check(2, at(60_000)), Ok(()));
        assert_eq!(
            cap.check(1, at(60_000)),
            refused("max_orders_per_minute", "1", "2")
        );
        assert_eq!(cap.check(1, at(61_000)), Ok(()));
    }
}
