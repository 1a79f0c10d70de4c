//! The four trading tools. Each handler validates its arguments, looks up what it needs and
//! hands a plan to the policy engine (`crate::policy::engine`), which decides and sends.
//!
//! Answers are upstream's: an OrderResult (also for a broker rejection, `success: false`),
//! or an ApprovalPreview (recognisable by `request_id`) when a human must approve first; a
//! refused call is `isError` with `{"error": ErrorDetail}`.

pub mod args;
mod cancel;
mod close;
mod common;
mod modify;
mod place;

use std::sync::Arc;

use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock, JsonObject};
use rmcp::{tool, tool_router};
use serde_json::{Value, json};

use self::args::{CancelArgs, CloseArgs, ModifyArgs, PlaceArgs};
use super::args::{Args, input_schema};
use crate::errors::ToolError;
use crate::server::Mt5Server;

/// An OrderResult or an ApprovalPreview: one text block with the JSON, and the same object
/// as structuredContent.
pub struct TradeAnswer(pub Value);

impl IntoCallToolResult for TradeAnswer {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        let mut result = CallToolResult::success(vec![ContentBlock::text(self.0.to_string())]);
        result.structured_content = Some(self.0);
        Ok(result.into())
    }
}

/// The output schema: either an OrderResult or an ApprovalPreview.
pub fn answer_schema() -> Arc<JsonObject> {
    let dec = json!({ "type": "string", "description": "plain decimal" });
    let order_result = json!({
        "title": "OrderResult",
        "type": "object",
        "properties": {
            "success": { "type": "boolean" },
            "ticket": { "type": ["integer", "null"] },
            "action": { "type": "string" },
            "symbol": { "type": "string" },
            "volume": dec,
            "price_filled": { "type": ["string", "null"] },
            "request_echo": { "type": "object" },
            "replayed": { "type": "boolean" },
            "error": { "type": ["object", "null"], "description": "ErrorDetail when the broker refused" },
            "server_response_code": { "type": "integer", "description": "MetaTrader retcode (0 when order_send returned nothing)" }
        },
        "required": ["success", "ticket", "action", "symbol", "volume", "price_filled",
                     "request_echo", "replayed", "error", "server_response_code"]
    });
    let preview = json!({
        "title": "ApprovalPreview",
        "type": "object",
        "properties": {
            "request_id": { "type": "string", "description": "pass back as approval_request_id with approval_confirmed=true once a human approved" },
            "expires_at": { "type": "string" },
            "summary": { "type": "string" },
            "action": { "type": "string" },
            "symbol": { "type": "string" },
            "notional": dec,
            "estimated_margin": dec,
            "reference_quote": { "type": "object" },
            "request_echo": { "type": "object" }
        },
        "required": ["request_id", "expires_at", "summary", "action", "symbol", "notional",
                     "estimated_margin", "reference_quote", "request_echo"]
    });
    match json!({ "type": "object", "anyOf": [order_result, preview] }) {
        Value::Object(map) => Arc::new(map),
        _ => unreachable!(),
    }
}

#[tool_router(router = trading_router, vis = "pub(crate)")]
impl Mt5Server {
    /// Places a market or pending order (limit, stop, stop_limit) with optional SL/TP.
    /// Volumes and prices are decimal strings. NOT idempotent by itself: pass an
    /// `idempotency_key` (a fresh UUID per intended order) so a retry after a timeout returns
    /// the first result instead of trading twice. Above the configured notional a human must
    /// approve: the answer is then a preview with a `request_id`; show its `summary` to the
    /// user and, only after they approve, repeat the same call with `approval_confirmed: true`
    /// and `approval_request_id`. Local limits (notional, daily loss, symbol lists, order
    /// rate) may refuse the order with EXCEEDS_LOCAL_LIMIT.
    #[tool(
        input_schema = input_schema::<PlaceArgs>(),
        output_schema = answer_schema(),
        annotations(title = "Place order", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = true)
    )]
    async fn place_order(&self, Args(args): Args<PlaceArgs>) -> Result<TradeAnswer, ToolError> {
        place::place(self, args?).await.map(TradeAnswer)
    }

    /// Changes an open position's stop loss / take profit, or a pending order's price, SL/TP
    /// and expiry. Fields left out keep their current values; "0" removes a stop. Widening or
    /// removing a position's stop may need human approval (preview with `request_id`, then
    /// repeat with `approval_confirmed: true`).
    #[tool(
        input_schema = input_schema::<ModifyArgs>(),
        output_schema = answer_schema(),
        annotations(title = "Modify order or position", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = true)
    )]
    async fn modify_order(&self, Args(args): Args<ModifyArgs>) -> Result<TradeAnswer, ToolError> {
        modify::modify(self, args?).await.map(TradeAnswer)
    }

    /// Closes an open position at market, wholly or partly (`volume` in lots). With an
    /// `idempotency_key` a retry after success replays the first result. Large closes may need
    /// human approval; closes that would realise more loss than configured are refused.
    #[tool(
        input_schema = input_schema::<CloseArgs>(),
        output_schema = answer_schema(),
        annotations(title = "Close position", read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = true)
    )]
    async fn close_position(&self, Args(args): Args<CloseArgs>) -> Result<TradeAnswer, ToolError> {
        close::close(self, args?).await.map(TradeAnswer)
    }

    /// Cancels a pending order. With an `idempotency_key` a retry after success replays the
    /// first result.
    #[tool(
        input_schema = input_schema::<CancelArgs>(),
        output_schema = answer_schema(),
        annotations(title = "Cancel pending order", read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = true)
    )]
    async fn cancel_order(&self, Args(args): Args<CancelArgs>) -> Result<TradeAnswer, ToolError> {
        cancel::cancel(self, args?).await.map(TradeAnswer)
    }
}
