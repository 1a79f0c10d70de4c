//! A `serde_json` formatter that also writes its output as the contents of a JSON string.
//!
//! Every element of a list answer goes on the wire twice: as itself in
//! `structuredContent`, and as the text of a content block, i.e. its compact JSON escaped
//! inside a string. Escaping the printed text afterwards means scanning it again byte by
//! byte; [`Mirror`] writes the escaped copy while serde_json prints the original, from the
//! tokens it already has: only string quotes and escape sequences differ between the two
//! copies (serde_json hands string contents over in fragments that need no escaping, and
//! escapes everything else itself).

use std::io::{self, Write};

use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

/// Prints compact JSON like [`CompactFormatter`] and appends the same text, escaped as the
/// contents of a JSON string, to `copy`.
pub struct Mirror<'a> {
    pub copy: &'a mut Vec<u8>,
}

/// Formatter methods whose tokens are the same in both copies: no quotes, no backslashes.
macro_rules! same_in_both {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name<W: ?Sized + Write>(&mut self, writer: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            CompactFormatter.$name(writer $(, $arg)*)?;
            CompactFormatter.$name(self.copy $(, $arg)*)
        }
    )*};
}

impl Formatter for Mirror<'_> {
    same_in_both! {
        write_null();
        write_bool(value: bool);
        write_i8(value: i8);
        write_i16(value: i16);
        write_i32(value: i32);
        write_i64(value: i64);
        write_i128(value: i128);
        write_u8(value: u8);
        write_u16(value: u16);
        write_u32(value: u32);
        write_u64(value: u64);
        write_u128(value: u128);
        write_f32(value: f32);
        write_f64(value: f64);
        write_number_str(value: &str);
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        end_object_key();
        begin_object_value();
        end_object_value();
        write_raw_fragment(fragment: &str);
    }

    fn begin_string<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b"\"")?;
        self.copy.write_all(b"\\\"")
    }

    fn end_string<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.begin_string(writer)
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // serde_json's contract: a fragment needs no escaping, in either copy.
        writer.write_all(fragment.as_bytes())?;
        self.copy.write_all(fragment.as_bytes())
    }

    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        // An escape sequence is at most six ASCII bytes; in the copy its backslash and any
        // quote are escaped once more.
        let mut buf = [0u8; 8];
        let mut rest = &mut buf[..];
        CompactFormatter.write_char_escape(&mut rest, char_escape)?;
        let len = 8 - rest.len();
        let sequence = &buf[..len];
        writer.write_all(sequence)?;
        for &b in sequence {
            if b == b'\\' || b == b'"' {
                self.copy.push(b'\\');
            }
            self.copy.push(b);
        }
        Ok(())
    }
}

/// `value` as compact JSON appended to `json`, and as the contents of a JSON string holding
/// that text appended to `escaped`.
pub fn write_both<T: serde::Serialize + ?Sized>(
    value: &T,
    json: &mut Vec<u8>,
    escaped: &mut Vec<u8>,
) -> serde_json::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(json, Mirror { copy: escaped });
    value.serialize(&mut serializer)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// The copy is exactly what serde_json makes of the printed text as a string.
    fn check<T: serde::Serialize + ?Sized>(value: &T) {
        let (mut json, mut escaped) = (Vec::new(), Vec::new());
        write_both(value, &mut json, &mut escaped).unwrap();
        let text = String::from_utf8(json).unwrap();
        assert_eq!(text, serde_json::to_string(value).unwrap());
        let quoted = serde_json::to_string(&text).unwrap();
        assert_eq!(
            String::from_utf8(escaped).unwrap(),
            quoted[1..quoted.len() - 1],
            "{text}"
        );
    }

    #[test]
    fn the_copy_is_the_text_escaped_as_a_json_string() {
        let controls: String = (0u8..0x20).map(char::from).collect();
        check(&json!({
            "plain": "EURUSD",
            "quotes": "say \"hi\" \\ back\\slash /",
            "controls": controls,
            "unicode": "ünïcödé € 📈 \u{2028}\u{7f}",
            "numbers": [0, -1, 1.5, -0.0, 1e300, 5e-324, u64::MAX, i64::MIN],
            "nested": {"empty": {}, "list": [], "null": null, "t": true, "f": false},
            "ke\"y\n": "key that needs escaping",
        }));
        check("");
        check(&Value::Null);
        check(&[1u8, 2, 3][..]);
        check(&(i128::MIN, u128::MAX, 1.25f32, f64::NAN));
        let mut map = std::collections::BTreeMap::new();
        map.insert(7, "integer keys print as strings");
        check(&map);
    }
}
