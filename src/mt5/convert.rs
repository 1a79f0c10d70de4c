//! Conversions from terminal records to wire types.
//!
//! Enum integers map to upstream's names with upstream's fallbacks; broker-local epochs
//! become UTC with the connect-time offset; MetaTrader's "0 means unset" becomes `null`.

use crate::model::time::{broker_to_utc, format_epoch};
use crate::model::wire::*;
use crate::model::{Dec, DecText};
use crate::terminal::consts::*;
use crate::terminal::{AccountInfo, Deal, Order, Position, Rate, SymbolInfo, Tick};

fn utc(broker_epoch: i64, offset: i32) -> String {
    format_epoch(broker_to_utc(broker_epoch, offset))
}

fn comment(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

pub fn margin_mode(mode: i64) -> &'static str {
    match mode {
        1 => "exchange",
        2 => "retail_hedging",
        _ => "retail_netting",
    }
}

pub fn category(path: &str) -> String {
    match path.split('\\').next() {
        Some(first) if !first.is_empty() => first.to_owned(),
        _ => "Unknown".to_owned(),
    }
}

pub fn filling_modes(mask: i64) -> Vec<String> {
    [
        (SYMBOL_FILLING_FOK, "fok"),
        (SYMBOL_FILLING_IOC, "ioc"),
        (SYMBOL_FILLING_BOC, "return"),
    ]
    .into_iter()
    .filter(|(bit, _)| mask & bit != 0)
    .map(|(_, name)| name.to_owned())
    .collect()
}

/// Upstream's table (note it keeps 35 for exchange options where the package says 34).
pub fn calc_mode(mode: i64) -> &'static str {
    match mode {
        0 => "forex",
        1 => "futures",
        2 => "cfd",
        3 => "cfd_index",
        4 => "cfd_leverage",
        5 => "forex_no_leverage",
        32 => "exch_stocks",
        33 => "exch_futures",
        34 => "exch_futures_forts",
        35 => "exch_options",
        36 => "exch_options_margin",
        37 => "exch_bonds",
        38 => "exch_stocks_moex",
        39 => "exch_bonds_moex",
        64 => "serv_collateral",
        _ => "unknown",
    }
}

pub fn swap_mode(mode: i64) -> &'static str {
    match mode {
        0 => "disabled",
        1 => "by_points",
        2 => "by_base_currency",
        3 => "by_margin_currency",
        4 => "by_deposit_currency",
        5 => "by_interest_current",
        6 => "by_interest_open",
        7 => "by_reopen_current",
        8 => "by_reopen_bid",
        _ => "unknown",
    }
}

pub fn weekday(day: i64) -> &'static str {
    const DAYS: [&str; 7] = [
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
    ];
    usize::try_from(day)
        .ok()
        .and_then(|d| DAYS.get(d).copied())
        .unwrap_or("wednesday")
}

pub fn position_type(kind: i64) -> &'static str {
    if kind == POSITION_TYPE_BUY {
        "buy"
    } else {
        "sell"
    }
}

/// Pending types 2..7 by name. Upstream fails the whole `get_orders` call on any other type;
/// a market order can sit in the list for a moment while it executes, so we name it instead.
pub fn order_type(kind: i64) -> &'static str {
    match kind {
        ORDER_TYPE_BUY => "buy",
        ORDER_TYPE_SELL => "sell",
        ORDER_TYPE_BUY_LIMIT => "buy_limit",
        ORDER_TYPE_SELL_LIMIT => "sell_limit",
        ORDER_TYPE_BUY_STOP => "buy_stop",
        ORDER_TYPE_SELL_STOP => "sell_stop",
        ORDER_TYPE_BUY_STOP_LIMIT => "buy_stop_limit",
        ORDER_TYPE_SELL_STOP_LIMIT => "sell_stop_limit",
        8 => "close_by",
        _ => "unknown",
    }
}

/// Deal types 0..7 by name; every other type reads as "commission" (upstream).
pub fn deal_type(kind: i64) -> &'static str {
    match kind {
        0 => "buy",
        1 => "sell",
        2 => "balance",
        3 => "credit",
        4 => "charge",
        5 => "correction",
        6 => "bonus",
        _ => "commission",
    }
}

pub fn account(a: &AccountInfo) -> AccountInfoOut {
    AccountInfoOut {
        login: a.login,
        name: a.name.clone(),
        server: a.server.clone(),
        currency: a.currency.clone(),
        balance: Dec::from_f64(a.balance),
        equity: Dec::from_f64(a.equity),
        margin: Dec::from_f64(a.margin),
        margin_free: Dec::from_f64(a.margin_free),
        margin_level: Dec::nonzero_f64(a.margin_level),
        leverage: a.leverage,
        trade_allowed: a.trade_allowed,
        margin_mode: margin_mode(a.margin_mode).to_owned(),
    }
}

pub fn quote(symbol: &str, t: &Tick, offset: i32) -> Quote {
    Quote {
        symbol: symbol.to_owned(),
        bid: Dec::from_f64(t.bid),
        ask: Dec::from_f64(t.ask),
        time: utc(t.time, offset),
    }
}

