//! Idempotency keys: a retry replays the stored result (also after the target is gone, also
//! a broker rejection), another body under the same key diverges, and duplicates in flight
//! at once - in one process or in two sharing the data dir - execute once.

use std::os::unix::fs::PermissionsExt;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::common::raw::Raw;
use crate::common::trading::*;

fn market_key(volume: &str, key: &str) -> Value {
    json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": volume,
            "deviation": 200, "idempotency_key": key })
}

/// The replay equals the original apart from `replayed`.
fn is_replay_of(replay: &Value, original: &Value) {
    assert_eq!(replay["replayed"], json!(true), "{replay}");
    assert_eq!(original["replayed"], json!(false), "{original}");
    assert_eq!(sans_replayed(replay), sans_replayed(original));
}

#[tokio::test]
async fn a_retried_place_replays_the_first_result_and_sends_once() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let args = market_key("0.02", "place-once-7f3a");
    let first = filled(&tcall(&c, "place_order", args.clone()).await);
    let after_first = book(&c).await;
    let again = order_result(&tcall(&c, "place_order", args.clone()).await);
    is_replay_of(&again, &first);
    assert_eq!(book(&c).await, after_first, "the retry sent nothing");
    assert_eq!(positions(&c).await.len(), 1);

    // The idempotency store is a private file that holds the key.
    let db = idempotency_path(&sb);
    let mode = std::fs::metadata(&db)
        .expect("idempotency db")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "idempotency db mode {mode:o}");
    let mut bytes = std::fs::read(&db).unwrap();
    if let Ok(wal) = std::fs::read(db.with_extension("db-wal")) {
        bytes.extend(wal);
    }
    assert!(
        bytes.windows(15).any(|w| w == b"place-once-7f3a"),
        "the key is stored"
    );

    // A restart keeps the store: still a replay.
    c.cancel().await.unwrap();
    let c = sb.serve().await;
    let third = order_result(&tcall(&c, "place_order", args).await);
    is_replay_of(&third, &first);
    assert_eq!(positions(&c).await.len(), 1);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn retries_replay_even_after_the_position_or_order_is_gone() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let placed = filled(&tcall(&c, "place_order", market_key("0.03", "k-open")).await);
    let t = ticket(&placed);

    let partial = json!({ "ticket": t, "volume": "0.01", "idempotency_key": "k-part" });
    let first = filled(&tcall(&c, "close_position", partial.clone()).await);
    is_replay_of(
        &order_result(&tcall(&c, "close_position", partial).await),
        &first,
    );
    assert_eq!(
        d(&position(&c, t).await.unwrap()["volume"]),
        dd("0.02"),
        "closed once"
    );

    let full = json!({ "ticket": t, "idempotency_key": "k-close" });
    let first = filled(&tcall(&c, "close_position", full.clone()).await);
    assert!(position(&c, t).await.is_none());
    let deals_after = deals(&c).await;
    // The position is gone: a retry replays instead of INVALID_TICKET.
    is_replay_of(
        &order_result(&tcall(&c, "close_position", full).await),
        &first,
    );
    is_replay_of(
        &order_result(&tcall(&c, "place_order", market_key("0.03", "k-open")).await),
        &placed,
    );
    assert!(positions(&c).await.is_empty());
    assert_eq!(deals(&c).await, deals_after);

    // Modify and cancel of a pending order, the same way.
    let price = far_below(&c, "EURUSD", 5).await;
    let o = ticket(&buy_limit(&c, "EURUSD", "0.01", &px(price, 5)).await);
    let m = json!({ "ticket": o, "price": px(price - point(5) * dd("10"), 5),
                    "idempotency_key": "k-mod" });
    let first = filled(&tcall(&c, "modify_order", m.clone()).await);
    is_replay_of(&order_result(&tcall(&c, "modify_order", m).await), &first);
    let cancel = json!({ "ticket": o, "idempotency_key": "k-cancel" });
    let first = filled(&tcall(&c, "cancel_order", cancel.clone()).await);
    assert!(orders(&c).await.is_empty());
    is_replay_of(
        &order_result(&tcall(&c, "cancel_order", cancel).await),
        &first,
    );
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn a_broker_rejection_is_an_order_result_and_is_replayed_too() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let (_, ask) = quote(&c, "EURUSD").await;
    // A buy's stop loss above the market: the broker refuses the stops (10016).
    let mut args = market_key("0.01", "k-rejected");
    args["sl"] = json!(px(ask + point(5) * dd("300"), 5));
    let before = book(&c).await;
    let first = rejected(&tcall(&c, "place_order", args.clone()).await);
    assert_eq!(first["server_response_code"], json!(10016), "{first}");
    assert_eq!(first["replayed"], json!(false));
    assert_eq!(first["action"], json!("place_order"));
    assert_eq!(d(&first["volume"]), dd("0.01"), "the requested volume");
    let again = order_result(&tcall(&c, "place_order", args).await);
    is_replay_of(&again, &first);
    assert_eq!(book(&c).await, before);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn the_same_key_with_another_body_diverges_and_changes_nothing() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    filled(&tcall(&c, "place_order", market_key("0.01", "k-div")).await);
    let before = book(&c).await;
    let mut other_comment = market_key("0.01", "k-div");
    other_comment["comment"] = json!("second thoughts");
    // "0.010" is the same number but not the same request: the hash keeps the scale.
    for args in [
        market_key("0.02", "k-div"),
        market_key("0.010", "k-div"),
        other_comment,
    ] {
        let e = refused(
            &tcall(&c, "place_order", args.clone()).await,
            "IDEMPOTENCY_DIVERGED",
        );
        assert_eq!(
            e["details"],
            json!({ "key": "k-div", "action": "place_order" }),
            "{args}"
        );
        assert_eq!(e["retryable"], json!(false));
        assert_eq!(e["requires_human"], json!(true));
    }
    assert_eq!(book(&c).await, before);

    // The hash takes the price as the caller wrote it, before rounding to the symbol's digits.
    let price = far_below(&c, "EURUSD", 5).await;
    let limit = |p: String| {
        json!({ "symbol": "EURUSD", "side": "buy", "type": "limit", "volume": "0.01",
                "price": p, "idempotency_key": "k-div-price" })
    };
    filled(&tcall(&c, "place_order", limit(px(price, 5))).await);
    let before = book(&c).await;
    refused(
        &tcall(&c, "place_order", limit(format!("{}1", px(price, 5)))).await,
        "IDEMPOTENCY_DIVERGED",
    );
    assert_eq!(book(&c).await, before);

    // The key's scope is (key, action): the same key on another tool is a new request.
    let price = far_below(&c, "EURUSD", 5).await;
    let o = ticket(&buy_limit(&c, "EURUSD", "0.01", &px(price, 5)).await);
    filled(
        &tcall(
            &c,
            "cancel_order",
            json!({ "ticket": o, "idempotency_key": "k-div" }),
        )
        .await,
    );
    assert!(order(&c, o).await.is_none(), "cancelled under the same key");
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn an_empty_key_is_no_key_and_long_printable_keys_work() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let a = filled(&tcall(&c, "place_order", market_key("0.01", "")).await);
    let b = filled(&tcall(&c, "place_order", market_key("0.01", "")).await);
    assert_ne!(a["ticket"], b["ticket"], "no key, no replay");
    let long: String = "k".repeat(120) + "!#$%&*+~";
    assert_eq!(long.len(), 128);
    let first = filled(&tcall(&c, "place_order", market_key("0.01", &long)).await);
    is_replay_of(
        &order_result(&tcall(&c, "place_order", market_key("0.01", &long)).await),
        &first,
    );
    assert_eq!(positions(&c).await.len(), 3);
    c.cancel().await.unwrap();
}

