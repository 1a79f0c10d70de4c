//! The schema: every table and key of the file, its default, its bound, and the walk that
//! turns a parsed TOML table into a [`Config`].
//!
//! The walk is hand-written over `toml::Table` instead of serde derive because the messages
//! matter more than the code saved: each error names the key path
//! (`policy.approval_ttl_seconds: must be > 0 (got 0)`), an unknown key is reported with the
//! table it sits in and the nearest known key, and values get pydantic-style lax coercion
//! (`value.rs`), which serde derive cannot express per field.

use std::path::Path;

use rust_decimal::Decimal;
use toml::{Table, Value};

use super::error::{Invalid, key_name, quoted};
use super::paths::{Platform, resolve_in_file, resolve_python};
use super::value::{
    Problem, boolean, decimal, describe, float, integer, non_empty_string, string, string_list,
};
use super::{BackendChoice, BridgeConfig, Config, LogLevel};

/// What the walk needs besides the table: where relative paths start and what `~` means.
pub(super) struct FileContext<'a> {
    /// Directory holding the config file.
    pub base_dir: &'a Path,
    pub home: Option<&'a Path>,
    pub platform: Platform,
    /// For the defaults of the storage paths.
    pub data_dir: &'a Path,
}

/// Known keys of every table. Drives the unknown-key check and the "belongs in \[x\]" hint.
const SCHEMA: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "mt5",
            "policy",
            "idempotency",
            "symbols",
            "audit",
            "transport",
            "telemetry",
            "streaming",
            "logging",
            "screenshot",
            "sim",
        ],
    ),
    (
        "mt5",
        &[
            "terminal_path",
            "login",
            "server",
            "eager_connect",
            "backend",
            "python",
            "bridge",
        ],
    ),
    ("mt5.bridge", &["host", "port"]),
    (
        "policy",
        &[
            "auto_approve_notional",
            "max_notional_per_trade",
            "max_realised_loss_per_close",
            "max_daily_loss",
            "approval_ttl_seconds",
            "max_orders_per_minute",
        ],
    ),
    ("idempotency", &["path", "ttl_seconds"]),
    ("symbols", &["allowlist", "denylist"]),
    ("audit", &["path", "max_bytes"]),
    ("transport", &["http"]),
    (
        "transport.http",
        &[
            "host",
            "port",
            "auth_token",
            "stateless",
            "trusted_hosts",
            "trusted_origins",
        ],
    ),
    ("telemetry", &["enabled", "endpoint"]),
    (
        "streaming",
        &[
            "quote_poll_interval_ms",
            "account_poll_interval_ms",
            "positions_poll_interval_ms",
        ],
    ),
    ("logging", &["level"]),
    ("screenshot", &["width", "height", "template", "timeout_s"]),
    (
        "sim",
        &[
            "seed",
            "balance",
            "leverage",
            "broker_utc_offset_minutes",
            "state_path",
        ],
    ),
];

/// Ten years: the cap on TTLs (not upstream), so that `now + ttl` can never overflow.
const MAX_TTL_SECONDS: i128 = 315_360_000;
/// Cap on the screenshot timeout (not upstream): `Duration::from_secs_f64` panics on huge
/// values, and no screenshot takes an hour.
const MAX_SCREENSHOT_TIMEOUT_S: f64 = 3600.0;
/// Cap on the opening balance of a paper account (not upstream; see `SimConfig::balance`).
const MAX_SIM_BALANCE: i64 = 1_000_000_000_000;

