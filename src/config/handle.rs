//! [`ConfigHandle`]: the live configuration, shared by everything that honours hot reload.
//!
//! Readers call [`ConfigHandle::current`] on every use (one atomic load through arc-swap,
//! no lock), so a policy check always sees one whole config, old or new, never a mix.
//! Parts that must *react* to a change (pollers whose interval changed) wait on
//! [`ConfigHandle::subscribe`].

use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::watch;

use super::Config;

/// Cheap to clone; all clones share the same live config.
#[derive(Clone)]
pub struct ConfigHandle {
    inner: Arc<Inner>,
}

struct Inner {
    current: ArcSwap<Config>,
    /// Bumped after every swap; the value is the number of swaps so far.
    version: watch::Sender<u64>,
}

impl ConfigHandle {
    /// A handle holding `config` as version 0.
    pub fn new(config: Config) -> Self {
        let (version, _) = watch::channel(0);
        ConfigHandle {
            inner: Arc::new(Inner {
                current: ArcSwap::from_pointee(config),
                version,
            }),
        }
    }

    /// The live config. Hold the `Arc` for the duration of one operation, not longer, so
    /// the next operation sees a reload.
    pub fn current(&self) -> Arc<Config> {
        self.inner.current.load_full()
    }

    /// How many times the config has been replaced.
    pub fn version(&self) -> u64 {
        *self.inner.version.borrow()
    }

    /// A receiver that wakes after each replacement (`changed().await`), carrying the new
    /// version. The config itself is read with [`current`](Self::current).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.version.subscribe()
    }

    /// Swaps in `config` and notifies subscribers; returns the new version. The watcher
    /// calls this; tests and an operator command may too.
    pub fn replace(&self, config: Config) -> u64 {
        self.inner.current.store(Arc::new(config));
        let mut new_version = 0;
        self.inner.version.send_modify(|v| {
            *v += 1;
            new_version = *v;
        });
        new_version
    }
}

impl std::fmt::Debug for ConfigHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigHandle")
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}
