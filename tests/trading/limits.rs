//! Preflight limits that do not depend on realised losses: max_notional_per_trade, the
//! symbol lists on every tool, max_orders_per_minute, their order against consent, and hot
//! reload. Thresholds are met exactly with pending orders, whose notional is fixed by
//! their price.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::common::trading::*;

fn limit_at(price: Decimal, volume: &str) -> Value {
    json!({ "symbol": "EURUSD", "side": "buy", "type": "limit", "volume": volume,
            "price": px(price, 5) })
}

#[tokio::test]
async fn max_notional_per_trade_refuses_only_above_the_cap() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let price = far_below(&c, "EURUSD", 5).await;
    c.cancel().await.unwrap();
    // 0.10 lot of EURUSD at `price`, in USD (tick value 1 per 0.00001).
    let cap = (price * dd("10000")).normalize();
    set_policy(
        &sb,
        &format!("[policy]\nmax_notional_per_trade = \"{cap}\"\n"),
    );
    let c = sb.serve().await;
    assert_eq!(d(&symbol(&c, "EURUSD").await["tick_value"]), dd("1"));
    let tick = point(5);

    filled(&tcall(&c, "place_order", limit_at(price - tick, "0.10")).await);
    filled(&tcall(&c, "place_order", limit_at(price, "0.10")).await);
    let before = book(&c).await;
    let e = over_limit(
        &tcall(&c, "place_order", limit_at(price + tick, "0.10")).await,
        "max_notional_per_trade",
    );
    assert_eq!(d(&e["details"]["configured"]), cap, "{e}");
    assert_eq!(d(&e["details"]["attempted"]), cap + dd("0.10"), "{e}");
    let e = over_limit(
        &tcall(
            &c,
            "place_order",
            json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "1.00" }),
        )
        .await,
        "max_notional_per_trade",
    );
    assert!(d(&e["details"]["attempted"]) > cap * dd("9"), "{e}");
    assert_eq!(book(&c).await, before, "refusals change nothing");
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn preflight_comes_before_consent() {
    let sb = trading_sandbox(
        "[policy]\nauto_approve_notional = \"100\"\nmax_notional_per_trade = \"50000\"\n\n\
         [symbols]\ndenylist = [\"GBPUSD\"]\n",
    );
    let c = sb.serve().await;
    let before = book(&c).await;
    // Both would need approval; the limits answer first, so no preview is ever shown.
    over_limit(
        &tcall(
            &c,
            "place_order",
            json!({ "symbol": "GBPUSD", "side": "buy", "type": "market", "volume": "0.01" }),
        )
        .await,
        "denylist",
    );
    over_limit(
        &tcall(
            &c,
            "place_order",
            json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "1.00" }),
        )
        .await,
        "max_notional_per_trade",
    );
    preview(
        &tcall(
            &c,
            "place_order",
            json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01" }),
        )
        .await,
    );
    assert_eq!(book(&c).await, before);
    c.cancel().await.unwrap();
}

/// What the symbol-list tests trade on: a GBPUSD and a EURUSD position and pending order,
/// opened by a server without lists.
struct Targets {
    gbp_pos: i64,
    gbp_ord: i64,
    eur_pos: i64,
    eur_ord: i64,
}

async fn open_targets(c: &Client) -> Targets {
    let gbp_price = px(far_below(c, "GBPUSD", 5).await, 5);
    let eur_price = px(far_below(c, "EURUSD", 5).await, 5);
    Targets {
        gbp_pos: ticket(&open(c, "GBPUSD", "buy", "0.01").await),
        gbp_ord: ticket(&buy_limit(c, "GBPUSD", "0.01", &gbp_price).await),
        eur_pos: ticket(&open(c, "EURUSD", "buy", "0.01").await),
        eur_ord: ticket(&buy_limit(c, "EURUSD", "0.01", &eur_price).await),
    }
}

/// Every tool on the GBPUSD targets is refused by `limit`, naming `configured`; the
/// terminal is unchanged.
async fn refused_on_every_tool(c: &Client, t: &Targets, limit: &str, configured: &str) {
    let before = book(c).await;
    let (bid, _) = quote(c, "GBPUSD").await;
    let sl = px(bid - point(5) * dd("500"), 5);
    let calls = [
        (
            "place_order",
            json!({ "symbol": "GBPUSD", "side": "buy", "type": "market", "volume": "0.01" }),
        ),
        ("modify_order", json!({ "ticket": t.gbp_pos, "sl": sl })),
        (
            "modify_order",
            json!({ "ticket": t.gbp_ord, "tp": px(bid, 5) }),
        ),
        ("close_position", json!({ "ticket": t.gbp_pos })),
        ("cancel_order", json!({ "ticket": t.gbp_ord })),
    ];
    for (tool, args) in calls {
        let e = over_limit(&tcall(c, tool, args.clone()).await, limit);
        assert_eq!(
            e["details"]["configured"],
            json!(configured),
            "{tool} {args}"
        );
        assert_eq!(e["details"]["attempted"], json!("GBPUSD"), "{tool} {args}");
    }
    assert_eq!(book(c).await, before, "{limit}: nothing changed");
}

