//! Arguments of the four trading tools and the checks that need no terminal.
//!
//! DESIGN §3.7: every malformed argument is a typed error found here, before idempotency,
//! consent and preflight, so a bad call never consumes an approval or reaches the broker.

use rust_decimal::{Decimal, RoundingStrategy};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::errors::{COMMENT_MAX_LEN, CommentProblem, ToolError, VolumeRule};
use crate::tools::args::{RawDecimal, lax_int, parse_decimal};

/// Longest idempotency key we store; a UUID is 36.
const MAX_KEY_LEN: usize = 128;
/// Largest accepted slippage, in points.
pub const MAX_DEVIATION: i64 = 1000;

fn default_deviation() -> i64 {
    10
}

#[derive(Debug, Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    Market,
    Limit,
    Stop,
    StopLimit,
}

impl OrderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKind::Market => "market",
            OrderKind::Limit => "limit",
            OrderKind::Stop => "stop",
            OrderKind::StopLimit => "stop_limit",
        }
    }
}

/// `place_order` arguments, as upstream names them.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PlaceArgs {
    /// Broker symbol name, e.g. "EURUSD".
    pub symbol: String,
    /// "buy" or "sell".
    pub side: Side,
    /// "market", "limit", "stop" or "stop_limit".
    #[serde(rename = "type")]
    pub kind: OrderKind,
    /// Volume in lots as a decimal string, e.g. "0.10"; must be on the symbol's volume step.
    pub volume: RawDecimal,
    /// Order price. Required for limit, stop and stop_limit orders; for a market order it is
    /// only the reference for `deviation`. Rounded to the symbol's digits.
    #[serde(default)]
    pub price: Option<RawDecimal>,
    /// The limit price a stop_limit order places once `price` is reached (stop_limit only).
    #[serde(default)]
    pub stop_limit_price: Option<RawDecimal>,
    /// Stop loss price; omit for none.
    #[serde(default)]
    pub sl: Option<RawDecimal>,
    /// Take profit price; omit for none.
    #[serde(default)]
    pub tp: Option<RawDecimal>,
    /// Largest accepted slippage in points for market orders (0..1000, default 10).
    #[serde(default = "default_deviation", deserialize_with = "lax_int")]
    #[schemars(with = "i64")]
    pub deviation: i64,
    /// Order comment kept by the broker: printable ASCII, at most 31 characters.
    #[serde(default)]
    pub comment: Option<String>,
    /// Makes retries safe: a repeated call with the same key and body returns the first
    /// result (`replayed: true`) instead of trading again. Use a fresh UUID per order.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Set to true, with `approval_request_id`, to execute an order a human approved.
    #[serde(default)]
    pub approval_confirmed: bool,
    /// The `request_id` of the approval preview this call confirms.
    #[serde(default)]
    pub approval_request_id: Option<String>,
}

/// `modify_order` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ModifyArgs {
    /// Ticket of an open position or a pending order.
    #[serde(deserialize_with = "lax_int")]
    #[schemars(with = "i64")]
    pub ticket: i64,
    /// New stop loss; "0" removes it; omit to keep the current one.
    #[serde(default)]
    pub sl: Option<RawDecimal>,
    /// New take profit; "0" removes it; omit to keep the current one.
    #[serde(default)]
    pub tp: Option<RawDecimal>,
    /// New price of a pending order; omit to keep it.
    #[serde(default)]
    pub price: Option<RawDecimal>,
    /// New expiry of a pending order, ISO-8601 with a UTC offset (e.g.
    /// "2026-12-01T00:00:00Z"); omit to keep the current one.
    #[serde(default)]
    pub expiration: Option<String>,
    /// Makes retries safe (see place_order).
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Set to true, with `approval_request_id`, to execute a change a human approved.
    #[serde(default)]
    pub approval_confirmed: bool,
    /// The `request_id` of the approval preview this call confirms.
    #[serde(default)]
    pub approval_request_id: Option<String>,
}

/// `close_position` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CloseArgs {
    /// Ticket of the open position.
    #[serde(deserialize_with = "lax_int")]
    #[schemars(with = "i64")]
    pub ticket: i64,
    /// Volume to close in lots (a partial close); omit to close the whole position.
    #[serde(default)]
    pub volume: Option<RawDecimal>,
    /// Makes retries safe: a retry after a successful close replays its result.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Set to true, with `approval_request_id`, to execute a close a human approved.
    #[serde(default)]
    pub approval_confirmed: bool,
    /// The `request_id` of the approval preview this call confirms.
    #[serde(default)]
    pub approval_request_id: Option<String>,
}

