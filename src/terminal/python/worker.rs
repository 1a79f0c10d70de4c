//! The one OS thread that owns the embedded interpreter.
//!
//! The MetaTrader5 extension is not thread-safe and keeps per-thread state, so every Python
//! call runs on a single dedicated thread (named `python`) fed by a bounded queue. The
//! async side never blocks on it: each call waits for its reply with a time limit.
//!
//! A running C call cannot be cancelled. So when a call overruns its limit the worker is
//! *unhealthy*: later calls fail at once with a `why` naming the stuck call and since when,
//! instead of piling up behind it. When the stuck call finally returns, the worker is
//! healthy again by itself. Calls that gave up while still queued are skipped, never run
//! late (an `order_send` nobody waits for any more must not reach the broker). A panic in
//! a call is caught on the thread, reported to that caller, and the thread lives on.
//!
//! The worker is generic over the state that lives on its thread (for Python: the loaded
//! library), so it is tested here without Python.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use tokio::sync::oneshot;

/// Why a call did not produce a value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkerError {
    /// An earlier call overran its limit and is still running.
    #[error(
        "the Python backend is stuck: {call}() has been running since {} ({}s, limit {}s); \
         calls fail until it returns", stamp(.since), .running_for.as_secs(), .limit.as_secs()
    )]
    Unhealthy {
        call: &'static str,
        since: DateTime<Utc>,
        running_for: Duration,
        limit: Duration,
    },
    /// This call started but did not return within its limit.
    #[error("{call}() did not return within {}s; the Python backend refuses calls until it does", .limit.as_secs_f64())]
    TimedOut { call: &'static str, limit: Duration },
    /// This call never started: the thread was busy the whole time.
    #[error("{call}() timed out after {}s waiting for the Python thread{}", .limit.as_secs_f64(), busy_with(.behind))]
    TimedOutQueued {
        call: &'static str,
        limit: Duration,
        behind: Option<&'static str>,
    },
    #[error("the Python backend is busy: {queued} calls are already queued{}", busy_with(.running))]
    Busy {
        queued: usize,
        running: Option<&'static str>,
    },
    #[error("{call}() failed inside mt5-mcp: {message}")]
    Panicked { call: &'static str, message: String },
    #[error("the Python thread is gone")]
    Gone,
}

impl WorkerError {
    /// Whether the call certainly never reached the Python thread's library code: refused
    /// while another call is stuck, refused on a full queue, or given up while still queued
    /// (such a job is skipped, never run late).
    pub fn never_started(&self) -> bool {
        matches!(
            self,
            WorkerError::Unhealthy { .. }
                | WorkerError::Busy { .. }
                | WorkerError::TimedOutQueued { .. }
        )
    }
}

fn stamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn busy_with(call: &Option<&'static str>) -> String {
    call.map(|c| format!(" (busy with {c}())"))
        .unwrap_or_default()
}

#[derive(Clone)]
struct Running {
    id: u64,
    call: &'static str,
    started: Instant,
    at: DateTime<Utc>,
    limit: Duration,
}

#[derive(Default)]
struct Shared {
    running: Mutex<Option<Running>>,
}

impl Shared {
    fn running(&self) -> MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

struct Envelope<S> {
    id: u64,
    call: &'static str,
    limit: Duration,
    job: Job<S>,
}

/// Handle to the worker thread. Dropping it lets the thread finish its queue and exit.
pub struct Worker<S> {
    tx: SyncSender<Envelope<S>>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
    capacity: usize,
}

impl<S: 'static> Worker<S> {
    /// Starts the thread; `init` builds its state on the thread itself.
    pub fn spawn(
        name: &str,
        capacity: usize,
        init: impl FnOnce() -> S + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<Envelope<S>>(capacity);
        let shared = Arc::new(Shared::default());
        let on_thread = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let mut state = init();
                while let Ok(env) = rx.recv() {
                    *on_thread.running() = Some(Running {
                        id: env.id,
                        call: env.call,
                        started: Instant::now(),
                        at: Utc::now(),
                        limit: env.limit,
                    });
                    // Jobs catch their own panics; this only guards the loop itself.
                    let _ = catch_unwind(AssertUnwindSafe(|| (env.job)(&mut state)));
                    *on_thread.running() = None;
                }
            })?;
        Ok(Self {
            tx,
            shared,
            next_id: AtomicU64::new(1),
            capacity,
        })
    }

    /// Queues a job nobody waits for (start-up work). It always runs.
    pub fn submit(
        &self,
        call: &'static str,
        limit: Duration,
        f: impl FnOnce(&mut S) + Send + 'static,
    ) -> Result<(), WorkerError> {
        self.check_health()?;
        let job = move |s: &mut S| {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| f(s))) {
                tracing::error!(call, "{}", panic_message(p.as_ref()));
            }
        };
        self.enqueue(self.next_id(), call, limit, Box::new(job))
    }

    /// Runs `f` on the thread and waits for its result at most `limit` (queueing included).
    pub async fn run<R: Send + 'static>(
        &self,
        call: &'static str,
        limit: Duration,
        f: impl FnOnce(&mut S) -> R + Send + 'static,
    ) -> Result<R, WorkerError> {
        self.check_health()?;
        let id = self.next_id();
        let (tx, rx) = oneshot::channel();
        let job = move |s: &mut S| {
            if tx.is_closed() {
                return; // the caller gave up while this was queued
            }
            let out = catch_unwind(AssertUnwindSafe(|| f(s)));
            let _ = tx.send(out.map_err(|p| panic_message(p.as_ref())));
        };
        self.enqueue(id, call, limit, Box::new(job))?;
        match tokio::time::timeout(limit, rx).await {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(message))) => Err(WorkerError::Panicked { call, message }),
            Ok(Err(_)) => Err(WorkerError::Gone),
            Err(_) => {
                let running = self.shared.running().clone();
                match running {
                    Some(r) if r.id == id => Err(WorkerError::TimedOut { call, limit }),
                    other => Err(WorkerError::TimedOutQueued {
                        call,
                        limit,
                        behind: other.map(|r| r.call),
                    }),
                }
            }
        }
    }

    /// `Err` while a call is running past its limit.
    pub fn check_health(&self) -> Result<(), WorkerError> {
        match &*self.shared.running() {
            Some(r) if r.started.elapsed() > r.limit => Err(WorkerError::Unhealthy {
                call: r.call,
                since: r.at,
                running_for: r.started.elapsed(),
                limit: r.limit,
            }),
            _ => Ok(()),
        }
    }

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn enqueue(
        &self,
        id: u64,
        call: &'static str,
        limit: Duration,
        job: Job<S>,
    ) -> Result<(), WorkerError> {
        let env = Envelope {
            id,
            call,
            limit,
            job,
        };
        self.tx.try_send(env).map_err(|e| match e {
            TrySendError::Full(_) => WorkerError::Busy {
                queued: self.capacity,
                running: self.shared.running().as_ref().map(|r| r.call),
            },
            TrySendError::Disconnected(_) => WorkerError::Gone,
        })
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::mpsc::{Receiver, channel};

    use super::*;

    const SHORT: Duration = Duration::from_millis(150);
    const LONG: Duration = Duration::from_secs(10);

    fn worker(capacity: usize) -> Worker<u32> {
        Worker::spawn("python", capacity, || 0u32).unwrap()
    }

    /// A job that blocks the thread until the returned sender sends (or is dropped).
    fn gate() -> (std::sync::mpsc::Sender<()>, Arc<Mutex<Receiver<()>>>) {
        let (tx, rx) = channel();
        (tx, Arc::new(Mutex::new(rx)))
    }

    #[tokio::test]
    async fn calls_run_in_order_on_one_named_thread_with_its_state() {
        let w = worker(8);
        for expected in 1..=3u32 {
            let (n, name) = w
                .run("bump", LONG, |s| {
                    *s += 1;
                    (*s, std::thread::current().name().map(str::to_owned))
                })
                .await
                .unwrap();
            assert_eq!(n, expected);
            assert_eq!(name.as_deref(), Some("python"));
        }
    }

    #[tokio::test]
    async fn a_panicking_call_is_an_error_and_the_thread_lives_on() {
        let w = worker(8);
        let e = w
            .run("symbol_info", LONG, |_| -> u32 { panic!("conversion bug") })
            .await
            .unwrap_err();
        assert_eq!(
            e,
            WorkerError::Panicked {
                call: "symbol_info",
                message: "conversion bug".into()
            }
        );
        assert!(e.to_string().contains("symbol_info()"));
        assert_eq!(w.run("after", LONG, |s| *s + 7).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn an_overrunning_call_makes_later_calls_fail_fast_until_it_returns() {
        let w = worker(8);
        let (release, held) = gate();
        let e = w
            .run("order_send", SHORT, move |_| {
                let _ = held.lock().unwrap().recv();
            })
            .await
            .unwrap_err();
        assert_eq!(
            e,
            WorkerError::TimedOut {
                call: "order_send",
                limit: SHORT
            }
        );
        assert!(
            !e.never_started(),
            "a call that started may still have been sent"
        );

        let started = Instant::now();
        let e = w.run("account_info", LONG, |_| ()).await.unwrap_err();
        // Refused, not queued behind the stuck call: far sooner than its own limit (a
        // loose bound, so a busy machine cannot make it flake).
        assert!(started.elapsed() < LONG / 2, "fails fast");
        assert!(e.never_started(), "refused while another call is stuck");
        match &e {
            WorkerError::Unhealthy { call, limit, .. } => {
                assert_eq!(*call, "order_send");
                assert_eq!(*limit, SHORT);
            }
            other => panic!("expected Unhealthy, got {other:?}"),
        }
        let why = e.to_string();
        assert!(
            why.contains("order_send() has been running since 20"),
            "{why}"
        );

        release.send(()).unwrap();
        let mut recovered = false;
        for _ in 0..100 {
            if w.run("account_info", LONG, |_| ()).await.is_ok() {
                recovered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(recovered, "healthy again once the stuck call returned");
    }

    #[tokio::test]
    async fn a_call_that_gives_up_in_the_queue_is_never_run() {
        let w = Arc::new(worker(8));
        let (release, held) = gate();
        let blocker = {
            let w = Arc::clone(&w);
            tokio::spawn(async move {
                w.run("initialize", LONG, move |_| {
                    let _ = held.lock().unwrap().recv();
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ran);
        let e = w
            .run("order_send", SHORT, move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
            })
            .await
            .unwrap_err();
        assert_eq!(
            e,
            WorkerError::TimedOutQueued {
                call: "order_send",
                limit: SHORT,
                behind: Some("initialize")
            }
        );
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        w.run("sync", LONG, |_| ()).await.unwrap();
        assert_eq!(
            ran.load(Ordering::SeqCst),
            0,
            "abandoned order_send ran late"
        );
    }

    #[tokio::test]
    async fn a_full_queue_fails_fast_naming_the_running_call() {
        let w = Arc::new(worker(1));
        let (release, held) = gate();
        let first = {
            let w = Arc::clone(&w);
            tokio::spawn(async move {
                w.run("copy_rates_from_pos", LONG, move |_| {
                    let _ = held.lock().unwrap().recv();
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let second = {
            let w = Arc::clone(&w);
            tokio::spawn(async move { w.run("queued", LONG, |s| *s).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let e = w.run("third", LONG, |_| ()).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(100));
        assert_eq!(
            e,
            WorkerError::Busy {
                queued: 1,
                running: Some("copy_rates_from_pos")
            }
        );
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        assert_eq!(second.await.unwrap().unwrap(), 0);
    }

    #[tokio::test]
    async fn submitted_work_runs_before_later_calls() {
        let w = worker(8);
        w.submit("load", LONG, |s| *s = 41).unwrap();
        assert_eq!(w.run("read", LONG, |s| *s + 1).await.unwrap(), 42);
    }
}
