//! Starting the embedded interpreter the way the user's `python` would start.
//!
//! An embedded CPython does not honour `VIRTUAL_ENV`, and left alone it derives
//! `sys.prefix` from whatever `python3` is first on PATH (a 3.12 venv there silently hides
//! every package). So the interpreter is started from a `PyConfig` whose `executable` is
//! the interpreter the main crate selected: CPython then finds `pyvenv.cfg` beside it and
//! uses that venv's site-packages, exactly like running that executable.
//!
//! Other choices, each for the host process's sake:
//! * `install_signal_handlers = 0`: Ctrl-C and SIGTERM stay with the server's runtime.
//! * `configure_c_stdio = 0`: Python must not touch the C stdio modes of the process.
//! * `parse_argv = 0`: the server's command line is not Python's.
//! * after start, `sys.stdout = sys.stderr`: whatever the library prints goes to the log,
//!   never into the JSON-RPC stream (on Unix the server also points fd 1 at stderr; on
//!   Windows this is the only protection for Python-level prints).
//!
//! The interpreter is started once per process and never finalised (the MetaTrader5
//! extension is not known to survive re-initialisation).

use std::ffi::CString;
use std::mem::MaybeUninit;

use pyo3::ffi;
use pyo3::prelude::*;
use serde_json::{Value, json};

/// Starts the interpreter if this process has not yet, then reports what runs.
pub fn ensure_started(executable: &str) -> Result<Value, String> {
    // SAFETY: plain query of the runtime's state.
    if unsafe { ffi::Py_IsInitialized() } == 0 {
        // SAFETY: called once, from the one thread that owns Python, before any other use.
        unsafe { initialize(executable)? };
    }
    Python::attach(|py| {
        let sys = py
            .import("sys")
            .map_err(|e| crate::reply::describe(py, &e))?;
        let stderr = sys
            .getattr("stderr")
            .map_err(|e| crate::reply::describe(py, &e))?;
        sys.setattr("stdout", stderr).map_err(|e| {
            format!(
                "cannot redirect sys.stdout: {}",
                crate::reply::describe(py, &e)
            )
        })?;
        let get = |name: &str| -> String {
            sys.getattr(name)
                .and_then(|v| v.str().map(|s| s.to_string()))
                .unwrap_or_default()
        };
        Ok(json!({
            "version": get("version"),
            "executable": get("executable"),
            "prefix": get("prefix"),
        }))
    })
}

/// # Safety
/// Must run at most once per process, before anything else touches Python.
unsafe fn initialize(executable: &str) -> Result<(), String> {
    let exe = CString::new(executable)
        .map_err(|_| format!("interpreter path contains a NUL byte: {executable:?}"))?;
    let mut storage = MaybeUninit::<ffi::PyConfig>::uninit();
    let config = storage.as_mut_ptr();
    // SAFETY: PyConfig_InitPythonConfig fully initialises the struct it is given; every
    // later call receives that initialised struct, and PyConfig_Clear releases it on every
    // path.
    unsafe {
        ffi::PyConfig_InitPythonConfig(config);
        (*config).install_signal_handlers = 0;
        (*config).configure_c_stdio = 0;
        (*config).parse_argv = 0;
        let status =
            ffi::PyConfig_SetBytesString(config, &raw mut (*config).executable, exe.as_ptr());
        if ffi::PyStatus_Exception(status) != 0 {
            ffi::PyConfig_Clear(config);
            return Err(format!(
                "cannot set the interpreter path: {}",
                status_message(&status)
            ));
        }
        let status = ffi::Py_InitializeFromConfig(config);
        ffi::PyConfig_Clear(config);
        if ffi::PyStatus_Exception(status) != 0 {
            return Err(format!(
                "Python failed to start from {executable}: {}",
                status_message(&status)
            ));
        }
        // Initialisation leaves this thread holding the GIL; release it so each request
        // attaches and detaches like any other pyo3 caller.
        ffi::PyEval_SaveThread();
    }
    Ok(())
}

fn status_message(status: &ffi::PyStatus) -> String {
    let text = |p: *const std::ffi::c_char| {
        if p.is_null() {
            None
        } else {
            // SAFETY: CPython's status strings are static NUL-terminated C strings.
            Some(
                unsafe { std::ffi::CStr::from_ptr(p) }
                    .to_string_lossy()
                    .into_owned(),
            )
        }
    };
    match (text(status.func), text(status.err_msg)) {
        (Some(f), Some(m)) => format!("{f}: {m}"),
        (None, Some(m)) => m,
        _ => format!("exit code {}", status.exitcode),
    }
}
