//! End to end: the real binary on the backend under test (the sim by default, see
//! `common::backend`), driven by the rmcp client over stdio.

mod common;

use chrono::{Duration, Utc};
use common::*;
use serde_json::json;

const READ_TOOLS: [&str; 11] = [
    "ping",
    "get_terminal_info",
    "get_account_info",
    "get_quote",
    "get_symbols",
    "get_market_hours",
    "get_rates",
    "calc_margin",
    "get_positions",
    "get_orders",
    "get_history",
];

#[tokio::test]
async fn tools_list_shows_every_read_tool_with_honest_annotations_and_schemas() {
    let sb = Sandbox::new("");
    let client = sb.serve().await;
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    let mut expected = READ_TOOLS.to_vec();
    expected.extend([
        "place_order",
        "modify_order",
        "close_position",
        "cancel_order",
    ]);
    expected.sort_unstable();
    assert_eq!(names, expected);
    // The trading tools' annotations are checked with the trading tests.
    for tool in tools
        .iter()
        .filter(|t| READ_TOOLS.contains(&t.name.as_ref()))
    {
        let a = tool
            .annotations
            .as_ref()
            .unwrap_or_else(|| panic!("{} has annotations", tool.name));
        assert!(
            a.title.as_deref().is_some_and(|t| !t.is_empty()),
            "{} title",
            tool.name
        );
        assert_eq!(a.read_only_hint, Some(true), "{}", tool.name);
        assert_eq!(a.destructive_hint, Some(false), "{}", tool.name);
        assert_eq!(a.idempotent_hint, Some(true), "{}", tool.name);
        assert_eq!(a.open_world_hint, Some(true), "{}", tool.name);
        assert!(tool.output_schema.is_some(), "{} outputSchema", tool.name);
        assert!(
            tool.description.as_deref().is_some_and(|d| d.len() > 20),
            "{} description",
            tool.name
        );
    }
    let quote = tools.iter().find(|t| t.name == "get_quote").unwrap();
    assert_eq!(quote.input_schema["required"], json!(["symbol"]));
    let info = client.peer_info().unwrap();
    let server = info.server_info.as_ref().expect("serverInfo");
    assert_eq!(server.name, "mt5-mcp");
    assert_eq!(server.version, env!("CARGO_PKG_VERSION"));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn ping_terminal_and_account_describe_a_fresh_paper_account() {
    let sb = Sandbox::new("");
    let client = sb.serve().await;

    let ping = ok(&call(&client, "ping", json!({})).await);
    assert_eq!(ping["ok"], json!(true));
    assert_eq!(ping["via"], json!("terminal_info"));

    let term = ok(&call(&client, "get_terminal_info", json!({})).await);
    assert_eq!(term["connected"], json!(true));
    assert_eq!(
        term["broker_tz_offset_minutes"],
        json!(120),
        "the sim and the fake terminal both run at UTC+2"
    );
    assert!(term["login"].as_i64().unwrap() > 0);
    assert!(!term["server"].as_str().unwrap().is_empty());

    let acct = ok(&call(&client, "get_account_info", json!({})).await);
    assert_eq!(acct["balance"], json!("10000.0"));
    assert_eq!(acct["equity"], json!("10000.0"));
    assert_eq!(acct["currency"], json!("USD"));
    assert_eq!(acct["leverage"], json!(100));
    assert_eq!(acct["margin_mode"], json!("retail_hedging"));
    assert_eq!(acct["margin_level"], json!(null), "no margin in use");
    assert_eq!(acct["login"], term["login"]);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn quotes_are_live_utc_and_unknown_symbols_are_typed_errors() {
    let sb = Sandbox::new("");
    let client = sb.serve().await;
    for symbol in [
        "EURUSD", "USDJPY", "XAUUSD", "BTCUSD", "US500", "EURJPY", "USDCHF",
    ] {
        let q = ok(&call(&client, "get_quote", json!({ "symbol": symbol })).await);
        assert_eq!(q["symbol"], json!(symbol));
        assert!(dec(&q["bid"]) < dec(&q["ask"]), "{symbol}: bid < ask");
        let age = Utc::now() - utc(&q["time"]);
        assert!(
            age < Duration::seconds(120) && age > Duration::seconds(-5),
            "{symbol} tick age {age}"
        );
    }
    let e = err(&call(&client, "get_quote", json!({ "symbol": "NOPE" })).await);
    assert_eq!(e["code"], json!("SYMBOL_NOT_FOUND"));
    assert_eq!(e["details"], json!({ "symbol": "NOPE" }));
    assert_eq!(e["retryable"], json!(false));
    assert_eq!(
        code(&call(&client, "get_quote", json!({ "symbol": "" })).await),
        "SYMBOL_NOT_FOUND"
    );
    // The server is still healthy after errors.
    ok(&call(&client, "get_quote", json!({ "symbol": "EURUSD" })).await);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn symbols_list_the_sim_broker_and_filter_by_category_case_insensitively() {
    let sb = Sandbox::new("");
    let client = sb.serve().await;
    let all = ok_list(&call(&client, "get_symbols", json!({})).await);
    let names: Vec<&str> = all.iter().map(|s| s["name"].as_str().unwrap()).collect();
    for expected in [
        "EURUSD", "GBPUSD", "USDJPY", "USDCHF", "AUDUSD", "EURJPY", "XAUUSD", "BTCUSD", "US500",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let eurusd = all.iter().find(|s| s["name"] == "EURUSD").unwrap();
    assert_eq!(eurusd["category"], json!("Forex"));
    assert_eq!(eurusd["contract_size"], json!("100000.0"));
    assert_eq!(eurusd["tick_size"], json!("0.00001"));
    assert_eq!(eurusd["digits"], json!(5));
    assert_eq!(eurusd["is_tradeable"], json!(true));
    assert!(is_decimal(&eurusd["volume_step"]));
    let forex = ok_list(&call(&client, "get_symbols", json!({ "category": "fOrEx" })).await);
    assert!(!forex.is_empty() && forex.len() < all.len());
    assert!(forex.iter().all(|s| s["category"] == "Forex"));
    assert!(ok_list(&call(&client, "get_symbols", json!({ "category": "" })).await).is_empty());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn market_hours_report_open_for_tradeable_symbols() {
    let sb = Sandbox::new("");
    let client = sb.serve().await;
    let h = ok(&call(&client, "get_market_hours", json!({ "symbol": "EURUSD" })).await);
    assert_eq!(
        h,
        json!({ "symbol": "EURUSD", "is_open": true, "next_open": null, "next_close": null })
    );
    assert_eq!(
        code(&call(&client, "get_market_hours", json!({ "symbol": "XXX" })).await),
        "SYMBOL_NOT_FOUND"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn rates_come_most_recent_first_clamped_and_validated() {
    let sb = Sandbox::new("");
    let client = sb.serve().await;
    let bars = ok_list(
        &call(
            &client,
            "get_rates",
            json!({ "symbol": "EURUSD", "timeframe": "M1", "count": 10 }),
        )
        .await,
    );
    assert_eq!(bars.len(), 10);
    let times: Vec<_> = bars.iter().map(|b| utc(&b["time"])).collect();
    assert!(
        times
            .windows(2)
            .all(|w| w[0] - w[1] == Duration::minutes(1)),
        "descending by one minute: {times:?}"
    );
    assert!(
        Utc::now() - times[0] < Duration::minutes(2),
        "first bar is the current one"
    );
    for b in &bars {
        let (o, h, l, c) = (
            dec(&b["open"]),
            dec(&b["high"]),
            dec(&b["low"]),
            dec(&b["close"]),
        );
        assert!(h >= o.max(c) && l <= o.min(c), "OHLC consistent: {b}");
    }
    let d1 = ok_list(
        &call(
            &client,
            "get_rates",
            json!({ "symbol": "XAUUSD", "timeframe": "D1", "count": "3" }),
        )
        .await,
    );
    assert_eq!(d1.len(), 3);
    // D1 bars open at broker midnight: 22:00 UTC for a UTC+2 broker clock.
    assert!(
        d1.iter()
            .all(|b| b["time"].as_str().unwrap().ends_with("T22:00:00Z")),
        "{d1:?}"
    );
    let many = ok_list(
        &call(
            &client,
            "get_rates",
            json!({ "symbol": "EURUSD", "timeframe": "M1", "count": 9999 }),
        )
        .await,
    );
    assert_eq!(many.len(), 5000);

    let bad = |args| {
        let client = &client;
        async move { err(&call(client, "get_rates", args).await) }
    };
    let e = bad(json!({ "symbol": "EURUSD", "timeframe": "m1", "count": 5 })).await;
    assert_eq!(e["code"], json!("INVALID_TIMEFRAME"));
    assert_eq!(e["details"], json!({ "timeframe": "m1" }));
    for count in [json!(0), json!(-5)] {
        let e = bad(json!({ "symbol": "EURUSD", "timeframe": "H1", "count": count })).await;
        assert_eq!(e["code"], json!("INVALID_COUNT"));
        assert_eq!(e["details"], json!({ "count": count }));
    }
    for count in [json!("abc"), json!(1.5), json!(null), json!([1])] {
        assert_eq!(
            bad(json!({ "symbol": "EURUSD", "timeframe": "H1", "count": count })).await["code"],
            json!("INVALID_REQUEST")
        );
    }
    assert_eq!(
        bad(json!({ "symbol": "EURUSD", "timeframe": "H1" })).await["code"],
        json!("INVALID_REQUEST")
    );
    assert_eq!(
        bad(json!({ "symbol": "NOPE", "timeframe": "H1", "count": 5 })).await["code"],
        json!("SYMBOL_NOT_FOUND")
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn calc_margin_follows_leverage_and_refuses_bad_numbers() {
    let sb = Sandbox::new("");
    let client = sb.serve().await;
    let m = ok(&call(
        &client,
        "calc_margin",
        json!({ "symbol": "EURUSD", "side": "buy", "volume": "1", "price": "1.10000" }),
    )
    .await);
    assert_eq!(m["volume"], json!("1"));
    assert_eq!(m["price"], json!("1.10000"));
    assert_eq!(m["currency"], json!("USD"));
    // 1 lot of EURUSD = 100,000 EUR; at 1:100 that is 1,000 EUR, converted to the USD
    // deposit currency at the current EURUSD rate (as MetaTrader converts margin).
    let ask = dec(&ok(&call(&client, "get_quote", json!({ "symbol": "EURUSD" })).await)["ask"]);
    assert!(
        (dec(&m["margin"]) - 1000.0 * ask).abs() < 1000.0 * ask * 0.001,
        "{m} vs ask {ask}"
    );
    let live = ok(&call(
        &client,
        "calc_margin",
        json!({ "symbol": "EURUSD", "side": "sell", "volume": 0.5 }),
    )
    .await);
    assert!(dec(&live["margin"]) > 0.0);
    let q = ok(&call(&client, "get_quote", json!({ "symbol": "EURUSD" })).await);
    assert!(
        (dec(&live["price"]) - dec(&q["bid"])).abs() < 0.01,
        "sell uses the bid"
    );

    for (volume, code_) in [
        ("abc", "INVALID_REQUEST"),
        ("1e3", "INVALID_REQUEST"),
        ("NaN", "INVALID_REQUEST"),
        ("0", "INVALID_VOLUME"),
        ("-1", "INVALID_VOLUME"),
    ] {
        let e = err(&call(
            &client,
            "calc_margin",
            json!({ "symbol": "EURUSD", "side": "buy", "volume": volume }),
        )
        .await);
        assert_eq!(e["code"], json!(code_), "volume {volume}");
    }
    assert_eq!(
        code(
            &call(
                &client,
                "calc_margin",
                json!({ "symbol": "EURUSD", "side": "long", "volume": "1" })
            )
            .await
        ),
        "INVALID_REQUEST"
    );
    assert_eq!(
        code(
            &call(
                &client,
                "calc_margin",
                json!({ "symbol": "NOPE", "side": "buy", "volume": "1" })
            )
            .await
        ),
        "SYMBOL_NOT_FOUND"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_fresh_account_has_no_positions_or_orders_and_one_deposit() {
    let sb = Sandbox::new("");
    let client = sb.serve().await;
    assert!(ok_list(&call(&client, "get_positions", json!({})).await).is_empty());
    assert!(
        ok_list(&call(&client, "get_positions", json!({ "symbol": "EURUSD" })).await).is_empty()
    );
    assert!(ok_list(&call(&client, "get_orders", json!({})).await).is_empty());
    let from = (Utc::now() - Duration::days(1)).to_rfc3339();
    let to = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let deals = ok_list(
        &call(
            &client,
            "get_history",
            json!({ "from_ts": from, "to_ts": to }),
        )
        .await,
    );
    assert_eq!(deals.len(), 1, "{deals:?}");
    assert_eq!(deals[0]["type"], json!("balance"));
    assert_eq!(dec(&deals[0]["profit"]), 10000.0);
    let age = Utc::now() - utc(&deals[0]["time"]);
    assert!(
        age < Duration::minutes(5) && age > Duration::seconds(-5),
        "deposit time is UTC: {age}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn history_refuses_malformed_naive_and_reversed_ranges() {
    let sb = Sandbox::new("");
    let client = sb.serve().await;
    let cases = [
        json!({ "from_ts": "yesterday", "to_ts": "2026-01-02T00:00:00Z" }),
        json!({ "from_ts": "2026-01-01T00:00:00", "to_ts": "2026-01-02T00:00:00Z" }),
        json!({ "from_ts": "2026-01-01T00:00:00Z", "to_ts": "2026-01-02" }),
        json!({ "from_ts": "2026-01-02T00:00:00Z", "to_ts": "2026-01-01T00:00:00Z" }),
        json!({ "from_ts": "2026-01-01T00:00:00Z", "to_ts": "2026-01-01T00:00:00Z" }),
    ];
    for args in cases {
        let e = err(&call(&client, "get_history", args.clone()).await);
        assert_eq!(e["code"], json!("INVALID_TIMESTAMP"), "{args}");
        assert_eq!(e["details"], json!(null));
    }
    assert_eq!(
        code(&call(&client, "get_history", json!({ "from_ts": 1, "to_ts": 2 })).await),
        "INVALID_REQUEST"
    );
    assert_eq!(
        code(
            &call(
                &client,
                "get_history",
                json!({ "from_ts": "2026-01-01T00:00:00Z" })
            )
            .await
        ),
        "INVALID_REQUEST"
    );
    let e = err(&call(&client, "get_history", json!({ "from_ts": "2026-01-01T00:00:00Z", "to_ts": "2026-01-02T00:00:00Z", "symbol": "EUR*" })).await);
    assert_eq!(e["code"], json!("INVALID_REQUEST"));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn wrong_argument_types_and_unknown_tools_fail_without_hurting_the_server() {
    let sb = Sandbox::new("");
    let client = sb.serve().await;
    for (tool, args) in [
        ("get_quote", json!({})),
        ("get_quote", json!({ "symbol": 42 })),
        ("get_quote", json!({ "symbol": ["EURUSD"] })),
        ("get_symbols", json!({ "category": 7 })),
        ("get_positions", json!({ "symbol": {} })),
    ] {
        let e = err(&call(&client, tool, args.clone()).await);
        assert_eq!(e["code"], json!("INVALID_REQUEST"), "{tool} {args}");
        assert_eq!(e["requires_human"], json!(false));
    }
    let mut params = rmcp::model::CallToolRequestParams::new("no_such_tool");
    params = params.with_arguments(serde_json::Map::new());
    let unknown = client.call_tool(params).await;
    match unknown {
        Ok(r) => assert_eq!(r.is_error, Some(true)),
        Err(e) => assert!(
            e.to_string().contains("no_such_tool") || e.to_string().to_lowercase().contains("tool"),
            "{e}"
        ),
    }
    ok(&call(&client, "get_account_info", json!({})).await);
    client.cancel().await.unwrap();
}
