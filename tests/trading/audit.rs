//! The audit trail: one JSONL line per event, `intent` written before the order is sent,
//! exactly one terminal line per call that reaches the policy engine, none for input errors.

use std::os::unix::fs::PermissionsExt;

use serde_json::{Value, json};

use crate::common::Sandbox;
use crate::common::trading::*;

/// Audit lines written since `seen` lines were there; updates `seen`.
fn fresh(sb: &Sandbox, seen: &mut usize) -> Vec<Value> {
    let all = audit(sb);
    let new = all[*seen..].to_vec();
    *seen = all.len();
    new
}

fn extra_keys(line: &Value) -> Vec<&str> {
    keys(line)[3..].to_vec()
}

fn is_hash(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.strip_prefix("sha256:")
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    })
}

/// The order dict an `intent` line carries: the object value holding the request's symbol.
fn intent_order(line: &Value) -> Value {
    line.as_object()
        .unwrap()
        .values()
        .find(|v| v.is_object() && (v.get("symbol").is_some() || v.get("order").is_some()))
        .cloned()
        .unwrap_or_else(|| panic!("intent carries the order dict: {line}"))
}

/// Upstream's `executed` fields, in order.
const EXECUTED_KEYS: [&str; 4] = ["request_hash", "ticket", "duration_ms", "result_status"];

/// Every `executed` line carries exactly upstream's fields (checked last, so that a
/// difference here does not hide the other checks).
fn executed_lines_as_upstream(sb: &Sandbox) {
    for line in audit(sb)
        .iter()
        .filter(|l| l["action"] == json!("executed"))
    {
        assert_eq!(extra_keys(line), EXECUTED_KEYS, "executed line: {line}");
    }
}

/// Checks an executed call's two lines: `intent` then `executed`, same tool and hash.
fn intent_then_executed(lines: &[Value], tool: &str, result: &Value) -> Value {
    assert_eq!(audit_actions(lines), ["intent", "executed"], "{lines:#?}");
    let (intent, done) = (&lines[0], &lines[1]);
    assert_eq!(intent["tool"], json!(tool));
    assert_eq!(done["tool"], json!(tool));
    assert!(is_hash(&done["request_hash"]), "{done}");
    assert_eq!(intent["request_hash"], done["request_hash"]);
    assert_eq!(
        extra_keys(done)[..4],
        EXECUTED_KEYS,
        "upstream's keys first: {done}"
    );
    assert_eq!(done["ticket"], result["ticket"]);
    assert!(
        done["duration_ms"].as_i64().is_some_and(|ms| ms >= 0),
        "{done}"
    );
    let status = if result["success"] == json!(true) {
        "filled"
    } else {
        "rejected"
    };
    assert_eq!(done["result_status"], json!(status));
    assert!(
        crate::common::utc(&intent["ts"]) <= crate::common::utc(&done["ts"]),
        "intent is written first"
    );
    intent_order(intent)
}

