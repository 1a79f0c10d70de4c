//! `cancel_order`: removes a pending order. Never gated by consent; the symbol lists apply.

use serde_json::{Value, json};

use super::args::*;
use super::common::*;
use crate::errors::ToolError;
use crate::policy::engine::{Approval, Exposure, Plan, RetryPrices};
use crate::policy::reconcile::Reconcile;
use crate::server::Mt5Server;
use crate::terminal::consts::TRADE_ACTION_REMOVE;
use crate::terminal::{Filter, TradeRequest};

pub const TOOL: &str = "cancel_order";

pub async fn cancel(server: &Mt5Server, args: CancelArgs) -> Result<Value, ToolError> {
    let ticket = ticket(args.ticket)?;
    let key = idempotency_key(&args.idempotency_key)?;
    let echo = json!({ "ticket": ticket });
    let how = Reconcile::Cancel { ticket };
    let (hash, done) = recall(server, TOOL, key.as_deref(), &echo, &how).await?;
    if let Some(done) = done {
        return Ok(done);
    }
    let (client, engine) = (&server.client, &server.policy);

    client.ensure_connected().await?;
    let order = client
        .call_opt(|t| async move { t.orders_get(&Filter::Ticket(ticket)).await })
        .await?
        .and_then(|v| v.into_iter().next())
        .ok_or_else(|| ToolError::invalid_ticket(ticket, "order"))?;
    let config = server.config.current();
    let request = TradeRequest {
        action: TRADE_ACTION_REMOVE,
        order: Some(ticket),
        ..TradeRequest::default()
    };
    let plan = Plan {
        tool: TOOL,
        symbol: order.symbol.clone(),
        key,
        hash,
        echo,
        approval: Approval::default(),
        retry: RetryPrices {
            current: dec(order.price_open),
            point: rust_decimal::Decimal::ZERO,
            priced: true,
        },
        exposure: Exposure::Cancel,
        preview: None,
        request,
        fallback_volume: crate::model::num::render_f64(order.volume_current),
        config,
    };
    engine.run(client, plan, &how).await
}
