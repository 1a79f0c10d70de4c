//! The `sim` paper-trading terminal: a broker in Rust behind the MetaTrader5 surface.
//!
//! It behaves like a demo account on a real MT5 server, so any agent workflow rehearsed on
//! it runs unchanged against a real terminal:
//! - a hedging USD account (login 52000001, "MT5MCP-Sim") whose opening deposit is a balance
//!   deal, with leverage, margin, equity and margin level that follow the prices;
//! - nine instruments with real specifications (`catalogue.rs`): forex majors, a hidden JPY
//!   cross, gold, bitcoin and an index CFD; two start hidden from Market Watch;
//! - prices that move every second, a deterministic function of the seed and the instant
//!   (`path.rs`, `market.rs`), trading 24/7, with bars aligned in broker time (`bars.rs`);
//! - `order_send`/`order_check` with MT5 retcodes (`engine.rs`, `rules.rs`), pending orders,
//!   SL/TP, expirations, swaps and stop-out applied lazily and exactly (`triggers.rs`);
//! - a broker clock offset: every epoch the terminal reports is broker-local time;
//! - persistence in an append-only journal (history and every change, one commit per write)
//!   shared safely between processes (`store.rs`, `journal.rs`, `live.rs`).
//!
//! Calls that touch the account run on tokio's blocking pool (they may lock and write the
//! state file); quotes, symbol data and profit calculations answer inline in microseconds.
//! After `shutdown` every call but `initialize` fails with "No IPC connection" (-10004),
//! like the library; the terminal starts connected. `initialize` accepts any login.

mod account;
mod bars;
mod catalogue;
mod clock;
mod engine;
mod error;
mod group;
mod journal;
mod ledger;
mod live;
mod market;
mod money;
mod path;
mod rules;
mod search;
mod snapshot;
mod store;
mod triggers;
mod view;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

pub use clock::{ManualClock, SimClock, SystemClock};
pub use error::SimError;

use super::consts::*;
use super::{
    AccountInfo, BackendKind, Deal, Filter, InitParams, LastError, Order, OrderCheckResult,
    OrderSendResult, Position, Rate, SymbolInfo, TermError, TermResult, Terminal, TerminalInfo,
    Tick, TradeRequest,
};
use crate::config::SimConfig;
use bars::Frame;
use catalogue::SymbolSpec;
use live::Shared;
use market::round_money;

/// The paper-trading terminal. Cheap to share behind an `Arc<dyn Terminal>`.
pub struct SimTerminal {
    shared: Arc<Shared>,
    connected: AtomicBool,
    last_error: Mutex<LastError>,
    next_request_id: AtomicI64,
    data_path: String,
}

impl SimTerminal {
    /// Opens the paper account at `cfg.state_path` (creating it on first use) on the
    /// machine's clock.
    pub fn open(cfg: &SimConfig) -> Result<Self, SimError> {
        Self::open_with_clock(cfg, Arc::new(SystemClock))
    }

    /// Like [`SimTerminal::open`] with an explicit clock (tests drive time with
    /// [`ManualClock`]).
    pub fn open_with_clock(cfg: &SimConfig, clock: Arc<dyn SimClock>) -> Result<Self, SimError> {
        Self::open_with_catalogue(cfg, clock, catalogue::default_catalogue())
    }

    pub(crate) fn open_with_catalogue(
        cfg: &SimConfig,
        clock: Arc<dyn SimClock>,
        catalogue: Vec<SymbolSpec>,
    ) -> Result<Self, SimError> {
        let shared = Shared::open(cfg, clock, catalogue)?;
        let data_path = shared.store.dir().to_string_lossy().into_owned();
        Ok(Self {
            shared: Arc::new(shared),
            connected: AtomicBool::new(true),
            last_error: Mutex::new(LastError::ok()),
            next_request_id: AtomicI64::new(1),
            data_path,
        })
    }

