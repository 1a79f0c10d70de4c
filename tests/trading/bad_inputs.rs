//! Bad input of every kind: a typed error code (never INTERNAL_ERROR), found before the
//! policy engine, and the terminal exactly as it was (positions, orders, balance, deals).
//! This file holds the case runner and place_order's cases; `bad_tickets` has the other
//! three tools', `protocol` the requests that are not valid tool calls at all.

use serde_json::{Value, json};

use crate::common::trading::*;

pub(crate) struct Case {
    pub tool: &'static str,
    pub args: Value,
    /// The expected code; a few cases accept either of two (see their comments).
    pub codes: &'static [&'static str],
    /// The argument `details.field` must name, for INVALID_REQUEST.
    pub field: Option<&'static str>,
}

pub(crate) fn case(
    tool: &'static str,
    args: Value,
    code: &'static str,
    field: Option<&'static str>,
) -> Case {
    let codes: &'static [&'static str] = match code {
        "INVALID_REQUEST" => &["INVALID_REQUEST"],
        "INVALID_VOLUME" => &["INVALID_VOLUME"],
        "INVALID_COMMENT" => &["INVALID_COMMENT"],
        "INVALID_TICKET" => &["INVALID_TICKET"],
        "SYMBOL_NOT_FOUND" => &["SYMBOL_NOT_FOUND"],
        other => panic!("no case for {other}"),
    };
    Case {
        tool,
        args,
        codes,
        field,
    }
}

/// `base` with `key` set to `value` (or removed when `value` is `None`).
pub(crate) fn with(base: &Value, key: &str, value: Option<Value>) -> Value {
    let mut v = base.clone();
    match value {
        Some(x) => v[key] = x,
        None => {
            v.as_object_mut().unwrap().remove(key);
        }
    }
    v
}

