//! Bookkeeping: how a fill changes the account. Opening books an order and an `IN` deal and
//! creates a position whose ticket is the order's (MT5 hedging); closing books a closing
//! order and an `OUT` deal whose profit (and the closed share of accrued swap) moves the
//! balance. Used by trade requests and by triggers (pending fills, SL/TP, stop-out) alike,
//! so both leave the same trail in history.

use super::account::{Account, DealRec, OrderRec, PositionRec};
use super::market::{Market, round_money};
use super::money;
use crate::terminal::consts;

/// Volumes are kept at 8 decimals so repeated partial closes never drift.
pub(crate) fn round_volume(v: f64) -> f64 {
    (v * 1e8).round() / 1e8
}

/// What a fill produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fill {
    pub order: i64,
    pub deal: i64,
    pub volume: f64,
    pub price: f64,
    pub profit: f64,
}

/// A new position's terms.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub symbol: String,
    /// `ORDER_TYPE_BUY` or `ORDER_TYPE_SELL`.
    pub kind: i64,
    pub volume: f64,
    pub price: f64,
    pub sl: f64,
    pub tp: f64,
    pub magic: i64,
    pub comment: String,
    pub type_filling: i64,
    pub reason: i64,
}

/// How (part of) a position is closed.
#[derive(Debug, Clone)]
pub(crate) struct Exit {
    pub volume: f64,
    pub price: f64,
    pub magic: i64,
    pub comment: String,
    pub type_filling: i64,
    pub reason: i64,
    /// `DEAL_ENTRY_OUT`, or `DEAL_ENTRY_OUT_BY` for a close-by.
    pub entry: i64,
}

fn deal_type(order_side_buy: bool) -> i64 {
    if order_side_buy {
        consts::DEAL_TYPE_BUY
    } else {
        consts::DEAL_TYPE_SELL
    }
}

/// Opens a position from a market order: the order goes straight to history as filled.
pub(crate) fn open_market(acct: &mut Account, e: &Entry, now_ms: i64) -> Fill {
    let ticket = acct.take_order_ticket();
    acct.history_orders.push(OrderRec {
        ticket,
        symbol: e.symbol.clone(),
        kind: e.kind,
        volume_initial: e.volume,
        volume_current: 0.0,
        price_open: e.price,
        price_stoplimit: 0.0,
        sl: e.sl,
        tp: e.tp,
        type_time: consts::ORDER_TIME_GTC,
        type_filling: e.type_filling,
        expiration: 0,
        expires_ms: None,
        magic: e.magic,
        comment: e.comment.clone(),
        state: consts::ORDER_STATE_FILLED,
        position_id: ticket,
        reason: e.reason,
        time_setup_ms: now_ms,
        time_done_ms: Some(now_ms),
    });
    open_position(acct, ticket, e, now_ms)
}

/// Opens a position from a pending order that has triggered; the order is retired as filled
/// and the position takes its ticket, magic and comment.
pub(crate) fn open_from_order(acct: &mut Account, idx: usize, price: f64, now_ms: i64) -> Fill {
    let pending = &mut acct.orders[idx];
    pending.volume_current = 0.0;
    pending.position_id = pending.ticket;
    let o = acct.retire_order(idx, consts::ORDER_STATE_FILLED, now_ms);
    let side = if money::is_buy(o.kind) {
        consts::ORDER_TYPE_BUY
    } else {
        consts::ORDER_TYPE_SELL
    };
    let entry = Entry {
        symbol: o.symbol.clone(),
        kind: side,
        volume: o.volume_initial,
        price,
        sl: o.sl,
        tp: o.tp,
        magic: o.magic,
        comment: o.comment.clone(),
        type_filling: o.type_filling,
        reason: o.reason,
    };
    open_position(acct, o.ticket, &entry, now_ms)
}

fn open_position(acct: &mut Account, ticket: i64, e: &Entry, now_ms: i64) -> Fill {
    let deal = acct.take_deal_ticket();
    acct.deals.push(DealRec {
        ticket: deal,
        order: ticket,
        time_ms: now_ms,
        kind: deal_type(money::is_buy(e.kind)),
        entry: consts::DEAL_ENTRY_IN,
        magic: e.magic,
        position_id: ticket,
        reason: e.reason,
        volume: e.volume,
        price: e.price,
        commission: 0.0,
        swap: 0.0,
        profit: 0.0,
        fee: 0.0,
        symbol: e.symbol.clone(),
        comment: e.comment.clone(),
    });
    let kind = if money::is_buy(e.kind) {
        consts::POSITION_TYPE_BUY
    } else {
        consts::POSITION_TYPE_SELL
    };
    acct.positions.push(PositionRec {
        ticket,
        symbol: e.symbol.clone(),
        kind,
        volume: e.volume,
        price_open: e.price,
        sl: e.sl,
        tp: e.tp,
        swap: 0.0,
        magic: e.magic,
        comment: e.comment.clone(),
        time_ms: now_ms,
        time_update_ms: now_ms,
    });
    Fill {
        order: ticket,
        deal,
        volume: e.volume,
        price: e.price,
        profit: 0.0,
    }
}

