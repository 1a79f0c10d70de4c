//! `order_send` and `order_check`: the trade server's handling of one request.
//!
//! Every business rejection is a retcode, never an error, as on MT5. Choices where MT5
//! leaves room:
//! - Symbols execute instantly at the current bid/ask; a request `price` with a `deviation`
//!   (in points, absent = 0) answers 10004 REQUOTE when the market has moved further.
//! - A market open needs `symbol`, `volume` and `type`; a close also needs `symbol`
//!   (matching the position) and the opposite `type`. A symbol hidden from Market Watch has
//!   no quotes: 10021.
//! - Pending orders answer 10009 DONE (MT5 sometimes says 10008 PLACED) with the order ticket,
//!   no deal and no price. Margin is not reserved for them; it is checked when they trigger.
//! - `TRADE_ACTION_SLTP` and `TRADE_ACTION_MODIFY` take absent `sl`/`tp` as 0 (remove), like
//!   the request structure's defaults; MODIFY keeps a stop-limit price when none is given.
//! - Unknown pending-order tickets answer 10013; unknown positions 10036.
//! - Comments longer than 31 characters are truncated, not refused.
//! - `TRADE_ACTION_CLOSE_BY` closes the common volume of two opposite positions: the first
//!   at the second's open price (its deal carries the pair's whole profit), the second at its
//!   own open price, both with `DEAL_ENTRY_OUT_BY` deals.

use super::account::{Account, OrderRec};
use super::ledger::{self, Entry, Exit, round_volume};
use super::market::Market;
use super::money::{self, close_side, is_buy, open_side};
use super::rules::{self, Checked, reject, retcode_text};
use crate::terminal::consts::*;
use crate::terminal::{OrderCheckResult, TradeRequest};

/// `DEAL_ENTRY_OUT_BY` (not exported by the Python package's constants used here).
pub(crate) const DEAL_ENTRY_OUT_BY: i64 = 3;

/// What the server answers, before the terminal adds `request_id` and the request echo.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Outcome {
    pub retcode: i64,
    pub deal: i64,
    pub order: i64,
    pub volume: f64,
    pub price: f64,
    pub bid: f64,
    pub ask: f64,
}

impl Outcome {
    pub(crate) fn comment(&self) -> &'static str {
        retcode_text(self.retcode)
    }

    fn done(order: i64, deal: i64, volume: f64, price: f64) -> Self {
        Self {
            retcode: TRADE_RETCODE_DONE,
            deal,
            order,
            volume,
            price,
            ..Self::default()
        }
    }
}

/// Executes `req` against the account at `now_ms`. The account changes only on success.
pub(crate) fn execute(
    acct: &mut Account,
    market: &Market,
    now_ms: i64,
    req: &TradeRequest,
) -> Outcome {
    let mut out = match dispatch(acct, market, now_ms, req) {
        Ok(o) => o,
        Err(r) => Outcome {
            retcode: r.code,
            ..Outcome::default()
        },
    };
    if let Some(i) = quoted_symbol(acct, market, req) {
        let q = market.quote(i, now_ms);
        (out.bid, out.ask) = (q.bid, q.ask);
    }
    out
}

/// Validates `req` as `order_send` would and projects the account after it, changing nothing.
/// Success is retcode 0 ("Done"), the MT5 convention for `order_check`.
pub(crate) fn check(
    acct: &Account,
    market: &Market,
    now_ms: i64,
    req: &TradeRequest,
) -> OrderCheckResult {
    // The projection needs no history: copying it would make every check O(history).
    let mut after = acct.open_copy();
    let out = execute(&mut after, market, now_ms, req);
    let ok = out.retcode == TRADE_RETCODE_DONE;
    let m = money::metrics(if ok { &after } else { acct }, market, now_ms);
    OrderCheckResult {
        retcode: if ok { 0 } else { out.retcode },
        balance: m.balance,
        equity: m.equity,
        profit: m.profit,
        margin: m.margin,
        margin_free: m.margin_free,
        margin_level: m.margin_level,
        comment: if ok {
            "Done".into()
        } else {
            out.comment().into()
        },
        request: req.clone(),
    }
}

fn quoted_symbol(acct: &Account, market: &Market, req: &TradeRequest) -> Option<usize> {
    let name = req
        .symbol
        .clone()
        .or_else(|| {
            req.position
                .and_then(|t| acct.position_index(t))
                .map(|p| acct.positions[p].symbol.clone())
        })
        .or_else(|| {
            req.order
                .and_then(|t| acct.order_index(t))
                .map(|o| acct.orders[o].symbol.clone())
        })?;
    market.index(&name)
}