/// `cancel_order` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CancelArgs {
    /// Ticket of the pending order.
    #[serde(deserialize_with = "lax_int")]
    #[schemars(with = "i64")]
    pub ticket: i64,
    /// Makes retries safe: a retry after a successful cancel replays its result.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// An optional decimal where `""` means absent (upstream treats a falsy string as unset).
pub fn optional_decimal(
    field: &str,
    raw: &Option<RawDecimal>,
) -> Result<Option<Decimal>, ToolError> {
    match raw {
        None => Ok(None),
        Some(r) if r.0.trim().is_empty() => Ok(None),
        Some(r) => parse_decimal(field, &r.0).map(Some),
    }
}

/// A price that must be strictly positive when given.
pub fn positive_price(field: &str, value: Option<Decimal>) -> Result<Option<Decimal>, ToolError> {
    match value {
        Some(v) if v <= Decimal::ZERO => Err(ToolError::invalid_request(
            field,
            &v.to_string(),
            "must be a positive price",
        )),
        other => Ok(other),
    }
}

/// A stop level: zero (remove) or positive.
pub fn stop_level(field: &str, value: Option<Decimal>) -> Result<Option<Decimal>, ToolError> {
    match value {
        Some(v) if v < Decimal::ZERO => Err(ToolError::invalid_request(
            field,
            &v.to_string(),
            "must be zero (remove) or a positive price",
        )),
        other => Ok(other),
    }
}

pub fn ticket(value: i64) -> Result<i64, ToolError> {
    if value <= 0 {
        return Err(ToolError::invalid_request(
            "ticket",
            &value.to_string(),
            "must be a positive ticket number",
        ));
    }
    Ok(value)
}

pub fn deviation(value: i64) -> Result<i64, ToolError> {
    if !(0..=MAX_DEVIATION).contains(&value) {
        return Err(ToolError::invalid_request(
            "deviation",
            &value.to_string(),
            format!("must be between 0 and {MAX_DEVIATION} points"),
        ));
    }
    Ok(value)
}

/// The idempotency key, if any. `""` counts as no key, as it did upstream (looked up, never
/// stored); anything else must be a plausible key so a typo'd or binary value is refused
/// instead of silently scoping a retry.
pub fn idempotency_key(raw: &Option<String>) -> Result<Option<String>, ToolError> {
    let Some(key) = raw else { return Ok(None) };
    if key.is_empty() {
        return Ok(None);
    }
    let shown: String = key.chars().take(64).collect();
    if key.len() > MAX_KEY_LEN {
        return Err(ToolError::invalid_request(
            "idempotency_key",
            &shown,
            format!("longer than {MAX_KEY_LEN} characters"),
        ));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ToolError::invalid_request(
            "idempotency_key",
            &shown,
            "must be printable ASCII without spaces (a UUID is ideal)",
        ));
    }
    Ok(Some(key.clone()))
}

/// Checks a comment the way the terminal would store it; `None` when blank.
pub fn comment(raw: &Option<String>) -> Result<Option<String>, ToolError> {
    let Some(raw) = raw else { return Ok(None) };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let problem = if trimmed.chars().count() > COMMENT_MAX_LEN {
        Some(CommentProblem::TooLong)
    } else if !trimmed.is_ascii() {
        Some(CommentProblem::NonAscii)
    } else if trimmed.bytes().any(|b| b < 0x20 || b == 0x7f) {
        Some(CommentProblem::ControlChar)
    } else {
        None
    };
    match problem {
        None => Ok(Some(trimmed.to_owned())),
        Some(problem) => Err(ToolError::invalid_comment(problem, trimmed)),
    }
}

