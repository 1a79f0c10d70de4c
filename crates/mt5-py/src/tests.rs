//! The boundary end to end inside one process: JSON in through `mt5py_request`, a real
//! embedded interpreter, a small purpose-built library module, JSON out.
//!
//! One test function, because the interpreter and the session are process-wide.

use std::path::Path;

use serde_json::{Value, json};

use crate::{mt5py_free, mt5py_request};

const LIBRARY: &str = r#"
import collections, struct

Rec = collections.namedtuple("Rec", "a b c")
_err = (1, "Success")

def last_error():
    return _err

def record():
    return Rec(a=1, b=2.5, c="x")

def records():
    return (Rec(1, 0.5, "p"), Rec(2, 1.5, "q"))

def as_dict():
    return {"a": 7, "c": "from a dict"}

def nothing(reason):
    global _err
    _err = (-4, reason)
    return None

def refuse():
    global _err
    _err = (-10004, "No IPC connection")
    return False

def accept(*args, **kwargs):
    return True

def echo(*args, **kwargs):
    return (list(args), kwargs)

def hexes(*args):
    return [float.hex(a) for a in args]

def from_hex(*texts):
    return [float.fromhex(t) for t in texts]

def stdout_is_stderr():
    import sys
    return sys.stdout is sys.stderr

def boom():
    raise RuntimeError("library exploded")

def tuple_rates():
    return [(60, 1.0, 2.0, 0.5, 1.5, 10, 3, 0), (120, 1.5, 2.5, 1.0, 2.0, 11, 4, 0)]

class _Dtype:
    # The parts of a numpy structured dtype the fast path reads.
    names = ("time", "close", "spread")
    itemsize = 24
    class _F:
        def __init__(self, kind, size):
            self.kind, self.itemsize, self.byteorder, self.subdtype = kind, size, "<", None
    fields = {"time": (_F("i", 8), 0), "close": (_F("f", 8), 8), "spread": (_F("i", 4), 16)}

class StructuredRates:
    ndim = 1
    dtype = _Dtype()
    def tobytes(self):
        return struct.pack("<qdi4x", 60, 1.25, -2) + struct.pack("<qdi4x", 120, 1.5, 7)

Bar = collections.namedtuple("Bar", "time close tick_volume spread real_volume")

def dict_and_record_rates():
    return [
        {"time": 60, "open": 1.25, "close": 2, "tick_volume": 5.0, "spread": None},
        {"time": -120, "open": float("nan"), "high": float("inf"), "tick_volume": 2**70},
        Bar(180, 1.5, 7, True, 9),
    ]

def no_rates():
    return ()

def bad_rates():
    return [(60, 1.0, 1.0, 1.0, "1.0", 0, 0, 0)]

def structured_rates():
    return StructuredRates()

def numpy_rates():
    import numpy as np
    dt = np.dtype([("time", "<i8"), ("open", "<f8"), ("high", "<f8"), ("low", "<f8"),
                   ("close", "<f8"), ("tick_volume", "<u8"), ("spread", "<i4"),
                   ("real_volume", "<u8")])
    return np.array([(60, 1.1, 1.2, 1.0, 1.15, 5, 2, 0), (120, 1.15, 1.3, 1.1, 1.2, 6, 3, 1)], dtype=dt)

def numpy_scalars():
    import numpy as np
    return (np.int64(5), np.float64(0.25), np.bool_(True))
"#;

/// The JSON part of a reply and, when present, the binary tail after its NUL.
fn request_raw(req: Value) -> (Value, Option<Vec<u8>>) {
    let text = req.to_string();
    let mut len = 0usize;
    // SAFETY: a valid buffer and out pointer; the reply is freed right after reading it.
    let reply = unsafe {
        let ptr = mt5py_request(text.as_ptr(), text.len(), &mut len);
        let reply = std::slice::from_raw_parts(ptr, len).to_vec();
        mt5py_free(ptr, len);
        reply
    };
    match reply.iter().position(|b| *b == 0) {
        Some(nul) => (
            serde_json::from_slice(&reply[..nul]).expect("header is JSON"),
            Some(reply[nul + 1..].to_vec()),
        ),
        None => (serde_json::from_slice(&reply).expect("reply is JSON"), None),
    }
}

fn request(req: Value) -> Value {
    let (json, tail) = request_raw(req);
    assert_eq!(tail, None, "only bars have a binary tail: {json}");
    json
}

fn call(name: &str, shape: &str, args: Value, fields: &[&str]) -> Value {
    request(json!({"op": "call", "fn": name, "shape": shape, "args": args, "fields": fields}))
}

/// One packed bar, read back by the documented offsets.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bar {
    time: i64,
    ohlc: [f64; 4],
    tick_volume: i64,
    spread: i64,
    real_volume: i64,
}

