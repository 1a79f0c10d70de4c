//! `place_order`: market and pending orders.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::args::*;
use super::common::*;
use crate::errors::ToolError;
use crate::policy::engine::{Approval, Exposure, Plan, PreviewParts, RetryPrices};
use crate::policy::money::{notional as notional_of, render_money};
use crate::policy::reconcile::Reconcile;
use crate::server::Mt5Server;
use crate::terminal::TradeRequest;
use crate::terminal::consts::*;
use crate::tools::args::parse_decimal;
use crate::tools::market::decimal_to_f64;

pub const TOOL: &str = "place_order";

fn order_type(side: Side, kind: OrderKind) -> i64 {
    match (side, kind) {
        (Side::Buy, OrderKind::Market) => ORDER_TYPE_BUY,
        (Side::Sell, OrderKind::Market) => ORDER_TYPE_SELL,
        (Side::Buy, OrderKind::Limit) => ORDER_TYPE_BUY_LIMIT,
        (Side::Sell, OrderKind::Limit) => ORDER_TYPE_SELL_LIMIT,
        (Side::Buy, OrderKind::Stop) => ORDER_TYPE_BUY_STOP,
        (Side::Sell, OrderKind::Stop) => ORDER_TYPE_SELL_STOP,
        (Side::Buy, OrderKind::StopLimit) => ORDER_TYPE_BUY_STOP_LIMIT,
        (Side::Sell, OrderKind::StopLimit) => ORDER_TYPE_SELL_STOP_LIMIT,
    }
}