/// Builds a [`Config`] from the parsed file; keys left out keep their defaults.
pub(super) fn build(root: &Table, cx: &FileContext<'_>) -> Result<Config, Invalid> {
    let root = Section::root(root)?;
    let mut c = Config::with_data_dir(cx.data_dir);
    let path = |raw: &Value| resolve_in_file(string(raw)?, cx.base_dir, cx.home, cx.platform);

    if let Some(s) = root.child("mt5", "mt5")? {
        let m = &mut c.mt5;
        s.set("terminal_path", &mut m.terminal_path, |v| owned(string(v)))?;
        s.set("login", &mut m.login, |v| {
            int(v, Bound::Positive(i64::MAX.into())).map(Some)
        })?;
        s.set("server", &mut m.server, |v| {
            owned(non_empty_string(v)).map(Some)
        })?;
        s.set("eager_connect", &mut m.eager_connect, boolean)?;
        s.set("backend", &mut m.backend, backend)?;
        s.set("python", &mut m.python, |v| {
            let raw = non_empty_string(v)?;
            resolve_python(raw, cx.base_dir, cx.home, cx.platform).map(Some)
        })?;
        if let Some(b) = s.child("bridge", "mt5.bridge")? {
            let mut bridge = BridgeConfig::default();
            b.set("host", &mut bridge.host, |v| owned(non_empty_string(v)))?;
            b.set("port", &mut bridge.port, |v| {
                int(v, Bound::Between(1, 65_535))
            })?;
            m.bridge = Some(bridge);
        }
    }

    if let Some(s) = root.child("policy", "policy")? {
        let p = &mut c.policy;
        s.set("auto_approve_notional", &mut p.auto_approve_notional, money)?;
        s.set(
            "max_notional_per_trade",
            &mut p.max_notional_per_trade,
            money,
        )?;
        s.set(
            "max_realised_loss_per_close",
            &mut p.max_realised_loss_per_close,
            money,
        )?;
        s.set("max_daily_loss", &mut p.max_daily_loss, money)?;
        s.set("approval_ttl_seconds", &mut p.approval_ttl_seconds, |v| {
            int(v, Bound::Positive(MAX_TTL_SECONDS))
        })?;
        s.set("max_orders_per_minute", &mut p.max_orders_per_minute, |v| {
            int(v, Bound::NonNegative(u32::MAX.into()))
        })?;
    }

    if let Some(s) = root.child("idempotency", "idempotency")? {
        s.set("path", &mut c.idempotency.path, path)?;
        s.set("ttl_seconds", &mut c.idempotency.ttl_seconds, |v| {
            int(v, Bound::Positive(MAX_TTL_SECONDS))
        })?;
    }

    if let Some(s) = root.child("symbols", "symbols")? {
        s.set("allowlist", &mut c.symbols.allowlist, string_list)?;
        s.set("denylist", &mut c.symbols.denylist, string_list)?;
    }

    if let Some(s) = root.child("audit", "audit")? {
        s.set("path", &mut c.audit.path, path)?;
        s.set("max_bytes", &mut c.audit.max_bytes, |v| {
            int(v, Bound::Positive(u64::MAX.into()))
        })?;
    }

    if let Some(t) = root.child("transport", "transport")?
        && let Some(s) = t.child("http", "transport.http")?
    {
        let h = &mut c.transport.http;
        s.set("host", &mut h.host, |v| owned(string(v)))?;
        s.set("port", &mut h.port, |v| int(v, Bound::Between(1, 65_535)))?;
        s.set("auth_token", &mut h.auth_token, |v| owned(string(v)))?;
        s.set("stateless", &mut h.stateless, boolean)?;
        s.set("trusted_hosts", &mut h.trusted_hosts, string_list)?;
        s.set("trusted_origins", &mut h.trusted_origins, string_list)?;
    }

    if let Some(s) = root.child("telemetry", "telemetry")? {
        s.set("enabled", &mut c.telemetry.enabled, boolean)?;
        s.set("endpoint", &mut c.telemetry.endpoint, |v| owned(string(v)))?;
    }

    if let Some(s) = root.child("streaming", "streaming")? {
        let st = &mut c.streaming;
        s.set(
            "quote_poll_interval_ms",
            &mut st.quote_poll_interval_ms,
            |v| int(v, Bound::Between(50, 10_000)),
        )?;
        s.set(
            "account_poll_interval_ms",
            &mut st.account_poll_interval_ms,
            |v| int(v, Bound::Between(100, 60_000)),
        )?;
        s.set(
            "positions_poll_interval_ms",
            &mut st.positions_poll_interval_ms,
            |v| int(v, Bound::Between(100, 60_000)),
        )?;
    }

    if let Some(s) = root.child("logging", "logging")? {
        s.set("level", &mut c.logging.level, log_level)?;
    }

    if let Some(s) = root.child("screenshot", "screenshot")? {
        let sc = &mut c.screenshot;
        s.set("width", &mut sc.width, |v| {
            int(v, Bound::Positive(u32::MAX.into()))
        })?;
        s.set("height", &mut sc.height, |v| {
            int(v, Bound::Positive(u32::MAX.into()))
        })?;
        s.set("template", &mut sc.template, |v| {
            owned(non_empty_string(v)).map(Some)
        })?;
        s.set("timeout_s", &mut sc.timeout_s, screenshot_timeout)?;
    }

    if let Some(s) = root.child("sim", "sim")? {
        let sim = &mut c.sim;
        s.set("seed", &mut sim.seed, |v| {
            int(v, Bound::NonNegative(u64::MAX.into())).map(Some)
        })?;
        s.set("balance", &mut sim.balance, sim_balance)?;
        s.set("leverage", &mut sim.leverage, |v| {
            int(v, Bound::Between(1, 3000))
        })?;
        s.set(
            "broker_utc_offset_minutes",
            &mut sim.broker_utc_offset_minutes,
            utc_offset,
        )?;
        s.set("state_path", &mut sim.state_path, path)?;
    }

    Ok(c)
}

