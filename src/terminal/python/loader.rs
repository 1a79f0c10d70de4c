//! Finding and opening the `mt5-mcp-py` library that embeds CPython.
//!
//! The library sits beside the executable (`libmt5_mcp_py.so`, `mt5_mcp_py.dll`, ...).
//! Before it is opened its file is searched for the build marker, which says which Python
//! `major.minor` it links and which ABI it speaks: opening a library linked to a Python
//! that is not installed fails with an unhelpful loader message (on Windows without even
//! naming the DLL), while the marker lets the error name both versions. After opening,
//! the exported ABI number is checked again.
//!
//! The library is never unloaded: CPython cannot be torn down and reloaded in a process.

use std::ffi::CStr;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::discover::PyVersion;

/// The request/reply contract this binary speaks (see the `mt5-mcp-py` crate docs).
pub const ABI_VERSION: u32 = 2;

/// Developer and test override for the library's path.
const OVERRIDE_VAR: &str = "MT5_MCP_PYLIB";
const MARKER: &[u8] = b"mt5-mcp-py:python=";

/// `libmt5_mcp_py.so` / `libmt5_mcp_py.dylib` / `mt5_mcp_py.dll`.
pub fn file_name() -> String {
    format!(
        "{}mt5_mcp_py{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// The library beside the running executable, or `MT5_MCP_PYLIB`.
pub fn locate() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(OVERRIDE_VAR) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "{OVERRIDE_VAR} names {}, which is not a file",
                p.display()
            ))
        };
    }
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the running executable: {e}"))?;
    let path = exe
        .parent()
        .map(|d| d.join(file_name()))
        .ok_or("the running executable has no directory")?;
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "the embedded-Python library {} is missing beside {}: install mt5-mcp with it \
             (from source: `cargo build --workspace`)",
            file_name(),
            exe.display()
        ))
    }
}

/// What the library's build marker says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildInfo {
    pub python: PyVersion,
    pub abi: u32,
}

/// Finds `mt5-mcp-py:python=3.11;abi=2;` in the library's bytes.
pub fn parse_build_info(bytes: &[u8]) -> Option<BuildInfo> {
    let start = bytes.windows(MARKER.len()).position(|w| w == MARKER)? + MARKER.len();
    let rest = &bytes[start..bytes.len().min(start + 40)];
    let text = std::str::from_utf8(rest.split(|b| *b == 0).next()?).ok()?;
    let mut parts = text.split(';');
    let python = PyVersion::parse(parts.next()?)?;
    let abi = parts.next()?.strip_prefix("abi=")?.parse().ok()?;
    Some(BuildInfo { python, abi })
}

pub fn read_build_info(path: &Path) -> Result<BuildInfo, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_build_info(&bytes).ok_or_else(|| {
        format!(
            "{} is not an mt5-mcp-py library (no build marker)",
            path.display()
        )
    })
}

type RequestFn = unsafe extern "C" fn(*const u8, usize, *mut usize) -> *mut u8;
type FreeFn = unsafe extern "C" fn(*mut u8, usize);

/// The opened library: two function pointers and the Python it was built for.
pub struct PyLib {
    request: RequestFn,
    free: FreeFn,
    pub python: PyVersion,
}

impl PyLib {
    /// Opens the library; the Python runtime it links must already be loaded (see
    /// `discover::load_runtime_library`).
    pub fn open(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        // SAFETY: the library's initialisers are Rust and pyo3 statics; none runs Python.
        let lib = unsafe { libloading::Library::new(path) }
            .map_err(|e| format!("cannot open {shown}: {e}"))?;
        // SAFETY: each symbol is looked up with the exact signature the library exports
        // (see crates/mt5-py/src/lib.rs); the pointers stay valid because the library is
        // never unloaded (it is forgotten below).
        let pylib = unsafe {
            let abi = lib
                .get::<unsafe extern "C" fn() -> u32>(b"mt5py_abi_version")
                .map_err(|e| format!("{shown} is not an mt5-mcp-py library: {e}"))?;
            let abi = abi();
            if abi != ABI_VERSION {
                return Err(format!(
                    "{shown} speaks ABI {abi} but this mt5-mcp needs ABI {ABI_VERSION}: the \
                     library and the executable come from different builds; install them together"
                ));
            }
            let built = lib
                .get::<unsafe extern "C" fn() -> *const std::ffi::c_char>(b"mt5py_build_python")
                .map_err(|e| e.to_string())?;
            let built = CStr::from_ptr(built()).to_string_lossy().into_owned();
            let python = PyVersion::parse(&built)
                .ok_or_else(|| format!("{shown} reports an unreadable Python version {built:?}"))?;
            let request = *lib
                .get::<RequestFn>(b"mt5py_request")
                .map_err(|e| e.to_string())?;
            let free = *lib
                .get::<FreeFn>(b"mt5py_free")
                .map_err(|e| e.to_string())?;
            PyLib {
                request,
                free,
                python,
            }
        };
        std::mem::forget(lib);
        Ok(pylib)
    }

