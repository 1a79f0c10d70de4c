//! Lax coercion as pydantic does it, and no laxer.

use rust_decimal::Decimal;

use super::{error_of, load_text};

fn notional(value: &str) -> Result<String, String> {
    let text = format!("[policy]\nauto_approve_notional = {value}\n");
    match load_text(&text) {
        Ok(l) => Ok(l.config.policy.auto_approve_notional.to_string()),
        Err(_) => {
            Err(error_of(&text)
                .replace("invalid config <file>: policy.auto_approve_notional: ", ""))
        }
    }
}

#[test]
fn decimal_keys_accept_strings_integers_and_floats() {
    let ok = [
        ("\"1000.50\"", "1000.50"),
        ("\" 7 \"", "7"),
        ("\"+3\"", "3"),
        ("\".5\"", "0.5"),
        ("\"5.\"", "5"),
        ("\"1e3\"", "1000"),
        ("\"1.5E-2\"", "0.015"),
        ("\"0e999999\"", "0"),
        ("\"-0\"", "0"),
        ("1000", "1000"),
        ("0.1", "0.1"),
        ("100.0", "100.0"),
        ("-0.0", "0.0"),
        ("1e-7", "0.0000001"),
        (
            "\"0.0000000000000000000000000001\"",
            "0.0000000000000000000000000001",
        ),
        (
            "\"79228162514264337593543950335\"",
            "79228162514264337593543950335",
        ),
    ];
    for (input, want) in ok {
        assert_eq!(notional(input), Ok(want.to_owned()), "input {input}");
    }
}

#[test]
fn decimal_keys_reject_nan_infinity_bools_and_junk() {
    let bad = [
        ("nan", "must be a finite number (got float nan)"),
        ("inf", "must be a finite number (got float inf)"),
        ("-inf", "must be a finite number (got float -inf)"),
        ("\"NaN\"", "must be a finite number (got string \"NaN\")"),
        (
            "\"-Infinity\"",
            "must be a finite number (got string \"-Infinity\")",
        ),
        (
            "true",
            "expected a decimal number (a string such as \"1000.50\", an integer or a float), got boolean true",
        ),
        (
            "\"\"",
            "expected a decimal number (a string such as \"1000.50\", an integer or a float), got string \"\"",
        ),
        (
            "\"1,000\"",
            "expected a decimal number (a string such as \"1000.50\", an integer or a float), got string \"1,000\"",
        ),
        (
            "\"1_000\"",
            "expected a decimal number (a string such as \"1000.50\", an integer or a float), got string \"1_000\"",
        ),
        (
            "\"١٢\"",
            "expected a decimal number (a string such as \"1000.50\", an integer or a float), got string \"١٢\"",
        ),
        (
            "\"1e\"",
            "expected a decimal number (a string such as \"1000.50\", an integer or a float), got string \"1e\"",
        ),
        (
            "[1]",
            "expected a decimal number (a string such as \"1000.50\", an integer or a float), got an array",
        ),
        (
            "1979-05-27",
            "expected a decimal number (a string such as \"1000.50\", an integer or a float), got date-time 1979-05-27",
        ),
        (
            "\"1e99999\"",
            "\"1e99999\" is out of range for a decimal number",
        ),
        ("1e300", "\"1e300\" is out of range for a decimal number"),
        (
            "\"79228162514264337593543950336\"",
            "\"79228162514264337593543950336\" is out of range for a decimal number",
        ),
        ("\"0.1e-30\"", "\"0.1e-30\" has more than 28 decimal places"),
    ];
    for (input, want) in bad {
        assert_eq!(notional(input), Err(want.to_owned()), "input {input}");
    }
}

fn ttl(value: &str) -> Result<u64, String> {
    let text = format!("[policy]\napproval_ttl_seconds = {value}\n");
    match load_text(&text) {
        Ok(l) => Ok(l.config.policy.approval_ttl_seconds),
        Err(_) => {
            Err(error_of(&text).replace("invalid config <file>: policy.approval_ttl_seconds: ", ""))
        }
    }
}

#[test]
fn integer_keys_accept_integral_floats_and_numeric_strings() {
    for (input, want) in [
        ("300", 300),
        ("300.0", 300),
        ("\"300\"", 300),
        ("\" 300 \"", 300),
        ("\"+300\"", 300),
        ("3e2", 300),
        ("0x12C", 300),
        ("1_000", 1000),
    ] {
        assert_eq!(ttl(input), Ok(want), "input {input}");
    }
}

