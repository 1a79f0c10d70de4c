//! The market as this broker shows it: ticks with bid/ask/spread for every symbol at any
//! instant, the broker clock, and conversion of money into the account currency (USD).
//!
//! Ticks: each symbol has one tick per second. Tick `k` (UTC epoch second `k`) carries the
//! path price at second `k` and arrives at instant `k·1000 + jitter` ms, with a per-symbol,
//! per-second jitter in `0..1000`, so `time_msc` looks like a real feed and the latest tick
//! at an instant is the newest one that has already arrived. The market trades 24/7 (like a
//! crypto venue), forex included; there are no weekend gaps.
//!
//! Broker time: every epoch value the terminal reports is broker-local wall time encoded as
//! epoch seconds (UTC + offset), exactly like MT5. Internally everything stays in real UTC
//! milliseconds and is converted only at the edge.

use super::catalogue::{PriceSource, SymbolSpec};
use super::path::{Cursor, Path, mix, name_hash, unit};
use super::snapshot::Snapshot;

/// Rounds a price to `digits` decimals (the nearest double to the decimal value).
pub(crate) fn round_digits(x: f64, digits: u32) -> f64 {
    let scale = 10f64.powi(digits as i32);
    round_int(x * scale) / scale
}

/// Nearest integer. Adding and removing 1.5·2^52 rounds in the FPU's default mode without
/// the library call `f64::round` becomes on baseline x86-64 (ties go to even, which no
/// price ever hits in practice).
fn round_int(v: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    if v.abs() < 1e15 {
        (v + MAGIC) - MAGIC
    } else {
        v.round()
    }
}

/// Rounds money to cents, as the server does for every amount in account currency.
pub(crate) fn round_money(x: f64) -> f64 {
    round_digits(x, 2)
}

/// The latest tick of one symbol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Quote {
    /// Tick index: the UTC epoch second whose price it carries.
    pub k: i64,
    /// Arrival instant, UTC epoch milliseconds.
    pub time_ms: i64,
    pub bid: f64,
    pub ask: f64,
    /// Spread in points.
    pub spread: i64,
}

/// How an amount in some currency becomes USD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Route {
    Usd,
    /// Multiply by the symbol `CCYUSD`.
    Mul(usize),
    /// Divide by the symbol `USDCCY`.
    Div(usize),
}

#[derive(Debug, Clone)]
struct Model {
    /// Indices into `Market::paths` whose log prices add up to this symbol's log mid.
    components: Vec<usize>,
    id: u64,
    profit_route: Route,
    margin_route: Route,
}

/// Prices and conversions for a fixed catalogue, seed and broker clock offset. Immutable
/// and cheap to query from any thread.
#[derive(Debug, Clone)]
pub(crate) struct Market {
    specs: Vec<SymbolSpec>,
    models: Vec<Model>,
    paths: Vec<Path>,
    seed: u64,
    offset_secs: i64,
}

