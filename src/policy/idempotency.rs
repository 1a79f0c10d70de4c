//! The idempotency store: one SQLite row per `(key, action)`.
//!
//! Upstream stores only finished results (reference §3.5), so two concurrent calls with one
//! key both reach the broker. Here a call first *claims* its key: a pending row
//! (`result_json = ''`) inserted in an immediate transaction, which SQLite serialises across
//! every connection and process sharing the file. Exactly one claimer wins; the rest see the
//! claim and wait for its outcome. The pending row names its owner (pid and a per-process
//! token) and the order tag sent to the broker, so that when the owner dies mid-send the
//! survivor can tell a dead claim from a live one and reconcile it with the broker instead of
//! sending again (DESIGN §3.6).
//!
//! The table is upstream's, plus four nullable columns, so a database written by upstream is
//! read as-is (its rows are finished results) after an `ALTER TABLE ... ADD COLUMN` migration.
//! Upstream cannot read our pending rows (an empty `result_json`), so the two servers must not
//! share a live file; sharing between our own processes is the supported case.
//!
//! Times are whole Unix seconds from the caller, so tests control the clock. A row is expired
//! when `expires_at <= now`; expired rows read as absent and are replaced by a new claim.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use sha2::{Digest, Sha256};

/// How long a writer waits for another connection's transaction before giving up. Claims and
/// completions are single-row statements, so contention clears in milliseconds; five seconds
/// only runs out when something is badly wrong.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Upstream's table, verbatim (reference §3.5).
const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT NOT NULL,
    action TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    result_json TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (key, action)
)";

/// Our in-flight claim columns, added to upstream's table when missing.
const CLAIM_COLUMNS: &[(&str, &str)] = &[
    ("owner_pid", "INTEGER"),
    ("owner_token", "TEXT"),
    ("tag", "INTEGER"),
    ("claimed_at", "INTEGER"),
];

const SELECT_ROW: &str = "SELECT request_hash, result_json, created_at, expires_at, \
     owner_pid, owner_token, tag, claimed_at FROM idempotency WHERE key = ?1 AND action = ?2";

/// Why the store could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("idempotency store {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file exists but is not an SQLite database. It is never deleted or rewritten: it
    /// may be something the user cares about that the path points at by mistake.
    #[error(
        "idempotency store {} is not an SQLite database (left untouched): move it aside or set [idempotency] path to another file",
        path.display()
    )]
    NotADatabase { path: PathBuf },
    /// An SQLite database whose pages are damaged. Also left untouched: it may hold the
    /// record of orders in flight, which a human may want to recover.
    #[error(
        "idempotency store {} is corrupt (left untouched): move it aside to start a fresh store",
        path.display()
    )]
    Corrupt { path: PathBuf },
    #[error("idempotency store {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

/// A row as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub request_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub state: EntryState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryState {
    /// The call finished; `result_json` is the compact OrderResult (with `replayed:false`).
    Done { result_json: String },
    /// A call holds the key and has not recorded an outcome yet.
    Pending {
        owner_pid: i64,
        owner_token: String,
        tag: i64,
        claimed_at: i64,
    },
}

/// The outcome of [`IdempotencyStore::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This caller now holds the key and must `complete` or `release` it.
    Claimed,
    /// An unexpired row already holds the key (done, or pending under another call).
    Taken(Entry),
}

/// Who holds a claim: the process id (to test liveness) and a random token (to tell this
/// process from an earlier one that had the same pid, and to make every update conditional
/// on still owning the row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub pid: i64,
    pub token: String,
}

impl Owner {
    /// This process, with a token drawn once and kept for the process lifetime.
    pub fn this_process() -> &'static Owner {
        static OWNER: OnceLock<Owner> = OnceLock::new();
        OWNER.get_or_init(|| Owner {
            pid: i64::from(std::process::id()),
            token: format!("{:032x}", rand::random::<u128>()),
        })
    }
}

