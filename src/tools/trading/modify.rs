//! `modify_order`: a position's SL/TP, or a pending order's price, SL/TP and expiry.

use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::args::*;
use super::common::*;
use crate::errors::ToolError;
use crate::model::time::{TimestampError, format_utc, parse_timestamp, utc_to_broker};
use crate::policy::engine::{Approval, Exposure, Plan, PreviewParts, RetryPrices};
use crate::policy::money::{notional as notional_of, render_money};
use crate::policy::reconcile::Reconcile;
use crate::server::Mt5Server;
use crate::terminal::consts::*;
use crate::terminal::{Filter, TradeRequest};
use crate::tools::market::decimal_to_f64;

pub const TOOL: &str = "modify_order";

/// A new stop level as parsed: `is not None` semantics, so `""` is refused (upstream).
fn level(
    field: &str,
    raw: &Option<crate::tools::args::RawDecimal>,
) -> Result<Option<Decimal>, ToolError> {
    raw.as_ref()
        .map(|r| crate::tools::args::parse_decimal(field, &r.0))
        .transpose()
}

/// Upstream's widening rule (§2.14 step 5): removing a stop or moving it further from the
/// current price widens; adding one where there was none tightens.
pub fn widens(new: Option<Decimal>, old: Decimal, current: Decimal) -> bool {
    match new {
        None => false,
        Some(n) if !old.is_zero() && n.is_zero() => true,
        Some(_) if old.is_zero() => false,
        Some(n) => (current - n).abs() > (current - old).abs(),
    }
}

