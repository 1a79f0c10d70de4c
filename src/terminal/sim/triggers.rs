//! What the market does to the account by itself: pending orders that trigger, SL/TP hits,
//! expirations, nightly swaps and stop-out.
//!
//! Processing is lazy: nothing runs in the background. Whenever the account is touched, the
//! market is replayed from the last processed instant to now, event by event in time order
//! (an order that fills can open a position whose stop then fires later in the same
//! catch-up). Because prices are a pure function of time, the replay gives the same result
//! whenever and in whichever process it runs.
//!
//! Fill rules (documented choices):
//! - Limit orders and take profits fill at their own price; stop orders and stop losses fill
//!   at the market price of the triggering tick (which can be worse, as with real slippage).
//! - A stop-limit order that triggers becomes a limit order at its stop-limit price, keeping
//!   its ticket.
//! - An order that triggers without enough free margin is rejected (`ORDER_STATE_REJECTED`).
//! - Swaps (points per lot) are charged at each broker midnight that ends a Monday–Friday,
//!   three times for Wednesday, every symbol alike.
//! - Stop-out: when the margin level falls below 50%, the position with the largest loss is
//!   closed (`DEAL_REASON_SO`) until the level recovers. Between events it is found to the
//!   second by the same kind of bounded search as triggers: an interval is skipped when even
//!   the fastest possible adverse move could not bring the account to the stop-out level
//!   (`money::risk`), else it is halved.

use chrono::Datelike;

use super::account::Account;
use super::engine::is_stop_limit;
use super::ledger::{self, Exit};
use super::market::{Market, Quote, round_money};
use super::money::{self, STOP_OUT_LEVEL, close_side, is_buy};
use super::search::{Budget, DEFAULT_BUDGET, Side, Watch, first_hit};
use super::snapshot::Snapshot;
use crate::terminal::consts::*;

/// `ORDER_STATE_REJECTED`.
pub(crate) const ORDER_STATE_REJECTED: i64 = 5;
const DAY_SECS: i64 = 86_400;

/// Account evaluations one catch-up may spend looking for a stop-out between events.
const STOP_OUT_BUDGET: u32 = 20_000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Event {
    Expire { at_ms: i64 },
    Rollover { at_ms: i64 },
    Tick { i: usize, q: Quote },
    StopOut { at_ms: i64 },
}

impl Event {
    fn at_ms(&self) -> i64 {
        match *self {
            Event::Expire { at_ms } | Event::Rollover { at_ms } | Event::StopOut { at_ms } => at_ms,
            Event::Tick { q, .. } => q.time_ms,
        }
    }
}

/// Replays the market up to `now_ms`. Returns whether anything was booked (the caller then
/// persists the account); `processed_ms` advances either way.
pub(crate) fn advance(acct: &mut Account, market: &Market, now_ms: i64) -> bool {
    let mut budgets = Budgets::new();
    let mut changed = false;
    while acct.processed_ms < now_ms {
        let Some(ev) = next_event(acct, market, now_ms, &mut budgets) else {
            acct.processed_ms = now_ms;
            break;
        };
        apply(acct, market, ev);
        let at = ev.at_ms();
        stop_out(acct, market, at);
        acct.processed_ms = acct.processed_ms.max(at);
        changed = true;
    }
    stop_out(acct, market, now_ms) || changed
}

/// Whether [`advance`] to `now_ms` would book anything. Lets readers skip the write path.
pub(crate) fn has_work(acct: &Account, market: &Market, now_ms: i64) -> bool {
    let mut budgets = Budgets::new();
    (acct.processed_ms < now_ms && next_event(acct, market, now_ms, &mut budgets).is_some())
        || stop_out_due(acct, market, now_ms)
}

/// Work allowances of one catch-up: price searches and stop-out searches.
struct Budgets {
    search: Budget,
    stop_out: Budget,
}

impl Budgets {
    fn new() -> Self {
        Self {
            search: Budget::new(DEFAULT_BUDGET),
            stop_out: Budget::new(STOP_OUT_BUDGET),
        }
    }
}

