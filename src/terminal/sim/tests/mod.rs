//! Behaviour tests of the paper terminal through the `Terminal` trait, with a manual clock.

mod account_and_symbols;
mod closing;
mod market_orders;
mod pending;
mod persistence;
mod triggers;

use std::path::PathBuf;
use std::sync::Arc;

use rust_decimal::Decimal;

use super::catalogue::{SymbolSpec, default_catalogue};
use super::market::{Market, Quote};
use super::{ManualClock, SimTerminal};
use crate::config::SimConfig;
use crate::terminal::consts::*;
use crate::terminal::{Filter, OrderSendResult, Terminal, TradeRequest};

/// Wednesday 2026-03-18 10:00:00 UTC (12:00 broker time with the +120 offset used here).
pub(super) const T0: i64 = 1_773_828_000_000;
pub(super) const OFFSET_MIN: i32 = 120;
pub(super) const SEED: u64 = 7;

pub(super) struct Env {
    /// Keeps the state directory alive for the test's duration.
    pub _dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub cfg: SimConfig,
}

impl Env {
    pub fn new() -> Self {
        Self::with(Some(SEED), 10_000, 100)
    }

    pub fn with(seed: Option<u64>, balance: i64, leverage: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SimConfig {
            seed,
            balance: Decimal::from(balance),
            leverage,
            broker_utc_offset_minutes: OFFSET_MIN,
            state_path: dir.path().join("sim").join("account.json"),
        };
        Self {
            _dir: dir,
            clock: Arc::new(ManualClock::new(T0)),
            cfg,
        }
    }

    pub fn open(&self) -> SimTerminal {
        SimTerminal::open_with_clock(&self.cfg, self.clock.clone()).unwrap()
    }

    pub fn open_with(&self, catalogue: Vec<SymbolSpec>) -> SimTerminal {
        SimTerminal::open_with_catalogue(&self.cfg, self.clock.clone(), catalogue).unwrap()
    }

    pub fn state_path(&self) -> PathBuf {
        self.cfg.state_path.clone()
    }

    /// A replica of the terminal's market, to look ahead on the deterministic price path.
    pub fn market(&self) -> Market {
        Market::new(SEED, default_catalogue(), OFFSET_MIN).unwrap()
    }

    pub fn now(&self) -> i64 {
        use super::SimClock;
        self.clock.now_ms()
    }

    /// The first tick of `symbol` after the clock's instant whose quote satisfies `pred`,
    /// searching at most `within_s` seconds ahead.
    pub fn first_tick(&self, symbol: &str, within_s: i64, pred: impl Fn(&Quote) -> bool) -> Quote {
        let m = self.market();
        let i = m.index(symbol).unwrap();
        let k0 = m.tick_index_at(i, self.now()) + 1;
        (k0..k0 + within_s)
            .map(|k| m.quote_k(i, k))
            .find(|q| pred(q))
            .expect("price path never got there")
    }

    pub fn quote(&self, symbol: &str) -> Quote {
        let m = self.market();
        m.quote(m.index(symbol).unwrap(), self.now())
    }
}

pub(super) fn market_order(symbol: &str, kind: i64, volume: f64) -> TradeRequest {
    TradeRequest {
        action: TRADE_ACTION_DEAL,
        symbol: Some(symbol.into()),
        volume: Some(volume),
        kind: Some(kind),
        type_filling: Some(ORDER_FILLING_IOC),
        ..TradeRequest::default()
    }
}

pub(super) fn close_order(
    symbol: &str,
    position: i64,
    position_kind: i64,
    volume: f64,
) -> TradeRequest {
    let kind = if position_kind == POSITION_TYPE_BUY {
        ORDER_TYPE_SELL
    } else {
        ORDER_TYPE_BUY
    };
    TradeRequest {
        position: Some(position),
        ..market_order(symbol, kind, volume)
    }
}

pub(super) fn pending_order(symbol: &str, kind: i64, volume: f64, price: f64) -> TradeRequest {
    TradeRequest {
        action: TRADE_ACTION_PENDING,
        symbol: Some(symbol.into()),
        volume: Some(volume),
        kind: Some(kind),
        price: Some(price),
        type_filling: Some(ORDER_FILLING_RETURN),
        ..TradeRequest::default()
    }
}

pub(super) async fn send(t: &SimTerminal, req: TradeRequest) -> OrderSendResult {
    t.order_send(&req).await.unwrap()
}

pub(super) async fn send_ok(t: &SimTerminal, req: TradeRequest) -> OrderSendResult {
    let r = send(t, req).await;
    assert_eq!(r.retcode, TRADE_RETCODE_DONE, "{r:?}");
    r
}

/// Rounds to the symbol grid (`digits` decimals).
pub(super) fn px(x: f64, digits: u32) -> f64 {
    super::market::round_digits(x, digits)
}

pub(super) async fn positions(t: &SimTerminal) -> Vec<crate::terminal::Position> {
    t.positions_get(&Filter::All).await.unwrap()
}

pub(super) async fn orders(t: &SimTerminal) -> Vec<crate::terminal::Order> {
    t.orders_get(&Filter::All).await.unwrap()
}

pub(super) async fn deals(t: &SimTerminal) -> Vec<crate::terminal::Deal> {
    t.history_deals_get(0, i64::MAX, None).await.unwrap()
}
