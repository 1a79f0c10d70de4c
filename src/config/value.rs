//! Lax conversions from TOML values to the types the schema needs.
//!
//! Upstream validates with pydantic in lax mode, so files written for it use strings for
//! money (`"1000.50"`), floats for integers (`300.0`) and strings for integers (`"300"`).
//! We accept exactly those spellings and nothing looser: no NaN or infinity, no booleans as
//! numbers, no fractional integers, no exponents in integers. Each function returns the
//! problem as text; the schema walker prefixes the key path.

use rust_decimal::Decimal;
use toml::Value;

use super::error::quoted;

/// A problem with one value, without its key.
pub(super) type Problem = String;

/// Largest scale a `Decimal` can hold.
const MAX_SCALE: i64 = 28;

/// What the user wrote, for "got …" in messages: the type and (short) the value.
pub(super) fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("string {}", quoted(s)),
        Value::Integer(i) => format!("integer {i}"),
        Value::Float(f) => format!("float {}", float_text(*f)),
        Value::Boolean(b) => format!("boolean {b}"),
        Value::Datetime(d) => format!("date-time {d}"),
        Value::Array(_) => "an array".to_owned(),
        Value::Table(_) => "a table".to_owned(),
    }
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        "nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{f:?}")
    }
}

/// A decimal number: a TOML string holding a plain or scientific decimal, an integer, or a
/// finite float (converted through its shortest round-trip text, so `0.1` is exactly 0.1,
/// as Python's `Decimal(str(0.1))`). Negative zero becomes zero.
pub(super) fn decimal(v: &Value) -> Result<Decimal, Problem> {
    let expected = || {
        format!(
            "expected a decimal number (a string such as \"1000.50\", an integer or a float), got {}",
            describe(v)
        )
    };
    match v {
        Value::Integer(i) => Ok(Decimal::from(*i)),
        Value::Float(f) if f.is_finite() => parse_decimal(&format!("{f:?}")),
        Value::Float(_) => Err(format!("must be a finite number (got {})", describe(v))),
        Value::String(s) => {
            let t = s.trim();
            if is_nan_or_inf(t) {
                return Err(format!("must be a finite number (got {})", describe(v)));
            }
            parse_decimal(t).map_err(|p| if p.is_empty() { expected() } else { p })
        }
        _ => Err(expected()),
    }
}

fn is_nan_or_inf(t: &str) -> bool {
    let t = t.trim_start_matches(['+', '-']).to_ascii_lowercase();
    matches!(t.as_str(), "nan" | "snan" | "inf" | "infinity")
}

/// Parses `[+-]digits[.digits][e[+-]digits]` (either digit run may be empty, not both) into
/// a `Decimal`, exactly. An empty problem means "not a decimal literal" (the caller phrases
/// it); any other problem is a range problem.
fn parse_decimal(text: &str) -> Result<Decimal, Problem> {
    let lit = DecimalLiteral::scan(text).ok_or_else(String::new)?;
    let out_of_range = || format!("{} is out of range for a decimal number", quoted(text));

    let mut mantissa: i128 = 0;
    for d in lit.digits() {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(d)))
            .ok_or_else(out_of_range)?;
    }
    let mut scale = lit.frac_len as i64 - lit.exponent;
    if mantissa == 0 {
        return Ok(Decimal::new(0, scale.clamp(0, MAX_SCALE) as u32));
    }
    while scale > MAX_SCALE && mantissa % 10 == 0 {
        mantissa /= 10;
        scale -= 1;
    }
    if scale > MAX_SCALE {
        return Err(format!(
            "{} has more than {MAX_SCALE} decimal places",
            quoted(text)
        ));
    }
    while scale < 0 {
        mantissa = mantissa.checked_mul(10).ok_or_else(out_of_range)?;
        scale += 1;
    }
    if lit.negative {
        mantissa = -mantissa;
    }
    Decimal::try_from_i128_with_scale(mantissa, scale as u32).map_err(|_| out_of_range())
}

struct DecimalLiteral<'a> {
    negative: bool,
    int_digits: &'a str,
    frac_digits: &'a str,
    frac_len: usize,
    exponent: i64,
}

