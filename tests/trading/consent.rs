//! The consent gate: a preview first (no side effect, never cached), then a confirmed retry
//! carrying its request_id; everything else is INVALID_APPROVAL.

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::common::Sandbox;
use crate::common::trading::*;

/// A sandbox whose consent gate sits at the notional of 0.045 lot of EURUSD now, so that
/// 0.05 lot and more need approval and 0.04 lot and less do not. `policy` is appended to
/// the `[policy]` table.
async fn gated(policy: &str) -> (Sandbox, Client, Decimal) {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let (bid, _) = quote(&c, "EURUSD").await;
    c.cancel().await.unwrap();
    let threshold = (bid * dd("4500")).round_dp(0);
    set_policy(
        &sb,
        &format!("[policy]\nauto_approve_notional = \"{threshold}\"\n{policy}"),
    );
    let c = sb.serve().await;
    (sb, c, threshold)
}

fn market(volume: &str) -> Value {
    json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": volume, "deviation": 100 })
}

fn confirmed(mut args: Value, id: &Value) -> Value {
    args["approval_confirmed"] = json!(true);
    args["approval_request_id"] = id.clone();
    args
}

/// Notional in USD of `volume` EURUSD at `price`: volume × price / tick_size × tick_value,
/// written with two decimals.
fn eur_notional(volume: &str, price: Decimal) -> String {
    let v = dd(volume) * price / dd("0.00001") * dd("1");
    format!("{:.2}", v.round_dp(2))
}

#[tokio::test]
async fn a_preview_has_no_side_effect_and_its_confirmed_retry_executes_once() {
    let (sb, c, _) = gated("").await;
    let login = account(&c).await["login"].as_i64().unwrap();
    let before = book(&c).await;
    let mut args = market("0.10");
    args["idempotency_key"] = json!("consent-flow-1");

    let started = chrono::Utc::now();
    let p = preview(&tcall(&c, "place_order", args.clone()).await);
    assert_eq!(p["action"], json!("place_order"));
    assert_eq!(p["symbol"], json!("EURUSD"));
    let expires = crate::common::utc(&p["expires_at"]);
    let ttl = expires - started;
    assert!(
        ttl > chrono::Duration::seconds(280) && ttl < chrono::Duration::seconds(320),
        "default approval TTL is 300 s: {ttl}"
    );
    let q = &p["reference_quote"];
    assert_eq!(q["symbol"], json!("EURUSD"));
    let ask = d(&q["ask"]);
    assert!(d(&q["bid"]) < ask);
    let notional = eur_notional("0.10", ask);
    assert_eq!(p["notional"], json!(notional), "money in USD at the ask");
    assert_eq!(
        p["summary"],
        json!(format!(
            "BUY 0.10 EURUSD @ market (~{notional} USD) on account {login} (demo)"
        ))
    );
    let margin = crate::common::ok(
        &tcall(
            &c,
            "calc_margin",
            json!({ "symbol": "EURUSD", "side": "buy", "volume": "0.10", "price": q["ask"] }),
        )
        .await,
    );
    let est = d(&p["estimated_margin"]);
    assert_eq!(est.scale(), 2, "two decimals: {est}");
    assert!(
        (est - d(&margin["margin"])).abs() <= dd("0.01"),
        "{est} vs {margin}"
    );
    assert_eq!(
        p["request_echo"],
        json!({
            "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.10",
            "price": null, "stop_limit_price": null, "sl": null, "tp": null, "deviation": 100,
            "comment": null, "approval_confirmed": false, "approval_request_id": null
        })
    );
    assert_eq!(book(&c).await, before, "a preview changes nothing");

    // Previews are never cached under the idempotency key: asking again previews again.
    let p2 = preview(&tcall(&c, "place_order", args.clone()).await);
    assert_ne!(p2["request_id"], p["request_id"]);

    let r = filled(&tcall(&c, "place_order", confirmed(args.clone(), &p["request_id"])).await);
    assert_eq!(r["request_echo"]["approval_confirmed"], json!(true));
    assert_eq!(r["request_echo"]["approval_request_id"], p["request_id"]);
    let all = positions(&c).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["ticket"], r["ticket"]);

    // The same key again replays (idempotency comes before consent), even with the spent id.
    let again =
        order_result(&tcall(&c, "place_order", confirmed(args.clone(), &p["request_id"])).await);
    assert_eq!(again["replayed"], json!(true));
    assert_eq!(sans_replayed(&again), sans_replayed(&r));

    // Without the key, the spent id is refused: single use.
    args.as_object_mut().unwrap().remove("idempotency_key");
    let e = bad_approval(&tcall(&c, "place_order", confirmed(args, &p["request_id"])).await);
    assert_eq!(
        e["details"]["reason"],
        json!("unknown or expired approval_request_id")
    );
    assert_eq!(positions(&c).await.len(), 1);
    c.cancel().await.unwrap();
    drop(sb);
}

