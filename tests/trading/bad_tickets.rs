//! Bad input to the ticket tools (modify_order, close_position, cancel_order): typed errors
//! that change nothing (the runner is in `bad_inputs`).

use chrono::{Duration, Utc};
use serde_json::json;

use crate::bad_inputs::{Case, bad_keys, case, run};
use crate::common::trading::*;

fn ticket_cases(pos: i64, ord: i64) -> Vec<Case> {
    let req = "INVALID_REQUEST";
    let future = (Utc::now() + Duration::days(3))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let past = (Utc::now() - Duration::seconds(30))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut cases = vec![];
    for t in [
        json!(0),
        json!(-5),
        json!("abc"),
        json!(1.5),
        json!([]),
        json!(null),
    ] {
        cases.push(case(
            "modify_order",
            json!({ "ticket": t, "sl": "1.0" }),
            req,
            Some("ticket"),
        ));
    }
    cases.push(case("modify_order", json!({ "sl": "1.0" }), req, None));
    cases.push(case(
        "modify_order",
        json!({ "ticket": 987654321, "sl": "1.0" }),
        "INVALID_TICKET",
        None,
    ));
    cases.push(case("modify_order", json!({ "ticket": pos }), req, None));
    cases.push(case(
        "modify_order",
        json!({ "ticket": ord, "sl": null, "tp": null }),
        req,
        None,
    ));
    cases.push(case(
        "modify_order",
        json!({ "ticket": pos, "price": "1.1" }),
        req,
        Some("price"),
    ));
    cases.push(case(
        "modify_order",
        json!({ "ticket": pos, "expiration": future }),
        req,
        Some("expiration"),
    ));
    for (k, v) in [("sl", "-1"), ("sl", "abc"), ("tp", "NaN"), ("tp", "1e2")] {
        cases.push(case(
            "modify_order",
            json!({ "ticket": pos, k: v }),
            req,
            Some(k),
        ));
    }
    // Upstream refuses "" here; treating it as absent leaves nothing to modify: refused too.
    cases.push(case(
        "modify_order",
        json!({ "ticket": pos, "sl": "" }),
        req,
        None,
    ));
    for p in ["0", "-1.1", "x"] {
        cases.push(case(
            "modify_order",
            json!({ "ticket": ord, "price": p }),
            req,
            Some("price"),
        ));
    }
    for e in [
        json!("2020-01-01T00:00:00Z"),
        json!(past),
        json!("2030-01-01T00:00:00"),
        json!("2030-01-01"),
        json!("tomorrow"),
        json!("2030-13-01T00:00:00Z"),
        json!("2030-01-01T00:00:00+25:00"),
        json!(1893456000),
    ] {
        cases.push(case(
            "modify_order",
            json!({ "ticket": ord, "expiration": e }),
            req,
            Some("expiration"),
        ));
    }
    for k in bad_keys() {
        cases.push(case(
            "modify_order",
            json!({ "ticket": ord, "sl": "0.5", "idempotency_key": k }),
            req,
            Some("idempotency_key"),
        ));
    }

    cases.push(case(
        "close_position",
        json!({ "ticket": 987654321 }),
        "INVALID_TICKET",
        None,
    ));
    cases.push(case(
        "close_position",
        json!({ "ticket": ord }),
        "INVALID_TICKET",
        None,
    ));
    for v in ["0", "-0.01", "0.015", "0.06", "100"] {
        cases.push(case(
            "close_position",
            json!({ "ticket": pos, "volume": v }),
            "INVALID_VOLUME",
            None,
        ));
    }
    for v in [
        json!("abc"),
        json!("1e-2"),
        json!("NaN"),
        json!([]),
        json!(" 0.0.1"),
    ] {
        cases.push(case(
            "close_position",
            json!({ "ticket": pos, "volume": v }),
            req,
            Some("volume"),
        ));
    }
    for t in [json!("abc"), json!(1.5), json!({})] {
        cases.push(case(
            "close_position",
            json!({ "ticket": t }),
            req,
            Some("ticket"),
        ));
    }
    for k in bad_keys() {
        cases.push(case(
            "close_position",
            json!({ "ticket": pos, "idempotency_key": k }),
            req,
            Some("idempotency_key"),
        ));
    }

    cases.push(case(
        "cancel_order",
        json!({ "ticket": 987654321 }),
        "INVALID_TICKET",
        None,
    ));
    cases.push(case(
        "cancel_order",
        json!({ "ticket": pos }),
        "INVALID_TICKET",
        None,
    ));
    for t in [json!("abc"), json!(2.5), json!(null), json!([1])] {
        cases.push(case(
            "cancel_order",
            json!({ "ticket": t }),
            req,
            Some("ticket"),
        ));
    }
    cases.push(case("cancel_order", json!({}), req, None));
    for k in bad_keys() {
        cases.push(case(
            "cancel_order",
            json!({ "ticket": ord, "idempotency_key": k }),
            req,
            Some("idempotency_key"),
        ));
    }
    // Zero and negative tickets can never exist: a typed refusal either way.
    for t in [0, -1] {
        for tool in ["close_position", "cancel_order"] {
            cases.push(Case {
                tool,
                args: json!({ "ticket": t }),
                codes: &["INVALID_REQUEST", "INVALID_TICKET"],
                field: None,
            });
        }
    }
    cases
}

#[tokio::test]
async fn bad_ticket_tool_inputs_are_typed_errors_that_change_nothing() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let pos = ticket(&open(&c, "EURUSD", "buy", "0.05").await);
    let price = far_below(&c, "EURUSD", 5).await;
    let ord = ticket(&buy_limit(&c, "EURUSD", "0.01", &px(price, 5)).await);
    run(&c, &sb, ticket_cases(pos, ord)).await;
    c.cancel().await.unwrap();
}