fn place_cases() -> Vec<Case> {
    let m = json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01" });
    let limit = json!({ "symbol": "EURUSD", "side": "buy", "type": "limit", "volume": "0.01",
                        "price": "0.90000" });
    let req = "INVALID_REQUEST";
    let vol = "INVALID_VOLUME";
    let mut cases = vec![];
    for v in [
        "-0.1",
        "0",
        "0.00",
        "-0",
        "1000",
        "1000000000",
        "100.01",
        "0.015",
        "0.001",
    ] {
        cases.push(case(
            "place_order",
            with(&m, "volume", Some(json!(v))),
            vol,
            None,
        ));
    }
    let long_digits = "9".repeat(50);
    for v in [
        "NaN",
        "nan",
        "inf",
        "-Infinity",
        "1e3",
        "1E-2",
        "",
        "   ",
        "1_0",
        "٠٫١",
        "0.1 lots",
        "0x10",
        "1,5",
        long_digits.as_str(),
    ] {
        cases.push(case(
            "place_order",
            with(&m, "volume", Some(json!(v))),
            req,
            Some("volume"),
        ));
    }
    for v in [json!([]), json!({}), json!(true), json!(null)] {
        cases.push(case("place_order", with(&m, "volume", Some(v)), req, None));
    }
    cases.push(case("place_order", with(&m, "volume", None), req, None));
    for s in ["long", "", "BUY", "sell;buy"] {
        cases.push(case(
            "place_order",
            with(&m, "side", Some(json!(s))),
            req,
            Some("side"),
        ));
    }
    cases.push(case(
        "place_order",
        with(&m, "side", Some(json!(1))),
        req,
        Some("side"),
    ));
    for t in ["fok", "", "stoplimit", "MARKET"] {
        cases.push(case(
            "place_order",
            with(&m, "type", Some(json!(t))),
            req,
            Some("type"),
        ));
    }
    cases.push(case(
        "place_order",
        with(&m, "symbol", Some(json!("NOPE"))),
        "SYMBOL_NOT_FOUND",
        None,
    ));
    cases.push(case(
        "place_order",
        with(&m, "symbol", Some(json!(5))),
        req,
        Some("symbol"),
    ));
    for c in [
        "x".repeat(32),
        "ordre passé".into(),
        "line\nbreak".into(),
        "del\u{7f}".into(),
    ] {
        cases.push(case(
            "place_order",
            with(&m, "comment", Some(json!(c))),
            "INVALID_COMMENT",
            None,
        ));
    }
    cases.push(case(
        "place_order",
        with(&m, "comment", Some(json!(12))),
        req,
        Some("comment"),
    ));
    for dv in [json!(-1), json!(1001), json!("ten"), json!(2.5), json!([])] {
        cases.push(case(
            "place_order",
            with(&m, "deviation", Some(dv)),
            req,
            Some("deviation"),
        ));
    }
    for (k, v) in [
        ("sl", "-1"),
        ("sl", "1e-3"),
        ("sl", "abc"),
        ("tp", "NaN"),
        ("tp", "0"),
    ] {
        cases.push(case(
            "place_order",
            with(&m, k, Some(json!(v))),
            req,
            Some(k),
        ));
    }
    for p in ["0", "-0.9", "NaN", "0.9.0"] {
        cases.push(case(
            "place_order",
            with(&limit, "price", Some(json!(p))),
            req,
            Some("price"),
        ));
    }
    cases.push(case(
        "place_order",
        with(&limit, "price", None),
        req,
        Some("price"),
    ));
    // "" for an optional price means "not given": a limit order still needs one.
    cases.push(case(
        "place_order",
        with(&limit, "price", Some(json!(""))),
        req,
        Some("price"),
    ));
    let stop = with(&limit, "type", Some(json!("stop")));
    cases.push(case(
        "place_order",
        with(&stop, "price", None),
        req,
        Some("price"),
    ));
    let stop_limit = with(&limit, "type", Some(json!("stop_limit")));
    cases.push(case(
        "place_order",
        stop_limit.clone(),
        req,
        Some("stop_limit_price"),
    ));
    cases.push(case(
        "place_order",
        with(&stop_limit, "stop_limit_price", Some(json!("0"))),
        req,
        Some("stop_limit_price"),
    ));
    cases.push(case(
        "place_order",
        with(&limit, "stop_limit_price", Some(json!("0.89"))),
        req,
        Some("stop_limit_price"),
    ));
    for k in bad_keys() {
        cases.push(case(
            "place_order",
            with(&m, "idempotency_key", Some(k)),
            req,
            Some("idempotency_key"),
        ));
    }
    cases.push(case(
        "place_order",
        with(&m, "approval_confirmed", Some(json!("maybe"))),
        req,
        Some("approval_confirmed"),
    ));
    cases.push(case(
        "place_order",
        with(&m, "approval_request_id", Some(json!(7))),
        req,
        Some("approval_request_id"),
    ));
    cases
}

pub(crate) fn bad_keys() -> Vec<Value> {
    vec![
        json!("has space"),
        json!("ключ"),
        json!("k".repeat(129)),
        json!("tab\tkey"),
        json!("nul\u{0}"),
        json!(" "),
        json!(42),
        json!(["k"]),
    ]
}

/// Runs every case, checking its code, its details and that nothing changed.
pub(crate) async fn run(c: &Client, sb: &crate::common::Sandbox, cases: Vec<Case>) {
    let audit_before = audit(sb).len();
    let before = book(c).await;
    for Case {
        tool,
        args,
        codes,
        field,
    } in cases
    {
        let r = tcall(c, tool, args.clone()).await;
        let e = crate::common::err(&r);
        let code = e["code"].as_str().unwrap();
        assert!(
            codes.contains(&code),
            "{tool} {args}: expected {codes:?}, got {e}"
        );
        assert_eq!(e["requires_human"], json!(false), "{tool} {args}: {e}");
        if let Some(f) = field {
            assert_eq!(e["details"]["field"], json!(f), "{tool} {args}: {e}");
        }
        match code {
            "INVALID_TICKET" => {
                let kind = if tool == "close_position" {
                    "position"
                } else {
                    "order"
                };
                assert_eq!(e["details"]["kind"], json!(kind), "{tool} {args}: {e}");
                assert_eq!(e["details"]["ticket"], args["ticket"], "{tool} {args}: {e}");
                if tool == "modify_order" {
                    let msg = e["message"].as_str().unwrap();
                    assert!(msg.contains("position") && msg.contains("order"), "{msg}");
                }
            }
            "INVALID_COMMENT" => {
                let reason = e["details"]["reason"].as_str().unwrap();
                assert!(
                    ["too_long", "non_ascii", "control_char"].contains(&reason),
                    "{e}"
                );
                assert_eq!(e["details"]["max_length"], json!(31), "{e}");
            }
            "INVALID_VOLUME" if tool == "place_order" => {
                // Upstream's shapes: {symbol, volume} plus the bound that was broken.
                assert_eq!(e["details"]["symbol"], args["symbol"], "{e}");
                assert!(e["details"]["volume"].is_string(), "{e}");
                let bound = ["min", "max", "step"]
                    .iter()
                    .filter(|k| e["details"].get(**k).is_some())
                    .count();
                assert_eq!(bound, 1, "{args}: one bound named: {e}");
            }
            _ => {}
        }
        assert_eq!(book(c).await, before, "{tool} {args} changed the terminal");
    }
    assert_eq!(
        audit(sb).len(),
        audit_before,
        "input errors are not audited"
    );
}