#[test]
fn integer_keys_reject_fractions_bools_and_non_numbers() {
    for (input, want) in [
        ("300.5", "must be a whole number (got float 300.5)"),
        ("nan", "must be a whole number (got float nan)"),
        ("1e30", "is out of range (got float 1e30)"),
        ("\"300.5\"", "expected an integer, got string \"300.5\""),
        ("\"3e2\"", "expected an integer, got string \"3e2\""),
        ("\"\"", "expected an integer, got string \"\""),
        ("true", "expected an integer, got boolean true"),
        ("[300]", "expected an integer, got an array"),
        ("{ a = 1 }", "expected an integer, got a table"),
        (
            "\"99999999999999999999999999999999999999999\"",
            "\"99999999999999999999999999999999999999999\" is out of range for an integer",
        ),
    ] {
        assert_eq!(ttl(input), Err(want.to_owned()), "input {input}");
    }
}

#[test]
fn bool_keys_accept_pydantic_spellings_only() {
    for (input, want) in [
        ("true", true),
        ("false", false),
        ("1", true),
        ("0", false),
        ("\"yes\"", true),
        ("\"Off\"", false),
        ("\" TRUE \"", true),
        ("\"n\"", false),
    ] {
        let c = load_text(&format!("[transport.http]\nstateless = {input}\n"))
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .config;
        assert_eq!(c.transport.http.stateless, want, "input {input}");
    }
    for (input, got) in [
        ("2", "integer 2"),
        ("\"maybe\"", "string \"maybe\""),
        ("1.0", "float 1.0"),
    ] {
        assert_eq!(
            error_of(&format!("[transport.http]\nstateless = {input}\n")),
            format!(
                "invalid config <file>: transport.http.stateless: expected true or false, got {got}"
            )
        );
    }
}

#[test]
fn string_keys_are_strict() {
    assert_eq!(
        error_of("[transport.http]\nhost = 127\n"),
        "invalid config <file>: transport.http.host: expected a string, got integer 127"
    );
    assert_eq!(
        error_of("[mt5]\nterminal_path = true\n"),
        "invalid config <file>: mt5.terminal_path: expected a string, got boolean true"
    );
}

#[test]
fn lists_hold_strings_only() {
    let c = load_text("[symbols]\nallowlist = [\"EURUSD\", \"XAUUSD\"]\ndenylist = []\n")
        .unwrap()
        .config;
    assert_eq!(c.symbols.allowlist, ["EURUSD", "XAUUSD"]);
    assert_eq!(
        error_of("[symbols]\nallowlist = \"EURUSD\"\n"),
        "invalid config <file>: symbols.allowlist: expected an array of strings, got string \"EURUSD\""
    );
    assert_eq!(
        error_of("[transport.http]\ntrusted_origins = [\"a\", 5]\n"),
        "invalid config <file>: transport.http.trusted_origins: item 1: expected a string, got integer 5"
    );
}

#[test]
fn log_level_is_exact_case_in_the_file() {
    for level in ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] {
        let c = load_text(&format!("[logging]\nlevel = \"{level}\"\n"))
            .unwrap()
            .config;
        assert_eq!(c.logging.level.as_str(), level);
    }
    assert_eq!(
        error_of("[logging]\nlevel = \"debug\"\n"),
        "invalid config <file>: logging.level: must be one of \"DEBUG\", \"INFO\", \"WARNING\", \
         \"ERROR\", \"CRITICAL\" (got \"debug\"; levels are upper-case in the file)"
    );
    assert_eq!(
        error_of("[logging]\nlevel = \"TRACE\"\n"),
        "invalid config <file>: logging.level: must be one of \"DEBUG\", \"INFO\", \"WARNING\", \
         \"ERROR\", \"CRITICAL\" (got \"TRACE\")"
    );
}

#[test]
fn backend_is_one_of_four_lower_case_names() {
    use super::super::BackendChoice;
    for b in BackendChoice::ALL {
        let c = load_text(&format!("[mt5]\nbackend = \"{b}\"\n"))
            .unwrap()
            .config;
        assert_eq!(c.mt5.backend, b);
    }
    assert_eq!(
        error_of("[mt5]\nbackend = \"SIM\"\n"),
        "invalid config <file>: mt5.backend: must be one of \"auto\", \"native\", \"bridge\", \
         \"sim\" (got \"SIM\"; backends are lower-case in the file)"
    );
    assert_eq!(
        error_of("[mt5]\nbackend = \"wine\"\n"),
        "invalid config <file>: mt5.backend: must be one of \"auto\", \"native\", \"bridge\", \
         \"sim\" (got \"wine\")"
    );
}