impl Market {
    /// Builds the market; fails when the catalogue is inconsistent (a cross refers to an
    /// unknown or non-root symbol, or a currency cannot be converted to USD).
    pub(crate) fn new(
        seed: u64,
        specs: Vec<SymbolSpec>,
        broker_utc_offset_minutes: i32,
    ) -> Result<Self, String> {
        let mut paths = Vec::new();
        let mut root_of = Vec::new();
        for s in &specs {
            match s.price {
                PriceSource::Root { base, vol } => {
                    root_of.push(Some(paths.len()));
                    paths.push(Path::new(seed, s.name, base, vol));
                }
                PriceSource::Cross(..) => root_of.push(None),
            }
        }
        let find = |n: &str| specs.iter().position(|s| s.name == n);
        let mut models = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            let components = match s.price {
                PriceSource::Root { .. } => vec![root_of[i].unwrap_or_default()],
                PriceSource::Cross(a, b) => {
                    let leg = |n: &str| {
                        find(n).and_then(|j| root_of[j]).ok_or_else(|| {
                            format!("{}: cross leg {n} is not a root symbol", s.name)
                        })
                    };
                    vec![leg(a)?, leg(b)?]
                }
            };
            let route = |ccy: &str| -> Result<Route, String> {
                if ccy == "USD" {
                    Ok(Route::Usd)
                } else if let Some(j) = find(&format!("{ccy}USD")) {
                    Ok(Route::Mul(j))
                } else if let Some(j) = find(&format!("USD{ccy}")) {
                    Ok(Route::Div(j))
                } else {
                    Err(format!("{}: no symbol converts {ccy} to USD", s.name))
                }
            };
            models.push(Model {
                components,
                id: mix(seed ^ name_hash(s.name)),
                profit_route: route(s.currency_profit)?,
                margin_route: route(s.currency_margin)?,
            });
        }
        Ok(Self {
            specs,
            models,
            paths,
            seed,
            offset_secs: broker_utc_offset_minutes as i64 * 60,
        })
    }

    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    pub(crate) fn specs(&self) -> &[SymbolSpec] {
        &self.specs
    }

    pub(crate) fn spec(&self, i: usize) -> &SymbolSpec {
        &self.specs[i]
    }

    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        self.specs.iter().position(|s| s.name == name)
    }

    // ---- broker clock -------------------------------------------------------------------

    pub(crate) fn offset_secs(&self) -> i64 {
        self.offset_secs
    }

    /// Broker-local epoch seconds of a UTC instant in milliseconds.
    pub(crate) fn broker_secs(&self, utc_ms: i64) -> i64 {
        utc_ms.div_euclid(1000) + self.offset_secs
    }

    pub(crate) fn broker_ms(&self, utc_ms: i64) -> i64 {
        utc_ms + self.offset_secs * 1000
    }

    /// UTC milliseconds of a broker-local epoch second.
    pub(crate) fn utc_ms_of_broker(&self, broker_secs: i64) -> i64 {
        (broker_secs - self.offset_secs) * 1000
    }

    // ---- ticks --------------------------------------------------------------------------

    fn jitter_ms(&self, i: usize, k: i64) -> i64 {
        (mix(self.models[i].id ^ (k as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93)) % 1000) as i64
    }

    /// Arrival instant (UTC ms) of tick `k` of symbol `i`.
    pub(crate) fn tick_instant(&self, i: usize, k: i64) -> i64 {
        k * 1000 + self.jitter_ms(i, k)
    }

    /// Index of the newest tick of symbol `i` that has arrived at instant `t_ms`.
    pub(crate) fn tick_index_at(&self, i: usize, t_ms: i64) -> i64 {
        let k = t_ms.div_euclid(1000);
        if self.tick_instant(i, k) <= t_ms {
            k
        } else {
            k - 1
        }
    }

    pub(crate) fn log_mid(&self, i: usize, k: i64) -> f64 {
        self.models[i]
            .components
            .iter()
            .map(|&c| self.paths[c].log_at(k))
            .sum()
    }

    /// Spread in points of tick `k`; wanders inside the symbol's range every few seconds.
    pub(crate) fn spread_at(&self, i: usize, k: i64) -> i64 {
        let s = &self.specs[i];
        let width = (s.spread_max - s.spread_min + 1) as f64;
        let h =
            mix(self.models[i].id ^ 0x005B_8EAD ^ (k.div_euclid(7) as u64).wrapping_mul(0x9E37));
        // Squaring the uniform value keeps the spread near its minimum most of the time.
        let u = unit(h);
        s.spread_min + ((u * u * width) as i64).min(s.spread_max - s.spread_min)
    }

    /// `(bid, ask, spread)` of tick `k` given its log mid.
    fn prices(&self, i: usize, k: i64, log_mid: f64) -> (f64, f64, i64) {
        let s = &self.specs[i];
        let spread = self.spread_at(i, k);
        let point = s.point();
        let bid = round_digits(log_mid.exp() - spread as f64 * point / 2.0, s.digits);
        let ask = round_digits(bid + spread as f64 * point, s.digits);
        (bid, ask, spread)
    }

    fn quote_from(&self, i: usize, k: i64, log_mid: f64) -> Quote {
        let (bid, ask, spread) = self.prices(i, k, log_mid);
        Quote {
            k,
            time_ms: self.tick_instant(i, k),
            bid,
            ask,
            spread,
        }
    }

    /// Tick `k` of symbol `i`.
    pub(crate) fn quote_k(&self, i: usize, k: i64) -> Quote {
        self.quote_from(i, k, self.log_mid(i, k))
    }

    /// The latest tick of symbol `i` at instant `t_ms`.
    pub(crate) fn quote(&self, i: usize, t_ms: i64) -> Quote {
        self.quote_k(i, self.tick_index_at(i, t_ms))
    }

    /// Bound on how far symbol `i`'s log mid can move within `dt` seconds.
    pub(crate) fn max_log_move(&self, i: usize, dt: f64) -> f64 {
        self.models[i]
            .components
            .iter()
            .map(|&c| self.paths[c].max_move(dt))
            .sum()
    }

    pub(crate) fn profit_route(&self, i: usize) -> Route {
        self.models[i].profit_route
    }

    pub(crate) fn margin_route(&self, i: usize) -> Route {
        self.models[i].margin_route
    }

    /// A sequential evaluator for symbol `i` (bars, scans).
    pub(crate) fn cursor(&self, i: usize) -> SymbolCursor<'_> {
        let cursors = self.models[i]
            .components
            .iter()
            .map(|&c| Cursor::new(&self.paths[c]))
            .collect();
        SymbolCursor {
            market: self,
            i,
            cursors,
        }
    }

    // ---- money --------------------------------------------------------------------------

    /// An amount in symbol `i`'s profit currency, in USD at instant `t_ms`.
    pub(crate) fn profit_to_usd(&self, i: usize, amount: f64, t_ms: i64) -> f64 {
        Snapshot::new(self, t_ms).profit_to_usd(i, amount)
    }

    /// `(trade_tick_value_profit, trade_tick_value_loss)`: USD per tick per lot.
    pub(crate) fn tick_values(&self, i: usize, t_ms: i64) -> (f64, f64) {
        let s = &self.specs[i];
        let per_tick = s.contract_size * s.tick_size();
        let snap = Snapshot::new(self, t_ms);
        (
            snap.profit_to_usd(i, per_tick),
            -snap.profit_to_usd(i, -per_tick),
        )
    }
}