    /// One request, one reply (see the crate docs of `mt5-mcp-py`).
    pub fn request(&self, req: &Value) -> Result<Reply, String> {
        let text = req.to_string();
        let mut len = 0usize;
        // SAFETY: a valid buffer and out pointer; the reply is read while the library
        // still owns it, then handed back to the library that allocated it, exactly once.
        unsafe {
            let ptr = (self.request)(text.as_ptr(), text.len(), &mut len);
            if ptr.is_null() {
                return Err("the Python library returned no reply".to_owned());
            }
            let reply = Reply::parse(std::slice::from_raw_parts(ptr, len));
            (self.free)(ptr, len);
            reply
        }
    }
}

/// A reply: its JSON and the binary tail that follows a NUL (packed bars; empty otherwise).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub json: Value,
    pub tail: Vec<u8>,
}

impl Reply {
    /// Splits at the first NUL, which valid JSON text cannot contain, and copies the tail
    /// out of the library's buffer.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let (text, tail) = match bytes.iter().position(|b| *b == 0) {
            Some(nul) => (&bytes[..nul], &bytes[nul + 1..]),
            None => (bytes, &[][..]),
        };
        let json = serde_json::from_slice(text)
            .map_err(|e| format!("unreadable reply from the Python library: {e}"))?;
        Ok(Reply {
            json,
            tail: tail.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_marker_is_found_among_other_bytes() {
        let mut bytes = vec![0u8, 7, 255];
        bytes.extend(b"mt5-mcp-py:python=3.11;abi=1;\0trailing");
        assert_eq!(
            parse_build_info(&bytes),
            Some(BuildInfo {
                python: PyVersion {
                    major: 3,
                    minor: 11
                },
                abi: 1
            })
        );
        let other = b"xx mt5-mcp-py:python=3.13;abi=7;";
        assert_eq!(parse_build_info(other).unwrap().abi, 7);
        assert_eq!(parse_build_info(other).unwrap().python.minor, 13);
    }

    #[test]
    fn files_without_a_readable_marker_are_refused() {
        assert_eq!(parse_build_info(b"an ordinary library"), None);
        assert_eq!(parse_build_info(b"mt5-mcp-py:python=three;abi=1;"), None);
        assert_eq!(parse_build_info(b"mt5-mcp-py:python=3.11;"), None);
    }

    #[test]
    fn a_reply_splits_at_its_first_nul_into_json_and_tail() {
        let plain = Reply::parse(br#"{"ok":"a\u0000b"}"#).unwrap();
        assert_eq!(plain.json["ok"], "a\0b", "an escaped NUL is text");
        assert!(plain.tail.is_empty());
        let packed = Reply::parse(b"{\"ok\":{\"rows\":1}}\0\x00\x01\xff\0").unwrap();
        assert_eq!(packed.json["ok"]["rows"], 1);
        assert_eq!(packed.tail, [0, 1, 255, 0]);
        let empty = Reply::parse(b"{\"ok\":{}}\0").unwrap();
        assert!(empty.tail.is_empty());
        assert!(Reply::parse(b"\0{}").is_err());
        assert!(Reply::parse(b"").is_err());
        assert!(Reply::parse(b"{\"ok\":1} trailing").is_err());
    }

    #[test]
    fn the_library_name_follows_the_platform() {
        let name = file_name();
        assert!(name.contains("mt5_mcp_py"));
        if cfg!(target_os = "linux") {
            assert_eq!(name, "libmt5_mcp_py.so");
        }
    }
}
