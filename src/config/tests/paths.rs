//! Default locations per platform, and how paths written in the file are resolved.

use std::path::{Path, PathBuf};

use super::super::*;
use super::{HOME, Scratch, env_with, load_text, test_env};

fn resolve(platform: Platform, vars: &[(&str, &str)]) -> Result<DefaultPaths, ConfigError> {
    DefaultPaths::resolve(&EnvSnapshot::from_vars(vars.iter().copied()).with_platform(platform))
}

fn p(parts: &[&str]) -> PathBuf {
    parts.iter().collect()
}

#[test]
fn linux_uses_xdg_dirs_then_home() {
    let d = resolve(
        Platform::Unix,
        &[
            ("HOME", "/h"),
            ("XDG_CONFIG_HOME", "/x/cfg"),
            ("XDG_DATA_HOME", "/x/data"),
        ],
    )
    .unwrap();
    assert_eq!(d.config_file, p(&["/x/cfg", "mt5-mcp", "config.toml"]));
    assert_eq!(d.data_dir, p(&["/x/data", "mt5-mcp"]));

    let d = resolve(Platform::Unix, &[("HOME", "/h")]).unwrap();
    assert_eq!(
        d.config_file,
        p(&["/h", ".config", "mt5-mcp", "config.toml"])
    );
    assert_eq!(d.data_dir, p(&["/h", ".local", "share", "mt5-mcp"]));
}

#[test]
fn relative_or_empty_xdg_values_are_ignored_as_the_spec_says() {
    let d = resolve(
        Platform::Unix,
        &[
            ("HOME", "/h"),
            ("XDG_CONFIG_HOME", "rel/cfg"),
            ("XDG_DATA_HOME", ""),
        ],
    )
    .unwrap();
    assert_eq!(
        d.config_file,
        p(&["/h", ".config", "mt5-mcp", "config.toml"])
    );
    assert_eq!(d.data_dir, p(&["/h", ".local", "share", "mt5-mcp"]));
}

#[test]
fn macos_keeps_the_config_under_dot_config_and_data_in_application_support() {
    let d = resolve(Platform::MacOs, &[("HOME", "/Users/t")]).unwrap();
    assert_eq!(
        d.config_file,
        p(&["/Users/t", ".config", "mt5-mcp", "config.toml"])
    );
    assert_eq!(
        d.data_dir,
        p(&["/Users/t", "Library", "Application Support", "mt5-mcp"])
    );
    let d = resolve(
        Platform::MacOs,
        &[("HOME", "/Users/t"), ("XDG_CONFIG_HOME", "/c")],
    )
    .unwrap();
    assert_eq!(d.config_file, p(&["/c", "mt5-mcp", "config.toml"]));
}

#[test]
fn windows_uses_appdata_and_localappdata() {
    let d = resolve(
        Platform::Windows,
        &[
            ("APPDATA", r"C:\Users\t\AppData\Roaming"),
            ("LOCALAPPDATA", r"C:\Users\t\AppData\Local"),
        ],
    )
    .unwrap();
    assert_eq!(
        d.config_file,
        p(&[r"C:\Users\t\AppData\Roaming", "mt5-mcp", "config.toml"])
    );
    assert_eq!(d.data_dir, p(&[r"C:\Users\t\AppData\Local", "mt5-mcp"]));

    // Without the variables: under the profile directory, as upstream's fallback.
    let d = resolve(Platform::Windows, &[("USERPROFILE", r"C:\Users\t")]).unwrap();
    assert_eq!(
        d.config_file,
        p(&[
            r"C:\Users\t",
            "AppData",
            "Roaming",
            "mt5-mcp",
            "config.toml"
        ])
    );
    assert_eq!(
        d.data_dir,
        p(&[r"C:\Users\t", "AppData", "Local", "mt5-mcp"])
    );
}

#[test]
fn no_home_at_all_is_a_clear_error() {
    let err = resolve(Platform::Unix, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot determine the home directory: set HOME (USERPROFILE on Windows) or the \
         platform's directory variables"
    );
    // Not needed when every directory variable is set.
    assert!(
        resolve(
            Platform::Unix,
            &[("XDG_CONFIG_HOME", "/c"), ("XDG_DATA_HOME", "/d")]
        )
        .is_ok()
    );
}

