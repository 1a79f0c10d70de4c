//! Why the paper terminal could not be opened or could not persist its account.

use std::path::PathBuf;

/// Failures of the sim backend itself (never a trade rejection: those are retcodes).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid [sim] configuration: {why}")]
    Config { why: String },
    #[error("cannot create the sim state directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the paper account {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the paper account {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot lock {} (another mt5-mcp process may be stuck): {source}", path.display())]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot move the corrupt paper account {} aside to {}: {source}",
        path.display(),
        aside.display()
    )]
    SetAside {
        path: PathBuf,
        aside: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the paper account {} has format version {found}, newer than this mt5-mcp understands \
         ({supported}); upgrade mt5-mcp or point [sim] state_path at another file",
        path.display()
    )]
    NewerFormat {
        path: PathBuf,
        found: u64,
        supported: u32,
    },
}
