//! `close_position`: full and partial closes.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::args::*;
use super::common::*;
use crate::errors::{ErrorCode, ToolError};
use crate::policy::engine::{Approval, Exposure, Plan, PreviewParts, RetryPrices};
use crate::policy::money::{notional as notional_of, profit_from_ticks, render_money};
use crate::policy::reconcile::Reconcile;
use crate::server::Mt5Server;
use crate::terminal::consts::*;
use crate::terminal::{Filter, TermError, TradeRequest};
use crate::tools::market::decimal_to_f64;

pub const TOOL: &str = "close_position";
/// Slippage accepted on a close, in points (upstream's fixed value).
const CLOSE_DEVIATION: i64 = 10;

pub async fn close(server: &Mt5Server, args: CloseArgs) -> Result<Value, ToolError> {
    let ticket = ticket(args.ticket)?;
    let volume = optional_decimal("volume", &args.volume)?;
    if let Some(v) = volume
        && v <= Decimal::ZERO
    {
        return Err(ToolError::invalid_volume(
            "",
            &v.to_string(),
            crate::errors::VolumeRule::BelowMin,
            "0",
        )
        .with_message(format!(
            "Close volume must be positive (got {v}); omit it to close the whole position."
        )));
    }
    let key = idempotency_key(&args.idempotency_key)?;
    let echo = json!({
        "ticket": ticket,
        "volume": echo_dec(volume),
        "approval_confirmed": args.approval_confirmed,
        "approval_request_id": args.approval_request_id,
    });
    let how = Reconcile::Close { ticket };
    let (hash, done) = recall(server, TOOL, key.as_deref(), &echo, &how).await?;
    if let Some(done) = done {
        return Ok(done);
    }
    let (client, engine) = (&server.client, &server.policy);

    client.ensure_connected().await?;
    let position = client
        .call_opt(|t| async move { t.positions_get(&Filter::Ticket(ticket)).await })
        .await?
        .and_then(|v| v.into_iter().next())
        .ok_or_else(|| ToolError::invalid_ticket(ticket, "position"))?;
    let symbol = position.symbol.clone();
    let info = client.prepare_symbol(&symbol).await?;
    let held = dec(position.volume);
    let close_volume = volume.unwrap_or(held);
    if volume.is_some() {
        check_volume(
            &symbol,
            close_volume,
            dec(info.volume_min),
            dec(info.volume_max),
            dec(info.volume_step),
            Some(held),
        )?;
    }
    let buy = match position.kind {
        POSITION_TYPE_BUY => true,
        POSITION_TYPE_SELL => false,
        other => {
            return Err(ToolError::new(
                ErrorCode::UNSUPPORTED_POSITION_TYPE,
                format!("Position {ticket} has type {other}, which cannot be closed here."),
            )
            .with_details(json!({ "ticket": ticket, "position_type": other })));
        }
    };
    let tick = tick(client, &symbol).await?;
    let close_price = match &tick {
        Some(t) => dec(if buy { t.bid } else { t.ask }),
        None if position.price_current > 0.0 => dec(position.price_current),
        None => {
            return Err(ToolError::new(
                ErrorCode::SYMBOL_NOT_ENABLED,
                format!("No quote for {symbol} and no last-known position price."),
            )
            .with_details(json!({ "symbol": symbol })));
        }
    };
    let filling = market_filling(&info)?;
    let notional = notional_of(&info, close_volume, close_price);
    let open = dec(position.price_open);
    let (v, o, c) = (
        decimal_to_f64(close_volume),
        position.price_open,
        decimal_to_f64(close_price),
    );
    let config = server.config.current();
    let policy = &config.policy;
    let gate = policy.auto_approve_notional;
    let required = gate > Decimal::ZERO && notional >= gate;
    // The realised P&L feeds the loss limits and the preview only; skip the broker call
    // when none of them is armed.
    let needs_realised = required
        || policy.max_realised_loss_per_close > Decimal::ZERO
        || policy.max_daily_loss > Decimal::ZERO;
    let realised = if needs_realised {
        let order_type = if buy { ORDER_TYPE_BUY } else { ORDER_TYPE_SELL };
        let sym = symbol.as_str();
        match client
            .call(|t| async move { t.order_calc_profit(order_type, sym, v, o, c).await })
            .await?
        {
            Ok(p) if p.is_finite() => dec(p),
            Ok(_) | Err(TermError::Null(_)) => {
                profit_from_ticks(&info, buy, close_volume, open, close_price)
            }
            Err(TermError::Backend { why } | TermError::NotSent { why }) => {
                return Err(crate::mt5::client::backend_failure(why));
            }
        }
    } else {
        Decimal::ZERO
    };

    let preview = if required && !args.approval_confirmed {
        let Some(t) = &tick else {
            let mut e = no_quote_for_preview(&symbol);
            e.details = Some(json!({ "symbol": symbol, "notional": render_money(notional) }));
            return Err(e);
        };
        let account = client.logged_in_account().await?;
        Some(PreviewParts {
            summary: format!(
                "CLOSE {close_volume} {symbol} @ ~{close_price} (~{} {}, realising {} {}) on account {} ({})",
                render_money(notional),
                account.currency,
                render_money(realised),
                account.currency,
                account.login,
                account_kind(account.trade_mode)
            ),
            notional,
            estimated_margin: notional / Decimal::from(account.leverage.max(1)),
            reference_quote: reference_quote(&symbol, t, client.offset_minutes()),
        })
    } else {
        None
    };

    let request = TradeRequest {
        action: TRADE_ACTION_DEAL,
        symbol: Some(symbol.clone()),
        volume: Some(v),
        kind: Some(if buy { ORDER_TYPE_SELL } else { ORDER_TYPE_BUY }),
        position: Some(ticket),
        price: Some(c),
        deviation: Some(CLOSE_DEVIATION),
        type_filling: Some(filling),
        type_time: Some(ORDER_TIME_GTC),
        ..TradeRequest::default()
    };
    let plan = Plan {
        tool: TOOL,
        symbol,
        key,
        hash,
        echo,
        approval: Approval {
            required,
            confirmed: args.approval_confirmed,
            request_id: args.approval_request_id.clone(),
        },
        retry: RetryPrices {
            current: close_price,
            point: dec(info.point),
            priced: false,
        },
        exposure: Exposure::Close { notional, realised },
        preview,
        request,
        fallback_volume: close_volume.to_string(),
        config,
    };
    engine.run(client, plan, &how).await
}
