//! Bars (`copy_rates_*`), packed into the fixed records of the reply's binary tail (the
//! layout is in the crate docs).
//!
//! The library returns bars as a numpy structured array. Asking Python for every row and
//! field costs about 300 µs per 1000 bars, and one JSON object per bar costs several times
//! that again on both sides of the boundary; copying the buffer once (`tobytes()`) and
//! repacking the rows here with the offsets from `dtype.fields` costs microseconds. Only
//! the dtype is inspected from Python (a few calls per array, not per row). A plain
//! sequence of tuples, dicts or records (what a simple fake or a proxy may return) is
//! accepted too, read positionally in the requested field order, and packed the same way.
//!
//! A field the source does not have (an older library build) stays 0, upstream's default.

use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyTuple};

/// Bytes per packed bar.
pub const ROW_SIZE: usize = 64;

/// Where a slot lives in a packed bar and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Int(usize),
    Float(usize),
}

/// The packed layout, by the library's field names.
const SLOTS: [(&str, Slot); 8] = [
    ("time", Slot::Int(0)),
    ("open", Slot::Float(8)),
    ("high", Slot::Float(16)),
    ("low", Slot::Float(24)),
    ("close", Slot::Float(32)),
    ("tick_volume", Slot::Int(40)),
    ("spread", Slot::Int(48)),
    ("real_volume", Slot::Int(56)),
];

/// The names a positional row is read by when the request names none.
const DEFAULT_FIELDS: [&str; 8] = [
    "time",
    "open",
    "high",
    "low",
    "close",
    "tick_volume",
    "spread",
    "real_volume",
];

fn slot_of(name: &str) -> Option<Slot> {
    SLOTS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// A number as the source held it, before it is stored in an integer or a float slot.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    I(i64),
    F(f64),
}

fn store(out: &mut [u8], slot: Slot, n: Num) {
    let (at, bytes) = match (slot, n) {
        (Slot::Int(at), Num::I(i)) => (at, i.to_le_bytes()),
        // Saturating, NaN to 0: what reading a float into an integer field always did.
        (Slot::Int(at), Num::F(f)) => (at, (f as i64).to_le_bytes()),
        (Slot::Float(at), Num::I(i)) => (at, (i as f64).to_le_bytes()),
        (Slot::Float(at), Num::F(f)) => (at, f.to_le_bytes()),
    };
    out[at..at + 8].copy_from_slice(&bytes);
}

/// How one field of a numpy row is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    /// numpy's `dtype.kind`: `i` signed, `u` unsigned, `f` float, `b` bool.
    pub kind: char,
    pub size: usize,
    pub offset: usize,
    pub big_endian: bool,
}

/// Repacks `bytes` (rows of `itemsize` bytes laid out as `fields`) into packed bars.
pub fn pack(bytes: &[u8], itemsize: usize, fields: &[Field]) -> Result<Vec<u8>, String> {
    if itemsize == 0 {
        return Err("rate rows have no size".to_owned());
    }
    if !bytes.len().is_multiple_of(itemsize) {
        return Err(format!(
            "rate buffer of {} bytes is not a whole number of {itemsize}-byte rows",
            bytes.len()
        ));
    }
    let mut used = Vec::new();
    for f in fields {
        if f.offset
            .checked_add(f.size)
            .is_none_or(|end| end > itemsize)
        {
            return Err(format!("field {} lies outside its row", f.name));
        }
        let ok = matches!(
            (f.kind, f.size),
            ('i' | 'u', 1 | 2 | 4 | 8) | ('f', 4 | 8) | ('b', 1)
        );
        if !ok {
            return Err(format!(
                "field {} has unsupported type {}{}",
                f.name, f.kind, f.size
            ));
        }
        if let Some(slot) = slot_of(&f.name) {
            used.push(Move::of(slot, f));
        }
    }
    let rows = bytes.len() / itemsize;
    let mut out = vec![0u8; rows * ROW_SIZE];
    for (row, packed) in bytes
        .chunks_exact(itemsize)
        .zip(out.chunks_exact_mut(ROW_SIZE))
    {
        for m in &used {
            m.apply(row, packed);
        }
    }
    Ok(out)
}