impl<'a> DecimalLiteral<'a> {
    fn scan(text: &'a str) -> Option<Self> {
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (number, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int_digits, frac_digits) = match number.find('.') {
            Some(i) => (&number[..i], &number[i + 1..]),
            None => (number, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int_digits)
            || !all_digits(frac_digits)
            || int_digits.len() + frac_digits.len() == 0
        {
            return None;
        }
        let exponent = match exponent {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !all_digits(digits) {
                    return None;
                }
                // Any exponent beyond a few hundred is out of range anyway; saturate instead
                // of failing the parse so the message says "out of range".
                let magnitude: i64 = digits.parse().unwrap_or(i64::MAX / 2).min(10_000);
                if e.starts_with('-') {
                    -magnitude
                } else {
                    magnitude
                }
            }
        };
        Some(DecimalLiteral {
            negative,
            int_digits,
            frac_digits,
            frac_len: frac_digits.len(),
            exponent,
        })
    }

    fn digits(&self) -> impl Iterator<Item = u8> + '_ {
        self.int_digits
            .bytes()
            .chain(self.frac_digits.bytes())
            .map(|b| b - b'0')
            .skip_while(|d| *d == 0)
    }
}

/// An integer: a TOML integer, a float with no fractional part (`300.0`), or a string of
/// ASCII digits with an optional sign (`"300"`). Returned wide so the caller can range-check
/// before narrowing.
pub(super) fn integer(v: &Value) -> Result<i128, Problem> {
    match v {
        Value::Integer(i) => Ok(i128::from(*i)),
        Value::Float(f) if f.is_finite() && f.fract() == 0.0 => {
            if f.abs() < 1e30 {
                Ok(*f as i128)
            } else {
                Err(format!("is out of range (got {})", describe(v)))
            }
        }
        Value::Float(_) => Err(format!("must be a whole number (got {})", describe(v))),
        Value::String(s) => {
            let t = s.trim();
            let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("expected an integer, got {}", describe(v)));
            }
            t.parse::<i128>()
                .map_err(|_| format!("{} is out of range for an integer", quoted(t)))
        }
        _ => Err(format!("expected an integer, got {}", describe(v))),
    }
}

/// A float: a finite TOML float, an integer, or a numeric string.
pub(super) fn float(v: &Value) -> Result<f64, Problem> {
    let parsed = match v {
        Value::Float(f) => Some(*f),
        Value::Integer(i) => Some(*i as f64),
        Value::String(s) => {
            let t = s.trim();
            if is_nan_or_inf(t) || DecimalLiteral::scan(t).is_none() {
                return Err(format!("expected a number, got {}", describe(v)));
            }
            t.parse::<f64>().ok()
        }
        _ => None,
    };
    match parsed {
        Some(f) if f.is_finite() => Ok(f),
        Some(_) => Err(format!("must be a finite number (got {})", describe(v))),
        None => Err(format!("expected a number, got {}", describe(v))),
    }
}

/// A boolean: a TOML boolean, the integers 0 and 1, or the strings pydantic accepts
/// (`true/false`, `yes/no`, `on/off`, `1/0`, `t/f`, `y/n`, any case).
pub(super) fn boolean(v: &Value) -> Result<bool, Problem> {
    let parsed = match v {
        Value::Boolean(b) => Some(*b),
        Value::Integer(0) => Some(false),
        Value::Integer(1) => Some(true),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "on" | "1" => Some(true),
            "false" | "f" | "no" | "n" | "off" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    };
    parsed.ok_or_else(|| format!("expected true or false, got {}", describe(v)))
}

/// A string, strictly (as pydantic v2: numbers are not turned into strings).
pub(super) fn string(v: &Value) -> Result<&str, Problem> {
    match v {
        Value::String(s) => Ok(s),
        _ => Err(format!("expected a string, got {}", describe(v))),
    }
}

/// A string that must not be empty (used for optional keys, where leaving the key out is
/// how to say "unset").
pub(super) fn non_empty_string(v: &Value) -> Result<&str, Problem> {
    let s = string(v)?;
    if s.is_empty() {
        return Err("must not be empty (remove the key to leave it unset)".to_owned());
    }
    Ok(s)
}

/// An array of strings.
pub(super) fn string_list(v: &Value) -> Result<Vec<String>, Problem> {
    let Value::Array(items) = v else {
        return Err(format!("expected an array of strings, got {}", describe(v)));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!(
                "item {i}: expected a string, got {}",
                describe(other)
            )),
        })
        .collect()
}
