//! Trading state and history: `get_positions`, `get_orders`, `get_history`.

use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::args::{Args, input_schema};
use super::list_schema;
use super::{Listing, Wire};
use crate::errors::{ErrorCode, ToolError};
use crate::model::time::{TimestampError, parse_timestamp, utc_to_broker};
use crate::model::wire::{DealOut, OrderOut, PositionOut};
use crate::mt5::convert;
use crate::server::Mt5Server;
use crate::terminal::Filter;

#[derive(Deserialize, JsonSchema)]
pub struct SymbolFilterArgs {
    /// Only this symbol (exact broker name); omit for all.
    #[serde(default)]
    pub symbol: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
pub struct HistoryArgs {
    /// Start of the range, ISO-8601 with a time zone, e.g. "2026-04-21T00:00:00Z".
    pub from_ts: String,
    /// End of the range (exclusive of nothing: deals at this instant are included),
    /// ISO-8601 with a time zone, strictly after `from_ts`.
    pub to_ts: String,
    /// Only deals whose symbol contains this text (e.g. "EURUSD" also matches "EURUSD.r").
    #[serde(default)]
    pub symbol: Option<String>,
}

fn filter(symbol: &Option<String>) -> Filter {
    match symbol.as_deref() {
        Some(s) if !s.is_empty() => Filter::Symbol(s.to_owned()),
        _ => Filter::All,
    }
}

fn timestamp(field: &str, raw: &str) -> Result<chrono::DateTime<chrono::Utc>, ToolError> {
    parse_timestamp(raw).map_err(|e| {
        let message = match e {
            TimestampError::Malformed => {
                format!("{field} is not a valid ISO 8601 timestamp: {raw}")
            }
            TimestampError::Naive => {
                format!("{field} must be timezone-aware UTC (add Z or an offset): {raw}")
            }
        };
        ToolError::new(ErrorCode::INVALID_TIMESTAMP, message)
    })
}

#[tool_router(router = history_router, vis = "pub(crate)")]
impl Mt5Server {
    /// Open positions (optionally of one symbol): ticket, side, volume, open and current
    /// price, SL/TP (null when unset), floating profit and swap in the deposit currency,
    /// open time (UTC) and comment (untrusted text).
    #[tool(
        input_schema = input_schema::<SymbolFilterArgs>(),
        output_schema = list_schema::<PositionOut>(),
        annotations(title = "Open positions", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_positions(
        &self,
        Args(args): Args<SymbolFilterArgs>,
        wire: Wire,
    ) -> Result<Listing<PositionOut>, ToolError> {
        let args = args?;
        self.client.ensure_connected().await?;
        let filter = filter(&args.symbol);
        let positions = self
            .client
            .call_opt(|t| {
                let f = filter.clone();
                async move { t.positions_get(&f).await }
            })
            .await?
            .unwrap_or_default();
        let offset = self.client.offset_minutes();
        Ok(Listing::mapped(wire, &positions, |p| {
            convert::position(p, offset)
        }))
    }

    /// Pending orders (optionally of one symbol): ticket, type (buy_limit, sell_stop, ...),
    /// remaining volume, trigger price, SL/TP, placement and expiry times (UTC), comment
    /// (untrusted text).
    #[tool(
        input_schema = input_schema::<SymbolFilterArgs>(),
        output_schema = list_schema::<OrderOut>(),
        annotations(title = "Pending orders", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_orders(
        &self,
        Args(args): Args<SymbolFilterArgs>,
        wire: Wire,
    ) -> Result<Listing<OrderOut>, ToolError> {
        let args = args?;
        self.client.ensure_connected().await?;
        let filter = filter(&args.symbol);
        let orders = self
            .client
            .call_opt(|t| {
                let f = filter.clone();
                async move { t.orders_get(&f).await }
            })
            .await?
            .unwrap_or_default();
        let offset = self.client.offset_minutes();
        Ok(Listing::mapped(wire, &orders, |o| {
            convert::order(o, offset)
        }))
    }

    /// Closed deals between two UTC instants (both ISO-8601 with a zone, `to_ts` after
    /// `from_ts`), optionally only symbols containing `symbol`: ticket, order, type, volume,
    /// price, realised profit, swap and commission in the deposit currency, time (UTC) and
    /// comment (untrusted text). Includes balance operations such as deposits.
    #[tool(
        input_schema = input_schema::<HistoryArgs>(),
        output_schema = list_schema::<DealOut>(),
        annotations(title = "Deal history", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_history(
        &self,
        Args(args): Args<HistoryArgs>,
        wire: Wire,
    ) -> Result<Listing<DealOut>, ToolError> {
        let args = args?;
        let from = timestamp("from_ts", &args.from_ts)?;
        let to = timestamp("to_ts", &args.to_ts)?;
        if to <= from {
            return Err(ToolError::new(
                ErrorCode::INVALID_TIMESTAMP,
                "to_ts must be strictly after from_ts.",
            ));
        }
        let group = match args.symbol.as_deref() {
            Some(s) if !s.is_empty() => {
                if s.len() > 64
                    || s.chars()
                        .any(|c| matches!(c, '*' | ',' | '!') || c.is_control())
                {
                    return Err(ToolError::invalid_request(
                        "symbol",
                        s,
                        "must be a plain symbol name (no *, ! or commas)",
                    ));
                }
                Some(format!("*{s}*"))
            }
            _ => None,
        };
        self.client.ensure_connected().await?;
        let offset = self.client.offset_minutes();
        let (from_b, to_b) = (
            utc_to_broker(from.timestamp(), offset),
            utc_to_broker(to.timestamp(), offset),
        );
        let group = group.as_deref();
        let deals = self
            .client
            .call_opt(|t| async move { t.history_deals_get(from_b, to_b, group).await })
            .await?
            .unwrap_or_default();
        Ok(Listing::mapped(wire, &deals, |d| convert::deal(d, offset)))
    }
}
