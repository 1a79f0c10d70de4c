//! [`PythonTerminal`]: the [`Terminal`] trait over the MetaTrader5 Python library (native)
//! or its mt5linux proxy (bridge), with upstream's argument shapes.
//!
//! * `initialize([path], login=, password=, server=)`: the path positional when set; the
//!   login keywords only when both a login and a password are known (upstream 1.2.1).
//! * `history_deals_get(from, to, group=)`: the bounds are passed as broker-local epoch
//!   ints, which the library accepts like the naive broker-time datetimes upstream builds
//!   (both mean "this wall-clock time on the broker's server").
//! * `order_send` / `order_check`: a dict holding only the fields that are set, under the
//!   library's names (`type`, `type_time`, `expiration`, ...).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::loader::Reply;
use super::session::{Call, Flavor, Session, Setup, Shape};
use super::worker::Worker;
use super::{convert, packed};
use crate::terminal::*;

/// How long each kind of call may take before the backend is declared stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// `initialize` (the terminal may be starting and logging in) and loading Python.
    pub initialize: Duration,
    /// `order_send`: a round trip to the broker's trade server.
    pub order_send: Duration,
    /// Everything else: answered from the terminal's local state.
    pub other: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            initialize: Duration::from_secs(90),
            order_send: Duration::from_secs(30),
            other: Duration::from_secs(10),
        }
    }
}

/// Calls that may wait behind a stuck one before the queue refuses more.
const QUEUE_CAPACITY: usize = 64;

pub struct PythonTerminal {
    kind: BackendKind,
    worker: Worker<Session>,
    timeouts: Timeouts,
}

impl PythonTerminal {
    /// Starts the Python thread and begins loading the interpreter in the background, so a
    /// missing or mismatched Python is logged at start-up without delaying the server.
    pub fn start(setup: Setup, timeouts: Timeouts) -> std::io::Result<Self> {
        let kind = match &setup.flavor {
            Flavor::Native => BackendKind::Native,
            Flavor::Bridge { host, port } => BackendKind::Bridge {
                host: host.clone(),
                port: *port,
            },
        };
        let worker = Worker::spawn("python", QUEUE_CAPACITY, move || Session::new(setup))?;
        // Cannot fail on a fresh worker: nothing is running and the queue is empty.
        let _ = worker.submit("load", timeouts.initialize, Session::load);
        Ok(Self {
            kind,
            worker,
            timeouts,
        })
    }

    async fn call<T: Send + 'static>(
        &self,
        limit: Duration,
        call: Call,
        read: impl FnOnce(&Value) -> Result<T, String> + Send + 'static,
    ) -> TermResult<T> {
        self.call_reply(limit, call, move |reply| read(&reply.json))
            .await
    }

    /// Like `call`, with the whole reply (JSON and binary tail) for the reader.
    async fn call_reply<T: Send + 'static>(
        &self,
        limit: Duration,
        call: Call,
        read: impl FnOnce(Reply) -> Result<T, String> + Send + 'static,
    ) -> TermResult<T> {
        let name = call.name;
        let reply = self
            .worker
            .run(name, limit, move |session| session.call(&call))
            .await
            .map_err(|e| {
                let why = e.to_string();
                if e.never_started() {
                    TermError::NotSent { why }
                } else {
                    TermError::Backend { why }
                }
            })??;
        read(reply).map_err(|e| TermError::Backend {
            why: format!("{name}() returned something unexpected: {e}"),
        })
    }

    async fn quick<T: Send + 'static>(
        &self,
        call: Call,
        read: impl FnOnce(&Value) -> Result<T, String> + Send + 'static,
    ) -> TermResult<T> {
        self.call(self.timeouts.other, call, read).await
    }
}

fn ignore(_: &Value) -> Result<(), String> {
    Ok(())
}

fn filtered(call: Call, filter: &Filter) -> Call {
    match filter {
        Filter::All => call,
        Filter::Symbol(s) => call.kwarg("symbol", s.as_str()),
        Filter::Group(g) => call.kwarg("group", g.as_str()),
        Filter::Ticket(t) => call.kwarg("ticket", *t),
    }
}

#[async_trait]
impl Terminal for PythonTerminal {
    fn kind(&self) -> BackendKind {
        self.kind.clone()
    }

    async fn initialize(&self, params: &InitParams) -> TermResult<()> {
        let mut call = Call::new("initialize", Shape::Flag);
        if let Some(path) = params.terminal_path.as_deref().filter(|p| !p.is_empty()) {
            call = call.arg(path);
        }
        if let (Some(login), Some(password)) = (params.login, params.password.as_deref()) {
            call = call.kwarg("login", login).kwarg("password", password);
            if let Some(server) = &params.server {
                call = call.kwarg("server", server.as_str());
            }
        }
        self.call(self.timeouts.initialize, call, ignore).await
    }

    async fn shutdown(&self) -> TermResult<()> {
        let call = Call::new("shutdown", Shape::Value);
        match self.quick(call, ignore).await {
            // `shutdown()` returns None on success in some builds: not a failure.
            Err(TermError::Null(_)) => Ok(()),
            other => other,
        }
    }

