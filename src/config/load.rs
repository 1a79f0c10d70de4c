//! Loading: file → schema → environment overlays → CLI overrides → password.
//!
//! The same function serves start-up and hot reload (`watch.rs` calls [`load_bytes`] with
//! bytes it has already checked for stability), so a reload can never be more lenient than
//! start-up.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::env::{self, EnvSnapshot, Secret};
use super::error::ConfigError;
use super::paths::{self, DefaultPaths};
use super::schema::{self, FileContext};
use super::{BackendChoice, BridgeConfig, Config, LogLevel};

/// Anything bigger is not a config file (and reading `/dev/zero` must not hang).
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// What the command line says about configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `serve --config PATH`. `None`: the default file, whose absence means defaults. A
    /// leading `~` is expanded (MCP clients start servers without a shell); a relative
    /// path is relative to the working directory.
    pub config_path: Option<PathBuf>,
    pub cli: CliOverrides,
}

/// `serve` flags that override the file and the environment. `None` = flag not given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CliOverrides {
    /// `--log-level`
    pub log_level: Option<LogLevel>,
    /// `--stateless` / `--no-stateless`
    pub stateless: Option<bool>,
    /// `--eager-connect` / `--no-eager-connect`
    pub eager_connect: Option<bool>,
    /// `--backend`
    pub backend: Option<BackendChoice>,
}

impl CliOverrides {
    fn apply(&self, config: &mut Config) {
        if let Some(level) = self.log_level {
            config.logging.level = level;
        }
        if let Some(stateless) = self.stateless {
            config.transport.http.stateless = stateless;
        }
        if let Some(eager) = self.eager_connect {
            config.mt5.eager_connect = eager;
        }
        if let Some(backend) = self.backend {
            config.mt5.backend = backend;
        }
    }
}

/// The result of a load. `Debug` is safe to log: the password prints as `<redacted>` and
/// the bearer token inside `config` likewise.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// `MT5_PASSWORD`, present only when a login is configured and the variable is set.
    pub password: Option<Secret>,
    /// The file that was read (absolute). `None` when the default file does not exist and
    /// built-in defaults were used; hot reload watches this path when it is `Some`.
    pub source: Option<PathBuf>,
}

/// Loads the configuration: the file (named by `opts.config_path`, else the default path),
/// validated, then `env`'s overlays, then `opts.cli`.
pub fn load(opts: &LoadOptions, env: &EnvSnapshot) -> Result<Loaded, ConfigError> {
    let defaults = DefaultPaths::resolve(env)?;
    let (path, explicit) = match &opts.config_path {
        Some(p) => (absolute_config_path(p, env)?, true),
        None => (defaults.config_file.clone(), false),
    };
    match read_file(&path) {
        Ok(bytes) => {
            let config = parse(&path, &bytes, &defaults, env)?;
            finish(config, Some(path), &opts.cli, env)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if explicit {
                Err(ConfigError::NotFound { path })
            } else {
                finish(
                    Config::with_data_dir(&defaults.data_dir),
                    None,
                    &opts.cli,
                    env,
                )
            }
        }
        Err(source) => Err(ConfigError::Read { path, source }),
    }
}

/// Like [`load`] for a file whose bytes the caller has already read.
pub(super) fn load_bytes(
    path: &Path,
    bytes: &[u8],
    cli: &CliOverrides,
    env: &EnvSnapshot,
) -> Result<Loaded, ConfigError> {
    let defaults = DefaultPaths::resolve(env)?;
    let config = parse(path, bytes, &defaults, env)?;
    finish(config, Some(path.to_path_buf()), cli, env)
}

/// Reads at most [`MAX_FILE_BYTES`] (+1 to detect an oversized file).
pub(super) fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "file is larger than 1 MiB; is this really the config file?",
        ));
    }
    Ok(bytes)
}

/// Strips a UTF-8 BOM (Windows editors add one).
pub(super) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn absolute_config_path(p: &Path, env: &EnvSnapshot) -> Result<PathBuf, ConfigError> {
    let home = paths::home_dir(env);
    let expanded = p
        .to_str()
        .and_then(|s| paths::expand_tilde(s, home.as_deref(), env.platform()).ok())
        .unwrap_or_else(|| p.to_path_buf());
    std::path::absolute(&expanded).map_err(|_| ConfigError::NotFound {
        path: p.to_path_buf(),
    })
}

fn parse(
    path: &Path,
    bytes: &[u8],
    defaults: &DefaultPaths,
    env: &EnvSnapshot,
) -> Result<Config, ConfigError> {
    let general = |problem: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        key: None,
        problem,
    };
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(general(
            "the file is UTF-16 encoded; save it as UTF-8".to_owned(),
        ));
    }
    let bytes = strip_bom(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
        let (line, column) = line_column(valid, valid.len());
        general(format!(
            "not valid UTF-8 (bad byte at line {line}, column {column}); save the file as UTF-8"
        ))
    })?;
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let (line, column) = line_column(text, e.span().map_or(0, |s| s.start));
        ConfigError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: one_line(e.message()),
        }
    })?;
    let base_dir = path.parent().unwrap_or(Path::new("/"));
    let home = paths::home_dir(env);
    let cx = FileContext {
        base_dir,
        home: home.as_deref(),
        platform: env.platform(),
        data_dir: &defaults.data_dir,
    };
    schema::build(&table, &cx).map_err(|e| e.in_file(path))
}

fn finish(
    mut config: Config,
    source: Option<PathBuf>,
    cli: &CliOverrides,
    env: &EnvSnapshot,
) -> Result<Loaded, ConfigError> {
    env::apply_overlays(&mut config, env)?;
    cli.apply(&mut config);
    if config.mt5.backend == BackendChoice::Bridge && config.mt5.bridge.is_none() {
        config.mt5.bridge = Some(BridgeConfig::default());
    }
    let password = env::password(&config, env)?;
    Ok(Loaded {
        config,
        password,
        source,
    })
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Parser messages may quote the input; keep them on one line and free of control chars.
fn one_line(message: &str) -> String {
    message
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_debug().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}
