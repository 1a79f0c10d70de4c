//! Canonical JSON and the request hash.
//!
//! The hash decides whether a retry with the same idempotency key is "the same request", so it
//! must match upstream byte for byte: an agent that replays a key against either server gets
//! the same verdict. Upstream hashes Python's
//! `json.dumps(v, sort_keys=True, separators=(",", ":"))` (ASCII-only output), so this module
//! reproduces that serialisation exactly instead of relying on `serde_json`, which keeps
//! insertion order here (`preserve_order`) and writes non-ASCII characters raw.
//!
//! The same writer serves the audit log, which wants Python's escaping but the caller's key
//! order; hence the `sort_keys` switch on [`write_json`].

use std::fmt::Write as _;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// `json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, v, true);
    out
}

/// `"sha256:"` followed by the lowercase hex SHA-256 of [`canonical_json`].
pub fn request_hash(model: &Value) -> String {
    let digest = Sha256::digest(canonical_json(model).as_bytes());
    format!("sha256:{}", hex_lower(&digest))
}

/// Lowercase hex of arbitrary bytes.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Appends `v` as compact, ASCII-only JSON. With `sort_keys` every object (at every depth) is
/// written in code-point order of its keys, as Python does; otherwise in stored order.
pub(crate) fn write_json(out: &mut String, v: &Value, sort_keys: bool) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item, sort_keys);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if sort_keys {
                // UTF-8 byte order is code-point order, which is how Python compares str.
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, key);
                out.push(':');
                write_json(out, value, sort_keys);
            }
            out.push('}');
        }
    }
}

/// A JSON string literal with Python's `ensure_ascii` escaping: the two-character escapes
/// Python uses, `\u00XX` (lowercase) for other control characters and DEL, and UTF-16
/// surrogate pairs for characters above U+FFFF.
pub(crate) fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

fn write_number(out: &mut String, n: &serde_json::Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        out.push_str(&python_float_repr(f));
    }
}

/// Python's `repr(float)`: shortest round-trip digits, fixed-point for exponents -4..16 (with a
/// `.0` on whole numbers), scientific with a signed two-digit exponent otherwise. Decimals
/// travel as strings, so this only matters for a stray float in a request model.
fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0.0");
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("LowerExp has an exponent");
    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let n = digits.len() as i32;
    if (-4..16).contains(&exp) {
        let body = if exp >= 0 {
            if n <= exp + 1 {
                format!("{digits}{}.0", "0".repeat((exp + 1 - n) as usize))
            } else {
                let (int, frac) = digits.split_at((exp + 1) as usize);
                format!("{int}.{frac}")
            }
        } else {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        };
        format!("{sign}{body}")
    } else {
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The four vectors upstream's engine produces (reference §3.1), with keys deliberately
    /// supplied out of order.
    #[test]
    fn upstream_test_vectors() {
        let table: &[(Value, &str, &str)] = &[
            (
                json!({"symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.10",
                       "price": null, "stop_limit_price": null, "sl": null, "tp": null,
                       "deviation": 10, "comment": "héllo", "idempotency_key": "k1"}),
                r#"{"comment":"h\u00e9llo","deviation":10,"idempotency_key":"k1","price":null,"side":"buy","sl":null,"stop_limit_price":null,"symbol":"EURUSD","tp":null,"type":"market","volume":"0.10"}"#,
                "sha256:1abc76db77c290e1fa81b7db665cbc0f3b1400e1856293e0e724607e39361910",
            ),
            (
                json!({"ticket": 42, "volume": null, "idempotency_key": null}),
                r#"{"idempotency_key":null,"ticket":42,"volume":null}"#,
                "sha256:c40b941724cf76daa078f166062c3734c4946ee64c5fc2f19703dce27fda1e0c",
            ),
            (
                json!({"ticket": 9, "idempotency_key": "c1"}),
                r#"{"idempotency_key":"c1","ticket":9}"#,
                "sha256:71e39ea8c0cf8e563f5f33aa50c2e4f2d80f46c355625b1474d43929dc2b63eb",
            ),
            (
                json!({"ticket": 9, "sl": null, "tp": null, "price": "1.07",
                       "expiration": "2026-12-01T00:00:00Z", "idempotency_key": null}),
                r#"{"expiration":"2026-12-01T00:00:00Z","idempotency_key":null,"price":"1.07","sl":null,"ticket":9,"tp":null}"#,
                "sha256:9fa236e86d90ab6bbc997ddd3f8bfe3aa3d3b3d083e17c645e95086e3eec0ba6",
            ),
        ];
        for (model, canonical, hash) in table {
            assert_eq!(canonical_json(model), *canonical);
            assert_eq!(request_hash(model), *hash);
        }
    }

    #[test]
    fn scale_of_a_decimal_string_changes_the_hash() {
        let a = request_hash(&json!({"volume": "0.10"}));
        let b = request_hash(&json!({"volume": "0.1"}));
        assert_ne!(a, b);
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64);
    }

    #[test]
    fn escapes_like_python_ensure_ascii() {
        // Expected strings are what CPython 3.11 json.dumps(..., ensure_ascii=True) prints.
        let table: &[(&str, &str)] = &[
            ("plain", r#""plain""#),
            ("q\"b\\s/", r#""q\"b\\s/""#),
            ("\n\r\t\u{08}\u{0c}", r#""\n\r\t\b\f""#),
            ("\u{00}\u{01}\u{1f}", r#""\u0000\u0001\u001f""#),
            ("\u{7f}", r#""\u007f""#),
            ("é€", r#""\u00e9\u20ac""#),
            ("\u{ffff}", r#""\uffff""#),
            ("😀", r#""\ud83d\ude00""#),
            ("\u{10ffff}", r#""\udbff\udfff""#),
            ("~ ", r#""~ ""#),
        ];
        for (raw, expected) in table {
            assert_eq!(
                canonical_json(&Value::String((*raw).into())),
                *expected,
                "{raw:?}"
            );
        }
    }

    #[test]
    fn sorts_keys_at_every_depth_only_when_asked() {
        let v = json!({"b": {"z": 1, "a": [{"y": true, "x": false}]}, "a": null, "é": 1, "Z": 2});
        assert_eq!(
            canonical_json(&v),
            r#"{"Z":2,"a":null,"b":{"a":[{"x":false,"y":true}],"z":1},"\u00e9":1}"#
        );
        let mut unsorted = String::new();
        write_json(&mut unsorted, &v, false);
        assert_eq!(
            unsorted,
            r#"{"b":{"z":1,"a":[{"y":true,"x":false}]},"a":null,"\u00e9":1,"Z":2}"#
        );
    }

    #[test]
    fn numbers_render_like_python() {
        let table: &[(Value, &str)] = &[
            (json!(0), "0"),
            (json!(-7), "-7"),
            (json!(u64::MAX), "18446744073709551615"),
            (json!(i64::MIN), "-9223372036854775808"),
            (json!(1.0), "1.0"),
            (json!(0.1), "0.1"),
            (json!(-2.5), "-2.5"),
            (json!(1e-4), "0.0001"),
            (json!(1e-5), "1e-05"),
            (json!(1.5e16), "1.5e+16"),
            (json!(1e16), "1e+16"),
            (json!(123456789012345.6), "123456789012345.6"),
            (json!(1e300), "1e+300"),
            (json!(0.0), "0.0"),
        ];
        for (v, expected) in table {
            assert_eq!(canonical_json(v), *expected, "{v}");
        }
    }
}
