//! Precedence (CLI > env > file), the env overlays, and the password's handling.

use super::super::*;
use super::{Scratch, env_with};

fn load_with(file: &str, env: &[(&str, &str)], cli: CliOverrides) -> Result<Loaded, ConfigError> {
    Scratch::new(file).load(&env_with(env), cli)
}

#[test]
fn log_level_precedence_is_cli_then_env_then_file() {
    let file = "[logging]\nlevel = \"ERROR\"\n";
    let cli = CliOverrides {
        log_level: Some(LogLevel::Critical),
        ..Default::default()
    };
    let env = [("MT5_MCP_LOG_LEVEL", " debug ")];
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], CliOverrides, LogLevel);
    let cases: [Case; 5] = [
        ("", &[], CliOverrides::default(), LogLevel::Warning),
        (file, &[], CliOverrides::default(), LogLevel::Error),
        (file, &env, CliOverrides::default(), LogLevel::Debug),
        (file, &env, cli, LogLevel::Critical),
        (
            file,
            &[("MT5_MCP_LOG_LEVEL", "")],
            CliOverrides::default(),
            LogLevel::Error,
        ),
    ];
    for (file, env, cli, want) in cases {
        let got = load_with(file, env, cli).unwrap().config.logging.level;
        assert_eq!(got, want, "file {file:?} env {env:?} cli {cli:?}");
    }
}

#[test]
fn backend_precedence_is_cli_then_env_then_file() {
    let file = "[mt5]\nbackend = \"native\"\n";
    let cli = CliOverrides {
        backend: Some(BackendChoice::Auto),
        ..Default::default()
    };
    let env = [("MT5_MCP_BACKEND", "SIM")];
    assert_eq!(
        load_with(file, &[], CliOverrides::default())
            .unwrap()
            .config
            .mt5
            .backend,
        BackendChoice::Native
    );
    assert_eq!(
        load_with(file, &env, CliOverrides::default())
            .unwrap()
            .config
            .mt5
            .backend,
        BackendChoice::Sim
    );
    assert_eq!(
        load_with(file, &env, cli).unwrap().config.mt5.backend,
        BackendChoice::Auto
    );
}

#[test]
fn stateless_and_eager_connect_cli_flags_beat_the_file() {
    let file = "[mt5]\neager_connect = false\n[transport.http]\nstateless = false\n";
    let c = load_with(file, &[], CliOverrides::default())
        .unwrap()
        .config;
    assert!(!c.mt5.eager_connect && !c.transport.http.stateless);
    let cli = CliOverrides {
        stateless: Some(true),
        eager_connect: Some(true),
        ..Default::default()
    };
    let c = load_with(file, &[], cli).unwrap().config;
    assert!(c.mt5.eager_connect && c.transport.http.stateless);
    let cli = CliOverrides {
        stateless: Some(false),
        eager_connect: Some(false),
        ..Default::default()
    };
    let c = load_with("", &[], cli).unwrap().config;
    assert!(!c.mt5.eager_connect && !c.transport.http.stateless);
}

#[test]
fn login_and_server_from_env_override_the_file() {
    let file = "[mt5]\nlogin = 111\nserver = \"File-Server\"\n";
    let c = load_with(file, &[], CliOverrides::default())
        .unwrap()
        .config;
    assert_eq!(
        (c.mt5.login, c.mt5.server.as_deref()),
        (Some(111), Some("File-Server"))
    );
    let env = [("MT5_LOGIN", " 222 "), ("MT5_SERVER", "Env-Server")];
    let c = load_with(file, &env, CliOverrides::default())
        .unwrap()
        .config;
    assert_eq!(
        (c.mt5.login, c.mt5.server.as_deref()),
        (Some(222), Some("Env-Server"))
    );
    let env = [("MT5_LOGIN", ""), ("MT5_SERVER", "")];
    let c = load_with(file, &env, CliOverrides::default())
        .unwrap()
        .config;
    assert_eq!(
        (c.mt5.login, c.mt5.server.as_deref()),
        (Some(111), Some("File-Server"))
    );
}