pub async fn place(server: &Mt5Server, args: PlaceArgs) -> Result<Value, ToolError> {
    // Everything about the arguments first, with no terminal access.
    let volume = parse_decimal("volume", &args.volume.0)?;
    let price = positive_price("price", optional_decimal("price", &args.price)?)?;
    let stop_limit = positive_price(
        "stop_limit_price",
        optional_decimal("stop_limit_price", &args.stop_limit_price)?,
    )?;
    let sl = positive_price("sl", optional_decimal("sl", &args.sl)?)?;
    let tp = positive_price("tp", optional_decimal("tp", &args.tp)?)?;
    let deviation = deviation(args.deviation)?;
    match args.kind {
        OrderKind::Market | OrderKind::Limit | OrderKind::Stop if stop_limit.is_some() => {
            return Err(ToolError::invalid_request(
                "stop_limit_price",
                &stop_limit.unwrap_or_default().to_string(),
                "only stop_limit orders take a stop_limit_price",
            ));
        }
        OrderKind::Limit | OrderKind::Stop | OrderKind::StopLimit if price.is_none() => {
            return Err(ToolError::invalid_request(
                "price",
                "",
                format!("a {} order needs a price", args.kind.as_str()),
            ));
        }
        OrderKind::StopLimit if stop_limit.is_none() => {
            return Err(ToolError::invalid_request(
                "stop_limit_price",
                "",
                "a stop_limit order needs a stop_limit_price",
            ));
        }
        _ => {}
    }
    let comment = comment(&args.comment)?;
    let key = idempotency_key(&args.idempotency_key)?;
    let symbol = args.symbol.clone();
    let echo = json!({
        "symbol": symbol,
        "side": args.side.as_str(),
        "type": args.kind.as_str(),
        "volume": volume.to_string(),
        "price": echo_dec(price),
        "stop_limit_price": echo_dec(stop_limit),
        "sl": echo_dec(sl),
        "tp": echo_dec(tp),
        "deviation": deviation,
        "comment": args.comment,
        "approval_confirmed": args.approval_confirmed,
        "approval_request_id": args.approval_request_id,
    });
    let how = Reconcile::Place {
        symbol: symbol.clone(),
    };
    let (hash, done) = recall(server, TOOL, key.as_deref(), &echo, &how).await?;
    if let Some(done) = done {
        return Ok(done);
    }
    let (client, engine) = (&server.client, &server.policy);

    // The broker's view of the symbol.
    client.ensure_connected().await?;
    let info = client.prepare_symbol(&symbol).await?;
    check_volume(
        &symbol,
        volume,
        dec(info.volume_min),
        dec(info.volume_max),
        dec(info.volume_step),
        None,
    )?;
    let round = |v: Option<Decimal>| v.map(|p| round_price(p, info.digits));
    let (price, stop_limit, sl, tp) = (round(price), round(stop_limit), round(sl), round(tp));
    let market = args.kind == OrderKind::Market;
    let filling = if market {
        market_filling(&info)?
    } else {
        ORDER_FILLING_RETURN
    };
    let buy = args.side == Side::Buy;
    // A priced order is valued at its own price; the quote is fetched only when the order
    // has none, or (below) when a preview must show the market.
    let (reference, quote) = match price {
        Some(p) => (p, None),
        None => {
            let t = tick(client, &symbol)
                .await?
                .ok_or_else(|| ToolError::no_tick(&symbol))?;
            (dec(if buy { t.ask } else { t.bid }), Some(t))
        }
    };
    let notional = notional_of(&info, volume, reference);
    let config = server.config.current();
    let gate = config.policy.auto_approve_notional;
    let required = gate > Decimal::ZERO && notional >= gate;

    let preview = if required && !args.approval_confirmed {
        let t = match quote {
            Some(t) => t,
            None => tick(client, &symbol)
                .await?
                .ok_or_else(|| no_quote_for_preview(&symbol))?,
        };
        let account = client.logged_in_account().await?;
        let margin = estimated_margin(
            client,
            buy,
            &symbol,
            volume,
            reference,
            notional,
            account.leverage,
        )
        .await?;
        let mut summary = format!(
            "{} {} {} @ {}",
            args.side.as_str().to_uppercase(),
            volume,
            symbol,
            price.map_or_else(
                || "market".to_owned(),
                |p| format!("{} {p}", args.kind.as_str())
            ),
        );
        if let Some(sp) = stop_limit {
            summary.push_str(&format!(" then limit {sp}"));
        }
        if let Some(sl) = sl {
            summary.push_str(&format!(" SL={sl}"));
        }
        if let Some(tp) = tp {
            summary.push_str(&format!(" TP={tp}"));
        }
        summary.push_str(&format!(
            " (~{} {}) on account {} ({})",
            render_money(notional),
            account.currency,
            account.login,
            account_kind(account.trade_mode)
        ));
        Some(PreviewParts {
            summary,
            notional,
            estimated_margin: margin,
            reference_quote: reference_quote(&symbol, &t, client.offset_minutes()),
        })
    } else {
        None
    };

    let request = TradeRequest {
        action: if market {
            TRADE_ACTION_DEAL
        } else {
            TRADE_ACTION_PENDING
        },
        symbol: Some(symbol.clone()),
        volume: Some(decimal_to_f64(volume)),
        kind: Some(order_type(args.side, args.kind)),
        price: Some(decimal_to_f64(reference)),
        deviation: Some(deviation),
        type_filling: Some(filling),
        type_time: Some(ORDER_TIME_GTC),
        stoplimit: stop_limit.map(decimal_to_f64),
        sl: sl.map(decimal_to_f64),
        tp: tp.map(decimal_to_f64),
        comment,
        ..TradeRequest::default()
    };
    let plan = Plan {
        tool: TOOL,
        symbol: symbol.clone(),
        key,
        hash,
        echo,
        approval: Approval {
            required,
            confirmed: args.approval_confirmed,
            request_id: args.approval_request_id.clone(),
        },
        retry: RetryPrices {
            current: reference,
            point: dec(info.point),
            priced: !market,
        },
        exposure: Exposure::Place { notional },
        preview,
        request,
        fallback_volume: volume.to_string(),
        config,
    };
    engine.run(client, plan, &how).await
}