pub fn symbol(s: &SymbolInfo) -> SymbolInfoOut {
    SymbolInfoOut {
        name: s.name.clone(),
        description: s.description.clone(),
        category: category(&s.path),
        contract_size: Dec::from_f64(s.trade_contract_size),
        tick_size: Dec::from_f64(s.point),
        tick_value: Dec::from_f64(s.trade_tick_value),
        tick_value_profit: Dec::from_f64(s.trade_tick_value_profit),
        tick_value_loss: Dec::from_f64(s.trade_tick_value_loss),
        volume_min: Dec::from_f64(s.volume_min),
        volume_max: Dec::from_f64(s.volume_max),
        volume_step: Dec::from_f64(s.volume_step),
        currency_profit: s.currency_profit.clone(),
        currency_margin: s.currency_margin.clone(),
        filling_modes: filling_modes(s.filling_mode),
        digits: s.digits,
        is_tradeable: s.trade_mode != SYMBOL_TRADE_MODE_DISABLED,
        calc_mode: calc_mode(s.trade_calc_mode).to_owned(),
        margin_initial: Dec::from_f64(s.margin_initial),
        margin_maintenance: Dec::from_f64(s.margin_maintenance),
        margin_hedged: Dec::from_f64(s.margin_hedged),
        swap_long: Dec::from_f64(s.swap_long),
        swap_short: Dec::from_f64(s.swap_short),
        swap_mode: swap_mode(s.swap_mode).to_owned(),
        triple_swap_weekday: weekday(s.swap_rollover3days).to_owned(),
        stops_level: s.trade_stops_level,
        freeze_level: s.trade_freeze_level,
    }
}

pub fn bar(r: &Rate, offset: i32) -> Bar {
    Bar {
        time: utc(r.time, offset),
        open: DecText::from_f64(r.open),
        high: DecText::from_f64(r.high),
        low: DecText::from_f64(r.low),
        close: DecText::from_f64(r.close),
        tick_volume: r.tick_volume,
        real_volume: r.real_volume,
        spread: r.spread,
    }
}

pub fn position(p: &Position, offset: i32) -> PositionOut {
    PositionOut {
        ticket: p.ticket,
        symbol: p.symbol.clone(),
        kind: position_type(p.kind).to_owned(),
        volume: Dec::from_f64(p.volume),
        price_open: Dec::from_f64(p.price_open),
        price_current: Dec::from_f64(p.price_current),
        sl: Dec::nonzero_f64(p.sl),
        tp: Dec::nonzero_f64(p.tp),
        profit: Dec::from_f64(p.profit),
        swap: Dec::from_f64(p.swap),
        time_open: utc(p.time, offset),
        comment: comment(&p.comment),
    }
}

pub fn order(o: &Order, offset: i32) -> OrderOut {
    OrderOut {
        ticket: o.ticket,
        symbol: o.symbol.clone(),
        kind: order_type(o.kind).to_owned(),
        volume: Dec::from_f64(o.volume_current),
        price: Dec::from_f64(o.price_open),
        sl: Dec::nonzero_f64(o.sl),
        tp: Dec::nonzero_f64(o.tp),
        time_setup: utc(o.time_setup, offset),
        expiration: (o.time_expiration != 0).then(|| utc(o.time_expiration, offset)),
        comment: comment(&o.comment),
    }
}

pub fn deal(d: &Deal, offset: i32) -> DealOut {
    DealOut {
        ticket: d.ticket,
        order: d.order,
        symbol: d.symbol.clone(),
        kind: deal_type(d.kind).to_owned(),
        volume: Dec::from_f64(d.volume),
        price: Dec::from_f64(d.price),
        profit: Dec::from_f64(d.profit),
        swap: Dec::from_f64(d.swap),
        commission: Dec::from_f64(d.commission),
        time: utc(d.time, offset),
        comment: comment(&d.comment),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_tables_follow_upstream() {
        assert_eq!(margin_mode(0), "retail_netting");
        assert_eq!(margin_mode(1), "exchange");
        assert_eq!(margin_mode(2), "retail_hedging");
        assert_eq!(margin_mode(9), "retail_netting");
        assert_eq!(category("Forex\\Majors\\EURUSD"), "Forex");
        assert_eq!(category(""), "Unknown");
        assert_eq!(filling_modes(3), vec!["fok", "ioc"]);
        assert_eq!(filling_modes(4), vec!["return"]);
        assert_eq!(filling_modes(0), Vec::<String>::new());
        for (mode, name) in [
            (0, "forex"),
            (3, "cfd_index"),
            (4, "cfd_leverage"),
            (64, "serv_collateral"),
            (99, "unknown"),
        ] {
            assert_eq!(calc_mode(mode), name);
        }
        for (mode, name) in [
            (0, "disabled"),
            (4, "by_deposit_currency"),
            (8, "by_reopen_bid"),
            (9, "unknown"),
        ] {
            assert_eq!(swap_mode(mode), name);
        }
        for (day, name) in [
            (0, "sunday"),
            (3, "wednesday"),
            (6, "saturday"),
            (7, "wednesday"),
            (-1, "wednesday"),
        ] {
            assert_eq!(weekday(day), name);
        }
        for (kind, name) in [(0, "buy"), (1, "sell"), (5, "sell")] {
            assert_eq!(position_type(kind), name);
        }
        for (kind, name) in [
            (2, "buy_limit"),
            (3, "sell_limit"),
            (4, "buy_stop"),
            (5, "sell_stop"),
            (6, "buy_stop_limit"),
            (7, "sell_stop_limit"),
        ] {
            assert_eq!(order_type(kind), name);
        }
        for (kind, name) in [
            (0, "buy"),
            (1, "sell"),
            (2, "balance"),
            (3, "credit"),
            (4, "charge"),
            (5, "correction"),
            (6, "bonus"),
            (7, "commission"),
            (12, "commission"),
        ] {
            assert_eq!(deal_type(kind), name);
        }
    }
}
