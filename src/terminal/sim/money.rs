//! Margin and profit in the account currency, with MT5's formulas per calculation mode, and
//! the account figures derived from them (equity, free margin, margin level).
//!
//! Margin (before conversion from the margin currency to USD):
//! - Forex: `lots · contract / leverage · rate`
//! - CFD (and CFD index): `lots · contract · price · rate`
//! - CFD leverage: `lots · contract · price / leverage · rate`
//!
//! Profit: `(close − open) · lots · contract` for a buy (negated for a sell), in the profit
//! currency, converted to USD at the current rate (gains at the less favourable side).
//!
//! Open positions are margined at current prices, and hedged (opposite) positions are
//! charged in full (`margin_hedged` equals the contract size), so the account margin is the
//! plain sum of position margins.

use super::account::{Account, PositionRec};
use super::market::{Market, Quote, round_money};
use super::snapshot::Snapshot;
use crate::terminal::consts;

/// Stop-out level in percent of margin: below it the largest loser is closed.
pub(crate) const STOP_OUT_LEVEL: f64 = 50.0;

/// Whether `kind` (an order, deal or position type) is on the buy side.
pub(crate) fn is_buy(kind: i64) -> bool {
    matches!(
        kind,
        consts::ORDER_TYPE_BUY
            | consts::ORDER_TYPE_BUY_LIMIT
            | consts::ORDER_TYPE_BUY_STOP
            | consts::ORDER_TYPE_BUY_STOP_LIMIT
    )
}

/// Margin in USD for `volume` lots of symbol `i` at `price`, with the rates at `t_ms`.
pub(crate) fn margin(
    market: &Market,
    i: usize,
    volume: f64,
    price: f64,
    leverage: i64,
    t_ms: i64,
) -> f64 {
    margin_at(&Snapshot::new(market, t_ms), i, volume, price, leverage)
}

/// [`margin`] with the conversion rates of a snapshot.
pub(crate) fn margin_at(snap: &Snapshot, i: usize, volume: f64, price: f64, leverage: i64) -> f64 {
    let s = snap.market().spec(i);
    let lev = leverage.max(1) as f64;
    let notional = volume * s.contract_size;
    let native = match s.calc_mode {
        consts::SYMBOL_CALC_MODE_CFD | consts::SYMBOL_CALC_MODE_CFDINDEX => notional * price,
        consts::SYMBOL_CALC_MODE_CFDLEVERAGE => notional * price / lev,
        _ => notional / lev,
    } * s.margin_rate;
    snap.margin_to_usd(i, native)
}

/// Profit in USD (unrounded) of `volume` lots bought (`kind` buy side) or sold at `open` and
/// closed at `close`.
pub(crate) fn profit(
    market: &Market,
    i: usize,
    kind: i64,
    volume: f64,
    open: f64,
    close: f64,
    t_ms: i64,
) -> f64 {
    profit_at(&Snapshot::new(market, t_ms), i, kind, volume, open, close)
}

/// [`profit`] with the conversion rates of a snapshot.
pub(crate) fn profit_at(
    snap: &Snapshot,
    i: usize,
    kind: i64,
    volume: f64,
    open: f64,
    close: f64,
) -> f64 {
    let s = snap.market().spec(i);
    let sign = if is_buy(kind) { 1.0 } else { -1.0 };
    snap.profit_to_usd(i, sign * (close - open) * volume * s.contract_size)
}

/// The price a position of `kind` closes at: bid for a buy, ask for a sell.
pub(crate) fn close_side(q: &Quote, kind: i64) -> f64 {
    if is_buy(kind) { q.bid } else { q.ask }
}

/// The price a position of `kind` opens at: ask for a buy, bid for a sell.
pub(crate) fn open_side(q: &Quote, kind: i64) -> f64 {
    if is_buy(kind) { q.ask } else { q.bid }
}

/// A position valued at the snapshot: `(price_current, profit)`, profit rounded to cents.
pub(crate) fn valuation(snap: &Snapshot, p: &PositionRec) -> (f64, f64) {
    let Some(i) = snap.market().index(&p.symbol) else {
        return (p.price_open, 0.0);
    };
    let price = close_side(&snap.quote(i), p.kind);
    let profit = profit_at(snap, i, p.kind, p.volume, p.price_open, price);
    (price, round_money(profit))
}

/// Margin held by a position at the snapshot (USD, unrounded).
pub(crate) fn position_margin(snap: &Snapshot, p: &PositionRec, leverage: i64) -> f64 {
    let Some(i) = snap.market().index(&p.symbol) else {
        return 0.0;
    };
    let price = open_side(&snap.quote(i), p.kind);
    margin_at(snap, i, p.volume, price, leverage)
}

/// The account's money figures at an instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Metrics {
    pub balance: f64,
    /// Floating profit including accrued swaps.
    pub profit: f64,
    pub equity: f64,
    pub margin: f64,
    pub margin_free: f64,
    /// Percent; 0 when no margin is used.
    pub margin_level: f64,
}

pub(crate) fn metrics(acct: &Account, market: &Market, t_ms: i64) -> Metrics {
    metrics_at(acct, &Snapshot::new(market, t_ms))
}