#[test]
fn every_key_is_read_into_its_field() {
    let text = r#"
[mt5]
terminal_path = 'C:\Program Files\MT5\terminal64.exe'
login = "12345"
server = "Broker-Demo"
eager_connect = false
backend = "native"
python = "python3.12"
[mt5.bridge]
host = "10.0.0.2"
port = 18812
[policy]
auto_approve_notional = "1000.50"
max_notional_per_trade = 5000
max_realised_loss_per_close = 250.25
max_daily_loss = "1e3"
approval_ttl_seconds = 60
max_orders_per_minute = 10
[idempotency]
path = "/var/lib/mt5/idem.db"
ttl_seconds = 3600
[symbols]
allowlist = ["EURUSD"]
denylist = ["BTCUSD"]
[audit]
path = "/var/log/mt5/audit.jsonl"
max_bytes = 1024
[transport.http]
host = "localhost"
port = 9000
auth_token = "s3cret"
stateless = false
trusted_hosts = ["h"]
trusted_origins = ["o"]
[telemetry]
enabled = true
endpoint = "http://e"
[streaming]
quote_poll_interval_ms = 500
account_poll_interval_ms = 2000
positions_poll_interval_ms = 3000
[logging]
level = "DEBUG"
[screenshot]
width = 800
height = 600
template = "agent.tpl"
timeout_s = 2.5
[sim]
seed = 42
balance = "2500.75"
leverage = 500
broker_utc_offset_minutes = 180
state_path = "/srv/sim.json"
"#;
    let c = load_text(text).unwrap().config;
    assert_eq!(c.mt5.terminal_path, r"C:\Program Files\MT5\terminal64.exe");
    assert_eq!(c.mt5.login, Some(12345));
    assert_eq!(c.mt5.server.as_deref(), Some("Broker-Demo"));
    assert!(!c.mt5.eager_connect);
    assert_eq!(c.mt5.python.as_deref(), Some("python3.12"));
    let bridge = c.mt5.bridge.as_ref().unwrap();
    assert_eq!((bridge.host.as_str(), bridge.port), ("10.0.0.2", 18812));
    assert_eq!(c.policy.auto_approve_notional.to_string(), "1000.50");
    assert_eq!(c.policy.max_notional_per_trade, Decimal::from(5000));
    assert_eq!(c.policy.max_realised_loss_per_close.to_string(), "250.25");
    assert_eq!(c.policy.max_daily_loss, Decimal::from(1000));
    assert_eq!(c.policy.approval_ttl_seconds, 60);
    assert_eq!(c.policy.max_orders_per_minute, 10);
    assert_eq!(
        c.idempotency.path,
        std::path::Path::new("/var/lib/mt5/idem.db")
    );
    assert_eq!(c.idempotency.ttl_seconds, 3600);
    assert_eq!(c.symbols.denylist, ["BTCUSD"]);
    assert_eq!(
        c.audit.path,
        std::path::Path::new("/var/log/mt5/audit.jsonl")
    );
    assert_eq!(c.audit.max_bytes, 1024);
    let h = &c.transport.http;
    assert_eq!(
        (h.host.as_str(), h.port, h.auth_token.as_str()),
        ("localhost", 9000, "s3cret")
    );
    assert!(!h.stateless);
    assert_eq!(
        (h.trusted_hosts.as_slice(), h.trusted_origins.as_slice()),
        (&["h".to_owned()][..], &["o".to_owned()][..])
    );
    assert!(c.telemetry.enabled);
    assert_eq!(c.telemetry.endpoint, "http://e");
    assert_eq!(c.streaming.quote_poll_interval_ms, 500);
    assert_eq!(c.streaming.account_poll_interval_ms, 2000);
    assert_eq!(c.streaming.positions_poll_interval_ms, 3000);
    assert_eq!(c.screenshot.width, 800);
    assert_eq!(c.screenshot.height, 600);
    assert_eq!(c.screenshot.template.as_deref(), Some("agent.tpl"));
    assert_eq!(c.screenshot.timeout_s, 2.5);
    assert_eq!(c.sim.seed, Some(42));
    assert_eq!(c.sim.balance.to_string(), "2500.75");
    assert_eq!(c.sim.leverage, 500);
    assert_eq!(c.sim.broker_utc_offset_minutes, 180);
    assert_eq!(c.sim.state_path, std::path::Path::new("/srv/sim.json"));
    assert_eq!(c.logging.level, super::super::LogLevel::Debug);
    assert_eq!(c.mt5.backend, super::super::BackendChoice::Native);
}
