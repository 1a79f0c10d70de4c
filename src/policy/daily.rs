//! Realised profit and loss of the broker's current trading day (DESIGN §3.4).
//!
//! Upstream's `max_daily_loss` compared against a running P&L nobody computed, so it never
//! fired. Here the day's figure is read from the broker's own deal history each time the
//! limit is armed: nothing to persist, nothing to drift after a restart, and deals made from
//! another terminal or by hand count too.

use std::sync::Arc;

use chrono::Utc;
use rust_decimal::Decimal;

use crate::errors::ToolError;
use crate::model::num::dec_from_f64;
use crate::model::time::utc_to_broker;
use crate::mt5::Mt5Client;
use crate::terminal::Deal;
use crate::terminal::consts::{DEAL_TYPE_BUY, DEAL_TYPE_SELL};

const DAY: i64 = 86_400;

/// Start of the broker's day containing `broker_now` (broker epoch seconds).
pub fn broker_day_start(broker_now: i64) -> i64 {
    broker_now.div_euclid(DAY) * DAY
}

/// Money realised by trading deals: profit, swap, commission and fee. Balance, credit and
/// other non-trading deals are deposits and adjustments, not trading results.
pub fn realised(deals: &[Deal]) -> Decimal {
    deals
        .iter()
        .filter(|d| d.kind == DEAL_TYPE_BUY || d.kind == DEAL_TYPE_SELL)
        .map(|d| {
            dec_from_f64(d.profit)
                + dec_from_f64(d.swap)
                + dec_from_f64(d.commission)
                + dec_from_f64(d.fee)
        })
        .sum()
}

/// The account's realised P&L since the broker's midnight.
pub async fn realised_today(client: &Arc<Mt5Client>) -> Result<Decimal, ToolError> {
    let broker_now = utc_to_broker(Utc::now().timestamp(), client.offset_minutes());
    let from = broker_day_start(broker_now);
    // A minute of slack for a deal stamped by a broker clock slightly ahead of ours.
    let to = broker_now + 60;
    let deals = client
        .call_opt(|t| async move { t.history_deals_get(from, to, None).await })
        .await?
        .unwrap_or_default();
    Ok(realised(&deals))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deal(kind: i64, profit: f64, swap: f64, commission: f64) -> Deal {
        serde_json::from_value(serde_json::json!({
            "ticket": 1, "order": 1, "time": 0, "time_msc": 0, "type": kind, "entry": 1,
            "magic": 0, "position_id": 1, "reason": 0, "volume": 0.1, "price": 1.0,
            "commission": commission, "swap": swap, "profit": profit, "fee": 0.0,
            "symbol": "EURUSD", "comment": ""
        }))
        .expect("deal json")
    }

    #[test]
    fn only_trading_deals_count() {
        let deals = [
            deal(2, 10_000.0, 0.0, 0.0), // balance deposit
            deal(0, -12.5, -0.3, -0.7),
            deal(1, 5.25, 0.0, 0.0),
        ];
        assert_eq!(realised(&deals), Decimal::new(-825, 2));
        assert_eq!(realised(&[]), Decimal::ZERO);
    }

    #[test]
    fn broker_days_start_at_broker_midnight() {
        assert_eq!(broker_day_start(86_400 * 3 + 5), 86_400 * 3);
        assert_eq!(broker_day_start(86_400 * 3), 86_400 * 3);
        assert_eq!(broker_day_start(-1), -86_400);
    }
}