/// One table of the file, with its dotted name for messages.
struct Section<'a> {
    name: &'static str,
    table: &'a Table,
}

impl<'a> Section<'a> {
    fn root(table: &'a Table) -> Result<Self, Invalid> {
        let s = Section { name: "", table };
        s.reject_unknown_keys()?;
        Ok(s)
    }

    /// The sub-table `key` (dotted name `name`), if present; checked for unknown keys.
    fn child(&self, key: &str, name: &'static str) -> Result<Option<Section<'a>>, Invalid> {
        match self.table.get(key) {
            None => Ok(None),
            Some(Value::Table(table)) => {
                let s = Section { name, table };
                s.reject_unknown_keys()?;
                Ok(Some(s))
            }
            Some(other) => Err(Invalid::at(
                name,
                format!("expected a table, got {}", describe(other)),
            )),
        }
    }

    /// Overwrites `slot` with the converted value of `key` when the key is present.
    fn set<T>(
        &self,
        key: &str,
        slot: &mut T,
        convert: impl FnOnce(&'a Value) -> Result<T, Problem>,
    ) -> Result<(), Invalid> {
        if let Some(v) = self.table.get(key) {
            *slot = convert(v).map_err(|problem| Invalid::at(self.key_path(key), problem))?;
        }
        Ok(())
    }

    fn key_path(&self, key: &str) -> String {
        if self.name.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.name)
        }
    }

    fn reject_unknown_keys(&self) -> Result<(), Invalid> {
        if self.name == "mt5" && self.table.contains_key("password") {
            return Err(Invalid::at(
                "mt5.password",
                "the password is never read from the config file; remove this key and set \
                 the MT5_PASSWORD environment variable",
            ));
        }
        let known = known_keys(self.name);
        let Some((key, value)) = self
            .table
            .iter()
            .find(|(k, _)| !known.contains(&k.as_str()))
        else {
            return Ok(());
        };
        let problem = match (self.name, value) {
            (_, Value::Table(_)) => {
                let mut msg = format!("unknown table [{}]", quoted_path(&self.key_path(key)));
                if let Some(best) = closest(key, known) {
                    msg.push_str(&format!(" (did you mean [{}]?)", self.key_path(best)));
                }
                return Err(Invalid::general(msg));
            }
            ("", _) => format!("unknown top-level key {}", key_name(key)),
            (section, _) => format!("unknown key {} in [{section}]", key_name(key)),
        };
        Err(Invalid::general(problem + &hint(self.name, key, known)))
    }
}

fn known_keys(section: &str) -> &'static [&'static str] {
    SCHEMA
        .iter()
        .find(|(name, _)| *name == section)
        .map_or(&[], |(_, keys)| keys)
}

/// A dotted table name for a message: plain when it is plain, else escaped.
fn quoted_path(path: &str) -> String {
    let plain = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if plain && path.len() <= 80 {
        path.to_owned()
    } else {
        quoted(path)
    }
}

