//! The audit log: one compact JSON object per line, appended to `[audit] path`.
//!
//! The log is what a human reads to learn what the server did with their money, so each line
//! is written whole (one `write` of the complete line on an append-mode file, which also keeps
//! lines from two processes sharing the file from interleaving) and the file is readable by
//! its owner only. Format follows upstream (reference §3.6): `ts` first (UTC, microseconds
//! unless zero, `Z`), then `tool`, `action` and the event's keys in the order given, with
//! non-ASCII escaped as `\uXXXX`.
//!
//! # Events
//!
//! `tool` is the trading tool's name; `action` names the event:
//!
//! | action | keys after `action`, in order | when |
//! |---|---|---|
//! | `replay` | idempotency_key, request_hash | idempotency hit with the same hash |
//! | `idempotency_diverged` | idempotency_key, request_hash | same key, different request |
//! | `invalid_approval` | [request_id,] request_hash[, reason] | confirmed retry refused |
//! | `preflight_refused` | request_hash, limit_name | a local limit or the order-rate cap |
//! | `requires_approval` | request_id, request_hash | a preview was issued |
//! | `intent` | request_hash, idempotency_key, tag, request | just before `order_send`; `request` is the order dict about to be sent. Written with [`AuditLog::write_durable`]: after a crash this line is the record that a send may have happened |
//! | `executed` | request_hash, ticket, duration_ms, result_status | after `order_send` returned |
//! | `outcome_unknown` | request_hash, reason | the send's outcome could not be established |
//! | `reconciled` | request_hash, idempotency_key, ticket, source | a lost outcome was recovered from the broker |
//! | `error` | request_hash, exception_type | the call failed inside the guard |
//!
//! # Rotation
//!
//! After a write leaves the file at `max_bytes` or more, it is renamed to `<name>.<unix
//! seconds>` (`<name>.<secs>.1`, `.2`, ... if taken) and a fresh file is opened; the line that
//! crossed the threshold is the last line of the rotated file. Nothing is compressed or
//! deleted.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::hash::{write_json, write_json_string};
use crate::model::time::format_utc;

/// The append-only JSONL audit log. `Send + Sync`; writes are serialised by a mutex.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    max_bytes: u64,
    /// `None` after an I/O error: the next write reopens the file.
    file: Mutex<Option<File>>,
}

