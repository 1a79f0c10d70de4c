//! Which Python to embed, and making its runtime library findable.
//!
//! `[mt5] python` (or `MT5_MCP_PYTHON`) names an executable, a bare command, or a venv (or
//! installation) directory. Unset, the usual names are tried: on Windows the `py` launcher
//! for the version this build embeds (it reads the PEP 514 registry entries the python.org
//! installer writes, even when Python is not on PATH), then `python`; elsewhere
//! `python3.X`, `python3`, `python`.
//!
//! The chosen interpreter is asked once, in a subprocess, for its version, `sys.executable`
//! (a venv's own path, which the embedded interpreter is started with so the venv's
//! site-packages are used), prefixes and where its shared library lives. The embedded
//! library is built for one `major.minor`; any other version is refused with an error
//! naming both and what to install.
//!
//! Then the interpreter's runtime library is loaded *before* the mt5-mcp-py library that
//! links it: on Linux its `libpython3.X.so` is opened with `RTLD_GLOBAL`, so the library's
//! dependency resolves to the user's Python without any rpath or `LD_LIBRARY_PATH`; on
//! Windows `python3X.dll` is loaded from the installation and its directory is put on the
//! DLL search path.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// How long the interpreter may take to answer the query.
const QUERY_TIMEOUT: Duration = Duration::from_secs(20);
const QUERY_TAG: &str = "MT5MCP-PYTHON-QUERY:";

/// Prints one tagged JSON line; the tag lets start-up noise (a chatty sitecustomize) pass.
const QUERY: &str = r#"
import json, site, sys, sysconfig
v = sysconfig.get_config_vars()
try:
    sp = site.getsitepackages()
except Exception:
    sp = []
print("MT5MCP-PYTHON-QUERY:" + json.dumps({
    "version": "%d.%d.%d" % sys.version_info[:3],
    "implementation": sys.implementation.name,
    "pointer_bits": 64 if sys.maxsize > 2**32 else 32,
    "executable": sys.executable,
    "prefix": sys.prefix,
    "base_prefix": sys.base_prefix,
    "libdir": v.get("LIBDIR"),
    "ldlibrary": v.get("LDLIBRARY"),
    "instsoname": v.get("INSTSONAME"),
    "shared": bool(v.get("Py_ENABLE_SHARED")),
    "site_packages": sp,
}))
"#;

/// A `major.minor` Python version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PyVersion {
    pub major: u32,
    pub minor: u32,
}

impl PyVersion {
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(Self { major, minor })
    }
}

impl std::fmt::Display for PyVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// What the interpreter said about itself.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Interpreter {
    /// Full version, e.g. `3.11.7`.
    pub version: String,
    pub implementation: String,
    pub pointer_bits: u32,
    /// `sys.executable`: inside a venv, the venv's own path (not resolved).
    pub executable: PathBuf,
    pub prefix: PathBuf,
    pub base_prefix: PathBuf,
    pub libdir: Option<PathBuf>,
    pub ldlibrary: Option<String>,
    pub instsoname: Option<String>,
    pub shared: bool,
    pub site_packages: Vec<PathBuf>,
}

impl Interpreter {
    pub fn short_version(&self) -> Option<PyVersion> {
        PyVersion::parse(&self.version)
    }
}

/// One way to run an interpreter: a program plus leading arguments (`py -3.11`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub program: OsString,
    pub args: Vec<String>,
}

