//! Records which Python the library is built for, and (dev/CI) where its libpython lives.

fn main() {
    let config = pyo3_build_config::get();
    assert!(
        matches!(
            config.target_abi().kind(),
            pyo3_build_config::PythonAbiKind::VersionSpecific(_)
        ),
        "mt5-mcp-py needs the full CPython API (PyConfig); build it without abi3"
    );
    // RUNPATH to the build interpreter's libpython, so `cargo test` and dev runs need no
    // LD_LIBRARY_PATH. A shipped build does not rely on it: the loader in the main crate
    // opens the chosen interpreter's libpython first.
    pyo3_build_config::add_libpython_rpath_link_args();
    // The crate's own tests start the interpreter the library was built against.
    if let Some(exe) = config.executable() {
        println!("cargo:rustc-env=MT5PY_BUILD_EXECUTABLE={exe}");
    }
    println!(
        "cargo:rustc-env=MT5PY_BUILD_PYTHON={}.{}",
        config.version().major,
        config.version().minor
    );
}