/// A `rates` call: the header must describe the tail exactly.
fn bars(name: &str, fields: &[&str]) -> Vec<Bar> {
    let (json, tail) = request_raw(
        json!({"op": "call", "fn": name, "shape": "rates", "args": [], "fields": fields}),
    );
    let tail = tail.unwrap_or_else(|| panic!("{name}: no tail in {json}"));
    assert_eq!(json["ok"]["row_size"], 64, "{json}");
    let rows = json["ok"]["rows"].as_u64().unwrap() as usize;
    assert_eq!(tail.len(), rows * 64, "{json}");
    let word = |r: &[u8], at: usize| -> [u8; 8] { r[at..at + 8].try_into().unwrap() };
    tail.chunks_exact(64)
        .map(|r| Bar {
            time: i64::from_le_bytes(word(r, 0)),
            ohlc: [8, 16, 24, 32].map(|at| f64::from_le_bytes(word(r, at))),
            tick_volume: i64::from_le_bytes(word(r, 40)),
            spread: i64::from_le_bytes(word(r, 48)),
            real_volume: i64::from_le_bytes(word(r, 56)),
        })
        .collect()
}

fn start(dir: &Path, module: &str) -> Value {
    // SAFETY: set before the interpreter starts (it reads PYTHONPATH once); no other test
    // in this crate reads the environment.
    unsafe { std::env::set_var("PYTHONPATH", dir) };
    request(json!({
        "op": "start",
        "executable": interpreter(),
        "module": module,
        "bridge": null,
    }))
}

