//! Decimal rendering of MetaTrader doubles.
//!
//! MetaTrader reports prices and money as C doubles. Upstream turns each one into a Python
//! `Decimal` through `str(float)`, i.e. the *shortest* digit string that round-trips, and
//! prints it in fixed-point. We reproduce that exactly so that a value reads the same on both
//! servers: `10000.0` keeps its `.0`, `1e-05` becomes `0.00001`, `1e+16` becomes
//! `10000000000000000`, and `-0.0` stays negative. The scale of the resulting `Decimal` is
//! the scale of that string, which matters for the arithmetic done on it later (Python's
//! decimal arithmetic preserves scale, and so does `rust_decimal`).

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Serialize, Serializer};

use crate::logging::Throttle;

/// Renders a double as upstream does (see the module docs).
pub fn render_f64(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    // ryu gives the shortest round-trip digits, with Python's choice between two equally
    // short candidates (`{:e}` differs on exact ties). Whenever it prints plain fixed-point
    // its text is already upstream's; exponent forms are expanded below.
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(value);
    if !text.contains(['e', 'E']) {
        return text.to_owned();
    }
    let sci = text.trim_start_matches('-').to_ascii_lowercase();
    let (mantissa, exp) = sci
        .split_once('e')
        .expect("checked above: an exponent form");
    let exp: i32 = exp.parse().expect("ryu prints an integer exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if value.is_sign_negative() { "-" } else { "" };
    if value == 0.0 {
        return format!("{sign}0.0");
    }
    // Python's repr is fixed-point for -4 <= exp < 16 and then always shows a fraction.
    let fixed = (-4..16).contains(&exp);
    let n = digits.len() as i32;
    let body = if exp >= 0 {
        let int_len = exp + 1;
        if n <= int_len {
            let zeros = "0".repeat((int_len - n) as usize);
            if fixed {
                format!("{digits}{zeros}.0")
            } else {
                format!("{digits}{zeros}")
            }
        } else {
            let (int, frac) = digits.split_at(int_len as usize);
            format!("{int}.{frac}")
        }
    } else {
        let zeros = "0".repeat((-exp - 1) as usize);
        format!("0.{zeros}{digits}")
    };
    format!("{sign}{body}")
}

/// A double as a `Decimal` with the scale of its upstream rendering. Values a `Decimal`
/// cannot hold (NaN, infinities, beyond ±7.9e28) become zero and are logged, since they can
/// only come from a broken terminal and must not take a tool down.
pub fn dec_from_f64(value: f64) -> Decimal {
    let text = render_f64(value);
    match Decimal::from_str(&text) {
        Ok(d) => d,
        Err(_) => match Decimal::from_scientific(&format!("{value:e}")) {
            Ok(d) => d,
            Err(_) => {
                static WARNINGS: Throttle = Throttle::new(Duration::from_secs(60));
                if let Some(held_back) = WARNINGS.admit() {
                    tracing::warn!(
                        value,
                        held_back,
                        "terminal reported a number outside the decimal range (NaN, infinite or \
                         huge); it is shown as 0 (at most one such warning a minute, held_back \
                         counts the others)"
                    );
                }
                Decimal::ZERO
            }
        },
    }
}

/// A money, price or volume value on the wire: a JSON string holding a plain decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dec(pub Decimal);

impl Dec {
    pub fn from_f64(value: f64) -> Self {
        Dec(dec_from_f64(value))
    }
    /// `None` for an unset MetaTrader value (0.0 means "no SL", "no margin level", ...).
    pub fn nonzero_f64(value: f64) -> Option<Self> {
        (value != 0.0).then(|| Dec::from_f64(value))
    }
}

impl From<Decimal> for Dec {
    fn from(d: Decimal) -> Self {
        Dec(d)
    }
}

impl std::fmt::Display for Dec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // rust_decimal prints fixed-point with the stored scale and never an exponent.
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Dec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl JsonSchema for Dec {
    fn schema_name() -> Cow<'static, str> {
        "Decimal".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
            "description": "A plain decimal number carried as a string to keep its exact digits, e.g. \"1.08245\"."
        })
    }
}

/// A terminal double carried to the wire as its decimal text, for bulk answers (5,000 bars)
/// where parsing the text into a `Decimal` only to print it again was the biggest single
/// cost. Always serialises to the same text as `Dec::from_f64` of the same double.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecText(f64);

impl DecText {
    pub fn from_f64(value: f64) -> Self {
        DecText(value)
    }