#[test]
fn bad_env_values_are_errors_naming_the_variable() {
    let cases = [
        (
            "MT5_LOGIN",
            "abc",
            "invalid environment variable MT5_LOGIN: must be an integer account number (got \"abc\")",
        ),
        (
            "MT5_LOGIN",
            "12.5",
            "invalid environment variable MT5_LOGIN: must be an integer account number (got \"12.5\")",
        ),
        (
            "MT5_LOGIN",
            "0",
            "invalid environment variable MT5_LOGIN: must be > 0 (got \"0\")",
        ),
        (
            "MT5_LOGIN",
            "99999999999999999999",
            "invalid environment variable MT5_LOGIN: is out of range for an account number (got \"99999999999999999999\")",
        ),
        (
            "MT5_MCP_LOG_LEVEL",
            "verbose",
            "invalid environment variable MT5_MCP_LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got \"verbose\")",
        ),
        (
            "MT5_MCP_BACKEND",
            "wine",
            "invalid environment variable MT5_MCP_BACKEND: must be one of auto, native, bridge, sim (got \"wine\")",
        ),
    ];
    for (var, value, want) in cases {
        let err = load_with("", &[(var, value)], CliOverrides::default()).unwrap_err();
        assert_eq!(err.to_string(), want);
    }
}

#[test]
fn python_comes_from_env_with_tilde_expanded() {
    let c = load_with(
        "[mt5]\npython = \"python3\"\n",
        &[("MT5_MCP_PYTHON", "~/venvs/mt5")],
        CliOverrides::default(),
    )
    .unwrap()
    .config;
    let want = std::path::Path::new(super::HOME).join("venvs/mt5");
    assert_eq!(c.mt5.python.as_deref(), Some(want.to_str().unwrap()));
}

#[test]
fn password_is_read_only_when_a_login_is_configured() {
    let pw = [("MT5_PASSWORD", "hunter2")];
    let no_login = load_with("", &pw, CliOverrides::default()).unwrap();
    assert!(no_login.password.is_none());

    let file_login = load_with("[mt5]\nlogin = 5\n", &pw, CliOverrides::default()).unwrap();
    assert_eq!(
        file_login.password.as_ref().map(Secret::expose),
        Some("hunter2")
    );

    let env_login = load_with("", &[("MT5_LOGIN", "5"), pw[0]], CliOverrides::default()).unwrap();
    assert_eq!(
        env_login.password.as_ref().map(Secret::expose),
        Some("hunter2")
    );

    let empty = load_with(
        "[mt5]\nlogin = 5\n",
        &[("MT5_PASSWORD", "")],
        CliOverrides::default(),
    )
    .unwrap();
    assert!(empty.password.is_none());
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let loaded = load_with(
        "[mt5]\nlogin = 5\n[transport.http]\nauth_token = \"tok-XYZZY\"\n",
        &[("MT5_PASSWORD", "hunter2")],
        CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(loaded.config.transport.http.auth_token, "tok-XYZZY");
    for text in [
        format!("{loaded:?}"),
        format!("{loaded:#?}"),
        format!("{:?}", loaded.config),
        format!("{:?}", loaded.password),
        format!("{}", loaded.password.as_ref().unwrap()),
        format!("{:?}", env_with(&[("MT5_PASSWORD", "hunter2")])),
    ] {
        assert!(!text.contains("hunter2"), "password leaked: {text}");
        assert!(!text.contains("XYZZY"), "token leaked: {text}");
    }
    assert!(format!("{loaded:?}").contains("<redacted>"));
}

#[test]
fn choosing_the_bridge_backend_always_provides_bridge_settings() {
    let by_file = load_with(
        "[mt5]\nbackend = \"bridge\"\n",
        &[],
        CliOverrides::default(),
    )
    .unwrap()
    .config;
    assert_eq!(by_file.mt5.bridge, Some(BridgeConfig::default()));
    let by_cli = load_with(
        "",
        &[],
        CliOverrides {
            backend: Some(BackendChoice::Bridge),
            ..Default::default()
        },
    )
    .unwrap()
    .config;
    assert_eq!(by_cli.mt5.bridge, Some(BridgeConfig::default()));
    let sim = load_with("", &[], CliOverrides::default()).unwrap().config;
    assert_eq!(sim.mt5.bridge, None);
}

#[test]
fn env_errors_apply_without_a_file_too() {
    let dir = tempfile::tempdir().unwrap();
    let env = EnvSnapshot::from_vars([("HOME", dir.path().to_str().unwrap()), ("MT5_LOGIN", "x")])
        .with_platform(Platform::Unix);
    assert!(matches!(
        load(&LoadOptions::default(), &env),
        Err(ConfigError::Env {
            var: "MT5_LOGIN",
            ..
        })
    ));
}