/// [`metrics`] at a snapshot.
pub(crate) fn metrics_at(acct: &Account, snap: &Snapshot) -> Metrics {
    let mut floating = 0.0;
    let mut used = 0.0;
    for p in &acct.positions {
        floating += valuation(snap, p).1 + p.swap;
        used += position_margin(snap, p, acct.leverage);
    }
    let profit = round_money(floating);
    let equity = round_money(acct.balance + profit);
    let margin = round_money(used);
    let margin_level = if margin > 0.0 {
        equity / margin * 100.0
    } else {
        0.0
    };
    Metrics {
        balance: acct.balance,
        profit,
        equity,
        margin,
        margin_free: round_money(equity - margin),
        margin_level,
    }
}

/// The account at `t_ms` and bounds for the next `dt` seconds: `(metrics, largest possible
/// equity loss, largest possible margin growth factor)`. Derived from the price paths'
/// speed limit, so "no stop-out possible in this interval" can be decided without looking
/// inside it.
///
/// A position's USD profit is `(close − open)·V·c` (`c` converts the profit currency): the
/// close side moves with the mid (`e^r`) plus the spread's variation, and `c` moves with the
/// conversion symbol (constant for USD-quoted symbols).
pub(crate) fn risk(acct: &Account, market: &Market, t_ms: i64, dt: f64) -> (Metrics, f64, f64) {
    let snap = Snapshot::new(market, t_ms);
    let m = metrics_at(acct, &snap);
    let mut loss = 0.0;
    let mut growth: f64 = 0.0;
    for p in &acct.positions {
        let Some(i) = market.index(&p.symbol) else {
            continue;
        };
        let s = market.spec(i);
        let q = snap.quote(i);
        let spread_drift = ((s.spread_max - s.spread_min) as f64 / 2.0 + 1.0) * s.point() / q.bid;
        let r_price = market.max_log_move(i, dt) + spread_drift;
        let r_conv = snap.profit_conversion_reach(i, dt);
        let r_margin = snap.margin_conversion_reach(i, dt);
        let per_price = snap.profit_to_usd(i, p.volume * s.contract_size).abs();
        let close = close_side(&q, p.kind);
        loss += per_price * close * (r_price + r_conv).exp_m1()
            + per_price * p.price_open * r_conv.exp_m1()
            + 0.01;
        // Margin follows the price (CFD modes) and the margin currency's rate.
        growth = growth.max(r_price + r_margin);
    }
    (m, loss, growth.exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::sim::catalogue::default_catalogue;

    const T: i64 = 1_767_225_600_000;

    fn market() -> Market {
        Market::new(4, default_catalogue(), 0).unwrap()
    }

    #[test]
    fn margin_follows_the_calc_mode_of_each_symbol() {
        let m = market();
        let at = |n: &str| m.index(n).unwrap();
        let eurusd_ask = m.quote(at("EURUSD"), T).ask;
        let cases = [
            // (symbol, lots, price, leverage, expected USD)
            ("EURUSD", 1.0, 1.1, 100, 100_000.0 / 100.0 * eurusd_ask),
            ("USDJPY", 0.5, 150.0, 100, 500.0),
            ("XAUUSD", 0.1, 2650.0, 100, 0.1 * 100.0 * 2650.0 / 100.0),
            ("BTCUSD", 0.1, 95_000.0, 100, 0.1 * 95_000.0 / 100.0 * 5.0),
            ("US500", 1.0, 5900.0, 100, 10.0 * 5900.0 * 0.05),
            ("US500", 1.0, 5900.0, 500, 10.0 * 5900.0 * 0.05),
            ("EURJPY", 1.0, 160.0, 50, 100_000.0 / 50.0 * eurusd_ask),
        ];
        for (sym, lots, price, lev, want) in cases {
            let got = margin(&m, at(sym), lots, price, lev, T);
            assert!((got - want).abs() < 1e-6, "{sym}: {got} vs {want}");
        }
    }

    #[test]
    fn profit_is_in_usd_with_sign_by_side() {
        let m = market();
        let eu = m.index("EURUSD").unwrap();
        assert!((profit(&m, eu, 0, 1.0, 1.1, 1.1010, T) - 100.0).abs() < 1e-6);
        assert!((profit(&m, eu, 1, 1.0, 1.1, 1.1010, T) + 100.0).abs() < 1e-6);
        let uj = m.index("USDJPY").unwrap();
        let q = m.quote(uj, T);
        let p = profit(&m, uj, 0, 1.0, 150.0, 150.5, T);
        assert!(
            (p - 50_000.0 / q.ask).abs() < 1e-6,
            "JPY gain converts at the ask: {p}"
        );
        let l = profit(&m, uj, 0, 1.0, 150.5, 150.0, T);
        assert!(
            (l + 50_000.0 / q.bid).abs() < 1e-6,
            "JPY loss converts at the bid: {l}"
        );
    }

    #[test]
    fn metrics_of_an_empty_account() {
        let m = market();
        let a = Account::fresh(1, 10_000.0, 100, T);
        let x = metrics(&a, &m, T);
        assert_eq!(
            (x.balance, x.equity, x.margin, x.margin_free, x.margin_level),
            (10_000.0, 10_000.0, 0.0, 10_000.0, 0.0)
        );
    }
}