    /// When the state file was corrupt and had to be set aside (at open or later), the
    /// message to show the user; `None` otherwise.
    pub fn corrupt_state_notice(&self) -> Option<String> {
        self.shared.notice()
    }

    /// Where the paper account is persisted.
    pub fn state_path(&self) -> &Path {
        self.shared.store.path()
    }

    /// The seed of the price paths in use.
    pub fn seed(&self) -> u64 {
        self.shared.market.seed()
    }

    fn connected(&self) -> TermResult<()> {
        if self.connected.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(TermError::null(
                RES_E_INTERNAL_FAIL_CONNECT,
                "No IPC connection",
            ))
        }
    }

    /// Records `last_error()` for the call's outcome and passes it through.
    fn finish<T>(&self, r: TermResult<T>) -> TermResult<T> {
        let e = match &r {
            Ok(_) => LastError::ok(),
            Err(TermError::Null(e)) => e.clone(),
            Err(TermError::Backend { why } | TermError::NotSent { why }) => {
                LastError::new(RES_E_FAIL, why.clone())
            }
        };
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = e;
        r
    }

    /// Runs `f` on the blocking pool: it may wait for the file lock and write the file.
    async fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Shared) -> TermResult<R> + Send + 'static,
    ) -> TermResult<R> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || f(&shared))
            .await
            .map_err(|e| TermError::Backend {
                why: format!("sim worker failed: {e}"),
            })?
    }

    /// A call on the account: connection check, the blocking pool, then `last_error()`.
    async fn on_account<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Shared) -> TermResult<R> + Send + 'static,
    ) -> TermResult<R> {
        let r = match self.connected() {
            Ok(()) => self.blocking(f).await,
            Err(e) => Err(e),
        };
        self.finish(r)
    }

    fn index(&self, symbol: &str) -> TermResult<usize> {
        self.shared.market.index(symbol).ok_or_else(not_found)
    }

    /// A known symbol that is in Market Watch (the terminal streams no data for others).
    fn watched(&self, symbol: &str) -> TermResult<usize> {
        let i = self.index(symbol)?;
        if self.shared.selected(i) {
            Ok(i)
        } else {
            Err(TermError::null(
                RES_E_FAIL,
                format!("Terminal: {symbol} is not selected in Market Watch"),
            ))
        }
    }
}

fn not_found() -> TermError {
    TermError::null(RES_E_NOT_FOUND, "Terminal: Not found")
}

fn invalid(what: &str) -> TermError {
    TermError::null(RES_E_INVALID_PARAMS, format!("Invalid arguments: {what}"))
}

fn keep(filter: &Filter, symbol: &str, ticket: i64) -> bool {
    match filter {
        Filter::All => true,
        Filter::Symbol(s) => s == symbol,
        Filter::Group(g) => group::matches(g, symbol),
        Filter::Ticket(t) => *t == ticket,
    }
}

fn check_calc_args(order_type: i64, volume: f64, prices: &[f64]) -> TermResult<()> {
    if order_type != ORDER_TYPE_BUY && order_type != ORDER_TYPE_SELL {
        return Err(invalid(
            "order type must be ORDER_TYPE_BUY or ORDER_TYPE_SELL",
        ));
    }
    if !(volume.is_finite() && volume > 0.0) {
        return Err(invalid("volume must be positive"));
    }
    if prices.iter().any(|p| !(p.is_finite() && *p > 0.0)) {
        return Err(invalid("prices must be positive"));
    }
    Ok(())
}

#[async_trait]
impl Terminal for SimTerminal {
    fn kind(&self) -> BackendKind {
        BackendKind::Sim
    }

    async fn initialize(&self, params: &InitParams) -> TermResult<()> {
        if let Some(login) = params.login.filter(|l| *l != account::LOGIN) {
            tracing::info!(
                login,
                "sim: ignoring the configured login; the paper account is {}",
                account::LOGIN
            );
        }
        self.connected.store(true, Ordering::SeqCst);
        self.finish(Ok(()))
    }