/// Whether the process `owner_pid` exists, by `kill(pid, 0)`: success or `EPERM` (it exists
/// but belongs to another user) mean alive. A recycled pid reads as alive, which errs on the
/// safe side (the caller waits instead of reconciling). Where there is no cheap check the
/// owner is assumed alive for the same reason.
#[cfg(unix)]
pub fn owner_alive(owner_pid: i64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(owner_pid) else {
        return false;
    };
    // 0 and negative pids address process groups, never a single claimer.
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 delivers nothing; the kernel only checks that the target exists and
    // whether we may signal it.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
pub fn owner_alive(_owner_pid: i64) -> bool {
    true
}

/// Whether the holder of a pending claim may still be working on it. Unlike
/// [`owner_alive`] this recognises a claim left by an earlier process that had *our* pid
/// (common in containers, where the server is often pid 1 on every start): same pid,
/// different token means that process is gone.
pub fn claim_holder_alive(owner_pid: i64, owner_token: &str) -> bool {
    let me = Owner::this_process();
    if owner_token == me.token {
        return true;
    }
    if owner_pid == me.pid {
        return false;
    }
    owner_alive(owner_pid)
}

/// The order tag for `(key, action)`, carried in MetaTrader's `magic` field so that a send
/// whose outcome was lost can be found again on the broker's orders, positions and deals.
/// Deterministic (any process computes the same tag), in `1..=i32::MAX` so it fits an MQL
/// `int` and is never 0, which is what untagged orders carry. Different keys can collide
/// (about one in 2^31), so reconciliation should also match symbol and volume.
pub fn tag_for(key: &str, action: &str) -> i64 {
    let mut hasher = Sha256::new();
    hasher.update(action.as_bytes());
    hasher.update([0u8]);
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let n = u64::from_be_bytes(first) % 2_147_483_647;
    n as i64 + 1
}

/// The SQLite-backed store. `Send + Sync`; every method is blocking.
pub struct IdempotencyStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for IdempotencyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotencyStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl IdempotencyStore {
    /// Opens (creating if needed) the store at `path`, in WAL mode, with the file and its
    /// `-wal`/`-shm` companions readable by the owner only, and migrates an upstream table.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let io_err = |source| StoreError::Io {
            path: path.to_owned(),
            source,
        };
        super::create_parent_dirs(path).map_err(io_err)?;
        super::precreate_private_file(path).map_err(io_err)?;
        let sql_err = |source: rusqlite::Error| classify(path, source);

        let mut conn = Connection::open(path).map_err(sql_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
        // The first statement that reads the header is where a foreign file shows up.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(sql_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "idempotency store is not in WAL mode");
        }
        migrate(&mut conn).map_err(sql_err)?;
        // SQLite gives the side files the database's mode, but a file left by an older run
        // may predate the 0600 rule.
        for suffix in ["-wal", "-shm"] {
            let side = side_file(path, suffix);
            if side.exists() {
                super::restrict_to_owner(&side).map_err(io_err)?;
            }
        }
        Ok(IdempotencyStore {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The unexpired row for `(key, action)`, if any. An expired row is deleted on sight.
    pub fn lookup(
        &self,
        key: &str,
        action: &str,
        now_unix: i64,
    ) -> Result<Option<Entry>, StoreError> {
        let conn = self.lock();
        let found = conn
            .prepare_cached(SELECT_ROW)
            .and_then(|mut st| st.query_row(params![key, action], entry_from_row))
            .optional()
            .map_err(|e| self.err(e))?;
        match found {
            Some(entry) if entry.expires_at <= now_unix => {
                // Conditional, so a fresh claim made meanwhile by another process survives.
                conn.prepare_cached(
                    "DELETE FROM idempotency WHERE key = ?1 AND action = ?2 AND expires_at <= ?3",
                )
                .and_then(|mut st| st.execute(params![key, action, now_unix]))
                .map_err(|e| self.err(e))?;
                Ok(None)
            }
            other => Ok(other),
        }
    }

    /// Claims `(key, action)` for `owner`, unless an unexpired row holds it. Runs in one
    /// immediate transaction, so across all processes sharing the file exactly one caller
    /// gets [`Claim::Claimed`] for an unheld key.
    #[allow(clippy::too_many_arguments)] // the row's columns, each needed
    pub fn claim(
        &self,
        key: &str,
        action: &str,
        request_hash: &str,
        owner: &Owner,
        tag: i64,
        now_unix: i64,
        ttl_secs: u64,
    ) -> Result<Claim, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let existing = tx
            .prepare_cached(SELECT_ROW)
            .and_then(|mut st| st.query_row(params![key, action], entry_from_row))
            .optional()
            .map_err(|e| self.err(e))?;
        if let Some(entry) = existing
            && entry.expires_at > now_unix
        {
            return Ok(Claim::Taken(entry));
        }
        tx.prepare_cached(
            "INSERT OR REPLACE INTO idempotency (key, action, request_hash, result_json, \
             created_at, expires_at, owner_pid, owner_token, tag, claimed_at) \
             VALUES (?1, ?2, ?3, '', ?4, ?5, ?6, ?7, ?8, ?4)",
        )
        .and_then(|mut st| {
            st.execute(params![
                key,
                action,
                request_hash,
                now_unix,
                expiry(now_unix, ttl_secs),
                owner.pid,
                owner.token,
                tag
            ])
        })
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(Claim::Claimed)
    }

    /// Records the outcome of our own claim. First write wins: if the row is no longer our
    /// pending claim (someone resolved it, or it expired and was re-claimed) nothing is
    /// written and a warning is logged.
    pub fn complete(
        &self,
        key: &str,
        action: &str,
        owner_token: &str,
        result_json: &str,
        now_unix: i64,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        if !self.finish_pending(key, action, owner_token, result_json, now_unix, ttl_secs)? {
            tracing::warn!(
                key,
                action,
                "idempotency claim was no longer ours when its outcome arrived; kept the stored row"
            );
        }
        Ok(())
    }

    /// Gives up our own pending claim (the call failed before anything reached the broker),
    /// so a retry with the same key runs afresh. A done row is never deleted.
    pub fn release(&self, key: &str, action: &str, owner_token: &str) -> Result<(), StoreError> {
        self.lock()
            .prepare_cached(
                "DELETE FROM idempotency WHERE key = ?1 AND action = ?2 \
                 AND result_json = '' AND owner_token = ?3",
            )
            .and_then(|mut st| st.execute(params![key, action, owner_token]))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records an outcome found by reconciliation on a claim held by `expected_owner_token`
    /// (a dead process). `false` if the row is no longer that pending claim: its owner
    /// finished after all, or another survivor got there first.
    pub fn resolve(
        &self,
        key: &str,
        action: &str,
        expected_owner_token: &str,
        result_json: &str,
        now_unix: i64,
        ttl_secs: u64,
    ) -> Result<bool, StoreError> {
        self.finish_pending(
            key,
            action,
            expected_owner_token,
            result_json,
            now_unix,
            ttl_secs,
        )
    }

    fn finish_pending(
        &self,
        key: &str,
        action: &str,
        owner_token: &str,
        result_json: &str,
        now_unix: i64,
        ttl_secs: u64,
    ) -> Result<bool, StoreError> {
        if result_json.is_empty() {
            // An empty result is the pending marker; storing one would re-open the claim.
            return Ok(false);
        }
        let changed = self
            .lock()
            .prepare_cached(
                "UPDATE idempotency SET result_json = ?4, created_at = ?5, expires_at = ?6 \
                 WHERE key = ?1 AND action = ?2 AND result_json = '' AND owner_token = ?3",
            )
            .and_then(|mut st| {
                st.execute(params![
                    key,
                    action,
                    owner_token,
                    result_json,
                    now_unix,
                    expiry(now_unix, ttl_secs)
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok(changed == 1)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic mid-call rolls its transaction back when the Transaction drops, so the
        // connection is still usable.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        classify(&self.path, source)
    }
}

fn classify(path: &Path, source: rusqlite::Error) -> StoreError {
    let path = path.to_owned();
    match source.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotADatabase { path },
        Some(rusqlite::ErrorCode::DatabaseCorrupt) => StoreError::Corrupt { path },
        _ => StoreError::Sqlite { path, source },
    }
}

fn expiry(now_unix: i64, ttl_secs: u64) -> i64 {
    now_unix.saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX))
}

fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates upstream's table and adds our claim columns where missing. Immediate, so two
/// processes starting together do not both try to add the same column.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(CREATE_TABLE, [])?;
    let present: Vec<String> = {
        let mut stmt = tx.prepare("SELECT name FROM pragma_table_info('idempotency')")?;
        stmt.query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (name, ty) in CLAIM_COLUMNS {
        if !present.iter().any(|p| p.eq_ignore_ascii_case(name)) {
            tx.execute(
                &format!("ALTER TABLE idempotency ADD COLUMN {name} {ty}"),
                [],
            )?;
        }
    }
    tx.commit()
}

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<Entry> {
    let result_json: String = row.get(1)?;
    let created_at: i64 = row.get(2)?;
    let state = if result_json.is_empty() {
        EntryState::Pending {
            owner_pid: row.get::<_, Option<i64>>(4)?.unwrap_or(0),
            owner_token: row.get::<_, Option<String>>(5)?.unwrap_or_default(),
            tag: row.get::<_, Option<i64>>(6)?.unwrap_or(0),
            claimed_at: row.get::<_, Option<i64>>(7)?.unwrap_or(created_at),
        }
    } else {
        EntryState::Done { result_json }
    };
    Ok(Entry {
        request_hash: row.get(0)?,
        created_at,
        expires_at: row.get(3)?,
        state,
    })
}

#[cfg(test)]
#[path = "idempotency_tests.rs"]
mod tests;
