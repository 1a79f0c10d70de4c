//! One pass of serde that gives a value both as compact JSON text and as a
//! `serde_json::Value`.
//!
//! A list answer built from values needs each element twice: as a `Value` (rmcp's
//! `structuredContent` type) and as text (its content block). Building the `Value` with
//! `to_value` and printing it again walks every element twice and formats every decimal
//! twice. [`twin`] does it once; the text is byte for byte what `serde_json::to_string`
//! would print for the `Value` (tests in `listing_tests.rs`).

use std::cell::RefCell;
use std::collections::HashMap;

use serde::Serialize;
use serde::ser::{self, Impossible};
use serde_json::{Error, Map, Value};

/// One value as compact JSON text and as a `Value`, in one pass.
pub fn twin<T: Serialize + ?Sized>(item: &T, capacity: usize) -> Result<(String, Value), Error> {
    let mut text = String::with_capacity(capacity);
    let value = item.serialize(Twin { text: &mut text })?;
    Ok((text, value))
}

/// Bytes that JSON strings escape: controls, `"` and `\\`.
static ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Appends `s` as a JSON string literal, escaped exactly as `serde_json` escapes it.
fn push_json_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if !ESCAPED[usize::from(b)] {
            continue;
        }
        // Every escaped byte is ASCII, so `i` is a char boundary.
        out.push_str(&s[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn push_int(out: &mut String, n: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(n));
}

fn unsupported(what: &str) -> Error {
    ser::Error::custom(format!("{what} cannot appear in a tool answer"))
}

/// The serializer behind [`twin`]: writes text into `text`, returns the `Value`.
struct Twin<'a> {
    text: &'a mut String,
}

