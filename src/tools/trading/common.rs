//! Pieces the four trading tools share: hashing the request, quotes for previews, filling
//! mode, margin estimates.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::errors::{ErrorCode, ToolError};
use crate::model::num::dec_from_f64;
use crate::mt5::{Mt5Client, convert};
use crate::policy::hash::request_hash;
use crate::policy::reconcile::Reconcile;
use crate::server::Mt5Server;
use crate::terminal::consts::*;
use crate::terminal::{SymbolInfo, Tick};
use crate::tools::market::decimal_to_f64;

/// The idempotency check every trading tool makes before touching the terminal: the request
/// hash, and the earlier outcome under this key if there is one (to be returned as is).
pub async fn recall(
    server: &Mt5Server,
    tool: &'static str,
    key: Option<&str>,
    echo: &Value,
    how: &Reconcile,
) -> Result<(String, Option<Value>), ToolError> {
    let hash = hash_of(echo, key);
    let done = server
        .policy
        .recall(&server.client, tool, key, &hash, echo, how)
        .await?;
    Ok((hash, done))
}

/// Why no approval preview can be shown: the market has no quote to price it against.
pub fn no_quote_for_preview(symbol: &str) -> ToolError {
    ToolError::new(
        ErrorCode::SYMBOL_NOT_ENABLED,
        format!("No quote for {symbol}: cannot present an approval preview."),
    )
    .with_details(json!({ "symbol": symbol }))
}

/// Upstream's request hash: the echo without the approval fields, plus the key.
pub fn hash_of(echo: &Value, key: Option<&str>) -> String {
    let mut model = echo.clone();
    if let Some(obj) = model.as_object_mut() {
        obj.remove("approval_confirmed");
        obj.remove("approval_request_id");
        obj.insert("idempotency_key".into(), json!(key));
    }
    request_hash(&model)
}

pub async fn tick(client: &Mt5Client, symbol: &str) -> Result<Option<Tick>, ToolError> {
    client
        .call_opt(|t| async move { t.symbol_info_tick(symbol).await })
        .await
}

/// `{symbol, bid, ask, time}` as a preview shows the market it was priced against.
pub fn reference_quote(symbol: &str, tick: &Tick, offset: i32) -> Value {
    serde_json::to_value(convert::quote(symbol, tick, offset)).unwrap_or(Value::Null)
}

/// Upstream's filling choice for a deal: IOC when the symbol allows it, else FOK.
pub fn market_filling(info: &SymbolInfo) -> Result<i64, ToolError> {
    if info.filling_mode & SYMBOL_FILLING_IOC != 0 {
        Ok(ORDER_FILLING_IOC)
    } else if info.filling_mode & SYMBOL_FILLING_FOK != 0 {
        Ok(ORDER_FILLING_FOK)
    } else {
        Err(ToolError::new(
            ErrorCode::INVALID_FILLING_MODE,
            format!(
                "Symbol {} allows neither IOC nor FOK filling for market orders.",
                info.name
            ),
        )
        .with_details(json!({ "symbol": info.name, "filling_mode_mask": info.filling_mode })))
    }
}

/// The broker's margin for the order, or notional / leverage when it cannot say.
pub async fn estimated_margin(
    client: &Mt5Client,
    buy: bool,
    symbol: &str,
    volume: Decimal,
    price: Decimal,
    notional: Decimal,
    leverage: i64,
) -> Result<Decimal, ToolError> {
    let order_type = if buy { ORDER_TYPE_BUY } else { ORDER_TYPE_SELL };
    let (v, p) = (decimal_to_f64(volume), decimal_to_f64(price));
    let margin = client
        .call_opt(|t| async move { t.order_calc_margin(order_type, symbol, v, p).await })
        .await?;
    Ok(match margin {
        Some(m) if m.is_finite() && m >= 0.0 => dec_from_f64(m),
        _ => notional / Decimal::from(leverage.max(1)),
    })
}

/// "demo", "contest" or "real", for the preview text a human approves.
pub fn account_kind(trade_mode: i64) -> &'static str {
    match trade_mode {
        ACCOUNT_TRADE_MODE_DEMO => "demo",
        ACCOUNT_TRADE_MODE_CONTEST => "contest",
        _ => "real",
    }
}

pub fn dec(value: f64) -> Decimal {
    dec_from_f64(value)
}