fn dispatch(
    acct: &mut Account,
    market: &Market,
    now_ms: i64,
    req: &TradeRequest,
) -> Checked<Outcome> {
    match req.action {
        TRADE_ACTION_DEAL if req.position.is_some() => close(acct, market, now_ms, req),
        TRADE_ACTION_DEAL => open(acct, market, now_ms, req),
        TRADE_ACTION_PENDING => place(acct, market, now_ms, req),
        TRADE_ACTION_SLTP => sltp(acct, market, now_ms, req),
        TRADE_ACTION_MODIFY => modify(acct, market, now_ms, req),
        TRADE_ACTION_REMOVE => remove(acct, now_ms, req),
        TRADE_ACTION_CLOSE_BY => close_by(acct, market, now_ms, req),
        _ => reject(TRADE_RETCODE_INVALID),
    }
}

/// A known symbol that is in Market Watch (else the terminal has no quotes for it).
fn quoted(acct: &Account, market: &Market, name: Option<&str>) -> Checked<usize> {
    let Some(i) = name.and_then(|n| market.index(n)) else {
        return reject(TRADE_RETCODE_INVALID);
    };
    let spec = market.spec(i);
    if acct.is_selected(spec.name, spec.visible_by_default) {
        Ok(i)
    } else {
        reject(TRADE_RETCODE_PRICE_OFF)
    }
}

/// Instant execution: a quoted `price` further than `deviation` points from the fill is a
/// requote.
fn requote(market: &Market, i: usize, fill: f64, req: &TradeRequest) -> Checked<()> {
    let spec = market.spec(i);
    match req.price {
        None => Ok(()),
        Some(0.0) => Ok(()),
        Some(p) if !p.is_finite() || p < 0.0 || !rules::on_grid(p, spec.tick_size()) => {
            reject(TRADE_RETCODE_INVALID_PRICE)
        }
        Some(p) => {
            let allowed = req.deviation.unwrap_or(0).max(0) as f64 * spec.point();
            if (fill - p).abs() > allowed + spec.point() * 1e-6 {
                reject(TRADE_RETCODE_REQUOTE)
            } else {
                Ok(())
            }
        }
    }
}

fn open(acct: &mut Account, market: &Market, now_ms: i64, req: &TradeRequest) -> Checked<Outcome> {
    let i = quoted(acct, market, req.symbol.as_deref())?;
    let spec = market.spec(i);
    let kind = req.kind.ok_or(rules::Reject {
        code: TRADE_RETCODE_INVALID,
    })?;
    if kind != ORDER_TYPE_BUY && kind != ORDER_TYPE_SELL {
        return reject(TRADE_RETCODE_INVALID_ORDER);
    }
    rules::trade_mode(spec, Some(is_buy(kind)))?;
    let volume = rules::volume(spec, req.volume)?;
    let filling = rules::market_filling(spec, req.type_filling)?;
    let q = market.quote(i, now_ms);
    let fill = open_side(&q, kind);
    requote(market, i, fill, req)?;
    let (sl, tp) = (req.sl.unwrap_or(0.0), req.tp.unwrap_or(0.0));
    rules::stops(spec, is_buy(kind), close_side(&q, kind), sl, tp)?;
    let need = money::margin(market, i, volume, fill, acct.leverage, now_ms);
    if money::metrics(acct, market, now_ms).margin_free < need {
        return reject(TRADE_RETCODE_NO_MONEY);
    }
    let entry = Entry {
        symbol: spec.name.to_string(),
        kind,
        volume,
        price: fill,
        sl,
        tp,
        magic: req.magic.unwrap_or(0),
        comment: rules::comment(req.comment.as_deref()),
        type_filling: filling,
        reason: DEAL_REASON_EXPERT,
    };
    let f = ledger::open_market(acct, &entry, now_ms);
    Ok(Outcome::done(f.order, f.deal, volume, fill))
}

