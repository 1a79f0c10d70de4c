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

/// Which volume rule a requested volume broke (details key and limit of INVALID_VOLUME).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeRule {
    /// Below the symbol's `volume_min`.
    BelowMin,
    /// Above the symbol's `volume_max`.
    AboveMax,
    /// `(volume - volume_min)` is not a whole number of `volume_step`.
    OffStep,
    /// A partial close larger than the position.
    AbovePosition,
}

impl VolumeRule {
    /// The details key holding the broken limit.
    pub fn detail_key(self) -> &'static str {
        match self {
            VolumeRule::BelowMin => "min",
            VolumeRule::AboveMax => "max",
            VolumeRule::OffStep => "step",
            VolumeRule::AbovePosition => "position_volume",
        }
    }
}

/// Why a comment cannot be sent to MetaTrader (`details.reason` of INVALID_COMMENT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentProblem {
    TooLong,
    NonAscii,
    ControlChar,
}

impl CommentProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            CommentProblem::TooLong => "too_long",
            CommentProblem::NonAscii => "non_ascii",
            CommentProblem::ControlChar => "control_char",
        }
    }
}

/// The longest order comment MetaTrader keeps.
pub const COMMENT_MAX_LEN: usize = 31;

impl ToolError {
    // Constructors used by the policy engine and the trading tools.

    /// A local limit refused the call (preflight or the order-rate cap).
    pub fn exceeds_local_limit(limit_name: &str, configured: &str, attempted: &str) -> Self {
        Self::new(
            ErrorCode::EXCEEDS_LOCAL_LIMIT,
            format!(
                "Request exceeds configured {limit_name}: attempted {attempted}, configured {configured}."
            ),
        )
        .with_details(json!({
            "limit_name": limit_name,
            "configured": configured,
            "attempted": attempted,
        }))
    }

    /// The idempotency key was used before for a different request to the same tool.
    pub fn idempotency_diverged(key: &str, action: &str) -> Self {
        Self::new(
            ErrorCode::IDEMPOTENCY_DIVERGED,
            format!(
                "Idempotency key '{key}' was previously used for {action} with a different request body. Use a fresh key for distinct requests."
            ),
        )
        .with_details(json!({ "key": key, "action": action }))
    }

    /// No order or position with that ticket. `kind` is `"order"` or `"position"`.
    pub fn invalid_ticket(ticket: i64, kind: &str) -> Self {
        Self::new(
            ErrorCode::INVALID_TICKET,
            format!("No {kind} with ticket {ticket}."),
        )
        .with_details(json!({ "ticket": ticket, "kind": kind }))
    }

    /// A confirmed retry that does not match, or no longer has, its approval.
    pub fn invalid_approval(reason: &str) -> Self {
        Self::new(
            ErrorCode::INVALID_APPROVAL,
            format!("Approval rejected: {reason}"),
        )
        .with_details(json!({ "reason": reason }))
    }

    /// `approval_confirmed` without an `approval_request_id` (upstream's own wording).
    pub fn invalid_approval_missing_id() -> Self {
        Self::new(
            ErrorCode::INVALID_APPROVAL,
            "approval_confirmed=true requires approval_request_id",
        )
        .with_details(json!({ "reason": "missing approval_request_id" }))
    }

    /// A volume the symbol (or the position) does not allow. `volume` and `limit` are plain
    /// decimal strings.
    pub fn invalid_volume(symbol: &str, volume: &str, rule: VolumeRule, limit: &str) -> Self {
        let message = match rule {
            VolumeRule::BelowMin => {
                format!("Volume {volume} is below the minimum {limit} for {symbol}.")
            }
            VolumeRule::AboveMax => {
                format!("Volume {volume} is above the maximum {limit} for {symbol}.")
            }
            VolumeRule::OffStep => {
                format!(
                    "Volume {volume} is not a multiple of the volume step {limit} for {symbol}."
                )
            }
            VolumeRule::AbovePosition => {
                format!("Volume {volume} is larger than the position's volume {limit}.")
            }
        };
        let mut details = serde_json::Map::new();
        details.insert("symbol".into(), json!(symbol));
        details.insert("volume".into(), json!(volume));
        details.insert(rule.detail_key().into(), json!(limit));
        Self::new(ErrorCode::INVALID_VOLUME, message).with_details(Value::Object(details))
    }

