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
        BackendChoice::Native => Arc::new(UnavailableTerminal::new(
            BackendKind::Native,
            "this build of mt5-mcp cannot load the MetaTrader5 Python library yet; use backend = \"sim\" for paper trading",
        )),
        BackendChoice::Bridge | BackendChoice::Auto => {
            let (host, port) = config
                .mt5
                .bridge
                .as_ref()
                .map_or(("127.0.0.1".to_owned(), 8001), |b| (b.host.clone(), b.port));
            Arc::new(UnavailableTerminal::new(
                BackendKind::Bridge { host, port },
                "this build of mt5-mcp cannot load the mt5linux bridge yet; use backend = \"sim\" for paper trading",
            ))
        }
    }
}