#[test]
fn requests_drive_a_real_interpreter_through_the_c_abi() {
    let dir = tempfile_dir();
    std::fs::write(dir.join("abi_test_library.py"), LIBRARY).unwrap();

    assert_eq!(
        call("record", "record", json!([]), &["a"])["err"]["kind"],
        "not_started"
    );
    let started = start(&dir, "abi_test_library");
    assert!(
        started["ok"]["version"]
            .as_str()
            .unwrap()
            .starts_with(env!("MT5PY_BUILD_PYTHON")),
        "{started}"
    );

    // Whatever the library prints goes to stderr.
    assert_eq!(
        call("stdout_is_stderr", "value", json!([]), &[]),
        json!({"ok": true})
    );

    // Records by attribute; a missing attribute is left out for the caller's default.
    let r = call("record", "record", json!([]), &["a", "b", "c", "missing"]);
    assert_eq!(r, json!({"ok": {"a": 1, "b": 2.5, "c": "x"}}));
    let r = call("as_dict", "record", json!([]), &["a", "b", "c"]);
    assert_eq!(r, json!({"ok": {"a": 7, "c": "from a dict"}}));
    let r = call("records", "records", json!([]), &["a", "c"]);
    assert_eq!(r, json!({"ok": [{"a": 1, "c": "p"}, {"a": 2, "c": "q"}]}));

    // Arguments arrive with their JSON types; kwargs only when given.
    let r = request(
        json!({"op": "call", "fn": "echo", "args": ["s", 3, 1.0, true, null],
                           "kwargs": {"login": 5, "d": {"k": [1]}}}),
    );
    assert_eq!(
        r,
        json!({"ok": [["s", 3, 1.0, true, null], {"login": 5, "d": {"k": [1]}}]})
    );

    // Doubles cross both ways bit for bit: 17 significant digits parse back exactly
    // (serde_json's `float_roundtrip`), into Python and out of it.
    let doubles = [
        0.022933877151503638,
        2.0173847075682887e-17,
        1081.2300000000002,
        1.575464701838822e-177,
    ];
    let r = call("hexes", "value", json!(doubles), &[]);
    let expected: Vec<String> = doubles.iter().map(|d| python_hex(*d)).collect();
    assert_eq!(r["ok"], json!(expected), "request direction");
    let r = call("from_hex", "value", json!(expected), &[]);
    let back: Vec<u64> = r["ok"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap().to_bits())
        .collect();
    let want: Vec<u64> = doubles.iter().map(|d| d.to_bits()).collect();
    assert_eq!(back, want, "reply direction");

    // None and a False flag carry last_error() read in the same request.
    let r = call("nothing", "records", json!(["gone"]), &[]);
    assert_eq!(r, json!({"null": {"code": -4, "message": "gone"}}));
    let r = call("refuse", "flag", json!([]), &[]);
    assert_eq!(
        r,
        json!({"null": {"code": -10004, "message": "No IPC connection"}})
    );
    assert_eq!(call("accept", "flag", json!([]), &[]), json!({"ok": true}));

    // Exceptions name the function and the exception; the session lives on.
    let r = call("boom", "value", json!([]), &[]);
    assert_eq!(r["err"]["kind"], "exception");
    assert_eq!(
        r["err"]["message"],
        "boom() raised RuntimeError: library exploded"
    );
    let r = call("no_such_function", "value", json!([]), &[]);
    assert!(
        r["err"]["message"]
            .as_str()
            .unwrap()
            .contains("AttributeError"),
        "{r}"
    );
    assert_eq!(call("last_error", "value", json!([]), &[])["ok"][0], -10004);

    // Bars: positional tuples, and the bulk path over a structured buffer.
    let f = [
        "time",
        "open",
        "high",
        "low",
        "close",
        "tick_volume",
        "spread",
        "real_volume",
    ];
    let bar = |time, ohlc, tick_volume, spread, real_volume| Bar {
        time,
        ohlc,
        tick_volume,
        spread,
        real_volume,
    };
    assert_eq!(
        bars("tuple_rates", &f),
        [
            bar(60, [1.0, 2.0, 0.5, 1.5], 10, 3, 0),
            bar(120, [1.5, 2.5, 1.0, 2.0], 11, 4, 0)
        ]
    );
    // Positions are named by the requested fields: a short field list leaves the rest 0.
    assert_eq!(
        bars("tuple_rates", &["time", "open"]),
        [
            bar(60, [1.0, 0.0, 0.0, 0.0], 0, 0, 0),
            bar(120, [1.5, 0.0, 0.0, 0.0], 0, 0, 0)
        ]
    );
    // Dicts and records by name; None and absent fields are 0; ints and floats cross over;
    // a non-finite price keeps its bits.
    let rows = bars("dict_and_record_rates", &f);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0], bar(60, [1.25, 0.0, 0.0, 2.0], 5, 0, 0));
    assert_eq!(rows[1].time, -120);
    assert!(rows[1].ohlc[0].is_nan() && rows[1].ohlc[1] == f64::INFINITY);
    assert_eq!(rows[1].tick_volume, i64::MAX, "an int beyond i64 saturates");
    assert_eq!(rows[2], bar(180, [0.0, 0.0, 0.0, 1.5], 7, 1, 9));
    assert_eq!(bars("no_rates", &f), []);
    let r = call("bad_rates", "rates", json!([]), &f);
    assert_eq!(r["err"]["kind"], "conversion", "{r}");
    assert!(
        r["err"]["message"].as_str().unwrap().contains("close"),
        "{r}"
    );
    // The bulk path over a structured buffer: fields the dtype lacks stay 0.
    assert_eq!(
        bars("structured_rates", &f),
        [
            bar(60, [0.0, 0.0, 0.0, 1.25], 0, -2, 0),
            bar(120, [0.0, 0.0, 0.0, 1.5], 0, 7, 0)
        ]
    );
    if numpy_available() {
        assert_eq!(
            bars("numpy_rates", &f),
            [
                bar(60, [1.1, 1.2, 1.0, 1.15], 5, 2, 0),
                bar(120, [1.15, 1.3, 1.1, 1.2], 6, 3, 1)
            ]
        );
        let r = call("numpy_scalars", "value", json!([]), &[]);
        assert_eq!(r, json!({"ok": [5, 0.25, true]}));
    } else {
        eprintln!("numpy is not installed for the build interpreter: numpy arrays not exercised");
    }

    // A module that is not installed is reported as such, distinct from a broken import.
    assert!(start(&dir, "abi_test_absent")["ok"].is_object());
    let r = call("record", "record", json!([]), &[]);
    assert_eq!(r["err"]["kind"], "module_missing", "{r}");
    std::fs::write(
        dir.join("abi_test_broken.py"),
        "import abi_test_absent_dependency\n",
    )
    .unwrap();
    start(&dir, "abi_test_broken");
    let r = call("record", "record", json!([]), &[]);
    assert_eq!(r["err"]["kind"], "import_failed", "{r}");
}

/// `float.hex()` of a normal, positive double: `0x1.<13 hex digits>p<exp>`.
fn python_hex(d: f64) -> String {
    assert!(d.is_normal() && d > 0.0);
    let bits = d.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
    format!("0x1.{:013x}p{exp:+}", bits & ((1u64 << 52) - 1))
}

/// The build interpreter, or `MT5PY_TEST_PYTHON` (a venv of the same version, e.g. one with
/// numpy installed, to exercise real numpy arrays).
fn interpreter() -> String {
    std::env::var("MT5PY_TEST_PYTHON").unwrap_or_else(|_| env!("MT5PY_BUILD_EXECUTABLE").to_owned())
}

fn numpy_available() -> bool {
    use pyo3::prelude::*;
    Python::attach(|py| py.import("numpy").is_ok())
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mt5py-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
