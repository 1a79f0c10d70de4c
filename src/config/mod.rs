//! Configuration: one validated [`Config`] value built from the TOML file, environment
//! overlays and CLI flags (in that order of increasing precedence).
//!
//! Nothing outside this module reads configuration files or environment variables; the rest
//! of the program receives a `Config` (or a [`ConfigHandle`] for values that hot-reload).
//! The schema mirrors upstream mt5-trading-mcp 1.6.1 key for key, plus `[mt5] backend`,
//! `[mt5] python` and the `[sim]` table.
//!
//! # Why it is strict
//!
//! Real money flows through this program, so a config mistake must stop the server with an
//! error that names the file, the key and the problem, never silently fall back to a
//! default. Every table rejects unknown keys (a typo in `auto_approve_notional` would
//! otherwise switch the consent gate off). Errors are one line:
//! `invalid config /x/config.toml: policy.approval_ttl_seconds: must be > 0 (got 0)`.
//!
//! # Where things come from
//!
//! * The file: `--config PATH`, else [`DefaultPaths::config_file`] (`%APPDATA%\mt5-mcp\config.toml`
//!   on Windows, `$XDG_CONFIG_HOME/mt5-mcp/config.toml` or `~/.config/mt5-mcp/config.toml`
//!   elsewhere, macOS included). A missing default file means built-in defaults; a missing
//!   `--config` file is an error. The file is UTF-8 (a leading BOM is ignored).
//! * Paths in the file (`idempotency.path`, `audit.path`, `sim.state_path`) may start with `~`
//!   (the home directory); relative paths are resolved against the directory holding the
//!   config file, so the meaning of the file does not depend on the server's working
//!   directory. `[mt5] python` is treated like a shell command: a bare name (`python3`) is
//!   left for a PATH search, a name with a separator (`venvs/mt5`) is resolved like the paths.
//!   `[mt5] terminal_path` is passed to the terminal untouched (it may be a Wine-side path).
//! * Environment ([`EnvSnapshot`], captured once): `MT5_LOGIN`, `MT5_SERVER`,
//!   `MT5_MCP_LOG_LEVEL`, `MT5_MCP_BACKEND`, `MT5_MCP_PYTHON` override the file; an empty
//!   value counts as unset. `MT5_PASSWORD` is read only when a login is configured and is
//!   returned beside the config as a [`Secret`], never inside it.
//! * CLI ([`CliOverrides`]): `--log-level`, `--[no-]stateless`, `--[no-]eager-connect`,
//!   `--backend` win over everything.
//!
//! Optional string keys (`server`, `python`, `template`) reject an empty string: the way to
//! say "unset" is to leave the key out, and an empty value is usually a templating mistake.
//!
//! # Hot reload
//!
//! [`ConfigHandle::watch`] reloads the file when it changes (see `watch.rs` for how a save
//! in progress is never mistaken for a new config). Policy values, lists, TTLs and streaming
//! intervals apply live; transport, backend and storage settings need a restart
//! ([`needs_restart`]) and the log says so. An empty file seen during a reload is treated as
//! a save in progress and ignored: to reset keys to their defaults, delete them or comment
//! them out instead of emptying the file.

mod diff;
mod env;
mod error;
mod handle;
mod load;
mod paths;
mod schema;
mod value;
mod watch;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

pub use diff::{changed_keys, needs_restart};
pub use env::{EnvSnapshot, Secret};
pub use error::ConfigError;
pub use handle::ConfigHandle;
pub use load::{CliOverrides, LoadOptions, Loaded, load};
pub use paths::{DefaultPaths, Platform};
pub use watch::WatchGuard;

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

impl BackendChoice {
    pub const ALL: [BackendChoice; 4] = [Self::Auto, Self::Native, Self::Bridge, Self::Sim];

