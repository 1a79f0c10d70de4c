//! Values across the boundary: JSON arguments to Python objects, library results to JSON.
//!
//! Records (the library's namedtuples) are read *by attribute*, one requested name at a
//! time, and a missing attribute is simply left out: the main crate applies upstream's
//! defaults (`terminal_info().connected` defaults to true, `time_msc` falls back to
//! `time * 1000`, ...). Reading only the requested names also keeps a `symbols_get()` on
//! a broker with thousands of symbols from copying a hundred fields per symbol, and works
//! the same on RPyC proxies (mt5linux), plain objects and dicts.

use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Deepest nesting a generic value may have; library results are at most two levels deep.
const MAX_DEPTH: usize = 16;

pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let items = items
                .iter()
                .map(|i| to_py(py, i))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(map) => to_py_dict(py, map)?.into_any(),
    })
}

pub fn to_py_dict<'py>(py: Python<'py>, map: &Map<String, Value>) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (k, v) in map {
        dict.set_item(k, to_py(py, v)?)?;
    }
    Ok(dict)
}

pub fn to_py_args<'py>(py: Python<'py>, args: Option<&Value>) -> PyResult<Bound<'py, PyTuple>> {
    match args {
        Some(Value::Array(items)) => {
            let items = items
                .iter()
                .map(|i| to_py(py, i))
                .collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(py, items)
        }
        _ => Ok(PyTuple::empty(py)),
    }
}

fn float(f: f64) -> Value {
    // JSON has no NaN or infinity; the main crate reads a null number as "unset".
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Any scalar or container the library returns, converted generically.
pub fn value(obj: &Bound<'_, PyAny>) -> Result<Value, String> {
    value_at(obj, 0)
}

fn value_at(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("value nested too deeply".to_owned());
    }
    let fail = |e: PyErr| e.to_string();
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if obj.is_instance_of::<PyBool>() {
        return obj.extract::<bool>().map(Value::Bool).map_err(fail);
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return obj.extract::<f64>().map(float).map_err(fail);
    }
    if obj.is_instance_of::<PyFloat>() {
        return obj.extract::<f64>().map(float).map_err(fail);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_string()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            map.insert(k.str().map_err(fail)?.to_string(), value_at(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if obj.is_instance_of::<PyTuple>() || obj.is_instance_of::<PyList>() {
        let mut out = Vec::new();
        for item in obj.try_iter().map_err(fail)? {
            out.push(value_at(&item.map_err(fail)?, depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    // numpy scalars (int64, float64, bool_) and 0-d arrays know how to become Python ones.
    if obj.hasattr("item").unwrap_or(false) {
        let item = obj.call_method0("item").map_err(fail)?;
        if !item.is(obj) {
            return value_at(&item, depth + 1);
        }
    }
    let class = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    Err(format!("cannot convert a {class} value"))
}

/// One record: the requested attributes that exist, by name.
pub fn record(obj: &Bound<'_, PyAny>, fields: &[String]) -> Result<Value, String> {
    let py = obj.py();
    let dict = obj.cast::<PyDict>().ok();
    let mut map = Map::new();
    for name in fields {
        let found = match dict {
            Some(d) => d.get_item(name).map_err(|e| e.to_string())?,
            None => match obj.getattr(name.as_str()) {
                Ok(v) => Some(v),
                Err(e) if e.is_instance_of::<PyAttributeError>(py) => None,
                Err(e) => {
                    return Err(format!(
                        "reading {name}: {}",
                        crate::reply::describe(py, &e)
                    ));
                }
            },
        };
        if let Some(v) = found {
            let v = value(&v).map_err(|e| format!("{name}: {e}"))?;
            map.insert(name.clone(), v);
        }
    }
    Ok(Value::Object(map))
}

/// A sequence of records (`symbols_get`, `positions_get`, ...).
pub fn records(obj: &Bound<'_, PyAny>, fields: &[String]) -> Result<Value, String> {
    let py = obj.py();
    let describe = |e: PyErr| crate::reply::describe(py, &e);
    let mut out = Vec::new();
    for item in obj.try_iter().map_err(describe)? {
        out.push(record(&item.map_err(describe)?, fields)?);
    }
    Ok(Value::Array(out))
}
