//! Requests that are not valid tool calls at all, sent over raw JSON-RPC: they get an
//! error, never silence, and change nothing.

use serde_json::{Value, json};

use crate::common::raw::Raw;
use crate::common::trading::*;

/// A refusal over raw JSON-RPC: a JSON-RPC error, or a tool result with isError.
fn is_refusal(v: &Value) -> bool {
    v.get("error").is_some_and(Value::is_object) || v["result"]["isError"] == json!(true)
}

/// The terminal of a raw-client sandbox is as fresh as it started.
async fn untouched(raw: &mut Raw, first_id: i64) {
    let ping = raw.call_tool(first_id, "ping", json!({})).await;
    assert_ne!(ping["isError"], json!(true), "{ping}");
    for (id, tool) in [
        (first_id + 1, "get_positions"),
        (first_id + 2, "get_orders"),
    ] {
        let r = raw.call_tool(id, tool, json!({})).await;
        assert_eq!(r["structuredContent"]["result"], json!([]), "{tool}: {r}");
    }
    let acct = raw
        .call_tool(first_id + 3, "get_account_info", json!({}))
        .await;
    assert_eq!(acct["structuredContent"]["balance"], json!("10000.0"));
}

#[tokio::test]
async fn non_object_params_and_arguments_get_an_error() {
    let sb = trading_sandbox("");
    let mut raw = Raw::start(&sb).await;
    let mut deep = json!("EURUSD");
    for _ in 0..100 {
        deep = json!([deep]);
    }
    let bodies = [
        json!({ "name": "place_order", "arguments": [1, 2] }),
        json!({ "name": "place_order", "arguments": "buy EURUSD" }),
        json!({ "name": "close_position", "arguments": 42 }),
        json!({ "name": "cancel_order", "arguments": null }),
        json!({ "name": "modify_order", "arguments": true }),
        json!({ "name": "place_order", "arguments": { "symbol": deep, "side": "buy",
                                                      "type": "market", "volume": "0.01" } }),
        json!(["place_order", { "symbol": "EURUSD" }]),
        json!("place_order"),
    ];
    for (i, params) in bodies.iter().enumerate() {
        let id = 100 + i as i64;
        let v = raw.request(json!(id), "tools/call", params.clone()).await;
        assert!(is_refusal(&v), "{params}: {v}");
    }
    untouched(&mut raw, 200).await;
    raw.stop().await;
    assert!(audit(&sb).is_empty(), "nothing reached the policy engine");
}

#[tokio::test]
async fn absurdly_deep_arguments_get_an_error_not_silence() {
    let sb = trading_sandbox("");
    let mut raw = Raw::start(&sb).await;
    // Deeper than JSON parsers accept (serde_json stops at 128 levels): the request cannot
    // be parsed, yet the client must hear about it (DESIGN 3.7: an error, never a hang).
    let depth = 100_000;
    let line = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":900,\"method\":\"tools/call\",\"params\":{{\"name\":\"place_order\",\"arguments\":{{\"symbol\":{}{}}}}}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    raw.send_line(&line).await;
    // A ping right behind it: once the ping is answered, the deep request had its turn.
    let ping = json!({ "jsonrpc": "2.0", "id": 901, "method": "ping" });
    raw.send_line(&ping.to_string()).await;
    let mut seen = raw.until(&json!(901)).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let ping = json!({ "jsonrpc": "2.0", "id": 902, "method": "ping" });
    raw.send_line(&ping.to_string()).await;
    seen.extend(raw.until(&json!(902)).await);
    untouched(&mut raw, 903).await;
    raw.stop().await;
    let answered = seen.iter().any(|v| {
        is_refusal(v)
            && (v.get("id") == Some(&json!(900)) || v.get("id").is_none_or(Value::is_null))
    });
    assert!(
        answered,
        "the unparseable request got no error; the server answered only {seen:?}"
    );
}
