//! Default locations and the rules for paths written in the config file.
//!
//! Resolution reads only the [`EnvSnapshot`], never the live process environment, so tests
//! can check every platform's rules on any machine. The snapshot's fallback directories
//! (from the `directories` crate, captured by [`EnvSnapshot::capture`]) are used only when
//! the variables are missing.
//!
//! `directories::ProjectDirs` is deliberately not used for the file locations: on Windows it
//! appends a `config`/`data` sub-folder and on macOS it puts the config under Application
//! Support, while upstream (whose file locations users already have) uses
//! `%APPDATA%\mt5-mcp\config.toml` and `~/.config/mt5-mcp/config.toml`.

use std::path::{Path, PathBuf};

use super::env::EnvSnapshot;
use super::error::{ConfigError, quoted};
use super::value::Problem;

/// Application directory name, shared by the config and data locations.
const APP_DIR: &str = "mt5-mcp";
const CONFIG_FILE: &str = "config.toml";

/// Which platform's conventions to follow. Part of the [`EnvSnapshot`] so tests can ask for
/// another platform's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Windows,
    MacOs,
    /// Linux and the other Unix-likes (XDG base directories).
    Unix,
}

impl Platform {
    /// The platform this binary was built for.
    pub fn current() -> Self {
        if cfg!(windows) {
            Platform::Windows
        } else if cfg!(target_os = "macos") {
            Platform::MacOs
        } else {
            Platform::Unix
        }
    }
}

impl Default for Platform {
    fn default() -> Self {
        Platform::current()
    }
}

/// Where the config file and the data directory are when nothing says otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultPaths {
    /// Windows `%APPDATA%\mt5-mcp\config.toml`; elsewhere (macOS too, as upstream)
    /// `$XDG_CONFIG_HOME/mt5-mcp/config.toml`, else `~/.config/mt5-mcp/config.toml`.
    pub config_file: PathBuf,
    /// Windows `%LOCALAPPDATA%\mt5-mcp`; Linux `$XDG_DATA_HOME/mt5-mcp`, else
    /// `~/.local/share/mt5-mcp`; macOS `~/Library/Application Support/mt5-mcp`.
    pub data_dir: PathBuf,
}

impl DefaultPaths {
    pub fn resolve(env: &EnvSnapshot) -> Result<Self, ConfigError> {
        let fallback = env.fallback_dirs();
        let home_based = |parts: &[&str]| -> Result<PathBuf, ConfigError> {
            let mut p = home_dir(env).ok_or(ConfigError::Dirs {
                what: "home directory",
                hint: "set HOME (USERPROFILE on Windows) or the platform's directory variables",
            })?;
            p.extend(parts);
            Ok(p)
        };
        let (config_base, data_base) = match env.platform() {
            Platform::Windows => (
                match env_path(env, "APPDATA").or_else(|| fallback.and_then(|f| f.config.clone())) {
                    Some(p) => p,
                    None => home_based(&["AppData", "Roaming"])?,
                },
                match env_path(env, "LOCALAPPDATA")
                    .or_else(|| fallback.and_then(|f| f.data_local.clone()))
                {
                    Some(p) => p,
                    None => home_based(&["AppData", "Local"])?,
                },
            ),
            Platform::Unix => (
                match xdg_path(env, "XDG_CONFIG_HOME") {
                    Some(p) => p,
                    None => home_based(&[".config"])?,
                },
                match xdg_path(env, "XDG_DATA_HOME") {
                    Some(p) => p,
                    None => home_based(&[".local", "share"])?,
                },
            ),
            Platform::MacOs => (
                match xdg_path(env, "XDG_CONFIG_HOME") {
                    Some(p) => p,
                    None => home_based(&[".config"])?,
                },
                home_based(&["Library", "Application Support"])?,
            ),
        };
        Ok(DefaultPaths {
            config_file: config_base.join(APP_DIR).join(CONFIG_FILE),
            data_dir: data_base.join(APP_DIR),
        })
    }
}

fn env_path(env: &EnvSnapshot, name: &str) -> Option<PathBuf> {
    env.get(name).map(PathBuf::from)
}

/// The XDG base directory spec says relative values are invalid and must be ignored.
fn xdg_path(env: &EnvSnapshot, name: &str) -> Option<PathBuf> {
    env_path(env, name).filter(|p| p.is_absolute())
}

/// The user's home directory: `HOME` (`USERPROFILE` on Windows), else the fallback.
pub(super) fn home_dir(env: &EnvSnapshot) -> Option<PathBuf> {
    let var = match env.platform() {
        Platform::Windows => "USERPROFILE",
        Platform::MacOs | Platform::Unix => "HOME",
    };
    env_path(env, var).or_else(|| env.fallback_dirs().and_then(|f| f.home.clone()))
}

/// Expands a leading `~` (alone, or followed by a separator) to the home directory.
/// `~user` forms are refused rather than taken literally: a directory named `~user` next to
/// the config file is never what was meant.
pub(super) fn expand_tilde(
    raw: &str,
    home: Option<&Path>,
    platform: Platform,
) -> Result<PathBuf, Problem> {
    let Some(rest) = raw.strip_prefix('~') else {
        return Ok(PathBuf::from(raw));
    };
    let is_sep = |c: char| c == '/' || (platform == Platform::Windows && c == '\\');
    let rest = match rest.chars().next() {
        None => "",
        Some(c) if is_sep(c) => rest.trim_start_matches(is_sep),
        Some(_) => {
            return Err(format!(
                "{} uses a `~user` form, which is not supported; write the full path",
                quoted(raw)
            ));
        }
    };
    let home = home.ok_or_else(|| {
        format!(
            "cannot expand `~` in {}: the home directory is unknown (set HOME)",
            quoted(raw)
        )
    })?;
    Ok(if rest.is_empty() {
        home.to_path_buf()
    } else {
        home.join(rest)
    })
}

/// A path from the config file: `~` expanded, then made absolute against `base_dir` (the
/// directory holding the config file).
pub(super) fn resolve_in_file(
    raw: &str,
    base_dir: &Path,
    home: Option<&Path>,
    platform: Platform,
) -> Result<PathBuf, Problem> {
    if raw.is_empty() {
        return Err("must not be empty".to_owned());
    }
    let p = expand_tilde(raw, home, platform)?;
    Ok(if p.is_relative() { base_dir.join(p) } else { p })
}

/// `[mt5] python`: like a shell command, a bare name (`python3.12`) stays a name to search
/// on PATH, anything with a separator is a path resolved like [`resolve_in_file`].
pub(super) fn resolve_python(
    raw: &str,
    base_dir: &Path,
    home: Option<&Path>,
    platform: Platform,
) -> Result<String, Problem> {
    let has_sep = raw.contains('/') || (platform == Platform::Windows && raw.contains('\\'));
    if !raw.starts_with('~') && !has_sep {
        return Ok(raw.to_owned());
    }
    let p = resolve_in_file(raw, base_dir, home, platform)?;
    p.into_os_string()
        .into_string()
        .map_err(|_| "is not valid UTF-8 after expansion".to_owned())
}
