//! Logging: tracing to stderr only (stdout belongs to JSON-RPC in stdio mode).

use tracing_subscriber::EnvFilter;

use crate::config::LogLevel;

pub fn init(level: LogLevel) {
    let directive = match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warning => "warn",
        LogLevel::Error | LogLevel::Critical => "error",
    };
    // rmcp logs every request at INFO; keep it at WARN unless debugging, as upstream did
    // with its SDK loggers.
    let filter = if level == LogLevel::Debug {
        EnvFilter::new(directive)
    } else {
        EnvFilter::new(format!("{directive},rmcp=warn,notify=warn"))
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