    async fn shutdown(&self) -> TermResult<()> {
        self.connected.store(false, Ordering::SeqCst);
        Ok(())
    }

    async fn last_error(&self) -> TermResult<LastError> {
        Ok(self
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone())
    }

    async fn terminal_info(&self) -> TermResult<TerminalInfo> {
        let r = self.connected().map(|()| TerminalInfo {
            connected: true,
            trade_allowed: true,
            build: view::TERMINAL_BUILD,
            name: view::TERMINAL_NAME.into(),
            company: view::COMPANY.into(),
            path: self.data_path.clone(),
            data_path: self.data_path.clone(),
            time: None,
        });
        self.finish(r)
    }

    async fn account_info(&self) -> TermResult<AccountInfo> {
        self.on_account(|s| s.read(view::account_info)).await
    }

    async fn symbols_get(&self, group: Option<&str>) -> TermResult<Vec<SymbolInfo>> {
        let r = self.connected().map(|()| {
            let (m, now) = (&self.shared.market, self.shared.now_ms());
            (0..m.specs().len())
                .filter(|&i| group.is_none_or(|g| group::matches(g, m.spec(i).name)))
                .map(|i| view::symbol_info(m, i, self.shared.selected(i), now))
                .collect()
        });
        self.finish(r)
    }

    async fn symbol_info(&self, symbol: &str) -> TermResult<SymbolInfo> {
        let r = self.connected().and_then(|()| self.index(symbol)).map(|i| {
            view::symbol_info(
                &self.shared.market,
                i,
                self.shared.selected(i),
                self.shared.now_ms(),
            )
        });
        self.finish(r)
    }

    async fn symbol_select(&self, symbol: &str, enable: bool) -> TermResult<()> {
        let i = match self.index(symbol) {
            Ok(i) => i,
            Err(e) => return self.finish(self.connected().and(Err(e))),
        };
        self.on_account(move |s| {
            s.write(|acct, market, _| {
                let spec = market.spec(i);
                if acct.is_selected(spec.name, spec.visible_by_default) == enable {
                    return (Ok(()), false);
                }
                if !enable && acct.has_exposure(spec.name) {
                    let why = format!("Terminal: {} has open positions or orders", spec.name);
                    return (Err(TermError::null(RES_E_FAIL, why)), false);
                }
                if enable == spec.visible_by_default {
                    acct.selected.remove(spec.name);
                } else {
                    acct.selected.insert(spec.name.to_string(), enable);
                }
                (Ok(()), true)
            })?
        })
        .await
    }

    async fn symbol_info_tick(&self, symbol: &str) -> TermResult<Tick> {
        let r = self
            .connected()
            .and_then(|()| self.watched(symbol))
            .map(|i| view::tick(&self.shared.market, i, self.shared.now_ms()));
        self.finish(r)
    }

    async fn copy_rates_from_pos(
        &self,
        symbol: &str,
        timeframe: i64,
        start_pos: u32,
        count: u32,
    ) -> TermResult<Vec<Rate>> {
        let target = self.connected().and_then(|()| {
            let frame = Frame::of(timeframe).ok_or_else(|| invalid("unknown timeframe"))?;
            Ok((self.watched(symbol)?, frame))
        });
        let (i, frame) = match target {
            Ok(t) => t,
            Err(e) => return self.finish(Err(e)),
        };
        // Bars need no account; the blocking pool keeps a large request off the runtime.
        self.on_account(move |s| {
            Ok(bars::rates(
                &s.market,
                i,
                frame,
                s.now_ms(),
                start_pos,
                count,
            ))
        })
        .await
    }

    async fn positions_get(&self, filter: &Filter) -> TermResult<Vec<Position>> {
        let filter = filter.clone();
        self.on_account(move |s| {
            s.read(|acct, market, now| {
                let mut v: Vec<_> = acct
                    .positions
                    .iter()
                    .filter(|p| keep(&filter, &p.symbol, p.ticket))
                    .map(|p| view::position(market, p, now))
                    .collect();
                v.sort_by_key(|p| (p.time_msc, p.ticket));
                v
            })
        })
        .await
    }