fn close(acct: &mut Account, market: &Market, now_ms: i64, req: &TradeRequest) -> Checked<Outcome> {
    let ticket = req.position.unwrap_or_default();
    let pi = acct.position_index(ticket).ok_or(rules::Reject {
        code: TRADE_RETCODE_POSITION_CLOSED,
    })?;
    let pos = acct.positions[pi].clone();
    if req.symbol.as_deref() != Some(pos.symbol.as_str()) {
        return reject(TRADE_RETCODE_INVALID);
    }
    let i = quoted(acct, market, Some(&pos.symbol))?;
    let spec = market.spec(i);
    let opposite = if pos.kind == POSITION_TYPE_BUY {
        ORDER_TYPE_SELL
    } else {
        ORDER_TYPE_BUY
    };
    if req.kind != Some(opposite) {
        return reject(TRADE_RETCODE_INVALID);
    }
    rules::trade_mode(spec, None)?;
    let volume = match req.volume {
        Some(v) if v.is_finite() && v > pos.volume + 1e-9 => {
            return reject(TRADE_RETCODE_INVALID_CLOSE_VOLUME);
        }
        v => rules::volume(spec, v)?,
    };
    let filling = rules::market_filling(spec, req.type_filling)?;
    let q = market.quote(i, now_ms);
    let fill = close_side(&q, pos.kind);
    requote(market, i, fill, req)?;
    let exit = Exit {
        volume: round_volume(volume),
        price: fill,
        magic: req.magic.unwrap_or(0),
        comment: rules::comment(req.comment.as_deref()),
        type_filling: filling,
        reason: DEAL_REASON_EXPERT,
        entry: DEAL_ENTRY_OUT,
    };
    let f = ledger::close(acct, market, pi, &exit, now_ms);
    Ok(Outcome::done(f.order, f.deal, f.volume, fill))
}

fn place(acct: &mut Account, market: &Market, now_ms: i64, req: &TradeRequest) -> Checked<Outcome> {
    let i = quoted(acct, market, req.symbol.as_deref())?;
    let spec = market.spec(i);
    let kind = req.kind.ok_or(rules::Reject {
        code: TRADE_RETCODE_INVALID,
    })?;
    if !(ORDER_TYPE_BUY_LIMIT..=ORDER_TYPE_SELL_STOP_LIMIT).contains(&kind) {
        return reject(TRADE_RETCODE_INVALID_ORDER);
    }
    let buy = is_buy(kind);
    rules::trade_mode(spec, Some(buy))?;
    let volume = rules::volume(spec, req.volume)?;
    let price = rules::price(spec, req.price)?;
    let q = market.quote(i, now_ms);
    rules::pending_side(spec, kind, price, &q)?;
    let stoplimit = if is_stop_limit(kind) {
        rules::stoplimit(spec, kind, price, req.stoplimit)?
    } else {
        0.0
    };
    let (sl, tp) = (req.sl.unwrap_or(0.0), req.tp.unwrap_or(0.0));
    let entry_price = if stoplimit != 0.0 { stoplimit } else { price };
    rules::stops(spec, buy, entry_price, sl, tp)?;
    let filling = rules::pending_filling(spec, req.type_filling)?;
    let (expiration, expires_ms) = rules::lifetime(market, req.type_time, req.expiration, now_ms)?;
    let ticket = acct.take_order_ticket();
    acct.orders.push(OrderRec {
        ticket,
        symbol: spec.name.to_string(),
        kind,
        volume_initial: volume,
        volume_current: volume,
        price_open: price,
        price_stoplimit: stoplimit,
        sl,
        tp,
        type_time: req.type_time.unwrap_or(ORDER_TIME_GTC),
        type_filling: filling,
        expiration,
        expires_ms,
        magic: req.magic.unwrap_or(0),
        comment: rules::comment(req.comment.as_deref()),
        state: ORDER_STATE_PLACED,
        position_id: 0,
        reason: DEAL_REASON_EXPERT,
        time_setup_ms: now_ms,
        time_done_ms: None,
    });
    Ok(Outcome::done(ticket, 0, volume, 0.0))
}

pub(crate) fn is_stop_limit(kind: i64) -> bool {
    kind == ORDER_TYPE_BUY_STOP_LIMIT || kind == ORDER_TYPE_SELL_STOP_LIMIT
}

fn sltp(acct: &mut Account, market: &Market, now_ms: i64, req: &TradeRequest) -> Checked<Outcome> {
    let ticket = req.position.ok_or(rules::Reject {
        code: TRADE_RETCODE_INVALID,
    })?;
    let pi = acct.position_index(ticket).ok_or(rules::Reject {
        code: TRADE_RETCODE_POSITION_CLOSED,
    })?;
    let pos = acct.positions[pi].clone();
    if req.symbol.as_deref() != Some(pos.symbol.as_str()) {
        return reject(TRADE_RETCODE_INVALID);
    }
    let i = quoted(acct, market, Some(&pos.symbol))?;
    let spec = market.spec(i);
    rules::trade_mode(spec, None)?;
    let (sl, tp) = (req.sl.unwrap_or(0.0), req.tp.unwrap_or(0.0));
    if sl == pos.sl && tp == pos.tp {
        return reject(TRADE_RETCODE_NO_CHANGES);
    }
    let q = market.quote(i, now_ms);
    rules::stops(
        spec,
        pos.kind == POSITION_TYPE_BUY,
        close_side(&q, pos.kind),
        sl,
        tp,
    )?;
    let p = &mut acct.positions[pi];
    (p.sl, p.tp, p.time_update_ms) = (sl, tp, now_ms);
    Ok(Outcome::done(0, 0, 0.0, 0.0))
}