pub async fn modify(server: &Mt5Server, args: ModifyArgs) -> Result<Value, ToolError> {
    let ticket = ticket(args.ticket)?;
    let sl = stop_level("sl", level("sl", &args.sl)?)?;
    let tp = stop_level("tp", level("tp", &args.tp)?)?;
    let price = positive_price("price", level("price", &args.price)?)?;
    let expiration = match args.expiration.as_deref() {
        None => None,
        Some(raw) => {
            let t = parse_timestamp(raw).map_err(|e| {
                let reason = match e {
                    TimestampError::Naive => "needs a UTC offset, e.g. 2026-12-01T00:00:00Z",
                    TimestampError::Malformed => "not an ISO-8601 date-time",
                };
                ToolError::invalid_request("expiration", raw, reason)
            })?;
            if t <= Utc::now() {
                return Err(ToolError::invalid_request(
                    "expiration",
                    raw,
                    "must be in the future",
                ));
            }
            Some(t)
        }
    };
    if sl.is_none() && tp.is_none() && price.is_none() && expiration.is_none() {
        return Err(ToolError::invalid_request(
            "arguments",
            "",
            "nothing to change: give sl, tp, price or expiration",
        ));
    }
    let key = idempotency_key(&args.idempotency_key)?;
    let echo = json!({
        "ticket": ticket,
        "sl": echo_dec(sl),
        "tp": echo_dec(tp),
        "price": echo_dec(price),
        "expiration": expiration.map(format_utc),
        "approval_confirmed": args.approval_confirmed,
        "approval_request_id": args.approval_request_id,
    });
    let how = Reconcile::Modify {
        ticket,
        sl,
        tp,
        price,
    };
    let (hash, done) = recall(server, TOOL, key.as_deref(), &echo, &how).await?;
    if let Some(done) = done {
        return Ok(done);
    }
    let (client, engine) = (&server.client, &server.policy);

    client.ensure_connected().await?;
    let position = client
        .call_opt(|t| async move { t.positions_get(&Filter::Ticket(ticket)).await })
        .await?
        .and_then(|v| v.into_iter().next());
    let order = match position {
        Some(_) => None,
        None => client
            .call_opt(|t| async move { t.orders_get(&Filter::Ticket(ticket)).await })
            .await?
            .and_then(|v| v.into_iter().next()),
    };
    let (symbol, old_sl, old_tp, volume, fallback_price) = match (&position, &order) {
        (Some(p), _) => (
            p.symbol.clone(),
            p.sl,
            p.tp,
            p.volume,
            if p.price_current > 0.0 {
                p.price_current
            } else {
                p.price_open
            },
        ),
        (None, Some(o)) => (o.symbol.clone(), o.sl, o.tp, o.volume_current, o.price_open),
        (None, None) => {
            return Err(
                ToolError::invalid_ticket(ticket, "order").with_message(format!(
                    "No open position or pending order with ticket {ticket}."
                )),
            );
        }
    };
    if position.is_some() && (price.is_some() || expiration.is_some()) {
        let field = if price.is_some() {
            "price"
        } else {
            "expiration"
        };
        return Err(ToolError::invalid_request(
            field,
            "",
            format!("ticket {ticket} is an open position; {field} applies to pending orders only"),
        ));
    }
    let info = client.prepare_symbol(&symbol).await?;
    let round = |v: Option<Decimal>| v.map(|p| round_price(p, info.digits));
    let (sl, tp, price) = (round(sl), round(tp), round(price));
    let tick = tick(client, &symbol).await?;
    let current = tick.as_ref().map_or(dec(fallback_price), |t| dec(t.bid));
    let (old_sl, old_tp) = (dec(old_sl), dec(old_tp));
    let notional = notional_of(&info, dec(volume), current);
    let config = server.config.current();
    let gate = config.policy.auto_approve_notional;
    let required = gate > Decimal::ZERO
        && position.is_some()
        && (widens(sl, old_sl, current) || widens(tp, old_tp, current));

    let preview = if required && !args.approval_confirmed {
        let Some(t) = &tick else {
            return Err(no_quote_for_preview(&symbol));
        };
        let account = client.logged_in_account().await?;
        let show = |v: Option<Decimal>| v.map_or_else(|| "None".to_owned(), |d| d.to_string());
        Some(PreviewParts {
            summary: format!(
                "MODIFY ticket {ticket} {symbol} SL={} TP={} (~{} {}) on account {} ({})",
                show(sl),
                show(tp),
                render_money(notional),
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

    let keep = |new: Option<Decimal>, old: Decimal| decimal_to_f64(new.unwrap_or(old));
    let request = match (&position, &order) {
        (Some(_), _) => TradeRequest {
            action: TRADE_ACTION_SLTP,
            symbol: Some(symbol.clone()),
            position: Some(ticket),
            sl: Some(keep(sl, old_sl)),
            tp: Some(keep(tp, old_tp)),
            ..TradeRequest::default()
        },
        (None, Some(o)) => {
            // Unspecified fields keep their current values (upstream cleared them).
            let (type_time, expires) = match expiration {
                Some(t) => (
                    ORDER_TIME_SPECIFIED,
                    utc_to_broker(t.timestamp(), client.offset_minutes()),
                ),
                None => (o.type_time, o.time_expiration),
            };
            TradeRequest {
                action: TRADE_ACTION_MODIFY,
                order: Some(ticket),
                symbol: Some(symbol.clone()),
                price: Some(keep(price, dec(o.price_open))),
                stoplimit: (o.price_stoplimit != 0.0).then_some(o.price_stoplimit),
                sl: Some(keep(sl, old_sl)),
                tp: Some(keep(tp, old_tp)),
                type_time: Some(type_time),
                expiration: (type_time == ORDER_TIME_SPECIFIED
                    || type_time == ORDER_TIME_SPECIFIED_DAY)
                    .then_some(expires),
                ..TradeRequest::default()
            }
        }
        (None, None) => unreachable!("checked above"),
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
            current,
            point: dec(info.point),
            priced: false,
        },
        exposure: Exposure::Modify,
        preview,
        request,
        fallback_volume: crate::model::num::render_f64(volume),
        config,
    };
    engine.run(client, plan, &how).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_follows_upstream() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let cur = d("1.0823");
        let cases = [
            (None, "1.07", false),
            (Some("0"), "1.07", true),  // removal
            (Some("1.06"), "0", false), // adding a stop
            (Some("1.06"), "1.07", true),
            (Some("1.075"), "1.07", false),
            (Some("1.10"), "1.09", true), // take profit further away
            (Some("1.085"), "1.09", false),
        ];
        for (new, old, expected) in cases {
            assert_eq!(
                widens(new.map(d), d(old), cur),
                expected,
                "{new:?} from {old}"
            );
        }
    }
}
