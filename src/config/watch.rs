//! Hot reload: watch the config file, and swap in each valid new version.
//!
//! # Never expose a half-written file
//!
//! Many editors and tools save by truncating the file and writing it again, so a reader can
//! see an empty or partial file. An empty file is a valid config (all defaults, consent
//! gate off), so upstream could briefly swap in defaults. Here a reload happens only after:
//!
//! 1. no event for the file for [`QUIET`] (debounce: a save is a burst of events), then
//! 2. two reads [`STABLE_GAP`] apart returning the same bytes, with no event in between;
//! 3. the bytes are not blank (empty, whitespace or a lone BOM): blank is taken as a save
//!    in progress and ignored (debug log). To reset keys to defaults, delete or comment
//!    them out; an empty file is never applied by a reload.
//!
//! The bytes that passed the check are the ones parsed (no third read). A writer that
//! pauses mid-file for longer than `QUIET + STABLE_GAP` can still be observed part-way;
//! no editor does that, and saving by rename (write a temp file, rename it over the
//! config) is atomic and always safe.
//!
//! # What is watched
//!
//! The file's parent directory, non-recursively (editors replace files by rename, which a
//! watch on the file itself would lose), plus the target's directory when the config is a
//! symlink (dotfile managers). Creates, writes, metadata changes (`reload-config` touches
//! the file) and renames *to* the file trigger a reload; removals and renames away do not
//! (the previous config is kept).
//!
//! A reload re-runs the whole load with the environment snapshot and CLI overrides of
//! start-up, so env overlays and flags keep their precedence over the file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::event::{ModifyKind, RenameMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use super::diff::{changed_keys, needs_restart};
use super::env::EnvSnapshot;
use super::error::ConfigError;
use super::handle::ConfigHandle;
use super::load::{CliOverrides, load_bytes, read_file, strip_bom};

/// Quiet period after the last file event before the file is read.
pub(super) const QUIET: Duration = Duration::from_millis(100);
/// Gap between the two reads that must agree.
pub(super) const STABLE_GAP: Duration = Duration::from_millis(50);

enum Msg {
    Fs(notify::Result<Event>),
    Stop,
}

/// Keeps the watcher running; dropping it stops the watcher and joins its thread.
pub struct WatchGuard {
    path: PathBuf,
    stop: Sender<Msg>,
    thread: Option<JoinHandle<()>>,
    attempts: Arc<AtomicU64>,
    // Declared last so it is dropped after the thread has been joined.
    _watcher: RecommendedWatcher,
}

impl WatchGuard {
    /// The config file being watched (absolute).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many settled reloads have been processed: applied, unchanged, rejected or
    /// ignored as blank. Lets a caller (or a test) wait for the watcher to catch up.
    pub fn reload_attempts(&self) -> u64 {
        self.attempts.load(Ordering::SeqCst)
    }
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        let _ = self.stop.send(Msg::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for WatchGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchGuard")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ConfigHandle {
    /// Starts reloading `path` (normally [`Loaded::source`](super::Loaded::source)) into
    /// this handle whenever it changes, with the given CLI overrides and environment (those
    /// of start-up). Fails if the directory cannot be watched.
    pub fn watch(
        &self,
        path: impl Into<PathBuf>,
        cli: CliOverrides,
        env: EnvSnapshot,
    ) -> Result<WatchGuard, ConfigError> {
        let path = path.into();
        let watch_err = |source| ConfigError::Watch {
            path: path.clone(),
            source,
        };
        let path = std::path::absolute(&path).map_err(|e| watch_err(notify::Error::io(e)))?;
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(watch_err(notify::Error::generic("not a file path")));
        };
        let mut dirs = vec![dir.to_path_buf()];
        let mut names = vec![name.to_os_string()];
        // A symlinked config (dotfile managers) is edited at its target: watch there too.
        if let Ok(real) = std::fs::canonicalize(&path)
            && let (Some(real_dir), Some(real_name)) = (real.parent(), real.file_name())
        {
            if std::fs::canonicalize(dir).ok().as_deref() != Some(real_dir) {
                dirs.push(real_dir.to_path_buf());
            }
            if real_name != name {
                names.push(real_name.to_os_string());
            }
        }

        let (tx, rx) = mpsc::channel();
        let fs_tx = tx.clone();
        let mut watcher = notify::recommended_watcher(move |res| {
            let _ = fs_tx.send(Msg::Fs(res));
        })
        .map_err(watch_err)?;
        for d in &dirs {
            watcher
                .watch(d, RecursiveMode::NonRecursive)
                .map_err(watch_err)?;
        }

        let attempts = Arc::new(AtomicU64::new(0));
        let reloader = Reloader {
            handle: self.clone(),
            path: path.clone(),
            cli,
            env,
        };
        let thread_attempts = attempts.clone();
        let thread = std::thread::Builder::new()
            .name("config-watch".to_owned())
            .spawn(move || run(&rx, &names, &reloader, &thread_attempts))
            .map_err(|e| watch_err(notify::Error::io(e)))?;
        tracing::debug!("watching config file {}", path.display());
        Ok(WatchGuard {
            path,
            stop: tx,
            thread: Some(thread),
            attempts,
            _watcher: watcher,
        })
    }
}