/// The watches on symbol `name`: pending orders first, then positions' SL/TP.
fn watches(acct: &Account, name: &str) -> Vec<Watch> {
    let mut out = Vec::new();
    for o in acct.orders.iter().filter(|o| o.symbol == name) {
        let (side, up) = match o.kind {
            ORDER_TYPE_BUY_LIMIT => (Side::Ask, false),
            ORDER_TYPE_SELL_LIMIT => (Side::Bid, true),
            ORDER_TYPE_BUY_STOP | ORDER_TYPE_BUY_STOP_LIMIT => (Side::Ask, true),
            _ => (Side::Bid, false),
        };
        out.push(Watch {
            side,
            up,
            level: o.price_open,
        });
    }
    for p in acct.positions.iter().filter(|p| p.symbol == name) {
        let buy = p.kind == POSITION_TYPE_BUY;
        let side = if buy { Side::Bid } else { Side::Ask };
        if p.sl > 0.0 {
            out.push(Watch {
                side,
                up: !buy,
                level: p.sl,
            });
        }
        if p.tp > 0.0 {
            out.push(Watch {
                side,
                up: buy,
                level: p.tp,
            });
        }
    }
    out
}

fn next_event(
    acct: &Account,
    market: &Market,
    now_ms: i64,
    budgets: &mut Budgets,
) -> Option<Event> {
    let from = acct.processed_ms;
    let mut best: Option<Event> = None;
    let consider = |best: &mut Option<Event>, ev: Event| {
        if best.is_none_or(|b| ev.at_ms() < b.at_ms()) {
            *best = Some(ev);
        }
    };
    if let Some(at) = acct
        .orders
        .iter()
        .filter_map(|o| o.expires_ms)
        .filter(|&e| e <= now_ms)
        .min()
    {
        consider(
            &mut best,
            Event::Expire {
                at_ms: at.max(from),
            },
        );
    }
    if !acct.positions.is_empty() {
        let at = market.utc_ms_of_broker(day_end(market.broker_secs(from)));
        if at <= now_ms {
            consider(&mut best, Event::Rollover { at_ms: at });
        }
    }
    let mut symbols: Vec<&str> = acct.orders.iter().map(|o| o.symbol.as_str()).collect();
    symbols.extend(acct.positions.iter().map(|p| p.symbol.as_str()));
    symbols.sort_unstable();
    symbols.dedup();
    for name in symbols {
        let Some(i) = market.index(name) else {
            continue;
        };
        let k_lo = market.tick_index_at(i, from) + 1;
        // Only ticks before the best event so far can come first.
        let limit = best.map_or(now_ms, |b| b.at_ms().min(now_ms));
        let k_hi = market.tick_index_at(i, limit);
        if let Some((_, q)) = first_hit(
            market,
            i,
            &watches(acct, name),
            k_lo,
            k_hi,
            &mut budgets.search,
        ) {
            consider(&mut best, Event::Tick { i, q });
        }
    }
    let until = best.map_or(now_ms, |b| b.at_ms().min(now_ms));
    if let Some(at_ms) = first_stop_out(acct, market, from, until, &mut budgets.stop_out) {
        consider(&mut best, Event::StopOut { at_ms });
    }
    best
}

/// The first instant in `(from, until]` at which the account is below the stop-out level,
/// to the second: intervals where [`money::risk`] proves it safe are skipped, others halved.
/// Once the budget is spent, remaining intervals are only checked at their end.
fn first_stop_out(
    acct: &Account,
    market: &Market,
    from: i64,
    until: i64,
    budget: &mut Budget,
) -> Option<i64> {
    if acct.positions.is_empty() || until <= from {
        return None;
    }
    if !budget.spend() {
        return stop_out_due(acct, market, until).then_some(until);
    }
    let dt = (until - from) as f64 / 1000.0 + 1.0;
    let (m, loss, growth) = money::risk(acct, market, from, dt);
    if m.margin <= 0.0 || m.equity - loss >= STOP_OUT_LEVEL / 100.0 * m.margin * growth {
        return None;
    }
    if until - from <= 1_000 {
        return stop_out_due(acct, market, until).then_some(until);
    }
    let mid = from + (until - from) / 2;
    first_stop_out(acct, market, from, mid, budget)
        .or_else(|| first_stop_out(acct, market, mid, until, budget))
}

/// Broker epoch second of the midnight after broker second `b`.
fn day_end(b: i64) -> i64 {
    b.div_euclid(DAY_SECS) * DAY_SECS + DAY_SECS
}

