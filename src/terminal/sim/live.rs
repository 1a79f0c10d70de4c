//! The account in memory, kept in step with the state file (other processes may trade on
//! it) and with the market (triggers fire lazily).
//!
//! Two paths:
//! - **read**: under the in-process mutex, look at the journal at most every 100 ms
//!   (reading what another process committed), replay the market in memory and answer.
//!   If the replay would book something (a stop hit, an order filled), take the write path.
//! - **write**: in-process mutex, then the file lock; reload if another process committed,
//!   replay the market, apply the operation, and commit only when something changed: append
//!   to the journal, or write the files whole when the ones on disk cannot be continued
//!   (format 1, vanished, corrupt) or the journal is due for compaction.
//!
//! Memory always mirrors a committed generation: a write that fails is undone in memory
//! from a checkpoint (cheap: history only grows, so it is cut back, not copied).
//!
//! The mutex is never held across an `.await`: callers run these on a blocking thread.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rust_decimal::prelude::ToPrimitive;

use super::account::Account;
use super::catalogue::SymbolSpec;
use super::clock::SimClock;
use super::error::SimError;
use super::journal::Mark;
use super::market::Market;
use super::store::{Loaded, SetAside, Store};
use super::triggers;
use crate::config::SimConfig;
use crate::terminal::{TermError, TermResult};

/// How stale the in-memory account may be before a read looks at the file again.
const RECHECK: Duration = Duration::from_millis(100);

struct Live {
    account: Account,
    generation: u64,
    /// How much of the journal `account`'s history is; `None` when the files on disk must
    /// be written whole at the next write.
    mark: Option<Mark>,
    checked: Option<Instant>,
}

pub(crate) struct Shared {
    pub market: Market,
    pub clock: Arc<dyn SimClock>,
    pub store: Store,
    live: Mutex<Live>,
    /// Market Watch flags per symbol, readable without the account mutex (quote path).
    selection: Mutex<Arc<Vec<bool>>>,
    notice: Mutex<Option<String>>,
}

fn backend(e: SimError) -> TermError {
    TermError::Backend { why: e.to_string() }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| {
        m.clear_poison();
        poisoned.into_inner()
    })
}

/// The account, recovering from a panic in an earlier holder by forgetting the copy in
/// memory (it may be half-updated) so the next refresh reloads the file.
fn lock_live(m: &Mutex<Live>) -> MutexGuard<'_, Live> {
    m.lock().unwrap_or_else(|poisoned| {
        m.clear_poison();
        let mut live = poisoned.into_inner();
        live.generation = 0;
        live.mark = None;
        live.checked = None;
        live
    })
}

fn validate(cfg: &SimConfig) -> Result<f64, SimError> {
    let bad = |why: String| Err(SimError::Config { why });
    let deposit = cfg.balance.to_f64().unwrap_or(f64::NAN);
    if !(deposit.is_finite() && deposit > 0.0) {
        return bad(format!(
            "balance must be a positive amount, got {}",
            cfg.balance
        ));
    }
    if cfg.leverage == 0 {
        return bad("leverage must be at least 1".into());
    }
    let off = cfg.broker_utc_offset_minutes;
    if !(-720..=840).contains(&off) || off % 15 != 0 {
        return bad(format!(
            "broker_utc_offset_minutes must be a multiple of 15 in -720..=840, got {off}"
        ));
    }
    Ok(deposit)
}

