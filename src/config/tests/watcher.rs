//! The file watcher end to end: real files, real notify events.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;

use super::super::*;
use super::{Scratch, test_env};

const OLD: &str = "[policy]\nauto_approve_notional = \"1000\"\nmax_notional_per_trade = \"5000\"\n\
                   [streaming]\nquote_poll_interval_ms = 300\n";
const NEW: &str = "# edited\n[policy]\nauto_approve_notional = \"2000\"\n\
                   max_notional_per_trade = \"6000\"\n[streaming]\nquote_poll_interval_ms = 400\n";

struct Watched {
    s: Scratch,
    handle: ConfigHandle,
    guard: WatchGuard,
}

fn watched(contents: &str) -> Watched {
    let s = Scratch::new(contents);
    let loaded = s.load(&test_env(), CliOverrides::default()).unwrap();
    let handle = ConfigHandle::new(loaded.config);
    let guard = handle
        .watch(&s.path, CliOverrides::default(), test_env())
        .unwrap();
    Watched { s, handle, guard }
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn snapshot(c: &Config) -> (Decimal, Decimal, u64) {
    (
        c.policy.auto_approve_notional,
        c.policy.max_notional_per_trade,
        c.streaming.quote_poll_interval_ms,
    )
}

fn old() -> (Decimal, Decimal, u64) {
    (Decimal::from(1000), Decimal::from(5000), 300)
}

fn new() -> (Decimal, Decimal, u64) {
    (Decimal::from(2000), Decimal::from(6000), 400)
}

#[test]
fn a_valid_edit_is_applied() {
    let w = watched(OLD);
    std::fs::write(&w.s.path, NEW).unwrap();
    wait_until("reload", || w.handle.version() >= 1);
    assert_eq!(snapshot(&w.handle.current()), new());
    assert_eq!(w.guard.path(), w.s.path);
}

#[test]
fn a_broken_edit_keeps_the_previous_config_until_fixed() {
    let w = watched(OLD);
    std::fs::write(&w.s.path, "[policy]\nauto_approve_notional = \"-5\"\n").unwrap();
    wait_until("rejected reload", || w.guard.reload_attempts() >= 1);
    assert_eq!(w.handle.version(), 0);
    assert_eq!(snapshot(&w.handle.current()), old());

    std::fs::write(&w.s.path, NEW).unwrap();
    wait_until("reload", || w.handle.version() >= 1);
    assert_eq!(snapshot(&w.handle.current()), new());
}

#[test]
fn a_rename_over_the_file_is_applied() {
    let w = watched(OLD);
    let tmp = w.s.dir.path().join(".config.toml.swp");
    std::fs::write(&tmp, NEW).unwrap();
    std::fs::rename(&tmp, &w.s.path).unwrap();
    wait_until("reload", || w.handle.version() >= 1);
    assert_eq!(snapshot(&w.handle.current()), new());
}

#[test]
fn a_touch_reloads_without_changing_anything() {
    let w = watched(OLD);
    let f = std::fs::File::options()
        .write(true)
        .open(&w.s.path)
        .unwrap();
    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    wait_until("settled reload", || w.guard.reload_attempts() >= 1);
    assert_eq!(w.handle.version(), 0);
}

#[test]
fn other_files_in_the_directory_are_ignored() {
    let w = watched(OLD);
    std::fs::write(w.s.dir.path().join("other.toml"), "garbage = [").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(w.guard.reload_attempts(), 0);
}

/// Writes `NEW` over the file the way a naive editor does: truncate, then small chunks with
/// `gap` between them, optionally pausing after the truncation.
fn slow_save(path: std::path::PathBuf, pause_after_truncate: Duration, gap: Duration) {
    let mut f = std::fs::File::options()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    std::thread::sleep(pause_after_truncate);
    for chunk in NEW.as_bytes().chunks(7) {
        f.write_all(chunk).unwrap();
        std::thread::sleep(gap);
    }
}

fn assert_never_partial(pause_after_truncate: Duration) {
    let w = watched(OLD);
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let path = w.s.path.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            slow_save(path, pause_after_truncate, Duration::from_millis(5));
            done.store(true, Ordering::SeqCst);
        })
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    loop {
        let now = snapshot(&w.handle.current());
        if !seen.contains(&now) {
            seen.push(now);
        }
        if done.load(Ordering::SeqCst) && now == new() {
            break;
        }
        assert!(Instant::now() < deadline, "no reload; seen {seen:?}");
        // Far shorter than any reload cycle (QUIET + STABLE_GAP), so a transient exposure
        // could not slip between two polls.
        std::thread::sleep(Duration::from_millis(1));
    }
    writer.join().unwrap();
    assert_eq!(seen, [old(), new()], "a half-written file was exposed");
    assert_eq!(w.handle.version(), 1);
}

#[test]
fn a_truncate_then_slow_write_never_exposes_defaults_or_a_partial_file() {
    assert_never_partial(Duration::ZERO);
}

#[test]
fn an_empty_file_left_for_a_while_during_a_save_is_ignored() {
    // Longer than the quiet period plus the stability gap: the empty file is seen as
    // settled, and must still not be applied.
    assert_never_partial(Duration::from_millis(400));
}

#[test]
fn watching_a_path_in_a_missing_directory_fails_cleanly() {
    let handle = ConfigHandle::new(Config::with_data_dir(std::path::Path::new("/d")));
    let dir = tempfile::tempdir().unwrap();
    let err = handle
        .watch(
            dir.path().join("no/such/config.toml"),
            CliOverrides::default(),
            test_env(),
        )
        .unwrap_err();
    assert!(err.to_string().starts_with("cannot watch config "), "{err}");
}

#[cfg(unix)]
#[test]
fn a_symlinked_config_reloads_when_its_target_changes() {
    let target_dir = tempfile::tempdir().unwrap();
    let target = target_dir.path().join("real.toml");
    std::fs::write(&target, OLD).unwrap();
    let link_dir = tempfile::tempdir().unwrap();
    let link = link_dir.path().join("config.toml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let opts = LoadOptions {
        config_path: Some(link.clone()),
        ..Default::default()
    };
    let handle = ConfigHandle::new(load(&opts, &test_env()).unwrap().config);
    let _guard = handle
        .watch(&link, CliOverrides::default(), test_env())
        .unwrap();
    std::fs::write(&target, NEW).unwrap();
    wait_until("reload through the symlink", || handle.version() >= 1);
    assert_eq!(snapshot(&handle.current()), new());
}
