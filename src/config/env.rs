//! The environment, captured once, and the overlays it applies.
//!
//! Loading takes an [`EnvSnapshot`] instead of calling `std::env::var`, for two reasons:
//! tests can run in parallel with their own environments (mutating the process environment
//! is racy), and a hot reload re-applies the *same* overlays the server started with, so
//! `MT5_LOGIN` keeps winning over the file after every edit.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::PathBuf;

use super::error::{ConfigError, quoted};
use super::paths::{self, Platform};
use super::{BackendChoice, Config, LogLevel};

/// The variables [`EnvSnapshot::capture`] records; nothing else is read or kept.
const CAPTURED_VARS: &[&str] = &[
    "MT5_LOGIN",
    "MT5_SERVER",
    "MT5_PASSWORD",
    "MT5_MCP_LOG_LEVEL",
    "MT5_MCP_BACKEND",
    "MT5_MCP_PYTHON",
    "HOME",
    "USERPROFILE",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "APPDATA",
    "LOCALAPPDATA",
];

/// A copy of the environment variables the config cares about, plus the platform and the
/// OS's own idea of the standard directories (used only when the variables are missing).
///
/// `Debug` shows variable names, never values (`MT5_PASSWORD` is among them).
#[derive(Clone, Default)]
pub struct EnvSnapshot {
    vars: BTreeMap<String, OsString>,
    platform: Platform,
    fallback: Option<FallbackDirs>,
}

/// Directories as the OS reports them (`directories::BaseDirs`), for when `HOME`,
/// `APPDATA`, … are not set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct FallbackDirs {
    pub home: Option<PathBuf>,
    /// Roaming AppData on Windows.
    pub config: Option<PathBuf>,
    /// Local AppData on Windows.
    pub data_local: Option<PathBuf>,
}

impl EnvSnapshot {
    /// Reads the variables listed in `CAPTURED_VARS` from the process environment. Call once at start-up.
    pub fn capture() -> Self {
        let vars = CAPTURED_VARS
            .iter()
            .filter_map(|name| std::env::var_os(name).map(|v| ((*name).to_owned(), v)))
            .collect();
        let fallback = directories::BaseDirs::new().map(|d| FallbackDirs {
            home: Some(d.home_dir().to_path_buf()),
            config: Some(d.config_dir().to_path_buf()),
            data_local: Some(d.data_local_dir().to_path_buf()),
        });
        EnvSnapshot {
            vars,
            platform: Platform::current(),
            fallback,
        }
    }

    /// A snapshot holding exactly these variables, for the current platform and with no
    /// OS fallback directories (so a test never depends on the machine it runs on).
    pub fn from_vars<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<OsString>,
    {
        EnvSnapshot {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            platform: Platform::current(),
            fallback: None,
        }
    }

    /// The same variables, resolved with another platform's conventions.
    pub fn with_platform(mut self, platform: Platform) -> Self {
        self.platform = platform;
        self
    }

    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// The value of `name`; an empty value counts as unset (as upstream).
    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.vars
            .get(name)
            .map(OsString::as_os_str)
            .filter(|v| !v.is_empty())
    }

    pub(super) fn fallback_dirs(&self) -> Option<&FallbackDirs> {
        self.fallback.as_ref()
    }

    /// The value as UTF-8; a non-UTF-8 value is an error rather than silently unset.
    fn get_str(&self, name: &'static str) -> Result<Option<&str>, ConfigError> {
        self.get(name)
            .map(|v| {
                v.to_str().ok_or(ConfigError::Env {
                    var: name,
                    problem: "is not valid UTF-8".to_owned(),
                })
            })
            .transpose()
    }
}

impl fmt::Debug for EnvSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvSnapshot")
            .field("vars_set", &self.vars.keys().collect::<Vec<_>>())
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

/// A value that must never reach a log: `Debug` and `Display` print `<redacted>`.
/// Call [`Secret::expose`] at the single place that needs the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Applies `MT5_LOGIN`, `MT5_SERVER`, `MT5_MCP_LOG_LEVEL`, `MT5_MCP_BACKEND` and
/// `MT5_MCP_PYTHON` on top of the file's values.
pub(super) fn apply_overlays(config: &mut Config, env: &EnvSnapshot) -> Result<(), ConfigError> {
    if let Some(raw) = env.get_str("MT5_LOGIN")? {
        config.mt5.login = Some(parse_login(raw)?);
    }
    if let Some(server) = env.get_str("MT5_SERVER")? {
        config.mt5.server = Some(server.to_owned());
    }
    if let Some(raw) = env.get_str("MT5_MCP_LOG_LEVEL")? {
        let t = raw.trim();
        config.logging.level =
            LogLevel::parse_exact(&t.to_ascii_uppercase()).ok_or_else(|| ConfigError::Env {
                var: "MT5_MCP_LOG_LEVEL",
                problem: format!(
                    "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got {})",
                    quoted(raw)
                ),
            })?;
    }
    if let Some(raw) = env.get_str("MT5_MCP_BACKEND")? {
        let t = raw.trim();
        config.mt5.backend =
            BackendChoice::parse_exact(&t.to_ascii_lowercase()).ok_or_else(|| {
                ConfigError::Env {
                    var: "MT5_MCP_BACKEND",
                    problem: format!(
                        "must be one of auto, native, bridge, sim (got {})",
                        quoted(raw)
                    ),
                }
            })?;
    }
    if let Some(raw) = env.get_str("MT5_MCP_PYTHON")? {
        let home = paths::home_dir(env);
        let expanded =
            paths::expand_tilde(raw, home.as_deref(), env.platform()).map_err(|problem| {
                ConfigError::Env {
                    var: "MT5_MCP_PYTHON",
                    problem,
                }
            })?;
        config.mt5.python = Some(expanded.to_string_lossy().into_owned());
    }
    Ok(())
}

fn parse_login(raw: &str) -> Result<i64, ConfigError> {
    let err = |what: &str| ConfigError::Env {
        var: "MT5_LOGIN",
        problem: format!("{what} (got {})", quoted(raw)),
    };
    let t = raw.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("must be an integer account number"));
    }
    match t.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        Ok(_) => Err(err("must be > 0")),
        Err(_) => Err(err("is out of range for an account number")),
    }
}

/// `MT5_PASSWORD`, read only when a login is configured (file or env), as upstream: a
/// password lying around in the environment is not used for anything else.
pub(super) fn password(config: &Config, env: &EnvSnapshot) -> Result<Option<Secret>, ConfigError> {
    if config.mt5.login.is_none() {
        return Ok(None);
    }
    match env.get("MT5_PASSWORD") {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(Secret::new(s)))
            .ok_or(ConfigError::Env {
                var: "MT5_PASSWORD",
                problem: "is not valid UTF-8".to_owned(),
            }),
    }
}
