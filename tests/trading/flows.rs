//! Happy paths: each tool does what it says, and the terminal shows it afterwards.

use chrono::{Duration, SubsecRound, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::common::trading::*;

const TRADING_TOOLS: [(&str, bool, &[&str], &[&str]); 4] = [
    (
        "place_order",
        false,
        &["symbol", "side", "type", "volume"],
        &[
            "symbol",
            "side",
            "type",
            "volume",
            "price",
            "stop_limit_price",
            "sl",
            "tp",
            "deviation",
            "comment",
            "idempotency_key",
            "approval_confirmed",
            "approval_request_id",
        ],
    ),
    (
        "modify_order",
        false,
        &["ticket"],
        &[
            "ticket",
            "sl",
            "tp",
            "price",
            "expiration",
            "idempotency_key",
            "approval_confirmed",
            "approval_request_id",
        ],
    ),
    (
        "close_position",
        true,
        &["ticket"],
        &[
            "ticket",
            "volume",
            "idempotency_key",
            "approval_confirmed",
            "approval_request_id",
        ],
    ),
    (
        "cancel_order",
        true,
        &["ticket"],
        &["ticket", "idempotency_key"],
    ),
];

#[tokio::test]
async fn trading_tools_are_listed_with_honest_annotations_and_upstream_parameters() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let tools = c.list_all_tools().await.unwrap();
    for (name, idempotent, required, props) in TRADING_TOOLS {
        let t = tools
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} listed"));
        let a = t.annotations.as_ref().expect("annotations");
        assert!(a.title.as_deref().is_some_and(|s| !s.is_empty()), "{name}");
        assert_eq!(a.read_only_hint, Some(false), "{name}");
        assert_eq!(a.destructive_hint, Some(true), "{name}");
        assert_eq!(a.idempotent_hint, Some(idempotent), "{name}");
        assert_eq!(a.open_world_hint, Some(true), "{name}");
        assert!(
            t.description.as_deref().is_some_and(|d| d.len() > 20),
            "{name}"
        );
        let mut req: Vec<&str> = t.input_schema["required"]
            .as_array()
            .map(|r| r.iter().map(|v| v.as_str().unwrap()).collect())
            .unwrap_or_default();
        req.sort_unstable();
        let mut want_req = required.to_vec();
        want_req.sort_unstable();
        assert_eq!(req, want_req, "{name} required");
        let mut have: Vec<&str> = t.input_schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        have.sort_unstable();
        let mut want = props.to_vec();
        want.sort_unstable();
        assert_eq!(have, want, "{name} properties");
    }
    let place = tools.iter().find(|t| t.name == "place_order").unwrap();
    assert!(
        place
            .description
            .as_deref()
            .unwrap()
            .contains("idempotency_key"),
        "place_order's description says a key makes retries safe"
    );
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn market_buy_and_sell_fill_at_the_quote_with_their_stops_and_deals() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let pt = point(5);
    let (bid, ask) = quote(&c, "EURUSD").await;
    let (sl, tp) = (px(bid - pt * dd("500"), 5), px(ask + pt * dd("500"), 5));
    let args = json!({
        "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.10",
        "sl": sl, "tp": tp, "deviation": 100, "comment": "e2e buy"
    });
    let r = filled(&tcall(&c, "place_order", args).await);
    assert_eq!(r["action"], json!("place_order"));
    assert_eq!(r["symbol"], json!("EURUSD"));
    assert_eq!(r["replayed"], json!(false));
    assert_eq!(d(&r["volume"]), dd("0.1"));
    assert_eq!(
        r["request_echo"],
        json!({
            "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.10",
            "price": null, "stop_limit_price": null, "sl": sl, "tp": tp, "deviation": 100,
            "comment": "e2e buy", "approval_confirmed": false, "approval_request_id": null
        })
    );
    let fill = d(&r["price_filled"]);
    let (_, ask_after) = quote(&c, "EURUSD").await;
    assert!(
        (fill - ask).abs() <= pt * dd("100") || (fill - ask_after).abs() <= pt * dd("100"),
        "a buy fills at the ask: fill {fill}, ask {ask}..{ask_after}"
    );
    let buy = ticket(&r);
    let p = position(&c, buy).await.expect("the position exists");
    assert_eq!(p["symbol"], json!("EURUSD"));
    assert_eq!(p["type"], json!("buy"));
    assert_eq!(d(&p["volume"]), dd("0.1"));
    assert_eq!(d(&p["price_open"]), fill);
    assert_eq!(n(&p["sl"]), n(&json!(sl)));
    assert_eq!(n(&p["tp"]), n(&json!(tp)));
    assert_eq!(p["comment"], json!("e2e buy"));
    let deal = deals(&c)
        .await
        .into_iter()
        .find(|x| x["order"] == json!(buy))
        .expect("an opening deal for the order");
    assert_eq!(deal["type"], json!("buy"));
    assert_eq!(d(&deal["price"]), fill);
    assert_eq!(d(&deal["volume"]), dd("0.1"));

    // A sell fills at the bid; its stop sits above the market and its target below.
    let (bid, ask) = quote(&c, "EURUSD").await;
    let (sl, tp) = (px(ask + pt * dd("500"), 5), px(bid - pt * dd("500"), 5));
    let r = filled(
        &tcall(
            &c,
            "place_order",
            json!({ "symbol": "EURUSD", "side": "sell", "type": "market", "volume": "0.05",
                    "sl": sl, "tp": tp, "deviation": 100 }),
        )
        .await,
    );
    let fill = d(&r["price_filled"]);
    assert!(
        (fill - bid).abs() <= pt * dd("100"),
        "fill {fill} bid {bid}"
    );
    let p = position(&c, ticket(&r)).await.expect("sell position");
    assert_eq!(p["type"], json!("sell"));
    assert_eq!(d(&p["volume"]), dd("0.05"));
    assert_eq!((n(&p["sl"]), n(&p["tp"])), (n(&json!(sl)), n(&json!(tp))));
    assert_eq!(p["comment"], Value::Null, "no comment given");
    assert_eq!(positions(&c).await.len(), 2, "a hedging account keeps both");
    let acct = account(&c).await;
    assert_eq!(acct["balance"], json!("10000.0"), "opening books no profit");
    assert!(d(&acct["margin"]) > Decimal::ZERO);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn pending_orders_of_every_type_rest_with_rounded_prices_and_stops() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let pt = point(5);
    let (bid, ask) = quote(&c, "EURUSD").await;
    let p = |x: Decimal| px(x, 5);
    let far = pt * dd("400");
    // (side, type, price, stop_limit_price, sl, tp, listed type)
    let cases = [
        (
            "buy",
            "limit",
            p(bid - far),
            None,
            Some(p(bid - far * dd("2"))),
            Some(p(bid)),
            "buy_limit",
        ),
        (
            "sell",
            "limit",
            p(ask + far),
            None,
            Some(p(ask + far * dd("2"))),
            Some(p(ask)),
            "sell_limit",
        ),
        ("buy", "stop", p(ask + far), None, None, None, "buy_stop"),
        (
            "sell",
            "stop",
            p(bid - far),
            None,
            None,
            Some(p(bid - far * dd("2"))),
            "sell_stop",
        ),
        (
            "buy",
            "stop_limit",
            p(ask + far),
            Some(p(ask + far / dd("2"))),
            Some(p(ask - far)),
            Some(p(ask + far * dd("3"))),
            "buy_stop_limit",
        ),
        (
            "sell",
            "stop_limit",
            p(bid - far),
            Some(p(bid - far / dd("2"))),
            Some(p(bid + far)),
            None,
            "sell_stop_limit",
        ),
    ];
    let before = account(&c).await["balance"].clone();
    for (side, kind, price, stop_limit, sl, tp, listed) in cases {
        let mut args = json!({ "symbol": "EURUSD", "side": side, "type": kind, "volume": "0.02",
                               "price": price, "comment": format!("e2e {listed}") });
        for (k, v) in [("stop_limit_price", &stop_limit), ("sl", &sl), ("tp", &tp)] {
            if let Some(v) = v {
                args[k] = json!(v);
            }
        }
        let r = filled(&tcall(&c, "place_order", args).await);
        assert_eq!(
            r["price_filled"],
            Value::Null,
            "{listed}: nothing filled yet"
        );
        assert_eq!(r["request_echo"]["price"], json!(price));
        assert_eq!(r["request_echo"]["stop_limit_price"], json!(stop_limit));
        let o = order(&c, ticket(&r))
            .await
            .unwrap_or_else(|| panic!("{listed} is pending"));
        assert_eq!(o["type"], json!(listed));
        assert_eq!(n(&o["price"]), n(&json!(price)), "{listed}");
        assert_eq!(n(&o["sl"]), n(&json!(sl)), "{listed}");
        assert_eq!(n(&o["tp"]), n(&json!(tp)), "{listed}");
        assert_eq!(d(&o["volume"]), dd("0.02"));
        assert_eq!(o["expiration"], Value::Null, "good till cancelled");
        assert_eq!(o["comment"], json!(format!("e2e {listed}")));
    }
    assert_eq!(orders(&c).await.len(), 6);
    assert!(positions(&c).await.is_empty(), "no pending order triggered");
    assert_eq!(account(&c).await["balance"], before);

    // Prices, stops and targets are rounded half-up to the symbol's digits (DESIGN 3.12);
    // the echo keeps what the caller wrote.
    let base = dd(&p(bid - far));
    let raw = |x: Decimal| format!("{}5", p(x));
    let args = json!({ "symbol": "EURUSD", "side": "buy", "type": "limit", "volume": "0.01",
                       "price": raw(base), "sl": raw(base - far), "tp": raw(base + far / dd("2")) });
    let r = filled(&tcall(&c, "place_order", args.clone()).await);
    assert_eq!(r["request_echo"]["price"], args["price"]);
    let o = order(&c, ticket(&r)).await.unwrap();
    assert_eq!(n(&o["price"]), n(&json!(p(base + pt))));
    assert_eq!(n(&o["sl"]), n(&json!(p(base - far + pt))));
    assert_eq!(n(&o["tp"]), n(&json!(p(base + far / dd("2") + pt))));
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn modifying_a_position_changes_only_the_stops_given() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let pt = point(5);
    let (bid, ask) = quote(&c, "EURUSD").await;
    let sl = px(bid - pt * dd("600"), 5);
    let r = filled(
        &tcall(
            &c,
            "place_order",
            json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.03",
                    "sl": sl, "deviation": 100 }),
        )
        .await,
    );
    let t = ticket(&r);

    let tp = px(ask + pt * dd("700"), 5);
    let m = filled(&tcall(&c, "modify_order", json!({ "ticket": t, "tp": tp })).await);
    assert_eq!(m["action"], json!("modify_order"));
    assert_eq!(m["symbol"], json!("EURUSD"));
    assert_eq!(
        d(&m["volume"]),
        dd("0.03"),
        "falls back to the position volume"
    );
    assert_eq!(m["replayed"], json!(false));
    assert_eq!(
        m["request_echo"],
        json!({ "ticket": t, "sl": null, "tp": tp, "price": null, "expiration": null,
                "approval_confirmed": false, "approval_request_id": null })
    );
    let p = position(&c, t).await.unwrap();
    assert_eq!((n(&p["sl"]), n(&p["tp"])), (n(&json!(sl)), n(&json!(tp))));

    // A new stop with one digit too many is rounded half-up; the target stays.
    let new_sl = px(bid - pt * dd("300"), 5);
    filled(
        &tcall(
            &c,
            "modify_order",
            json!({ "ticket": t, "sl": format!("{new_sl}5") }),
        )
        .await,
    );
    let p = position(&c, t).await.unwrap();
    assert_eq!(n(&p["sl"]), n(&json!(px(dd(&new_sl) + pt, 5))));
    assert_eq!(n(&p["tp"]), n(&json!(tp)));

    // "0" removes a stop and keeps the other.
    filled(&tcall(&c, "modify_order", json!({ "ticket": t, "sl": "0" })).await);
    let p = position(&c, t).await.unwrap();
    assert_eq!(p["sl"], Value::Null);
    assert_eq!(n(&p["tp"]), n(&json!(tp)));
    assert_eq!(d(&p["volume"]), dd("0.03"));
    assert_eq!(positions(&c).await.len(), 1);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn modifying_a_pending_order_keeps_every_field_not_given() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let pt = point(5);
    let price = far_below(&c, "EURUSD", 5).await;
    let (sl, tp) = (px(price - pt * dd("300"), 5), px(price + pt * dd("300"), 5));
    let r = filled(
        &tcall(
            &c,
            "place_order",
            json!({ "symbol": "EURUSD", "side": "buy", "type": "limit", "volume": "0.04",
                    "price": px(price, 5), "sl": sl, "tp": tp }),
        )
        .await,
    );
    let t = ticket(&r);

    // New price only: SL, TP and (no) expiry are kept (upstream would clear SL/TP).
    let price2 = px(price - pt * dd("50"), 5);
    let m = filled(&tcall(&c, "modify_order", json!({ "ticket": t, "price": price2 })).await);
    assert_eq!(m["ticket"], json!(t));
    assert_eq!(d(&m["volume"]), dd("0.04"));
    let o = order(&c, t).await.unwrap();
    assert_eq!(n(&o["price"]), n(&json!(price2)));
    assert_eq!((n(&o["sl"]), n(&o["tp"])), (n(&json!(sl)), n(&json!(tp))));
    assert_eq!(o["expiration"], Value::Null);

    // Expiration only, written with a +02:00 offset: stored as that instant in UTC;
    // price and stops are kept.
    let at = (Utc::now() + Duration::days(2)).trunc_subsecs(0);
    let local = at
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap())
        .to_rfc3339();
    filled(
        &tcall(
            &c,
            "modify_order",
            json!({ "ticket": t, "expiration": local }),
        )
        .await,
    );
    let o = order(&c, t).await.unwrap();
    assert_eq!(
        o["expiration"],
        json!(at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    );
    assert_eq!(n(&o["price"]), n(&json!(price2)));
    assert_eq!((n(&o["sl"]), n(&o["tp"])), (n(&json!(sl)), n(&json!(tp))));

    // A new SL only: the expiry set above is kept, as are price and TP.
    let sl2 = px(dd(&price2) - pt * dd("200"), 5);
    filled(&tcall(&c, "modify_order", json!({ "ticket": t, "sl": sl2 })).await);
    let o = order(&c, t).await.unwrap();
    assert_eq!(n(&o["sl"]), n(&json!(sl2)));
    assert_eq!(n(&o["tp"]), n(&json!(tp)));
    assert_eq!(n(&o["price"]), n(&json!(price2)));
    assert_eq!(
        o["expiration"],
        json!(at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    );

    // A `Z` expiry replaces the previous one.
    let later = at + Duration::hours(5);
    let z = later.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    filled(&tcall(&c, "modify_order", json!({ "ticket": t, "expiration": z })).await);
    assert_eq!(order(&c, t).await.unwrap()["expiration"], json!(z));
    assert!(positions(&c).await.is_empty());
    c.cancel().await.unwrap();
}

/// The deal a close produced: the one whose order is the close's ticket.
async fn close_deal(c: &Client, result: &Value) -> Value {
    let t = ticket(result);
    deals(c)
        .await
        .into_iter()
        .find(|x| x["order"] == json!(t))
        .unwrap_or_else(|| panic!("a deal for close order {t}"))
}

#[tokio::test]
async fn partial_then_full_close_book_deals_with_realised_profit() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let contract = d(&symbol(&c, "EURUSD").await["contract_size"]);
    let r = open(&c, "EURUSD", "buy", "0.30").await;
    let t = ticket(&r);
    let open_price = d(&r["price_filled"]);

    let part = filled(
        &tcall(
            &c,
            "close_position",
            json!({ "ticket": t, "volume": "0.10" }),
        )
        .await,
    );
    assert_eq!(part["action"], json!("close_position"));
    assert_eq!(part["symbol"], json!("EURUSD"));
    assert_eq!(d(&part["volume"]), dd("0.1"));
    assert_ne!(ticket(&part), t, "the close is its own order");
    assert_eq!(
        part["request_echo"],
        json!({ "ticket": t, "volume": "0.10", "approval_confirmed": false, "approval_request_id": null })
    );
    let p = position(&c, t)
        .await
        .expect("a partial close keeps the position");
    assert_eq!(d(&p["volume"]), dd("0.2"));
    let deal = close_deal(&c, &part).await;
    assert_eq!(deal["type"], json!("sell"), "closing a buy sells");
    assert_eq!(d(&deal["volume"]), dd("0.1"));
    let close_price = d(&part["price_filled"]);
    assert_eq!(d(&deal["price"]), close_price);
    let expected = ((close_price - open_price) * dd("0.1") * contract).round_dp(2);
    assert_eq!(d(&deal["profit"]), expected, "profit in USD");
    let balance = dd("10000") + expected;
    assert_eq!(d(&account(&c).await["balance"]), balance);

    let full = filled(&tcall(&c, "close_position", json!({ "ticket": t })).await);
    assert_eq!(d(&full["volume"]), dd("0.2"), "no volume closes everything");
    assert_eq!(full["request_echo"]["volume"], Value::Null);
    assert!(position(&c, t).await.is_none());
    let deal = close_deal(&c, &full).await;
    assert_eq!(d(&deal["volume"]), dd("0.2"));
    let expected2 = ((d(&full["price_filled"]) - open_price) * dd("0.2") * contract).round_dp(2);
    assert_eq!(d(&deal["profit"]), expected2);
    assert_eq!(d(&account(&c).await["balance"]), balance + expected2);

    // A sell position closes at the ask with a buy deal.
    let s = open(&c, "EURUSD", "sell", "0.02").await;
    let closed = filled(&tcall(&c, "close_position", json!({ "ticket": ticket(&s) })).await);
    let deal = close_deal(&c, &closed).await;
    assert_eq!(deal["type"], json!("buy"));
    let (_, ask) = quote(&c, "EURUSD").await;
    assert!(
        (d(&closed["price_filled"]) - ask).abs() < dd("0.002"),
        "closing a sell pays the ask"
    );
    assert!(positions(&c).await.is_empty());
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn cancel_removes_the_pending_order_and_books_nothing() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let price = px(far_below(&c, "EURUSD", 5).await, 5);
    let placed = buy_limit(&c, "EURUSD", "0.07", &price).await;
    let other = buy_limit(&c, "EURUSD", "0.01", &price).await;
    let t = ticket(&placed);
    let deals_before = deals(&c).await;

    let r = filled(&tcall(&c, "cancel_order", json!({ "ticket": t })).await);
    assert_eq!(r["action"], json!("cancel_order"));
    assert_eq!(r["ticket"], json!(t));
    assert_eq!(r["symbol"], json!("EURUSD"));
    assert_eq!(d(&r["volume"]), dd("0.07"));
    assert_eq!(r["price_filled"], Value::Null);
    assert_eq!(r["request_echo"], json!({ "ticket": t }));
    let left = orders(&c).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["ticket"], json!(ticket(&other)));
    assert_eq!(deals(&c).await, deals_before);
    assert_eq!(account(&c).await["balance"], json!("10000.0"));
    c.cancel().await.unwrap();
}
