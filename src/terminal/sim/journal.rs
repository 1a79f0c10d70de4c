//! The account journal's encoding: one compact JSON object per line.
//!
//! ```text
//! {"journal":"5d0c2f7e9a41b388","format":2}              header: this journal's id
//! {"order":{"ticket":10000001,...}}                      history records booked by a write,
//! {"deal":{"ticket":50000002,...}}                       then the account's open part after it:
//! {"state":{"generation":8,"orders":1,"deals":2,"account":{...}}}
//! ```
//!
//! A write appends its new history records and one `state` line; the `state` line is the
//! commit. Its counts say how many records the journal holds up to it, so a record lost or
//! duplicated is caught. Lines after the last complete `state` line are an append that a
//! crash tore or that failed: they are not committed, never read, and the next write cuts
//! them off. A journal is only ever created whole under a new id, so a reader that finds
//! the id it knows can read just the bytes after the ones it has.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::account::{Account, DealRec, OrderRec};

/// Format of the journal (and of the state file that points at it).
pub(crate) const FORMAT: u32 = 2;

/// How far a reader has read a journal: up to the end of a `state` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mark {
    /// The id in the journal's header.
    pub journal: String,
    /// Committed length, header included.
    pub bytes: u64,
    /// History orders and deals committed.
    pub orders: usize,
    pub deals: usize,
    /// Bytes of `state` lines that a later one superseded; [`super::store`] compacts the
    /// journal when they dominate it.
    pub superseded: u64,
    /// Length of the last `state` line (superseded by the next commit).
    pub last_state: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    journal: String,
    format: u32,
}