fn modify(
    acct: &mut Account,
    market: &Market,
    now_ms: i64,
    req: &TradeRequest,
) -> Checked<Outcome> {
    let ticket = req.order.ok_or(rules::Reject {
        code: TRADE_RETCODE_INVALID,
    })?;
    let oi = acct.order_index(ticket).ok_or(rules::Reject {
        code: TRADE_RETCODE_INVALID,
    })?;
    let o = acct.orders[oi].clone();
    let i = market.index(&o.symbol).ok_or(rules::Reject {
        code: TRADE_RETCODE_INVALID,
    })?;
    let spec = market.spec(i);
    rules::trade_mode(spec, None)?;
    let price = rules::price(spec, req.price)?;
    let (sl, tp) = (req.sl.unwrap_or(0.0), req.tp.unwrap_or(0.0));
    let stoplimit = if is_stop_limit(o.kind) {
        rules::stoplimit(
            spec,
            o.kind,
            price,
            req.stoplimit.or(Some(o.price_stoplimit)),
        )?
    } else {
        0.0
    };
    let type_time = req.type_time.unwrap_or(ORDER_TIME_GTC);
    let (expiration, expires_ms) =
        rules::lifetime(market, Some(type_time), req.expiration, now_ms)?;
    let unchanged = price == o.price_open
        && sl == o.sl
        && tp == o.tp
        && stoplimit == o.price_stoplimit
        && type_time == o.type_time
        && expiration == o.expiration;
    if unchanged {
        return reject(TRADE_RETCODE_NO_CHANGES);
    }
    rules::pending_side(spec, o.kind, price, &market.quote(i, now_ms))?;
    let entry_price = if stoplimit != 0.0 { stoplimit } else { price };
    rules::stops(spec, is_buy(o.kind), entry_price, sl, tp)?;
    let o = &mut acct.orders[oi];
    (o.price_open, o.sl, o.tp, o.price_stoplimit) = (price, sl, tp, stoplimit);
    (o.type_time, o.expiration, o.expires_ms) = (type_time, expiration, expires_ms);
    Ok(Outcome::done(ticket, 0, o.volume_current, 0.0))
}

fn remove(acct: &mut Account, now_ms: i64, req: &TradeRequest) -> Checked<Outcome> {
    let ticket = req.order.ok_or(rules::Reject {
        code: TRADE_RETCODE_INVALID,
    })?;
    let oi = acct.order_index(ticket).ok_or(rules::Reject {
        code: TRADE_RETCODE_INVALID,
    })?;
    let o = acct.retire_order(oi, ORDER_STATE_CANCELED, now_ms);
    Ok(Outcome::done(ticket, 0, o.volume_current, 0.0))
}

fn close_by(
    acct: &mut Account,
    market: &Market,
    now_ms: i64,
    req: &TradeRequest,
) -> Checked<Outcome> {
    let (Some(a), Some(b)) = (req.position, req.position_by) else {
        return reject(TRADE_RETCODE_INVALID);
    };
    let find = |acct: &Account, t: i64| {
        acct.position_index(t).ok_or(rules::Reject {
            code: TRADE_RETCODE_POSITION_CLOSED,
        })
    };
    let (pa, pb) = (
        acct.positions[find(acct, a)?].clone(),
        acct.positions[find(acct, b)?].clone(),
    );
    let symbol_ok = req.symbol.as_deref().is_none_or(|s| s == pa.symbol);
    if a == b || pa.symbol != pb.symbol || pa.kind == pb.kind || !symbol_ok {
        return reject(TRADE_RETCODE_INVALID);
    }
    let i = quoted(acct, market, Some(&pa.symbol))?;
    rules::trade_mode(market.spec(i), None)?;
    let volume = round_volume(pa.volume.min(pb.volume));
    let exit = |price: f64| Exit {
        volume,
        price,
        magic: req.magic.unwrap_or(0),
        comment: rules::comment(req.comment.as_deref()),
        type_filling: ORDER_FILLING_FOK,
        reason: DEAL_REASON_EXPERT,
        entry: DEAL_ENTRY_OUT_BY,
    };
    let first = ledger::close(acct, market, find(acct, a)?, &exit(pb.price_open), now_ms);
    ledger::close(acct, market, find(acct, b)?, &exit(pb.price_open), now_ms);
    Ok(Outcome::done(
        first.order,
        first.deal,
        volume,
        pb.price_open,
    ))
}
