//! Unknown keys are errors in every table, named with their table and the likely fix.

use super::error_of;

const TABLES: &[&str] = &[
    "mt5",
    "mt5.bridge",
    "policy",
    "idempotency",
    "symbols",
    "audit",
    "transport",
    "transport.http",
    "telemetry",
    "streaming",
    "logging",
    "screenshot",
    "sim",
];

#[test]
fn every_table_rejects_unknown_keys() {
    for table in TABLES {
        assert_eq!(
            error_of(&format!("[{table}]\nzzz_bogus = 1\n")),
            format!("invalid config <file>: unknown key `zzz_bogus` in [{table}]"),
        );
    }
}

#[test]
fn unknown_top_level_keys_and_tables_are_rejected() {
    assert_eq!(
        error_of("zzz_bogus = 1\n"),
        "invalid config <file>: unknown top-level key `zzz_bogus`"
    );
    assert_eq!(
        error_of("[polcy]\nauto_approve_notional = 1\n"),
        "invalid config <file>: unknown table [polcy] (did you mean [policy]?)"
    );
    assert_eq!(
        error_of("[mt5.brige]\nport = 1\n"),
        "invalid config <file>: unknown table [mt5.brige] (did you mean [mt5.bridge]?)"
    );
    assert_eq!(
        error_of("[transport.https]\n"),
        "invalid config <file>: unknown table [transport.https] (did you mean [transport.http]?)"
    );
}

#[test]
fn a_typo_names_the_key_its_table_and_the_nearest_known_key() {
    assert_eq!(
        error_of("[policy]\nauto_aprove_notional = 1000\n"),
        "invalid config <file>: unknown key `auto_aprove_notional` in [policy] \
         (did you mean `auto_approve_notional`?)"
    );
    assert_eq!(
        error_of("[streaming]\nquote_poll_interval = 100\n"),
        "invalid config <file>: unknown key `quote_poll_interval` in [streaming] \
         (did you mean `quote_poll_interval_ms`?)"
    );
}

#[test]
fn a_misplaced_key_says_where_it_belongs() {
    assert_eq!(
        error_of("auto_approve_notional = 1000\n"),
        "invalid config <file>: unknown top-level key `auto_approve_notional` \
         (`auto_approve_notional` belongs in [policy])"
    );
    assert_eq!(
        error_of("[transport]\nport = 9000\n"),
        "invalid config <file>: unknown key `port` in [transport] \
         (`port` belongs in [mt5.bridge] or [transport.http])"
    );
}

#[test]
fn removed_preferred_login_points_to_login() {
    assert_eq!(
        error_of("[mt5]\npreferred_login = 1\n"),
        "invalid config <file>: unknown key `preferred_login` in [mt5] \
         (removed in upstream 1.2.1; use `login`)"
    );
}

#[test]
fn password_in_the_file_is_refused_and_never_echoed() {
    let msg = error_of("[mt5]\nlogin = 1\npassword = \"hunter2\"\n");
    assert_eq!(
        msg,
        "invalid config <file>: mt5.password: the password is never read from the config \
         file; remove this key and set the MT5_PASSWORD environment variable"
    );
    assert!(!msg.contains("hunter2"));
}

#[test]
fn a_table_given_as_a_value_is_a_type_error() {
    assert_eq!(
        error_of("policy = 5\n"),
        "invalid config <file>: policy: expected a table, got integer 5"
    );
    assert_eq!(
        error_of("[[policy]]\n"),
        "invalid config <file>: policy: expected a table, got an array"
    );
    assert_eq!(
        error_of("[mt5]\nbridge = \"127.0.0.1:8001\"\n"),
        "invalid config <file>: mt5.bridge: expected a table, got string \"127.0.0.1:8001\""
    );
}

#[test]
fn odd_key_names_are_escaped_on_one_line() {
    assert_eq!(
        error_of("[policy]\n\"a\\nb\" = 1\n"),
        "invalid config <file>: unknown key `a\\nb` in [policy]"
    );
}
