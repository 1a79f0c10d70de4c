//! Health and identity: `ping`, `get_terminal_info`, `get_account_info`.

use std::time::Instant;

use chrono::Utc;
use rmcp::{Json, tool, tool_router};

use super::open_object_schema;
use crate::errors::{ErrorCode, ToolError};
use crate::model::time::broker_to_utc;
use crate::model::wire::{AccountInfoOut, PingResult, TerminalInfoOut};
use crate::mt5::{Mt5Client, convert, tz};
use crate::server::Mt5Server;

/// A tick this fresh proves the terminal is live (upstream's tick probe window).
const FRESH_TICK_SECS: i64 = 300;

/// Upstream's layered health probe: terminal, then account, then a fresh tick. Each layer
/// goes through the reconnect-aware call path; failures of a layer are not errors, they
/// just fall through to the next one.
pub(crate) async fn ping(client: &Mt5Client) -> PingResult {
    let start = Instant::now();
    let answered = |via: &str| PingResult {
        ok: true,
        latency_ms: start.elapsed().as_millis() as u64,
        via: Some(via.to_owned()),
    };
    if let Ok(Some(_)) = client
        .call_opt(|t| async move { t.terminal_info().await })
        .await
    {
        return answered("terminal_info");
    }
    if let Ok(Some(a)) = client
        .call_opt(|t| async move { t.account_info().await })
        .await
        && a.login != 0
    {
        return answered("account_info");
    }
    for symbol in tz::PROBE_SYMBOLS {
        if let Ok(Some(tick)) = client
            .call_opt(|t| async move { t.symbol_info_tick(symbol).await })
            .await
            && tick.time != 0
        {
            let utc = broker_to_utc(tick.time, client.offset_minutes());
            if (utc - Utc::now().timestamp()).abs() <= FRESH_TICK_SECS {
                return answered("tick_probe");
            }
        }
    }
    PingResult {
        ok: false,
        latency_ms: start.elapsed().as_millis() as u64,
        via: None,
    }
}

#[tool_router(router = info_router, vis = "pub(crate)")]
impl Mt5Server {
    /// Health check: is the MetaTrader 5 terminal reachable? Returns `ok`, the probe's
    /// latency in milliseconds, and `via` (which probe answered). Never fails; `ok: false`
    /// means the terminal did not answer.
    #[tool(
        output_schema = open_object_schema(),
        annotations(title = "Ping the terminal", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn ping(&self) -> Json<PingResult> {
        Json(ping(&self.client).await)
    }

    /// Terminal identity and health: connection state, build, broker company, logged-in
    /// account and server, the broker's clock offset from UTC in minutes (all times this
    /// server returns are already converted to UTC) and a probe latency.
    #[tool(annotations(
        title = "Terminal info",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    async fn get_terminal_info(&self) -> Result<Json<TerminalInfoOut>, ToolError> {
        self.client.ensure_connected().await?;
        let info = self
            .client
            .call_opt(|t| async move { t.terminal_info().await })
            .await?
            .ok_or_else(|| {
                ToolError::new(
                    ErrorCode::TERMINAL_NOT_CONNECTED,
                    "terminal_info returned nothing: the terminal is not running or not logged in.",
                )
            })?;
        let account = self
            .client
            .call_opt(|t| async move { t.account_info().await })
            .await?;
        let probe = ping(&self.client).await;
        Ok(Json(TerminalInfoOut {
            connected: info.connected,
            build: info.build,
            name: info.name,
            company: info.company,
            login: account.as_ref().map_or(0, |a| a.login),
            server: account.map(|a| a.server).unwrap_or_default(),
            broker_tz_offset_minutes: self.client.offset_minutes(),
            latency_ms: probe.latency_ms,
        }))
    }

    /// The trading account: login, holder, server, deposit currency, balance, equity,
    /// margin, free margin, margin level (null when no margin is used), leverage, whether
    /// trading is allowed, and the margin mode (netting or hedging). Money values are
    /// decimal strings in the deposit currency.
    #[tool(annotations(
        title = "Account info",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    async fn get_account_info(&self) -> Result<Json<AccountInfoOut>, ToolError> {
        self.client.ensure_connected().await?;
        let account = self.client.logged_in_account().await?;
        Ok(Json(convert::account(&account)))
    }
}
