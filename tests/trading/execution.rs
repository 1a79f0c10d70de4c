//! Execution details: persistence across restarts, valid edge values, a market order's
//! price as the deviation reference, and each symbol's filling mode.

use serde_json::{Value, json};

use crate::common::trading::*;

#[tokio::test]
async fn trades_persist_in_the_paper_account_across_restarts() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let r = open(&c, "XAUUSD", "buy", "0.01").await;
    c.cancel().await.unwrap();
    let c = sb.serve().await;
    let p = position(&c, ticket(&r)).await.expect("still open");
    assert_eq!(p["symbol"], json!("XAUUSD"));
    filled(&tcall(&c, "close_position", json!({ "ticket": ticket(&r) })).await);
    assert!(positions(&c).await.is_empty());
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn edge_values_that_are_valid_are_accepted() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    // Deviation at its bound, a comment of exactly 31 characters, "" as "no price".
    let comment = "c".repeat(31);
    let r = filled(
        &tcall(
            &c,
            "place_order",
            json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01",
                    "deviation": 1000, "comment": comment, "price": "", "sl": "", "tp": "" }),
        )
        .await,
    );
    let p = position(&c, ticket(&r)).await.unwrap();
    assert_eq!(p["comment"], json!(comment));
    assert_eq!(
        (p["sl"].clone(), p["tp"].clone()),
        (Value::Null, Value::Null)
    );

    // A close volume of "" or null closes everything, like an omitted one.
    for volume in [json!(""), Value::Null] {
        let t = ticket(&open(&c, "EURUSD", "sell", "0.03").await);
        let closed = filled(
            &tcall(
                &c,
                "close_position",
                json!({ "ticket": t, "volume": volume }),
            )
            .await,
        );
        assert_eq!(d(&closed["volume"]), dd("0.03"), "volume {volume}");
        assert!(position(&c, t).await.is_none());
    }
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn a_market_orders_price_is_the_reference_for_its_deviation() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let (_, ask) = quote(&c, "EURUSD").await;
    let before = book(&c).await;
    // 500 points off the market with 10 points of tolerance: the broker requotes.
    let r = tcall(
        &c,
        "place_order",
        json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01",
                "price": px(ask - point(5) * dd("500"), 5), "deviation": 10 }),
    )
    .await;
    let v = rejected(&r);
    assert_eq!(v["server_response_code"], json!(10004));
    assert_eq!(v["error"]["code"], json!("REQUOTE"));
    assert_eq!(v["error"]["retryable"], json!(true));
    assert_eq!(book(&c).await, before);
    // Priced at the market with room to move, it fills.
    let (_, ask) = quote(&c, "EURUSD").await;
    filled(
        &tcall(
            &c,
            "place_order",
            json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01",
                    "price": px(ask, 5), "deviation": 300 }),
        )
        .await,
    );
    assert_eq!(positions(&c).await.len(), 1);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn market_orders_use_each_symbols_filling_mode() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    // US500 fills FOK only, BTCUSD IOC only, EURUSD both: each market order must pick a
    // mode the symbol allows, or the broker refuses it.
    for (sym, volume, modes) in [
        ("US500", "0.1", json!(["fok"])),
        ("BTCUSD", "0.01", json!(["ioc"])),
        ("EURUSD", "0.01", json!(["fok", "ioc"])),
    ] {
        assert_eq!(symbol(&c, sym).await["filling_modes"], modes, "{sym}");
        let r = open(&c, sym, "sell", volume).await;
        let closed = filled(&tcall(&c, "close_position", json!({ "ticket": ticket(&r) })).await);
        assert_eq!(closed["symbol"], json!(sym));
    }
    assert!(positions(&c).await.is_empty());
    c.cancel().await.unwrap();
}
