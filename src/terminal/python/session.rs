//! What lives on the Python thread: loading the embedded interpreter once, then one
//! library call per request, with every failure turned into an actionable `why`.
//!
//! Loading is: find `mt5-mcp-py` and read which Python it embeds, select an interpreter of
//! that version (`discover`), load its runtime library, open `mt5-mcp-py`, start the
//! interpreter. A failure there is final for the process (a Python cannot be swapped
//! underneath a running one) and is logged once as an ERROR at start-up; every call then
//! answers with it. Importing the MetaTrader5 package (or connecting the bridge) is retried
//! by every call instead, so installing the package needs no restart.

use serde_json::{Map, Value, json};

use super::discover::{self, Interpreter};
use super::loader::{self, ABI_VERSION, PyLib, Reply};
use crate::terminal::{LastError, TermError, TermResult};

/// Which library the interpreter drives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flavor {
    /// `import MetaTrader5`.
    Native,
    /// `mt5linux.MetaTrader5(host=, port=)`.
    Bridge { host: String, port: u16 },
}

/// What to load, from the configuration.
#[derive(Debug, Clone)]
pub struct Setup {
    /// `[mt5] python` / `MT5_MCP_PYTHON`, already resolved by the config layer.
    pub python: Option<String>,
    pub flavor: Flavor,
}

/// How a call's result is read (the `shape` of the boundary's `call` request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Value,
    /// `False` means failure, like `None` elsewhere.
    Flag,
    Record,
    Records,
    Rates,
}

impl Shape {
    fn as_str(self) -> &'static str {
        match self {
            Shape::Value => "value",
            Shape::Flag => "flag",
            Shape::Record => "record",
            Shape::Records => "records",
            Shape::Rates => "rates",
        }
    }
}

/// One library call as MetaTrader5 spells it.
#[derive(Debug, Clone)]
pub struct Call {
    pub name: &'static str,
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
    pub shape: Shape,
    pub fields: &'static [&'static str],
}

impl Call {
    pub fn new(name: &'static str, shape: Shape) -> Self {
        Self {
            name,
            args: Vec::new(),
            kwargs: Map::new(),
            shape,
            fields: &[],
        }
    }
    pub fn arg(mut self, v: impl Into<Value>) -> Self {
        self.args.push(v.into());
        self
    }
    pub fn kwarg(mut self, k: &str, v: impl Into<Value>) -> Self {
        self.kwargs.insert(k.to_owned(), v.into());
        self
    }
    pub fn fields(mut self, fields: &'static [&'static str]) -> Self {
        self.fields = fields;
        self
    }
}

enum State {
    NotLoaded,
    Ready(Box<(PyLib, Interpreter)>),
    Failed(String),
}

pub struct Session {
    setup: Setup,
    state: State,
}

impl Session {
    pub fn new(setup: Setup) -> Self {
        Self {
            setup,
            state: State::NotLoaded,
        }
    }

    /// Loads the interpreter if not done yet; logs the outcome once.
    pub fn load(&mut self) {
        if !matches!(self.state, State::NotLoaded) {
            return;
        }
        self.state = match load(&self.setup) {
            Ok(loaded) => State::Ready(Box::new(loaded)),
            Err(why) => {
                tracing::error!("Python backend unavailable: {why}");
                State::Failed(why)
            }
        };
    }

    /// The library's answer: `ok`'s value as `json`, with the packed bars of a `rates`
    /// call in `tail`.
    pub fn call(&mut self, call: &Call) -> TermResult<Reply> {
        self.load();
        let (lib, python) = match &self.state {
            State::Ready(loaded) => (&loaded.0, &loaded.1),
            // Nothing could be called: the library or module is not loaded.
            State::Failed(why) => return Err(TermError::NotSent { why: why.clone() }),
            State::NotLoaded => unreachable!("load() always leaves NotLoaded"),
        };
        let req = json!({
            "op": "call",
            "fn": call.name,
            "args": call.args,
            "kwargs": call.kwargs,
            "shape": call.shape.as_str(),
            "fields": call.fields,
        });
        let Reply { json: reply, tail } = lib
            .request(&req)
            .map_err(|why| TermError::Backend { why })?;
        let mut reply = match reply {
            Value::Object(map) => map,
            other => {
                return Err(TermError::Backend {
                    why: format!("unreadable reply from the Python library: {other}"),
                });
            }
        };
        if let Some(json) = reply.remove("ok") {
            return Ok(Reply { json, tail });
        }
        if let Some(n) = reply.get("null") {
            let code = n.get("code").and_then(Value::as_i64).unwrap_or(-1);
            let message = n.get("message").and_then(Value::as_str).unwrap_or_default();
            return Err(TermError::Null(LastError::new(code, message)));
        }
        let err = reply.get("err");
        let text = |k: &str| err.and_then(|e| e.get(k)).and_then(Value::as_str);
        let kind = text("kind").unwrap_or("unknown");
        let message = text("message").unwrap_or("no details");
        Err(TermError::Backend {
            why: explain(&self.setup.flavor, python, kind, message),
        })
    }
}