impl AuditLog {
    /// Opens `path` for appending (creating it and its parent directories), owner-only.
    pub fn open(path: &Path, max_bytes: u64) -> io::Result<Self> {
        super::create_parent_dirs(path)?;
        let file = open_append(path)?;
        Ok(AuditLog {
            path: path.to_owned(),
            max_bytes,
            file: Mutex::new(Some(file)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event line.
    pub fn write(&self, tool: &str, action: &str, extra: &[(&str, Value)]) -> io::Result<()> {
        self.append(Utc::now(), tool, action, extra, false)
    }

    /// Appends one event line and waits until it is on disk (`fdatasync`). For lines that
    /// must survive a crash of the very next step, such as `intent` before `order_send`: if
    /// this fails, the caller should not send.
    pub fn write_durable(
        &self,
        tool: &str,
        action: &str,
        extra: &[(&str, Value)],
    ) -> io::Result<()> {
        self.append(Utc::now(), tool, action, extra, true)
    }

    fn append(
        &self,
        now: DateTime<Utc>,
        tool: &str,
        action: &str,
        extra: &[(&str, Value)],
        durable: bool,
    ) -> io::Result<()> {
        let line = render_line(now, tool, action, extra);
        let mut slot = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(open_append(&self.path)?);
        }
        let file = slot.as_mut().expect("opened above");
        let written = file
            .write_all(line.as_bytes())
            .and_then(|()| file.flush())
            .and_then(|()| if durable { file.sync_data() } else { Ok(()) });
        if let Err(e) = written {
            // Drop the handle: the next write gets one fresh attempt at opening the file.
            *slot = None;
            return Err(e);
        }
        // The line is written; a rotation problem must not make the caller think otherwise.
        if let Err(e) = self.rotate_if_full(&mut slot, now.timestamp()) {
            tracing::warn!(path = %self.path.display(), error = %e, "audit log rotation failed");
        }
        Ok(())
    }

    fn rotate_if_full(&self, slot: &mut Option<File>, epoch: i64) -> io::Result<()> {
        let Some(file) = slot.as_ref() else {
            return Ok(());
        };
        if file.metadata()?.len() < self.max_bytes {
            return Ok(());
        }
        if !still_at_path(file, &self.path) {
            // Another process sharing the file rotated it already; follow it.
            *slot = Some(open_append(&self.path)?);
            return Ok(());
        }
        *slot = None;
        let target = free_rotation_name(&self.path, epoch);
        let renamed = std::fs::rename(&self.path, &target);
        // Reopen whatever happened, so that logging continues.
        *slot = Some(open_append(&self.path)?);
        renamed
    }
}

/// `{"ts":..,"tool":..,"action":..,<extra>}` plus a newline.
fn render_line(now: DateTime<Utc>, tool: &str, action: &str, extra: &[(&str, Value)]) -> String {
    let mut out = String::with_capacity(128);
    out.push_str("{\"ts\":");
    write_json_string(&mut out, &format_utc(now));
    out.push_str(",\"tool\":");
    write_json_string(&mut out, tool);
    out.push_str(",\"action\":");
    write_json_string(&mut out, action);
    for (key, value) in extra {
        out.push(',');
        write_json_string(&mut out, key);
        out.push(':');
        write_json(&mut out, value, false);
    }
    out.push_str("}\n");
    out
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path)?;
    // Every open, so a file created by an older version or another tool is tightened too.
    super::restrict_to_owner(path)?;
    Ok(file)
}

/// Whether `path` still names the file behind `file` (false once someone renamed it away).
#[cfg(unix)]
fn still_at_path(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn still_at_path(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// `<name>.<epoch>`, or the first free `<name>.<epoch>.<n>`.
fn free_rotation_name(path: &Path, epoch: i64) -> PathBuf {
    let with_suffix = |suffix: String| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let first = with_suffix(format!(".{epoch}"));
    if !first.exists() {
        return first;
    }
    (1u64..)
        .map(|n| with_suffix(format!(".{epoch}.{n}")))
        .find(|p| !p.exists())
        .expect("an unbounded range yields a free name")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn at(secs: i64, micros: u32) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, micros * 1000).unwrap()
    }

    /// now, tool, action, extra keys, expected line.
    type LineCase = (
        DateTime<Utc>,
        &'static str,
        &'static str,
        Vec<(&'static str, Value)>,
        &'static str,
    );

    #[test]
    fn line_format_and_key_order() {
        let table: &[LineCase] = &[
            (
                at(1_795_482_058, 269_069),
                "place_order",
                "replay",
                vec![
                    ("idempotency_key", json!("k1")),
                    ("request_hash", json!("sha256:ab")),
                ],
                r#"{"ts":"2026-11-24T01:00:58.269069Z","tool":"place_order","action":"replay","idempotency_key":"k1","request_hash":"sha256:ab"}"#,
            ),
            (
                at(1_776_765_600, 0),
                "close_position",
                "executed",
                vec![
                    ("request_hash", json!("h")),
                    ("ticket", Value::Null),
                    ("duration_ms", json!(12)),
                    ("result_status", json!("rejected")),
                ],
                r#"{"ts":"2026-04-21T10:00:00Z","tool":"close_position","action":"executed","request_hash":"h","ticket":null,"duration_ms":12,"result_status":"rejected"}"#,
            ),
            (
                // Nested objects keep their order (not sorted); non-ASCII is escaped.
                at(1_776_765_600, 5),
                "place_order",
                "intent",
                vec![
                    ("request_hash", json!("h")),
                    ("idempotency_key", json!("ключ")),
                    ("tag", json!(123)),
                    (
                        "request",
                        json!({"action": 1, "symbol": "EURUSD", "volume": 0.1, "comment": "é"}),
                    ),
                ],
                r#"{"ts":"2026-04-21T10:00:00.000005Z","tool":"place_order","action":"intent","request_hash":"h","idempotency_key":"\u043a\u043b\u044e\u0447","tag":123,"request":{"action":1,"symbol":"EURUSD","volume":0.1,"comment":"\u00e9"}}"#,
            ),
            (
                at(0, 0),
                "t\"q",
                "a\nb",
                vec![],
                r#"{"ts":"1970-01-01T00:00:00Z","tool":"t\"q","action":"a\nb"}"#,
            ),
        ];
        for (now, tool, action, extra, expected) in table {
            let line = render_line(*now, tool, action, extra);
            assert_eq!(line, format!("{expected}\n"));
            let parsed: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(parsed["tool"], json!(tool));
        }
    }

    #[test]
    fn appends_to_an_existing_file_and_creates_parents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/audit.jsonl");
        {
            let log = AuditLog::open(&path, 1 << 20).unwrap();
            log.write("cancel_order", "error", &[("exception_type", json!("X"))])
                .unwrap();
        }
        let log = AuditLog::open(&path, 1 << 20).unwrap();
        log.write_durable("cancel_order", "intent", &[("tag", json!(1))])
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let actions: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["action"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(actions, ["error", "intent"]);
    }

    #[cfg(unix)]
    #[test]
    fn file_is_private_on_every_open() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let log = AuditLog::open(&path, 10).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        // A rotation reopens a fresh file; it is private as well.
        log.append(
            at(1_000, 0),
            "t",
            "a",
            &[("pad", json!("0123456789"))],
            false,
        )
        .unwrap();
        assert_eq!(mode(&dir.path().join("audit.jsonl.1000")), 0o600);
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn rotation_threshold_and_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let line_len = render_line(at(2_000, 0), "t", "a", &[]).len() as u64;
        // Threshold: exactly two lines. The first stays; the second crosses and is rotated.
        let log = AuditLog::open(&path, 2 * line_len).unwrap();
        log.append(at(2_000, 0), "t", "a", &[], false).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
        log.append(at(2_000, 0), "t", "a", &[], false).unwrap();
        let rotated = dir.path().join("audit.jsonl.2000");
        assert_eq!(
            std::fs::read_to_string(&rotated).unwrap().lines().count(),
            2
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");

        // Same second again, twice: `.1` then `.2`.
        for expected in ["audit.jsonl.2000.1", "audit.jsonl.2000.2"] {
            log.append(at(2_000, 0), "t", "a", &[], false).unwrap();
            log.append(at(2_000, 0), "t", "a", &[], false).unwrap();
            assert!(dir.path().join(expected).exists(), "{expected}");
        }
        // Untouched earlier rotations.
        assert_eq!(
            std::fs::read_to_string(&rotated).unwrap().lines().count(),
            2
        );
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "audit.jsonl",
                "audit.jsonl.2000",
                "audit.jsonl.2000.1",
                "audit.jsonl.2000.2"
            ]
        );
    }

    #[test]
    fn below_threshold_does_not_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let line_len = render_line(at(3_000, 0), "t", "a", &[]).len() as u64;
        let log = AuditLog::open(&path, 2 * line_len + 1).unwrap();
        log.append(at(3_000, 0), "t", "a", &[], false).unwrap();
        log.append(at(3_000, 0), "t", "a", &[], false).unwrap();
        assert!(!dir.path().join("audit.jsonl.3000").exists());
        log.append(at(3_000, 0), "t", "a", &[], false).unwrap();
        assert!(dir.path().join("audit.jsonl.3000").exists());
    }

