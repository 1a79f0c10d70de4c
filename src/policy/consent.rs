//! The consent gate's memory: approval previews waiting for a confirmed retry, and the rules
//! that decide whether a retry matches the preview a human approved.
//!
//! Previews live in memory only: a restart invalidates every pending approval, which is what
//! a human expects (they re-approve against the market as it is now). Unlike upstream
//! (reference §3.3) the store is bounded: expired previews are purged on every insert and,
//! when it is still full, the oldest preview is dropped, so an agent that never confirms
//! cannot grow the server's memory (DESIGN §3.8).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use ulid::Ulid;

/// The result of [`ConsentStore::take`].
#[derive(Debug, Clone, PartialEq)]
pub enum Take {
    /// The preview, now removed from the store.
    Found(Value),
    /// The id existed but its preview had expired (it is removed all the same).
    Expired,
    /// No preview under that id: never issued, already used, or evicted.
    Unknown,
}

/// Single-use approval previews keyed by request id. `Send + Sync`.
#[derive(Debug)]
pub struct ConsentStore {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<String, Slot>,
    /// Insertion order, for evicting the oldest.
    order: BTreeMap<u64, String>,
    next_seq: u64,
}

#[derive(Debug)]
struct Slot {
    preview: Value,
    expires_at: DateTime<Utc>,
    seq: u64,
}

impl Inner {
    fn remove(&mut self, id: &str) -> Option<Slot> {
        let slot = self.by_id.remove(id)?;
        self.order.remove(&slot.seq);
        Some(slot)
    }
}

impl ConsentStore {
    /// A store holding at most `capacity` previews (at least one).
    pub fn new(capacity: usize) -> Self {
        ConsentStore {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Stores `preview` until `expires_at` and returns its new request id: a ULID (26
    /// characters, Crockford base32, upper case) stamped with `now`.
    pub fn insert(&self, preview: Value, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let expired: Vec<String> = inner
            .by_id
            .iter()
            .filter(|(_, slot)| slot.expires_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            inner.remove(&id);
        }
        while inner.by_id.len() >= self.capacity {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            inner.by_id.remove(&oldest);
        }
        let id = loop {
            let candidate = Ulid::from_datetime(now.into()).to_string();
            if !inner.by_id.contains_key(&candidate) {
                break candidate;
            }
        };
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.order.insert(seq, id.clone());
        inner.by_id.insert(
            id.clone(),
            Slot {
                preview,
                expires_at,
                seq,
            },
        );
        id
    }

    /// Removes and returns the preview for `id`. Single use: a second take of the same id
    /// is [`Take::Unknown`], and an expired preview is removed too.
    pub fn take(&self, id: &str, now: DateTime<Utc>) -> Take {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match inner.remove(id) {
            None => Take::Unknown,
            Some(slot) if slot.expires_at <= now => Take::Expired,
            Some(slot) => Take::Found(slot.preview),
        }
    }

    /// Previews currently held (expired ones included until the next insert purges them).
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_id
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Fields a retry must repeat exactly (reference §3.4). SL, TP, prices, comment, deviation
/// and expiration may change between preview and retry.
const MATCHED_FIELDS: &[&str] = &["symbol", "side", "type", "volume", "ticket"];

/// Whether a confirmed retry may execute under the approval its preview recorded. The
/// `Err` text is the `reason` of INVALID_APPROVAL, worded as upstream.
///
/// * `echo`: the preview's `request_echo`; `retry`: the retry's echo (same shape).
/// * `reference_quote`: the preview's `{bid, ask, ...}`; the reference price is its ask for a
///   buy and its bid otherwise (close and modify echoes carry no side).
/// * `reference_price`: overrides that quote. The engine passes the preview's own price for
///   a priced pending order (DESIGN §3.8), with the retry's price as `current_price`, so a
///   limit far from the market can be confirmed while a changed limit price cannot.
/// * `current_price`: what the retry would trade at now; `point`: the symbol's point, which
///   with the echo's `deviation` widens the tolerance beyond 0.5 % of the reference.
#[allow(clippy::too_many_arguments)] // each input is a distinct fact the engine holds
pub fn validate_retry(
    echo: &Value,
    retry: &Value,
    reference_quote: &Value,
    reference_price: Option<Decimal>,
    current_price: Decimal,
    point: Decimal,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    if expires_at <= now {
        return Err("approval expired before retry arrived".to_owned());
    }

    for field in MATCHED_FIELDS {
        let Some(new_val) = retry.get(field) else {
            continue;
        };
        let old_val = match echo.get(field) {
            None | Some(Value::Null) => continue,
            Some(v) => v,
        };
        // The volume is the one decimal among the matched fields; compared by value, so
        // "0.1" confirms a preview of "0.10".
        let new_dec = match new_val {
            Value::String(s) if *field == "volume" => Decimal::from_str(s.trim()).ok(),
            _ => None,
        };
        if let Some(new_dec) = new_dec {
            let old_dec = match old_val {
                Value::String(s) => Decimal::from_str(s.trim()).ok(),
                Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
                _ => None,
            };
            let Some(old_dec) = old_dec else {
                return Err(format!("{field} stored as non-numeric in preview"));
            };
            if new_dec != old_dec {
                return Err(format!(
                    "{field} mismatch: preview={} retry={new_dec}",
                    python_str(old_val)
                ));
            }
        } else if new_val != old_val {
            return Err(format!(
                "{field} mismatch: preview={} retry={}",
                python_str(old_val),
                python_str(new_val)
            ));
        }
    }

    let reference = match reference_price {
        Some(price) => price,
        None => {
            let side_key = if echo.get("side").and_then(Value::as_str) == Some("buy") {
                "ask"
            } else {
                "bid"
            };
            decimal_of(reference_quote.get(side_key))
                .ok_or_else(|| format!("preview has no reference {side_key} price"))?
        }
    };
    let pct_band = reference * Decimal::new(5, 3);
    let deviation = echo.get("deviation").and_then(Value::as_i64).unwrap_or(0);
    let dev_band = Decimal::from(deviation) * point;
    // Python's max() keeps the first of equal values; the scale shows in the message.
    let tolerance = if dev_band > pct_band {
        dev_band
    } else {
        pct_band
    };
    if (current_price - reference).abs() > tolerance {
        return Err(format!(
            "price drifted beyond tolerance: ref={reference} now={current_price} tolerance={tolerance}"
        ));
    }
    Ok(())
}

fn decimal_of(v: Option<&Value>) -> Option<Decimal> {
    match v? {
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        _ => None,
    }
}

/// How Python's `str()` shows a JSON-mode value in upstream's reason texts.
fn python_str(v: &Value) -> String {
    match v {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[path = "consent_tests.rs"]
mod tests;
