//! Configuration: one validated [`Config`] value built from the TOML file, environment
//! overlays and CLI flags (in that order of increasing precedence).
//!
//! Nothing outside this module reads configuration files or environment variables; the rest
//! of the program receives a `Config` (or a [`ConfigHandle`] for values that hot-reload).
//! The schema mirrors upstream mt5-trading-mcp 1.6.1 key for key, plus `[mt5] backend`,
//! `[mt5] python` and the `[sim]` table.

use std::path::PathBuf;

use rust_decimal::Decimal;

/// Which terminal backend to use (`[mt5] backend`, `--backend`, `MT5_MCP_BACKEND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// `[mt5.bridge]` present → bridge; else Windows → native; else sim.
    #[default]
    Auto,
    Native,
    Bridge,
    Sim,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum LogLevel {
    Debug,
    Info,
    #[default]
    Warning,
    Error,
    Critical,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub mt5: Mt5Config,
    pub policy: PolicyConfig,
    pub idempotency: IdempotencyConfig,
    pub symbols: SymbolsConfig,
    pub audit: AuditConfig,
    pub transport: TransportConfig,
    pub telemetry: TelemetryConfig,
    pub streaming: StreamingConfig,
    pub logging: LoggingConfig,
    pub screenshot: ScreenshotConfig,
    pub sim: SimConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mt5Config {
    pub terminal_path: String,
    pub login: Option<i64>,
    pub server: Option<String>,
    pub eager_connect: bool,
    pub backend: BackendChoice,
    /// Python executable or venv directory for the native/bridge backends.
    pub python: Option<String>,
    /// Presence of `[mt5.bridge]` selects the bridge backend under `auto`.
    pub bridge: Option<BridgeConfig>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BridgeConfig {
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    pub auto_approve_notional: Decimal,
    pub max_notional_per_trade: Decimal,
    pub max_realised_loss_per_close: Decimal,
    pub max_daily_loss: Decimal,
    pub approval_ttl_seconds: u64,
    pub max_orders_per_minute: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyConfig {
    pub path: PathBuf,
    pub ttl_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SymbolsConfig {
    pub allowlist: Vec<String>,
    pub denylist: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditConfig {
    pub path: PathBuf,
    pub max_bytes: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TransportConfig {
    pub http: HttpConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    pub host: String,
    pub port: u16,
    pub auth_token: String,
    pub stateless: bool,
    pub trusted_hosts: Vec<String>,
    pub trusted_origins: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TelemetryConfig {
    pub enabled: bool,
    pub endpoint: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StreamingConfig {
    pub quote_poll_interval_ms: u64,
    pub account_poll_interval_ms: u64,
    pub positions_poll_interval_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoggingConfig {
    pub level: LogLevel,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScreenshotConfig {
    pub width: u32,
    pub height: u32,
    pub template: Option<String>,
    pub timeout_s: f64,
}

/// The paper-trading terminal (`[sim]`).
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Seed of the price paths. `None`: the seed stored with the paper account is used (a
    /// new account draws one at random and stores it), so prices stay consistent across
    /// restarts either way.
    pub seed: Option<u64>,
    /// Opening deposit of a new paper account, in account currency (USD).
    pub balance: Decimal,
    /// Account leverage (1:N) of a new paper account.
    pub leverage: u32,
    /// The sim broker's clock offset from UTC in minutes (a multiple of 15, -720..=840).
    pub broker_utc_offset_minutes: i32,
    /// Where the paper account is persisted (default `<data_dir>/sim/account.json`).
    pub state_path: PathBuf,
}
