//! The library being driven: the `MetaTrader5` module (native) or an
//! `mt5linux.MetaTrader5(host=, port=)` proxy (bridge), and one call on it per request.
//!
//! The library is imported (or the bridge connected) on the first call, not at `start`, and
//! a failure is not remembered: a `pip install` or a bridge that comes up later is picked
//! up by the next call without restarting the server. A bridge whose connection broke
//! (EOF or an OS-level error from RPyC) is dropped and reconnected on the next call.
//!
//! `shape` says how to read a result:
//! * `value`: generic conversion (numbers, strings, tuples such as `last_error()`);
//! * `flag`: a boolean where `False` means failure (`initialize`, `symbol_select`);
//! * `record` / `records`: one or a sequence of namedtuples, read by the attribute names in
//!   `fields`;
//! * `rates`: bars, packed into the reply's binary tail (see `rates`).
//!
//! `None` (and `False` for `flag`) is answered with `last_error()` read inside the same
//! request, before anything else can touch the library.

use std::sync::{Mutex, MutexGuard};

use pyo3::exceptions::{PyEOFError, PyModuleNotFoundError, PyOSError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;

use crate::reply::{self, Reply, describe};
use crate::{convert, interp, rates};

struct Bridge {
    host: String,
    port: u16,
}

struct Target {
    module: String,
    bridge: Option<Bridge>,
    lib: Option<Py<PyAny>>,
}

static SESSION: Mutex<Option<Target>> = Mutex::new(None);

fn session() -> MutexGuard<'static, Option<Target>> {
    SESSION.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn start(req: &Value) -> Value {
    let (Some(executable), Some(module)) = (
        req.get("executable").and_then(Value::as_str),
        req.get("module").and_then(Value::as_str),
    ) else {
        return reply::err("bad_request", "start needs `executable` and `module`");
    };
    let bridge = match req.get("bridge") {
        None | Some(Value::Null) => None,
        Some(b) => {
            let host = b.get("host").and_then(Value::as_str);
            let port = b
                .get("port")
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok());
            match (host, port) {
                (Some(host), Some(port)) => Some(Bridge {
                    host: host.to_owned(),
                    port,
                }),
                _ => return reply::err("bad_request", "bridge needs `host` and `port`"),
            }
        }
    };
    match interp::ensure_started(executable) {
        Ok(info) => {
            *session() = Some(Target {
                module: module.to_owned(),
                bridge,
                lib: None,
            });
            reply::ok(info)
        }
        Err(e) => reply::err("start_failed", e),
    }
}

pub fn call(req: &Value) -> Reply {
    let mut guard = session();
    let Some(target) = guard.as_mut() else {
        return reply::err("not_started", "the interpreter has not been started").into();
    };
    let Some(name) = req.get("fn").and_then(Value::as_str) else {
        return reply::err("bad_request", "call needs `fn`").into();
    };
    let shape = req.get("shape").and_then(Value::as_str).unwrap_or("value");
    let fields: Vec<String> = req
        .get("fields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Python::attach(|py| {
        let lib = match target.open(py) {
            Ok(lib) => lib,
            Err(reply) => return reply.into(),
        };
        let outcome = (|| -> PyResult<Bound<'_, PyAny>> {
            let func = lib.getattr(name)?;
            let args = convert::to_py_args(py, req.get("args"))?;
            let kwargs = match req.get("kwargs") {
                Some(Value::Object(m)) if !m.is_empty() => Some(convert::to_py_dict(py, m)?),
                _ => None,
            };
            func.call(args, kwargs.as_ref())
        })();
        let result = match outcome {
            Ok(r) => r,
            Err(e) => {
                target.after_exception(py, &e);
                let why = format!("{name}() raised {}", describe(py, &e));
                return reply::err("exception", why).into();
            }
        };
        let empty = result.is_none() || (shape == "flag" && !result.is_truthy().unwrap_or(false));
        if empty {
            return last_error(py, &lib, name).into();
        }
        let converted = match shape {
            "flag" => Ok(Value::Bool(true)),
            "value" => convert::value(&result),
            "record" => convert::record(&result, &fields),
            "records" => convert::records(&result, &fields),
            "rates" => {
                return match rates::convert(&result, &fields) {
                    Ok(records) => Reply::packed(records, rates::ROW_SIZE),
                    Err(e) => unexpected(name, e).into(),
                };
            }
            other => return reply::err("bad_request", format!("unknown shape {other:?}")).into(),
        };
        match converted {
            Ok(v) => reply::ok(v),
            Err(e) => unexpected(name, e),
        }
        .into()
    })
}

fn unexpected(name: &str, e: String) -> Value {
    reply::err(
        "conversion",
        format!("{name}() returned something unexpected: {e}"),
    )
}

fn last_error(py: Python<'_>, lib: &Bound<'_, PyAny>, name: &str) -> Value {
    let raw = match lib.call_method0("last_error") {
        Ok(v) => v,
        Err(e) => {
            return reply::err(
                "exception",
                format!(
                    "{name}() returned nothing and last_error() raised {}",
                    describe(py, &e)
                ),
            );
        }
    };
    let code = raw.get_item(0).and_then(|c| c.extract::<i64>());
    let message = raw.get_item(1).and_then(|m| m.str().map(|s| s.to_string()));
    match (code, message) {
        (Ok(code), Ok(message)) => reply::null(code, message),
        _ => reply::null(
            -1,
            format!("{name}() returned nothing; last_error() was unreadable"),
        ),
    }
}

impl Target {
    /// The library object, importing or connecting it on first use.
    fn open<'py>(&mut self, py: Python<'py>) -> Result<Bound<'py, PyAny>, Value> {
        if let Some(lib) = &self.lib {
            return Ok(lib.bind(py).clone());
        }
        // A package installed since the last attempt must be seen: finders cache
        // directory listings.
        if let Ok(importlib) = py.import("importlib") {
            let _ = importlib.call_method0("invalidate_caches");
        }
        let module = py.import(self.module.as_str()).map_err(|e| {
            let missing_itself = e.is_instance_of::<PyModuleNotFoundError>(py)
                && e.value(py)
                    .getattr("name")
                    .and_then(|n| n.extract::<String>())
                    .is_ok_and(|n| n == self.module);
            let kind = if missing_itself {
                "module_missing"
            } else {
                "import_failed"
            };
            reply::err(kind, describe(py, &e))
        })?;
        let lib = match &self.bridge {
            None => module.into_any(),
            Some(b) => {
                let connect = || -> PyResult<Bound<'py, PyAny>> {
                    let kwargs = PyDict::new(py);
                    kwargs.set_item("host", b.host.as_str())?;
                    kwargs.set_item("port", b.port)?;
                    module.getattr("MetaTrader5")?.call((), Some(&kwargs))
                };
                connect().map_err(|e| reply::err("bridge_unreachable", describe(py, &e)))?
            }
        };
        self.lib = Some(lib.clone().unbind());
        Ok(lib)
    }

    fn after_exception(&mut self, py: Python<'_>, e: &PyErr) {
        let broken = e.is_instance_of::<PyEOFError>(py) || e.is_instance_of::<PyOSError>(py);
        if self.bridge.is_some() && broken {
            self.lib = None;
        }
    }
}
