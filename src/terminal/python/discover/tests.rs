use super::*;

const V311: PyVersion = PyVersion {
    major: 3,
    minor: 11,
};

fn described(version: &str) -> String {
    format!(
        r#"{{"version": "{version}", "implementation": "cpython", "pointer_bits": 64,
            "executable": "/opt/venv/bin/python", "prefix": "/opt/venv",
            "base_prefix": "/opt/py", "libdir": "/opt/py/lib", "ldlibrary": "libpython3.11.so",
            "instsoname": "libpython3.11.so.1.0", "shared": true,
            "site_packages": ["/opt/venv/lib/python3.11/site-packages"]}}"#
    )
    .replace('\n', " ")
}

#[test]
fn versions_parse_major_and_minor_only() {
    assert_eq!(PyVersion::parse("3.11"), Some(V311));
    assert_eq!(PyVersion::parse("3.11.7"), Some(V311));
    assert_eq!(
        PyVersion::parse(" 3.12\n").map(|v| v.to_string()),
        Some("3.12".into())
    );
    assert_eq!(PyVersion::parse("3"), None);
    assert_eq!(PyVersion::parse("three.eleven"), None);
}

#[test]
fn the_query_answer_is_found_among_startup_noise() {
    let out = format!(
        "hello from sitecustomize\n{QUERY_TAG}{}\n",
        described("3.11.7")
    );
    let found = parse_query(&out).unwrap();
    assert_eq!(found.version, "3.11.7");
    assert_eq!(found.short_version(), Some(V311));
    assert_eq!(found.executable, PathBuf::from("/opt/venv/bin/python"));
    assert_eq!(found.base_prefix, PathBuf::from("/opt/py"));
    assert_eq!(found.instsoname.as_deref(), Some("libpython3.11.so.1.0"));
    assert_eq!(found.site_packages.len(), 1);
}

#[test]
fn an_answer_without_the_tag_or_with_bad_json_is_an_error() {
    assert!(
        parse_query("Python 2.7\n")
            .unwrap_err()
            .contains("did not print")
    );
    let e = parse_query(&format!("{QUERY_TAG}{{\"version\": 3}}")).unwrap_err();
    assert!(e.contains("unreadable"), "{e}");
}

#[test]
fn defaults_prefer_the_built_version() {
    let unix = candidates(None, V311, false).unwrap();
    let labels: Vec<_> = unix.iter().map(Candidate::label).collect();
    assert_eq!(labels, ["python3.11", "python3", "python"]);
    let win = candidates(None, V311, true).unwrap();
    let labels: Vec<_> = win.iter().map(Candidate::label).collect();
    assert_eq!(labels, ["py -3.11", "python", "python3"]);
}

#[test]
fn a_configured_name_or_file_is_used_as_is() {
    let c = candidates(Some("python3.11"), V311, false).unwrap();
    assert_eq!(c, [Candidate::plain("python3.11")]);
    let c = candidates(Some("/no/such/python"), V311, false).unwrap();
    assert_eq!(c, [Candidate::plain("/no/such/python")]);
}

#[test]
fn a_configured_directory_is_a_venv_whose_python_is_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("bin")).unwrap();
    std::fs::create_dir_all(dir.path().join("Scripts")).unwrap();
    std::fs::write(dir.path().join("bin/python"), "").unwrap();
    std::fs::write(dir.path().join("Scripts/python.exe"), "").unwrap();
    let raw = dir.path().to_str().unwrap();
    let unix = candidates(Some(raw), V311, false).unwrap();
    assert_eq!(unix, [Candidate::plain(dir.path().join("bin/python"))]);
    let win = candidates(Some(raw), V311, true).unwrap();
    assert_eq!(
        win,
        [Candidate::plain(dir.path().join("Scripts/python.exe"))]
    );

    let empty = tempfile::tempdir().unwrap();
    let e = candidates(Some(empty.path().to_str().unwrap()), V311, false).unwrap_err();
    assert!(e.contains("holds no Python executable"), "{e}");
    assert!(e.contains("bin/python3"), "{e}");
}

#[test]
fn the_runtime_library_is_looked_for_in_libdir_then_by_name() {
    let found = parse_query(&format!("{QUERY_TAG}{}", described("3.11.7"))).unwrap();
    let c = runtime_library_candidates(&found, false);
    assert_eq!(
        c,
        [
            PathBuf::from("/opt/py/lib/libpython3.11.so.1.0"),
            PathBuf::from("/opt/py/lib/libpython3.11.so"),
            PathBuf::from("libpython3.11.so.1.0"),
            PathBuf::from("libpython3.11.so"),
        ]
    );
    let mut static_only = found.clone();
    static_only.instsoname = Some("libpython3.11.a".into());
    static_only.ldlibrary = Some("libpython3.11.a".into());
    assert!(runtime_library_candidates(&static_only, false).is_empty());

    let win = runtime_library_candidates(&found, true);
    assert_eq!(win[0], PathBuf::from("/opt/py/python311.dll"));
    assert_eq!(win[1], PathBuf::from("/opt/venv/bin/python311.dll"));
}

#[test]
fn a_mismatch_names_both_versions_and_what_to_install() {
    let found = parse_query(&format!("{QUERY_TAG}{}", described("3.12.1"))).unwrap();
    let e = mismatch(&found, V311, false);
    assert!(e.contains("embeds 64-bit CPython 3.11"), "{e}");
    assert!(e.contains("/opt/venv/bin/python is Python 3.12.1"), "{e}");
    assert!(e.contains("python3.11 -m venv"), "{e}");
    let e = mismatch(&found, V311, true);
    assert!(e.contains("py -3.11 -m venv C:\\mt5\\venv"), "{e}");
}

/// A stand-in interpreter: a shell script that answers the query like a Python would.
#[cfg(unix)]
fn script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_owned()
}

#[cfg(unix)]
#[test]
fn select_refuses_another_minor_version_and_reports_broken_interpreters() {
    let dir = tempfile::tempdir().unwrap();
    let answer = format!("echo '{QUERY_TAG}{}'", described("3.12.1"));
    let py312 = script(dir.path(), "py312", &answer);
    let e = select(Some(&py312), V311).unwrap_err();
    assert!(e.starts_with("Python version mismatch"), "{e}");
    assert!(e.contains("3.12.1"), "{e}");

    let answer = format!("echo '{QUERY_TAG}{}'", described("3.11.9"));
    let py311 = script(dir.path(), "py311", &answer);
    assert_eq!(select(Some(&py311), V311).unwrap().version, "3.11.9");

    let broken = script(
        dir.path(),
        "broken",
        "echo 'Fatal: no encodings' >&2; exit 3",
    );
    let e = select(Some(&broken), V311).unwrap_err();
    assert!(e.contains("exited with"), "{e}");
    assert!(e.contains("no encodings"), "{e}");

    let e = select(Some("/no/such/python3"), V311).unwrap_err();
    assert!(e.contains("/no/such/python3: not found"), "{e}");
}