#[tokio::test]
async fn every_event_leaves_its_line_and_input_errors_none() {
    let sb = trading_sandbox("");
    let c = sb.serve().await;
    let (bid, _) = quote(&c, "EURUSD").await;
    c.cancel().await.unwrap();
    let gate = (bid * dd("4500")).round_dp(0);
    set_policy(
        &sb,
        &format!(
            "[policy]\nauto_approve_notional = \"{gate}\"\n\n[symbols]\ndenylist = [\"USDJPY\"]\n"
        ),
    );
    let c = sb.serve().await;
    let mut seen = audit(&sb).len();
    let small = json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01",
                        "deviation": 200, "idempotency_key": "audit-k1" });

    // Executed: intent (with the order dict and a key-derived tag), then executed.
    let r = filled(&tcall(&c, "place_order", small.clone()).await);
    let lines = fresh(&sb, &mut seen);
    let sent = intent_then_executed(&lines, "place_order", &r);
    let hash = lines[1]["request_hash"].clone();
    assert_eq!(sent["symbol"], json!("EURUSD"), "{sent}");
    let tag = sent["magic"].as_i64().expect("magic in the order dict");
    assert_ne!(tag, 0, "a keyed order carries its tag");

    // Replay.
    order_result(&tcall(&c, "place_order", small.clone()).await);
    let lines = fresh(&sb, &mut seen);
    assert_eq!(audit_actions(&lines), ["replay"]);
    assert_eq!(extra_keys(&lines[0]), ["idempotency_key", "request_hash"]);
    assert_eq!(lines[0]["idempotency_key"], json!("audit-k1"));
    assert_eq!(lines[0]["request_hash"], hash);

    // Divergence.
    let mut other = small.clone();
    other["volume"] = json!("0.02");
    refused(
        &tcall(&c, "place_order", other).await,
        "IDEMPOTENCY_DIVERGED",
    );
    let lines = fresh(&sb, &mut seen);
    assert_eq!(audit_actions(&lines), ["idempotency_diverged"]);
    assert_eq!(extra_keys(&lines[0]), ["idempotency_key", "request_hash"]);
    assert_ne!(lines[0]["request_hash"], hash);

    // Preview, then the three kinds of refused approval.
    let big = json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.10" });
    let p = preview(&tcall(&c, "place_order", big.clone()).await);
    let lines = fresh(&sb, &mut seen);
    assert_eq!(audit_actions(&lines), ["requires_approval"]);
    assert_eq!(extra_keys(&lines[0]), ["request_id", "request_hash"]);
    assert_eq!(lines[0]["request_id"], p["request_id"]);
    let mut changed = big.clone();
    changed["volume"] = json!("0.2");
    changed["approval_confirmed"] = json!(true);
    changed["approval_request_id"] = p["request_id"].clone();
    bad_approval(&tcall(&c, "place_order", changed.clone()).await);
    let lines = fresh(&sb, &mut seen);
    assert_eq!(audit_actions(&lines), ["invalid_approval"]);
    assert_eq!(
        extra_keys(&lines[0]),
        ["request_id", "request_hash", "reason"]
    );
    assert_eq!(
        lines[0]["reason"],
        json!("volume mismatch: preview=0.10 retry=0.2")
    );
    bad_approval(&tcall(&c, "place_order", changed.clone()).await);
    let lines = fresh(&sb, &mut seen);
    assert_eq!(audit_actions(&lines), ["invalid_approval"]);
    assert_eq!(extra_keys(&lines[0]), ["request_id", "request_hash"]);
    changed
        .as_object_mut()
        .unwrap()
        .remove("approval_request_id");
    bad_approval(&tcall(&c, "place_order", changed).await);
    let lines = fresh(&sb, &mut seen);
    assert_eq!(audit_actions(&lines), ["invalid_approval"]);
    assert_eq!(extra_keys(&lines[0]), ["request_hash"]);

    // Preflight refusal.
    over_limit(
        &tcall(
            &c,
            "place_order",
            json!({ "symbol": "USDJPY", "side": "buy", "type": "market", "volume": "0.01" }),
        )
        .await,
        "denylist",
    );
    let lines = fresh(&sb, &mut seen);
    assert_eq!(audit_actions(&lines), ["preflight_refused"]);
    assert_eq!(extra_keys(&lines[0]), ["request_hash", "limit_name"]);
    assert_eq!(lines[0]["limit_name"], json!("denylist"));

    // A broker rejection without a key: intent (tag 0), executed "rejected".
    let (_, ask) = quote(&c, "EURUSD").await;
    let r = rejected(
        &tcall(
            &c,
            "place_order",
            json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01",
                    "sl": px(ask + point(5) * dd("300"), 5) }),
        )
        .await,
    );
    let lines = fresh(&sb, &mut seen);
    let sent = intent_then_executed(&lines, "place_order", &r);
    assert_eq!(sent["magic"], json!(0), "no key, no tag: {sent}");

    // Input errors stop before the policy engine: no line.
    let t = ticket(&open(&c, "EURUSD", "buy", "0.01").await);
    fresh(&sb, &mut seen);
    for (tool, args) in [
        (
            "place_order",
            json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "abc" }),
        ),
        (
            "place_order",
            json!({ "symbol": "NOPE", "side": "buy", "type": "market", "volume": "0.01" }),
        ),
        (
            "place_order",
            json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01",
                    "comment": "é" }),
        ),
        ("modify_order", json!({ "ticket": 987654321, "sl": "1.0" })),
        ("close_position", json!({ "ticket": 987654321 })),
        ("close_position", json!({ "ticket": t, "volume": "0" })),
        ("cancel_order", json!({ "ticket": 987654321 })),
    ] {
        crate::common::err(&tcall(&c, tool, args.clone()).await);
        assert!(
            fresh(&sb, &mut seen).is_empty(),
            "{tool} {args}: not audited"
        );
    }

    // Modify, close and cancel each leave intent + executed under their own tool name,
    // with distinct tags for distinct keys.
    let (bid, _) = quote(&c, "EURUSD").await;
    let r = filled(
        &tcall(
            &c,
            "modify_order",
            json!({ "ticket": t, "tp": px(bid + point(5) * dd("900"), 5), "idempotency_key": "audit-m" }),
        )
        .await,
    );
    let sent = intent_then_executed(&fresh(&sb, &mut seen), "modify_order", &r);
    assert_ne!(
        sent["magic"].as_i64().unwrap(),
        tag,
        "another key, another tag"
    );
    let r = filled(&tcall(&c, "close_position", json!({ "ticket": t })).await);
    intent_then_executed(&fresh(&sb, &mut seen), "close_position", &r);
    let price = far_below(&c, "EURUSD", 5).await;
    let o = ticket(&buy_limit(&c, "EURUSD", "0.01", &px(price, 5)).await);
    fresh(&sb, &mut seen);
    let r = filled(&tcall(&c, "cancel_order", json!({ "ticket": o })).await);
    intent_then_executed(&fresh(&sb, &mut seen), "cancel_order", &r);

    let mode = std::fs::metadata(audit_path(&sb))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "audit file mode {mode:o}");
    c.cancel().await.unwrap();
    executed_lines_as_upstream(&sb);
}

