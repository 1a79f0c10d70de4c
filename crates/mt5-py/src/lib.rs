//! mt5-mcp-py: the only part of mt5-mcp that links CPython.
//!
//! The server binary must start on machines without Python (DESIGN §2), so pyo3 lives here,
//! in a cdylib built beside the binary and opened with `libloading` only when a Python
//! backend (`native` or `bridge`) is selected. The boundary is deliberately tiny and
//! boring, so the two sides can never disagree about memory layout:
//!
//! * `mt5py_abi_version() -> u32`: [`ABI_VERSION`]; the loader refuses any other number.
//! * `mt5py_build_python() -> *const c_char`: the `major.minor` this library was built for
//!   (the loader also finds it in the file before opening it, see [`BUILD_MARKER`]).
//! * `mt5py_request(ptr, len, *out_len) -> *mut u8`: one JSON request in, one reply out
//!   (JSON, plus a binary tail for bars, below); the reply is freed with
//!   `mt5py_free(ptr, len)`.
//!
//! Requests (`op`):
//! * `start {executable, module, bridge: {host, port} | null}`: initialise the interpreter
//!   once (see `interp`), remember which library to drive. Replies `ok` with the
//!   interpreter's `version`, `executable` and `prefix`.
//! * `call {fn, args, kwargs, shape, fields}`: call `fn` on the library (imported or
//!   constructed lazily, so a package installed after start-up is picked up) and convert
//!   the result according to `shape` (see `session`).
//!
//! Replies: `{"ok": value}`, `{"null": {"code", "message"}}` when the library returned
//! `None` (or `False` for a `flag` shape) with `last_error()` read in the same request, or
//! `{"err": {"kind", "message"}}`.
//!
//! Bars do not travel as JSON: parsing one object per bar cost more than everything else
//! in a 5,000-bar request. A successful `rates` call replies with a JSON header, one NUL
//! byte, then the bars packed as fixed records (the JSON text never contains a raw NUL:
//! control characters in strings are escaped, so the first NUL ends it):
//!
//! ```text
//! {"ok":{"rows":N,"row_size":64}} 0x00 <N × 64 bytes>
//! ```
//!
//! Each record is 64 bytes, little endian, no padding, oldest bar first as the library
//! returns them:
//!
//! | offset | field         | type |
//! |-------:|---------------|------|
//! |      0 | `time`        | i64 (broker epoch seconds) |
//! |      8 | `open`        | f64 |
//! |     16 | `high`        | f64 |
//! |     24 | `low`         | f64 |
//! |     32 | `close`       | f64 |
//! |     40 | `tick_volume` | i64 (an unsigned value above `i64::MAX` saturates) |
//! |     48 | `spread`      | i64 |
//! |     56 | `real_volume` | i64 (saturates like `tick_volume`) |
//!
//! Doubles keep their exact bits, NaN and infinities included. A field the library's row
//! lacks is 0. `null` and `err` replies to a `rates` call have no tail. The reader must
//! check `row_size` and that the tail is exactly `rows × row_size` bytes.
//!
//! Every export catches panics: unwinding across `extern "C"` would abort the server.
//! Every request must come from one and the same OS thread (the MetaTrader5 extension keeps
//! per-thread state); the main crate's worker guarantees that.

mod convert;
mod interp;
mod rates;
mod reply;
mod session;

#[cfg(test)]
mod tests;

use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::Value;

/// Bumped whenever a request, reply or export changes meaning.
pub const ABI_VERSION: u32 = 2;

/// Searched for in the file by the loader *before* opening it: opening a library linked to
/// `libpython3.11` fails outright when only 3.12 is installed (on Windows without naming
/// the missing DLL), and this lets the error name both versions. Keep `abi=` equal to
/// [`ABI_VERSION`] (a test checks it).
const MARKER: &str = concat!("mt5-mcp-py:python=", env!("MT5PY_BUILD_PYTHON"), ";abi=2;");

const fn bytes_of<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = b[i];
        i += 1;
    }
    out
}

/// Kept in the binary's data by `#[used]` so the loader can find [`MARKER`].
#[used]
pub static BUILD_MARKER: [u8; MARKER.len()] = bytes_of(MARKER);

const BUILD_PYTHON_C: &str = concat!(env!("MT5PY_BUILD_PYTHON"), "\0");

#[unsafe(no_mangle)]
pub extern "C" fn mt5py_abi_version() -> u32 {
    ABI_VERSION
}

#[unsafe(no_mangle)]
pub extern "C" fn mt5py_build_python() -> *const c_char {
    BUILD_PYTHON_C.as_ptr().cast()
}

/// Handles one JSON request and returns the JSON reply in a buffer this library owns.
///
/// # Safety
/// `req` must point to `len` readable bytes and `out_len` to a writable `usize`. The
/// returned pointer must be released with [`mt5py_free`] and the length written to
/// `out_len`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mt5py_request(req: *const u8, len: usize, out_len: *mut usize) -> *mut u8 {
    let encoded = catch_unwind(AssertUnwindSafe(|| {
        let bytes: &[u8] = if req.is_null() || len == 0 {
            &[]
        } else {
            // SAFETY: the caller guarantees `len` readable bytes at `req`.
            unsafe { std::slice::from_raw_parts(req, len) }
        };
        handle(bytes).encode()
    }))
    .unwrap_or_else(|payload| {
        reply::err("panic", reply::panic_message(payload.as_ref()))
            .to_string()
            .into_bytes()
    });
    let out = encoded.into_boxed_slice();
    if !out_len.is_null() {
        // SAFETY: the caller guarantees a writable `usize`.
        unsafe { *out_len = out.len() };
    }
    Box::into_raw(out).cast()
}

/// Frees a reply returned by [`mt5py_request`].
///
/// # Safety
/// `ptr` and `len` must be exactly a pointer and length returned by `mt5py_request`, freed
/// once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mt5py_free(ptr: *mut u8, len: usize) {
    if ptr.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: per the contract this is the boxed slice `mt5py_request` leaked.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
    }));
}

fn handle(bytes: &[u8]) -> reply::Reply {
    let req: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return reply::err("bad_request", format!("request is not JSON: {e}")).into(),
    };
    match req.get("op").and_then(Value::as_str) {
        Some("start") => session::start(&req).into(),
        Some("call") => session::call(&req),
        other => reply::err("bad_request", format!("unknown op {other:?}")).into(),
    }
}

#[cfg(test)]
mod abi_tests {
    use super::*;

    #[test]
    fn marker_names_the_abi_version_the_exports_report() {
        assert!(MARKER.contains(&format!(";abi={ABI_VERSION};")));
        assert!(MARKER.starts_with("mt5-mcp-py:python=3."));
        assert_eq!(&BUILD_MARKER[..], MARKER.as_bytes());
    }

    fn request(text: &str) -> Value {
        let mut len = 0usize;
        // SAFETY: a valid buffer and out pointer; the reply is freed right after.
        unsafe {
            let ptr = mt5py_request(text.as_ptr(), text.len(), &mut len);
            let reply = std::slice::from_raw_parts(ptr, len).to_vec();
            mt5py_free(ptr, len);
            serde_json::from_slice(&reply).unwrap()
        }
    }

    #[test]
    fn malformed_and_unknown_requests_are_typed_errors_not_crashes() {
        assert_eq!(request("{not json")["err"]["kind"], "bad_request");
        assert_eq!(request(r#"{"op":"dance"}"#)["err"]["kind"], "bad_request");
        assert_eq!(request("")["err"]["kind"], "bad_request");
    }
}