#[derive(Serialize)]
enum EntryRef<'a> {
    #[serde(rename = "order")]
    Order(&'a OrderRec),
    #[serde(rename = "deal")]
    Deal(&'a DealRec),
    #[serde(rename = "state")]
    State(StateRef<'a>),
}

#[derive(Serialize)]
struct StateRef<'a> {
    generation: u64,
    orders: usize,
    deals: usize,
    /// Serialises without its history (`account.rs`).
    account: &'a Account,
}

/// A line as first read: the account inside a `state` line is only checked for syntax, and
/// decoded once, for the last commit.
#[derive(Deserialize)]
enum Entry {
    #[serde(rename = "order")]
    Order(OrderRec),
    #[serde(rename = "deal")]
    Deal(DealRec),
    #[serde(rename = "state")]
    State(StateHead),
}

#[derive(Deserialize)]
struct StateHead {
    orders: usize,
    deals: usize,
    #[allow(dead_code)]
    account: IgnoredAny,
}

#[derive(Deserialize)]
enum LastState {
    #[serde(rename = "state")]
    State { generation: u64, account: Account },
}

/// A fresh random journal id (16 hex digits).
pub(crate) fn new_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The header line, newline included.
pub(crate) fn header(id: &str) -> Vec<u8> {
    let mut line = serde_json::to_vec(&Header {
        journal: id.into(),
        format: FORMAT,
    })
    .expect("a header serialises");
    line.push(b'\n');
    line
}

/// Longest header [`parse_header`] looks at.
pub(crate) const HEADER_MAX: usize = 96;

/// What the first bytes of a journal say.
#[derive(Debug, PartialEq)]
pub(crate) enum Head {
    /// Our format: the id and the header's length, newline included.
    Ours {
        id: String,
        len: u64,
    },
    Newer(u32),
    Bad(String),
}

pub(crate) fn parse_header(head: &[u8]) -> Head {
    let Some(end) = head.iter().position(|&b| b == b'\n') else {
        return Head::Bad("it does not start with a journal header line".into());
    };
    match serde_json::from_slice::<Header>(&head[..end]) {
        Ok(h) if h.format > FORMAT => Head::Newer(h.format),
        Ok(h) if h.format == FORMAT && valid_id(&h.journal) => Head::Ours {
            id: h.journal,
            len: end as u64 + 1,
        },
        Ok(_) => Head::Bad("its header is not one this version writes".into()),
        Err(e) => Head::Bad(format!("its first line is not a journal header ({e})")),
    }
}

fn valid_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Appends a commit to `out`: the history records after the first `from_orders` orders and
/// `from_deals` deals of `account`, then its `state` line. Returns the state line's length.
pub(crate) fn encode_commit(
    out: &mut Vec<u8>,
    account: &Account,
    generation: u64,
    from_orders: usize,
    from_deals: usize,
) -> u64 {
    let records = account.history_orders[from_orders..]
        .iter()
        .map(EntryRef::Order)
        .chain(account.deals[from_deals..].iter().map(EntryRef::Deal));
    for r in records {
        serde_json::to_writer(&mut *out, &r).expect("history records serialise");
        out.push(b'\n');
    }
    let start = out.len();
    let state = EntryRef::State(StateRef {
        generation,
        orders: account.history_orders.len(),
        deals: account.deals.len(),
        account,
    });
    serde_json::to_writer(&mut *out, &state).expect("the account serialises");
    out.push(b'\n');
    (out.len() - start) as u64
}

/// The commits found in a run of journal bytes.
#[derive(Debug)]
pub(crate) struct Replay {
    /// Committed history records, in file order.
    pub orders: Vec<OrderRec>,
    pub deals: Vec<DealRec>,
    /// The last commit's generation and open account (history empty); `None` when the
    /// bytes hold no complete commit.
    pub state: Option<(u64, Account)>,
    /// Bytes up to the end of the last `state` line.
    pub committed: u64,
    /// Lengths of the `state` lines before the last one, summed, and of the last one.
    pub superseded: u64,
    pub last_state: u64,
}

/// Reads the commits in `bytes`, which start right after a commit (or the header) that left
/// `base_orders` orders and `base_deals` deals. An unreadable line is tolerated only as the
/// start of the uncommitted tail: a `state` line after it means committed data is damaged.
pub(crate) fn replay(
    bytes: &[u8],
    base_orders: usize,
    base_deals: usize,
) -> Result<Replay, String> {
    let mut out = Replay {
        orders: Vec::new(),
        deals: Vec::new(),
        state: None,
        committed: 0,
        superseded: 0,
        last_state: 0,
    };
    let (mut pending_orders, mut pending_deals) = (Vec::new(), Vec::new());
    let mut last: Option<std::ops::Range<usize>> = None;
    let mut pos = 0;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if !line.ends_with(b"\n") {
            break; // a torn last line
        }
        match serde_json::from_slice::<Entry>(line) {
            Ok(Entry::Order(o)) => pending_orders.push(o),
            Ok(Entry::Deal(d)) => pending_deals.push(d),
            Ok(Entry::State(s)) => {
                out.orders.append(&mut pending_orders);
                out.deals.append(&mut pending_deals);
                let expected = (base_orders + out.orders.len(), base_deals + out.deals.len());
                if (s.orders, s.deals) != expected {
                    return Err(format!(
                        "the commit ending at byte {} counts {} orders and {} deals, the \
                         journal holds {} and {}",
                        pos + line.len(),
                        s.orders,
                        s.deals,
                        expected.0,
                        expected.1
                    ));
                }
                if let Some(prev) = last.replace(pos..pos + line.len()) {
                    out.superseded += prev.len() as u64;
                }
            }
            Err(e) => {
                if commits_after(&bytes[pos + line.len()..]) {
                    return Err(format!("unreadable line at byte {pos} ({e})"));
                }
                break;
            }
        }
        pos += line.len();
    }
    if let Some(range) = last {
        let LastState::State {
            generation,
            account,
        } = serde_json::from_slice(&bytes[range.clone()])
            .map_err(|e| format!("the commit at byte {} is unreadable ({e})", range.start))?;
        out.state = Some((generation, account));
        out.committed = range.end as u64;
        out.last_state = range.len() as u64;
    }
    Ok(out)
}

/// Whether `rest` holds a complete `state` line.
fn commits_after(rest: &[u8]) -> bool {
    rest.split_inclusive(|&b| b == b'\n')
        .filter(|l| l.ends_with(b"\n") && l.starts_with(b"{\"state\":"))
        .any(|l| serde_json::from_slice::<Entry>(l).is_ok())
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
