//! Which keys differ between two configs, and which of those need a restart.
//!
//! Hot reload logs both lists (DESIGN 3.5). The comparison destructures every struct
//! without `..`, so adding a field to the schema is a compile error here until the new key
//! is listed, and the reload log can never silently miss a change.

use super::{
    AuditConfig, Config, HttpConfig, IdempotencyConfig, LoggingConfig, Mt5Config, PolicyConfig,
    ScreenshotConfig, SimConfig, StreamingConfig, SymbolsConfig, TelemetryConfig, TransportConfig,
};

/// Dotted keys (`policy.max_daily_loss`) whose effective values differ, in schema order.
/// `mt5.bridge` is one key: the table's presence matters as much as its fields.
pub fn changed_keys(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut out = Vec::new();
    let Config {
        mt5,
        policy,
        idempotency,
        symbols,
        audit,
        transport,
        telemetry,
        streaming,
        logging,
        screenshot,
        sim,
    } = new;
    let mut cmp = |key: &'static str, changed: bool| {
        if changed {
            out.push(key);
        }
    };

    let Mt5Config {
        terminal_path,
        login,
        server,
        eager_connect,
        backend,
        python,
        bridge,
    } = mt5;
    cmp("mt5.terminal_path", *terminal_path != old.mt5.terminal_path);
    cmp("mt5.login", *login != old.mt5.login);
    cmp("mt5.server", *server != old.mt5.server);
    cmp("mt5.eager_connect", *eager_connect != old.mt5.eager_connect);
    cmp("mt5.backend", *backend != old.mt5.backend);
    cmp("mt5.python", *python != old.mt5.python);
    cmp("mt5.bridge", *bridge != old.mt5.bridge);

    let PolicyConfig {
        auto_approve_notional,
        max_notional_per_trade,
        max_realised_loss_per_close,
        max_daily_loss,
        approval_ttl_seconds,
        max_orders_per_minute,
    } = policy;
    let p = &old.policy;
    // Decimal equality ignores scale ("10" == "10.00"), but the scale is visible in error
    // details, so compare the text.
    let dec = |a: &rust_decimal::Decimal, b: &rust_decimal::Decimal| a.to_string() != b.to_string();
    cmp(
        "policy.auto_approve_notional",
        dec(auto_approve_notional, &p.auto_approve_notional),
    );
    cmp(
        "policy.max_notional_per_trade",
        dec(max_notional_per_trade, &p.max_notional_per_trade),
    );
    cmp(
        "policy.max_realised_loss_per_close",
        dec(max_realised_loss_per_close, &p.max_realised_loss_per_close),
    );
    cmp(
        "policy.max_daily_loss",
        dec(max_daily_loss, &p.max_daily_loss),
    );
    cmp(
        "policy.approval_ttl_seconds",
        *approval_ttl_seconds != p.approval_ttl_seconds,
    );
    cmp(
        "policy.max_orders_per_minute",
        *max_orders_per_minute != p.max_orders_per_minute,
    );

    let IdempotencyConfig { path, ttl_seconds } = idempotency;
    cmp("idempotency.path", *path != old.idempotency.path);
    cmp(
        "idempotency.ttl_seconds",
        *ttl_seconds != old.idempotency.ttl_seconds,
    );

    let SymbolsConfig {
        allowlist,
        denylist,
    } = symbols;
    cmp("symbols.allowlist", *allowlist != old.symbols.allowlist);
    cmp("symbols.denylist", *denylist != old.symbols.denylist);

    let AuditConfig { path, max_bytes } = audit;
    cmp("audit.path", *path != old.audit.path);
    cmp("audit.max_bytes", *max_bytes != old.audit.max_bytes);

    let TransportConfig { http } = transport;
    let HttpConfig {
        host,
        port,
        auth_token,
        stateless,
        trusted_hosts,
        trusted_origins,
    } = http;
    let h = &old.transport.http;
    cmp("transport.http.host", *host != h.host);
    cmp("transport.http.port", *port != h.port);
    cmp("transport.http.auth_token", *auth_token != h.auth_token);
    cmp("transport.http.stateless", *stateless != h.stateless);
    cmp(
        "transport.http.trusted_hosts",
        *trusted_hosts != h.trusted_hosts,
    );
    cmp(
        "transport.http.trusted_origins",
        *trusted_origins != h.trusted_origins,
    );

    let TelemetryConfig { enabled, endpoint } = telemetry;
    cmp("telemetry.enabled", *enabled != old.telemetry.enabled);
    cmp("telemetry.endpoint", *endpoint != old.telemetry.endpoint);

    let StreamingConfig {
        quote_poll_interval_ms,
        account_poll_interval_ms,
        positions_poll_interval_ms,
    } = streaming;
    let s = &old.streaming;
    cmp(
        "streaming.quote_poll_interval_ms",
        *quote_poll_interval_ms != s.quote_poll_interval_ms,
    );
    cmp(
        "streaming.account_poll_interval_ms",
        *account_poll_interval_ms != s.account_poll_interval_ms,
    );
    cmp(
        "streaming.positions_poll_interval_ms",
        *positions_poll_interval_ms != s.positions_poll_interval_ms,
    );

    let LoggingConfig { level } = logging;
    cmp("logging.level", *level != old.logging.level);

    let ScreenshotConfig {
        width,
        height,
        template,
        timeout_s,
    } = screenshot;
    let sc = &old.screenshot;
    cmp("screenshot.width", *width != sc.width);
    cmp("screenshot.height", *height != sc.height);
    cmp("screenshot.template", *template != sc.template);
    cmp("screenshot.timeout_s", *timeout_s != sc.timeout_s);

    let SimConfig {
        seed,
        balance,
        leverage,
        broker_utc_offset_minutes,
        state_path,
    } = sim;
    let si = &old.sim;
    cmp("sim.seed", *seed != si.seed);
    cmp("sim.balance", dec(balance, &si.balance));
    cmp("sim.leverage", *leverage != si.leverage);
    cmp(
        "sim.broker_utc_offset_minutes",
        *broker_utc_offset_minutes != si.broker_utc_offset_minutes,
    );
    cmp("sim.state_path", *state_path != si.state_path);

    out
}

/// Whether a change to `key` (as named by [`changed_keys`]) only takes effect after a
/// restart. Live: `[policy]`, `[symbols]`, `idempotency.ttl_seconds`, `[streaming]`,
/// `[screenshot]` and the unused `[telemetry]`. Everything else (the terminal connection and
/// backend, the transport, storage files, the log subscriber, the paper account) is set up
/// once at start-up. When in doubt a key is listed here: a needless "restart required"
/// warning is harmless, a missing one is not.
pub fn needs_restart(key: &str) -> bool {
    const LIVE_PREFIXES: &[&str] = &[
        "policy.",
        "symbols.",
        "streaming.",
        "screenshot.",
        "telemetry.",
    ];
    let live = key == "idempotency.ttl_seconds" || LIVE_PREFIXES.iter().any(|p| key.starts_with(p));
    !live
}
