//! Helpers for the trading end-to-end tests: a sandbox whose audit and idempotency files sit
//! at known paths, readers for the three bodies a mutating tool can answer with (OrderResult,
//! ApprovalPreview, error), and a snapshot of the terminal to prove a refused call changed
//! nothing.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use rmcp::RoleClient;
use rmcp::model::CallToolResult;
use rmcp::service::RunningService;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};

use super::{Sandbox, call, texts};

pub type Client = RunningService<RoleClient, ()>;

/// OrderResult keys, in upstream's order.
pub const ORDER_RESULT_KEYS: [&str; 10] = [
    "success",
    "ticket",
    "action",
    "symbol",
    "volume",
    "price_filled",
    "request_echo",
    "replayed",
    "error",
    "server_response_code",
];

/// ApprovalPreview keys, in upstream's order.
pub const PREVIEW_KEYS: [&str; 9] = [
    "request_id",
    "expires_at",
    "summary",
    "action",
    "symbol",
    "notional",
    "estimated_margin",
    "reference_quote",
    "request_echo",
];

pub const ERROR_KEYS: [&str; 6] = [
    "code",
    "message",
    "retryable",
    "requires_human",
    "details",
    "mt5_retcode",
];

// ------------------------------------------------------------------------------ sandbox

pub fn audit_path(sb: &Sandbox) -> PathBuf {
    sb.path().join("audit/audit.jsonl")
}

pub fn idempotency_path(sb: &Sandbox) -> PathBuf {
    sb.path().join("idem/idempotency.db")
}

/// The config tail every trading sandbox carries: audit and idempotency files inside the
/// sandbox, then `policy` (TOML tables such as `[policy]` or `[symbols]`).
pub fn trading_toml(sb: &Sandbox, policy: &str) -> String {
    format!(
        "\n[audit]\npath = {:?}\n\n[idempotency]\npath = {:?}\n\n{policy}\n",
        audit_path(sb).display().to_string(),
        idempotency_path(sb).display().to_string(),
    )
}

/// A seeded sim sandbox with known audit/idempotency paths and `policy` appended.
pub fn trading_sandbox(policy: &str) -> Sandbox {
    let sb = Sandbox::new("");
    sb.write_config(&trading_toml(&sb, policy));
    sb
}

/// Replaces the policy part of a trading sandbox's config (hot reload while a server runs,
/// or the config of the next server started on the same account).
pub fn set_policy(sb: &Sandbox, policy: &str) {
    sb.write_config(&trading_toml(sb, policy));
}

/// Adds `keys` (TOML lines) to the sandbox's `[audit]` or `[idempotency]` table, which
/// [`trading_toml`] always writes. A later [`set_policy`] drops them.
pub fn add_keys(sb: &Sandbox, table: &str, keys: &str) {
    let header = format!("[{table}]\n");
    let cfg = std::fs::read_to_string(sb.config_path()).unwrap();
    assert!(cfg.contains(&header), "no {header} in the config");
    sb.write_raw_config(&cfg.replacen(&header, &format!("{header}{keys}\n"), 1));
}

// ------------------------------------------------------------------------------ calls

/// A tool call that must answer within a minute (a hang is a failure, not a stuck suite).
pub async fn tcall(client: &Client, tool: &str, args: Value) -> CallToolResult {
    tokio::time::timeout(Duration::from_secs(60), call(client, tool, args))
        .await
        .unwrap_or_else(|_| panic!("{tool} did not answer within 60 s"))
}

/// The JSON body of a mutating tool's answer that is not an error: one text block.
pub fn body(r: &CallToolResult) -> Value {
    let blocks = texts(r);
    assert_ne!(r.is_error, Some(true), "unexpected error: {blocks:?}");
    assert_eq!(blocks.len(), 1, "one text block: {blocks:?}");
    let v: Value = serde_json::from_str(&blocks[0]).expect("body is JSON");
    assert!(v.is_object(), "body is an object: {v}");
    v
}

pub fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// An OrderResult (accepted or rejected by the broker), with its keys in order.
pub fn order_result(r: &CallToolResult) -> Value {
    let v = body(r);
    assert_eq!(keys(&v), ORDER_RESULT_KEYS, "OrderResult keys: {v}");
    assert!(
        v["success"].is_boolean() && v["replayed"].is_boolean(),
        "{v}"
    );
    assert!(v["server_response_code"].is_i64(), "{v}");
    assert!(v["request_echo"].is_object(), "{v}");
    assert!(
        v["request_echo"].get("idempotency_key").is_none(),
        "the echo never carries the key: {v}"
    );
    assert!(super::is_decimal(&v["volume"]), "volume decimal: {v}");
    v
}

/// An OrderResult the broker accepted.
pub fn filled(r: &CallToolResult) -> Value {
    let v = order_result(r);
    assert_eq!(v["success"], json!(true), "not filled: {v}");
    assert_eq!(v["error"], Value::Null, "{v}");
    let rc = v["server_response_code"].as_i64().unwrap();
    assert!(rc == 10009 || rc == 10010, "retcode {rc}: {v}");
    v
}

