//! The paper account on disk: one JSON file, written atomically, shared safely by several
//! processes.
//!
//! - Atomic: a write goes to a temporary file in the same directory, is fsynced, then
//!   renamed over the state file (and the directory fsynced), so a crash leaves either the
//!   old or the new account, never half of one. Files are created 0600 on unix.
//! - Shared: two agent sessions may each run a server on the same account. Every
//!   read-modify-write holds an exclusive advisory lock on a sidecar `<file>.lock`, and
//!   reloads the file first when its `generation` (written near the top of the file, so a
//!   cheap peek finds it) differs from the one in memory. No process loses another's trades.
//! - Never silently reset: a file that is not a valid account is renamed aside to
//!   `<file>.corrupt-<unix_ts>` and reported; a file from a newer mt5-mcp is refused.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::account::Account;
use super::error::SimError;

/// Format version of the state file.
pub(crate) const FORMAT: u32 = 1;

#[derive(Serialize)]
struct StateRef<'a> {
    format: u32,
    generation: u64,
    account: &'a Account,
}

#[derive(Deserialize)]
struct StateFile {
    format: u32,
    generation: u64,
    account: Account,
}

/// What the state file holds.
#[derive(Debug)]
pub(crate) enum Loaded {
    Missing,
    Account {
        account: Box<Account>,
        generation: u64,
    },
    /// Present but not a readable account; `why` says what is wrong with it.
    Corrupt {
        why: String,
    },
}

/// An exclusive advisory lock on the sidecar lock file; released on drop.
///
/// `File::lock`/`unlock` are stable since Rust 1.89 while Cargo.toml still declares
/// `rust-version = "1.88"`; the crate is built with 1.95, so the MSRV lint is silenced here
/// until the declared version is raised.
pub(crate) struct LockGuard(File);

impl Drop for LockGuard {
    #[allow(clippy::incompatible_msrv)]
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Store {
    path: PathBuf,
    lock_path: PathBuf,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn private_file(opts: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts
}

impl Store {
    /// A store at `path`, creating its directory if needed.
    pub(crate) fn new(path: &Path) -> Result<Self, SimError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|source| SimError::CreateDir {
                path: dir.into(),
                source,
            })?;
        }
        Ok(Self {
            path: path.into(),
            lock_path: with_suffix(path, ".lock"),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The directory holding the state file.
    pub(crate) fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.into(),
            _ => PathBuf::from("."),
        }
    }

