//! Plain records mirroring the MetaTrader5 Python API's namedtuples.
//!
//! Field names follow the library exactly so that a backend can fill them attribute by
//! attribute and a reader can check them against the official documentation. Prices and
//! money are `f64` here on purpose: MetaTrader speaks doubles, and this is the only layer
//! where floats exist. Everything above converts to `Decimal` (see `model::num`).
//!
//! Times are *broker-local wall-clock seconds encoded as if they were UTC*, exactly as the
//! terminal reports them; the client layer subtracts the broker offset.

use serde::{Deserialize, Serialize};

/// `(code, message)` as returned by `MetaTrader5.last_error()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    pub code: i64,
    pub message: String,
}

impl LastError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
    /// `RES_S_OK`: the library reports no error.
    pub fn ok() -> Self {
        Self::new(1, "Success")
    }
}

/// What `initialize()` is called with. `login`/`password`/`server` are passed only when both
/// a login and a password are known (upstream rule); the password never leaves this struct
/// in logs: its `Debug` is redacted.
#[derive(Clone, Default)]
pub struct InitParams {
    pub terminal_path: Option<String>,
    pub login: Option<i64>,
    pub password: Option<String>,
    pub server: Option<String>,
}

impl std::fmt::Debug for InitParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitParams")
            .field("terminal_path", &self.terminal_path)
            .field("login", &self.login)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("server", &self.server)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TerminalInfo {
    /// Whether the terminal is connected to its trade server.
    pub connected: bool,
    pub trade_allowed: bool,
    pub build: i64,
    pub name: String,
    pub company: String,
    pub path: String,
    pub data_path: String,
    /// Broker-local "now" if the backend exposes it (current official builds do not).
    pub time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub login: i64,
    /// `ACCOUNT_TRADE_MODE_*`: 0 demo, 1 contest, 2 real.
    pub trade_mode: i64,
    pub leverage: i64,
    pub trade_allowed: bool,
    /// `ACCOUNT_MARGIN_MODE_*`: 0 retail netting, 1 exchange, 2 retail hedging.
    pub margin_mode: i64,
    pub balance: f64,
    pub credit: f64,
    pub profit: f64,
    pub equity: f64,
    pub margin: f64,
    pub margin_free: f64,
    pub margin_level: f64,
    pub name: String,
    pub server: String,
    pub currency: String,
    pub company: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolInfo {
    pub name: String,
    pub description: String,
    /// Broker tree path, e.g. `Forex\Majors\EURUSD`.
    pub path: String,
    pub visible: bool,
    pub select: bool,
    pub digits: i64,
    pub spread: i64,
    pub trade_calc_mode: i64,
    /// `SYMBOL_TRADE_MODE_*`: 0 disabled, 1 long only, 2 short only, 3 close only, 4 full.
    pub trade_mode: i64,
    pub trade_stops_level: i64,
    pub trade_freeze_level: i64,
    /// Bitmask: 1 FOK, 2 IOC, 4 BOC (the library exports no constant for these bits).
    pub filling_mode: i64,
    /// Bitmask of allowed expiration modes: 1 GTC, 2 DAY, 4 SPECIFIED, 8 SPECIFIED_DAY.
    pub expiration_mode: i64,
    /// Bitmask of allowed order types: 1 market, 2 limit, 4 stop, 8 stop limit, 16 SL, 32 TP.
    pub order_mode: i64,
    pub swap_mode: i64,
    pub swap_rollover3days: i64,
    pub bid: f64,
    pub ask: f64,
    pub point: f64,
    pub trade_tick_value: f64,
    pub trade_tick_value_profit: f64,
    pub trade_tick_value_loss: f64,
    pub trade_tick_size: f64,
    pub trade_contract_size: f64,
    pub volume_min: f64,
    pub volume_max: f64,
    pub volume_step: f64,
    pub swap_long: f64,
    pub swap_short: f64,
    pub margin_initial: f64,
    pub margin_maintenance: f64,
    pub margin_hedged: f64,
    pub currency_base: String,
    pub currency_profit: String,
    pub currency_margin: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    pub time: i64,
    pub bid: f64,
    pub ask: f64,
    pub last: f64,
    pub volume: i64,
    pub time_msc: i64,
    pub flags: i64,
    pub volume_real: f64,
}

/// One bar of `copy_rates_*` (the numpy structured row).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    pub time: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub tick_volume: i64,
    pub spread: i64,
    pub real_volume: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub ticket: i64,
    pub time: i64,
    pub time_msc: i64,
    pub time_update: i64,
    /// `POSITION_TYPE_BUY` 0 / `POSITION_TYPE_SELL` 1.
    #[serde(rename = "type")]
    pub kind: i64,
    pub magic: i64,
    pub identifier: i64,
    pub volume: f64,
    pub price_open: f64,
    pub sl: f64,
    pub tp: f64,
    pub price_current: f64,
    pub swap: f64,
    pub profit: f64,
    pub symbol: String,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub ticket: i64,
    pub time_setup: i64,
    pub time_expiration: i64,
    /// `ORDER_TYPE_*` (2..7 for pending orders).
    #[serde(rename = "type")]
    pub kind: i64,
    pub type_time: i64,
    pub type_filling: i64,
    pub state: i64,
    pub magic: i64,
    pub position_id: i64,
    pub volume_initial: f64,
    pub volume_current: f64,
    pub price_open: f64,
    pub sl: f64,
    pub tp: f64,
    pub price_current: f64,
    pub price_stoplimit: f64,
    pub symbol: String,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deal {
    pub ticket: i64,
    pub order: i64,
    pub time: i64,
    pub time_msc: i64,
    /// `DEAL_TYPE_*`: 0 buy, 1 sell, 2 balance, 3 credit, 4 charge, ...
    #[serde(rename = "type")]
    pub kind: i64,
    /// `DEAL_ENTRY_*`: 0 in, 1 out, 2 in/out, 3 out by.
    pub entry: i64,
    pub magic: i64,
    pub position_id: i64,
    pub reason: i64,
    pub volume: f64,
    pub price: f64,
    pub commission: f64,
    pub swap: f64,
    pub profit: f64,
    pub fee: f64,
    pub symbol: String,
    pub comment: String,
}

/// The `order_send` / `order_check` request dictionary. `None` fields are left out of the
/// dictionary a Python backend builds, so the terminal applies its own defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TradeRequest {
    pub action: i64,
    pub magic: Option<i64>,
    pub order: Option<i64>,
    pub symbol: Option<String>,
    pub volume: Option<f64>,
    pub price: Option<f64>,
    pub stoplimit: Option<f64>,
    pub sl: Option<f64>,
    pub tp: Option<f64>,
    pub deviation: Option<i64>,
    #[serde(rename = "type")]
    pub kind: Option<i64>,
    pub type_filling: Option<i64>,
    pub type_time: Option<i64>,
    /// Broker-time epoch seconds; read only with `type_time = ORDER_TIME_SPECIFIED`.
    pub expiration: Option<i64>,
    pub comment: Option<String>,
    pub position: Option<i64>,
    pub position_by: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderSendResult {
    pub retcode: i64,
    pub deal: i64,
    pub order: i64,
    pub volume: f64,
    pub price: f64,
    pub bid: f64,
    pub ask: f64,
    pub comment: String,
    pub request_id: i64,
    pub retcode_external: i64,
    pub request: TradeRequest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderCheckResult {
    pub retcode: i64,
    pub balance: f64,
    pub equity: f64,
    pub profit: f64,
    pub margin: f64,
    pub margin_free: f64,
    pub margin_level: f64,
    pub comment: String,
    pub request: TradeRequest,
}
