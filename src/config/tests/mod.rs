//! Tests of the config module, one file per concern. They read as the specification of
//! the file format: defaults, bounds, coercions, unknown keys, precedence, paths, reload.

mod adversarial;
mod bounds;
mod coercion;
mod defaults;
mod diff;
mod env_cli;
mod paths;
mod reload;
mod unknown;
mod watcher;

use std::path::PathBuf;

use super::{CliOverrides, ConfigError, EnvSnapshot, LoadOptions, Loaded, Platform, load};

/// A fake home; never touched on disk.
pub(super) const HOME: &str = "/home/trader";

/// An environment with only `HOME` set, resolved with Linux conventions, so results do not
/// depend on the machine running the tests.
pub(super) fn test_env() -> EnvSnapshot {
    env_with(&[])
}

pub(super) fn env_with(extra: &[(&str, &str)]) -> EnvSnapshot {
    let mut vars = vec![("HOME".to_owned(), HOME.to_owned())];
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    EnvSnapshot::from_vars(vars).with_platform(Platform::Unix)
}

/// A config file in its own temporary directory.
pub(super) struct Scratch {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(contents: impl AsRef<[u8]>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, contents).expect("write config");
        Scratch { dir, path }
    }

    pub fn load(&self, env: &EnvSnapshot, cli: CliOverrides) -> Result<Loaded, ConfigError> {
        let opts = LoadOptions {
            config_path: Some(self.path.clone()),
            cli,
        };
        load(&opts, env)
    }

    /// The error message with the file path replaced by `<file>`.
    pub fn error(&self, env: &EnvSnapshot) -> String {
        match self.load(env, CliOverrides::default()) {
            Ok(l) => panic!("expected an error, got {:?}", l.config),
            Err(e) => {
                let msg = e.to_string();
                assert!(!msg.contains('\n'), "error spans lines: {msg}");
                msg.replace(&self.path.display().to_string(), "<file>")
            }
        }
    }
}

/// Loads `text` as a config file with [`test_env`].
pub(super) fn load_text(text: &str) -> Result<Loaded, ConfigError> {
    Scratch::new(text).load(&test_env(), CliOverrides::default())
}

/// The one-line error for `text`, with the path replaced by `<file>`.
pub(super) fn error_of(text: &str) -> String {
    Scratch::new(text).error(&test_env())
}
