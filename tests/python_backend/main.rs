//! End to end: the real binary on the `native` and `bridge` backends, embedding the real
//! CPython through `mt5-mcp-py`, driving small purpose-built library modules.
//!
//! Needs `cargo build --workspace` (the library beside the binary) and the Python the
//! library was built for (`PYO3_PYTHON`, as scripts/test.sh exports it).
#![cfg(feature = "python")]

#[path = "../common/mod.rs"]
mod common;
mod libraries;
mod sandbox;

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use sandbox::{PySandbox, python, why};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[tokio::test]
async fn the_library_serves_account_quotes_and_bars_through_embedded_python() {
    let py = PySandbox::new(libraries::BASE);
    let (client, logs) = py.serve().await;

    let acct = ok(&call(&client, "get_account_info", json!({})).await);
    assert_eq!(acct["login"], json!(31337));
    assert_eq!(acct["name"], json!("Test Holder"));
    assert_eq!(acct["balance"], json!("5000.0"));
    assert_eq!(acct["margin_mode"], json!("retail_hedging"));

    let term = ok(&call(&client, "get_terminal_info", json!({})).await);
    assert_eq!(term["build"], json!(4410));
    assert_eq!(term["connected"], json!(true));
    assert_eq!(term["broker_tz_offset_minutes"], json!(0));

    let q = ok(&call(&client, "get_quote", json!({"symbol": "EURUSD"})).await);
    assert_eq!(dec(&q["bid"]), 1.08);
    assert_eq!(dec(&q["ask"]), 1.08012);
    let e = err(&call(&client, "get_quote", json!({"symbol": "NOPE"})).await);
    assert_eq!(e["code"], json!("SYMBOL_NOT_FOUND"));

    let bars = ok_list(
        &call(
            &client,
            "get_rates",
            json!({"symbol": "EURUSD", "timeframe": "M1", "count": 3}),
        )
        .await,
    );
    assert_eq!(bars.len(), 3);
    // Most recent first; the library's newest row is i = 0.
    assert_eq!(dec(&bars[0]["open"]), 1.0);
    assert_eq!(dec(&bars[0]["high"]), 2.0);
    assert_eq!(dec(&bars[2]["close"]), 3.5);
    assert_eq!(bars[2]["tick_volume"], json!(12));
    assert_eq!(bars[0]["spread"], json!(3));
    assert!(utc(&bars[0]["time"]) > utc(&bars[1]["time"]));
    assert!(logs.contains("embedded Python started"));

    // Upstream's argument shapes reached the library.
    let calls = py.calls();
    let rates = calls
        .iter()
        .find(|c| c["fn"] == "copy_rates_from_pos")
        .unwrap();
    assert_eq!(rates["args"], json!(["EURUSD", 1, 0, 3]));
    let init = calls.iter().find(|c| c["fn"] == "initialize").unwrap();
    assert_eq!(init["args"], json!([]));
    assert_eq!(
        init["kwargs"],
        json!([]),
        "no login configured: bare attach"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn history_bounds_reach_the_library_as_integers() {
    let py = PySandbox::new(libraries::BASE);
    let (client, _) = py.serve().await;
    let deals = ok_list(
        &call(
            &client,
            "get_history",
            json!({"from_ts": "2026-01-01T00:00:00Z", "to_ts": "2026-01-02T00:00:00Z"}),
        )
        .await,
    );
    assert!(deals.is_empty());
    let calls = py.calls();
    let h = calls
        .iter()
        .find(|c| c["fn"] == "history_deals_get")
        .expect("history_deals_get called");
    assert_eq!(h["args"][0], json!(1_767_225_600), "broker offset is 0");
    assert_eq!(h["args"][1], json!(1_767_312_000));
    assert_eq!(h["args"][2], json!("int"));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn initialize_gets_login_keywords_only_when_a_password_is_known() {
    let py = PySandbox::with_config(libraries::BASE, "")
        .env("MT5_LOGIN", "777")
        .env("MT5_SERVER", "Test-Server");
    let (client, _) = py.serve().await;
    ok(&call(&client, "get_account_info", json!({})).await);
    client.cancel().await.unwrap();
    let calls = py.calls();
    let init = calls.iter().find(|c| c["fn"] == "initialize").unwrap();
    assert_eq!(
        init["kwargs"],
        json!([]),
        "login without password: bare attach"
    );

    let py = PySandbox::with_config(libraries::BASE, "")
        .env("MT5_LOGIN", "777")
        .env("MT5_PASSWORD", "s3cret")
        .env("MT5_SERVER", "Test-Server");
    let (client, logs) = py.serve().await;
    ok(&call(&client, "get_account_info", json!({})).await);
    client.cancel().await.unwrap();
    let calls = py.calls();
    let init = calls.iter().find(|c| c["fn"] == "initialize").unwrap();
    assert_eq!(init["args"], json!([]));
    assert_eq!(init["kwargs"], json!(["login", "password", "server"]));
    assert!(
        !logs.contains("s3cret"),
        "the password never reaches the log"
    );

    let path = r"C:\Program Files\MetaTrader 5\terminal64.exe";
    let py = PySandbox::with_config(libraries::BASE, &format!("terminal_path = '{path}'"));
    let (client, _) = py.serve().await;
    ok(&call(&client, "get_account_info", json!({})).await);
    client.cancel().await.unwrap();
    let calls = py.calls();
    let init = calls.iter().find(|c| c["fn"] == "initialize").unwrap();
    assert_eq!(
        init["args"],
        json!([path]),
        "the terminal path is positional"
    );
    assert_eq!(init["kwargs"], json!([]));
}

#[tokio::test]
async fn library_prints_never_reach_the_json_rpc_stream() {
    let py = PySandbox::new(&libraries::with(libraries::CHATTY));
    let mut child = py
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let errors = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Ok(Some(line)) = stderr.next_line().await {
            all.push(line);
        }
        all
    });
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
               "params": {"name": "get_account_info", "arguments": {}}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
               "params": {"name": "get_quote", "arguments": {"symbol": "EURUSD"}}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
               "params": {"name": "get_rates", "arguments": {"symbol": "EURUSD", "timeframe": "M1", "count": 2}}}),
    ];
    for r in &requests {
        stdin.write_all(format!("{r}\n").as_bytes()).await.unwrap();
    }
    stdin.flush().await.unwrap();
    let mut answered = std::collections::BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while answered.len() < 4 && Instant::now() < deadline {
        let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .expect("a reply in time")
            .unwrap()
            .expect("stdout open");
        let msg: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout carried a non-JSON line ({e}): {line:?}"));
        assert_eq!(msg["jsonrpc"], json!("2.0"), "{line}");
        if let Some(id) = msg["id"].as_i64() {
            answered.insert(id, msg);
        }
    }
    for id in 2..=4 {
        let result = &answered[&id]["result"];
        assert_ne!(result["isError"], json!(true), "call {id}: {result}");
    }
    drop(stdin);
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    let _ = child.kill().await;
    let logged = errors.await.unwrap().join("\n");
    for marker in [
        "CHATTY-IMPORT print",
        "CHATTY-IMPORT __stdout__",
        "CHATTY-IMPORT fd1",
        "CHATTY-CALL account_info",
        "CHATTY-CALL fd1",
    ] {
        assert!(
            logged.contains(marker),
            "{marker} went to stderr:\n{logged}"
        );
    }
}