#[test]
fn captured_environment_resolves_on_this_machine() {
    // Whatever the machine, capture() must yield usable absolute defaults.
    let d = DefaultPaths::resolve(&EnvSnapshot::capture()).unwrap();
    assert!(
        d.config_file
            .ends_with(Path::new("mt5-mcp").join("config.toml"))
    );
    assert!(d.data_dir.ends_with("mt5-mcp"));
}

#[test]
fn relative_paths_in_the_file_are_relative_to_the_file() {
    let s = Scratch::new(
        "[idempotency]\npath = \"state/idem.db\"\n[audit]\npath = \"./audit.jsonl\"\n\
         [sim]\nstate_path = \"../sim.json\"\n",
    );
    let c = s.load(&test_env(), CliOverrides::default()).unwrap().config;
    assert_eq!(c.idempotency.path, s.dir.path().join("state/idem.db"));
    assert_eq!(c.audit.path, s.dir.path().join("./audit.jsonl"));
    assert_eq!(c.sim.state_path, s.dir.path().join("../sim.json"));
}

#[test]
fn tilde_means_home_and_tilde_user_is_refused() {
    let c = load_text("[audit]\npath = \"~/logs/audit.jsonl\"\n[idempotency]\npath = \"~\"\n")
        .unwrap()
        .config;
    assert_eq!(c.audit.path, Path::new(HOME).join("logs/audit.jsonl"));
    assert_eq!(c.idempotency.path, Path::new(HOME));
    assert_eq!(
        super::error_of("[audit]\npath = \"~bob/audit.jsonl\"\n"),
        "invalid config <file>: audit.path: \"~bob/audit.jsonl\" uses a `~user` form, which is \
         not supported; write the full path"
    );
}

#[test]
fn python_bare_names_stay_names_and_paths_are_resolved() {
    let s = Scratch::new("[mt5]\npython = \"venvs/mt5\"\n");
    let c = s.load(&test_env(), CliOverrides::default()).unwrap().config;
    let want = s.dir.path().join("venvs/mt5");
    assert_eq!(c.mt5.python.as_deref(), Some(want.to_str().unwrap()));

    let c = load_text("[mt5]\npython = \"python3.12\"\n")
        .unwrap()
        .config;
    assert_eq!(c.mt5.python.as_deref(), Some("python3.12"));

    let c = load_text("[mt5]\npython = \"~/py/bin/python\"\n")
        .unwrap()
        .config;
    let want = Path::new(HOME).join("py/bin/python");
    assert_eq!(c.mt5.python.as_deref(), Some(want.to_str().unwrap()));
}

#[test]
fn terminal_path_is_passed_through_untouched() {
    let c = load_text("[mt5]\nterminal_path = 'C:\\MT5\\terminal64.exe'\n")
        .unwrap()
        .config;
    assert_eq!(c.mt5.terminal_path, r"C:\MT5\terminal64.exe");
}

#[test]
fn config_flag_expands_tilde_and_makes_relative_paths_absolute() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.toml"), "[policy]\nmax_daily_loss = 1\n").unwrap();
    let env =
        EnvSnapshot::from_vars([("HOME", dir.path().as_os_str())]).with_platform(Platform::Unix);
    let opts = LoadOptions {
        config_path: Some(PathBuf::from("~/c.toml")),
        ..Default::default()
    };
    let loaded = load(&opts, &env).unwrap();
    assert_eq!(
        loaded.source.as_deref(),
        Some(dir.path().join("c.toml").as_path())
    );

    let opts = LoadOptions {
        config_path: Some(PathBuf::from("relative-does-not-exist.toml")),
        ..Default::default()
    };
    let err = load(&opts, &env).unwrap_err();
    let want = std::env::current_dir()
        .unwrap()
        .join("relative-does-not-exist.toml");
    assert_eq!(
        err.to_string(),
        format!("config file not found: {}", want.display())
    );
}

#[test]
fn windows_tilde_accepts_backslash() {
    let c = Scratch::new("[audit]\npath = '~\\logs\\a.jsonl'\n")
        .load(
            &env_with(&[
                ("USERPROFILE", HOME),
                ("APPDATA", "/a"),
                ("LOCALAPPDATA", "/l"),
            ])
            .with_platform(Platform::Windows),
            CliOverrides::default(),
        )
        .unwrap()
        .config;
    assert_eq!(c.audit.path, Path::new(HOME).join(r"logs\a.jsonl"));
}