    /// An order comment MetaTrader would reject or mangle. `value` is the comment as checked
    /// (trimmed); its length counts characters, not bytes.
    pub fn invalid_comment(problem: CommentProblem, value: &str) -> Self {
        let length = value.chars().count();
        let message = match problem {
            CommentProblem::TooLong => format!(
                "Comment is {length} characters long; MetaTrader keeps at most {COMMENT_MAX_LEN}."
            ),
            CommentProblem::NonAscii => "Comment must contain ASCII characters only.".to_owned(),
            CommentProblem::ControlChar => {
                "Comment must not contain control characters.".to_owned()
            }
        };
        Self::new(ErrorCode::INVALID_COMMENT, message).with_details(json!({
            "reason": problem.as_str(),
            "value": value,
            "length": length,
            "max_length": COMMENT_MAX_LEN,
        }))
    }

    /// The error for an `order_send` result whose retcode is not a success. The broker's
    /// comment is the message when it has one; unlisted retcodes become MT5_UNKNOWN_RETCODE
    /// with the comment in `details.raw_message`.
    pub fn for_retcode(retcode: i64, comment: &str) -> Self {
        let (code, default_text) = match retcode {
            10004 => (
                ErrorCode::REQUOTE,
                "Requote: the price changed before the order could be filled.",
            ),
            10006 => (
                ErrorCode::REJECTED_BY_SERVER,
                "The trade server rejected the request.",
            ),
            10010 => (
                ErrorCode::PARTIAL_FILL,
                "Only part of the requested volume was filled.",
            ),
            10014 => (
                ErrorCode::INVALID_VOLUME,
                "The trade server rejected the volume.",
            ),
            10015 => (
                ErrorCode::INVALID_PRICE,
                "The trade server rejected the price.",
            ),
            10018 => (
                ErrorCode::MARKET_CLOSED,
                "The market is closed for this symbol.",
            ),
            10019 => (
                ErrorCode::INSUFFICIENT_MARGIN,
                "Not enough free margin for this order.",
            ),
            10027 => (
                ErrorCode::AUTO_TRADING_DISABLED,
                "Algorithmic trading is disabled in the MetaTrader 5 terminal: click the Algo Trading button on its toolbar, then retry.",
            ),
            _ => {
                let mut e = Self::new(
                    ErrorCode::MT5_UNKNOWN_RETCODE,
                    format!("Unknown mt5lib retcode {retcode}"),
                )
                .with_details(json!({ "raw_message": comment }));
                e.mt5_retcode = Some(retcode);
                return e;
            }
        };
        let message = if comment.is_empty() {
            default_text
        } else {
            comment
        };
        let mut e = Self::new(code, message);
        e.mt5_retcode = Some(retcode);
        e
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
    fn policy_constructors_match_upstream_shapes() {
        let table: &[(ToolError, &str)] = &[
            (
                ToolError::exceeds_local_limit("max_realised_loss_per_close", "0.001", "0.00770"),
                r#"{"code":"EXCEEDS_LOCAL_LIMIT","message":"Request exceeds configured max_realised_loss_per_close: attempted 0.00770, configured 0.001.","retryable":false,"requires_human":true,"details":{"limit_name":"max_realised_loss_per_close","configured":"0.001","attempted":"0.00770"},"mt5_retcode":null}"#,
            ),
            (
                ToolError::idempotency_diverged("k1", "place_order"),
                r#"{"code":"IDEMPOTENCY_DIVERGED","message":"Idempotency key 'k1' was previously used for place_order with a different request body. Use a fresh key for distinct requests.","retryable":false,"requires_human":true,"details":{"key":"k1","action":"place_order"},"mt5_retcode":null}"#,
            ),
            (
                ToolError::invalid_ticket(42, "position"),
                r#"{"code":"INVALID_TICKET","message":"No position with ticket 42.","retryable":false,"requires_human":false,"details":{"ticket":42,"kind":"position"},"mt5_retcode":null}"#,
            ),
            (
                ToolError::invalid_approval("volume mismatch: preview=0.10 retry=0.2"),
                r#"{"code":"INVALID_APPROVAL","message":"Approval rejected: volume mismatch: preview=0.10 retry=0.2","retryable":true,"requires_human":true,"details":{"reason":"volume mismatch: preview=0.10 retry=0.2"},"mt5_retcode":null}"#,
            ),
            (
                ToolError::invalid_approval_missing_id(),
                r#"{"code":"INVALID_APPROVAL","message":"approval_confirmed=true requires approval_request_id","retryable":true,"requires_human":true,"details":{"reason":"missing approval_request_id"},"mt5_retcode":null}"#,
            ),
        ];
        for (e, expected) in table {
            assert_eq!(serde_json::to_string(e).unwrap(), *expected);
        }
    }

    #[test]
    fn invalid_volume_names_the_broken_limit() {
        let table: &[(VolumeRule, &str)] = &[
            (VolumeRule::BelowMin, "min"),
            (VolumeRule::AboveMax, "max"),
            (VolumeRule::OffStep, "step"),
            (VolumeRule::AbovePosition, "position_volume"),
        ];
        for (rule, key) in table {
            let e = ToolError::invalid_volume("EURUSD", "0.015", *rule, "0.01");
            assert_eq!(e.code, ErrorCode::INVALID_VOLUME);
            assert!(
                e.message.contains("0.015") && e.message.contains("0.01"),
                "{}",
                e.message
            );
            let details = e.details.unwrap();
            let keys: Vec<&String> = details.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["symbol", "volume", *key]);
            assert_eq!(details[*key], "0.01");
        }
    }