#[tokio::test]
async fn symbol_lists_apply_to_every_tool_on_the_targets_symbol() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let t = open_targets(&c).await;
    c.cancel().await.unwrap();

    set_policy(&sb, "[symbols]\ndenylist = [\"GBPUSD\", \"USDJPY\"]\n");
    let c = sb.serve().await;
    refused_on_every_tool(&c, &t, "denylist", "GBPUSD,USDJPY").await;
    // Other symbols trade normally.
    let (_, ask) = quote(&c, "EURUSD").await;
    filled(
        &tcall(
            &c,
            "modify_order",
            json!({ "ticket": t.eur_pos, "tp": px(ask + point(5) * dd("800"), 5) }),
        )
        .await,
    );
    filled(&tcall(&c, "cancel_order", json!({ "ticket": t.eur_ord })).await);
    c.cancel().await.unwrap();

    set_policy(&sb, "[symbols]\nallowlist = [\"EURUSD\"]\n");
    let c = sb.serve().await;
    refused_on_every_tool(&c, &t, "allowlist", "EURUSD").await;
    filled(&tcall(&c, "close_position", json!({ "ticket": t.eur_pos })).await);
    open(&c, "EURUSD", "sell", "0.01").await;
    c.cancel().await.unwrap();

    // Exact, case-sensitive match: "eurusd" does not allow EURUSD.
    set_policy(&sb, "[symbols]\nallowlist = [\"eurusd\"]\n");
    let c = sb.serve().await;
    let e = over_limit(
        &tcall(
            &c,
            "place_order",
            json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01" }),
        )
        .await,
        "allowlist",
    );
    assert_eq!(e["details"]["attempted"], json!("EURUSD"));
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn the_order_rate_cap_counts_placements_in_the_last_minute() {
    let sb = trading_sandbox("[policy]\nmax_orders_per_minute = 2\n");
    let c = sb.serve().await;
    let price = far_below(&c, "EURUSD", 5).await;
    let first = filled(&tcall(&c, "place_order", limit_at(price, "0.01")).await);
    filled(&tcall(&c, "place_order", limit_at(price, "0.01")).await);
    let before = book(&c).await;
    for _ in 0..2 {
        let e = over_limit(
            &tcall(&c, "place_order", limit_at(price, "0.01")).await,
            "max_orders_per_minute",
        );
        assert_eq!(e["details"]["configured"], json!("2"), "{e}");
        assert_eq!(e["details"]["attempted"], json!("3"), "{e}");
    }
    assert_eq!(book(&c).await, before, "a refused placement is not sent");
    // The cap is for placements only.
    let sl = px(price - point(5) * dd("100"), 5);
    filled(
        &tcall(
            &c,
            "modify_order",
            json!({ "ticket": ticket(&first), "sl": sl }),
        )
        .await,
    );
    filled(&tcall(&c, "cancel_order", json!({ "ticket": ticket(&first) })).await);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn the_order_rate_cap_applies_after_consent() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let (bid, _) = quote(&c, "EURUSD").await;
    c.cancel().await.unwrap();
    let gate = (bid * dd("4500")).round_dp(0);
    set_policy(
        &sb,
        &format!("[policy]\nauto_approve_notional = \"{gate}\"\nmax_orders_per_minute = 1\n"),
    );
    let c = sb.serve().await;
    open(&c, "EURUSD", "buy", "0.01").await;
    let big = json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.10",
                      "deviation": 100 });
    // The cap is reached, yet the first pass still previews: consent comes first.
    let p = preview(&tcall(&c, "place_order", big.clone()).await);
    let before = book(&c).await;
    let mut yes = big;
    yes["approval_confirmed"] = json!(true);
    yes["approval_request_id"] = p["request_id"].clone();
    let e = over_limit(
        &tcall(&c, "place_order", yes).await,
        "max_orders_per_minute",
    );
    assert_eq!(e["details"]["configured"], json!("1"));
    assert_eq!(e["details"]["attempted"], json!("2"));
    assert_eq!(book(&c).await, before);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn a_limit_rewritten_in_the_config_applies_to_the_running_server() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let price = far_below(&c, "EURUSD", 5).await;
    filled(&tcall(&c, "place_order", limit_at(price, "0.01")).await);

    set_policy(&sb, "[policy]\nmax_notional_per_trade = \"5.50\"\n");
    let e = eventually(15, "the new cap to apply", || async {
        let r = tcall(&c, "place_order", limit_at(price, "0.01")).await;
        (r.is_error == Some(true)).then(|| over_limit(&r, "max_notional_per_trade"))
    })
    .await;
    assert_eq!(d(&e["details"]["configured"]), dd("5.50"));
    assert_eq!(
        d(&e["details"]["attempted"]),
        price * dd("1000"),
        "0.01 lot at the limit price, in USD"
    );

    // Removing the limit lifts it, still without a restart.
    set_policy(&sb, "");
    eventually(15, "the cap to lift", || async {
        let r = tcall(&c, "place_order", limit_at(price, "0.01")).await;
        (r.is_error != Some(true)).then(|| filled(&r))
    })
    .await;

    // So do the symbol lists.
    set_policy(&sb, "[symbols]\ndenylist = [\"EURUSD\"]\n");
    eventually(15, "the denylist to apply", || async {
        let r = tcall(&c, "place_order", limit_at(price, "0.01")).await;
        (r.is_error == Some(true)).then(|| over_limit(&r, "denylist"))
    })
    .await;

    // The consent gate reloads too.
    set_policy(&sb, "[policy]\nauto_approve_notional = \"1\"\n");
    let p = eventually(15, "the gate to arm", || async {
        let r = tcall(&c, "place_order", limit_at(price, "0.01")).await;
        if r.is_error == Some(true) {
            over_limit(&r, "denylist"); // the previous config, until the reload lands
            return None;
        }
        body(&r).get("request_id").is_some().then(|| preview(&r))
    })
    .await;
    assert_eq!(p["action"], json!("place_order"));
    c.cancel().await.unwrap();
}
