//! The harness: a sandbox whose PYTHONPATH holds one purpose-built library module, the
//! server spawned on the native (or bridge) backend with its stderr captured.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::common::{BIN, Sandbox};

/// The interpreter `mt5-mcp-py` was built against, or `MT5_MCP_TEST_PYTHON` (another
/// interpreter or venv of the same version, e.g. one with numpy to exercise numpy bars).
pub fn python() -> String {
    std::env::var("MT5_MCP_TEST_PYTHON")
        .or_else(|_| std::env::var("PYO3_PYTHON"))
        .ok()
        .or_else(|| option_env!("PYO3_PYTHON").map(str::to_owned))
        .unwrap_or_else(|| "python3".to_owned())
}

fn assert_library_built() {
    let lib = Path::new(BIN).with_file_name(format!(
        "{}mt5_mcp_py{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(
        lib.is_file(),
        "{} is missing: run `cargo build --workspace` before these tests",
        lib.display()
    );
}

/// A sandbox whose PYTHONPATH holds one purpose-built `MetaTrader5` module.
pub struct PySandbox {
    pub sb: Sandbox,
    pub backend: &'static str,
    pub python: String,
    env: Vec<(String, String)>,
}

impl PySandbox {
    pub fn new(library: &str) -> Self {
        Self::with_config(library, "")
    }

    /// `extra_toml` continues the `[mt5]` table (keys first, then further tables).
    pub fn with_config(library: &str, extra_toml: &str) -> Self {
        assert_library_built();
        let sb = Sandbox::new("");
        let config = format!("[mt5]\nbackend = \"native\"\n{extra_toml}\n");
        std::fs::write(sb.config_path(), config).unwrap();
        let dir = sb.path().join("pylib");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("MetaTrader5.py"), library).unwrap();
        Self {
            sb,
            backend: "native",
            python: python(),
            env: Vec::new(),
        }
    }

    pub fn libdir(&self) -> PathBuf {
        self.sb.path().join("pylib")
    }

    pub fn call_log(&self) -> PathBuf {
        self.sb.path().join("calls.jsonl")
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_owned(), v.to_owned()));
        self
    }

    pub fn command(&self) -> Command {
        let mut cmd = self.sb.command();
        cmd.arg("serve")
            .arg("--config")
            .arg(self.sb.config_path())
            .env("MT5_MCP_BACKEND", self.backend)
            .env("MT5_MCP_PYTHON", &self.python)
            .env("PYTHONPATH", self.libdir())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYLIB_CALL_LOG", self.call_log());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub async fn serve(&self) -> (RunningService<RoleClient, ()>, Logs) {
        let cmd = self.command().configure(|_| {});
        let (transport, stderr) = TokioChildProcess::builder(cmd)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mt5-mcp");
        let logs = Logs::default();
        let sink = logs.clone();
        let mut lines = BufReader::new(stderr.expect("stderr")).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[server] {line}");
                sink.0.lock().unwrap().push(line);
            }
        });
        let client = ().serve(transport).await.expect("MCP handshake");
        (client, logs)
    }

    /// The library calls logged so far, one JSON object each.
    pub fn calls(&self) -> Vec<Value> {
        std::fs::read_to_string(self.call_log())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The server's stderr, line by line.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<String>>>);

impl Logs {
    pub fn contains(&self, needle: &str) -> bool {
        self.0.lock().unwrap().iter().any(|l| l.contains(needle))
    }
    pub async fn wait_for(&self, needle: &str) -> bool {
        for _ in 0..200 {
            if self.contains(needle) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}

pub fn why(e: &Value) -> String {
    e["details"]["why"].as_str().unwrap_or_default().to_owned()
}