/// How one source field reaches its slot. The library's own dtype (little-endian `<i8`,
/// `<f8`, `<u8`, `<i4`) takes the direct moves; anything else goes through [`scalar`].
enum Move<'a> {
    Copy { from: usize, to: usize },
    U64 { from: usize, to: usize },
    I32 { from: usize, to: usize },
    Any { slot: Slot, field: &'a Field },
}

impl<'a> Move<'a> {
    fn of(slot: Slot, f: &'a Field) -> Self {
        let from = f.offset;
        match (slot, f.kind, f.size, f.big_endian) {
            (Slot::Float(to), 'f', 8, false) | (Slot::Int(to), 'i', 8, false) => {
                Move::Copy { from, to }
            }
            (Slot::Int(to), 'u', 8, false) => Move::U64 { from, to },
            (Slot::Int(to), 'i', 4, false) => Move::I32 { from, to },
            _ => Move::Any { slot, field: f },
        }
    }

    /// `row` holds the field (checked by `pack`), `out` is one packed bar.
    fn apply(&self, row: &[u8], out: &mut [u8]) {
        match *self {
            Move::Copy { from, to } => out[to..to + 8].copy_from_slice(&row[from..from + 8]),
            Move::U64 { from, to } => {
                let v = u64::from_le_bytes(word(row, from));
                out[to..to + 8]
                    .copy_from_slice(&i64::try_from(v).unwrap_or(i64::MAX).to_le_bytes());
            }
            Move::I32 { from, to } => {
                let mut w = [0u8; 4];
                w.copy_from_slice(&row[from..from + 4]);
                out[to..to + 8].copy_from_slice(&i64::from(i32::from_le_bytes(w)).to_le_bytes());
            }
            Move::Any { slot, field } => {
                store(
                    out,
                    slot,
                    scalar(&row[field.offset..field.offset + field.size], field),
                );
            }
        }
    }
}

fn word(b: &[u8], at: usize) -> [u8; 8] {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    w
}

fn scalar(raw: &[u8], f: &Field) -> Num {
    let mut buf = [0u8; 8];
    // Normalise to little endian, then widen.
    if f.big_endian {
        for (i, b) in raw.iter().rev().enumerate() {
            buf[i] = *b;
        }
    } else {
        buf[..raw.len()].copy_from_slice(raw);
    }
    let unsigned = u64::from_le_bytes(buf);
    match f.kind {
        'b' => Num::I(i64::from(unsigned != 0)),
        'u' => Num::I(i64::try_from(unsigned).unwrap_or(i64::MAX)),
        'i' => {
            let shift = 64 - 8 * f.size as u32;
            Num::I(((unsigned << shift) as i64) >> shift)
        }
        _ if f.size == 4 => Num::F(f64::from(f32::from_bits(unsigned as u32))),
        _ => Num::F(f64::from_bits(unsigned)),
    }
}

/// Bars packed for the reply's tail.
pub fn convert(obj: &Bound<'_, PyAny>, fields: &[String]) -> Result<Vec<u8>, String> {
    let py = obj.py();
    let describe = |e: PyErr| crate::reply::describe(py, &e);
    if obj.hasattr("dtype").map_err(describe)? && obj.hasattr("tobytes").map_err(describe)? {
        return structured(obj).map_err(|e| match e {
            Fail::Py(e) => describe(e),
            Fail::Shape(s) => s,
        });
    }
    let defaults: Vec<String>;
    let fields = if fields.is_empty() {
        defaults = DEFAULT_FIELDS.iter().map(|s| (*s).to_owned()).collect();
        &defaults
    } else {
        fields
    };
    let mut out = Vec::new();
    for row in obj.try_iter().map_err(describe)? {
        let row = row.map_err(describe)?;
        let start = out.len();
        out.resize(start + ROW_SIZE, 0);
        row_of_sequence(&row, fields, &mut out[start..])?;
    }
    Ok(out)
}

