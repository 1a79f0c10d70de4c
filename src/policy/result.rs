//! The OrderResult a mutating tool answers with (upstream §2.12), built from what
//! `order_send` returned.
//!
//! A broker rejection is a result, not a tool error: the agent sees `success: false` with the
//! mapped error inside and the retcode beside it, and the result is stored under the
//! idempotency key like a fill, so a retry with the same key replays it (a new key is a new
//! attempt).

use serde_json::{Value, json};

use crate::errors::{ErrorCode, ToolError};
use crate::model::num::render_f64;
use crate::terminal::consts::{TRADE_RETCODE_DONE, TRADE_RETCODE_DONE_PARTIAL};
use crate::terminal::{LastError, OrderSendResult};

/// What the result is about, independent of the outcome.
pub struct ResultContext<'a> {
    pub tool: &'a str,
    pub symbol: &'a str,
    /// The volume to report when the terminal reports none (the requested or target volume).
    pub fallback_volume: &'a str,
    pub echo: &'a Value,
}

pub fn is_success(retcode: i64) -> bool {
    retcode == TRADE_RETCODE_DONE || retcode == TRADE_RETCODE_DONE_PARTIAL
}

fn shape(
    ctx: &ResultContext<'_>,
    success: bool,
    ticket: Option<i64>,
    volume: String,
    price: Option<String>,
    error: Option<&ToolError>,
    retcode: i64,
) -> Value {
    json!({
        "success": success,
        "ticket": ticket,
        "action": ctx.tool,
        "symbol": ctx.symbol,
        "volume": volume,
        "price_filled": price,
        "request_echo": ctx.echo,
        "replayed": false,
        "error": error,
        "server_response_code": retcode,
    })
}

/// The result of an `order_send` that answered.
pub fn from_send(ctx: &ResultContext<'_>, sent: &OrderSendResult) -> Value {
    if is_success(sent.retcode) {
        let volume = if sent.volume != 0.0 {
            render_f64(sent.volume)
        } else {
            ctx.fallback_volume.to_owned()
        };
        shape(
            ctx,
            true,
            (sent.order != 0).then_some(sent.order),
            volume,
            (sent.price != 0.0).then(|| render_f64(sent.price)),
            None,
            sent.retcode,
        )
    } else {
        let error = ToolError::for_retcode(sent.retcode, &sent.comment);
        shape(
            ctx,
            false,
            None,
            ctx.fallback_volume.to_owned(),
            None,
            Some(&error),
            sent.retcode,
        )
    }
}

/// The result of an `order_send` that returned `None`, with `last_error()` read in the same
/// call.
pub fn from_null(ctx: &ResultContext<'_>, last: &LastError) -> Value {
    let error = ToolError::new(
        ErrorCode::MT5_NULL_RESPONSE,
        "order_send returned None; the terminal did not accept the request.",
    )
    .with_details(json!({
        "action": ctx.tool,
        "symbol": ctx.symbol,
        "last_error": [last.code, last.message],
    }));
    shape(
        ctx,
        false,
        None,
        ctx.fallback_volume.to_owned(),
        None,
        Some(&error),
        0,
    )
}

/// A success found by reconciling with the broker after a send whose answer was lost.
pub fn reconciled(
    ctx: &ResultContext<'_>,
    ticket: Option<i64>,
    volume: Option<f64>,
    price: Option<f64>,
) -> Value {
    shape(
        ctx,
        true,
        ticket,
        volume
            .filter(|v| *v != 0.0)
            .map_or_else(|| ctx.fallback_volume.to_owned(), render_f64),
        price.filter(|p| *p != 0.0).map(render_f64),
        None,
        TRADE_RETCODE_DONE,
    )
}

/// A stored result as a replay: same body, `replayed: true` in place.
pub fn as_replay(stored: &str) -> Result<Value, ToolError> {
    let mut value: Value = serde_json::from_str(stored).map_err(|e| {
        ToolError::internal(
            "IdempotencyStoreCorrupt",
            format!("a stored result could not be read: {e}"),
        )
    })?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert("replayed".into(), Value::Bool(true));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::TradeRequest;

    fn sent(retcode: i64, order: i64, volume: f64, price: f64, comment: &str) -> OrderSendResult {
        OrderSendResult {
            retcode,
            deal: 7,
            order,
            volume,
            price,
            bid: 0.0,
            ask: 0.0,
            comment: comment.into(),
            request_id: 1,
            retcode_external: 0,
            request: TradeRequest::default(),
        }
    }

    #[test]
    fn keys_come_in_upstream_order_and_map_outcomes() {
        let echo = json!({"symbol": "EURUSD"});
        let ctx = ResultContext {
            tool: "place_order",
            symbol: "EURUSD",
            fallback_volume: "0.10",
            echo: &echo,
        };
        let ok = from_send(&ctx, &sent(10009, 555, 0.1, 1.08245, "Request executed"));
        let keys: Vec<&str> = ok.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "success",
                "ticket",
                "action",
                "symbol",
                "volume",
                "price_filled",
                "request_echo",
                "replayed",
                "error",
                "server_response_code"
            ]
        );
        assert_eq!(ok["success"], true);
        assert_eq!(ok["ticket"], 555);
        assert_eq!(ok["volume"], "0.1");
        assert_eq!(ok["price_filled"], "1.08245");
        assert_eq!(ok["error"], Value::Null);

        let pending = from_send(&ctx, &sent(10009, 9, 0.0, 0.0, ""));
        assert_eq!(pending["volume"], "0.10");
        assert_eq!(pending["price_filled"], Value::Null);

        let requote = from_send(&ctx, &sent(10004, 0, 0.0, 0.0, "Requote"));
        assert_eq!(requote["success"], false);
        assert_eq!(requote["ticket"], Value::Null);
        assert_eq!(requote["error"]["code"], "REQUOTE");
        assert_eq!(requote["error"]["mt5_retcode"], 10004);
        assert_eq!(requote["server_response_code"], 10004);

        let placed = from_send(&ctx, &sent(10008, 9, 0.0, 0.0, ""));
        assert_eq!(
            placed["success"], false,
            "10008 PLACED is not success upstream"
        );

        let null = from_null(&ctx, &LastError::new(-10004, "No IPC connection"));
        assert_eq!(null["error"]["code"], "MT5_NULL_RESPONSE");
        assert_eq!(
            null["error"]["details"]["last_error"],
            json!([-10004, "No IPC connection"])
        );
        assert_eq!(null["server_response_code"], 0);
    }

    #[test]
    fn replays_flip_only_the_flag() {
        let stored = r#"{"success":true,"ticket":5,"replayed":false,"error":null}"#;
        let v = as_replay(stored).unwrap();
        assert_eq!(v["replayed"], true);
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["success", "ticket", "replayed", "error"]);
        assert!(as_replay("not json").is_err());
    }
}