    /// The spelling used in the file, the env var and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Native => "native",
            Self::Bridge => "bridge",
            Self::Sim => "sim",
        }
    }

    /// Exact (lowercase) match, as the file requires.
    pub fn parse_exact(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == s)
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Log level names as upstream spells them (Python `logging` levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum LogLevel {
    Debug,
    Info,
    #[default]
    Warning,
    Error,
    Critical,
}

impl LogLevel {
    pub const ALL: [LogLevel; 5] = [
        Self::Debug,
        Self::Info,
        Self::Warning,
        Self::Error,
        Self::Critical,
    ];

    /// Upper-case name: `"DEBUG"` … `"CRITICAL"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
            Self::Critical => "CRITICAL",
        }
    }

    /// Exact (upper-case) match, as the file requires; the env var is matched
    /// case-insensitively by upper-casing first.
    pub fn parse_exact(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The whole validated configuration. Build one with [`load()`], or
/// [`Config::with_data_dir`] for the built-in defaults.
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

impl Config {
    /// Built-in defaults, with storage paths under `data_dir` (normally
    /// [`DefaultPaths::data_dir`]). Tests pass a temporary directory.
    pub fn with_data_dir(data_dir: &Path) -> Self {
        Config {
            mt5: Mt5Config::default(),
            policy: PolicyConfig::default(),
            idempotency: IdempotencyConfig::with_data_dir(data_dir),
            symbols: SymbolsConfig::default(),
            audit: AuditConfig::with_data_dir(data_dir),
            transport: TransportConfig::default(),
            telemetry: TelemetryConfig::default(),
            streaming: StreamingConfig::default(),
            logging: LoggingConfig::default(),
            screenshot: ScreenshotConfig::default(),
            sim: SimConfig::with_data_dir(data_dir),
        }
    }
}

/// `[mt5]`: which terminal to drive and how to log in. Changes need a restart.
#[derive(Debug, Clone, PartialEq)]
pub struct Mt5Config {
    /// Passed to `initialize()` when non-empty. Never rewritten: it may name a path on the
    /// Wine side of a bridge.
    pub terminal_path: String,
    /// Account to log in to (> 0); `MT5_LOGIN` overrides.
    pub login: Option<i64>,
    /// Trade server name; `MT5_SERVER` overrides.
    pub server: Option<String>,
    /// Connect in the background right after start-up (default true).
    pub eager_connect: bool,
    pub backend: BackendChoice,
    /// Python executable or venv directory for the native/bridge backends.
    pub python: Option<String>,
    /// Presence of `[mt5.bridge]` selects the bridge backend under `auto`. Also filled with
    /// defaults when the bridge backend is chosen explicitly, so a bridge backend always
    /// finds its address here.
    pub bridge: Option<BridgeConfig>,
}

impl Default for Mt5Config {
    fn default() -> Self {
        Mt5Config {
            terminal_path: String::new(),
            login: None,
            server: None,
            eager_connect: true,
            backend: BackendChoice::Auto,
            python: None,
            bridge: None,
        }
    }
}

/// `[mt5.bridge]`: the mt5linux RPyC server in front of a terminal under Wine.
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeConfig {
    /// Non-empty host name or address (default `127.0.0.1`).
    pub host: String,
    /// 1..=65535 (default 8001).
    pub port: u16,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            host: "127.0.0.1".to_owned(),
            port: 8001,
        }
    }
}

/// `[policy]`: the safety limits. All money values are in the account currency; 0 switches
/// a limit off. Every field applies live on reload.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    /// Consent gate threshold (≥ 0); 0 = gate off.
    pub auto_approve_notional: Decimal,
    /// ≥ 0; 0 = off.
    pub max_notional_per_trade: Decimal,
    /// ≥ 0; 0 = off.
    pub max_realised_loss_per_close: Decimal,
    /// ≥ 0; 0 = off.
    pub max_daily_loss: Decimal,
    /// Lifetime of an approval preview, 1..=315 360 000 s (default 300). The upper bound (ten
    /// years, not upstream) keeps timer arithmetic from overflowing.
    pub approval_ttl_seconds: u64,
    /// Orders per rolling minute; 0 = no cap.
    pub max_orders_per_minute: u32,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            auto_approve_notional: Decimal::ZERO,
            max_notional_per_trade: Decimal::ZERO,
            max_realised_loss_per_close: Decimal::ZERO,
            max_daily_loss: Decimal::ZERO,
            approval_ttl_seconds: 300,
            max_orders_per_minute: 0,
        }
    }
}

/// `[idempotency]`. `path` needs a restart; `ttl_seconds` applies live.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyConfig {
    /// SQLite store (default `<data_dir>/idempotency.db`).
    pub path: PathBuf,
    /// 1..=315 360 000 s (default 86400).
    pub ttl_seconds: u64,
}

impl IdempotencyConfig {
    pub fn with_data_dir(data_dir: &Path) -> Self {
        IdempotencyConfig {
            path: data_dir.join("idempotency.db"),
            ttl_seconds: 86_400,
        }
    }
}

/// `[symbols]`: allow/deny lists applied to every mutating tool. Live on reload.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SymbolsConfig {
    pub allowlist: Vec<String>,
    pub denylist: Vec<String>,
}