enum Fail {
    Py(PyErr),
    Shape(String),
}

impl From<PyErr> for Fail {
    fn from(e: PyErr) -> Self {
        Fail::Py(e)
    }
}

fn structured(arr: &Bound<'_, PyAny>) -> Result<Vec<u8>, Fail> {
    let ndim: usize = arr.getattr("ndim")?.extract()?;
    if ndim != 1 {
        return Err(Fail::Shape(format!(
            "expected a one-dimensional rate array, got {ndim} dimensions"
        )));
    }
    let dtype = arr.getattr("dtype")?;
    let names = dtype.getattr("names")?;
    if names.is_none() {
        return Err(Fail::Shape("rate array has no named fields".to_owned()));
    }
    let table = dtype.getattr("fields")?;
    let mut fields = Vec::new();
    for name in names.try_iter()? {
        let name = name?;
        let entry = table.get_item(&name)?;
        let ftype = entry.get_item(0)?;
        if !ftype.getattr("subdtype")?.is_none() {
            return Err(Fail::Shape(format!("field {name} is a sub-array")));
        }
        let kind: String = ftype.getattr("kind")?.extract()?;
        let order: String = ftype.getattr("byteorder")?.extract()?;
        fields.push(Field {
            name: name.extract()?,
            kind: kind.chars().next().unwrap_or('?'),
            size: ftype.getattr("itemsize")?.extract()?,
            offset: entry.get_item(1)?.extract()?,
            big_endian: order == ">" || (order == "=" && cfg!(target_endian = "big")),
        });
    }
    let itemsize: usize = dtype.getattr("itemsize")?.extract()?;
    let data = arr.call_method0("tobytes")?;
    let bytes = data
        .cast::<PyBytes>()
        .map_err(|_| Fail::Shape("tobytes() did not return bytes".to_owned()))?;
    pack(bytes.as_bytes(), itemsize, &fields).map_err(Fail::Shape)
}

/// A row that is a tuple/list (positional), a dict (by key) or a record (by attribute),
/// stored into the packed bar `out`.
fn row_of_sequence(
    row: &Bound<'_, PyAny>,
    fields: &[String],
    out: &mut [u8],
) -> Result<(), String> {
    let py = row.py();
    let describe = |e: PyErr| crate::reply::describe(py, &e);
    let positional = row.is_instance_of::<PyTuple>() && !row.hasattr("_fields").unwrap_or(false)
        || row.is_instance_of::<PyList>();
    if positional {
        for (name, v) in fields.iter().zip(row.try_iter().map_err(describe)?) {
            let v = v.map_err(describe)?;
            put(out, name, &v)?;
        }
        return Ok(());
    }
    let dict = row.cast::<PyDict>().ok();
    for name in fields {
        let found = match dict {
            Some(d) => d.get_item(name).map_err(describe)?,
            None => match row.getattr(name.as_str()) {
                Ok(v) => Some(v),
                Err(e) if e.is_instance_of::<PyAttributeError>(py) => None,
                Err(e) => return Err(format!("reading {name}: {}", describe(e))),
            },
        };
        if let Some(v) = found {
            put(out, name, &v)?;
        }
    }
    Ok(())
}

fn put(out: &mut [u8], name: &str, v: &Bound<'_, PyAny>) -> Result<(), String> {
    let Some(slot) = slot_of(name) else {
        return Ok(());
    };
    if let Some(n) = number(v, true).map_err(|e| format!("{name}: {e}"))? {
        store(out, slot, n);
    }
    Ok(())
}