/// Sequential evaluation of one symbol's ticks; see [`Market::cursor`].
pub(crate) struct SymbolCursor<'a> {
    market: &'a Market,
    i: usize,
    cursors: Vec<Cursor<'a>>,
}

impl SymbolCursor<'_> {
    pub(crate) fn log_mid(&mut self, k: i64) -> f64 {
        self.cursors.iter_mut().map(|c| c.log_at(k)).sum()
    }

    /// `(bid, spread)` of tick `k`, without the arrival time (bars do not need it).
    pub(crate) fn bid_spread(&mut self, k: i64) -> (f64, i64) {
        let lm = self.log_mid(k);
        let (bid, _, spread) = self.market.prices(self.i, k, lm);
        (bid, spread)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::sim::catalogue::default_catalogue;

    const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z in ms

    fn market(seed: u64) -> Market {
        Market::new(seed, default_catalogue(), 120).unwrap()
    }

    #[test]
    fn same_seed_same_instant_gives_identical_quotes_for_every_symbol() {
        let (a, b, c) = (market(11), market(11), market(12));
        for i in 0..a.specs().len() {
            for t in [T0, T0 + 1_234, T0 + 86_400_000 * 30] {
                assert_eq!(a.quote(i, t), b.quote(i, t));
                assert_ne!(a.quote(i, t).bid, c.quote(i, t).bid, "{}", a.spec(i).name);
            }
        }
    }

    #[test]
    fn quotes_are_plausible_ordered_and_on_the_price_grid() {
        let m = market(3);
        let expect = [
            ("EURUSD", 0.9, 1.3),
            ("USDJPY", 120.0, 185.0),
            ("EURJPY", 120.0, 210.0),
            ("XAUUSD", 2000.0, 3500.0),
            ("BTCUSD", 30_000.0, 300_000.0),
            ("US500", 4500.0, 7500.0),
        ];
        for (name, lo, hi) in expect {
            let i = m.index(name).unwrap();
            let s = m.spec(i);
            for step in 0..50 {
                let q = m.quote(i, T0 + step * 3_600_000);
                assert!(q.bid > lo && q.ask < hi, "{name} {q:?}");
                assert!(q.ask > q.bid, "{name} {q:?}");
                assert!(q.spread >= s.spread_min && q.spread <= s.spread_max);
                let pts = ((q.ask - q.bid) / s.point()).round() as i64;
                assert_eq!(pts, q.spread, "{name}");
                let scaled = q.bid * 10f64.powi(s.digits as i32);
                assert!(
                    (scaled - scaled.round()).abs() < 1e-6,
                    "{name} bid off grid"
                );
            }
        }
    }

    #[test]
    fn latest_tick_never_comes_from_the_future_and_is_at_most_two_seconds_old() {
        let m = market(5);
        for t in (T0..T0 + 5_000).step_by(37) {
            let q = m.quote(0, t);
            assert!(q.time_ms <= t && t - q.time_ms < 2_000, "{t} {q:?}");
            assert_eq!(q.time_ms.div_euclid(1000), q.k);
        }
    }

    #[test]
    fn price_moves_with_time() {
        let m = market(8);
        let i = m.index("EURUSD").unwrap();
        let distinct: std::collections::BTreeSet<i64> = (0..120)
            .map(|s| (m.quote(i, T0 + s * 1000).bid * 1e5) as i64)
            .collect();
        assert!(
            distinct.len() >= 10,
            "two minutes of EURUSD show {} prices",
            distinct.len()
        );
    }

    #[test]
    fn cross_rate_is_the_product_of_its_legs() {
        let m = market(21);
        let (ej, eu, uj) = (
            m.index("EURJPY").unwrap(),
            m.index("EURUSD").unwrap(),
            m.index("USDJPY").unwrap(),
        );
        for k in [T0 / 1000, T0 / 1000 + 99_999] {
            let lhs = m.log_mid(ej, k);
            let rhs = m.log_mid(eu, k) + m.log_mid(uj, k);
            assert!((lhs - rhs).abs() < 1e-12);
        }
    }

    #[test]
    fn tick_value_is_constant_for_usd_quoted_and_follows_price_for_jpy() {
        let m = market(2);
        let eu = m.index("EURUSD").unwrap();
        let (p, l) = m.tick_values(eu, T0);
        assert!((p - 1.0).abs() < 1e-12 && (l - 1.0).abs() < 1e-12);
        let uj = m.index("USDJPY").unwrap();
        let (p, l) = m.tick_values(uj, T0);
        let q = m.quote(uj, T0);
        assert!(
            (p - 100.0 / q.ask).abs() < 1e-12,
            "gain converts at the ask"
        );
        assert!(
            (l - 100.0 / q.bid).abs() < 1e-12,
            "loss converts at the bid"
        );
        assert!(l > p);
        let xau = m.index("XAUUSD").unwrap();
        assert!(
            (m.tick_values(xau, T0).0 - 1.0).abs() < 1e-12,
            "100 oz × 0.01 = 1 USD"
        );
    }

    #[test]
    fn broker_clock_shifts_every_epoch_by_the_offset() {
        let m = market(1);
        assert_eq!(m.offset_secs(), 7_200);
        assert_eq!(m.broker_secs(T0 + 999), T0 / 1000 + 7_200);
        assert_eq!(m.utc_ms_of_broker(T0 / 1000 + 7_200), T0);
    }

    #[test]
    fn inconsistent_catalogue_is_refused() {
        let mut cat = default_catalogue();
        cat.retain(|s| s.name != "USDJPY");
        assert!(Market::new(1, cat, 0).is_err());
    }
}