/// Rounds a price to the symbol's digits, half away from zero (upstream's ROUND_HALF_UP).
pub fn round_price(value: Decimal, digits: i64) -> Decimal {
    let dp = digits.clamp(0, 12) as u32;
    value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// The symbol's volume rules: at least the minimum, at most the maximum, on the step.
/// `held` is a further ceiling (the position's volume for a partial close).
pub fn check_volume(
    symbol: &str,
    volume: Decimal,
    min: Decimal,
    max: Decimal,
    step: Decimal,
    held: Option<Decimal>,
) -> Result<(), ToolError> {
    let fail = |rule: VolumeRule, limit: Decimal| {
        Err(ToolError::invalid_volume(
            symbol,
            &volume.to_string(),
            rule,
            &limit.normalize().to_string(),
        ))
    };
    if volume <= Decimal::ZERO || volume < min {
        return fail(VolumeRule::BelowMin, min);
    }
    if volume > max {
        return fail(VolumeRule::AboveMax, max);
    }
    if let Some(held) = held
        && volume > held
    {
        return fail(VolumeRule::AbovePosition, held);
    }
    if step > Decimal::ZERO && !((volume - min) % step).is_zero() {
        return fail(VolumeRule::OffStep, step);
    }
    Ok(())
}

/// The decimal as the caller wrote it (scale kept), for echoes and hashes.
pub fn echo_dec(value: Option<Decimal>) -> serde_json::Value {
    value.map_or(serde_json::Value::Null, |d| json!(d.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn comments_follow_the_terminal_rules() {
        type Case<'a> = (Option<&'a str>, Result<Option<&'a str>, &'a str>);
        let cases: &[Case] = &[
            (None, Ok(None)),
            (Some("   "), Ok(None)),
            (Some("  scalp #1 "), Ok(Some("scalp #1"))),
            (Some(&"x".repeat(31)), Ok(Some(&"x".repeat(31)))),
            (Some(&"x".repeat(32)), Err("too_long")),
            (Some("héllo"), Err("non_ascii")),
            (Some("a\tb"), Err("control_char")),
            (Some("a\u{7f}b"), Err("control_char")),
        ];
        for (raw, expected) in cases {
            let got = comment(&raw.map(str::to_owned));
            match expected {
                Ok(v) => assert_eq!(got.unwrap().as_deref(), *v, "{raw:?}"),
                Err(reason) => {
                    let e = got.unwrap_err();
                    assert_eq!(e.code, crate::errors::ErrorCode::INVALID_COMMENT);
                    assert_eq!(e.details.unwrap()["reason"], *reason, "{raw:?}");
                }
            }
        }
    }

    #[test]
    fn idempotency_keys_are_plausible_or_absent() {
        assert_eq!(idempotency_key(&None).unwrap(), None);
        assert_eq!(idempotency_key(&Some(String::new())).unwrap(), None);
        assert_eq!(
            idempotency_key(&Some("4f1c-k1".into())).unwrap().as_deref(),
            Some("4f1c-k1")
        );
        for bad in ["a b", "\u{1}", "ключ", &"k".repeat(129)] {
            let e = idempotency_key(&Some(bad.to_owned())).unwrap_err();
            assert_eq!(e.code, crate::errors::ErrorCode::INVALID_REQUEST, "{bad:?}");
            assert_eq!(e.details.unwrap()["field"], "idempotency_key");
        }
    }

    #[test]
    fn prices_round_half_up_to_digits() {
        let cases = [
            ("1.070004", 5, "1.07000"),
            ("1.070005", 5, "1.07001"),
            ("1.1", 5, "1.1"),
            ("151.2345", 3, "151.235"),
            ("2650.555", 2, "2650.56"),
        ];
        for (raw, digits, expected) in cases {
            assert_eq!(round_price(d(raw), digits).to_string(), expected, "{raw}");
        }
    }

    #[test]
    fn volumes_must_fit_the_symbol() {
        let (min, max, step) = (d("0.01"), d("100"), d("0.01"));
        let ok = ["0.01", "0.10", "1", "100"];
        for v in ok {
            check_volume("EURUSD", d(v), min, max, step, None).unwrap();
        }
        let bad = [
            ("0", "min"),
            ("-1", "min"),
            ("0.001", "min"),
            ("100.01", "max"),
            ("1000000", "max"),
            ("0.015", "step"),
        ];
        for (v, key) in bad {
            let e = check_volume("EURUSD", d(v), min, max, step, None).unwrap_err();
            assert_eq!(e.code, crate::errors::ErrorCode::INVALID_VOLUME);
            assert!(e.details.unwrap().get(key).is_some(), "{v}: {key}");
        }
        let e = check_volume("EURUSD", d("0.5"), min, max, step, Some(d("0.3"))).unwrap_err();
        assert_eq!(e.details.unwrap()["position_volume"], "0.3");
        check_volume("EURUSD", d("0.3"), min, max, step, Some(d("0.3"))).unwrap();
    }

    #[test]
    fn numeric_bounds() {
        assert!(deviation(-1).is_err());
        assert!(deviation(1001).is_err());
        assert_eq!(deviation(0).unwrap(), 0);
        assert!(ticket(0).is_err());
        assert!(ticket(-5).is_err());
        assert!(positive_price("price", Some(d("0"))).is_err());
        assert!(positive_price("price", Some(d("-1.1"))).is_err());
        assert_eq!(stop_level("sl", Some(d("0"))).unwrap(), Some(d("0")));
        assert!(stop_level("sl", Some(d("-0.1"))).is_err());
    }
}
