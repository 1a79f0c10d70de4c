//! A `serde_json` formatter that also writes its output as the contents of a JSON string.
//!
//! Every element of a list answer goes on the wire twice: as itself in
//! `structuredContent`, and as the text of a content block, i.e. its compact JSON escaped
//! inside a string. Escaping the printed text afterwards means scanning it again byte by
//! byte; [`Mirror`] writes the escaped copy while serde_json prints the original, from the
//! tokens it already has: only string quotes and escape sequences differ between the two
//! copies (serde_json hands string contents over in fragments that need no escaping, and
//! escapes everything else itself).
//!
//! The text must be what the value form of a list (`twin`, for transports that take a
//! `serde_json::Value`) puts on the wire, so the Mirror follows `serde_json::to_value` where
//! printing directly would differ: an `f32` prints as the `f64` it becomes, and 128-bit
//! integers and non-string map keys are refused, as the value form refuses them.

use std::io::{self, Write};

use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

/// Prints compact JSON like [`CompactFormatter`] and appends the same text, escaped as the
/// contents of a JSON string, to `copy`.
struct Mirror<'a> {
    copy: &'a mut Vec<u8>,
    /// Between the start of an object key and its value: only a string may come.
    in_key: bool,
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

/// Values that are never a map key: refused inside one.
macro_rules! value_in_both {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name<W: ?Sized + Write>(&mut self, writer: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            self.not_in_key()?;
            CompactFormatter.$name(writer $(, $arg)*)?;
            CompactFormatter.$name(self.copy $(, $arg)*)
        }
    )*};
}

impl<'a> Mirror<'a> {
    fn new(copy: &'a mut Vec<u8>) -> Self {
        Mirror {
            copy,
            in_key: false,
        }
    }

    fn not_in_key(&self) -> io::Result<()> {
        if self.in_key {
            return Err(refused("a non-string map key"));
        }
        Ok(())
    }
}

fn refused(what: &str) -> io::Error {
    io::Error::other(format!("{what} cannot appear in a tool answer"))
}

impl Formatter for Mirror<'_> {
    value_in_both! {
        write_null();
        write_bool(value: bool);
        write_i8(value: i8);
        write_i16(value: i16);
        write_i32(value: i32);
        write_i64(value: i64);
        write_u8(value: u8);
        write_u16(value: u16);
        write_u32(value: u32);
        write_u64(value: u64);
        write_f64(value: f64);
        write_number_str(value: &str);
    }

    same_in_both! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        end_object_key();
        end_object_value();
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.in_key = true;
        CompactFormatter.begin_object_key(writer, first)?;
        CompactFormatter.begin_object_key(self.copy, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.in_key = false;
        CompactFormatter.begin_object_value(writer)?;
        CompactFormatter.begin_object_value(self.copy)
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        // `to_value` keeps an f32 as the f64 it converts to, and prints that.
        self.write_f64(writer, f64::from(value))
    }

    fn write_i128<W: ?Sized + Write>(&mut self, _: &mut W, _: i128) -> io::Result<()> {
        Err(refused("a 128-bit integer"))
    }

    fn write_u128<W: ?Sized + Write>(&mut self, _: &mut W, _: u128) -> io::Result<()> {
        Err(refused("a 128-bit integer"))
    }

    fn write_raw_fragment<W: ?Sized + Write>(&mut self, _: &mut W, _: &str) -> io::Result<()> {
        // Raw JSON (serde_json's `raw_value` feature, not enabled) would need escaping in the
        // copy, and the value form cannot hold it.
        Err(refused("raw JSON"))
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
    let mut serializer = serde_json::Serializer::with_formatter(json, Mirror::new(escaped));
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
        check(&(1.25f32, f64::NAN, f64::INFINITY));
    }

    /// What the value form of a list does with the same input (`twin`).
    fn value_form<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, String> {
        crate::tools::twin::twin(value, 0)
            .map(|(text, _)| text)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_text_follows_the_value_form_where_printing_directly_would_differ() {
        let (mut json, mut escaped) = (Vec::new(), Vec::new());
        write_both(&[0.1f32, 1.0e-7, f32::MAX], &mut json, &mut escaped).unwrap();
        let text = String::from_utf8(json).unwrap();
        assert_eq!(Ok(text.clone()), value_form(&[0.1f32, 1.0e-7, f32::MAX]));
        assert_eq!(
            text,
            serde_json::to_value([0.1f32, 1.0e-7, f32::MAX])
                .unwrap()
                .to_string()
        );

        let mut int_keys = std::collections::BTreeMap::new();
        int_keys.insert(7, "x");
        let mut bool_keys = std::collections::BTreeMap::new();
        bool_keys.insert(true, "x");
        let refused: [(&str, &dyn erased::Ser); 4] = [
            ("int key", &int_keys),
            ("bool key", &bool_keys),
            ("i128", &1i128),
            ("u128", &1u128),
        ];
        for (what, value) in refused {
            let (mut json, mut escaped) = (Vec::new(), Vec::new());
            assert!(value.both(&mut json, &mut escaped).is_err(), "{what}");
            assert!(
                value.twin().is_err(),
                "{what}: the value form refuses it too"
            );
        }
    }

    /// Object-safe access to both forms, for a table of differently typed values.
    mod erased {
        pub trait Ser {
            fn both(&self, json: &mut Vec<u8>, escaped: &mut Vec<u8>) -> serde_json::Result<()>;
            fn twin(&self) -> Result<String, String>;
        }
        impl<T: serde::Serialize> Ser for T {
            fn both(&self, json: &mut Vec<u8>, escaped: &mut Vec<u8>) -> serde_json::Result<()> {
                super::write_both(self, json, escaped)
            }
            fn twin(&self) -> Result<String, String> {
                super::value_form(self)
            }
        }
    }
}
