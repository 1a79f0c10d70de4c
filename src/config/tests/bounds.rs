//! Every bounded key at its bound, just inside and just outside.

use super::{error_of, load_text};

/// (table, `key = value` line, expected error after `<file>: `, or `None` if accepted).
const CASES: &[(&str, &str, Option<&str>)] = &[
    ("mt5", "login = 1", None),
    ("mt5", "login = 0", Some("mt5.login: must be > 0 (got 0)")),
    ("mt5.bridge", "port = 1", None),
    ("mt5.bridge", "port = 65535", None),
    (
        "mt5.bridge",
        "port = 0",
        Some("mt5.bridge.port: must be between 1 and 65535 (got 0)"),
    ),
    (
        "mt5.bridge",
        "port = 65536",
        Some("mt5.bridge.port: must be between 1 and 65535 (got 65536)"),
    ),
    (
        "mt5.bridge",
        "host = \"\"",
        Some("mt5.bridge.host: must not be empty (remove the key to leave it unset)"),
    ),
    ("policy", "auto_approve_notional = 0", None),
    ("policy", "auto_approve_notional = \"0.01\"", None),
    (
        "policy",
        "auto_approve_notional = \"-0.01\"",
        Some("policy.auto_approve_notional: must be >= 0 (got -0.01)"),
    ),
    ("policy", "max_notional_per_trade = 0", None),
    (
        "policy",
        "max_notional_per_trade = -1",
        Some("policy.max_notional_per_trade: must be >= 0 (got -1)"),
    ),
    ("policy", "max_realised_loss_per_close = 0.0", None),
    (
        "policy",
        "max_realised_loss_per_close = -0.5",
        Some("policy.max_realised_loss_per_close: must be >= 0 (got -0.5)"),
    ),
    ("policy", "max_daily_loss = \"0\"", None),
    (
        "policy",
        "max_daily_loss = \"-1e2\"",
        Some("policy.max_daily_loss: must be >= 0 (got -100)"),
    ),
    ("policy", "approval_ttl_seconds = 1", None),
    (
        "policy",
        "approval_ttl_seconds = 0",
        Some("policy.approval_ttl_seconds: must be > 0 (got 0)"),
    ),
    ("policy", "approval_ttl_seconds = 315360000", None),
    (
        "policy",
        "approval_ttl_seconds = 315360001",
        Some("policy.approval_ttl_seconds: must be at most 315360000 (got 315360001)"),
    ),
    ("policy", "max_orders_per_minute = 0", None),
    (
        "policy",
        "max_orders_per_minute = -1",
        Some("policy.max_orders_per_minute: must be >= 0 (got -1)"),
    ),
    ("policy", "max_orders_per_minute = 4294967295", None),
    (
        "policy",
        "max_orders_per_minute = 4294967296",
        Some("policy.max_orders_per_minute: must be at most 4294967295 (got 4294967296)"),
    ),
    ("idempotency", "ttl_seconds = 1", None),
    (
        "idempotency",
        "ttl_seconds = 0",
        Some("idempotency.ttl_seconds: must be > 0 (got 0)"),
    ),
    (
        "idempotency",
        "ttl_seconds = 315360001",
        Some("idempotency.ttl_seconds: must be at most 315360000 (got 315360001)"),
    ),
    (
        "idempotency",
        "path = \"\"",
        Some("idempotency.path: must not be empty"),
    ),
    ("audit", "max_bytes = 1", None),
    (
        "audit",
        "max_bytes = 0",
        Some("audit.max_bytes: must be > 0 (got 0)"),
    ),
    (
        "audit",
        "path = \"\"",
        Some("audit.path: must not be empty"),
    ),
    ("transport.http", "port = 1", None),
    ("transport.http", "port = 65535", None),
    (
        "transport.http",
        "port = 0",
        Some("transport.http.port: must be between 1 and 65535 (got 0)"),
    ),
    (
        "transport.http",
        "port = 65536",
        Some("transport.http.port: must be between 1 and 65535 (got 65536)"),
    ),
    ("streaming", "quote_poll_interval_ms = 50", None),
    ("streaming", "quote_poll_interval_ms = 10000", None),
    (
        "streaming",
        "quote_poll_interval_ms = 49",
        Some("streaming.quote_poll_interval_ms: must be between 50 and 10000 (got 49)"),
    ),
    (
        "streaming",
        "quote_poll_interval_ms = 10001",
        Some("streaming.quote_poll_interval_ms: must be between 50 and 10000 (got 10001)"),
    ),
    ("streaming", "account_poll_interval_ms = 100", None),
    ("streaming", "account_poll_interval_ms = 60000", None),
    (
        "streaming",
        "account_poll_interval_ms = 99",
        Some("streaming.account_poll_interval_ms: must be between 100 and 60000 (got 99)"),
    ),
    (
        "streaming",
        "account_poll_interval_ms = 60001",
        Some("streaming.account_poll_interval_ms: must be between 100 and 60000 (got 60001)"),
    ),
    ("streaming", "positions_poll_interval_ms = 100", None),
    ("streaming", "positions_poll_interval_ms = 60000", None),
    (
        "streaming",
        "positions_poll_interval_ms = 99",
        Some("streaming.positions_poll_interval_ms: must be between 100 and 60000 (got 99)"),
    ),
    (
        "streaming",
        "positions_poll_interval_ms = 60001",
        Some("streaming.positions_poll_interval_ms: must be between 100 and 60000 (got 60001)"),
    ),
    ("screenshot", "width = 1", None),
    (
        "screenshot",
        "width = 0",
        Some("screenshot.width: must be > 0 (got 0)"),
    ),
    ("screenshot", "height = 1", None),
    (
        "screenshot",
        "height = 0",
        Some("screenshot.height: must be > 0 (got 0)"),
    ),
    (
        "screenshot",
        "height = 4294967296",
        Some("screenshot.height: must be at most 4294967295 (got 4294967296)"),
    ),
    ("screenshot", "timeout_s = 0.001", None),
    ("screenshot", "timeout_s = 3600", None),
    (
        "screenshot",
        "timeout_s = 0",
        Some("screenshot.timeout_s: must be > 0 (got 0.0)"),
    ),
    (
        "screenshot",
        "timeout_s = -1.5",
        Some("screenshot.timeout_s: must be > 0 (got -1.5)"),
    ),
    (
        "screenshot",
        "timeout_s = 3600.5",
        Some("screenshot.timeout_s: must be at most 3600.0 seconds (got 3600.5)"),
    ),
    (
        "screenshot",
        "template = \"\"",
        Some("screenshot.template: must not be empty (remove the key to leave it unset)"),
    ),
    ("sim", "seed = 0", None),
    ("sim", "seed = \"18446744073709551615\"", None),
    ("sim", "seed = -1", Some("sim.seed: must be >= 0 (got -1)")),
    (
        "sim",
        "seed = \"18446744073709551616\"",
        Some("sim.seed: must be at most 18446744073709551615 (got 18446744073709551616)"),
    ),
    ("sim", "balance = \"0.01\"", None),
    ("sim", "balance = 1000000000000", None),
    (
        "sim",
        "balance = 0",
        Some("sim.balance: must be > 0 (got 0)"),
    ),
    (
        "sim",
        "balance = \"1000000000000.01\"",
        Some("sim.balance: must be at most 1000000000000 (got 1000000000000.01)"),
    ),
    ("sim", "leverage = 1", None),
    ("sim", "leverage = 3000", None),
    (
        "sim",
        "leverage = 0",
        Some("sim.leverage: must be between 1 and 3000 (got 0)"),
    ),
    (
        "sim",
        "leverage = 3001",
        Some("sim.leverage: must be between 1 and 3000 (got 3001)"),
    ),
    ("sim", "broker_utc_offset_minutes = -720", None),
    ("sim", "broker_utc_offset_minutes = 840", None),
    ("sim", "broker_utc_offset_minutes = 0", None),
    ("sim", "broker_utc_offset_minutes = -15", None),
    (
        "sim",
        "broker_utc_offset_minutes = -735",
        Some("sim.broker_utc_offset_minutes: must be between -720 and 840 (got -735)"),
    ),
    (
        "sim",
        "broker_utc_offset_minutes = 855",
        Some("sim.broker_utc_offset_minutes: must be between -720 and 840 (got 855)"),
    ),
    (
        "sim",
        "broker_utc_offset_minutes = 17",
        Some("sim.broker_utc_offset_minutes: must be a multiple of 15 minutes (got 17)"),
    ),
    (
        "sim",
        "state_path = \"\"",
        Some("sim.state_path: must not be empty"),
    ),
    (
        "mt5",
        "server = \"\"",
        Some("mt5.server: must not be empty (remove the key to leave it unset)"),
    ),
    (
        "mt5",
        "python = \"\"",
        Some("mt5.python: must not be empty (remove the key to leave it unset)"),
    ),
];

#[test]
fn every_bound_is_enforced_at_the_edge() {
    let mut failures = Vec::new();
    for (table, line, expected) in CASES {
        let text = format!("[{table}]\n{line}\n");
        match expected {
            None => {
                if let Err(e) = load_text(&text) {
                    failures.push(format!("[{table}] {line}: rejected: {e}"));
                }
            }
            Some(msg) => {
                let got = error_of(&text);
                let want = format!("invalid config <file>: {msg}");
                if got != want {
                    failures.push(format!("[{table}] {line}:\n  want {want}\n  got  {got}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn accepted_edge_values_are_stored_exactly() {
    let c = load_text(
        "[sim]\nseed = \"18446744073709551615\"\nbroker_utc_offset_minutes = -720\n\
         [policy]\nmax_orders_per_minute = 4294967295\n[screenshot]\ntimeout_s = 0.001\n",
    )
    .unwrap()
    .config;
    assert_eq!(c.sim.seed, Some(u64::MAX));
    assert_eq!(c.sim.broker_utc_offset_minutes, -720);
    assert_eq!(c.policy.max_orders_per_minute, u32::MAX);
    assert_eq!(c.screenshot.timeout_s, 0.001);
}
