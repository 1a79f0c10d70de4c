//! The command line: version, usage errors and config errors, without MCP.

mod common;

use common::Sandbox;

fn run(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    let mut cmd = sb.command().into_std();
    cmd.args(args).stdin(std::process::Stdio::null());
    cmd.output().expect("run mt5-mcp")
}

#[test]
fn version_prints_the_crate_version() {
    let sb = Sandbox::new("");
    let out = run(&sb, &["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("mt5-mcp {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_client_that_leaves_before_initializing_ends_the_server_cleanly() {
    let sb = Sandbox::new("");
    let out = run(&sb, &["serve"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "nothing on stdout");
}

#[test]
fn unknown_commands_and_bad_flags_exit_2_with_usage_on_stderr() {
    let sb = Sandbox::new("");
    for args in [
        &["frobnicate"][..],
        &["serve", "--bogus"],
        &["serve", "--transport", "carrier-pigeon"],
        &["serve", "--log-level", "LOUD"],
    ] {
        let out = run(&sb, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn an_invalid_config_is_a_one_line_error_naming_the_key_and_exit_2() {
    let sb = Sandbox::new("\n[policy]\napproval_ttl_seconds = 0\n");
    let config = sb.config_path();
    let out = run(&sb, &["serve", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("policy.approval_ttl_seconds"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_config_file_named_on_the_command_line_is_an_error() {
    let sb = Sandbox::new("");
    let missing = sb.path().join("nope.toml");
    let out = run(&sb, &["serve", "--config", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.toml"));
}
