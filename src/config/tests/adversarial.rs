//! Whatever the file holds, loading returns `Ok` or a one-line `Err`; it never panics or
//! hangs.

use super::super::load::load_bytes;
use super::super::*;
use super::{Scratch, error_of, test_env};

/// Small deterministic generator (no test should depend on a random seed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn check(bytes: &[u8]) {
    let path = std::path::Path::new("/tmp/adversarial/config.toml");
    if let Err(e) = load_bytes(path, bytes, &CliOverrides::default(), &test_env()) {
        let msg = e.to_string();
        assert!(
            !msg.contains('\n') && !msg.contains('\r'),
            "multi-line error: {msg:?}"
        );
        assert!(msg.len() < 2000, "oversized error ({} bytes)", msg.len());
    }
}

#[test]
fn binary_garbage_is_an_error_not_a_panic() {
    let mut rng = Lcg(7);
    for _ in 0..2000 {
        let len = rng.below(300);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check(&bytes);
    }
}

#[test]
fn toml_shaped_garbage_is_an_error_not_a_panic() {
    const TOKENS: &[&str] = &[
        "[",
        "]",
        "[[",
        "]]",
        "=",
        "\"",
        "'",
        "\n",
        " ",
        ".",
        ",",
        "{",
        "}",
        "#",
        "\\",
        "policy",
        "mt5",
        "bridge",
        "sim",
        "transport",
        "http",
        "port",
        "auto_approve_notional",
        "approval_ttl_seconds",
        "level",
        "path",
        "seed",
        "balance",
        "1",
        "-1",
        "0",
        "1e400",
        "nan",
        "inf",
        "true",
        "\"1e3\"",
        "\"x\"",
        "1979-05-27T07:32:00Z",
        "99999999999999999999",
        "0x7FFFFFFFFFFFFFFF",
        "\u{FEFF}",
        "\u{0}",
        "é",
        "~",
        "~bob",
    ];
    let mut rng = Lcg(11);
    for _ in 0..5000 {
        let n = rng.below(40);
        let text: String = (0..n).map(|_| TOKENS[rng.below(TOKENS.len())]).collect();
        check(text.as_bytes());
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let depth = 200_000;
    check(format!("a = {}", "[".repeat(depth)).as_bytes());
    check(format!("a = {}1{}", "[".repeat(depth), "]".repeat(depth)).as_bytes());
    check(format!("a = {}", "{b = ".repeat(depth)).as_bytes());
    check(format!("[{}b]", "a.".repeat(depth)).as_bytes());
    check(format!("{}b = 1", "a.".repeat(depth)).as_bytes());
    check(format!("[policy]\n{}x = 1", "p.".repeat(depth)).as_bytes());
}

#[test]
fn huge_numbers_are_range_errors() {
    assert!(
        error_of("[policy]\napproval_ttl_seconds = 99999999999999999999\n")
            .starts_with("invalid config <file>: TOML syntax error at line 2, column 24:")
    );
    let long = format!("1{}", "0".repeat(100_000));
    assert_eq!(
        error_of(&format!("[policy]\nmax_daily_loss = \"{long}\"\n")),
        format!(
            "invalid config <file>: policy.max_daily_loss: \"{}…\" is out of range for a \
             decimal number",
            &long[..60]
        )
    );
    assert!(error_of(&format!("[sim]\nseed = \"{long}\"\n")).contains("sim.seed: "));
    assert!(error_of("[policy]\nmax_daily_loss = 1e308\n").contains("out of range"));
    assert!(error_of("[screenshot]\ntimeout_s = 1e308\n").contains("must be at most 3600.0"));
    assert!(error_of("[screenshot]\ntimeout_s = \"1e400\"\n").contains("must be a finite number"));
}

#[test]
fn wrong_types_everywhere_name_the_key() {
    const KEYS: &[(&str, &[&str])] = &[
        (
            "mt5",
            &[
                "terminal_path",
                "login",
                "server",
                "eager_connect",
                "backend",
                "python",
            ],
        ),
        ("mt5.bridge", &["host", "port"]),
        (
            "policy",
            &[
                "auto_approve_notional",
                "max_notional_per_trade",
                "max_realised_loss_per_close",
                "max_daily_loss",
                "approval_ttl_seconds",
                "max_orders_per_minute",
            ],
        ),
        ("idempotency", &["path", "ttl_seconds"]),
        ("symbols", &["allowlist", "denylist"]),
        ("audit", &["path", "max_bytes"]),
        (
            "transport.http",
            &[
                "host",
                "port",
                "auth_token",
                "stateless",
                "trusted_hosts",
                "trusted_origins",
            ],
        ),
        ("telemetry", &["enabled", "endpoint"]),
        (
            "streaming",
            &[
                "quote_poll_interval_ms",
                "account_poll_interval_ms",
                "positions_poll_interval_ms",
            ],
        ),
        ("logging", &["level"]),
        ("screenshot", &["width", "height", "template", "timeout_s"]),
        (
            "sim",
            &[
                "seed",
                "balance",
                "leverage",
                "broker_utc_offset_minutes",
                "state_path",
            ],
        ),
    ];
    const VALUES: &[&str] = &[
        "{ x = 1 }",
        "[[1], 2]",
        "1979-05-27T07:32:00Z",
        "07:32:00",
        "true",
        "-7",
        "2.5",
        "\"\\u0000\"",
        "\"garbage\"",
    ];
    for (table, keys) in KEYS {
        for key in *keys {
            for value in VALUES {
                let s = Scratch::new(format!("[{table}]\n{key} = {value}\n"));
                if let Err(e) = s.load(&test_env(), CliOverrides::default()) {
                    let msg = e.to_string();
                    assert!(!msg.contains('\n'), "{msg}");
                    assert!(
                        msg.contains(&format!("{table}.{key}: ")),
                        "[{table}] {key} = {value}: {msg}"
                    );
                }
            }
        }
    }
}

#[test]
fn syntax_errors_give_line_and_column() {
    assert_eq!(
        error_of("[policy]\nauto_approve_notional = \n"),
        "invalid config <file>: TOML syntax error at line 2, column 25: string values must be \
         quoted, expected literal string"
    );
    let e = Scratch::new("[policy\n")
        .load(&test_env(), CliOverrides::default())
        .unwrap_err();
    assert!(matches!(e, ConfigError::Syntax { line: 1, .. }), "{e}");
    let e = Scratch::new("a = 1\na = 2\n")
        .load(&test_env(), CliOverrides::default())
        .unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::Syntax {
                line: 2,
                column: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn encodings_other_than_utf8_are_named() {
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("[policy]\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert_eq!(
        Scratch::new(utf16).error(&test_env()),
        "invalid config <file>: the file is UTF-16 encoded; save it as UTF-8"
    );
    assert_eq!(
        Scratch::new(b"[policy]\nmax_daily_loss = \"\xE9\"\n").error(&test_env()),
        "invalid config <file>: not valid UTF-8 (bad byte at line 2, column 19); save the file \
         as UTF-8"
    );
}

#[test]
fn oversized_files_and_directories_are_read_errors() {
    let big = format!("# {}\n", "x".repeat(1024 * 1024));
    let msg = Scratch::new(big).error(&test_env());
    assert_eq!(
        msg,
        "cannot read config <file>: file is larger than 1 MiB; is this really the config file?"
    );
    let dir = tempfile::tempdir().unwrap();
    let opts = LoadOptions {
        config_path: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let e = load(&opts, &test_env()).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e}");
}

#[cfg(unix)]
#[test]
fn endless_special_files_do_not_hang() {
    let opts = LoadOptions {
        config_path: Some("/dev/zero".into()),
        ..Default::default()
    };
    assert!(matches!(
        load(&opts, &test_env()),
        Err(ConfigError::Read { .. })
    ));
}
