//! The `Terminal` trait: the MetaTrader5 Python API as an async Rust interface.
//!
//! Every backend (the `sim` paper broker, the embedded-Python `native` and `bridge`
//! backends, a shadow wrapper one day) implements exactly the library's surface, so
//! the client layer above (`crate::mt5`) keeps upstream's semantics: a `None` from the
//! library becomes [`TermError::Null`] carrying the `last_error()` read *in the same call*
//! (a later `last_error()` may already describe another call), and the client decides what
//! a `None` means for each function (empty list, not found, disconnected).
//!
//! The trait is object safe (`Arc<dyn Terminal>`) so a backend is chosen at run time and a
//! terminal can wrap another one.

pub mod consts;
#[cfg(feature = "python")]
pub mod python;
pub mod records;
pub mod select;
pub mod sim;
pub mod unavailable;

use async_trait::async_trait;

pub use records::*;

/// Why a terminal call produced no value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TermError {
    /// The library returned `None` (or `False` for `initialize`/`symbol_select`);
    /// `last_error()` as read right after it.
    #[error("terminal returned no result ({}: {})", .0.code, .0.message)]
    Null(LastError),
    /// The backend itself failed: library missing, interpreter wedged, call timed out, or
    /// an exception inside the library. `why` is meant for the human operator.
    #[error("terminal backend failure: {why}")]
    Backend { why: String },
    /// The backend refused the call before it reached the library (not loaded, stuck on an
    /// earlier call, queue full, or the call gave up while still queued): certainly nothing
    /// was sent, so the policy engine may release an idempotency claim instead of treating
    /// the outcome as unknown.
    #[error("terminal backend refused the call: {why}")]
    NotSent { why: String },
}

impl TermError {
    pub fn null(code: i64, message: impl Into<String>) -> Self {
        TermError::Null(LastError::new(code, message))
    }
    /// The operator-facing reason of a backend failure, whether or not the call was sent.
    pub fn backend_why(&self) -> Option<&str> {
        match self {
            TermError::Backend { why } | TermError::NotSent { why } => Some(why),
            TermError::Null(_) => None,
        }
    }
    /// The library's "no IPC connection" code, which the client answers with one reconnect.
    pub fn is_ipc_lost(&self) -> bool {
        matches!(self, TermError::Null(e) if e.code == consts::RES_E_INTERNAL_FAIL_CONNECT)
    }
}

pub type TermResult<T> = Result<T, TermError>;

/// Selection for `positions_get` / `orders_get`, mirroring the library's keyword arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    All,
    Symbol(String),
    /// A group pattern such as `*USD*` (comma-separated, `!` excludes).
    Group(String),
    Ticket(i64),
}

/// Which kind of backend sits behind a terminal, for logs and `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendKind {
    Sim,
    Native,
    Bridge { host: String, port: u16 },
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendKind::Sim => f.write_str("sim"),
            BackendKind::Native => f.write_str("native"),
            BackendKind::Bridge { host, port } => write!(f, "bridge -> {host}:{port}"),
        }
    }
}

#[async_trait]
pub trait Terminal: Send + Sync + 'static {
    fn kind(&self) -> BackendKind;

    /// `initialize(...)`; `Err(Null)` when the library returns `False`.
    async fn initialize(&self, params: &InitParams) -> TermResult<()>;
    async fn shutdown(&self) -> TermResult<()>;
    async fn last_error(&self) -> TermResult<LastError>;

    async fn terminal_info(&self) -> TermResult<TerminalInfo>;
    async fn account_info(&self) -> TermResult<AccountInfo>;

    /// `symbols_get(group=...)`: every symbol the broker offers, in broker order.
    async fn symbols_get(&self, group: Option<&str>) -> TermResult<Vec<SymbolInfo>>;
    async fn symbol_info(&self, symbol: &str) -> TermResult<SymbolInfo>;
    /// `symbol_select(symbol, enable)`; `Err(Null)` when the library returns `False`.
    async fn symbol_select(&self, symbol: &str, enable: bool) -> TermResult<()>;
    async fn symbol_info_tick(&self, symbol: &str) -> TermResult<Tick>;

    /// `copy_rates_from_pos(symbol, timeframe, start_pos, count)`: oldest bar first, as the
    /// library returns them. `timeframe` is a `TIMEFRAME_*` value.
    async fn copy_rates_from_pos(
        &self,
        symbol: &str,
        timeframe: i64,
        start_pos: u32,
        count: u32,
    ) -> TermResult<Vec<Rate>>;

    async fn positions_get(&self, filter: &Filter) -> TermResult<Vec<Position>>;
    async fn orders_get(&self, filter: &Filter) -> TermResult<Vec<Order>>;
    /// `history_deals_get(date_from, date_to, group=...)` with both bounds in broker-local
    /// epoch seconds (the library takes naive datetimes in broker time).
    async fn history_deals_get(
        &self,
        date_from: i64,
        date_to: i64,
        group: Option<&str>,
    ) -> TermResult<Vec<Deal>>;

    /// Margin in account currency for `order_type` (`ORDER_TYPE_BUY`/`SELL`).
    async fn order_calc_margin(
        &self,
        order_type: i64,
        symbol: &str,
        volume: f64,
        price: f64,
    ) -> TermResult<f64>;
    /// Profit in account currency of a `volume` trade opened at `price_open` and closed at
    /// `price_close`.
    async fn order_calc_profit(
        &self,
        order_type: i64,
        symbol: &str,
        volume: f64,
        price_open: f64,
        price_close: f64,
    ) -> TermResult<f64>;
    async fn order_check(&self, request: &TradeRequest) -> TermResult<OrderCheckResult>;
    async fn order_send(&self, request: &TradeRequest) -> TermResult<OrderSendResult>;
}