/// `[audit]`: the JSONL audit log. Needs a restart.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditConfig {
    /// Default `<data_dir>/audit.jsonl`.
    pub path: PathBuf,
    /// Rotation threshold in bytes, > 0 (default 10 485 760).
    pub max_bytes: u64,
}

impl AuditConfig {
    pub fn with_data_dir(data_dir: &Path) -> Self {
        AuditConfig {
            path: data_dir.join("audit.jsonl"),
            max_bytes: 10_485_760,
        }
    }
}

/// `[transport]`. Needs a restart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TransportConfig {
    pub http: HttpConfig,
}

/// `[transport.http]`. The loopback rule for `host` is the transport's to enforce at serve
/// time (as upstream), not the loader's.
#[derive(Clone, PartialEq)]
pub struct HttpConfig {
    pub host: String,
    /// 1..=65535 (default 8765).
    pub port: u16,
    /// Static bearer token; empty = unauthenticated. Redacted in `Debug`.
    pub auth_token: String,
    pub stateless: bool,
    pub trusted_hosts: Vec<String>,
    pub trusted_origins: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            host: "127.0.0.1".to_owned(),
            port: 8765,
            auth_token: String::new(),
            stateless: true,
            trusted_hosts: Vec::new(),
            trusted_origins: Vec::new(),
        }
    }
}

/// Hand-written so that `{:?}` of a `Config` (which ends up in logs and panics) never shows
/// the bearer token; it says only whether one is set.
impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = if self.auth_token.is_empty() {
            "<empty>"
        } else {
            "<redacted>"
        };
        f.debug_struct("HttpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("auth_token", &format_args!("{token}"))
            .field("stateless", &self.stateless)
            .field("trusted_hosts", &self.trusted_hosts)
            .field("trusted_origins", &self.trusted_origins)
            .finish()
    }
}

/// `[telemetry]`: accepted for compatibility, unused (as upstream).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TelemetryConfig {
    pub enabled: bool,
    pub endpoint: String,
}

/// `[streaming]`: poll intervals of the resource pollers, in milliseconds. Live on reload.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamingConfig {
    /// 50..=10000 (default 200).
    pub quote_poll_interval_ms: u64,
    /// 100..=60000 (default 1000).
    pub account_poll_interval_ms: u64,
    /// 100..=60000 (default 1000).
    pub positions_poll_interval_ms: u64,
}

impl Default for StreamingConfig {
    fn default() -> Self {
        StreamingConfig {
            quote_poll_interval_ms: 200,
            account_poll_interval_ms: 1000,
            positions_poll_interval_ms: 1000,
        }
    }
}

/// `[logging]`. The level needs a restart (kept simple: the subscriber is built once).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoggingConfig {
    pub level: LogLevel,
}

/// `[screenshot]`: the chart screenshot bridge. Live on reload.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenshotConfig {
    /// Pixels, > 0 (default 1600).
    pub width: u32,
    /// Pixels, > 0 (default 900).
    pub height: u32,
    /// MQL5 template name, e.g. `agent.tpl`.
    pub template: Option<String>,
    /// Seconds, finite, 0 < t ≤ 3600 (default 10). The upper bound (not upstream) keeps
    /// `Duration::from_secs_f64` from panicking.
    pub timeout_s: f64,
}

impl Default for ScreenshotConfig {
    fn default() -> Self {
        ScreenshotConfig {
            width: 1600,
            height: 900,
            template: None,
            timeout_s: 10.0,
        }
    }
}

/// The paper-trading terminal (`[sim]`). Needs a restart.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Seed of the price paths. `None`: the seed stored with the paper account is used (a
    /// new account draws one at random and stores it), so prices stay consistent across
    /// restarts either way.
    pub seed: Option<u64>,
    /// Opening deposit of a new paper account, in account currency (USD): > 0 and at most
    /// 10^12 (a bound that keeps the sim's arithmetic far from `Decimal` overflow).
    pub balance: Decimal,
    /// Account leverage (1:N) of a new paper account, 1..=3000.
    pub leverage: u32,
    /// The sim broker's clock offset from UTC in minutes (a multiple of 15, -720..=840).
    pub broker_utc_offset_minutes: i32,
    /// Where the paper account is persisted (default `<data_dir>/sim/account.json`).
    pub state_path: PathBuf,
}

impl SimConfig {
    pub fn with_data_dir(data_dir: &Path) -> Self {
        SimConfig {
            seed: None,
            balance: Decimal::from(10_000),
            leverage: 100,
            broker_utc_offset_minutes: 120,
            state_path: data_dir.join("sim").join("account.json"),
        }
    }
}
