//! The three reply shapes of the boundary, and the binary tail of packed bars (see the
//! crate docs).

use pyo3::prelude::*;
use pyo3::types::PyTypeMethods;
use serde_json::{Value, json};

/// One reply: the JSON text, then, for packed bars only, a NUL and the records.
pub struct Reply {
    pub json: Value,
    pub tail: Option<Vec<u8>>,
}

impl From<Value> for Reply {
    fn from(json: Value) -> Self {
        Reply { json, tail: None }
    }
}

impl Reply {
    /// `{"ok": {"rows", "row_size"}}` and the records.
    pub fn packed(records: Vec<u8>, row_size: usize) -> Self {
        Reply {
            json: ok(json!({ "rows": records.len() / row_size, "row_size": row_size })),
            tail: Some(records),
        }
    }

    /// The bytes handed across the boundary. serde_json escapes every control character
    /// inside strings, so the JSON text holds no NUL and the first one ends it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.json.to_string().into_bytes();
        if let Some(tail) = &self.tail {
            out.reserve_exact(1 + tail.len());
            out.push(0);
            out.extend_from_slice(tail);
        }
        out
    }
}

pub fn ok(value: Value) -> Value {
    json!({ "ok": value })
}

pub fn null(code: i64, message: impl Into<String>) -> Value {
    json!({ "null": { "code": code, "message": message.into() } })
}

pub fn err(kind: &str, message: impl std::fmt::Display) -> Value {
    json!({ "err": { "kind": kind, "message": message.to_string() } })
}

/// `ExceptionClass: message`, the way Python prints the last line of a traceback.
pub fn describe(py: Python<'_>, e: &PyErr) -> String {
    let class = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".to_owned());
    let text = e.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    if text.is_empty() {
        class
    } else {
        format!("{class}: {text}")
    }
}

pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panic in mt5-mcp-py: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panic in mt5-mcp-py: {s}")
    } else {
        "panic in mt5-mcp-py".to_owned()
    }
}
