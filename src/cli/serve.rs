//! `mt5-mcp serve`: load the config, open the terminal, answer MCP on stdio.
//!
//! Order matters (DESIGN §6.1): the transport is up and answering before the terminal is
//! reached; the first connect runs in the background.

use std::process::ExitCode;
use std::sync::Arc;

use rmcp::ServiceExt;
use rmcp::service::ServerInitializeError;

use super::{ServeArgs, Transport};
use crate::config::{self, CliOverrides, EnvSnapshot, LoadOptions};
use crate::mt5::Mt5Client;
use crate::policy::engine::PolicyEngine;
use crate::server::Mt5Server;
use crate::terminal::{self, InitParams};

pub fn run(args: ServeArgs) -> ExitCode {
    let env = EnvSnapshot::capture();
    let options = LoadOptions {
        config_path: args.config.clone(),
        cli: CliOverrides {
            log_level: args.log_level.map(Into::into),
            stateless: args.stateless(),
            eager_connect: args.eager_connect(),
            backend: args.backend.map(Into::into),
        },
    };
    let loaded = match config::load(&options, &env) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("mt5-mcp: {e}");
            return ExitCode::from(2);
        }
    };
    crate::logging::init(loaded.config.logging.level);
    if args.transport == Transport::Http {
        eprintln!(
            "transport error: the HTTP transport is not available in this version of mt5-mcp; use --transport stdio"
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mt5-mcp: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(serve_stdio(options, env, loaded)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("mt5-mcp: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn serve_stdio(
    options: LoadOptions,
    env: EnvSnapshot,
    loaded: config::Loaded,
) -> anyhow::Result<()> {
    let transport = crate::transport::stdio::protected_stdio()?;
    let config = &loaded.config;
    let init = InitParams {
        terminal_path: Some(config.mt5.terminal_path.clone()).filter(|p| !p.is_empty()),
        login: config.mt5.login,
        password: loaded.password.as_ref().map(|s| s.expose().to_owned()),
        server: config.mt5.server.clone(),
    };
    let terminal = terminal::select::open(config);
    let client = Mt5Client::new(terminal, init);
    let handle = config::ConfigHandle::new(loaded.config.clone());
    let _watch = match &loaded.source {
        Some(path) => match handle.watch(path.clone(), options.cli, env) {
            Ok(guard) => Some(guard),
            Err(e) => {
                tracing::warn!(error = %e, "config hot reload is off");
                None
            }
        },
        None => None,
    };
    let policy = Arc::new(PolicyEngine::new(handle.clone()));
    let server = Mt5Server::with_policy(client.clone(), handle, Arc::clone(&policy));
    let running = match server.serve(transport).await {
        Ok(running) => running,
        // A client that goes away before it says hello (a launch cancelled, a probe that
        // only checks the command starts) ends the session like any other disconnect.
        Err(ServerInitializeError::ConnectionClosed(_)) => {
            tracing::info!("the client closed the connection before initializing");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    if config.mt5.eager_connect {
        client.start_boot();
    }
    if config.policy.auto_approve_notional.is_zero() {
        tracing::warn!(
            "policy.auto_approve_notional is 0: trading tools execute without human approval"
        );
    }
    // Open the audit log and idempotency database now, so a bad path shows at startup; the
    // first trading call retries if this fails.
    tokio::spawn(async move {
        if let Err(e) = policy.open().await {
            tracing::error!(error = %e.message, "trading is unavailable until this is fixed");
        }
    });
    running.waiting().await?;
    Ok(())
}