/// " (did you mean `x`?)", " (removed upstream in 1.2.1; …)" or " (`k` belongs in \[t\])".
fn hint(section: &str, key: &str, known: &[&str]) -> String {
    if section == "mt5" && key == "preferred_login" {
        return " (removed in upstream 1.2.1; use `login`)".to_owned();
    }
    if let Some(best) = closest(key, known) {
        return format!(" (did you mean `{best}`?)");
    }
    let homes: Vec<String> = SCHEMA
        .iter()
        .filter(|(name, keys)| !name.is_empty() && *name != section && keys.contains(&key))
        .map(|(name, _)| format!("[{name}]"))
        .collect();
    if homes.is_empty() {
        String::new()
    } else {
        format!(" (`{key}` belongs in {})", homes.join(" or "))
    }
}

/// The known key nearest to a typo, if it is near enough to be a plausible misspelling.
fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    if key.chars().count() > 64 {
        return None;
    }
    let key = key.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn owned(s: Result<&str, Problem>) -> Result<String, Problem> {
    s.map(str::to_owned)
}

/// Integer bounds, phrased the way a user thinks of them.
#[derive(Clone, Copy)]
enum Bound {
    /// 1..=max, "must be > 0".
    Positive(i128),
    /// 0..=max, "must be >= 0".
    NonNegative(i128),
    /// lo..=hi.
    Between(i128, i128),
}

fn int<T: TryFrom<i128>>(v: &Value, bound: Bound) -> Result<T, Problem> {
    let n = integer(v)?;
    let problem = match bound {
        Bound::Positive(_) if n < 1 => Some(format!("must be > 0 (got {n})")),
        Bound::NonNegative(_) if n < 0 => Some(format!("must be >= 0 (got {n})")),
        Bound::Positive(max) | Bound::NonNegative(max) if n > max => {
            Some(format!("must be at most {max} (got {n})"))
        }
        Bound::Between(lo, hi) if n < lo || n > hi => {
            Some(format!("must be between {lo} and {hi} (got {n})"))
        }
        _ => None,
    };
    match problem {
        Some(p) => Err(p),
        None => T::try_from(n).map_err(|_| format!("is out of range (got {n})")),
    }
}

/// A money limit: a decimal ≥ 0 (0 switches the limit off).
fn money(v: &Value) -> Result<Decimal, Problem> {
    let d = decimal(v)?;
    if d.is_sign_negative() {
        return Err(format!("must be >= 0 (got {d})"));
    }
    Ok(d)
}

fn sim_balance(v: &Value) -> Result<Decimal, Problem> {
    let d = decimal(v)?;
    if d <= Decimal::ZERO {
        return Err(format!("must be > 0 (got {d})"));
    }
    if d > Decimal::from(MAX_SIM_BALANCE) {
        return Err(format!("must be at most {MAX_SIM_BALANCE} (got {d})"));
    }
    Ok(d)
}

fn utc_offset(v: &Value) -> Result<i32, Problem> {
    let n: i32 = int(v, Bound::Between(-720, 840))?;
    if n % 15 != 0 {
        return Err(format!("must be a multiple of 15 minutes (got {n})"));
    }
    Ok(n)
}

fn screenshot_timeout(v: &Value) -> Result<f64, Problem> {
    let t = float(v)?;
    if t <= 0.0 {
        return Err(format!("must be > 0 (got {t:?})"));
    }
    if t > MAX_SCREENSHOT_TIMEOUT_S {
        return Err(format!(
            "must be at most {MAX_SCREENSHOT_TIMEOUT_S:?} seconds (got {t:?})"
        ));
    }
    Ok(t)
}

fn log_level(v: &Value) -> Result<LogLevel, Problem> {
    let s = string(v)?;
    LogLevel::parse_exact(s).ok_or_else(|| {
        let case = if LogLevel::parse_exact(&s.to_ascii_uppercase()).is_some() {
            "; levels are upper-case in the file"
        } else {
            ""
        };
        format!(
            "must be one of \"DEBUG\", \"INFO\", \"WARNING\", \"ERROR\", \"CRITICAL\" (got {}{case})",
            quoted(s)
        )
    })
}

fn backend(v: &Value) -> Result<BackendChoice, Problem> {
    let s = string(v)?;
    BackendChoice::parse_exact(s).ok_or_else(|| {
        let case = if BackendChoice::parse_exact(&s.to_ascii_lowercase()).is_some() {
            "; backends are lower-case in the file"
        } else {
            ""
        };
        format!(
            "must be one of \"auto\", \"native\", \"bridge\", \"sim\" (got {}{case})",
            quoted(s)
        )
    })
}