fn run(rx: &Receiver<Msg>, names: &[OsString], reloader: &Reloader, attempts: &AtomicU64) {
    loop {
        match rx.recv() {
            Ok(Msg::Fs(Ok(event))) if is_relevant(&event, names) => {}
            Ok(Msg::Fs(Ok(_))) => continue,
            Ok(Msg::Fs(Err(e))) => {
                tracing::warn!("config watcher error: {e}");
                continue;
            }
            Ok(Msg::Stop) | Err(_) => return,
        }
        let Some(read) = settle(rx, names, &reloader.path) else {
            return;
        };
        match read {
            Ok(bytes) => reloader.apply(&bytes).log(&reloader.path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => tracing::warn!(
                "config file {} is gone; keeping the current config (restart to use defaults)",
                reloader.path.display()
            ),
            Err(source) => {
                let e = ConfigError::Read {
                    path: reloader.path.clone(),
                    source,
                };
                tracing::warn!("config reload failed, keeping previous: {e}");
            }
        }
        attempts.fetch_add(1, Ordering::SeqCst);
    }
}

/// Waits for the quiet period, then for two equal reads with no event between them.
/// `None` means stop.
fn settle(rx: &Receiver<Msg>, names: &[OsString], path: &Path) -> Option<std::io::Result<Vec<u8>>> {
    loop {
        loop {
            match wait_for_event(rx, names, QUIET) {
                Wait::Stop => return None,
                Wait::Event => continue,
                Wait::Quiet => break,
            }
        }
        let first = read_file(path);
        match wait_for_event(rx, names, STABLE_GAP) {
            Wait::Stop => return None,
            Wait::Event => continue,
            Wait::Quiet => {}
        }
        let second = read_file(path);
        match (first, second) {
            (Ok(a), Ok(b)) if a == b => return Some(Ok(a)),
            (Ok(_), Ok(_)) => continue,
            (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
        }
    }
}

enum Wait {
    /// No relevant event within the timeout.
    Quiet,
    Event,
    Stop,
}

fn wait_for_event(rx: &Receiver<Msg>, names: &[OsString], timeout: Duration) -> Wait {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Msg::Fs(Ok(event))) if is_relevant(&event, names) => return Wait::Event,
            Ok(Msg::Fs(_)) => {}
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return Wait::Stop,
            Err(RecvTimeoutError::Timeout) => return Wait::Quiet,
        }
    }
}

/// Does this event say the config file may have new content?
fn is_relevant(event: &Event, names: &[OsString]) -> bool {
    if event.need_rescan() {
        return true;
    }
    let ours = |p: &PathBuf| p.file_name().is_some_and(|n| names.iter().any(|x| x == n));
    match &event.kind {
        EventKind::Access(_) | EventKind::Remove(_) => false,
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) => false,
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            event.paths.get(1).is_some_and(ours)
        }
        _ => event.paths.iter().any(ours),
    }
}

/// What one reload did; returned for tests, logged for operators.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The live config was replaced; these keys changed.
    Applied(Vec<&'static str>),
    /// The file is valid but no effective value changed (a touch, a comment edit, or a key
    /// masked by an env/CLI override).
    Unchanged,
    /// Blank content: a save in progress.
    Blank,
    Failed(ConfigError),
}

/// Turns settled file contents into a config swap.
pub(super) struct Reloader {
    pub handle: ConfigHandle,
    pub path: PathBuf,
    pub cli: CliOverrides,
    pub env: EnvSnapshot,
}

impl Reloader {
    /// Validates `bytes` and swaps them in if they change anything. Logging is left to
    /// [`Outcome::log`] so this stays a pure decision.
    pub fn apply(&self, bytes: &[u8]) -> Outcome {
        if strip_bom(bytes)
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            return Outcome::Blank;
        }
        let loaded = match load_bytes(&self.path, bytes, &self.cli, &self.env) {
            Ok(loaded) => loaded,
            Err(e) => return Outcome::Failed(e),
        };
        let changed = changed_keys(&self.handle.current(), &loaded.config);
        if changed.is_empty() {
            return Outcome::Unchanged;
        }
        self.handle.replace(loaded.config);
        Outcome::Applied(changed)
    }
}

impl Outcome {
    fn log(&self, path: &Path) {
        let path = path.display();
        match self {
            Outcome::Applied(changed) => {
                tracing::info!(
                    "config reloaded from {path}; changed: {}",
                    changed.join(", ")
                );
                let restart: Vec<&str> = changed
                    .iter()
                    .copied()
                    .filter(|k| needs_restart(k))
                    .collect();
                if !restart.is_empty() {
                    tracing::warn!(
                        "config changes that take effect only after a restart: {}",
                        restart.join(", ")
                    );
                }
            }
            Outcome::Unchanged => {
                tracing::debug!("config file {path} reloaded; no effective value changed");
            }
            Outcome::Blank => tracing::debug!(
                "config file {path} is blank; treating it as a save in progress and keeping \
                 the current config"
            ),
            Outcome::Failed(e) => tracing::warn!("config reload failed, keeping previous: {e}"),
        }
    }
}