#[tokio::test]
async fn bad_place_order_inputs_are_typed_errors_that_change_nothing() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    open(&c, "EURUSD", "buy", "0.05").await;
    run(&c, &sb, place_cases()).await;
    // The comment reasons, exactly.
    let m = json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01" });
    for (comment, reason, length) in [
        ("x".repeat(32), "too_long", 32),
        ("ordre passé".to_owned(), "non_ascii", 11),
        ("line\nbreak".to_owned(), "control_char", 10),
    ] {
        let e = refused(
            &tcall(&c, "place_order", with(&m, "comment", Some(json!(comment)))).await,
            "INVALID_COMMENT",
        );
        assert_eq!(e["details"]["reason"], json!(reason), "{e}");
        assert_eq!(e["details"]["length"], json!(length), "{e}");
    }
    // Which bound each volume breaks.
    for (volume, bound) in [
        ("0", "min"),
        ("-1", "min"),
        ("1000", "max"),
        ("0.015", "step"),
    ] {
        let e = refused(
            &tcall(&c, "place_order", with(&m, "volume", Some(json!(volume)))).await,
            "INVALID_VOLUME",
        );
        assert!(e["details"].get(bound).is_some(), "{volume}: {e}");
        assert_eq!(e["details"]["volume"], json!(volume), "{e}");
    }
    // A blank comment is no comment.
    let r = filled(&tcall(&c, "place_order", with(&m, "comment", Some(json!("   ")))).await);
    assert_eq!(
        position(&c, ticket(&r)).await.unwrap()["comment"],
        Value::Null
    );
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn input_errors_come_before_consent_and_preflight() {
    let sb = trading_sandbox(
        "[policy]\nauto_approve_notional = \"1\"\nmax_notional_per_trade = \"2\"\n\
         max_orders_per_minute = 1\n\n[symbols]\ndenylist = [\"EURUSD\"]\n",
    );
    let c = sb.serve().await;
    let m = json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01" });
    let cases = vec![
        case(
            "place_order",
            with(&m, "comment", Some(json!("x".repeat(40)))),
            "INVALID_COMMENT",
            None,
        ),
        case(
            "place_order",
            with(&m, "comment", Some(json!("naïve"))),
            "INVALID_COMMENT",
            None,
        ),
        case(
            "place_order",
            with(&m, "volume", Some(json!("0"))),
            "INVALID_VOLUME",
            None,
        ),
        case(
            "place_order",
            with(&m, "volume", Some(json!("0.015"))),
            "INVALID_VOLUME",
            None,
        ),
        case(
            "place_order",
            with(&m, "side", Some(json!("up"))),
            "INVALID_REQUEST",
            Some("side"),
        ),
        case(
            "place_order",
            with(&m, "deviation", Some(json!(5000))),
            "INVALID_REQUEST",
            Some("deviation"),
        ),
        case(
            "place_order",
            with(&m, "idempotency_key", Some(json!("a key"))),
            "INVALID_REQUEST",
            Some("idempotency_key"),
        ),
        case(
            "close_position",
            json!({ "ticket": 987654321 }),
            "INVALID_TICKET",
            None,
        ),
        case(
            "cancel_order",
            json!({ "ticket": 987654321 }),
            "INVALID_TICKET",
            None,
        ),
    ];
    run(&c, &sb, cases).await;
    c.cancel().await.unwrap();
}