    async fn orders_get(&self, filter: &Filter) -> TermResult<Vec<Order>> {
        let filter = filter.clone();
        self.on_account(move |s| {
            s.read(|acct, market, now| {
                let mut v: Vec<_> = acct
                    .orders
                    .iter()
                    .filter(|o| keep(&filter, &o.symbol, o.ticket))
                    .map(|o| view::order(market, o, now))
                    .collect();
                v.sort_by_key(|o| (o.time_setup, o.ticket));
                v
            })
        })
        .await
    }

    async fn history_deals_get(
        &self,
        date_from: i64,
        date_to: i64,
        group: Option<&str>,
    ) -> TermResult<Vec<Deal>> {
        let group = group.map(str::to_owned);
        self.on_account(move |s| {
            s.read(|acct, market, _| {
                // Filter before building answers: the history can hold many thousands.
                let mut v: Vec<_> = acct
                    .deals
                    .iter()
                    .filter(|d| (date_from..=date_to).contains(&market.broker_secs(d.time_ms)))
                    .filter(|d| {
                        group
                            .as_deref()
                            .is_none_or(|g| group::matches(g, &d.symbol))
                    })
                    .map(|d| view::deal(market, d))
                    .collect();
                v.sort_by_key(|d| (d.time_msc, d.ticket));
                v
            })
        })
        .await
    }

    async fn order_calc_margin(
        &self,
        order_type: i64,
        symbol: &str,
        volume: f64,
        price: f64,
    ) -> TermResult<f64> {
        let target = self.connected().and_then(|()| {
            check_calc_args(order_type, volume, &[price])?;
            self.shared
                .market
                .index(symbol)
                .ok_or_else(|| invalid("unknown symbol"))
        });
        let i = match target {
            Ok(i) => i,
            Err(e) => return self.finish(Err(e)),
        };
        // The account's leverage is part of the formula.
        self.on_account(move |s| {
            s.read(|acct, market, now| {
                round_money(money::margin(market, i, volume, price, acct.leverage, now))
            })
        })
        .await
    }

    async fn order_calc_profit(
        &self,
        order_type: i64,
        symbol: &str,
        volume: f64,
        price_open: f64,
        price_close: f64,
    ) -> TermResult<f64> {
        let r = self.connected().and_then(|()| {
            check_calc_args(order_type, volume, &[price_open, price_close])?;
            let m = &self.shared.market;
            let i = m.index(symbol).ok_or_else(|| invalid("unknown symbol"))?;
            let now = self.shared.now_ms();
            Ok(round_money(money::profit(
                m,
                i,
                order_type,
                volume,
                price_open,
                price_close,
                now,
            )))
        });
        self.finish(r)
    }

    async fn order_check(&self, request: &TradeRequest) -> TermResult<OrderCheckResult> {
        let req = request.clone();
        self.on_account(move |s| s.read(|acct, market, now| engine::check(acct, market, now, &req)))
            .await
    }

    async fn order_send(&self, request: &TradeRequest) -> TermResult<OrderSendResult> {
        let req = request.clone();
        let out = self
            .on_account(move |s| {
                s.write(|acct, market, now| {
                    let out = engine::execute(acct, market, now, &req);
                    (out, out.retcode == TRADE_RETCODE_DONE)
                })
            })
            .await?;
        tracing::debug!(
            action = request.action,
            retcode = out.retcode,
            order = out.order,
            "sim: order_send"
        );
        Ok(OrderSendResult {
            retcode: out.retcode,
            deal: out.deal,
            order: out.order,
            volume: out.volume,
            price: out.price,
            bid: out.bid,
            ask: out.ask,
            comment: out.comment().into(),
            request_id: self.next_request_id.fetch_add(1, Ordering::SeqCst),
            retcode_external: 0,
            request: request.clone(),
        })
    }
}
