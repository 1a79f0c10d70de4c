//! Connection management over any [`Terminal`]: connect, the boot retry, reconnect on a
//! lost IPC link, and the broker offset.
//!
//! DESIGN §6.1: the server answers `initialize` before the terminal is reached. The first
//! connect of the process (with upstream's 30 × 2 s retry when a login is configured) runs
//! as a background task; a tool call that needs the terminal waits for it a few seconds at
//! most and otherwise says the terminal is still connecting. Later connects are single
//! attempts made by the call that needs them.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use tokio::sync::{Mutex, watch};

use super::symbols::SymbolCache;
use super::tz;
use crate::errors::{ErrorCode, ToolError};
use crate::terminal::{BackendKind, InitParams, TermError, TermResult, Terminal};

/// Extra attempts of the first connect when a login is configured (upstream: 30 × 2 s, for
/// a terminal that is still starting and logging in).
const BOOT_RETRIES: u32 = 30;
const BOOT_RETRY_PAUSE: Duration = Duration::from_secs(2);
/// How long a tool call waits for a connect that is already under way.
const CONNECT_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq)]
enum Boot {
    NotStarted,
    Running { attempt: u32, of: u32 },
    Finished(Option<ToolError>),
}

/// One terminal and everything that is per terminal: connection state, broker offset and
/// the symbol cache. Tools reach it through the server state, never through a global, so a
/// server can one day hold several.
pub struct Mt5Client {
    term: Arc<dyn Terminal>,
    init: InitParams,
    boot_retries: u32,
    connected: AtomicBool,
    offset_minutes: AtomicI32,
    connect_lock: Mutex<()>,
    boot: watch::Sender<Boot>,
    pub(crate) symbols: SymbolCache,
}

impl Mt5Client {
    pub fn new(term: Arc<dyn Terminal>, init: InitParams) -> Arc<Self> {
        let boot_retries = if init.login.is_some() {
            BOOT_RETRIES
        } else {
            0
        };
        Arc::new(Self {
            term,
            init,
            boot_retries,
            connected: AtomicBool::new(false),
            offset_minutes: AtomicI32::new(0),
            connect_lock: Mutex::new(()),
            boot: watch::Sender::new(Boot::NotStarted),
            symbols: SymbolCache::default(),
        })
    }

    pub fn backend(&self) -> BackendKind {
        self.term.kind()
    }

    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// Broker clock offset from UTC in minutes, as inferred at the last connect.
    pub fn offset_minutes(&self) -> i32 {
        self.offset_minutes.load(Ordering::Relaxed)
    }

