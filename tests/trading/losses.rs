//! Loss limits: max_realised_loss_per_close and max_daily_loss, each at, just below and just
//! above its threshold.
//!
//! A close realises `k × v` dollars of loss for `v` lots of a EURUSD buy position that is
//! `k` points under water (one point is one dollar per lot). Reading the position's
//! floating profit gives `k`; a close volume on the 0.01 grid then puts the loss exactly at,
//! just under or just over the limit. The sim's quote moves once a second, so the quote can
//! change between the read and the close: such a round proves nothing and is repeated, and
//! only rounds whose outcome shows the loss that was aimed at count.

use chrono::{Duration, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::common::trading::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rel {
    Above,
    At,
    Below,
}

/// The close volume on the 0.01 grid whose loss `k × v` is the smallest above `room`
/// (Above), exactly `room` (At) or the largest below it (Below).
fn volume_for(rel: Rel, room: Decimal, k: Decimal) -> Option<Decimal> {
    let step = dd("0.01");
    let exact = room / k;
    let hundred = dd("100");
    let v = match rel {
        Rel::At => (exact.round_dp(2) == exact).then_some(exact)?,
        Rel::Above => (exact * hundred).floor() / hundred + step,
        Rel::Below => (exact * hundred).ceil() / hundred - step,
    };
    (v >= step).then_some(v)
}

/// The broker day's start in UTC.
async fn broker_midnight(c: &Client) -> chrono::DateTime<Utc> {
    let info = crate::common::ok(&tcall(c, "get_terminal_info", json!({})).await);
    let offset = Duration::minutes(info["broker_tz_offset_minutes"].as_i64().unwrap());
    let broker_now = Utc::now() + offset;
    broker_now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        - offset
}

/// Waits out the last minutes of a broker day, so a test's deals all fall on one day.
async fn not_near_broker_midnight(c: &Client) {
    let next = broker_midnight(c).await + Duration::days(1);
    let left = next - Utc::now();
    if left < Duration::minutes(4) {
        tokio::time::sleep((left + Duration::seconds(5)).to_std().unwrap()).await;
    }
}

/// Net realised loss of today's trade deals (positive = money lost).
async fn today_loss(c: &Client) -> Decimal {
    let since = broker_midnight(c).await;
    let pnl: Decimal = deals(c)
        .await
        .iter()
        .filter(|x| x["type"] == json!("buy") || x["type"] == json!("sell"))
        .filter(|x| crate::common::utc(&x["time"]) >= since)
        .map(|x| d(&x["profit"]) + d(&x["swap"]) + d(&x["commission"]))
        .sum();
    -pnl
}

/// Round trips of 1 lot until the day shows a net realised loss; returns it.
async fn realise_a_loss(c: &Client) -> Decimal {
    for _ in 0..10 {
        let r = open(c, "EURUSD", "buy", "1.00").await;
        filled(&tcall(c, "close_position", json!({ "ticket": ticket(&r) })).await);
        let loss = today_loss(c).await;
        if loss > Decimal::ZERO {
            return loss;
        }
    }
    panic!("ten round trips never lost the spread");
}

/// A EURUSD buy position under water by a whole number of dollars per lot:
/// (ticket, volume, k).
fn losing(ps: &[Value]) -> Option<(i64, Decimal, Decimal)> {
    ps.iter()
        .filter(|p| p["symbol"] == json!("EURUSD") && p["type"] == json!("buy"))
        .find_map(|p| {
            let volume = d(&p["volume"]);
            let k = -d(&p["profit"]) / volume;
            (k > Decimal::ZERO && k.fract().is_zero())
                .then(|| (p["ticket"].as_i64().unwrap(), volume, k))
        })
}

/// Closes slices of losing positions until each relation in `wanted` was seen exactly,
/// in order. Every refusal must be `limit` with the loss strictly above the room left;
/// a close aimed above the room that executes at the aimed loss is a failure.
async fn close_around(c: &Client, limit: &str, cap: Decimal, daily: bool, wanted: &[Rel]) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut next = 0;
    while next < wanted.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{limit}: could not observe {:?} exactly within 120 s",
            wanted[next]
        );
        let day = if daily {
            today_loss(c).await
        } else {
            Decimal::ZERO
        };
        let room = cap - day;
        let ps = positions(c).await;
        let rel = wanted[next];
        let Some((t, v, k)) = losing(&ps).and_then(|(t, vol, k)| {
            volume_for(rel, room, k)
                .filter(|v| *v <= vol)
                .map(|v| (t, v, k))
        }) else {
            if ps.len() < 3 {
                open(c, "EURUSD", "buy", "2.00").await;
            } else {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
            continue;
        };
        let loss = k * v;
        let r = tcall(
            c,
            "close_position",
            json!({ "ticket": t, "volume": v.normalize().to_string() }),
        )
        .await;
        if r.is_error == Some(true) {
            let e = over_limit(&r, limit);
            assert_eq!(d(&e["details"]["configured"]), cap, "{e}");
            let attempted = d(&e["details"]["attempted"]);
            assert!(
                attempted > cap,
                "refused a close that is not above the limit ({rel:?}, loss {loss}, day {day}): {e}"
            );
            if rel == Rel::Above && attempted == day + loss {
                next += 1;
            }
        } else {
            let res = filled(&r);
            let closing = ticket(&res);
            let deal = deals(c)
                .await
                .into_iter()
                .find(|x| x["order"] == json!(closing))
                .expect("the close's deal");
            if -d(&deal["profit"]) == loss {
                assert_ne!(
                    rel,
                    Rel::Above,
                    "{limit}: a close realising {loss} was allowed with {room} left of {cap}"
                );
                next += 1;
            }
        }
    }
}