    #[test]
    fn follows_a_rotation_done_by_another_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let line_len = render_line(at(4_000, 0), "t", "a", &[]).len() as u64;
        let a = AuditLog::open(&path, 2 * line_len).unwrap();
        let b = AuditLog::open(&path, 2 * line_len).unwrap();
        a.append(at(4_000, 0), "t", "a", &[], false).unwrap();
        b.append(at(4_000, 0), "t", "a", &[], false).unwrap(); // crosses: b rotates
        // a's handle now points at the rotated file; its next line lands there, crosses the
        // threshold, and a must reopen the live file rather than rotate b's fresh one.
        a.append(at(4_001, 0), "t", "a", &[], false).unwrap();
        assert!(!dir.path().join("audit.jsonl.4001").exists());
        b.append(at(4_001, 0), "t", "b", &[], false).unwrap();
        a.append(at(4_001, 0), "t", "c", &[], false).unwrap();
        let live = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            live.lines().count(),
            0,
            "b's and a's lines crossed and rotated"
        );
        let rotated = std::fs::read_to_string(dir.path().join("audit.jsonl.4001")).unwrap();
        assert_eq!(rotated.lines().count(), 2);
    }

    #[test]
    fn reopens_after_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, 1 << 20).unwrap();
        // Simulate a failed write: the handle is gone, as after an error.
        *log.file.lock().unwrap() = None;
        std::fs::remove_file(&path).unwrap();
        log.write("t", "after_error", &[]).unwrap();
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("after_error")
        );
        // When reopening fails, the write reports it, and a later write tries again.
        *log.file.lock().unwrap() = None;
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        assert!(log.write("t", "lost", &[]).is_err());
        std::fs::remove_dir(&path).unwrap();
        log.write("t", "recovered", &[]).unwrap();
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("recovered")
        );
    }

    #[test]
    fn concurrent_writers_produce_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let shared = Arc::new(AuditLog::open(&path, u64::MAX).unwrap());
        // Two logs on one file stand in for two processes sharing a data dir.
        let other = Arc::new(AuditLog::open(&path, u64::MAX).unwrap());
        let pad = "x".repeat(3000);
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let log = if t % 2 == 0 {
                    shared.clone()
                } else {
                    other.clone()
                };
                let pad = pad.clone();
                std::thread::spawn(move || {
                    for i in 0..100 {
                        log.write(
                            "place_order",
                            "executed",
                            &[("t", json!(t)), ("i", json!(i)), ("pad", json!(pad))],
                        )
                        .unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).expect("whole JSON line");
            assert_eq!(v["pad"].as_str().unwrap().len(), 3000);
            seen.insert((v["t"].as_i64().unwrap(), v["i"].as_i64().unwrap()));
        }
        assert_eq!(seen.len(), 800);
        assert_eq!(text.lines().count(), 800);
    }

    #[test]
    fn log_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<AuditLog>();
    }
}