    #[test]
    fn invalid_comment_details() {
        let long = "x".repeat(32);
        let table: &[(CommentProblem, &str, &str, usize)] = &[
            (CommentProblem::TooLong, &long, "too_long", 32),
            (CommentProblem::NonAscii, "héllo", "non_ascii", 5),
            (CommentProblem::ControlChar, "a\tb", "control_char", 3),
        ];
        for (problem, value, reason, length) in table {
            let e = ToolError::invalid_comment(*problem, value);
            assert_eq!(e.code, ErrorCode::INVALID_COMMENT);
            assert_eq!(
                e.details,
                Some(json!({"reason": reason, "value": value, "length": length, "max_length": 31}))
            );
        }
    }

    #[test]
    fn retcodes_map_to_named_codes() {
        let table: &[(i64, ErrorCode)] = &[
            (10004, ErrorCode::REQUOTE),
            (10006, ErrorCode::REJECTED_BY_SERVER),
            (10010, ErrorCode::PARTIAL_FILL),
            (10014, ErrorCode::INVALID_VOLUME),
            (10015, ErrorCode::INVALID_PRICE),
            (10018, ErrorCode::MARKET_CLOSED),
            (10019, ErrorCode::INSUFFICIENT_MARGIN),
            (10027, ErrorCode::AUTO_TRADING_DISABLED),
        ];
        for (retcode, code) in table {
            let with_comment = ToolError::for_retcode(*retcode, "Broker says no");
            assert_eq!(with_comment.code, *code, "{retcode}");
            assert_eq!(with_comment.message, "Broker says no");
            assert_eq!(with_comment.mt5_retcode, Some(*retcode));
            assert_eq!(with_comment.details, None);
            assert_eq!(with_comment.retryable, code.retryable());
            let bare = ToolError::for_retcode(*retcode, "");
            assert!(!bare.message.is_empty(), "{retcode} has a default text");
        }
        assert!(
            ToolError::for_retcode(10027, "")
                .message
                .contains("Algo Trading")
        );
        // Everything else, including 10008 PLACED and 10009 DONE if asked.
        for retcode in [
            10007, 10008, 10009, 10011, 10013, 10016, 10017, 10021, 10030, 10045, 0, -1,
        ] {
            let e = ToolError::for_retcode(retcode, "Invalid stops");
            assert_eq!(e.code, ErrorCode::MT5_UNKNOWN_RETCODE);
            assert_eq!(e.message, format!("Unknown mt5lib retcode {retcode}"));
            assert_eq!(e.details, Some(json!({"raw_message": "Invalid stops"})));
            assert_eq!(e.mt5_retcode, Some(retcode));
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
