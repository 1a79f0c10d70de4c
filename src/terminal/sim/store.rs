//! The paper account on disk: an append-only journal, and a small state file that says
//! where it is, shared safely by several processes.
//!
//! For a state path `account.json`:
//! - `account.json.journal.jsonl` holds the account (`journal.rs`): each write appends the
//!   history records it booked and one `state` line with the account's open part (balance,
//!   positions, pending orders, ticket counters, Market Watch). That line is the commit. A
//!   write thus costs O(open state + new records), never O(history): serialising a growing
//!   history on every order used to dominate an order's cost, and so did replacing a file
//!   by rename on every order (on ext4 that flushes the new file and frees the old one).
//! - `account.json` says the format and names the journal. It changes only when a journal
//!   is created, and keeps an older mt5-mcp from mistaking the account for a missing one:
//!   it refuses the newer format instead.
//! - `account.json.lock` is the lock. All files are created 0600 on unix.
//!
//! A write, under the lock, cuts the journal back to its last commit (dropping a tail torn by
//! a crash or left by a write that failed) and appends. Readers read up to the last complete
//! `state` line only, so nobody ever sees half a commit. When superseded `state` lines make
//! up most of the journal, a write compacts it: a new journal with the whole history and one
//! `state` line replaces the old one by rename. A journal is only ever created whole, under a
//! fresh id in its header, so a reader that finds its id knows the bytes it already read are
//! unchanged and reads only what follows. Several servers on one account thus exchange only
//! each other's new records.
//!
//! Durability (a deliberate choice): no fsync on the path of an order. Once `write` returns,
//! the commit is in the kernel, so a crash of any mt5-mcp process can neither lose nor tear an
//! acknowledged trade. A power failure or kernel crash may lose the last commits (the journal
//! then ends earlier, like after an interrupted write, and the cut is logged when the next
//! write drops it) or leave damaged blocks before a commit, which are detected and set aside
//! as below. For a paper account that is the right trade: an fsync costs as much as the rest
//! of an order (~80 us on the development VM, milliseconds on many laptops). Files are synced,
//! with their directory, only when a journal is created (a new account, the migration from
//! format 1, a compaction, a rewrite after the files vanished or were damaged), the moments
//! whose loss would cost the whole history.
//!
//! Never silently reset: files that do not hold a valid account are renamed aside to
//! `<file>.corrupt-<unix_ts>` and reported; files from a newer mt5-mcp are refused. Format 1
//! (one pretty-printed `account.json` with the history inline, rewritten on every change) is
//! still read; the first write migrates it by creating the journal first and replacing
//! `account.json` second, so a crash in between leaves the format-1 file intact and the
//! migration is simply redone.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::account::Account;
use super::error::SimError;
use super::journal::{self, FORMAT, HEADER_MAX, Head, Mark};

/// A write compacts the journal once superseded `state` lines exceed this many bytes and
/// half of the journal: compaction then costs O(history) about once per O(history) bytes
/// appended, a constant per write.
const COMPACT_AFTER: u64 = 8 << 20;

/// `account.json` from format 2 on.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pointer {
    format: u32,
    journal: String,
}

/// `account.json` in format 1.
#[derive(Deserialize)]
struct StateV1 {
    generation: u64,
    account: Account,
}

/// An account read from disk.
#[derive(Debug)]
pub(crate) struct Disk {
    account: Box<Account>,
    pub generation: u64,
    /// `None` for a format-1 file: the next write migrates it.
    pub mark: Option<Mark>,
    /// When the history in `account` is only what follows the mark given to
    /// [`Store::read`]: that mark's order and deal counts.
    tail_of: Option<(usize, usize)>,
}

impl Disk {
    /// Replaces `known` (the account as of the mark given to [`Store::read`]) with this one,
    /// keeping the history `known` already had when only its continuation was read.
    pub(crate) fn update(self, known: &mut Account) {
        let mut next = *self.account;
        if let Some((n_orders, n_deals)) = self.tail_of {
            let mut orders = std::mem::take(&mut known.history_orders);
            let mut deals = std::mem::take(&mut known.deals);
            debug_assert_eq!((orders.len(), deals.len()), (n_orders, n_deals));
            orders.truncate(n_orders);
            deals.truncate(n_deals);
            orders.append(&mut next.history_orders);
            deals.append(&mut next.deals);
            (next.history_orders, next.deals) = (orders, deals);
        }
        *known = next;
    }

