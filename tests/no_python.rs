//! A build without the `python` feature (`cargo test --no-default-features`) still starts
//! and serves; the Python backends say that this build cannot drive a terminal.
#![cfg(not(feature = "python"))]

mod common;

use common::*;
use rmcp::ServiceExt;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::json;

#[tokio::test]
async fn native_and_bridge_answer_not_connected_naming_the_missing_python_support() {
    for backend in ["native", "bridge"] {
        let sb = Sandbox::new("");
        let cmd = sb.command().configure(|c| {
            c.arg("serve")
                .arg("--config")
                .arg(sb.config_path())
                .env("MT5_MCP_BACKEND", backend);
        });
        let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();
        let e = err(&call(&client, "get_account_info", json!({})).await);
        assert_eq!(e["code"], json!("TERMINAL_NOT_CONNECTED"), "{backend}");
        let why = e["details"]["why"].as_str().unwrap();
        assert!(why.contains("has no Python support"), "{backend}: {why}");
        client.cancel().await.unwrap();
    }
}
