//! Shared helpers for the end-to-end tests: spawn the real binary in a throwaway home, and read
//! tool results the way an agent would.
//!
//! The terminal backend is chosen by env `MT5_MCP_TEST_BACKEND`: `sim` (default) runs the
//! seeded paper terminal; `native` runs the embedded-Python backend against the fake
//! `MetaTrader5` module in `tests/fake_mt5` (interpreter: env `MT5_MCP_TEST_PYTHON`, else
//! `python3`; it needs numpy). Both present the same account and symbols, so one suite checks
//! both.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use tempfile::TempDir;
use tokio::process::Command;

pub mod raw;
pub mod trading;

pub const BIN: &str = env!("CARGO_BIN_EXE_mt5-mcp");
/// The fake `MetaTrader5` and `mt5linux` packages the native backend imports in tests.
pub const FAKE_MT5_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake_mt5");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sim,
    Native,
}

/// The backend under test, from env `MT5_MCP_TEST_BACKEND` (`sim` unless it says `native`).
pub fn backend() -> Backend {
    match std::env::var("MT5_MCP_TEST_BACKEND").as_deref() {
        Ok("native") => Backend::Native,
        Ok("sim") | Ok("") | Err(_) => Backend::Sim,
        Ok(other) => panic!("MT5_MCP_TEST_BACKEND must be sim or native, not {other:?}"),
    }
}

/// The interpreter the native backend embeds in tests.
pub fn test_python() -> String {
    std::env::var("MT5_MCP_TEST_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".to_owned())
}

pub struct Sandbox {
    pub dir: TempDir,
}

impl Sandbox {
    /// A temp home with a config for the backend under test (the seeded sim, or the native
    /// backend on the fake module) and `extra` TOML appended.
    pub fn new(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let sb = Sandbox { dir };
        sb.write_config(extra);
        sb
    }

    /// (Re)writes the config: the backend under test plus `extra`. Written to a temporary
    /// file and renamed over the config, as editors save, so a running server's hot reload
    /// never sees half a file.
    pub fn write_config(&self, extra: &str) {
        self.write_raw_config(&match backend() {
            Backend::Sim => format!(
                "[mt5]\nbackend = \"sim\"\n\n[sim]\nseed = 42\nstate_path = {:?}\n{extra}\n",
                self.state_path().display().to_string()
            ),
            Backend::Native => format!(
                "[mt5]\nbackend = \"native\"\npython = {:?}\n{extra}\n",
                test_python()
            ),
        });
    }

    /// Replaces the whole config file, atomically.
    pub fn write_raw_config(&self, toml: &str) {
        let tmp = self.path().join("config.toml.tmp");
        std::fs::write(&tmp, toml).expect("write config");
        std::fs::rename(&tmp, self.config_path()).expect("rename config");
    }

    /// Where the paper account lives: the sim's state file, or the fake terminal's.
    pub fn state_path(&self) -> PathBuf {
        match backend() {
            Backend::Sim => self.path().join("data/sim/account.json"),
            Backend::Native => self.path().join("data/fake-mt5/account.json"),
        }
    }

    /// The fake terminal's control file (env MT5_FAKE_CONTROL; see tests/fake_mt5): absent
    /// means normal behaviour. Only meaningful on the native backend.
    pub fn fake_control_path(&self) -> PathBuf {
        self.path().join("fake-mt5-control.json")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.path().join("config.toml")
    }

    /// A `Command` for the binary with the sandbox's environment and nothing inherited that
    /// could point it at a real config or account.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("xdg-config"))
            .env("XDG_DATA_HOME", self.path().join("xdg-data"))
            .env("MT5_MCP_LOG_LEVEL", "INFO");
        if backend() == Backend::Native {
            cmd.env("PYTHONPATH", FAKE_MT5_DIR)
                .env("MT5_FAKE_STATE", self.state_path())
                .env("MT5_FAKE_CONTROL", self.fake_control_path());
        }
        cmd
    }

    pub async fn serve(&self) -> RunningService<RoleClient, ()> {
        let config = self.config_path();
        let cmd = self.command().configure(|c| {
            c.arg("serve").arg("--config").arg(&config);
        });
        ().serve(TokioChildProcess::new(cmd).expect("spawn mt5-mcp"))
            .await
            .expect("MCP handshake")
    }
}

pub async fn call(
    client: &RunningService<RoleClient, ()>,
    tool: &str,
    args: Value,
) -> CallToolResult {
    let mut params = CallToolRequestParams::new(tool.to_owned());
    if let Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    client
        .call_tool(params)
        .await
        .unwrap_or_else(|e| panic!("{tool}: transport error {e}"))
}

pub fn texts(result: &CallToolResult) -> Vec<String> {
    result
        .content
        .iter()
        .map(|c| {
            c.as_text()
                .unwrap_or_else(|| panic!("unexpected content {c:?}"))
                .text
                .clone()
        })
        .collect()
}

/// The structured result of a successful call.
pub fn ok(result: &CallToolResult) -> Value {
    assert_ne!(
        result.is_error,
        Some(true),
        "tool failed: {:?}",
        texts(result)
    );
    result
        .structured_content
        .clone()
        .expect("structuredContent")
}

/// The `result` array of a successful list call, checked against its text blocks.
pub fn ok_list(result: &CallToolResult) -> Vec<Value> {
    let items = ok(result)["result"]
        .as_array()
        .expect("result array")
        .clone();
    let blocks: Vec<Value> = texts(result)
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
    assert_eq!(blocks, items, "one text block per element");
    items
}

/// The ErrorDetail of a failed call, after checking the envelope's exact shape.
pub fn err(result: &CallToolResult) -> Value {
    assert_eq!(
        result.is_error,
        Some(true),
        "expected an error, got {:?}",
        texts(result)
    );
    let blocks = texts(result);
    assert_eq!(blocks.len(), 1, "one text block");
    let v: Value = serde_json::from_str(&blocks[0]).expect("error text is JSON");
    let detail = v["error"].clone();
    let keys: Vec<&str> = detail
        .as_object()
        .expect("error object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "code",
            "message",
            "retryable",
            "requires_human",
            "details",
            "mt5_retcode"
        ]
    );
    detail
}

pub fn code(result: &CallToolResult) -> String {
    err(result)["code"].as_str().unwrap().to_owned()
}

pub fn is_decimal(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        let body = s.strip_prefix('-').unwrap_or(s);
        let (i, f) = body.split_once('.').unwrap_or((body, "0"));
        !i.is_empty() && !f.is_empty() && i.bytes().chain(f.bytes()).all(|b| b.is_ascii_digit())
    })
}

pub fn dec(v: &Value) -> f64 {
    assert!(is_decimal(v), "not a decimal string: {v}");
    v.as_str().unwrap().parse().unwrap()
}

/// Parses one of our `...Z` timestamps.
pub fn utc(v: &Value) -> chrono::DateTime<chrono::Utc> {
    let s = v.as_str().expect("timestamp string");
    assert!(s.ends_with('Z'), "timestamp must end in Z: {s}");
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("RFC 3339")
        .to_utc()
}
