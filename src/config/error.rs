//! The one error type of the config module.
//!
//! Every variant renders as a single line that names where the problem is (file and key, or
//! environment variable) and what is wrong, because it is printed as-is when the server
//! refuses to start and logged as-is when a hot reload is rejected.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `--config PATH` names a file that does not exist. (A missing *default* file is not
    /// an error: it means built-in defaults.)
    #[error("config file not found: {}", .path.display())]
    NotFound { path: PathBuf },

    /// The file exists but could not be read (permissions, a directory, …).
    #[error("cannot read config {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Not TOML. `line` and `column` are 1-based and count characters.
    #[error(
        "invalid config {}: TOML syntax error at line {line}, column {column}: {message}",
        .path.display()
    )]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// Valid TOML that breaks the schema. `key` is the dotted key path
    /// (`policy.max_notional_per_trade`) when the problem belongs to one key; `None` for
    /// problems such as an unknown key, whose message names the table.
    #[error("{}", invalid_line(.path, .key.as_deref(), .problem))]
    Invalid {
        path: PathBuf,
        key: Option<String>,
        problem: String,
    },

    /// An environment overlay is set to something unusable.
    #[error("invalid environment variable {var}: {problem}")]
    Env { var: &'static str, problem: String },

    /// A default location could not be derived (no home directory).
    #[error("cannot determine the {what}: {hint}")]
    Dirs {
        what: &'static str,
        hint: &'static str,
    },

    /// The file watcher could not be started.
    #[error("cannot watch config {}: {source}", .path.display())]
    Watch {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },
}

fn invalid_line<'a>(path: &'a Path, key: Option<&'a str>, problem: &'a str) -> InvalidLine<'a> {
    InvalidLine { path, key, problem }
}

struct InvalidLine<'a> {
    path: &'a Path,
    key: Option<&'a str>,
    problem: &'a str,
}

impl fmt::Display for InvalidLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid config {}: ", self.path.display())?;
        if let Some(key) = self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(self.problem)
    }
}

/// A schema problem before the file name is attached (the schema walker does not know it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Invalid {
    pub key: Option<String>,
    pub problem: String,
}

impl Invalid {
    pub fn at(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Invalid {
            key: Some(key.into()),
            problem: problem.into(),
        }
    }

    pub fn general(problem: impl Into<String>) -> Self {
        Invalid {
            key: None,
            problem: problem.into(),
        }
    }

    pub fn in_file(self, path: &Path) -> ConfigError {
        ConfigError::Invalid {
            path: path.to_path_buf(),
            key: self.key,
            problem: self.problem,
        }
    }
}

/// Renders text from the file (a key, a string value) for an error message: quoted, control
/// characters escaped so the message stays on one line, and cut short so a huge value cannot
/// flood the log.
pub(super) fn quoted(text: &str) -> String {
    const MAX_CHARS: usize = 60;
    let mut out = String::from("\"");
    for (i, c) in text.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        out.extend(c.escape_debug());
    }
    out.push('"');
    out
}

/// Like [`quoted`] but in backticks, for key names.
pub(super) fn key_name(text: &str) -> String {
    let q = quoted(text);
    format!("`{}`", &q[1..q.len() - 1])
}
