//! The policy engine's building blocks: the request hash, the idempotency and approval
//! stores, the audit log, the preflight rules and the trading gate.
//!
//! Each piece is a plain value with no knowledge of the others; the engine decides the order
//! in which they run (reference §3.1 and DESIGN §3). The stores are synchronous: the engine
//! calls the SQLite and file-backed ones from `spawn_blocking`.

pub mod audit;
pub mod consent;
pub mod daily;
pub mod engine;
#[cfg(test)]
mod engine_tests;
pub mod hash;
pub mod idempotency;
pub mod money;
pub mod preflight;
pub mod reconcile;
pub mod result;
pub mod trading_gate;

use std::io;
use std::path::Path;

/// Creates the parent directories of `path` (a bare file name has none to create).
fn create_parent_dirs(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent),
        _ => Ok(()),
    }
}

/// Makes `path` readable and writable by its owner only. Order history and pending trades
/// are private, and another local user must not be able to forge a cached result. A no-op
/// where Unix modes do not exist.
fn restrict_to_owner(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Creates `path` if missing with mode 0600 from the first instant (no window in which it
/// is world-readable), then forces 0600 on an existing file too.
fn precreate_private_file(path: &Path) -> io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?;
    restrict_to_owner(path)
}