impl Shared {
    /// Opens (or creates) the account at `cfg.state_path`. Returns the shared state and the
    /// notice to show when a corrupt file had to be set aside.
    pub(crate) fn open(
        cfg: &SimConfig,
        clock: Arc<dyn SimClock>,
        catalogue: Vec<SymbolSpec>,
    ) -> Result<Self, SimError> {
        let deposit = validate(cfg)?;
        let store = Store::new(&cfg.state_path)?;
        let now = clock.now_ms();
        let guard = store.lock()?;
        let (account, generation, mark, notice) = match store.read(None)? {
            Loaded::Account(disk) => {
                let (generation, mark) = (disk.generation, disk.mark.clone());
                (disk.whole(), generation, mark, None)
            }
            Loaded::Unchanged => unreachable!("nothing was known to be unchanged"),
            Loaded::Missing => {
                let seed = cfg.seed.unwrap_or_else(rand::random);
                let account = Account::fresh(seed, deposit, cfg.leverage as i64, now);
                let generation = now.max(1) as u64;
                let mark = store.commit(&account, generation, None)?;
                tracing::info!(path = %store.path().display(), "sim: opened a new paper account");
                (account, generation, Some(mark), None)
            }
            Loaded::Corrupt { why } => {
                let seed = cfg.seed.unwrap_or_else(rand::random);
                let account = Account::fresh(seed, deposit, cfg.leverage as i64, now);
                let generation = now.max(1) as u64;
                let next =
                    format!("a new paper account with a {deposit:.2} USD deposit was opened");
                let notice = set_aside(&store, &why, now, &next)?;
                let mark = store.commit(&account, generation, None)?;
                (account, generation, Some(mark), Some(notice))
            }
        };
        drop(guard);
        let seed = cfg.seed.unwrap_or(account.seed);
        let market = Market::new(seed, catalogue, cfg.broker_utc_offset_minutes)
            .map_err(|why| SimError::Config { why })?;
        let shared = Self {
            market,
            clock,
            store,
            live: Mutex::new(Live {
                account,
                generation,
                mark,
                checked: Some(Instant::now()),
            }),
            selection: Mutex::new(Arc::new(Vec::new())),
            notice: Mutex::new(notice),
        };
        shared.publish_selection(&lock_live(&shared.live).account);
        Ok(shared)
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub(crate) fn notice(&self) -> Option<String> {
        lock(&self.notice).clone()
    }

    /// Whether symbol `i` is in Market Watch. Cheap: may peek at the file when a check is
    /// due and nobody else holds the account, never waits for it.
    pub(crate) fn selected(&self, i: usize) -> bool {
        if let Ok(mut live) = self.live.try_lock()
            && live.checked.is_none_or(|t| t.elapsed() >= RECHECK)
        {
            let _ = self.refresh(&mut live, false);
        }
        lock(&self.selection).get(i).copied().unwrap_or(false)
    }

    fn publish_selection(&self, acct: &Account) {
        let flags = self
            .market
            .specs()
            .iter()
            .map(|s| acct.is_selected(s.name, s.visible_by_default))
            .collect();
        *lock(&self.selection) = Arc::new(flags);
    }

    /// Brings `live` in line with the files. Returns whether they must be rewritten from
    /// memory (they vanished or were corrupt and have been set aside; only when
    /// `under_lock`).
    fn refresh(&self, live: &mut Live, under_lock: bool) -> Result<bool, SimError> {
        if !under_lock && live.checked.is_some_and(|t| t.elapsed() < RECHECK) {
            return Ok(false);
        }
        live.checked = Some(Instant::now());
        // Format 1 carries its generation at the top of the file; the journal is checked
        // by its length.
        if live.mark.is_none() && self.store.peek_generation() == Some(live.generation) {
            return Ok(false);
        }
        match self.store.read(live.mark.as_ref())? {
            Loaded::Unchanged => Ok(false),
            Loaded::Account(disk) => {
                live.generation = disk.generation;
                live.mark = disk.mark.clone();
                disk.update(&mut live.account);
                self.publish_selection(&live.account);
                Ok(false)
            }
            // Without the lock a writer may be between its steps: keep memory, look again.
            _ if !under_lock => Ok(false),
            Loaded::Missing => {
                tracing::warn!(path = %self.store.path().display(), "sim: paper account file vanished; rewriting it from memory");
                live.mark = None;
                Ok(true)
            }
            Loaded::Corrupt { why } => {
                // Memory holds the last good account: restore it rather than start afresh.
                let next = "the last good state this server held in memory was written back";
                *lock(&self.notice) = Some(set_aside(&self.store, &why, self.now_ms(), next)?);
                live.mark = None;
                Ok(true)
            }
        }
    }

    /// Answers from the account at now; takes the write path only when the market has
    /// something to book first.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Account, &Market, i64) -> R) -> TermResult<R> {
        let now = self.now_ms();
        {
            let mut live = lock_live(&self.live);
            if let Err(e) = self.refresh(&mut live, false) {
                tracing::warn!(
                    "sim: could not reload the paper account, serving the copy in memory: {e}"
                );
            }
            if !triggers::has_work(&live.account, &self.market, now) {
                let acct = &mut live.account;
                acct.processed_ms = acct.processed_ms.max(now);
                return Ok(f(acct, &self.market, now));
            }
        }
        self.write(|acct, market, now| (f(acct, market, now), false))
    }

    /// Applies `f` (which returns its answer and whether it changed the account) under the
    /// file lock, after replaying the market; persists when anything changed.
    pub(crate) fn write<R>(
        &self,
        f: impl FnOnce(&mut Account, &Market, i64) -> (R, bool),
    ) -> TermResult<R> {
        let now = self.now_ms();
        let mut live = lock_live(&self.live);
        let _guard = self.store.lock().map_err(backend)?;
        let mut dirty = self.refresh(&mut live, true).map_err(backend)?;
        let checkpoint = live.account.checkpoint();
        dirty |= triggers::advance(&mut live.account, &self.market, now);
        let (answer, changed) = f(&mut live.account, &self.market, now);
        if dirty || changed {
            let generation = live.generation + 1;
            match self
                .store
                .commit(&live.account, generation, live.mark.as_ref())
            {
                Ok(mark) => {
                    live.mark = Some(mark);
                    live.generation = generation;
                }
                Err(e) => {
                    // Undo in memory so no unsaved trade is ever reported. The files still
                    // end at the last commit (a partial append is cut off by the next one).
                    live.account.rollback(checkpoint);
                    live.checked = None;
                    self.publish_selection(&live.account);
                    return Err(backend(e));
                }
            }
            self.publish_selection(&live.account);
        }
        Ok(answer)
    }
}

/// Renames a corrupt account's files aside, logs it loudly and returns the notice for the
/// user.
fn set_aside(store: &Store, why: &str, now_ms: i64, next: &str) -> Result<String, SimError> {
    let SetAside { state, journal } = store.set_aside(now_ms.div_euclid(1000))?;
    let moved = match (&state, &journal) {
        (Some(s), Some(j)) => format!(
            "It was moved to {} and its journal to {}",
            s.display(),
            j.display()
        ),
        (Some(s), None) => format!("It was moved to {}", s.display()),
        (None, Some(j)) => format!("Its journal was moved to {}", j.display()),
        (None, None) => "Nothing was left to move".into(),
    };
    tracing::error!(
        path = %store.path().display(),
        "sim: the paper account file is corrupt ({why}); {moved}"
    );
    Ok(format!(
        "The paper account file {} was corrupt ({why}). {moved}, and {next}. Nothing was \
         deleted: inspect or restore the moved files if you need their history.",
        store.path().display(),
    ))
}