/// Closes `x.volume` of the position at `pos_idx` (all of it when equal to its volume).
pub(crate) fn close(
    acct: &mut Account,
    market: &Market,
    pos_idx: usize,
    x: &Exit,
    now_ms: i64,
) -> Fill {
    let pos = acct.positions[pos_idx].clone();
    let i = market.index(&pos.symbol);
    let raw = i.map_or(0.0, |i| {
        money::profit(
            market,
            i,
            pos.kind,
            x.volume,
            pos.price_open,
            x.price,
            now_ms,
        )
    });
    let profit = round_money(raw);
    let full = x.volume >= pos.volume - 1e-9;
    let swap = if full {
        pos.swap
    } else {
        round_money(pos.swap * x.volume / pos.volume)
    };
    let closing_kind = if pos.kind == consts::POSITION_TYPE_BUY {
        consts::ORDER_TYPE_SELL
    } else {
        consts::ORDER_TYPE_BUY
    };
    let order = acct.take_order_ticket();
    acct.history_orders.push(OrderRec {
        ticket: order,
        symbol: pos.symbol.clone(),
        kind: closing_kind,
        volume_initial: x.volume,
        volume_current: 0.0,
        price_open: x.price,
        price_stoplimit: 0.0,
        sl: 0.0,
        tp: 0.0,
        type_time: consts::ORDER_TIME_GTC,
        type_filling: x.type_filling,
        expiration: 0,
        expires_ms: None,
        magic: x.magic,
        comment: x.comment.clone(),
        state: consts::ORDER_STATE_FILLED,
        position_id: pos.ticket,
        reason: x.reason,
        time_setup_ms: now_ms,
        time_done_ms: Some(now_ms),
    });
    let deal = acct.take_deal_ticket();
    acct.deals.push(DealRec {
        ticket: deal,
        order,
        time_ms: now_ms,
        kind: deal_type(money::is_buy(closing_kind)),
        entry: x.entry,
        magic: x.magic,
        position_id: pos.ticket,
        reason: x.reason,
        volume: x.volume,
        price: x.price,
        commission: 0.0,
        swap,
        profit,
        fee: 0.0,
        symbol: pos.symbol.clone(),
        comment: x.comment.clone(),
    });
    acct.balance = round_money(acct.balance + profit + swap);
    if full {
        acct.positions.remove(pos_idx);
    } else {
        let p = &mut acct.positions[pos_idx];
        p.volume = round_volume(p.volume - x.volume);
        p.swap = round_money(p.swap - swap);
        p.time_update_ms = now_ms;
    }
    Fill {
        order,
        deal,
        volume: x.volume,
        price: x.price,
        profit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::sim::catalogue::default_catalogue;

    const T: i64 = 1_767_225_600_000;

    fn entry(kind: i64, volume: f64, price: f64) -> Entry {
        Entry {
            symbol: "EURUSD".into(),
            kind,
            volume,
            price,
            sl: 0.0,
            tp: 0.0,
            magic: 77,
            comment: "hello".into(),
            type_filling: 1,
            reason: consts::DEAL_REASON_EXPERT,
        }
    }

    fn exit(volume: f64, price: f64) -> Exit {
        Exit {
            volume,
            price,
            magic: 5,
            comment: String::new(),
            type_filling: 1,
            reason: 3,
            entry: 1,
        }
    }

    #[test]
    fn open_then_partial_then_full_close_books_everything_once() {
        let m = Market::new(1, default_catalogue(), 0).unwrap();
        let mut a = Account::fresh(1, 10_000.0, 100, T);
        let f = open_market(&mut a, &entry(0, 0.3, 1.1), T);
        assert_eq!(a.positions[0].ticket, f.order);
        assert_eq!(a.history_orders[0].position_id, f.order);
        assert_eq!(
            (a.deals[1].entry, a.deals[1].magic, a.deals[1].kind),
            (0, 77, 0)
        );
        a.positions[0].swap = -3.0;

        let c = close(&mut a, &m, 0, &exit(0.1, 1.1010), T + 1);
        assert!(
            (c.profit - 10.0).abs() < 1e-9,
            "0.1 lot × 10 pips = 10 USD: {}",
            c.profit
        );
        assert_eq!(a.positions[0].volume, 0.2);
        assert_eq!(
            a.positions[0].ticket, f.order,
            "partial close keeps the ticket"
        );
        assert_eq!(a.deals[2].swap, -1.0);
        assert_eq!(a.balance, 10_000.0 + 10.0 - 1.0);

        let c2 = close(&mut a, &m, 0, &exit(0.2, 1.0990), T + 2);
        assert!(
            (c2.profit + 20.0).abs() < 1e-9,
            "0.2 lot × 10 pips = -20 USD: {}",
            c2.profit
        );
        assert!(a.positions.is_empty());
        let out = a.deals.last().unwrap();
        assert_eq!(
            (out.entry, out.kind, out.position_id, out.swap),
            (1, 1, f.order, -2.0)
        );
        assert_eq!(a.balance, round_money(10_000.0 + 10.0 - 1.0 - 20.0 - 2.0));
        assert_eq!(a.history_orders.len(), 3);
    }
}