fn apply(acct: &mut Account, market: &Market, ev: Event) {
    match ev {
        Event::Expire { at_ms } => {
            while let Some(idx) = acct
                .orders
                .iter()
                .position(|o| o.expires_ms.is_some_and(|e| e <= at_ms))
            {
                acct.retire_order(idx, ORDER_STATE_EXPIRED, at_ms);
            }
        }
        Event::Rollover { at_ms } => charge_swaps(acct, market, at_ms),
        Event::Tick { i, q } => while fire_one(acct, market, i, &q) {},
        // `advance` runs the stop-out right after every event.
        Event::StopOut { .. } => {}
    }
}

fn charge_swaps(acct: &mut Account, market: &Market, at_ms: i64) {
    let ended = chrono::DateTime::from_timestamp(market.broker_secs(at_ms) - 1, 0)
        .map(|d| d.weekday().number_from_monday())
        .unwrap_or(7);
    let nights = match ended {
        3 => 3.0,
        1..=5 => 1.0,
        _ => return,
    };
    for p in &mut acct.positions {
        let Some(i) = market.index(&p.symbol) else {
            continue;
        };
        let s = market.spec(i);
        let points = if p.kind == POSITION_TYPE_BUY {
            s.swap_long
        } else {
            s.swap_short
        };
        let native = points * s.point() * s.contract_size * p.volume * nights;
        p.swap = round_money(p.swap + market.profit_to_usd(i, native, at_ms));
    }
}

/// Acts on the first order or position of symbol `i` that tick `q` triggers. Returns
/// whether it did anything (the caller repeats until the tick is exhausted).
fn fire_one(acct: &mut Account, market: &Market, i: usize, q: &Quote) -> bool {
    let spec = market.spec(i);
    let name = spec.name;
    let mut pending: Vec<(i64, usize)> = acct
        .orders
        .iter()
        .enumerate()
        .filter(|(_, o)| o.symbol == name)
        .map(|(n, o)| (o.ticket, n))
        .collect();
    pending.sort_unstable();
    for (_, idx) in pending {
        let o = &acct.orders[idx];
        let (side_price, up) = match o.kind {
            ORDER_TYPE_BUY_LIMIT => (q.ask, false),
            ORDER_TYPE_SELL_LIMIT => (q.bid, true),
            ORDER_TYPE_BUY_STOP | ORDER_TYPE_BUY_STOP_LIMIT => (q.ask, true),
            _ => (q.bid, false),
        };
        let hit = if up {
            side_price >= o.price_open
        } else {
            side_price <= o.price_open
        };
        if !hit {
            continue;
        }
        if is_stop_limit(o.kind) {
            let o = &mut acct.orders[idx];
            o.kind = if is_buy(o.kind) {
                ORDER_TYPE_BUY_LIMIT
            } else {
                ORDER_TYPE_SELL_LIMIT
            };
            (o.price_open, o.price_stoplimit) = (o.price_stoplimit, 0.0);
            return true;
        }
        let limit = matches!(o.kind, ORDER_TYPE_BUY_LIMIT | ORDER_TYPE_SELL_LIMIT);
        let price = if limit { o.price_open } else { side_price };
        let need = money::margin(market, i, o.volume_current, price, acct.leverage, q.time_ms);
        if money::metrics(acct, market, q.time_ms).margin_free < need {
            acct.retire_order(idx, ORDER_STATE_REJECTED, q.time_ms);
        } else {
            ledger::open_from_order(acct, idx, price, q.time_ms);
        }
        return true;
    }
    let mut open: Vec<(i64, usize)> = acct
        .positions
        .iter()
        .enumerate()
        .filter(|(_, p)| p.symbol == name)
        .map(|(n, p)| (p.ticket, n))
        .collect();
    open.sort_unstable();
    for (_, idx) in open {
        let p = &acct.positions[idx];
        let buy = p.kind == POSITION_TYPE_BUY;
        let price = close_side(q, p.kind);
        let sl_hit = p.sl > 0.0 && if buy { price <= p.sl } else { price >= p.sl };
        let tp_hit = p.tp > 0.0 && if buy { price >= p.tp } else { price <= p.tp };
        let (reason, fill, tag, level) = if sl_hit {
            (DEAL_REASON_SL, price, "sl", p.sl)
        } else if tp_hit {
            (DEAL_REASON_TP, p.tp, "tp", p.tp)
        } else {
            continue;
        };
        let exit = Exit {
            volume: p.volume,
            price: fill,
            magic: p.magic,
            comment: format!("[{tag} {level:.prec$}]", prec = spec.digits as usize),
            type_filling: market_filling(spec.filling_mode),
            reason,
            entry: DEAL_ENTRY_OUT,
        };
        ledger::close(acct, market, idx, &exit, q.time_ms);
        return true;
    }
    false
}