/// `n` answers to one keyed request: exactly one executed, the rest replays of it.
fn executed_once(answers: &[Value]) -> Value {
    let originals: Vec<&Value> = answers
        .iter()
        .filter(|a| a["replayed"] == json!(false))
        .collect();
    assert_eq!(originals.len(), 1, "exactly one execution: {answers:#?}");
    let original = originals[0].clone();
    assert_eq!(original["success"], json!(true), "{original}");
    for a in answers {
        assert_eq!(sans_replayed(a), sans_replayed(&original));
    }
    original
}

#[tokio::test]
async fn concurrent_duplicates_in_one_process_execute_once() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let args = market_key("0.01", "k-burst");
    let calls = (0..8).map(|_| tcall(&c, "place_order", args.clone()));
    let answers: Vec<Value> = join_all(calls).await.iter().map(order_result).collect();
    let original = executed_once(&answers);
    let ps = positions(&c).await;
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(ps[0]["ticket"], original["ticket"]);

    // Different keys in flight together all execute.
    let calls = (0..4).map(|i| tcall(&c, "place_order", market_key("0.01", &format!("k-par-{i}"))));
    for r in join_all(calls).await {
        filled(&r);
    }
    assert_eq!(positions(&c).await.len(), 5);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn two_processes_sharing_the_data_dir_execute_a_key_once() {
    let sb = trading_sandbox("");
    let a = sb.serve().await;
    let b = sb.serve().await;
    for round in 0..3 {
        let args = market_key("0.01", &format!("k-cross-{round}"));
        let (ra, rb) = tokio::join!(
            tcall(&a, "place_order", args.clone()),
            tcall(&b, "place_order", args.clone())
        );
        executed_once(&[order_result(&ra), order_result(&rb)]);
        // Each sim process re-reads the shared account at most every 100 ms.
        for c in [&a, &b] {
            eventually(10, "both processes to see one position per key", || async {
                let n = positions(c).await.len();
                assert!(n <= round + 1, "round {round}: {n} positions");
                (n == round + 1).then_some(())
            })
            .await;
        }
    }
    // Closing from both at once with one key closes once.
    let t = positions(&a).await[0]["ticket"].as_i64().unwrap();
    let args = json!({ "ticket": t, "idempotency_key": "k-cross-close" });
    let (ra, rb) = tokio::join!(
        tcall(&a, "close_position", args.clone()),
        tcall(&b, "close_position", args.clone())
    );
    executed_once(&[order_result(&ra), order_result(&rb)]);
    for c in [&a, &b] {
        eventually(10, "the close to show in both processes", || async {
            (positions(c).await.len() == 2).then_some(())
        })
        .await;
    }
    let executed = audit(&sb)
        .iter()
        .filter(|l| l["action"] == json!("executed"))
        .count();
    assert_eq!(
        executed, 4,
        "one executed line per key across both processes"
    );
    a.cancel().await.unwrap();
    b.cancel().await.unwrap();
}

