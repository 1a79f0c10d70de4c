//! mt5-mcp: an MCP server for MetaTrader 5.
//!
//! Data flows one way: transport → server → tools → policy → client layer (`mt5`) →
//! `Terminal`. Nothing below reaches back up.

pub mod cli;
pub mod config;
pub mod errors;
pub mod logging;
pub mod model;
pub mod mt5;
pub mod policy;
pub mod server;
pub mod terminal;
pub mod tools;
pub mod transport;