#[tokio::test]
async fn a_confirmed_order_is_audited_as_preview_then_intent_then_executed() {
    let sb = trading_sandbox("[policy]\nauto_approve_notional = \"1\"\n");
    let c = sb.serve().await;
    let args = json!({ "symbol": "EURUSD", "side": "sell", "type": "market", "volume": "0.01",
                       "deviation": 200 });
    let p = preview(&tcall(&c, "place_order", args.clone()).await);
    let mut yes = args;
    yes["approval_confirmed"] = json!(true);
    yes["approval_request_id"] = p["request_id"].clone();
    let r = filled(&tcall(&c, "place_order", yes).await);
    let lines = audit(&sb);
    assert_eq!(
        audit_actions(&lines),
        ["requires_approval", "intent", "executed"]
    );
    // The preview's hash excludes the approval fields: the same request.
    assert_eq!(lines[0]["request_hash"], lines[2]["request_hash"]);
    intent_then_executed(&lines[1..], "place_order", &r);
    c.cancel().await.unwrap();
    executed_lines_as_upstream(&sb);
}

#[tokio::test]
async fn without_a_usable_audit_log_nothing_is_sent() {
    let sb = trading_sandbox("");
    // The audit file's directory cannot be created: its parent is a regular file.
    std::fs::create_dir_all(sb.path().join("audit")).unwrap();
    std::fs::remove_dir(sb.path().join("audit")).unwrap();
    std::fs::write(sb.path().join("audit"), b"not a directory").unwrap();
    let c = sb.serve().await;
    let before = book(&c).await;
    let (bid, _) = quote(&c, "EURUSD").await;
    for (tool, args) in [
        (
            "place_order",
            json!({ "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01" }),
        ),
        (
            "place_order",
            json!({ "symbol": "EURUSD", "side": "buy", "type": "limit", "volume": "0.01",
                    "price": px(bid * dd("0.9"), 5) }),
        ),
    ] {
        let e = refused(&tcall(&c, tool, args).await, "INTERNAL_ERROR");
        assert_eq!(e["requires_human"], json!(true), "{e}");
        assert!(
            e["message"].as_str().unwrap().contains("audit"),
            "names the audit log: {e}"
        );
    }
    assert_eq!(book(&c).await, before, "nothing was sent");
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn the_audit_log_rotates_at_max_bytes_and_loses_no_line() {
    let sb = trading_sandbox("");
    add_keys(&sb, "audit", "max_bytes = 600");
    let c = sb.serve().await;
    let price = far_below(&c, "EURUSD", 5).await;
    let mut tickets = vec![];
    for _ in 0..6 {
        tickets.push(ticket(
            &buy_limit(&c, "EURUSD", "0.01", &px(price, 5)).await,
        ));
    }
    c.cancel().await.unwrap();
    let dir = audit_path(&sb).parent().unwrap().to_owned();
    let mut lines = vec![];
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("audit.jsonl"), "{name}");
        if name != "audit.jsonl" {
            let suffix = &name["audit.jsonl.".len()..];
            assert!(
                suffix
                    .split('.')
                    .all(|p| p.bytes().all(|b| b.is_ascii_digit())),
                "rotated name <name>.<unix seconds>[.n]: {name}"
            );
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        files += 1;
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            lines.push(serde_json::from_str::<Value>(line).expect("whole JSON lines"));
        }
    }
    assert!(
        files >= 3,
        "12 lines of ~250 bytes at 600 bytes a file: {files} files"
    );
    let executed: Vec<&Value> = lines
        .iter()
        .filter(|l| l["action"] == json!("executed"))
        .collect();
    assert_eq!(executed.len(), 6, "every line kept");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["action"] == json!("intent"))
            .count(),
        6
    );
    for t in tickets {
        assert!(executed.iter().any(|l| l["ticket"] == json!(t)), "{t}");
    }
}