#[tokio::test]
async fn a_changed_missing_unknown_or_reused_approval_is_refused_and_spent() {
    let (_sb, c, _) = gated("").await;
    let before = book(&c).await;
    let p = preview(&tcall(&c, "place_order", market("0.10")).await);
    let id = &p["request_id"];

    let mut changed = confirmed(market("0.10"), id);
    changed["volume"] = json!("0.2");
    let e = bad_approval(&tcall(&c, "place_order", changed).await);
    assert_eq!(
        e["details"]["reason"],
        json!("volume mismatch: preview=0.10 retry=0.2")
    );
    assert_eq!(
        e["message"],
        json!("Approval rejected: volume mismatch: preview=0.10 retry=0.2")
    );
    assert_eq!(book(&c).await, before);

    // The failed validation spent the id: the honest retry is refused too.
    let e = bad_approval(&tcall(&c, "place_order", confirmed(market("0.10"), id)).await);
    assert_eq!(
        e["details"]["reason"],
        json!("unknown or expired approval_request_id")
    );

    // Side and symbol are compared as well.
    let p = preview(&tcall(&c, "place_order", market("0.10")).await);
    let mut sell = confirmed(market("0.10"), &p["request_id"]);
    sell["side"] = json!("sell");
    let e = bad_approval(&tcall(&c, "place_order", sell).await);
    assert_eq!(
        e["details"]["reason"],
        json!("side mismatch: preview=buy retry=sell")
    );
    let p = preview(&tcall(&c, "place_order", market("0.10")).await);
    let mut gbp = confirmed(market("0.10"), &p["request_id"]);
    gbp["symbol"] = json!("GBPUSD");
    let e = bad_approval(&tcall(&c, "place_order", gbp).await);
    assert_eq!(
        e["details"]["reason"],
        json!("symbol mismatch: preview=EURUSD retry=GBPUSD")
    );

    // Confirmed without an id.
    let mut no_id = market("0.10");
    no_id["approval_confirmed"] = json!(true);
    let e = bad_approval(&tcall(&c, "place_order", no_id).await);
    assert_eq!(e["details"]["reason"], json!("missing approval_request_id"));
    assert_eq!(
        e["message"],
        json!("approval_confirmed=true requires approval_request_id")
    );

    // An id this server never issued.
    let e = bad_approval(
        &tcall(
            &c,
            "place_order",
            confirmed(market("0.10"), &json!("01ARZ3NDEKTSV4RRFFQ69G5FAV")),
        )
        .await,
    );
    assert_eq!(
        e["details"]["reason"],
        json!("unknown or expired approval_request_id")
    );
    assert_eq!(book(&c).await, before, "nothing was traded");

    // Below the threshold no approval is needed: the approval fields are ignored.
    let r = filled(
        &tcall(
            &c,
            "place_order",
            confirmed(market("0.01"), &json!("01ARZ3NDEKTSV4RRFFQ69G5FAV")),
        )
        .await,
    );
    assert_eq!(positions(&c).await.len(), 1);
    assert_eq!(positions(&c).await[0]["ticket"], r["ticket"]);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn an_expired_approval_is_refused_and_nothing_is_sent() {
    let (_sb, c, _) = gated("approval_ttl_seconds = 1\n").await;
    let before = book(&c).await;
    let started = chrono::Utc::now();
    let p = preview(&tcall(&c, "place_order", market("0.10")).await);
    let ttl = crate::common::utc(&p["expires_at"]) - started;
    assert!(
        ttl <= chrono::Duration::seconds(3),
        "TTL follows the config: {ttl}"
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let e = bad_approval(
        &tcall(
            &c,
            "place_order",
            confirmed(market("0.10"), &p["request_id"]),
        )
        .await,
    );
    let reason = e["details"]["reason"].as_str().unwrap();
    assert!(
        reason == "unknown or expired approval_request_id"
            || reason == "approval expired before retry arrived",
        "{reason}"
    );
    assert_eq!(book(&c).await, before);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn the_gate_opens_at_its_threshold_exactly() {
    let (_sb, c, threshold) = gated("").await;
    // A buy limit of 0.10 lot whose notional is exactly the threshold: price = T / 10000.
    let at = threshold / dd("10000");
    assert_eq!(
        at.round_dp(5),
        at,
        "the threshold maps to a price on the tick grid"
    );
    let (bid, _) = quote(&c, "EURUSD").await;
    assert!(
        at < bid * dd("0.5"),
        "0.10 lot at half the bid is a limit far below"
    );
    let tick = point(5);
    let limit = |price: Decimal| {
        json!({ "symbol": "EURUSD", "side": "buy", "type": "limit", "volume": "0.10",
                "price": px(price, 5) })
    };
    let below = filled(&tcall(&c, "place_order", limit(at - tick)).await);
    assert!(
        order(&c, ticket(&below)).await.is_some(),
        "just below: executes"
    );
    let before = book(&c).await;
    let p = preview(&tcall(&c, "place_order", limit(at)).await);
    assert_eq!(p["notional"], json!(format!("{:.2}", threshold)));
    preview(&tcall(&c, "place_order", limit(at + tick)).await);
    assert_eq!(book(&c).await, before, "at and above: previews only");
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn a_pending_order_is_confirmed_against_its_preview_price_not_the_market() {
    let (_sb, c, _) = gated("").await;
    let price = far_below(&c, "EURUSD", 5).await;
    let args = json!({ "symbol": "EURUSD", "side": "buy", "type": "limit", "volume": "0.10",
                       "price": px(price, 5) });
    let p = preview(&tcall(&c, "place_order", args.clone()).await);
    assert_eq!(p["notional"], json!(eur_notional("0.10", price)));
    // The human approves the order's price (DESIGN 6.4), not just its type.
    let summary = p["summary"].as_str().unwrap();
    assert!(summary.starts_with("BUY 0.10 EURUSD @ "), "{summary}");
    assert!(summary.contains(&px(price, 5)), "{summary}");
    // Stops are part of what the human approves.
    let (sl, tp) = (
        px(price - point(5) * dd("200"), 5),
        px(price + point(5) * dd("300"), 5),
    );
    let mut with_stops = args.clone();
    with_stops["sl"] = json!(sl);
    with_stops["tp"] = json!(tp);
    let ps = preview(&tcall(&c, "place_order", with_stops).await);
    let summary = ps["summary"].as_str().unwrap();
    assert!(summary.contains(&format!(" SL={sl} TP={tp}")), "{summary}");
    // 5 % away from the market: upstream's drift check would refuse this forever.
    let r = filled(&tcall(&c, "place_order", confirmed(args.clone(), &p["request_id"])).await);
    let o = order(&c, ticket(&r)).await.expect("the order rests");
    assert_eq!(n(&o["price"]), n(&json!(px(price, 5))));

    // A retry at another price than the one previewed is refused.
    let before = book(&c).await;
    let p = preview(&tcall(&c, "place_order", args.clone()).await);
    let mut moved = confirmed(args, &p["request_id"]);
    moved["price"] = json!(px(price * dd("0.9"), 5));
    let e = bad_approval(&tcall(&c, "place_order", moved).await);
    assert!(
        e["details"]["reason"].as_str().unwrap().contains("price"),
        "{e}"
    );
    assert_eq!(book(&c).await, before);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn modify_asks_only_when_a_position_stop_widens_or_is_removed() {
    let (_sb, c, _) = gated("").await;
    let pt = point(5);
    let (bid, ask) = quote(&c, "EURUSD").await;
    let r = filled(
        &tcall(
            &c,
            "place_order",
            json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01",
                    "sl": px(bid - pt * dd("400"), 5), "tp": px(ask + pt * dd("400"), 5),
                    "deviation": 100 }),
        )
        .await,
    );
    let t = ticket(&r);

    // Tightening the stop executes at once.
    let (bid, _) = quote(&c, "EURUSD").await;
    let tight = px(bid - pt * dd("200"), 5);
    filled(&tcall(&c, "modify_order", json!({ "ticket": t, "sl": tight })).await);
    assert_eq!(n(&position(&c, t).await.unwrap()["sl"]), n(&json!(tight)));

    // Widening it asks first, and the preview changes nothing.
    let wide = px(bid - pt * dd("800"), 5);
    let args = json!({ "ticket": t, "sl": wide });
    let before = book(&c).await;
    let p = preview(&tcall(&c, "modify_order", args.clone()).await);
    assert_eq!(p["action"], json!("modify_order"));
    assert_eq!(p["symbol"], json!("EURUSD"));
    let summary = p["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!("MODIFY ticket {t} EURUSD SL={wide} TP=None (~")),
        "{summary}"
    );
    assert_eq!(book(&c).await, before);
    filled(&tcall(&c, "modify_order", confirmed(args, &p["request_id"])).await);
    assert_eq!(n(&position(&c, t).await.unwrap()["sl"]), n(&json!(wide)));

    // Removing the target is a widening too.
    let p = preview(&tcall(&c, "modify_order", json!({ "ticket": t, "tp": "0" })).await);
    filled(
        &tcall(
            &c,
            "modify_order",
            confirmed(json!({ "ticket": t, "tp": "0" }), &p["request_id"]),
        )
        .await,
    );
    assert_eq!(position(&c, t).await.unwrap()["tp"], Value::Null);

    // Adding a target where none was counts as tightening.
    let (_, ask) = quote(&c, "EURUSD").await;
    let tp = px(ask + pt * dd("900"), 5);
    filled(&tcall(&c, "modify_order", json!({ "ticket": t, "tp": tp })).await);
    assert_eq!(n(&position(&c, t).await.unwrap()["tp"]), n(&json!(tp)));

    // Pending orders are never gated, even when their stop widens.
    let price = far_below(&c, "EURUSD", 5).await;
    let o = filled(
        &tcall(
            &c,
            "place_order",
            json!({ "symbol": "EURUSD", "side": "buy", "type": "limit", "volume": "0.01",
                    "price": px(price, 5), "sl": px(price - pt * dd("100"), 5) }),
        )
        .await,
    );
    let wider = px(price - pt * dd("900"), 5);
    filled(
        &tcall(
            &c,
            "modify_order",
            json!({ "ticket": ticket(&o), "sl": wider }),
        )
        .await,
    );
    assert_eq!(
        n(&order(&c, ticket(&o)).await.unwrap()["sl"]),
        n(&json!(wider))
    );
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn closing_is_gated_by_notional_and_cancelling_never_is() {
    let (_sb, c, threshold) = gated("").await;
    // Opening 0.06 lot needs approval.
    let p = preview(&tcall(&c, "place_order", market("0.06")).await);
    let r = filled(
        &tcall(
            &c,
            "place_order",
            confirmed(market("0.06"), &p["request_id"]),
        )
        .await,
    );
    let t = ticket(&r);

    // A small partial close is under the threshold: it executes.
    filled(
        &tcall(
            &c,
            "close_position",
            json!({ "ticket": t, "volume": "0.01" }),
        )
        .await,
    );
    assert_eq!(d(&position(&c, t).await.unwrap()["volume"]), dd("0.05"));

    // Closing the remaining 0.05 lot is over it: a preview priced at the bid.
    let before = book(&c).await;
    let p = preview(&tcall(&c, "close_position", json!({ "ticket": t })).await);
    assert_eq!(p["action"], json!("close_position"));
    assert_eq!(p["symbol"], json!("EURUSD"));
    let bid = d(&p["reference_quote"]["bid"]);
    assert_eq!(p["notional"], json!(eur_notional("0.05", bid)));
    assert!(d(&p["notional"]) >= threshold);
    let summary = p["summary"].as_str().unwrap();
    assert!(summary.starts_with("CLOSE 0.05 EURUSD @ ~"), "{summary}");
    assert_eq!(book(&c).await, before);
    filled(
        &tcall(
            &c,
            "close_position",
            confirmed(json!({ "ticket": t }), &p["request_id"]),
        )
        .await,
    );
    assert!(position(&c, t).await.is_none());

    // A pending order big enough to need approval is cancelled without one.
    let price = px(far_below(&c, "EURUSD", 5).await, 5);
    let args = json!({ "symbol": "EURUSD", "side": "buy", "type": "limit", "volume": "0.10",
                       "price": price });
    let p = preview(&tcall(&c, "place_order", args.clone()).await);
    let o = filled(&tcall(&c, "place_order", confirmed(args, &p["request_id"])).await);
    filled(&tcall(&c, "cancel_order", json!({ "ticket": ticket(&o) })).await);
    assert!(orders(&c).await.is_empty());
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn notional_is_money_in_the_account_currency_for_every_kind_of_symbol() {
    let sb = trading_sandbox("[policy]\nauto_approve_notional = \"1\"\n");
    let c = sb.serve().await;
    // (symbol, side, volume): the notional of a buy is volume × contract size × ask,
    // converted to USD; for USDJPY the contract is 100,000 USD.
    for (sym, side, volume) in [
        ("EURUSD", "buy", "0.10"),
        ("USDJPY", "buy", "0.10"),
        ("XAUUSD", "sell", "0.01"),
        ("US500", "buy", "0.1"),
        ("BTCUSD", "sell", "0.01"),
    ] {
        let spec = symbol(&c, sym).await;
        let p = preview(
            &tcall(
                &c,
                "place_order",
                json!({ "symbol": sym, "side": side, "type": "market", "volume": volume }),
            )
            .await,
        );
        let q = &p["reference_quote"];
        let price = d(if side == "buy" { &q["ask"] } else { &q["bid"] });
        let contract = d(&spec["contract_size"]);
        let expected = if sym == "USDJPY" {
            dd(volume) * contract
        } else {
            dd(volume) * contract * price
        };
        let notional = d(&p["notional"]);
        assert_eq!(notional.scale(), 2, "{sym}: two decimals");
        assert!(
            (notional - expected).abs() <= expected * dd("0.001"),
            "{sym}: notional {notional}, expected ~{expected}"
        );
        assert!(
            p["summary"]
                .as_str()
                .unwrap()
                .contains(&format!("(~{} USD)", p["notional"].as_str().unwrap())),
            "{p}"
        );
    }
    assert!(positions(&c).await.is_empty());
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn the_approval_store_is_bounded_and_evicts_the_oldest() {
    let sb = trading_sandbox("[policy]\nauto_approve_notional = \"1\"\n");
    let c = sb.serve().await;
    let args = json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01",
                       "deviation": 200 });
    let oldest = preview(&tcall(&c, "place_order", args.clone()).await);
    let second = preview(&tcall(&c, "place_order", args.clone()).await);
    let mut newest = second.clone();
    for _ in 0..999 {
        newest = preview(&tcall(&c, "place_order", args.clone()).await);
    }
    // 1001 previews for a store of 1000: the first is gone, the second and the last remain.
    let e = bad_approval(
        &tcall(
            &c,
            "place_order",
            confirmed(args.clone(), &oldest["request_id"]),
        )
        .await,
    );
    assert_eq!(
        e["details"]["reason"],
        json!("unknown or expired approval_request_id")
    );
    filled(
        &tcall(
            &c,
            "place_order",
            confirmed(args.clone(), &second["request_id"]),
        )
        .await,
    );
    filled(&tcall(&c, "place_order", confirmed(args, &newest["request_id"])).await);
    assert_eq!(positions(&c).await.len(), 2);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn the_approval_ttl_reloads_live() {
    let (sb, c, threshold) = gated("").await;
    set_policy(
        &sb,
        &format!("[policy]\nauto_approve_notional = \"{threshold}\"\napproval_ttl_seconds = 7\n"),
    );
    let p = eventually(15, "the new TTL", || async {
        let started = chrono::Utc::now();
        let p = preview(&tcall(&c, "place_order", market("0.10")).await);
        let ttl = crate::common::utc(&p["expires_at"]) - started;
        (ttl < chrono::Duration::seconds(60)).then_some((p, ttl))
    })
    .await;
    assert!(
        p.1 > chrono::Duration::seconds(5) && p.1 <= chrono::Duration::seconds(8),
        "{:?}",
        p.1
    );
    c.cancel().await.unwrap();
}