impl<'a> ser::Serializer for Twin<'a> {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = TwinSeq<'a>;
    type SerializeTuple = TwinSeq<'a>;
    type SerializeTupleStruct = TwinSeq<'a>;
    type SerializeTupleVariant = Impossible<Value, Error>;
    type SerializeMap = TwinMap<'a>;
    type SerializeStruct = TwinStruct<'a>;
    type SerializeStructVariant = Impossible<Value, Error>;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        self.text.push_str(if v { "true" } else { "false" });
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        push_int(self.text, v);
        Ok(Value::from(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        push_int(self.text, v);
        Ok(Value::from(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Error> {
        // serde_json prints non-finite numbers as null, and `Value::from` makes them Null;
        // finite ones go through serde_json's own formatter, so the digits agree too.
        if v.is_finite() {
            let mut digits = Vec::with_capacity(24);
            serde_json::ser::Formatter::write_f64(
                &mut serde_json::ser::CompactFormatter,
                &mut digits,
                v,
            )
            .map_err(Error::io)?;
            self.text
                .push_str(std::str::from_utf8(&digits).map_err(ser::Error::custom)?);
        } else {
            self.text.push_str("null");
        }
        Ok(Value::from(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        push_json_str(self.text, v);
        Ok(Value::String(v.to_owned()))
    }
    fn collect_str<D: std::fmt::Display + ?Sized>(self, v: &D) -> Result<Value, Error> {
        // Formatted once; the text is copied and the String moves into the Value.
        let s = v.to_string();
        push_json_str(self.text, &s);
        Ok(Value::String(s))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<Value, Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        self.text.push_str("null");
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Value, Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, Error> {
        use ser::SerializeMap;
        let mut map = self.serialize_map(Some(1))?;
        map.serialize_entry(variant, v)?;
        map.end()
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<TwinSeq<'a>, Error> {
        self.text.push('[');
        Ok(TwinSeq {
            text: self.text,
            items: Vec::with_capacity(len.unwrap_or(0)),
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<TwinSeq<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<TwinSeq<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(unsupported("a tuple variant"))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<TwinMap<'a>, Error> {
        self.text.push('{');
        Ok(TwinMap {
            text: self.text,
            map: Map::with_capacity(len.unwrap_or(0)),
            key: None,
        })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<TwinStruct<'a>, Error> {
        self.text.push('{');
        Ok(TwinStruct {
            text: self.text,
            name,
            fields: Vec::with_capacity(len),
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(unsupported("a struct variant"))
    }
}

struct TwinSeq<'a> {
    text: &'a mut String,
    items: Vec<Value>,
}

impl TwinSeq<'_> {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        if !self.items.is_empty() {
            self.text.push(',');
        }
        let value = v.serialize(Twin { text: self.text })?;
        self.items.push(value);
        Ok(())
    }
    fn finish(self) -> Value {
        self.text.push(']');
        Value::Array(self.items)
    }
}

impl ser::SerializeSeq for TwinSeq<'_> {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for TwinSeq<'_> {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for TwinSeq<'_> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

struct TwinMap<'a> {
    text: &'a mut String,
    map: Map<String, Value>,
    /// A key given by `serialize_key`, waiting for its value.
    key: Option<String>,
}

impl TwinMap<'_> {
    fn entry<T: Serialize + ?Sized>(&mut self, key: String, v: &T) -> Result<(), Error> {
        if !self.map.is_empty() {
            self.text.push(',');
        }
        push_json_str(self.text, &key);
        self.text.push(':');
        let value = v.serialize(Twin { text: self.text })?;
        // A repeated key would print twice but be kept once in the map: refuse it, so the
        // two forms can never disagree.
        if self.map.insert(key, value).is_some() {
            return Err(unsupported("a repeated key"));
        }
        Ok(())
    }
    fn finish(self) -> Value {
        self.text.push('}');
        Value::Object(self.map)
    }
}

impl ser::SerializeMap for TwinMap<'_> {
    type Ok = Value;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        // JSON object keys are strings; serde_json also prints integer keys as strings,
        // which no answer of ours needs.
        match serde_json::to_value(key)? {
            Value::String(s) => {
                self.key = Some(s);
                Ok(())
            }
            _ => Err(unsupported("a non-string map key")),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| unsupported("a map value without a key"))?;
        self.entry(key, v)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

/// A struct's fields, collected in order and turned into a map at the end.
///
/// Building a map hashes every key; a list holds thousands of records of one type, so the
/// first record's map is kept (per thread, per struct name) as a template whose clone
/// already has its keys hashed and in place, and later records only fill in the values.
struct TwinStruct<'a> {
    text: &'a mut String,
    name: &'static str,
    fields: Vec<(&'static str, Value)>,
}

/// At most this many struct templates are kept per thread.
const MAX_TEMPLATES: usize = 64;

thread_local! {
    static TEMPLATES: RefCell<HashMap<&'static str, Map<String, Value>>> =
        RefCell::new(HashMap::new());
}

impl ser::SerializeStruct for TwinStruct<'_> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        if !self.fields.is_empty() {
            self.text.push(',');
        }
        push_json_str(self.text, key);
        self.text.push(':');
        let value = v.serialize(Twin { text: self.text })?;
        self.fields.push((key, value));
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        self.text.push('}');
        let (name, fields) = (self.name, self.fields);
        TEMPLATES.with_borrow_mut(|templates| {
            if let Some(template) = templates.get(name)
                && template.len() == fields.len()
                && template.keys().zip(&fields).all(|(k, (f, _))| k == f)
            {
                let mut map = template.clone();
                for (slot, (_, value)) in map.values_mut().zip(fields) {
                    *slot = value;
                }
                return Ok(Value::Object(map));
            }
            let mut map = Map::with_capacity(fields.len());
            for (key, value) in fields {
                // A repeated key would print twice but be kept once in the map: refuse
                // it, so the two forms can never disagree.
                if map.insert(key.to_owned(), value).is_some() {
                    return Err(unsupported("a repeated key"));
                }
            }
            if templates.len() < MAX_TEMPLATES || templates.contains_key(name) {
                let keys = map.keys().map(|k| (k.clone(), Value::Null)).collect();
                templates.insert(name, keys);
            }
            Ok(Value::Object(map))
        })
    }
}

#[cfg(test)]
#[path = "twin_tests.rs"]
mod tests;
