//! The paper account as it is persisted: balance, open positions, pending orders, the
//! order and deal history, ticket counters, Market Watch selection and the instant up to
//! which the market has been processed.
//!
//! Times are real UTC epoch milliseconds here; conversion to broker time happens only when
//! records are shown (`view.rs`). Money is in USD, rounded to cents when booked.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::terminal::consts;

/// The fixed login of the paper account.
pub(crate) const LOGIN: i64 = 52_000_001;
/// First order (and position) ticket; deals have their own sequence, as on MT5.
const FIRST_ORDER: i64 = 10_000_001;
const FIRST_DEAL: i64 = 50_000_001;
/// `DEAL_REASON_CLIENT`: operations made by the broker's back office or the client.
pub(crate) const DEAL_REASON_CLIENT: i64 = 0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PositionRec {
    /// Also the position identifier: the ticket of the order that opened it.
    pub ticket: i64,
    pub symbol: String,
    /// `POSITION_TYPE_*`.
    pub kind: i64,
    pub volume: f64,
    pub price_open: f64,
    pub sl: f64,
    pub tp: f64,
    /// Swap accrued so far, USD.
    pub swap: f64,
    pub magic: i64,
    pub comment: String,
    pub time_ms: i64,
    pub time_update_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OrderRec {
    pub ticket: i64,
    pub symbol: String,
    /// `ORDER_TYPE_*`.
    pub kind: i64,
    pub volume_initial: f64,
    pub volume_current: f64,
    pub price_open: f64,
    pub price_stoplimit: f64,
    pub sl: f64,
    pub tp: f64,
    /// `ORDER_TIME_*`.
    pub type_time: i64,
    pub type_filling: i64,
    /// `time_expiration` as reported (broker epoch seconds; 0 for GTC and DAY).
    pub expiration: i64,
    /// When the order actually expires (UTC ms), for DAY, SPECIFIED and SPECIFIED_DAY.
    pub expires_ms: Option<i64>,
    pub magic: i64,
    pub comment: String,
    /// `ORDER_STATE_*`.
    pub state: i64,
    pub position_id: i64,
    /// `ORDER_REASON_*` (same values as the deal reasons used here).
    pub reason: i64,
    pub time_setup_ms: i64,
    pub time_done_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DealRec {
    pub ticket: i64,
    pub order: i64,
    pub time_ms: i64,
    /// `DEAL_TYPE_*`.
    pub kind: i64,
    /// `DEAL_ENTRY_*`.
    pub entry: i64,
    pub magic: i64,
    pub position_id: i64,
    pub reason: i64,
    pub volume: f64,
    pub price: f64,
    pub commission: f64,
    pub swap: f64,
    pub profit: f64,
    pub fee: f64,
    pub symbol: String,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Account {
    pub login: i64,
    pub leverage: i64,
    pub currency: String,
    /// Seed of the price paths chosen when the account was created.
    pub seed: u64,
    pub created_ms: i64,
    pub balance: f64,
    pub next_order: i64,
    pub next_deal: i64,
    /// Triggers, expirations and swaps have been applied up to this instant (UTC ms).
    pub processed_ms: i64,
    /// Market Watch choices that differ from a symbol's default visibility.
    #[serde(default)]
    pub selected: BTreeMap<String, bool>,
    pub positions: Vec<PositionRec>,
    /// Active pending orders.
    pub orders: Vec<OrderRec>,
    /// Only ever appended to. Persisted record by record in the history journal, never inside
    /// the state file (`store.rs`), so they are skipped when serialising; a format-1 state
    /// file still carries them inline, hence the default when reading.
    #[serde(default, skip_serializing)]
    pub history_orders: Vec<OrderRec>,
    #[serde(default, skip_serializing)]
    pub deals: Vec<DealRec>,
}

/// The account as it was before an operation, without copying the history: restoring the
/// open part and cutting the (append-only) history back to its old lengths undoes anything.
#[derive(Debug)]
pub(crate) struct Checkpoint {
    open: Account,
    history_orders: usize,
    deals: usize,
}

impl Account {
    /// A new demo account: the opening deposit is a balance deal in history, as on a real
    /// server.
    pub(crate) fn fresh(seed: u64, deposit: f64, leverage: i64, now_ms: i64) -> Self {
        let mut acct = Self {
            login: LOGIN,
            leverage,
            currency: "USD".into(),
            seed,
            created_ms: now_ms,
            balance: 0.0,
            next_order: FIRST_ORDER,
            next_deal: FIRST_DEAL,
            processed_ms: now_ms,
            selected: BTreeMap::new(),
            positions: Vec::new(),
            orders: Vec::new(),
            history_orders: Vec::new(),
            deals: Vec::new(),
        };
        acct.book_balance(deposit, now_ms, "Initial deposit");
        acct
    }

    pub(crate) fn take_order_ticket(&mut self) -> i64 {
        let t = self.next_order;
        self.next_order += 1;
        t
    }

    pub(crate) fn take_deal_ticket(&mut self) -> i64 {
        let t = self.next_deal;
        self.next_deal += 1;
        t
    }

    /// A balance operation (deposit or withdrawal) booked as a `DEAL_TYPE_BALANCE` deal.
    pub(crate) fn book_balance(&mut self, amount: f64, now_ms: i64, comment: &str) {
        let ticket = self.take_deal_ticket();
        let amount = super::market::round_money(amount);
        self.balance = super::market::round_money(self.balance + amount);
        self.deals.push(DealRec {
            ticket,
            order: 0,
            time_ms: now_ms,
            kind: consts::DEAL_TYPE_BALANCE,
            entry: consts::DEAL_ENTRY_IN,
            magic: 0,
            position_id: 0,
            reason: DEAL_REASON_CLIENT,
            volume: 0.0,
            price: 0.0,
            commission: 0.0,
            swap: 0.0,
            profit: amount,
            fee: 0.0,
            symbol: String::new(),
            comment: comment.into(),
        });
    }

    pub(crate) fn position_index(&self, ticket: i64) -> Option<usize> {
        self.positions.iter().position(|p| p.ticket == ticket)
    }

    pub(crate) fn order_index(&self, ticket: i64) -> Option<usize> {
        self.orders.iter().position(|o| o.ticket == ticket)
    }

    /// Whether the symbol is in Market Watch, given its default.
    pub(crate) fn is_selected(&self, symbol: &str, default: bool) -> bool {
        self.selected.get(symbol).copied().unwrap_or(default)
    }

    /// Whether anything open refers to `symbol` (the terminal then refuses to hide it).
    pub(crate) fn has_exposure(&self, symbol: &str) -> bool {
        self.positions.iter().any(|p| p.symbol == symbol)
            || self.orders.iter().any(|o| o.symbol == symbol)
    }

    /// A copy of everything but the history (balance, positions, orders, counters...).
    /// Destructures exhaustively so that a new field cannot be forgotten here.
    pub(crate) fn open_copy(&self) -> Account {
        let Account {
            login,
            leverage,
            currency,
            seed,
            created_ms,
            balance,
            next_order,
            next_deal,
            processed_ms,
            selected,
            positions,
            orders,
            history_orders: _,
            deals: _,
        } = self;
        Account {
            login: *login,
            leverage: *leverage,
            currency: currency.clone(),
            seed: *seed,
            created_ms: *created_ms,
            balance: *balance,
            next_order: *next_order,
            next_deal: *next_deal,
            processed_ms: *processed_ms,
            selected: selected.clone(),
            positions: positions.clone(),
            orders: orders.clone(),
            history_orders: Vec::new(),
            deals: Vec::new(),
        }
    }

    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            open: self.open_copy(),
            history_orders: self.history_orders.len(),
            deals: self.deals.len(),
        }
    }

    /// Returns to `cp`, taken earlier on this account.
    pub(crate) fn rollback(&mut self, cp: Checkpoint) {
        let mut history_orders = std::mem::take(&mut self.history_orders);
        let mut deals = std::mem::take(&mut self.deals);
        history_orders.truncate(cp.history_orders);
        deals.truncate(cp.deals);
        *self = Account {
            history_orders,
            deals,
            ..cp.open
        };
    }

    /// Moves a pending order to history in `state` at `now_ms`.
    pub(crate) fn retire_order(&mut self, idx: usize, state: i64, now_ms: i64) -> OrderRec {
        let mut o = self.orders.remove(idx);
        o.state = state;
        o.time_done_ms = Some(now_ms);
        self.history_orders.push(o.clone());
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_account_books_the_deposit_as_a_balance_deal() {
        let a = Account::fresh(7, 10_000.0, 100, 1_000);
        assert_eq!(a.balance, 10_000.0);
        assert_eq!(a.deals.len(), 1);
        let d = &a.deals[0];
        assert_eq!(
            (d.kind, d.profit, d.time_ms, d.symbol.as_str()),
            (2, 10_000.0, 1_000, "")
        );
        assert_eq!(a.next_deal, d.ticket + 1);
        assert!(a.positions.is_empty() && a.orders.is_empty());
    }

    #[test]
    fn account_round_trips_through_json_without_its_history() {
        let mut a = Account::fresh(u64::MAX - 3, 5_000.0, 30, 42);
        a.selected.insert("USDCHF".into(), true);
        let text = serde_json::to_string(&a).unwrap();
        assert!(
            !text.contains("deals") && !text.contains("Initial deposit"),
            "{text}"
        );
        let back: Account = serde_json::from_str(&text).unwrap();
        assert_eq!(back, a.open_copy());
        assert_eq!(back.balance, 5_000.0);
    }

    #[test]
    fn an_inline_history_is_still_read() {
        let a = Account::fresh(3, 5_000.0, 30, 42);
        let mut v = serde_json::to_value(&a).unwrap();
        v["deals"] = serde_json::to_value(&a.deals).unwrap();
        v["history_orders"] = serde_json::json!([]);
        let back: Account = serde_json::from_value(v).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn rollback_undoes_changes_to_the_open_part_and_the_history() {
        let mut a = Account::fresh(3, 5_000.0, 30, 42);
        a.book_balance(100.0, 43, "before");
        let before = a.clone();
        let cp = a.checkpoint();
        a.book_balance(-250.0, 44, "undone");
        a.selected.insert("EURJPY".into(), true);
        a.processed_ms = 99;
        assert_ne!(a, before);
        a.rollback(cp);
        assert_eq!(a, before);
    }
}
