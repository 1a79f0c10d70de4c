//! Choosing the terminal backend from the configuration (DESIGN §2).

use std::sync::Arc;

use super::sim::SimTerminal;
use super::unavailable::UnavailableTerminal;
use super::{BackendKind, Terminal};
use crate::config::{BackendChoice, Config};

/// The backend `auto` resolves to: a `[mt5.bridge]` table selects the bridge, Windows the
/// native library, anything else the paper terminal.
pub fn resolve(config: &Config) -> BackendChoice {
    match config.mt5.backend {
        BackendChoice::Auto if config.mt5.bridge.is_some() => BackendChoice::Bridge,
        BackendChoice::Auto if cfg!(windows) => BackendChoice::Native,
        BackendChoice::Auto => BackendChoice::Sim,
        other => other,
    }
}

/// Opens the configured terminal. Never fails: a backend that cannot be opened becomes an
/// [`UnavailableTerminal`] whose every call explains why, so the server still starts and
/// the agent (and `doctor`) can read the reason.
pub fn open(config: &Config) -> Arc<dyn Terminal> {
    match resolve(config) {
        BackendChoice::Sim => {
            if config.mt5.backend == BackendChoice::Auto {
                tracing::warn!(
                    "no MetaTrader 5 terminal configured: serving the built-in PAPER terminal (sim). \
                     Orders are simulated; no broker is involved. Set [mt5] backend to silence this."
                );
            }
            match SimTerminal::open(&config.sim) {
                Ok(sim) => {
                    if let Some(notice) = sim.corrupt_state_notice() {
                        tracing::error!("{notice}");
                    }
                    Arc::new(sim)
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not open the paper account");
                    Arc::new(UnavailableTerminal::new(
                        BackendKind::Sim,
                        format!("the paper account could not be opened: {e}"),
                    ))
                }
            }
        }
        BackendChoice::Native => python_backend(config, BackendKind::Native),
        BackendChoice::Bridge | BackendChoice::Auto => {
            let (host, port) = config
                .mt5
                .bridge
                .as_ref()
                .map_or(("127.0.0.1".to_owned(), 8001), |b| (b.host.clone(), b.port));
            python_backend(config, BackendKind::Bridge { host, port })
        }
    }
}

/// The embedded-Python terminal for `kind` (`Native` or `Bridge`). Python is loaded in the
/// background; a missing or mismatched one is logged and reported by every call.
#[cfg(feature = "python")]
fn python_backend(config: &Config, kind: BackendKind) -> Arc<dyn Terminal> {
    use super::python::{Flavor, PythonTerminal, Setup, Timeouts};
    let flavor = match &kind {
        BackendKind::Bridge { host, port } => Flavor::Bridge {
            host: host.clone(),
            port: *port,
        },
        _ => Flavor::Native,
    };
    let setup = Setup {
        python: config.mt5.python.clone(),
        flavor,
    };
    match PythonTerminal::start(setup, Timeouts::default()) {
        Ok(term) => Arc::new(term),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the Python thread");
            Arc::new(UnavailableTerminal::new(
                kind,
                format!("the Python thread could not be started: {e}"),
            ))
        }
    }
}

#[cfg(not(feature = "python"))]
fn python_backend(_: &Config, kind: BackendKind) -> Arc<dyn Terminal> {
    let why = "this build of mt5-mcp has no Python support (built without the `python` \
               feature), so it cannot drive a MetaTrader 5 terminal; install a build with \
               Python support, or use backend = \"sim\" for paper trading";
    tracing::error!("{why}");
    Arc::new(UnavailableTerminal::new(kind, why))
}