/// An OrderResult the broker refused: success false, a mapped error, the retcode.
pub fn rejected(r: &CallToolResult) -> Value {
    let v = order_result(r);
    assert_eq!(
        v["success"],
        json!(false),
        "expected a broker rejection: {v}"
    );
    assert_eq!(v["ticket"], Value::Null, "{v}");
    assert_eq!(v["price_filled"], Value::Null, "{v}");
    assert_eq!(keys(&v["error"]), ERROR_KEYS, "{v}");
    assert_eq!(v["error"]["mt5_retcode"], v["server_response_code"], "{v}");
    v
}

/// An ApprovalPreview, with its keys in order, a ULID and a future expiry.
pub fn preview(r: &CallToolResult) -> Value {
    let v = body(r);
    assert_eq!(keys(&v), PREVIEW_KEYS, "ApprovalPreview keys: {v}");
    assert!(is_ulid(v["request_id"].as_str().unwrap_or("")), "{v}");
    let expires = super::utc(&v["expires_at"]);
    assert!(
        expires > chrono::Utc::now() - chrono::Duration::seconds(1),
        "{v}"
    );
    assert!(super::is_decimal(&v["notional"]), "{v}");
    assert!(super::is_decimal(&v["estimated_margin"]), "{v}");
    assert_eq!(
        keys(&v["reference_quote"]),
        ["symbol", "bid", "ask", "time"],
        "{v}"
    );
    assert!(v["request_echo"].get("idempotency_key").is_none(), "{v}");
    v
}

/// 26 Crockford base-32 characters (no I, L, O, U), the first at most 7.
pub fn is_ulid(s: &str) -> bool {
    s.len() == 26
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)))
        && s.as_bytes()[0] <= b'7'
}

/// The ErrorDetail of a refused call (isError, `{"error": ...}`), checked for `code`.
pub fn refused(r: &CallToolResult, code: &str) -> Value {
    let e = super::err(r);
    assert_eq!(e["code"], json!(code), "{e}");
    e
}

/// EXCEEDS_LOCAL_LIMIT for `limit`: flags, and configured/attempted as plain decimals.
pub fn over_limit(r: &CallToolResult, limit: &str) -> Value {
    let e = refused(r, "EXCEEDS_LOCAL_LIMIT");
    assert_eq!(e["retryable"], json!(false), "{e}");
    assert_eq!(e["requires_human"], json!(true), "{e}");
    assert_eq!(
        keys(&e["details"]),
        ["limit_name", "configured", "attempted"],
        "{e}"
    );
    assert_eq!(e["details"]["limit_name"], json!(limit), "{e}");
    let (configured, attempted) = (&e["details"]["configured"], &e["details"]["attempted"]);
    assert!(configured.is_string() && attempted.is_string(), "{e}");
    assert_eq!(
        e["message"],
        json!(format!(
            "Request exceeds configured {limit}: attempted {}, configured {}.",
            attempted.as_str().unwrap(),
            configured.as_str().unwrap()
        )),
        "upstream's message"
    );
    e
}

/// INVALID_APPROVAL with exactly `reason` (the message repeats it, as upstream).
pub fn bad_approval(r: &CallToolResult) -> Value {
    let e = refused(r, "INVALID_APPROVAL");
    assert_eq!(e["retryable"], json!(true), "{e}");
    assert_eq!(e["requires_human"], json!(true), "{e}");
    assert!(e["details"]["reason"].is_string(), "{e}");
    e
}

// ------------------------------------------------------------------------------ numbers

pub fn d(v: &Value) -> Decimal {
    assert!(super::is_decimal(v), "not a decimal string: {v}");
    Decimal::from_str(v.as_str().unwrap()).unwrap()
}

