//! The error catalogue: every code a tool can answer with, and its flags, in one place.
//!
//! Codes, `retryable` and `requires_human` follow upstream mt5-trading-mcp 1.6.1 so that an
//! agent written for upstream keeps working. Every fallible path maps to a code here; no
//! call site invents a stringly error of its own.

use serde::Serialize;
use serde_json::{Value, json};

macro_rules! catalogue {
    ($( $variant:ident => ($retryable:expr, $human:expr) ),* $(,)?) => {
        /// A stable, machine-readable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        pub enum ErrorCode { $( $variant ),* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant ),* ];

            /// The code as it appears on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => stringify!($variant) ),* }
            }
            /// Whether retrying the same call later may succeed.
            pub fn retryable(self) -> bool {
                match self { $( ErrorCode::$variant => $retryable ),* }
            }
            /// Whether a human must act (fix config, log in, approve) before it can succeed.
            pub fn requires_human(self) -> bool {
                match self { $( ErrorCode::$variant => $human ),* }
            }
        }
    };
}

catalogue! {
    TERMINAL_NOT_CONNECTED => (false, true),
    INTERNAL_ERROR => (false, true),
    SYMBOL_NOT_FOUND => (false, false),
    SYMBOL_NOT_ENABLED => (true, false),
    INVALID_VOLUME => (false, false),
    INVALID_FILLING_MODE => (false, true),
    INVALID_COMMENT => (false, false),
    INVALID_REQUEST => (false, false),
    INVALID_TICKET => (false, false),
    INVALID_TIMESTAMP => (false, false),
    INVALID_TIMEFRAME => (false, false),
    INVALID_COUNT => (false, false),
    NO_RATES_AVAILABLE => (true, false),
    MARGIN_CALC_FAILED => (true, false),
    UNSUPPORTED_POSITION_TYPE => (false, true),
    EXCEEDS_LOCAL_LIMIT => (false, true),
    INVALID_APPROVAL => (true, true),
    IDEMPOTENCY_DIVERGED => (false, true),
    MT5_NULL_RESPONSE => (false, true),
    REQUOTE => (true, false),
    REJECTED_BY_SERVER => (false, true),
    PARTIAL_FILL => (false, false),
    INVALID_PRICE => (true, false),
    MARKET_CLOSED => (false, false),
    INSUFFICIENT_MARGIN => (false, true),
    AUTO_TRADING_DISABLED => (true, true),
    MT5_UNKNOWN_RETCODE => (false, true),
    RESOURCE_NOT_FOUND => (false, false),
    SCREENSHOT_NOT_SUPPORTED => (false, true),
    SCREENSHOT_FAILED => (true, false),
    SCREENSHOT_TIMEOUT => (true, false),
    NO_BARS_AT_TIME => (false, false),
    INVALID_VIEWPORT => (false, false),
    INVALID_ANNOTATION => (false, false),
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// `ErrorDetail` on the wire: always these six keys, in this order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolError {
    pub code: ErrorCode,
    pub message: String,
    pub retryable: bool,
    pub requires_human: bool,
    pub details: Option<Value>,
    pub mt5_retcode: Option<i64>,
}

