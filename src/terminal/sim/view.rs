//! What the terminal reports: the MetaTrader5 records built from the account and the market
//! at an instant, with every epoch in broker time.

use super::account::{Account, DealRec, OrderRec, PositionRec};
use super::catalogue::{
    EXPIRATION_MODE_ALL, ORDER_MODE_ALL, SWAP_MODE_POINTS, SWAP_ROLLOVER_3DAYS,
};
use super::market::Market;
use super::money::{self, open_side};
use super::snapshot::Snapshot;
use crate::terminal::consts;
use crate::terminal::{AccountInfo, Deal, Order, Position, SymbolInfo, Tick};

pub(crate) const ACCOUNT_NAME: &str = "Paper Trader";
pub(crate) const SERVER: &str = "MT5MCP-Sim";
pub(crate) const COMPANY: &str = "mt5-mcp paper broker";
pub(crate) const TERMINAL_NAME: &str = "mt5-mcp sim terminal";
pub(crate) const TERMINAL_BUILD: i64 = 5200;
/// `TICK_FLAG_BID | TICK_FLAG_ASK`.
const TICK_FLAGS: i64 = 2 | 4;

pub(crate) fn account_info(acct: &Account, market: &Market, now_ms: i64) -> AccountInfo {
    let m = money::metrics(acct, market, now_ms);
    AccountInfo {
        login: acct.login,
        trade_mode: consts::ACCOUNT_TRADE_MODE_DEMO,
        leverage: acct.leverage,
        trade_allowed: true,
        margin_mode: consts::ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
        balance: m.balance,
        credit: 0.0,
        profit: m.profit,
        equity: m.equity,
        margin: m.margin,
        margin_free: m.margin_free,
        margin_level: m.margin_level,
        name: ACCOUNT_NAME.into(),
        server: SERVER.into(),
        currency: acct.currency.clone(),
        company: COMPANY.into(),
    }
}

pub(crate) fn tick(market: &Market, i: usize, now_ms: i64) -> Tick {
    let q = market.quote(i, now_ms);
    Tick {
        time: market.broker_secs(q.time_ms),
        bid: q.bid,
        ask: q.ask,
        last: 0.0,
        volume: 0,
        time_msc: market.broker_ms(q.time_ms),
        flags: TICK_FLAGS,
        volume_real: 0.0,
    }
}

pub(crate) fn symbol_info(market: &Market, i: usize, selected: bool, now_ms: i64) -> SymbolInfo {
    let s = market.spec(i);
    let q = market.quote(i, now_ms);
    let (tv_profit, tv_loss) = market.tick_values(i, now_ms);
    SymbolInfo {
        name: s.name.into(),
        description: s.description.into(),
        path: s.path.into(),
        visible: selected,
        select: selected,
        digits: s.digits as i64,
        spread: q.spread,
        trade_calc_mode: s.calc_mode,
        trade_mode: s.trade_mode,
        trade_stops_level: s.stops_level,
        trade_freeze_level: 0,
        filling_mode: s.filling_mode,
        expiration_mode: EXPIRATION_MODE_ALL,
        order_mode: ORDER_MODE_ALL,
        swap_mode: SWAP_MODE_POINTS,
        swap_rollover3days: SWAP_ROLLOVER_3DAYS,
        bid: q.bid,
        ask: q.ask,
        point: s.point(),
        trade_tick_value: tv_profit,
        trade_tick_value_profit: tv_profit,
        trade_tick_value_loss: tv_loss,
        trade_tick_size: s.tick_size(),
        trade_contract_size: s.contract_size,
        volume_min: s.volume_min,
        volume_max: s.volume_max,
        volume_step: s.volume_step,
        swap_long: s.swap_long,
        swap_short: s.swap_short,
        margin_initial: 0.0,
        margin_maintenance: 0.0,
        margin_hedged: s.contract_size,
        currency_base: s.currency_base.into(),
        currency_profit: s.currency_profit.into(),
        currency_margin: s.currency_margin.into(),
    }
}

pub(crate) fn position(market: &Market, p: &PositionRec, now_ms: i64) -> Position {
    let (price_current, profit) = money::valuation(&Snapshot::new(market, now_ms), p);
    Position {
        ticket: p.ticket,
        time: market.broker_secs(p.time_ms),
        time_msc: market.broker_ms(p.time_ms),
        time_update: market.broker_secs(p.time_update_ms),
        kind: p.kind,
        magic: p.magic,
        identifier: p.ticket,
        volume: p.volume,
        price_open: p.price_open,
        sl: p.sl,
        tp: p.tp,
        price_current,
        swap: p.swap,
        profit,
        symbol: p.symbol.clone(),
        comment: p.comment.clone(),
    }
}

pub(crate) fn order(market: &Market, o: &OrderRec, now_ms: i64) -> Order {
    // A pending order is watched on the side it would fill at: ask for buys, bid for sells.
    let price_current = market
        .index(&o.symbol)
        .map_or(0.0, |i| open_side(&market.quote(i, now_ms), o.kind));
    Order {
        ticket: o.ticket,
        time_setup: market.broker_secs(o.time_setup_ms),
        time_expiration: o.expiration,
        kind: o.kind,
        type_time: o.type_time,
        type_filling: o.type_filling,
        state: o.state,
        magic: o.magic,
        position_id: o.position_id,
        volume_initial: o.volume_initial,
        volume_current: o.volume_current,
        price_open: o.price_open,
        sl: o.sl,
        tp: o.tp,
        price_current,
        price_stoplimit: o.price_stoplimit,
        symbol: o.symbol.clone(),
        comment: o.comment.clone(),
    }
}

pub(crate) fn deal(market: &Market, d: &DealRec) -> Deal {
    Deal {
        ticket: d.ticket,
        order: d.order,
        time: market.broker_secs(d.time_ms),
        time_msc: market.broker_ms(d.time_ms),
        kind: d.kind,
        entry: d.entry,
        magic: d.magic,
        position_id: d.position_id,
        reason: d.reason,
        volume: d.volume,
        price: d.price,
        commission: d.commission,
        swap: d.swap,
        profit: d.profit,
        fee: d.fee,
        symbol: d.symbol.clone(),
        comment: d.comment.clone(),
    }
}