pub fn dd(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// `x` rounded half-up to `digits` decimals and written with exactly that many.
pub fn px(x: Decimal, digits: u32) -> String {
    let r = x.round_dp_with_strategy(digits, RoundingStrategy::MidpointAwayFromZero);
    format!("{:.*}", digits as usize, r)
}

/// One point of a symbol with `digits` decimals.
pub fn point(digits: u32) -> Decimal {
    Decimal::new(1, digits)
}

// ------------------------------------------------------------------------------ terminal

pub async fn list(client: &Client, tool: &str, args: Value) -> Vec<Value> {
    super::ok_list(&tcall(client, tool, args).await)
}

pub async fn positions(client: &Client) -> Vec<Value> {
    list(client, "get_positions", json!({})).await
}

pub async fn orders(client: &Client) -> Vec<Value> {
    list(client, "get_orders", json!({})).await
}

pub async fn position(client: &Client, ticket: i64) -> Option<Value> {
    positions(client)
        .await
        .into_iter()
        .find(|p| p["ticket"] == json!(ticket))
}

pub async fn order(client: &Client, ticket: i64) -> Option<Value> {
    orders(client)
        .await
        .into_iter()
        .find(|o| o["ticket"] == json!(ticket))
}

pub async fn account(client: &Client) -> Value {
    super::ok(&tcall(client, "get_account_info", json!({})).await)
}

/// (bid, ask) now.
pub async fn quote(client: &Client, symbol: &str) -> (Decimal, Decimal) {
    let q = super::ok(&tcall(client, "get_quote", json!({ "symbol": symbol })).await);
    (d(&q["bid"]), d(&q["ask"]))
}

pub async fn symbol(client: &Client, name: &str) -> Value {
    list(client, "get_symbols", json!({}))
        .await
        .into_iter()
        .find(|s| s["name"] == json!(name))
        .unwrap_or_else(|| panic!("{name} listed"))
}

/// Every deal from three days ago to an hour ahead.
pub async fn deals(client: &Client) -> Vec<Value> {
    let now = chrono::Utc::now();
    let from = (now - chrono::Duration::days(3)).to_rfc3339();
    let to = (now + chrono::Duration::hours(1)).to_rfc3339();
    list(
        client,
        "get_history",
        json!({ "from_ts": from, "to_ts": to }),
    )
    .await
}

/// What a refused call must leave untouched: positions and orders (their stable fields),
/// the balance and the deal history.
#[derive(Debug, PartialEq)]
pub struct Book {
    pub positions: Vec<Value>,
    pub orders: Vec<Value>,
    pub balance: Value,
    pub deals: Vec<Value>,
}

fn pick(v: &Value, fields: &[&str]) -> Value {
    let mut out = serde_json::Map::new();
    for f in fields {
        out.insert((*f).to_owned(), v[*f].clone());
    }
    Value::Object(out)
}

pub async fn book(client: &Client) -> Book {
    let pos_fields = [
        "ticket",
        "symbol",
        "type",
        "volume",
        "price_open",
        "sl",
        "tp",
    ];
    let ord_fields = [
        "ticket",
        "symbol",
        "type",
        "volume",
        "price",
        "sl",
        "tp",
        "expiration",
    ];
    Book {
        positions: positions(client)
            .await
            .iter()
            .map(|p| pick(p, &pos_fields))
            .collect(),
        orders: orders(client)
            .await
            .iter()
            .map(|o| pick(o, &ord_fields))
            .collect(),
        balance: account(client).await["balance"].clone(),
        deals: deals(client).await,
    }
}

// ------------------------------------------------------------------------------ audit

/// Every audit line, parsed; each must be a JSON object whose first keys are ts, tool,
/// action.
pub fn audit(sb: &Sandbox) -> Vec<Value> {
    let text = std::fs::read_to_string(audit_path(sb)).unwrap_or_default();
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("audit line is not JSON ({e}): {line}"));
            let k = keys(&v);
            assert_eq!(&k[..3], ["ts", "tool", "action"], "audit line: {line}");
            super::utc(&v["ts"]);
            v
        })
        .collect()
}

pub fn audit_actions(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l["action"].as_str().unwrap().to_owned())
        .collect()
}

// ------------------------------------------------------------------------------ polling

/// Polls `f` every 200 ms until it returns `Some`, for at most `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ------------------------------------------------------------------------------ orders

/// Opens a position at market (generous deviation: the sim's prices move every second)
/// and returns the filled OrderResult.
pub async fn open(client: &Client, symbol: &str, side: &str, volume: &str) -> Value {
    filled(
        &tcall(
            client,
            "place_order",
            json!({ "symbol": symbol, "side": side, "type": "market", "volume": volume, "deviation": 200 }),
        )
        .await,
    )
}

/// A buy-limit price 5 % under the bid: far enough that it never triggers during a test.
pub async fn far_below(client: &Client, symbol: &str, digits: u32) -> Decimal {
    let (bid, _) = quote(client, symbol).await;
    dd(&px(bid * dd("0.95"), digits))
}

/// Places a buy limit `volume` lots at `price` and returns the filled OrderResult.
pub async fn buy_limit(client: &Client, symbol: &str, volume: &str, price: &str) -> Value {
    filled(
        &tcall(
            client,
            "place_order",
            json!({ "symbol": symbol, "side": "buy", "type": "limit", "volume": volume, "price": price }),
        )
        .await,
    )
}

pub fn ticket(result: &Value) -> i64 {
    result["ticket"]
        .as_i64()
        .unwrap_or_else(|| panic!("ticket: {result}"))
}

/// The result without `replayed`, to compare a replay with the original.
pub fn sans_replayed(v: &Value) -> Value {
    let mut v = v.clone();
    v.as_object_mut().unwrap().remove("replayed");
    v
}

/// A price as a number: the read tools write the shortest form of the terminal's double
/// ("1.0624"), a caller writes the symbol's digits ("1.06240"). Null stays null.
pub fn n(v: &Value) -> Value {
    match v {
        Value::String(s) => json!(dd(s).normalize().to_string()),
        other => other.clone(),
    }
}
