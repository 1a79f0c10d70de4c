//! Finding out what happened to a send whose answer was lost (DESIGN §3.6).
//!
//! A key claimed but never completed means a process died mid-send, or the terminal never
//! answered. Sending again could fill twice, so instead we ask the broker: every order we
//! send carries a tag derived from its key in MetaTrader's `magic` field, which the broker
//! copies onto the resulting orders, positions and deals. Stop-loss changes and cancels leave
//! no tagged record, so for those the current state of the ticket is the evidence.

use std::sync::Arc;

use chrono::Utc;
use rust_decimal::Decimal;

use crate::errors::ToolError;
use crate::model::num::{dec_from_f64, render_f64};
use crate::model::time::utc_to_broker;
use crate::mt5::Mt5Client;
use crate::terminal::Filter;
use crate::terminal::consts::{DEAL_ENTRY_IN, DEAL_ENTRY_OUT};

/// How far before the claim a tagged deal may be stamped (clock differences).
const SLACK_SECS: i64 = 300;

/// What the tool was doing, for the search.
#[derive(Debug, Clone)]
pub enum Reconcile {
    Place {
        symbol: String,
    },
    Close {
        ticket: i64,
    },
    Modify {
        ticket: i64,
        sl: Option<Decimal>,
        tp: Option<Decimal>,
        price: Option<Decimal>,
    },
    Cancel {
        ticket: i64,
    },
}

/// Evidence that the lost send went through.
#[derive(Debug, Clone)]
pub struct Found {
    pub symbol: String,
    pub ticket: Option<i64>,
    pub volume: Option<f64>,
    pub price: Option<f64>,
    pub fallback_volume: String,
    /// "deal", "order", "position" or "state".
    pub source: &'static str,
}

pub async fn find(
    client: &Arc<Mt5Client>,
    how: &Reconcile,
    tag: i64,
    claimed_at: i64,
) -> Result<Option<Found>, ToolError> {
    client.ensure_connected().await?;
    let offset = client.offset_minutes();
    let from = utc_to_broker(claimed_at - SLACK_SECS, offset);
    let to = utc_to_broker(Utc::now().timestamp() + 60, offset);
    match how {
        Reconcile::Place { symbol } => {
            if tag == 0 {
                return Ok(None);
            }
            let deals = client
                .call_opt(|t| async move { t.history_deals_get(from, to, None).await })
                .await?
                .unwrap_or_default();
            if let Some(d) = deals
                .iter()
                .find(|d| d.magic == tag && d.symbol == *symbol && d.entry == DEAL_ENTRY_IN)
            {
                return Ok(Some(found(
                    symbol,
                    Some(d.order),
                    d.volume,
                    Some(d.price),
                    "deal",
                )));
            }
            let sym = symbol.clone();
            let orders = client
                .call_opt(|t| {
                    let f = Filter::Symbol(sym.clone());
                    async move { t.orders_get(&f).await }
                })
                .await?
                .unwrap_or_default();
            if let Some(o) = orders.iter().find(|o| o.magic == tag) {
                return Ok(Some(found(
                    symbol,
                    Some(o.ticket),
                    o.volume_initial,
                    None,
                    "order",
                )));
            }
            Ok(None)
        }
        Reconcile::Close { ticket } => {
            if tag == 0 {
                return Ok(None);
            }
            let deals = client
                .call_opt(|t| async move { t.history_deals_get(from, to, None).await })
                .await?
                .unwrap_or_default();
            Ok(deals
                .iter()
                .find(|d| d.magic == tag && d.position_id == *ticket && d.entry == DEAL_ENTRY_OUT)
                .map(|d| found(&d.symbol, Some(d.order), d.volume, Some(d.price), "deal")))
        }
        Reconcile::Modify {
            ticket,
            sl,
            tp,
            price,
        } => {
            let t = *ticket;
            let positions = client
                .call_opt(|term| async move { term.positions_get(&Filter::Ticket(t)).await })
                .await?
                .unwrap_or_default();
            if let Some(p) = positions.first() {
                let point = client.prepare_symbol(&p.symbol).await?.point;
                let done =
                    matches(*sl, p.sl, point) && matches(*tp, p.tp, point) && price.is_none();
                return Ok(done.then(|| found(&p.symbol, Some(t), p.volume, None, "state")));
            }
            let orders = client
                .call_opt(|term| async move { term.orders_get(&Filter::Ticket(t)).await })
                .await?
                .unwrap_or_default();
            if let Some(o) = orders.first() {
                let point = client.prepare_symbol(&o.symbol).await?.point;
                let done = matches(*sl, o.sl, point)
                    && matches(*tp, o.tp, point)
                    && matches(*price, o.price_open, point);
                return Ok(done.then(|| found(&o.symbol, Some(t), o.volume_current, None, "state")));
            }
            Ok(None)
        }
        Reconcile::Cancel { ticket } => {
            let t = *ticket;
            let orders = client
                .call_opt(|term| async move { term.orders_get(&Filter::Ticket(t)).await })
                .await?
                .unwrap_or_default();
            // Gone from the pending list: cancelled (or filled, which a cancel retry must not
            // undo either).
            Ok(orders
                .is_empty()
                .then(|| found("", Some(t), 0.0, None, "state")))
        }
    }
}

fn found(
    symbol: &str,
    ticket: Option<i64>,
    volume: f64,
    price: Option<f64>,
    source: &'static str,
) -> Found {
    Found {
        symbol: symbol.to_owned(),
        ticket,
        volume: Some(volume),
        price,
        fallback_volume: render_f64(volume),
        source,
    }
}

/// Whether a requested level is what the terminal now shows (within half a point); an
/// unrequested level always matches.
fn matches(wanted: Option<Decimal>, actual: f64, point: f64) -> bool {
    match wanted {
        None => true,
        Some(w) => {
            let half = dec_from_f64(point.abs()) / Decimal::TWO;
            (w - dec_from_f64(actual)).abs() <= half
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_match_within_half_a_point() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert!(matches(None, 1.2, 0.00001));
        assert!(matches(Some(d("1.07500")), 1.075, 0.00001));
        assert!(matches(Some(d("1.075004")), 1.075, 0.00001));
        assert!(!matches(Some(d("1.07502")), 1.075, 0.00001));
        assert!(matches(Some(d("0")), 0.0, 0.00001));
    }
}