    /// Starts the first connect in the background (eager connect). Idempotent.
    pub fn start_boot(self: &Arc<Self>) {
        let started = self.boot.send_if_modified(|b| {
            if *b == Boot::NotStarted {
                *b = Boot::Running {
                    attempt: 1,
                    of: self.boot_retries + 1,
                };
                true
            } else {
                false
            }
        });
        if !started {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let total = this.boot_retries + 1;
            let mut last = None;
            for attempt in 1..=total {
                this.boot.send_replace(Boot::Running { attempt, of: total });
                match this.connect_once().await {
                    Ok(()) => {
                        last = None;
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(attempt, total, error = %e, "connect to the terminal failed");
                        last = Some(e);
                        if attempt < total {
                            tokio::time::sleep(BOOT_RETRY_PAUSE).await;
                        }
                    }
                }
            }
            if last.is_none() {
                tracing::info!(backend = %this.term.kind(), offset_minutes = this.offset_minutes(), "terminal connected");
            }
            this.boot.send_replace(Boot::Finished(last));
        });
    }

    /// Makes sure the terminal is connected before a tool uses it.
    pub async fn ensure_connected(self: &Arc<Self>) -> Result<(), ToolError> {
        if self.is_connected() {
            return Ok(());
        }
        if matches!(*self.boot.borrow(), Boot::Finished(_)) {
            // The boot connect ended earlier (or the link dropped since): one attempt, so a
            // terminal started after the server is picked up.
            return self.connect_once().await;
        }
        self.start_boot();
        let mut rx = self.boot.subscribe();
        let waited = tokio::time::timeout(
            CONNECT_WAIT,
            rx.wait_for(|b| matches!(b, Boot::Finished(_))),
        )
        .await
        .map(|r| {
            r.map(|b| match &*b {
                Boot::Finished(e) => e.clone(),
                _ => None,
            })
        });
        match waited {
            Err(_) => {
                let (attempt, of) = match &*self.boot.borrow() {
                    Boot::Running { attempt, of } => (*attempt, *of),
                    _ => (0, 0),
                };
                Err(ToolError::not_connected(format!(
                    "the terminal is still connecting (attempt {attempt} of {of}); try again in a few seconds"
                )))
            }
            Ok(Err(_)) => Err(ToolError::not_connected(
                "connection task ended unexpectedly",
            )),
            Ok(Ok(_)) if self.is_connected() => Ok(()),
            Ok(Ok(boot_error)) => Err(boot_error
                .unwrap_or_else(|| ToolError::not_connected("the terminal connection was lost"))),
        }
    }

    /// One connect attempt, serialised with every other: `initialize`, `terminal_info`,
    /// then the broker offset.
    async fn connect_once(&self) -> Result<(), ToolError> {
        let _guard = self.connect_lock.lock().await;
        if self.is_connected() {
            return Ok(());
        }
        match self.term.initialize(&self.init).await {
            Ok(()) => {}
            Err(TermError::Null(le)) => {
                return Err(not_connected_raw(
                    "initialize returned False",
                    le.code,
                    &le.message,
                ));
            }
            Err(TermError::Backend { why } | TermError::NotSent { why }) => {
                return Err(ToolError::not_connected(why));
            }
        }
        let info = match self.term.terminal_info().await {
            Ok(info) => info,
            Err(TermError::Null(le)) => {
                return Err(not_connected_raw(
                    "terminal_info returned None",
                    le.code,
                    &le.message,
                ));
            }
            Err(TermError::Backend { why } | TermError::NotSent { why }) => {
                return Err(ToolError::not_connected(why));
            }
        };
        let offset = self.infer_offset(info.time).await;
        self.offset_minutes.store(offset, Ordering::Relaxed);
        self.symbols.clear();
        self.connected.store(true, Ordering::Release);
        Ok(())
    }

    async fn infer_offset(&self, terminal_time: Option<i64>) -> i32 {
        let now = Utc::now().timestamp();
        if let Some(offset) = tz::from_terminal_clock(terminal_time, now) {
            return offset;
        }
        for symbol in tz::PROBE_SYMBOLS {
            if let Ok(tick) = self.term.symbol_info_tick(symbol).await
                && let Some(offset) = tz::from_tick(tick.time, Utc::now().timestamp())
            {
                return offset;
            }
        }
        tracing::warn!("could not infer the broker time zone from fresh ticks; assuming UTC");
        0
    }

    /// Runs one terminal call. When the library reports a lost IPC link (-10004), the
    /// client reconnects once and repeats the call exactly once (upstream rule); any other
    /// outcome is returned as is for the caller to interpret.
    pub async fn call<T, F, Fut>(&self, f: F) -> Result<TermResult<T>, ToolError>
    where
        F: Fn(Arc<dyn Terminal>) -> Fut,
        Fut: Future<Output = TermResult<T>>,
    {
        let first = f(Arc::clone(&self.term)).await;
        match &first {
            Err(e) if e.is_ipc_lost() => {
                self.connected.store(false, Ordering::Release);
                tracing::warn!("terminal IPC link lost; reconnecting once");
                self.connect_once().await?;
                Ok(f(Arc::clone(&self.term)).await)
            }
            _ => Ok(first),
        }
    }

    /// [`call`](Self::call) where `None` from the library is a legitimate answer.
    pub async fn call_opt<T, F, Fut>(&self, f: F) -> Result<Option<T>, ToolError>
    where
        F: Fn(Arc<dyn Terminal>) -> Fut,
        Fut: Future<Output = TermResult<T>>,
    {
        match self.call(f).await? {
            Ok(v) => Ok(Some(v)),
            Err(TermError::Null(_)) => Ok(None),
            Err(TermError::Backend { why } | TermError::NotSent { why }) => {
                Err(backend_failure(why))
            }
        }
    }

    /// `account_info()`, where no answer means no account is logged in.
    pub async fn logged_in_account(&self) -> Result<crate::terminal::AccountInfo, ToolError> {
        self.call_opt(|t| async move { t.account_info().await })
            .await?
            .ok_or_else(|| {
                ToolError::new(
                    ErrorCode::TERMINAL_NOT_CONNECTED,
                    "account_info returned nothing: no account is logged in.",
                )
            })
    }

    /// Direct access for probes that must not trigger a reconnect (ping's layers decide
    /// for themselves).
    pub fn terminal(&self) -> &Arc<dyn Terminal> {
        &self.term
    }
}

/// A backend failure (library missing, interpreter wedged, call timed out) as a tool error.
pub fn backend_failure(why: String) -> ToolError {
    ToolError::not_connected(why)
}

fn not_connected_raw(why: &str, code: i64, message: &str) -> ToolError {
    let mut e = ToolError::new(
        ErrorCode::TERMINAL_NOT_CONNECTED,
        format!("MetaTrader 5 terminal is not connected: {why}"),
    );
    e.details = Some(json!({ "why": why, "raw_error": [code, message] }));
    e
}