    /// The account, read without a known mark.
    pub(crate) fn whole(self) -> Account {
        debug_assert!(self.tail_of.is_none());
        *self.account
    }
}

/// What the files hold.
#[derive(Debug)]
pub(crate) enum Loaded {
    Missing,
    /// Nothing was committed after the known mark.
    Unchanged,
    Account(Disk),
    /// Present but not a readable account; `why` says what is wrong.
    Corrupt {
        why: String,
    },
}

/// Where [`Store::set_aside`] moved the files (those that existed).
#[derive(Debug, Default)]
pub(crate) struct SetAside {
    pub state: Option<PathBuf>,
    pub journal: Option<PathBuf>,
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
    journal_path: PathBuf,
    lock_path: PathBuf,
    compact_after: u64,
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

/// Reads until `buf` is full or the file ends; returns how much was read.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(m) => n += m,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The header of the open journal `file`.
fn head_of(file: &mut File) -> std::io::Result<Head> {
    let mut head = [0u8; HEADER_MAX];
    file.seek(SeekFrom::Start(0))?;
    let n = read_up_to(file, &mut head)?;
    Ok(journal::parse_header(&head[..n]))
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
            journal_path: with_suffix(path, ".journal.jsonl"),
            lock_path: with_suffix(path, ".lock"),
            compact_after: COMPACT_AFTER,
        })
    }

    /// Compacts after `bytes` of superseded commits instead of [`COMPACT_AFTER`].
    #[cfg(test)]
    pub(crate) fn with_compaction_after(mut self, bytes: u64) -> Self {
        self.compact_after = bytes;
        self
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    #[cfg(test)]
    pub(crate) fn journal_path(&self) -> &Path {
        &self.journal_path
    }

    /// The journal's file name, as `account.json` records it.
    fn journal_name(&self) -> String {
        self.journal_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The directory holding the files.
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

    /// The generation of a format-1 state file, read from its first bytes only. `None` when
    /// the file is missing or is not in format 1.
    pub(crate) fn peek_generation(&self) -> Option<u64> {
        let mut head = [0u8; 256];
        let mut file = File::open(&self.path).ok()?;
        let n = read_up_to(&mut file, &mut head).ok()?;
        let text = std::str::from_utf8(&head[..n]).ok()?;
        let rest = &text[text.find("\"generation\"")? + "\"generation\"".len()..];
        let digits: String = rest
            .trim_start_matches(|c: char| c == ':' || c.is_whitespace())
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }

    fn read_err(&self, path: &Path) -> impl Fn(std::io::Error) -> SimError {
        let path = path.to_path_buf();
        move |source| SimError::Read {
            path: path.clone(),
            source,
        }
    }

    fn corrupt_journal(&self, why: impl std::fmt::Display) -> Loaded {
        Loaded::Corrupt {
            why: format!("journal {}: {why}", self.journal_path.display()),
        }
    }

    /// Reads the account. With `known`, the mark of what is already in memory, only the
    /// commits after it are read when the journal on disk continues it
    /// ([`Loaded::Unchanged`] only then).
    pub(crate) fn read(&self, known: Option<&Mark>) -> Result<Loaded, SimError> {
        if let Some(k) = known
            && let Some(found) = self.read_after(k)?
        {
            return Ok(found);
        }
        self.read_whole()
    }

    /// The commits after `known`, or `None` when the journal is not the one `known` is in.
    fn read_after(&self, known: &Mark) -> Result<Option<Loaded>, SimError> {
        let err = self.read_err(&self.journal_path);
        let mut file = match File::open(&self.journal_path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        match head_of(&mut file).map_err(&err)? {
            Head::Ours { id, .. } if id == known.journal => {}
            _ => return Ok(None),
        }
        let len = file.metadata().map_err(&err)?.len();
        if len < known.bytes {
            return Ok(Some(self.corrupt_journal(format_args!(
                "it is shorter than the {} bytes already read from it",
                known.bytes
            ))));
        }
        if len == known.bytes {
            return Ok(Some(Loaded::Unchanged));
        }
        file.seek(SeekFrom::Start(known.bytes)).map_err(&err)?;
        let mut bytes = Vec::with_capacity((len - known.bytes) as usize);
        file.read_to_end(&mut bytes).map_err(&err)?;
        let r = match journal::replay(&bytes, known.orders, known.deals) {
            Ok(r) => r,
            Err(why) => return Ok(Some(self.corrupt_journal(why))),
        };
        let Some((generation, mut account)) = r.state else {
            return Ok(Some(Loaded::Unchanged));
        };
        let mark = Mark {
            journal: known.journal.clone(),
            bytes: known.bytes + r.committed,
            orders: known.orders + r.orders.len(),
            deals: known.deals + r.deals.len(),
            superseded: known.superseded + known.last_state + r.superseded,
            last_state: r.last_state,
        };
        (account.history_orders, account.deals) = (r.orders, r.deals);
        Ok(Some(Loaded::Account(Disk {
            account: Box::new(account),
            generation,
            mark: Some(mark),
            tail_of: Some((known.orders, known.deals)),
        })))
    }

    fn read_whole(&self) -> Result<Loaded, SimError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(if self.journal_path.exists() {
                    Loaded::Corrupt {
                        why: format!(
                            "its journal {} exists without it",
                            self.journal_path.display()
                        ),
                    }
                } else {
                    Loaded::Missing
                });
            }
            Err(e) => return Err(self.read_err(&self.path)(e)),
        };
        let value = match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) => v,
            Err(e) => return Ok(Loaded::Corrupt { why: e.to_string() }),
        };
        let corrupt = |why: String| Ok(Loaded::Corrupt { why });
        match value.get("format").and_then(|f| f.as_u64()) {
            None => corrupt("it has no format version".into()),
            Some(found) if found > FORMAT as u64 => Err(self.newer(&self.path, found)),
            Some(found) if found == FORMAT as u64 => match serde_json::from_value::<Pointer>(value)
            {
                Ok(p) if p.journal == self.journal_name() => self.read_journal(),
                Ok(p) => corrupt(format!("it names the journal {:?}", p.journal)),
                Err(e) => corrupt(e.to_string()),
            },
            Some(_) => {
                // The history defaults to empty when absent (from format 2 on it is kept in
                // the journal); in format 1 it must be there.
                let inline = ["history_orders", "deals"]
                    .iter()
                    .all(|k| value["account"].get(k).is_some_and(|h| h.is_array()));
                match serde_json::from_value::<StateV1>(value) {
                    Ok(_) if !inline => corrupt("its account has no history".into()),
                    Ok(v) => Ok(Loaded::Account(Disk {
                        account: Box::new(v.account),
                        generation: v.generation,
                        mark: None,
                        tail_of: None,
                    })),
                    Err(e) => corrupt(e.to_string()),
                }
            }
        }
    }

    /// The whole journal, which `account.json` says exists.
    fn read_journal(&self) -> Result<Loaded, SimError> {
        let err = self.read_err(&self.journal_path);
        let mut file = match File::open(&self.journal_path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(self.corrupt_journal("it is missing"));
            }
            Err(e) => return Err(err(e)),
        };
        let (id, header_len) = match head_of(&mut file).map_err(&err)? {
            Head::Ours { id, len } => (id, len),
            Head::Newer(found) => return Err(self.newer(&self.journal_path, found as u64)),
            Head::Bad(why) => return Ok(self.corrupt_journal(why)),
        };
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(header_len)).map_err(&err)?;
        file.read_to_end(&mut bytes).map_err(&err)?;
        let r = match journal::replay(&bytes, 0, 0) {
            Ok(r) => r,
            Err(why) => return Ok(self.corrupt_journal(why)),
        };
        let Some((generation, mut account)) = r.state else {
            return Ok(self.corrupt_journal("it holds no complete commit"));
        };
        let mark = Mark {
            journal: id,
            bytes: header_len + r.committed,
            orders: r.orders.len(),
            deals: r.deals.len(),
            superseded: r.superseded,
            last_state: r.last_state,
        };
        (account.history_orders, account.deals) = (r.orders, r.deals);
        Ok(Loaded::Account(Disk {
            account: Box::new(account),
            generation,
            mark: Some(mark),
            tail_of: None,
        }))
    }

    fn newer(&self, path: &Path, found: u64) -> SimError {
        SimError::NewerFormat {
            path: path.into(),
            found,
            supported: FORMAT,
        }
    }

    fn write_err(&self, path: &Path) -> impl Fn(std::io::Error) -> SimError {
        let path = path.to_path_buf();
        move |source| SimError::Write {
            path: path.clone(),
            source,
        }
    }

    /// Commits `account` at `generation`. `mark` is where the journal on disk stands (the
    /// caller holds the lock and has reloaded); `None` when the files must be written whole
    /// (new account, format 1, vanished or set aside). Returns the new mark.
    pub(crate) fn commit(
        &self,
        account: &Account,
        generation: u64,
        mark: Option<&Mark>,
    ) -> Result<Mark, SimError> {
        match mark {
            Some(m) if m.superseded <= self.compact_after || m.superseded <= m.bytes / 2 => {
                self.append(account, generation, m)
            }
            _ => self.rewrite(account, generation),
        }
    }

    fn append(&self, account: &Account, generation: u64, mark: &Mark) -> Result<Mark, SimError> {
        assert!(
            account.history_orders.len() >= mark.orders && account.deals.len() >= mark.deals,
            "history only grows"
        );
        let mut buf = Vec::with_capacity(2048);
        let last_state =
            journal::encode_commit(&mut buf, account, generation, mark.orders, mark.deals);
        self.append_bytes(mark, &buf)
            .map_err(self.write_err(&self.journal_path))?;
        Ok(Mark {
            journal: mark.journal.clone(),
            bytes: mark.bytes + buf.len() as u64,
            orders: account.history_orders.len(),
            deals: account.deals.len(),
            superseded: mark.superseded + mark.last_state,
            last_state,
        })
    }

    fn append_bytes(&self, mark: &Mark, bytes: &[u8]) -> std::io::Result<()> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.journal_path)?;
        if !matches!(head_of(&mut file)?, Head::Ours { id, .. } if id == mark.journal) {
            return Err(std::io::Error::other(
                "it is not the journal this account was read from",
            ));
        }
        let len = file.metadata()?.len();
        if len < mark.bytes {
            return Err(std::io::Error::other(format!(
                "it is shorter ({len} bytes) than its committed part ({} bytes)",
                mark.bytes
            )));
        }
        if len > mark.bytes {
            // A torn or failed append: never committed, never read; drop it.
            tracing::warn!(
                path = %self.journal_path.display(),
                bytes = len - mark.bytes,
                "sim: dropping an uncommitted journal tail (a write interrupted by a crash or an error)"
            );
            file.set_len(mark.bytes)?;
        }
        file.seek(SeekFrom::Start(mark.bytes))?;
        file.write_all(bytes)
    }

    /// Writes `account` whole at `generation`: a new journal with all of its history and one
    /// commit, then `account.json` naming it, both synced. Callers have moved aside any
    /// files worth keeping.
    fn rewrite(&self, account: &Account, generation: u64) -> Result<Mark, SimError> {
        let id = journal::new_id();
        let mut buf = journal::header(&id);
        let last_state = journal::encode_commit(&mut buf, account, generation, 0, 0);
        self.replace(&self.journal_path, &buf)
            .map_err(self.write_err(&self.journal_path))?;
        let mut pointer = serde_json::to_vec(&Pointer {
            format: FORMAT,
            journal: self.journal_name(),
        })
        .expect("the pointer serialises");
        pointer.push(b'\n');
        self.replace(&self.path, &pointer)
            .map_err(self.write_err(&self.path))?;
        Ok(Mark {
            journal: id,
            bytes: buf.len() as u64,
            orders: account.history_orders.len(),
            deals: account.deals.len(),
            superseded: 0,
            last_state,
        })
    }

    /// Atomically and durably replaces `target` with `bytes`: a temporary file in the same
    /// directory, synced, renamed, then the directory synced.
    fn replace(&self, target: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let name = target
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
            f.write_all(bytes)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, target)?;
            #[cfg(unix)]
            File::open(self.dir())?.sync_all()?;
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Renames the state file and the journal, those that exist, to
    /// `<file>.corrupt-<unix_ts>` (with a counter if taken).
    pub(crate) fn set_aside(&self, unix_ts: i64) -> Result<SetAside, SimError> {
        let mut moved = SetAside::default();
        for (path, slot) in [
            (&self.path, &mut moved.state),
            (&self.journal_path, &mut moved.journal),
        ] {
            if !path.exists() {
                continue;
            }
            let base = with_suffix(path, &format!(".corrupt-{unix_ts}"));
            let mut aside = base.clone();
            let mut n = 1;
            while aside.exists() {
                aside = with_suffix(&base, &format!("-{n}"));
                n += 1;
            }
            fs::rename(path, &aside).map_err(|source| SimError::SetAside {
                path: path.clone(),
                aside: aside.clone(),
                source,
            })?;
            *slot = Some(aside);
        }
        Ok(moved)
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