    /// Blocks until this process holds the account's lock.
    #[allow(clippy::incompatible_msrv)]
    pub(crate) fn lock(&self) -> Result<LockGuard, SimError> {
        let err = |source| SimError::Lock {
            path: self.lock_path.clone(),
            source,
        };
        let file = private_file(
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false),
        )
        .open(&self.lock_path)
        .map_err(err)?;
        file.lock().map_err(err)?;
        Ok(LockGuard(file))
    }

    /// The generation written in the file, read from its first bytes only. `None` when
    /// the file is missing or does not start like a state file.
    pub(crate) fn peek_generation(&self) -> Option<u64> {
        let mut head = [0u8; 256];
        let mut file = File::open(&self.path).ok()?;
        let mut n = 0;
        while n < head.len() {
            match file.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(m) => n += m,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        let text = std::str::from_utf8(&head[..n]).ok()?;
        let rest = &text[text.find("\"generation\"")? + "\"generation\"".len()..];
        let digits: String = rest
            .trim_start_matches(|c: char| c == ':' || c.is_whitespace())
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }

    /// Reads and parses the whole file.
    pub(crate) fn read(&self) -> Result<Loaded, SimError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Loaded::Missing),
            Err(source) => {
                return Err(SimError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        match serde_json::from_slice::<StateFile>(&bytes) {
            Ok(f) if f.format <= FORMAT => Ok(Loaded::Account {
                account: Box::new(f.account),
                generation: f.generation,
            }),
            Ok(f) => Err(self.newer(f.format as u64)),
            Err(e) => {
                // A newer format may also fail to parse as ours: refuse it, never set it aside.
                let found = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("format").and_then(|f| f.as_u64()));
                match found {
                    Some(found) if found > FORMAT as u64 => Err(self.newer(found)),
                    _ => Ok(Loaded::Corrupt { why: e.to_string() }),
                }
            }
        }
    }

    fn newer(&self, found: u64) -> SimError {
        SimError::NewerFormat {
            path: self.path.clone(),
            found,
            supported: FORMAT,
        }
    }

    /// Atomically replaces the file with `account` at `generation`.
    pub(crate) fn write(&self, account: &Account, generation: u64) -> Result<(), SimError> {
        let err = |source| SimError::Write {
            path: self.path.clone(),
            source,
        };
        let json = serde_json::to_vec_pretty(&StateRef {
            format: FORMAT,
            generation,
            account,
        })
        .map_err(|e| err(std::io::Error::other(e)))?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let tmp = self
            .dir()
            .join(format!(".{name}.tmp-{}-{nanos}", std::process::id()));
        let result = (|| {
            let mut f = private_file(OpenOptions::new().write(true).create_new(true)).open(&tmp)?;
            f.write_all(&json)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, &self.path)?;
            #[cfg(unix)]
            File::open(self.dir())?.sync_all()?;
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(err)
    }

    /// Renames the current file to `<file>.corrupt-<unix_ts>` (with a counter if taken).
    pub(crate) fn set_aside(&self, unix_ts: i64) -> Result<PathBuf, SimError> {
        let base = with_suffix(&self.path, &format!(".corrupt-{unix_ts}"));
        let mut aside = base.clone();
        let mut n = 1;
        while aside.exists() {
            aside = with_suffix(&base, &format!("-{n}"));
            n += 1;
        }
        fs::rename(&self.path, &aside).map_err(|source| SimError::SetAside {
            path: self.path.clone(),
            aside: aside.clone(),
            source,
        })?;
        Ok(aside)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account::fresh(9, 1_000.0, 100, 5)
    }

    #[test]
    fn write_then_read_round_trips_and_peek_sees_the_generation() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(&dir.path().join("nested/sim/account.json")).unwrap();
        assert!(matches!(store.read().unwrap(), Loaded::Missing));
        assert_eq!(store.peek_generation(), None);
        store.write(&account(), 41).unwrap();
        match store.read().unwrap() {
            Loaded::Account {
                account: a,
                generation,
            } => {
                assert_eq!((*a, generation), (account(), 41));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(store.peek_generation(), Some(41));
        let leftovers: Vec<_> = fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "no temp files left: {leftovers:?}");
    }

    #[cfg(unix)]
    #[test]
    fn state_and_lock_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(&dir.path().join("account.json")).unwrap();
        store.write(&account(), 1).unwrap();
        drop(store.lock().unwrap());
        for p in [
            store.path().to_path_buf(),
            with_suffix(store.path(), ".lock"),
        ] {
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600,
                "{p:?}"
            );
        }
    }

    #[test]
    fn garbage_is_corrupt_and_can_be_set_aside_twice_in_one_second() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(&dir.path().join("account.json")).unwrap();
        for junk in ["{not json", "", "[]", "{\"format\":1,\"generation\":2}"] {
            fs::write(store.path(), junk).unwrap();
            assert!(
                matches!(store.read().unwrap(), Loaded::Corrupt { .. }),
                "{junk:?}"
            );
        }
        let first = store.set_aside(1_700_000_000).unwrap();
        fs::write(store.path(), "junk").unwrap();
        let second = store.set_aside(1_700_000_000).unwrap();
        assert_ne!(first, second);
        assert!(
            first
                .to_string_lossy()
                .ends_with("account.json.corrupt-1700000000")
        );
        assert!(first.exists() && second.exists() && !store.path().exists());
    }

    #[test]
    fn a_newer_format_is_refused_not_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(&dir.path().join("account.json")).unwrap();
        fs::write(
            store.path(),
            r#"{"format": 7, "generation": 1, "account": {"whatever": true}}"#,
        )
        .unwrap();
        let err = store.read().unwrap_err();
        assert!(
            matches!(err, SimError::NewerFormat { found: 7, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("account.json"));
    }
}