fn market_filling(mask: i64) -> i64 {
    if mask & SYMBOL_FILLING_IOC != 0 {
        ORDER_FILLING_IOC
    } else {
        ORDER_FILLING_FOK
    }
}

fn stop_out_due(acct: &Account, market: &Market, t_ms: i64) -> bool {
    let m = money::metrics(acct, market, t_ms);
    m.margin > 0.0 && m.margin_level < STOP_OUT_LEVEL
}

/// Closes the largest losers while the margin level is below the stop-out level.
fn stop_out(acct: &mut Account, market: &Market, t_ms: i64) -> bool {
    let mut acted = false;
    loop {
        let m = money::metrics(acct, market, t_ms);
        if !(m.margin > 0.0 && m.margin_level < STOP_OUT_LEVEL) {
            return acted;
        }
        let snap = Snapshot::new(market, t_ms);
        let worst = acct
            .positions
            .iter()
            .enumerate()
            .map(|(n, p)| (money::valuation(&snap, p).1 + p.swap, n))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let Some((_, idx)) = worst else { return acted };
        let p = acct.positions[idx].clone();
        let Some(i) = market.index(&p.symbol) else {
            return acted;
        };
        let exit = Exit {
            volume: p.volume,
            price: close_side(&market.quote(i, t_ms), p.kind),
            magic: p.magic,
            comment: format!("[so {:.2}%]", m.margin_level),
            type_filling: market_filling(market.spec(i).filling_mode),
            reason: DEAL_REASON_SO,
            entry: DEAL_ENTRY_OUT,
        };
        ledger::close(acct, market, idx, &exit, t_ms);
        acted = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::sim::catalogue::default_catalogue;
    use crate::terminal::sim::ledger::{Entry, open_market};

    const T0: i64 = 1_773_828_000_000;

    fn leveraged_loser(market: &Market) -> Account {
        let i = market.index("EURUSD").unwrap();
        let (now, later) = (market.quote(i, T0), market.quote(i, T0 + 86_400_000));
        let kind = if later.bid < now.bid {
            ORDER_TYPE_BUY
        } else {
            ORDER_TYPE_SELL
        };
        let mut acct = Account::fresh(1, 1_000.0, 500, T0);
        let entry = Entry {
            symbol: "EURUSD".into(),
            kind,
            volume: 4.0,
            price: money::open_side(&now, kind),
            sl: 0.0,
            tp: 0.0,
            magic: 0,
            comment: String::new(),
            type_filling: ORDER_FILLING_IOC,
            reason: DEAL_REASON_EXPERT,
        };
        open_market(&mut acct, &entry, T0);
        acct
    }

    /// Swaps zeroed so the brute force below need not replay rollovers.
    fn swapless_market() -> Market {
        let mut cat = default_catalogue();
        for s in &mut cat {
            (s.swap_long, s.swap_short) = (0.0, 0.0);
        }
        Market::new(7, cat, 0).unwrap()
    }

    #[test]
    fn stop_out_is_found_at_the_second_a_brute_force_scan_finds() {
        let market = swapless_market();
        let acct = leveraged_loser(&market);
        let brute = (1..=86_400)
            .map(|n| T0 + n * 1000)
            .find(|&t| stop_out_due(&acct, &market, t))
            .expect("the account is stopped out within a day");
        let mut replayed = acct.clone();
        assert!(advance(&mut replayed, &market, T0 + 86_400_000));
        assert!(replayed.positions.is_empty());
        let so = replayed.deals.last().unwrap();
        assert_eq!(so.reason, DEAL_REASON_SO);
        assert!(
            (so.time_ms - brute).abs() <= 1_000,
            "found {} vs brute force {brute}",
            so.time_ms
        );
    }

    #[test]
    fn a_lightly_used_account_is_proved_safe_without_scanning() {
        let market = swapless_market();
        let mut acct = leveraged_loser(&market);
        acct.positions[0].volume = 0.01;
        let mut budget = Budget::new(STOP_OUT_BUDGET);
        assert_eq!(
            first_stop_out(&acct, &market, T0, T0 + 30 * 86_400_000, &mut budget),
            None
        );
        assert!(
            budget.left() > STOP_OUT_BUDGET - 50,
            "spent {}",
            STOP_OUT_BUDGET - budget.left()
        );
    }
}