    async fn last_error(&self) -> TermResult<LastError> {
        self.quick(Call::new("last_error", Shape::Value), convert::last_error)
            .await
    }

    async fn terminal_info(&self) -> TermResult<TerminalInfo> {
        let call = Call::new("terminal_info", Shape::Record).fields(convert::TERMINAL_INFO);
        self.quick(call, convert::terminal_info).await
    }

    async fn account_info(&self) -> TermResult<AccountInfo> {
        let call = Call::new("account_info", Shape::Record).fields(convert::ACCOUNT_INFO);
        self.quick(call, convert::account_info).await
    }

    async fn symbols_get(&self, group: Option<&str>) -> TermResult<Vec<SymbolInfo>> {
        let mut call = Call::new("symbols_get", Shape::Records).fields(convert::SYMBOL_INFO);
        if let Some(g) = group {
            call = call.kwarg("group", g);
        }
        self.quick(call, |v| convert::list(v, convert::symbol_info))
            .await
    }

    async fn symbol_info(&self, symbol: &str) -> TermResult<SymbolInfo> {
        let call = Call::new("symbol_info", Shape::Record)
            .arg(symbol)
            .fields(convert::SYMBOL_INFO);
        self.quick(call, convert::symbol_info).await
    }

    async fn symbol_select(&self, symbol: &str, enable: bool) -> TermResult<()> {
        let call = Call::new("symbol_select", Shape::Flag)
            .arg(symbol)
            .arg(enable);
        self.quick(call, ignore).await
    }

    async fn symbol_info_tick(&self, symbol: &str) -> TermResult<Tick> {
        let call = Call::new("symbol_info_tick", Shape::Record)
            .arg(symbol)
            .fields(convert::TICK);
        self.quick(call, convert::tick).await
    }

    async fn copy_rates_from_pos(
        &self,
        symbol: &str,
        timeframe: i64,
        start_pos: u32,
        count: u32,
    ) -> TermResult<Vec<Rate>> {
        let call = Call::new("copy_rates_from_pos", Shape::Rates)
            .arg(symbol)
            .arg(timeframe)
            .arg(start_pos)
            .arg(count)
            .fields(convert::RATE);
        self.call_reply(self.timeouts.other, call, |reply| {
            packed::rates(&reply.json, &reply.tail).map_err(|e| e.to_string())
        })
        .await
    }

    async fn positions_get(&self, filter: &Filter) -> TermResult<Vec<Position>> {
        let call = Call::new("positions_get", Shape::Records).fields(convert::POSITION);
        self.quick(filtered(call, filter), |v| {
            convert::list(v, convert::position)
        })
        .await
    }

    async fn orders_get(&self, filter: &Filter) -> TermResult<Vec<Order>> {
        let call = Call::new("orders_get", Shape::Records).fields(convert::ORDER);
        self.quick(filtered(call, filter), |v| convert::list(v, convert::order))
            .await
    }

    async fn history_deals_get(
        &self,
        date_from: i64,
        date_to: i64,
        group: Option<&str>,
    ) -> TermResult<Vec<Deal>> {
        let mut call = Call::new("history_deals_get", Shape::Records)
            .arg(date_from)
            .arg(date_to)
            .fields(convert::DEAL);
        if let Some(g) = group {
            call = call.kwarg("group", g);
        }
        self.quick(call, |v| convert::list(v, convert::deal)).await
    }

    async fn order_calc_margin(
        &self,
        order_type: i64,
        symbol: &str,
        volume: f64,
        price: f64,
    ) -> TermResult<f64> {
        let call = Call::new("order_calc_margin", Shape::Value)
            .arg(order_type)
            .arg(symbol)
            .arg(volume)
            .arg(price);
        self.quick(call, convert::number).await
    }

    async fn order_calc_profit(
        &self,
        order_type: i64,
        symbol: &str,
        volume: f64,
        price_open: f64,
        price_close: f64,
    ) -> TermResult<f64> {
        let call = Call::new("order_calc_profit", Shape::Value)
            .arg(order_type)
            .arg(symbol)
            .arg(volume)
            .arg(price_open)
            .arg(price_close);
        self.quick(call, convert::number).await
    }

    async fn order_check(&self, request: &TradeRequest) -> TermResult<OrderCheckResult> {
        let call = Call::new("order_check", Shape::Record)
            .arg(Value::Object(convert::request_dict(request)))
            .fields(convert::ORDER_CHECK_RESULT);
        let request = request.clone();
        self.quick(call, move |v| convert::order_check_result(v, &request))
            .await
    }

    async fn order_send(&self, request: &TradeRequest) -> TermResult<OrderSendResult> {
        let call = Call::new("order_send", Shape::Record)
            .arg(Value::Object(convert::request_dict(request)))
            .fields(convert::ORDER_SEND_RESULT);
        let request = request.clone();
        self.call(self.timeouts.order_send, call, move |v| {
            convert::order_send_result(v, &request)
        })
        .await
    }
}