fn load(setup: &Setup) -> Result<(PyLib, Interpreter), String> {
    let path = loader::locate()?;
    let built = loader::read_build_info(&path)?;
    if built.abi != ABI_VERSION {
        return Err(format!(
            "{} speaks ABI {} but this mt5-mcp needs ABI {ABI_VERSION}: the library and the \
             executable come from different builds; install them together",
            path.display(),
            built.abi
        ));
    }
    let python = discover::select(setup.python.as_deref(), built.python)?;
    let runtime = discover::load_runtime_library(&python)?;
    let lib = PyLib::open(&path)?;
    if lib.python != built.python {
        return Err(format!(
            "{} reports Python {} but its marker says {}; the file is damaged",
            path.display(),
            lib.python,
            built.python
        ));
    }
    let (module, bridge) = match &setup.flavor {
        Flavor::Native => ("MetaTrader5", Value::Null),
        Flavor::Bridge { host, port } => ("mt5linux", json!({"host": host, "port": port})),
    };
    let reply = lib
        .request(&json!({
            "op": "start",
            "executable": python.executable,
            "module": module,
            "bridge": bridge,
        }))?
        .json;
    let Some(info) = reply.get("ok") else {
        return Err(format!(
            "Python {} at {} failed to start: {}",
            python.version,
            python.executable.display(),
            reply["err"]["message"].as_str().unwrap_or("no details")
        ));
    };
    tracing::info!(
        python = %python.executable.display(),
        version = info["version"].as_str().unwrap_or_default(),
        prefix = info["prefix"].as_str().unwrap_or_default(),
        runtime = %runtime.display(),
        library = %path.display(),
        "embedded Python started"
    );
    Ok((lib, python))
}

/// A failure reported by the library, worded for the operator: what broke and what to do.
pub fn explain(flavor: &Flavor, python: &Interpreter, kind: &str, message: &str) -> String {
    let exe = python.executable.display();
    match (flavor, kind) {
        (Flavor::Native, "module_missing") => format!(
            "the MetaTrader5 Python package is not installed for {exe} (Python {}): run \
             `{exe} -m pip install MetaTrader5` (it is published for Windows only; on Linux \
             run the terminal under Wine and use backend = \"bridge\" with mt5linux)",
            python.version
        ),
        (Flavor::Bridge { .. }, "module_missing") => format!(
            "the mt5linux Python package is not installed for {exe} (Python {}): run \
             `{exe} -m pip install mt5linux`",
            python.version
        ),
        (Flavor::Native, "import_failed") => {
            format!("importing MetaTrader5 with {exe} failed: {message}")
        }
        (Flavor::Bridge { .. }, "import_failed") => {
            format!("importing mt5linux with {exe} failed: {message}")
        }
        (Flavor::Bridge { host, port }, "bridge_unreachable") => format!(
            "bridge at {host}:{port} unreachable: {message}; start the mt5linux server next \
             to the terminal (under Wine) and check [mt5.bridge] host/port"
        ),
        (Flavor::Native, "exception") => format!("MetaTrader5.{message}"),
        (Flavor::Bridge { host, port }, "exception") => {
            format!("mt5linux bridge at {host}:{port}: {message}")
        }
        (_, "conversion") => format!("unexpected result from the library: {message}"),
        _ => format!("Python backend error ({kind}): {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python() -> Interpreter {
        Interpreter {
            version: "3.11.7".into(),
            implementation: "cpython".into(),
            pointer_bits: 64,
            executable: "/opt/venv/bin/python".into(),
            prefix: "/opt/venv".into(),
            base_prefix: "/opt/py".into(),
            libdir: None,
            ldlibrary: None,
            instsoname: None,
            shared: true,
            site_packages: vec![],
        }
    }

    #[test]
    fn a_missing_package_says_what_to_install_and_where() {
        let why = explain(&Flavor::Native, &python(), "module_missing", "x");
        assert!(
            why.contains("/opt/venv/bin/python -m pip install MetaTrader5"),
            "{why}"
        );
        let bridge = Flavor::Bridge {
            host: "10.0.0.2".into(),
            port: 18812,
        };
        let why = explain(&bridge, &python(), "module_missing", "x");
        assert!(why.contains("pip install mt5linux"), "{why}");
        let why = explain(
            &bridge,
            &python(),
            "bridge_unreachable",
            "ConnectionRefusedError: [Errno 111]",
        );
        assert!(
            why.starts_with("bridge at 10.0.0.2:18812 unreachable: ConnectionRefusedError"),
            "{why}"
        );
    }

    #[test]
    fn exceptions_name_the_library_function_and_exception() {
        let why = explain(
            &Flavor::Native,
            &python(),
            "exception",
            "symbol_info() raised RuntimeError: boom",
        );
        assert_eq!(why, "MetaTrader5.symbol_info() raised RuntimeError: boom");
    }
}