impl Candidate {
    fn plain(program: impl Into<OsString>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
        }
    }

    pub fn label(&self) -> String {
        let mut s = self.program.to_string_lossy().into_owned();
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

/// The interpreters to try, best first. `configured` is `[mt5] python` after config
/// resolution: a bare name, or a path to an executable or a directory.
pub fn candidates(
    configured: Option<&str>,
    built: PyVersion,
    windows: bool,
) -> Result<Vec<Candidate>, String> {
    let Some(raw) = configured else {
        return Ok(if windows {
            vec![
                Candidate {
                    program: "py".into(),
                    args: vec![format!("-{built}")],
                },
                Candidate::plain("python"),
                Candidate::plain("python3"),
            ]
        } else {
            vec![
                Candidate::plain(format!("python{built}")),
                Candidate::plain("python3"),
                Candidate::plain("python"),
            ]
        });
    };
    let path = Path::new(raw);
    if !path.is_dir() {
        return Ok(vec![Candidate::plain(raw)]);
    }
    let inside: &[&str] = if windows {
        &["Scripts/python.exe", "python.exe"]
    } else {
        &["bin/python3", "bin/python"]
    };
    inside
        .iter()
        .map(|rel| path.join(rel))
        .find(|p| p.is_file())
        .map(|p| vec![Candidate::plain(p)])
        .ok_or_else(|| {
            format!(
                "[mt5] python is the directory {raw}, which holds no Python executable \
                 (looked for {}); point it at a venv or at a python executable",
                inside.join(", ")
            )
        })
}

/// Runs `candidate` once and parses its answer.
pub fn query(candidate: &Candidate) -> Result<Interpreter, String> {
    let label = candidate.label();
    let mut child = Command::new(&candidate.program)
        .args(&candidate.args)
        .args(["-c", QUERY])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{label}: not found"),
            _ => format!("{label}: cannot run it: {e}"),
        })?;
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let (mut o, mut e) = (String::new(), String::new());
        let _ = out.read_to_string(&mut o);
        let _ = err.read_to_string(&mut e);
        (o, e)
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > QUERY_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{label}: did not answer within {}s",
                    QUERY_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("{label}: {e}")),
        }
    };
    let (stdout, stderr) = reader.join().unwrap_or_default();
    if !status.success() {
        let tail = stderr.lines().last().unwrap_or("").trim();
        return Err(format!("{label}: exited with {status}: {tail}"));
    }
    parse_query(&stdout).map_err(|e| format!("{label}: {e}"))
}

/// Extracts the tagged JSON line from the query's stdout.
pub fn parse_query(stdout: &str) -> Result<Interpreter, String> {
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.trim_end().strip_prefix(QUERY_TAG))
        .ok_or("did not print its description (is it a CPython interpreter?)")?;
    serde_json::from_str(line).map_err(|e| format!("unreadable description: {e}"))
}

/// Picks the interpreter to embed: the configured one, or the first default candidate of
/// the built version. Every failure explains what to install or set.
pub fn select(configured: Option<&str>, built: PyVersion) -> Result<Interpreter, String> {
    let windows = cfg!(windows);
    let mut tried = Vec::new();
    let mut wrong_version = None;
    for candidate in candidates(configured, built, windows)? {
        match query(&candidate) {
            Ok(found) if fits(&found, built) => return Ok(found),
            Ok(found) => {
                if wrong_version.is_none() {
                    wrong_version = Some(found);
                }
            }
            Err(e) => tried.push(e),
        }
    }
    if let Some(found) = wrong_version {
        return Err(mismatch(&found, built, windows));
    }
    Err(match configured {
        Some(raw) => format!(
            "the Python named by [mt5] python / MT5_MCP_PYTHON ({raw}) cannot be used: {}",
            tried.join("; ")
        ),
        None => format!(
            "no Python {built} found (tried {}); {}",
            tried.join("; "),
            install_hint(built, windows)
        ),
    })
}

fn fits(found: &Interpreter, built: PyVersion) -> bool {
    found.short_version() == Some(built)
        && found.implementation == "cpython"
        && found.pointer_bits as usize == usize::BITS as usize
}

/// The error for an interpreter this build cannot embed.
pub fn mismatch(found: &Interpreter, built: PyVersion, windows: bool) -> String {
    let exe = found.executable.display();
    let what = if found.implementation != "cpython" {
        format!("{} {}", found.implementation, found.version)
    } else if found.pointer_bits as usize != usize::BITS as usize {
        format!("a {}-bit Python {}", found.pointer_bits, found.version)
    } else {
        format!("Python {}", found.version)
    };
    format!(
        "Python version mismatch: this mt5-mcp build embeds 64-bit CPython {built}, but {exe} is {what}. {}",
        install_hint(built, windows)
    )
}

fn install_hint(built: PyVersion, windows: bool) -> String {
    if windows {
        format!(
            "Install 64-bit CPython {built} from python.org, create a venv with \
             `py -{built} -m venv C:\\mt5\\venv`, and set [mt5] python = 'C:\\mt5\\venv' \
             (or MT5_MCP_PYTHON)"
        )
    } else {
        format!(
            "Install Python {built} (with its shared libpython), create a venv with \
             `python{built} -m venv ~/mt5-venv`, and set [mt5] python = \"~/mt5-venv\" \
             (or MT5_MCP_PYTHON), or rebuild mt5-mcp against the Python you have \
             (PYO3_PYTHON=<python> cargo build --workspace)"
        )
    }
}

