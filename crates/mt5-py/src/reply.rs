//! The three reply shapes of the boundary (see the crate docs).

use pyo3::prelude::*;
use pyo3::types::PyTypeMethods;
use serde_json::{Value, json};

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
