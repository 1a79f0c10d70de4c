//! mt5-mcp: an MCP server for MetaTrader 5.
//!
//! Data flows one way: transport → server → tools → policy → client layer (`mt5`) →
//! `Terminal`. Nothing below reaches back up.

pub mod config;
pub mod terminal;