/// Where the interpreter's shared runtime library may be, most specific first; a bare
/// file name last, for the system's own search.
pub fn runtime_library_candidates(found: &Interpreter, windows: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if windows {
        let Some(v) = found.short_version() else {
            return out;
        };
        let dll = format!("python{}{}.dll", v.major, v.minor);
        let exe_dir = found.executable.parent().map(Path::to_path_buf);
        for dir in [
            Some(found.base_prefix.clone()),
            exe_dir,
            Some(found.prefix.clone()),
        ]
        .into_iter()
        .flatten()
        {
            push_unique(&mut out, dir.join(&dll));
        }
        return out;
    }
    let names: Vec<&String> = [&found.instsoname, &found.ldlibrary]
        .into_iter()
        .flatten()
        .filter(|n| !n.is_empty() && !n.ends_with(".a"))
        .collect();
    let dirs = [found.libdir.clone(), Some(found.base_prefix.join("lib"))];
    for name in &names {
        for dir in dirs.iter().flatten() {
            push_unique(&mut out, dir.join(name));
        }
    }
    for name in names {
        push_unique(&mut out, PathBuf::from(name));
    }
    out
}

fn push_unique(v: &mut Vec<PathBuf>, p: PathBuf) {
    if !v.contains(&p) {
        v.push(p);
    }
}

/// Loads the interpreter's runtime library into the process for good, so the mt5-mcp-py
/// library (linked against `libpython3.X`) binds to it.
pub fn load_runtime_library(found: &Interpreter) -> Result<PathBuf, String> {
    let mut problems = Vec::new();
    for path in runtime_library_candidates(found, cfg!(windows)) {
        let is_bare = path.parent().is_none_or(|p| p.as_os_str().is_empty());
        if !is_bare && !path.exists() {
            problems.push(format!("{}: not found", path.display()));
            continue;
        }
        match open_global(&path) {
            Ok(()) => return Ok(path),
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
    }
    let exe = found.executable.display();
    let tried = if problems.is_empty() {
        "it names no shared library".to_owned()
    } else {
        problems.join("; ")
    };
    Err(if cfg!(windows) {
        format!(
            "cannot load the Python DLL of {exe} ({tried}); reinstall 64-bit CPython from python.org"
        )
    } else {
        format!(
            "cannot load the shared libpython of {exe} ({tried}). Use a Python built with \
             --enable-shared (pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared; Debian/Ubuntu: \
             apt install libpython{})",
            found
                .short_version()
                .map_or_else(|| "3".to_owned(), |v| v.to_string())
        )
    })
}

#[cfg(unix)]
fn open_global(path: &Path) -> Result<(), String> {
    use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};
    // SAFETY: loading a CPython runtime library runs no Python code; its initialisers only
    // set up static data. It stays loaded for the life of the process.
    let lib =
        unsafe { Library::open(Some(path), RTLD_NOW | RTLD_GLOBAL) }.map_err(|e| e.to_string())?;
    std::mem::forget(lib);
    Ok(())
}

#[cfg(windows)]
fn open_global(path: &Path) -> Result<(), String> {
    use std::os::windows::ffi::OsStrExt;

    use libloading::os::windows::{LOAD_WITH_ALTERED_SEARCH_PATH, Library};

    #[link(name = "kernel32")]
    unsafe extern "system" {
        fn SetDllDirectoryW(path: *const u16) -> i32;
    }
    if let Some(dir) = path.parent() {
        let wide: Vec<u16> = dir.as_os_str().encode_wide().chain([0]).collect();
        // SAFETY: a NUL-terminated wide string that outlives the call.
        unsafe { SetDllDirectoryW(wide.as_ptr()) };
    }
    // SAFETY: as on Unix; the DLL's dependencies (vcruntime) are found beside it.
    let lib = unsafe { Library::load_with_flags(path, LOAD_WITH_ALTERED_SEARCH_PATH) }
        .map_err(|e| e.to_string())?;
    std::mem::forget(lib);
    Ok(())
}

#[cfg(test)]
mod tests;
