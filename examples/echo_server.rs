//! Minimal rmcp stdio server: the latency floor of rmcp on this machine.
//!
//! One tool, `echo`, takes `{"text": "..."}` and returns it as structured
//! output shaped like a small quote (`symbol`, `bid`, `ask`, `time`), so the
//! serialisation work is comparable to the real `get_quote` answer.
//! `ping` is answered by rmcp's default handling.
//!
//! By default it uses `rmcp::transport::stdio()`, tokio's blocking-pool stdin
//! and stdout, which is what mt5-mcp uses too. With `--pipes` it uses
//! `rmcp::transport::stdio_pipes()` instead (non-blocking pipes on the IO
//! reactor), to show how much of the floor is the blocking-pool hand-off.
//!
//! Used by `examples/stdio_bench.rs`; see BENCHMARKS.md.

use rmcp::{
    Json, ServerHandler, ServiceExt,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{Implementation, ServerCapabilities, ServerConfig},
    tool, tool_handler, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, JsonSchema)]
struct EchoArgs {
    /// Text to echo back (e.g. a symbol name).
    text: String,
}

/// Quote-shaped echo answer.
#[derive(Debug, Serialize, JsonSchema)]
struct EchoOut {
    /// The input text, unchanged.
    symbol: String,
    bid: String,
    ask: String,
    /// Fixed timestamp, RFC 3339 UTC.
    time: String,
}

#[derive(Debug, Clone)]
struct EchoServer {
    tool_router: ToolRouter<Self>,
}

#[tool_router(router = tool_router)]
impl EchoServer {
    fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    /// Echo `text` back as a quote-shaped object.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true))]
    async fn echo(&self, Parameters(args): Parameters<EchoArgs>) -> Result<Json<EchoOut>, String> {
        Ok(Json(EchoOut {
            symbol: args.text,
            bid: "1.08425".to_owned(),
            ask: "1.08427".to_owned(),
            time: "2026-01-02T03:04:05.678Z".to_owned(),
        }))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for EchoServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new("echo-server", env!("CARGO_PKG_VERSION")),
        )
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = EchoServer::new();
    if std::env::args().skip(1).any(|a| a == "--pipes") {
        server
            .serve(rmcp::transport::stdio_pipes())
            .await?
            .waiting()
            .await?;
    } else {
        server
            .serve(rmcp::transport::stdio())
            .await?
            .waiting()
            .await?;
    }
    Ok(())
}
