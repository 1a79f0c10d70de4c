//! A bare JSON-RPC client over the server's stdio, for requests a typed MCP client refuses
//! to build: arguments that are not an object, params that are an array, lines no JSON
//! parser accepts.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

use super::Sandbox;

/// A bare JSON-RPC client over the server's stdio, for requests a typed MCP client refuses
/// to build (arguments that are not an object, params that are an array).
pub struct Raw {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Raw {
    pub async fn start(sb: &Sandbox) -> Raw {
        let mut cmd = sb.command();
        cmd.arg("serve")
            .arg("--config")
            .arg(sb.config_path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("spawn mt5-mcp");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut raw = Raw {
            child,
            stdin,
            lines,
        };
        let init = raw
            .request(
                json!(0),
                "initialize",
                json!({
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": { "name": "raw-test", "version": "0" }
                }),
            )
            .await;
        assert!(init.get("result").is_some(), "initialize: {init}");
        raw.send_line(
            &json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }).to_string(),
        )
        .await;
        raw
    }

    pub async fn send_line(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.write_all(b"\n").await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// Sends a request and returns the response with the same id (or a response with a
    /// null id: an unparseable request cannot be answered by id). Notifications are skipped.
    pub async fn request(&mut self, id: Value, method: &str, params: Value) -> Value {
        let msg = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        self.send_line(&msg.to_string()).await;
        self.response(&id).await
    }

    pub async fn response(&mut self, id: &Value) -> Value {
        let wait = async {
            loop {
                let line = self
                    .lines
                    .next_line()
                    .await
                    .expect("read stdout")
                    .expect("server closed stdout");
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
                if v.get("method").is_some() && v.get("id").is_none() {
                    continue; // a notification
                }
                // An error about a request whose id could not be read carries a null id
                // (JSON-RPC 2.0) or, from rmcp, none at all.
                let unattributed =
                    v.get("error").is_some() && v.get("id").is_none_or(Value::is_null);
                if v.get("id") == Some(id) || unattributed {
                    return v;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .unwrap_or_else(|_| panic!("no answer to request {id} within 30 s"))
    }

    /// Every message up to and including the response with `id` (notifications skipped).
    pub async fn until(&mut self, id: &Value) -> Vec<Value> {
        let wait = async {
            let mut seen = vec![];
            loop {
                let line = self
                    .lines
                    .next_line()
                    .await
                    .expect("read stdout")
                    .expect("server closed stdout");
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
                if v.get("method").is_some() && v.get("id").is_none() {
                    continue;
                }
                let done = v.get("id") == Some(id);
                seen.push(v);
                if done {
                    return seen;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .unwrap_or_else(|_| panic!("no answer to request {id} within 30 s"))
    }

    /// The parsed tool result of a successful `tools/call`.
    pub async fn call_tool(&mut self, id: i64, name: &str, args: Value) -> Value {
        let v = self
            .request(
                json!(id),
                "tools/call",
                json!({ "name": name, "arguments": args }),
            )
            .await;
        v.get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {v}"))
    }

    /// SIGKILL: the server dies wherever it is, as in a crash.
    pub async fn kill_now(mut self) {
        self.child.start_kill().expect("kill");
        let _ = self.child.wait().await;
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
