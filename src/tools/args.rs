//! Reading tool arguments.
//!
//! rmcp's own `Parameters<T>` answers a malformed call with free prose. We want every
//! failure to carry a code (DESIGN §3.1, §3.7), so tools take [`Args<T>`], which never
//! fails extraction and hands the handler either the parsed arguments or an
//! INVALID_REQUEST error that names the problem.
//!
//! Upstream (pydantic, "lax" mode) accepted integers sent as `"10"` or `10.0`; clients
//! written for it may rely on that, so integer parameters accept those spellings too
//! ([`lax_int`]). Decimal parameters accept JSON numbers and strings of plain ASCII
//! decimals only ([`parse_decimal`]).

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;

use rmcp::handler::server::common::FromContextPart;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::JsonObject;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::errors::ToolError;

/// Parsed tool arguments, or the error to answer with.
pub struct Args<T>(pub Result<T, ToolError>);

impl<S, T: DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Args<T> {
    fn from_context_part(ctx: &mut ToolCallContext<'_, S>) -> Result<Self, rmcp::ErrorData> {
        let arguments = ctx.arguments.take().unwrap_or_default();
        let parsed =
            serde_path_to_error::deserialize::<_, T>(Value::Object(arguments)).map_err(|e| {
                // Name the offending argument: serde alone says "expected a string" but not
                // which one.
                let field = e.path().to_string();
                ToolError::bad_arguments(&ctx.name, &field, e.into_inner())
            });
        Ok(Args(parsed))
    }
}

/// The input schema of an argument struct, for `#[tool(input_schema = ...)]`.
pub fn input_schema<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    rmcp::handler::server::common::schema_for_input::<T>().unwrap_or_else(|e| {
        panic!(
            "invalid input schema for {}: {e}",
            std::any::type_name::<T>()
        )
    })
}

/// An integer sent as a JSON integer, an integral float (`10.0`) or a string of ASCII
/// digits (`"10"`).
pub fn lax_int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    use serde::de::Error;
    let v = Value::deserialize(d)?;
    let bad = || D::Error::custom(format!("expected an integer, got {v}"));
    match &v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else {
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
                    _ => Err(bad()),
                }
            }
        }
        Value::String(s) => {
            let t = s.trim();
            let digits = t.strip_prefix('-').unwrap_or(t);
            if !digits.is_empty()
                && digits.len() <= 18
                && digits.bytes().all(|b| b.is_ascii_digit())
            {
                t.parse().map_err(|_| bad())
            } else {
                Err(bad())
            }
        }
        _ => Err(bad()),
    }
}

/// A decimal argument as received: a JSON number or a string. Parsed later with
/// [`parse_decimal`] so the error can name the field.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDecimal(pub String);

impl<'de> Deserialize<'de> for RawDecimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::String(s) => Ok(RawDecimal(s)),
            Value::Number(n) => Ok(RawDecimal(n.to_string())),
            other => Err(D::Error::custom(format!(
                "expected a decimal number or string, got {other}"
            ))),
        }
    }
}

impl JsonSchema for RawDecimal {
    fn schema_name() -> Cow<'static, str> {
        "DecimalInput".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "anyOf": [{ "type": "string" }, { "type": "number" }],
            "description": "A plain decimal such as \"0.10\" or 1.0825 (strings keep exact digits)."
        })
    }
}

/// Longest decimal text we read; nothing a trader types comes close.
const MAX_DECIMAL_LEN: usize = 40;

/// Parses a trader's decimal: optional sign, ASCII digits, optional fraction. Scale is
/// kept (`"0.10"` stays `0.10`). No exponents, separators, non-ASCII digits, NaN or
/// infinity: each is refused with a reason.
pub fn parse_decimal(field: &str, raw: &str) -> Result<Decimal, ToolError> {
    let fail = |reason: &str| ToolError::invalid_request(field, raw, reason.to_owned());
    let t = raw.trim();
    if t.is_empty() {
        return Err(fail("must not be empty"));
    }
    if t.len() > MAX_DECIMAL_LEN {
        return Err(fail("too long to be a price or volume"));
    }
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = digits_ok(int)
        && frac.is_none_or(digits_ok)
        && !(int.is_empty() && frac.is_none_or(str::is_empty));
    if !well_formed {
        let lower = t.to_ascii_lowercase();
        let reason = if lower.contains("nan") || lower.contains("inf") {
            "not a finite number"
        } else if lower.contains('e') && lower.bytes().any(|b| b.is_ascii_digit()) {
            "exponent notation is not accepted; write the number out"
        } else {
            "not a plain decimal number"
        };
        return Err(fail(reason));
    }
    Decimal::from_str(t.strip_prefix('+').unwrap_or(t))
        .map_err(|_| fail("out of range for a decimal number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_scale_and_refuse_what_a_trader_does_not_write() {
        let ok: &[(&str, &str)] = &[
            ("0.10", "0.10"),
            ("1", "1"),
            (" 1.0825 ", "1.0825"),
            ("-0.5", "-0.5"),
            ("+2", "2"),
            ("100000.00", "100000.00"),
            (".5", "0.5"),
            ("5.", "5"),
        ];
        for (raw, expected) in ok {
            assert_eq!(
                parse_decimal("volume", raw).unwrap().to_string(),
                *expected,
                "{raw}"
            );
        }
        let long = "1".repeat(41);
        let bad: &[(&str, &str)] = &[
            ("", "must not be empty"),
            ("abc", "not a plain decimal number"),
            ("1e3", "exponent notation"),
            ("NaN", "not a finite number"),
            ("inf", "not a finite number"),
            ("1_000", "not a plain decimal number"),
            ("١٢", "not a plain decimal number"),
            ("1.2.3", "not a plain decimal number"),
            ("-", "not a plain decimal number"),
            (".", "not a plain decimal number"),
            ("99999999999999999999999999999999999", "out of range"),
            (long.as_str(), "too long"),
        ];
        for (raw, reason) in bad {
            let e = parse_decimal("volume", raw).unwrap_err();
            assert_eq!(e.code, crate::errors::ErrorCode::INVALID_REQUEST);
            let got = e.details.as_ref().unwrap()["reason"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(got.contains(reason), "{raw}: {got}");
        }
    }

    #[derive(Deserialize)]
    struct N {
        #[serde(deserialize_with = "lax_int")]
        n: i64,
    }

    #[test]
    fn integers_accept_upstream_lax_spellings() {
        let parse =
            |v: Value| serde_json::from_value::<N>(serde_json::json!({ "n": v })).map(|n| n.n);
        assert_eq!(parse(serde_json::json!(10)).unwrap(), 10);
        assert_eq!(parse(serde_json::json!(10.0)).unwrap(), 10);
        assert_eq!(parse(serde_json::json!("10")).unwrap(), 10);
        assert_eq!(parse(serde_json::json!("-3")).unwrap(), -3);
        assert!(parse(serde_json::json!(10.5)).is_err());
        assert!(parse(serde_json::json!("ten")).is_err());
        assert!(parse(serde_json::json!("1e3")).is_err());
        assert!(parse(serde_json::json!(true)).is_err());
        assert!(parse(serde_json::json!(null)).is_err());
        assert!(parse(serde_json::json!("99999999999999999999")).is_err());
    }
}
