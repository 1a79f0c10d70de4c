use std::path::Path;

use rust_decimal::Decimal;

use super::super::*;
use super::{HOME, load_text, test_env};

fn data_dir() -> std::path::PathBuf {
    Path::new(HOME).join(".local/share/mt5-mcp")
}

#[test]
fn every_key_has_its_upstream_default() {
    let c = load_text("")
        .expect("empty file is a valid config at start-up")
        .config;

    assert_eq!(c.mt5.terminal_path, "");
    assert_eq!(c.mt5.login, None);
    assert_eq!(c.mt5.server, None);
    assert!(c.mt5.eager_connect);
    assert_eq!(c.mt5.backend, BackendChoice::Auto);
    assert_eq!(c.mt5.python, None);
    assert_eq!(c.mt5.bridge, None);

    assert_eq!(c.policy.auto_approve_notional, Decimal::ZERO);
    assert_eq!(c.policy.max_notional_per_trade, Decimal::ZERO);
    assert_eq!(c.policy.max_realised_loss_per_close, Decimal::ZERO);
    assert_eq!(c.policy.max_daily_loss, Decimal::ZERO);
    assert_eq!(c.policy.approval_ttl_seconds, 300);
    assert_eq!(c.policy.max_orders_per_minute, 0);

    assert_eq!(c.idempotency.path, data_dir().join("idempotency.db"));
    assert_eq!(c.idempotency.ttl_seconds, 86_400);
    assert!(c.symbols.allowlist.is_empty());
    assert!(c.symbols.denylist.is_empty());
    assert_eq!(c.audit.path, data_dir().join("audit.jsonl"));
    assert_eq!(c.audit.max_bytes, 10_485_760);

    let h = &c.transport.http;
    assert_eq!(h.host, "127.0.0.1");
    assert_eq!(h.port, 8765);
    assert_eq!(h.auth_token, "");
    assert!(h.stateless);
    assert!(h.trusted_hosts.is_empty());
    assert!(h.trusted_origins.is_empty());

    assert!(!c.telemetry.enabled);
    assert_eq!(c.telemetry.endpoint, "");
    assert_eq!(c.streaming.quote_poll_interval_ms, 200);
    assert_eq!(c.streaming.account_poll_interval_ms, 1000);
    assert_eq!(c.streaming.positions_poll_interval_ms, 1000);
    assert_eq!(c.logging.level, LogLevel::Warning);

    assert_eq!(c.screenshot.width, 1600);
    assert_eq!(c.screenshot.height, 900);
    assert_eq!(c.screenshot.template, None);
    assert_eq!(c.screenshot.timeout_s, 10.0);

    assert_eq!(c.sim.seed, None);
    assert_eq!(c.sim.balance, Decimal::from(10_000));
    assert_eq!(c.sim.leverage, 100);
    assert_eq!(c.sim.broker_utc_offset_minutes, 120);
    assert_eq!(
        c.sim.state_path,
        data_dir().join("sim").join("account.json")
    );
}

#[test]
fn empty_tables_mean_defaults_except_bridge_whose_presence_selects_it() {
    let text = "[mt5]\n[mt5.bridge]\n[policy]\n[idempotency]\n[symbols]\n[audit]\n\
                [transport]\n[transport.http]\n[telemetry]\n[streaming]\n[logging]\n\
                [screenshot]\n[sim]\n";
    let c = load_text(text).unwrap().config;
    let mut expected = Config::with_data_dir(&data_dir());
    expected.mt5.bridge = Some(BridgeConfig {
        host: "127.0.0.1".into(),
        port: 8001,
    });
    assert_eq!(c, expected);
}

#[test]
fn with_data_dir_equals_what_an_empty_file_loads() {
    assert_eq!(
        load_text("# nothing\n").unwrap().config,
        Config::with_data_dir(&data_dir())
    );
}

#[test]
fn missing_default_file_means_defaults_and_no_source() {
    let dir = tempfile::tempdir().unwrap();
    let env = EnvSnapshot::from_vars([
        ("HOME", dir.path().as_os_str()),
        ("XDG_CONFIG_HOME", dir.path().join("cfg").as_os_str()),
    ])
    .with_platform(Platform::Unix);
    let loaded = load(&LoadOptions::default(), &env).unwrap();
    assert_eq!(loaded.source, None);
    assert_eq!(
        loaded.config,
        Config::with_data_dir(&dir.path().join(".local/share/mt5-mcp"))
    );
}

#[test]
fn default_file_is_read_when_present() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cfg/mt5-mcp/config.toml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "[policy]\nmax_daily_loss = 5\n").unwrap();
    let env = EnvSnapshot::from_vars([
        ("HOME", dir.path().as_os_str()),
        ("XDG_CONFIG_HOME", dir.path().join("cfg").as_os_str()),
    ])
    .with_platform(Platform::Unix);
    let loaded = load(&LoadOptions::default(), &env).unwrap();
    assert_eq!(loaded.source.as_deref(), Some(file.as_path()));
    assert_eq!(loaded.config.policy.max_daily_loss, Decimal::from(5));
}

#[test]
fn explicit_config_path_that_does_not_exist_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let opts = LoadOptions {
        config_path: Some(missing.clone()),
        ..Default::default()
    };
    let err = load(&opts, &test_env()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("config file not found: {}", missing.display())
    );
}

#[test]
fn unreadable_default_location_is_an_error_not_defaults() {
    // A directory where the file should be: reading fails with something other than
    // "not found", which must not be mistaken for "no config".
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("cfg/mt5-mcp/config.toml")).unwrap();
    let env = EnvSnapshot::from_vars([
        ("HOME", dir.path().as_os_str()),
        ("XDG_CONFIG_HOME", dir.path().join("cfg").as_os_str()),
    ])
    .with_platform(Platform::Unix);
    let err = load(&LoadOptions::default(), &env).unwrap_err();
    assert!(err.to_string().starts_with("cannot read config "), "{err}");
}

#[test]
fn leading_bom_is_ignored() {
    let c = load_text("\u{FEFF}[policy]\nauto_approve_notional = 5\n")
        .unwrap()
        .config;
    assert_eq!(c.policy.auto_approve_notional, Decimal::from(5));
}