    /// The wire text, handed to `f` from a stack buffer when it can be.
    pub fn with_text<R>(self, f: impl FnOnce(&str) -> R) -> R {
        // `render_f64` prints at most 17 significant digits. Between 1e-9 and 1e15 that is
        // a plain decimal with at most 26 fraction digits, which `Decimal` holds exactly and
        // prints back unchanged, so the detour can be skipped; where ryu already prints
        // fixed-point its text is `render_f64`'s. Anything else (zeros and their sign, tiny
        // or huge values, NaN) takes the detour and gets `Dec`'s handling.
        let value = self.0;
        if (1e-9..1e15).contains(&value.abs()) {
            let mut buf = ryu::Buffer::new();
            let text = buf.format_finite(value);
            if text.contains(['e', 'E']) {
                f(&render_f64(value))
            } else {
                f(text)
            }
        } else {
            f(&Dec::from_f64(value).to_string())
        }
    }
}

impl Serialize for DecText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.with_text(|text| s.serialize_str(text))
    }
}

impl JsonSchema for DecText {
    // The same schema as `Dec`, under the same name: clients see one decimal type.
    fn schema_name() -> Cow<'static, str> {
        Dec::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Dec::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dec_text_is_the_text_of_dec() {
        let cases = include_str!("num_cases.txt");
        let mut values: Vec<f64> = cases
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| f64::from_bits(u64::from_str_radix(l.split(' ').next().unwrap(), 16).unwrap()))
            .collect();
        values.extend([
            0.0,
            -0.0,
            1e-9,
            -1e-9,
            9.99e-10,
            1e15,
            -1e15,
            999999999999999.9,
            1e-5,
            10000.0,
            0.30000000000000004,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            8e28,
            1e300,
            f64::MIN_POSITIVE,
            1.08123,
            2650.55,
            149.123,
        ]);
        // Terminal-like prices with every digit count, and random bit patterns.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push((x % 100_000_000) as f64 / 10f64.powi(i % 9));
            values.push(f64::from_bits(x));
        }
        for v in values {
            let text = DecText::from_f64(v).with_text(str::to_owned);
            assert_eq!(text, Dec::from_f64(v).to_string(), "{v:e}");
            assert_eq!(
                serde_json::to_string(&DecText::from_f64(v)).unwrap(),
                serde_json::to_string(&Dec::from_f64(v)).unwrap()
            );
        }
    }

    #[test]
    fn renders_exactly_as_cpython_does() {
        // 800 doubles (random bit patterns, terminal-like prices, exact ties, extremes) with
        // CPython's rendering; see the file header.
        let cases = include_str!("num_cases.txt");
        let mut n = 0;
        for line in cases.lines().filter(|l| !l.starts_with('#')) {
            let (bits, expected) = line.split_once(' ').expect("bits and text");
            let v = f64::from_bits(u64::from_str_radix(bits, 16).expect("hex bits"));
            assert_eq!(render_f64(v), expected, "{v:e}");
            n += 1;
        }
        assert!(n >= 800, "{n} cases");
    }

    #[test]
    fn renders_like_python_str_of_float() {
        let table: &[(f64, &str)] = &[
            (10000.0, "10000.0"),
            (100000.0, "100000.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (1.0824, "1.0824"),
            (1.08245, "1.08245"),
            (0.0001, "0.0001"),
            (1e-5, "0.00001"),
            (1.5e-7, "0.00000015"),
            (1e16, "10000000000000000"),
            (1.5e16, "15000000000000000"),
            (9999999999999998.0, "9999999999999998.0"),
            (123456.789, "123456.789"),
            (-42.5, "-42.5"),
            (149.123, "149.123"),
            (0.30000000000000004, "0.30000000000000004"),
            (1.0, "1.0"),
            (2650.5, "2650.5"),
            (-1e-5, "-0.00001"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
        ];
        for (value, expected) in table {
            assert_eq!(render_f64(*value), *expected, "render of {value:?}");
        }
    }

    #[test]
    fn decimal_keeps_the_rendered_scale() {
        let table: &[(f64, &str)] = &[
            (10000.0, "10000.0"),
            (1.0824, "1.0824"),
            (1e-5, "0.00001"),
            (1e16, "10000000000000000"),
            (0.0, "0.0"),
        ];
        for (value, expected) in table {
            assert_eq!(Dec::from_f64(*value).to_string(), *expected, "{value:?}");
            assert_eq!(
                serde_json::to_string(&Dec::from_f64(*value)).unwrap(),
                format!("\"{expected}\"")
            );
        }
    }

    #[test]
    fn zero_means_unset_for_optional_fields() {
        assert_eq!(Dec::nonzero_f64(0.0), None);
        assert_eq!(
            Dec::nonzero_f64(1.07).map(|d| d.to_string()),
            Some("1.07".into())
        );
    }
}