#[tokio::test]
async fn a_hanging_call_times_out_the_backend_fails_fast_then_recovers() {
    let py = PySandbox::new(&libraries::with(libraries::HANGS)).env("PYLIB_HANG_SECONDS", "13");
    let (client, _) = py.serve().await;
    ok(&call(&client, "get_account_info", json!({})).await);
    let client = Arc::new(client);

    let started = Instant::now();
    let hanging = {
        let client = Arc::clone(&client);
        tokio::spawn(async move { call(&client, "get_quote", json!({"symbol": "HANG"})).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The server itself keeps answering while the Python thread is blocked.
    let t = Instant::now();
    let tools = client.list_all_tools().await.unwrap();
    assert!(!tools.is_empty());
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "tools/list answered promptly"
    );

    let e = err(&hanging.await.unwrap());
    let waited = started.elapsed();
    assert_eq!(e["code"], json!("TERMINAL_NOT_CONNECTED"));
    assert!(
        why(&e).contains("symbol_info_tick() did not return within 10s"),
        "{e}"
    );
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(13),
        "{waited:?}"
    );

    // While the call is stuck, other terminal calls fail at once and say why.
    let t = Instant::now();
    let e = err(&call(&client, "get_account_info", json!({})).await);
    assert!(t.elapsed() < Duration::from_secs(2), "failed fast");
    assert_eq!(e["code"], json!("TERMINAL_NOT_CONNECTED"));
    assert!(
        why(&e).contains("stuck: symbol_info_tick() has been running since"),
        "{e}"
    );

    // Once the library returns, the backend is healthy again.
    tokio::time::sleep(
        Duration::from_secs(13).saturating_sub(started.elapsed()) + Duration::from_millis(500),
    )
    .await;
    let acct = ok(&call(&client, "get_account_info", json!({})).await);
    assert_eq!(acct["login"], json!(31337));
}

#[tokio::test]
async fn a_lost_ipc_link_is_reconnected_once_and_the_call_repeated() {
    let flag = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let flag_path = flag.to_str().unwrap().to_owned();
    std::fs::remove_file(&flag).unwrap();
    let py =
        PySandbox::new(&libraries::with(libraries::DROPS_LINK)).env("PYLIB_DROP_FLAG", &flag_path);
    let (client, _) = py.serve().await;
    ok(&call(&client, "get_account_info", json!({})).await);
    let inits = |py: &PySandbox| {
        py.calls()
            .iter()
            .filter(|c| c["fn"] == "initialize")
            .count()
    };
    assert_eq!(inits(&py), 1);

    std::fs::write(&flag_path, "").unwrap();
    let acct = ok(&call(&client, "get_account_info", json!({})).await);
    assert_eq!(acct["login"], json!(31337));
    assert_eq!(inits(&py), 2, "one reconnect");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_library_exception_is_a_typed_error_naming_it_and_serving_goes_on() {
    let py = PySandbox::new(&libraries::with(libraries::RAISES));
    let (client, _) = py.serve().await;
    let e = err(&call(&client, "get_quote", json!({"symbol": "EURUSD"})).await);
    assert_eq!(e["code"], json!("TERMINAL_NOT_CONNECTED"));
    assert_eq!(
        why(&e),
        "MetaTrader5.symbol_info_tick() raised RuntimeError: tick feed exploded"
    );
    ok(&call(&client, "get_account_info", json!({})).await);
    ok(&call(&client, "get_quote", json!({"symbol": "HANG"})).await);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_failed_initialize_reports_the_libraries_last_error() {
    let py = PySandbox::new(&libraries::with(libraries::INIT_FAILS));
    let (client, _) = py.serve().await;
    let e = err(&call(&client, "get_account_info", json!({})).await);
    assert_eq!(e["code"], json!("TERMINAL_NOT_CONNECTED"));
    assert_eq!(e["details"]["why"], json!("initialize returned False"));
    assert_eq!(
        e["details"]["raw_error"],
        json!([-6, "Terminal: Authorization failed"])
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_missing_library_says_what_to_install_and_the_server_still_answers() {
    let py = PySandbox::new(libraries::BASE);
    std::fs::remove_file(py.libdir().join("MetaTrader5.py")).unwrap();
    let (client, _) = py.serve().await;
    let ping = ok(&call(&client, "ping", json!({})).await);
    assert_eq!(ping["ok"], json!(false));
    let e = err(&call(&client, "get_account_info", json!({})).await);
    assert_eq!(e["code"], json!("TERMINAL_NOT_CONNECTED"));
    let w = why(&e);
    assert!(
        w.contains("MetaTrader5 Python package is not installed"),
        "{w}"
    );
    assert!(w.contains("-m pip install MetaTrader5"), "{w}");

    // Installing it later needs no restart.
    std::fs::write(py.libdir().join("MetaTrader5.py"), libraries::BASE).unwrap();
    let acct = ok(&call(&client, "get_account_info", json!({})).await);
    assert_eq!(acct["login"], json!(31337));
    client.cancel().await.unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn a_python_of_another_version_is_refused_at_startup_with_both_versions_named() {
    use std::os::unix::fs::PermissionsExt;
    let mut py = PySandbox::new(libraries::BASE);
    let fake = py.sb.path().join("python3.99");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'MT5MCP-PYTHON-QUERY:{\"version\": \"3.99.1\", \"implementation\": \"cpython\", \
         \"pointer_bits\": 64, \"executable\": \"/opt/py399/bin/python\", \"prefix\": \"/opt/py399\", \
         \"base_prefix\": \"/opt/py399\", \"libdir\": null, \"ldlibrary\": null, \"instsoname\": null, \
         \"shared\": true, \"site_packages\": []}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    py.python = fake.to_str().unwrap().to_owned();
    let (client, logs) = py.serve().await;
    assert!(
        logs.wait_for("Python version mismatch").await,
        "an ERROR line at startup"
    );
    assert!(logs.contains("ERROR"));
    let e = err(&call(&client, "get_account_info", json!({})).await);
    let w = why(&e);
    assert!(
        w.starts_with("Python version mismatch: this mt5-mcp build embeds 64-bit CPython 3."),
        "{w}"
    );
    assert!(w.contains("/opt/py399/bin/python is Python 3.99.1"), "{w}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_venv_named_in_the_config_provides_its_site_packages() {
    let py = PySandbox::new(libraries::BASE);
    std::fs::remove_file(py.libdir().join("MetaTrader5.py")).unwrap();
    let venv = py.sb.path().join("venv");
    let made = std::process::Command::new(python())
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(made.success());
    let bin = if cfg!(windows) {
        "Scripts/python.exe"
    } else {
        "bin/python"
    };
    let out = std::process::Command::new(venv.join(bin))
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .unwrap();
    let site = String::from_utf8(out.stdout).unwrap();
    std::fs::write(
        Path::new(site.trim()).join("MetaTrader5.py"),
        libraries::BASE,
    )
    .unwrap();

    let mut py = py;
    py.python = venv.to_str().unwrap().to_owned();
    let (client, logs) = py.serve().await;
    let acct = ok(&call(&client, "get_account_info", json!({})).await);
    assert_eq!(acct["login"], json!(31337));
    assert!(
        logs.contains(&format!("prefix=\"{}\"", venv.display())),
        "sys.prefix is the venv"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn the_bridge_connects_to_the_configured_address_or_says_it_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accept = std::thread::spawn(move || {
        let _conn = listener.accept();
        std::thread::sleep(Duration::from_secs(20));
    });
    let config = format!("[mt5.bridge]\nhost = \"127.0.0.1\"\nport = {port}\n");
    let mut py = PySandbox::with_config(libraries::BASE, &config);
    std::fs::write(py.libdir().join("mt5linux.py"), libraries::MT5LINUX).unwrap();
    py.backend = "bridge";
    let (client, _) = py.serve().await;
    let acct = ok(&call(&client, "get_account_info", json!({})).await);
    assert_eq!(acct["login"], json!(31337));
    let connect = py
        .calls()
        .into_iter()
        .find(|c| c["fn"] == "bridge_connect")
        .unwrap();
    assert_eq!(connect["args"], json!(["127.0.0.1", port]));
    client.cancel().await.unwrap();
    drop(accept);

    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap().port();
    drop(closed);
    let config = format!("[mt5.bridge]\nhost = \"127.0.0.1\"\nport = {dead}\n");
    let mut py = PySandbox::with_config(libraries::BASE, &config);
    std::fs::write(py.libdir().join("mt5linux.py"), libraries::MT5LINUX).unwrap();
    py.backend = "bridge";
    let (client, _) = py.serve().await;
    let e = err(&call(&client, "get_account_info", json!({})).await);
    let w = why(&e);
    assert!(
        w.starts_with(&format!(
            "bridge at 127.0.0.1:{dead} unreachable: ConnectionRefusedError"
        )),
        "{w}"
    );
    client.cancel().await.unwrap();
}

/// A second installation of the same Python version (Debian's `/usr/bin/python3.11` beside
/// a pyenv build here): the library's build-time RUNPATH points at the build Python, yet
/// the chosen interpreter's own runtime library is the one embedded, as it must be for a
/// shipped binary. Skipped (with a note) on machines without a second installation.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn another_installation_of_the_same_version_embeds_its_own_runtime() {
    let build = std::fs::canonicalize(python()).unwrap();
    let version = std::process::Command::new(&build)
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .unwrap();
    let version = String::from_utf8(version.stdout).unwrap().trim().to_owned();
    let other = ["/usr/bin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(format!("python{version}")))
        .find(|p| std::fs::canonicalize(p).is_ok_and(|real| real != build));
    let Some(other) = other else {
        eprintln!("no second Python {version} installation: nothing to check");
        return;
    };
    let prefix = std::process::Command::new(&other)
        .args(["-c", "import sys; print(sys.base_prefix)"])
        .output()
        .unwrap();
    let prefix = String::from_utf8(prefix.stdout).unwrap().trim().to_owned();
    let mut py = PySandbox::new(libraries::BASE);
    py.python = other.to_str().unwrap().to_owned();
    let (client, logs) = py.serve().await;
    match call(&client, "get_account_info", json!({})).await {
        r if r.is_error == Some(true) => {
            // Only acceptable failure: that installation ships no shared libpython.
            let w = why(&err(&r));
            assert!(w.contains("cannot load the shared libpython"), "{w}");
        }
        r => {
            assert_eq!(ok(&r)["login"], json!(31337));
            assert!(
                logs.contains(&format!("prefix=\"{prefix}\"")),
                "embedded {}",
                other.display()
            );
        }
    }
    client.cancel().await.unwrap();
}
