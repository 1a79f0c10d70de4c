//! The reload log names exactly the keys that changed, and flags the restart-only ones.

use std::path::Path;

use rust_decimal::Decimal;

use super::super::*;

type Mutation = (&'static str, fn(&mut Config));

/// One mutation per key; `changed_keys` must report exactly that key.
const MUTATIONS: &[Mutation] = &[
    ("mt5.terminal_path", |c| c.mt5.terminal_path = "x".into()),
    ("mt5.login", |c| c.mt5.login = Some(1)),
    ("mt5.server", |c| c.mt5.server = Some("s".into())),
    ("mt5.eager_connect", |c| c.mt5.eager_connect = false),
    ("mt5.backend", |c| c.mt5.backend = BackendChoice::Sim),
    ("mt5.python", |c| c.mt5.python = Some("p".into())),
    ("mt5.bridge", |c| {
        c.mt5.bridge = Some(BridgeConfig::default())
    }),
    ("policy.auto_approve_notional", |c| {
        c.policy.auto_approve_notional = Decimal::ONE
    }),
    ("policy.max_notional_per_trade", |c| {
        c.policy.max_notional_per_trade = Decimal::ONE
    }),
    ("policy.max_realised_loss_per_close", |c| {
        c.policy.max_realised_loss_per_close = Decimal::ONE
    }),
    ("policy.max_daily_loss", |c| {
        c.policy.max_daily_loss = Decimal::ONE
    }),
    ("policy.approval_ttl_seconds", |c| {
        c.policy.approval_ttl_seconds = 1
    }),
    ("policy.max_orders_per_minute", |c| {
        c.policy.max_orders_per_minute = 1
    }),
    ("idempotency.path", |c| c.idempotency.path = "/other".into()),
    ("idempotency.ttl_seconds", |c| c.idempotency.ttl_seconds = 1),
    ("symbols.allowlist", |c| {
        c.symbols.allowlist = vec!["A".into()]
    }),
    ("symbols.denylist", |c| {
        c.symbols.denylist = vec!["A".into()]
    }),
    ("audit.path", |c| c.audit.path = "/other".into()),
    ("audit.max_bytes", |c| c.audit.max_bytes = 1),
    ("transport.http.host", |c| {
        c.transport.http.host = "::1".into()
    }),
    ("transport.http.port", |c| c.transport.http.port = 1),
    ("transport.http.auth_token", |c| {
        c.transport.http.auth_token = "t".into()
    }),
    ("transport.http.stateless", |c| {
        c.transport.http.stateless = false
    }),
    ("transport.http.trusted_hosts", |c| {
        c.transport.http.trusted_hosts = vec!["h".into()]
    }),
    ("transport.http.trusted_origins", |c| {
        c.transport.http.trusted_origins = vec!["o".into()]
    }),
    ("telemetry.enabled", |c| c.telemetry.enabled = true),
    ("telemetry.endpoint", |c| c.telemetry.endpoint = "e".into()),
    ("streaming.quote_poll_interval_ms", |c| {
        c.streaming.quote_poll_interval_ms = 50
    }),
    ("streaming.account_poll_interval_ms", |c| {
        c.streaming.account_poll_interval_ms = 100
    }),
    ("streaming.positions_poll_interval_ms", |c| {
        c.streaming.positions_poll_interval_ms = 100
    }),
    ("logging.level", |c| c.logging.level = LogLevel::Debug),
    ("screenshot.width", |c| c.screenshot.width = 1),
    ("screenshot.height", |c| c.screenshot.height = 1),
    ("screenshot.template", |c| {
        c.screenshot.template = Some("t".into())
    }),
    ("screenshot.timeout_s", |c| c.screenshot.timeout_s = 1.0),
    ("sim.seed", |c| c.sim.seed = Some(1)),
    ("sim.balance", |c| c.sim.balance = Decimal::ONE),
    ("sim.leverage", |c| c.sim.leverage = 1),
    ("sim.broker_utc_offset_minutes", |c| {
        c.sim.broker_utc_offset_minutes = 0
    }),
    ("sim.state_path", |c| c.sim.state_path = "/other".into()),
];

#[test]
fn each_changed_field_is_reported_under_its_key() {
    let base = Config::with_data_dir(Path::new("/data"));
    assert!(changed_keys(&base, &base).is_empty());
    for (key, mutate) in MUTATIONS {
        let mut new = base.clone();
        mutate(&mut new);
        assert_eq!(changed_keys(&base, &new), [*key]);
    }
}

#[test]
fn a_decimal_rewritten_with_another_scale_counts_as_changed() {
    let base = Config::with_data_dir(Path::new("/data"));
    let mut new = base.clone();
    new.sim.balance = Decimal::new(1_000_000, 2); // 10000.00
    assert_eq!(changed_keys(&base, &new), ["sim.balance"]);
}

#[test]
fn only_policy_lists_ttls_streaming_and_screenshot_apply_live() {
    let live: Vec<&str> = MUTATIONS
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !needs_restart(k))
        .collect();
    assert_eq!(
        live,
        [
            "policy.auto_approve_notional",
            "policy.max_notional_per_trade",
            "policy.max_realised_loss_per_close",
            "policy.max_daily_loss",
            "policy.approval_ttl_seconds",
            "policy.max_orders_per_minute",
            "idempotency.ttl_seconds",
            "symbols.allowlist",
            "symbols.denylist",
            "telemetry.enabled",
            "telemetry.endpoint",
            "streaming.quote_poll_interval_ms",
            "streaming.account_poll_interval_ms",
            "streaming.positions_poll_interval_ms",
            "screenshot.width",
            "screenshot.height",
            "screenshot.template",
            "screenshot.timeout_s",
        ]
    );
}