#[tokio::test]
async fn a_server_killed_mid_order_never_causes_a_second_fill() {
    let sb = trading_sandbox("");
    let mut total = 0;
    let mut seen = Vec::new();
    for round in 0..8u64 {
        let key = format!("k-crash-{round}");
        let args = market_key("0.01", &key);
        let raw = Raw::start(&sb).await;
        let mut raw = raw;
        let call = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                           "params": { "name": "place_order", "arguments": args } });
        raw.send_line(&call.to_string()).await;
        tokio::time::sleep(std::time::Duration::from_millis(round * 2)).await;
        raw.kill_now().await;

        let c = sb.serve().await;
        let started = std::time::Instant::now();
        let r = tcall(&c, "place_order", args.clone()).await;
        let outcome = if r.is_error == Some(true) {
            // Claimed, and the broker shows no order with its tag: a human must look.
            let e = refused(&r, "MT5_NULL_RESPONSE");
            assert_eq!(e["requires_human"], json!(true), "{e}");
            assert_eq!(e["details"]["idempotency_key"], json!(key), "{e}");
            assert!(e["details"]["tag"].is_i64(), "{e}");
            let last = audit(&sb).pop().expect("audited");
            assert_eq!(last["action"], json!("outcome_unknown"), "{last}");
            "unknown"
        } else {
            let v = filled(&r);
            total += 1;
            if v["replayed"] == json!(true) {
                "replayed"
            } else {
                "executed"
            }
        };
        seen.push((outcome, started.elapsed()));
        let now = positions(&c).await.len();
        assert_eq!(
            now, total,
            "round {round} ({outcome}): one fill per key at most"
        );
        // Asking once more changes nothing either.
        let again = tcall(&c, "place_order", args).await;
        if again.is_error != Some(true) {
            assert_eq!(order_result(&again)["replayed"], json!(true));
        }
        assert_eq!(positions(&c).await.len(), total, "round {round}: retry");
        c.cancel().await.unwrap();
    }
    eprintln!("crash rounds (outcome, time to answer): {seen:?}");
}

#[tokio::test]
async fn an_expired_key_is_a_new_request() {
    let sb = trading_sandbox("");
    add_keys(&sb, "idempotency", "ttl_seconds = 1");
    let c = sb.serve().await;
    let args = market_key("0.01", "k-short-lived");
    let first = filled(&tcall(&c, "place_order", args.clone()).await);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let second = filled(&tcall(&c, "place_order", args).await);
    assert_eq!(second["replayed"], json!(false), "the key expired");
    assert_ne!(second["ticket"], first["ticket"]);
    assert_eq!(positions(&c).await.len(), 2);
    c.cancel().await.unwrap();
}