#[tokio::test]
async fn max_realised_loss_per_close_refuses_only_losses_above_it() {
    let cap = dd("5.04");
    let sb = trading_sandbox(&format!(
        "[policy]\nmax_realised_loss_per_close = \"{cap}\"\n"
    ));
    let c = sb.serve().await;
    close_around(
        &c,
        "max_realised_loss_per_close",
        cap,
        false,
        &[Rel::Above, Rel::At, Rel::Below],
    )
    .await;

    // A refused close changes nothing.
    let ps = positions(&c).await;
    if let Some((t, vol, k)) = losing(&ps)
        && k * vol > cap * dd("2")
    {
        let before = book(&c).await;
        let r = tcall(&c, "close_position", json!({ "ticket": t })).await;
        if r.is_error == Some(true) {
            over_limit(&r, "max_realised_loss_per_close");
            assert_eq!(book(&c).await, before);
        }
    }
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn max_daily_loss_counts_todays_realised_losses() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    not_near_broker_midnight(&c).await;
    let day = realise_a_loss(&c).await;
    let price = far_below(&c, "EURUSD", 5).await;
    c.cancel().await.unwrap();
    let limit = json!({ "symbol": "EURUSD", "side": "buy", "type": "limit", "volume": "0.01",
                        "price": px(price, 5) });

    // Placing is refused once the day's loss reaches the cap.
    let cent = dd("0.01");
    for (cap, allowed) in [(day - cent, false), (day, false), (day + cent, true)] {
        set_policy(&sb, &format!("[policy]\nmax_daily_loss = \"{cap}\"\n"));
        let c = sb.serve().await;
        let before = book(&c).await;
        let r = tcall(&c, "place_order", limit.clone()).await;
        if allowed {
            filled(&r);
        } else {
            let e = over_limit(&r, "max_daily_loss");
            assert_eq!(d(&e["details"]["configured"]), cap);
            assert_eq!(d(&e["details"]["attempted"]), day, "{e}");
            assert_eq!(book(&c).await, before);
        }
        c.cancel().await.unwrap();
    }

    // A close is refused when the day's loss plus its own would pass the cap.
    let cap = day + dd("5.04");
    set_policy(&sb, &format!("[policy]\nmax_daily_loss = \"{cap}\"\n"));
    let c = sb.serve().await;
    close_around(&c, "max_daily_loss", cap, true, &[Rel::Above, Rel::At]).await;
    // The day's loss now equals the cap: placing is refused.
    assert_eq!(today_loss(&c).await, cap);
    let e = over_limit(&tcall(&c, "place_order", limit).await, "max_daily_loss");
    assert_eq!(d(&e["details"]["attempted"]), cap);
    c.cancel().await.unwrap();
}

#[test]
fn close_volumes_land_where_they_aim() {
    let room = dd("5.04");
    assert_eq!(volume_for(Rel::At, room, dd("6")), Some(dd("0.84")));
    assert_eq!(volume_for(Rel::At, room, dd("10")), None);
    assert_eq!(volume_for(Rel::Above, room, dd("6")), Some(dd("0.85")));
    assert_eq!(volume_for(Rel::Below, room, dd("6")), Some(dd("0.83")));
    assert_eq!(volume_for(Rel::Above, room, dd("10")), Some(dd("0.51")));
    assert_eq!(volume_for(Rel::Below, room, dd("10")), Some(dd("0.50")));
    assert_eq!(volume_for(Rel::Below, dd("0.05"), dd("10")), None);
}