/// A Python number (or numpy scalar); `None` is "not set" and leaves the default.
fn number(v: &Bound<'_, PyAny>, unwrap_scalar: bool) -> Result<Option<Num>, String> {
    let fail = |e: PyErr| crate::reply::describe(v.py(), &e);
    if v.is_none() {
        return Ok(None);
    }
    if v.is_instance_of::<PyBool>() {
        return v
            .extract::<bool>()
            .map(|b| Some(Num::I(i64::from(b))))
            .map_err(fail);
    }
    if v.is_instance_of::<PyInt>() {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(Some(Num::I(i)));
        }
        if v.extract::<u64>().is_ok() {
            return Ok(Some(Num::I(i64::MAX)));
        }
        return v.extract::<f64>().map(|f| Some(Num::F(f))).map_err(fail);
    }
    if v.is_instance_of::<PyFloat>() {
        return v.extract::<f64>().map(|f| Some(Num::F(f))).map_err(fail);
    }
    // numpy scalars (int64, float64, bool_) know how to become Python ones.
    if unwrap_scalar && v.hasattr("item").unwrap_or(false) {
        let item = v.call_method0("item").map_err(fail)?;
        return number(&item, false);
    }
    let class = v
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    Err(format!("a {class} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mt5_rate_fields() -> Vec<Field> {
        // The library's dtype: time <i8, open..close <f8, tick_volume <u8, spread <i4,
        // real_volume <u8, packed (itemsize 60).
        let spec = [
            ("time", 'i', 8),
            ("open", 'f', 8),
            ("high", 'f', 8),
            ("low", 'f', 8),
            ("close", 'f', 8),
            ("tick_volume", 'u', 8),
            ("spread", 'i', 4),
            ("real_volume", 'u', 8),
        ];
        let mut offset = 0;
        spec.iter()
            .map(|(name, kind, size)| {
                let f = Field {
                    name: (*name).to_owned(),
                    kind: *kind,
                    size: *size,
                    offset,
                    big_endian: false,
                };
                offset += size;
                f
            })
            .collect()
    }

    fn row(time: i64, ohlc: [f64; 4], tv: u64, spread: i32, rv: u64) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(time.to_le_bytes());
        for p in ohlc {
            b.extend(p.to_le_bytes());
        }
        b.extend(tv.to_le_bytes());
        b.extend(spread.to_le_bytes());
        b.extend(rv.to_le_bytes());
        b
    }

    fn int_at(packed: &[u8], row: usize, at: usize) -> i64 {
        let s = row * ROW_SIZE + at;
        i64::from_le_bytes(packed[s..s + 8].try_into().unwrap())
    }

    fn float_at(packed: &[u8], row: usize, at: usize) -> f64 {
        let s = row * ROW_SIZE + at;
        f64::from_le_bytes(packed[s..s + 8].try_into().unwrap())
    }

    #[test]
    fn library_rows_repack_field_by_field() {
        let mut bytes = row(1_700_000_000, [1.1, 1.2, 1.0, 1.15], 42, -3, 7);
        bytes.extend(row(
            1_700_000_060,
            [1.15, 1.16, 1.14, 1.155],
            u64::MAX,
            12,
            0,
        ));
        let packed = pack(&bytes, 60, &mt5_rate_fields()).unwrap();
        assert_eq!(packed.len(), 2 * ROW_SIZE);
        assert_eq!(int_at(&packed, 0, 0), 1_700_000_000);
        assert_eq!(float_at(&packed, 0, 8).to_bits(), 1.1f64.to_bits());
        assert_eq!(float_at(&packed, 0, 16), 1.2);
        assert_eq!(float_at(&packed, 0, 24), 1.0);
        assert_eq!(float_at(&packed, 0, 32), 1.15);
        assert_eq!(int_at(&packed, 0, 40), 42);
        assert_eq!(int_at(&packed, 0, 48), -3, "spread is sign-extended");
        assert_eq!(int_at(&packed, 0, 56), 7);
        assert_eq!(int_at(&packed, 1, 0), 1_700_000_060);
        assert_eq!(float_at(&packed, 1, 32), 1.155);
        assert_eq!(int_at(&packed, 1, 40), i64::MAX, "u64 saturates");
    }

    #[test]
    fn direct_moves_agree_with_the_general_conversion() {
        let fields = mt5_rate_fields();
        let rows = [
            row(
                -1,
                [f64::NAN, -0.0, 1e300, 5e-324],
                u64::MAX,
                i32::MIN,
                1 << 63,
            ),
            row(i64::MAX, [1.1, 2.2, 3.3, 4.4], 0, -1, (1 << 63) - 1),
        ];
        for r in rows {
            for f in &fields {
                let slot = slot_of(&f.name).unwrap();
                let direct = Move::of(slot, f);
                assert!(
                    !matches!(direct, Move::Any { .. }),
                    "{} takes a direct move",
                    f.name
                );
                let (mut a, mut b) = ([0u8; ROW_SIZE], [0u8; ROW_SIZE]);
                direct.apply(&r, &mut a);
                Move::Any { slot, field: f }.apply(&r, &mut b);
                assert_eq!(a, b, "{}", f.name);
            }
        }
    }

    #[test]
    fn padding_big_endian_narrow_types_and_missing_fields_are_honoured() {
        // itemsize 16: time as a big-endian i2 at 0, close as an f4 at 4, a bool spread at
        // 8, a u1 tick_volume at 9, and a field the layout does not know at 10.
        let field = |name: &str, kind, size, offset, big_endian| Field {
            name: name.into(),
            kind,
            size,
            offset,
            big_endian,
        };
        let fields = vec![
            field("time", 'i', 2, 0, true),
            field("close", 'f', 4, 4, false),
            field("spread", 'b', 1, 8, false),
            field("tick_volume", 'u', 1, 9, false),
            field("unknown", 'i', 4, 12, false),
        ];
        let mut row = vec![0xAAu8; 16];
        row[0..2].copy_from_slice(&(-2i16).to_be_bytes());
        row[4..8].copy_from_slice(&2.5f32.to_le_bytes());
        row[8] = 1;
        row[9] = 250;
        let packed = pack(&row, 16, &fields).unwrap();
        assert_eq!(int_at(&packed, 0, 0), -2);
        assert_eq!(float_at(&packed, 0, 32), 2.5);
        assert_eq!(int_at(&packed, 0, 48), 1);
        assert_eq!(int_at(&packed, 0, 40), 250);
        // Not in the dtype: upstream's default.
        assert_eq!(float_at(&packed, 0, 8).to_bits(), 0);
        assert_eq!(int_at(&packed, 0, 56), 0);
    }

    #[test]
    fn malformed_buffers_are_errors() {
        let fields = mt5_rate_fields();
        assert!(pack(&[0u8; 59], 60, &fields).is_err());
        assert!(pack(&[], 0, &fields).is_err());
        let one = |kind, size, offset| {
            vec![Field {
                name: "close".into(),
                kind,
                size,
                offset,
                big_endian: false,
            }]
        };
        assert!(pack(&[0u8; 60], 60, &one('i', 8, 56)).is_err(), "outside");
        assert!(
            pack(&[0u8; 60], 60, &one('i', 8, usize::MAX)).is_err(),
            "overflow"
        );
        assert!(pack(&[0u8; 60], 60, &one('f', 2, 0)).is_err(), "half float");
        assert_eq!(pack(&[], 60, &fields).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn mixed_sources_store_into_their_slot_types() {
        let mut out = [0u8; ROW_SIZE];
        store(&mut out, Slot::Float(8), Num::I(3));
        store(&mut out, Slot::Int(0), Num::F(-7.9));
        store(&mut out, Slot::Int(40), Num::F(f64::NAN));
        store(&mut out, Slot::Float(16), Num::F(f64::INFINITY));
        assert_eq!(float_at(&out, 0, 8), 3.0);
        assert_eq!(int_at(&out, 0, 0), -7);
        assert_eq!(int_at(&out, 0, 40), 0);
        assert_eq!(float_at(&out, 0, 16), f64::INFINITY);
    }
}