impl ToolError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retryable: code.retryable(),
            requires_human: code.requires_human(),
            details: None,
            mt5_retcode: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn with_requires_human(mut self, requires_human: bool) -> Self {
        self.requires_human = requires_human;
        self
    }

    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// `{"error": {...}}`, the envelope every tool error travels in.
    pub fn envelope(&self) -> Value {
        json!({ "error": self })
    }

    /// The envelope as compact JSON text (the body of an `isError` tool result).
    pub fn to_json_text(&self) -> String {
        self.envelope().to_string()
    }

    // Constructors for errors raised in more than one place. Messages follow upstream.

    pub fn not_connected(why: impl Into<String>) -> Self {
        let why = why.into();
        Self::new(
            ErrorCode::TERMINAL_NOT_CONNECTED,
            format!("MetaTrader 5 terminal is not connected: {why}"),
        )
        .with_details(json!({ "why": why }))
    }

    pub fn internal(exception_type: &str, message: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::INTERNAL_ERROR,
            format!("Unexpected {exception_type}: {message}"),
        )
        .with_details(json!({ "exception_type": exception_type }))
    }

    pub fn symbol_not_found(symbol: &str) -> Self {
        Self::new(
            ErrorCode::SYMBOL_NOT_FOUND,
            format!("Symbol '{symbol}' not found on this broker."),
        )
        .with_details(json!({ "symbol": symbol }))
    }

    pub fn no_tick(symbol: &str) -> Self {
        Self::new(
            ErrorCode::SYMBOL_NOT_ENABLED,
            format!("No tick data for {symbol}; market may be closed."),
        )
        .with_details(json!({ "symbol": symbol }))
    }

    pub fn invalid_request(field: &str, value: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self::new(
            ErrorCode::INVALID_REQUEST,
            format!("Invalid {field}: {reason}"),
        )
        .with_details(json!({ "field": field, "value": value, "reason": reason }))
    }

    /// A call whose arguments could not be read (missing, wrong type, not an object).
    /// `field` is the argument's path (`"."` when the problem is the object itself).
    pub fn bad_arguments(tool: &str, field: &str, reason: impl std::fmt::Display) -> Self {
        let field = if field.is_empty() || field == "." {
            "arguments"
        } else {
            field
        };
        Self::new(
            ErrorCode::INVALID_REQUEST,
            format!("Invalid arguments for {tool}: {field}: {reason}"),
        )
        .with_details(json!({ "field": field, "reason": reason.to_string() }))
    }
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ToolError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_match_the_upstream_catalogue() {
        let table: &[(ErrorCode, bool, bool)] = &[
            (ErrorCode::TERMINAL_NOT_CONNECTED, false, true),
            (ErrorCode::INTERNAL_ERROR, false, true),
            (ErrorCode::SYMBOL_NOT_FOUND, false, false),
            (ErrorCode::SYMBOL_NOT_ENABLED, true, false),
            (ErrorCode::INVALID_VOLUME, false, false),
            (ErrorCode::INVALID_FILLING_MODE, false, true),
            (ErrorCode::INVALID_COMMENT, false, false),
            (ErrorCode::INVALID_REQUEST, false, false),
            (ErrorCode::INVALID_TICKET, false, false),
            (ErrorCode::INVALID_TIMESTAMP, false, false),
            (ErrorCode::INVALID_TIMEFRAME, false, false),
            (ErrorCode::INVALID_COUNT, false, false),
            (ErrorCode::NO_RATES_AVAILABLE, true, false),
            (ErrorCode::MARGIN_CALC_FAILED, true, false),
            (ErrorCode::UNSUPPORTED_POSITION_TYPE, false, true),
            (ErrorCode::EXCEEDS_LOCAL_LIMIT, false, true),
            (ErrorCode::INVALID_APPROVAL, true, true),
            (ErrorCode::IDEMPOTENCY_DIVERGED, false, true),
            (ErrorCode::MT5_NULL_RESPONSE, false, true),
            (ErrorCode::REQUOTE, true, false),
            (ErrorCode::REJECTED_BY_SERVER, false, true),
            (ErrorCode::PARTIAL_FILL, false, false),
            (ErrorCode::INVALID_PRICE, true, false),
            (ErrorCode::MARKET_CLOSED, false, false),
            (ErrorCode::INSUFFICIENT_MARGIN, false, true),
            (ErrorCode::AUTO_TRADING_DISABLED, true, true),
            (ErrorCode::MT5_UNKNOWN_RETCODE, false, true),
            (ErrorCode::RESOURCE_NOT_FOUND, false, false),
            (ErrorCode::SCREENSHOT_NOT_SUPPORTED, false, true),
            (ErrorCode::SCREENSHOT_FAILED, true, false),
            (ErrorCode::SCREENSHOT_TIMEOUT, true, false),
            (ErrorCode::NO_BARS_AT_TIME, false, false),
            (ErrorCode::INVALID_VIEWPORT, false, false),
            (ErrorCode::INVALID_ANNOTATION, false, false),
        ];
        assert_eq!(table.len(), ErrorCode::ALL.len(), "every code is pinned");
        for (code, retryable, human) in table {
            assert_eq!(code.retryable(), *retryable, "{code} retryable");
            assert_eq!(code.requires_human(), *human, "{code} requires_human");
        }
    }

    #[test]
    fn error_detail_has_six_keys_in_upstream_order() {
        let e = ToolError::symbol_not_found("XYZ");
        let text = e.to_json_text();
        assert_eq!(
            text,
            r#"{"error":{"code":"SYMBOL_NOT_FOUND","message":"Symbol 'XYZ' not found on this broker.","retryable":false,"requires_human":false,"details":{"symbol":"XYZ"},"mt5_retcode":null}}"#
        );
    }
}
