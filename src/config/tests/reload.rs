//! Reload decisions without the file watcher: what a settled file content does to the live
//! config.

use rust_decimal::Decimal;

use super::super::watch::{Outcome, Reloader};
use super::super::*;
use super::{Scratch, env_with, test_env};

const GOOD: &str = "[policy]\nauto_approve_notional = 1000\n[transport.http]\nport = 9000\n";

fn reloader(env: EnvSnapshot, cli: CliOverrides) -> (Scratch, Reloader) {
    let s = Scratch::new(GOOD);
    let loaded = s.load(&env, cli).unwrap();
    let r = Reloader {
        handle: ConfigHandle::new(loaded.config),
        path: s.path.clone(),
        cli,
        env,
    };
    (s, r)
}

#[test]
fn a_valid_edit_is_applied_and_names_the_changed_keys() {
    let (_s, r) = reloader(test_env(), CliOverrides::default());
    let out = r.apply(b"[policy]\nauto_approve_notional = 2000\n[transport.http]\nport = 9001\n");
    assert!(
        matches!(&out, Outcome::Applied(k) if k == &["policy.auto_approve_notional", "transport.http.port"]),
        "{out:?}"
    );
    assert_eq!(r.handle.version(), 1);
    let c = r.handle.current();
    assert_eq!(c.policy.auto_approve_notional, Decimal::from(2000));
    assert_eq!(c.transport.http.port, 9001);
}

#[test]
fn a_broken_edit_keeps_the_previous_config() {
    let (_s, r) = reloader(test_env(), CliOverrides::default());
    let before = r.handle.current();
    for broken in [
        &b"[policy]\nauto_approve_notional = \n"[..],
        b"[policy]\nauto_aprove_notional = 5\n",
        b"[policy]\napproval_ttl_seconds = 0\n",
        b"\xff\xfe garbage",
    ] {
        assert!(matches!(r.apply(broken), Outcome::Failed(_)));
        assert_eq!(r.handle.version(), 0);
        assert_eq!(*r.handle.current(), *before);
    }
}

#[test]
fn a_blank_file_is_a_save_in_progress_and_ignored() {
    let (_s, r) = reloader(test_env(), CliOverrides::default());
    for blank in [
        &b""[..],
        b"   \n\t\r\n",
        b"\xEF\xBB\xBF",
        b"\xEF\xBB\xBF \n",
    ] {
        assert!(matches!(r.apply(blank), Outcome::Blank));
    }
    assert_eq!(r.handle.version(), 0);
    assert_eq!(
        r.handle.current().policy.auto_approve_notional,
        Decimal::from(1000)
    );
}

#[test]
fn a_comment_only_file_resets_to_defaults() {
    let (_s, r) = reloader(test_env(), CliOverrides::default());
    assert!(matches!(r.apply(b"# reset\n"), Outcome::Applied(_)));
    assert_eq!(
        r.handle.current().policy.auto_approve_notional,
        Decimal::ZERO
    );
}

#[test]
fn an_edit_that_changes_nothing_effective_does_not_bump_the_version() {
    let (_s, r) = reloader(test_env(), CliOverrides::default());
    let same = format!("# a comment\n{GOOD}");
    assert!(matches!(r.apply(same.as_bytes()), Outcome::Unchanged));
    assert_eq!(r.handle.version(), 0);
}

#[test]
fn env_overlays_are_re_applied_on_reload() {
    let env = env_with(&[("MT5_LOGIN", "777"), ("MT5_MCP_LOG_LEVEL", "info")]);
    let (_s, r) = reloader(env, CliOverrides::default());
    let out = r.apply(
        b"[mt5]\nlogin = 1\n[logging]\nlevel = \"ERROR\"\n[policy]\nmax_daily_loss = 3\n\
          [transport.http]\nport = 9000\n",
    );
    assert!(
        matches!(&out, Outcome::Applied(k) if k == &["policy.auto_approve_notional", "policy.max_daily_loss"]),
        "{out:?}"
    );
    let c = r.handle.current();
    assert_eq!(c.mt5.login, Some(777));
    assert_eq!(c.logging.level, LogLevel::Info);
}

#[test]
fn cli_overrides_still_win_after_reload() {
    let cli = CliOverrides {
        stateless: Some(false),
        log_level: Some(LogLevel::Debug),
        eager_connect: Some(false),
        backend: Some(BackendChoice::Sim),
    };
    let (_s, r) = reloader(env_with(&[("MT5_MCP_LOG_LEVEL", "ERROR")]), cli);
    let out = r.apply(
        b"[transport.http]\nstateless = true\nport = 9000\n[logging]\nlevel = \"INFO\"\n\
          [mt5]\neager_connect = true\nbackend = \"native\"\n[policy]\nauto_approve_notional = 5\n",
    );
    assert!(
        matches!(&out, Outcome::Applied(k) if k == &["policy.auto_approve_notional"]),
        "{out:?}"
    );
    let c = r.handle.current();
    assert!(!c.transport.http.stateless);
    assert_eq!(c.logging.level, LogLevel::Debug);
    assert!(!c.mt5.eager_connect);
    assert_eq!(c.mt5.backend, BackendChoice::Sim);
}

#[tokio::test]
async fn subscribers_wake_on_each_replacement() {
    let handle = ConfigHandle::new(Config::with_data_dir(std::path::Path::new("/d")));
    let mut rx = handle.subscribe();
    let h2 = handle.clone();
    let task = tokio::spawn(async move {
        rx.changed().await.unwrap();
        *rx.borrow()
    });
    let mut c = (*handle.current()).clone();
    c.policy.max_daily_loss = Decimal::ONE;
    assert_eq!(h2.replace(c), 1);
    assert_eq!(task.await.unwrap(), 1);
    assert_eq!(handle.current().policy.max_daily_loss, Decimal::ONE);
}
