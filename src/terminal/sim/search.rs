//! Finding the first tick at which a price level is touched, without visiting every second.
//!
//! Between two accesses the market may have run for a second or for a week. Pending orders,
//! stop losses and take profits must fire at the exact tick where the price first reached
//! them, so the search is exact to the second; it stays cheap because the price path has a
//! known speed limit ([`Market::max_log_move`]): an interval whose start price is further
//! from every level than the path can travel in that interval is skipped whole, and other
//! intervals are halved. Catching up a day costs a few hundred evaluations.
//!
//! The work is capped by a [`Budget`]; once spent, remaining intervals are only sampled at
//! their end (one-second precision is traded for a bounded call time) and a warning is
//! logged.

use super::market::{Market, Quote};

/// Which side of the quote a level is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Bid,
    Ask,
}

/// A level that fires when the side price reaches it from below (`up`) or from above.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Watch {
    pub side: Side,
    pub up: bool,
    pub level: f64,
}

impl Watch {
    pub(crate) fn fires(&self, q: &Quote) -> bool {
        let p = match self.side {
            Side::Bid => q.bid,
            Side::Ask => q.ask,
        };
        if self.up {
            p >= self.level
        } else {
            p <= self.level
        }
    }
}

/// Price evaluations one catch-up may spend on exact search.
pub(crate) const DEFAULT_BUDGET: u32 = 60_000;
/// Intervals this short are scanned tick by tick.
const LEAF: i64 = 8;

/// Evaluation allowance shared by all searches of one catch-up.
#[derive(Debug)]
pub(crate) struct Budget {
    left: u32,
    warned: bool,
}

impl Budget {
    pub(crate) fn new(evaluations: u32) -> Self {
        Self {
            left: evaluations,
            warned: false,
        }
    }

    /// Evaluations not yet spent.
    #[cfg(test)]
    pub(crate) fn left(&self) -> u32 {
        self.left
    }

    /// Takes one evaluation; `false` (and a warning, once) when none is left.
    pub(crate) fn spend(&mut self) -> bool {
        if self.left == 0 {
            if !self.warned {
                self.warned = true;
                tracing::warn!("sim: market catch-up budget spent; sampling the rest coarsely");
            }
            return false;
        }
        self.left -= 1;
        true
    }
}

/// The first tick `k` in `k_lo..=k_hi` of symbol `i` at which any watch fires.
pub(crate) fn first_hit(
    market: &Market,
    i: usize,
    watches: &[Watch],
    k_lo: i64,
    k_hi: i64,
    budget: &mut Budget,
) -> Option<(i64, Quote)> {
    if watches.is_empty() || k_lo > k_hi {
        return None;
    }
    let spec = market.spec(i);
    let slack = (spec.spread_max + 2) as f64 * spec.point();
    Search {
        market,
        i,
        watches,
        slack,
        budget,
    }
    .interval(k_lo, k_hi)
}

struct Search<'a> {
    market: &'a Market,
    i: usize,
    watches: &'a [Watch],
    /// Widening of the mid's reachable range to cover any bid or ask around it.
    slack: f64,
    budget: &'a mut Budget,
}

impl Search<'_> {
    fn probe(&mut self, k: i64) -> Option<(i64, Quote)> {
        let q = self.market.quote_k(self.i, k);
        self.watches.iter().any(|w| w.fires(&q)).then_some((k, q))
    }

    fn interval(&mut self, a: i64, b: i64) -> Option<(i64, Quote)> {
        if !self.budget.spend() {
            return self.probe(b);
        }
        if b - a < LEAF {
            return (a..=b).find_map(|k| self.probe(k));
        }
        let centre = self.market.log_mid(self.i, a);
        let reach = self.market.max_log_move(self.i, (b - a) as f64);
        let lo = (centre - reach).exp() - self.slack;
        let hi = (centre + reach).exp() + self.slack;
        let reachable = self
            .watches
            .iter()
            .any(|w| if w.up { hi >= w.level } else { lo <= w.level });
        if !reachable {
            return None;
        }
        let mid = a + (b - a) / 2;
        self.interval(a, mid).or_else(|| self.interval(mid + 1, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::sim::catalogue::default_catalogue;

    const K0: i64 = 1_767_225_600;

    fn brute(m: &Market, i: usize, ws: &[Watch], a: i64, b: i64) -> Option<i64> {
        (a..=b).find(|&k| ws.iter().any(|w| w.fires(&m.quote_k(i, k))))
    }

    #[test]
    fn search_finds_exactly_the_first_crossing_tick() {
        let m = Market::new(17, default_catalogue(), 0).unwrap();
        for name in ["EURUSD", "EURJPY", "BTCUSD"] {
            let i = m.index(name).unwrap();
            let q0 = m.quote_k(i, K0);
            let span = 6 * 3_600;
            let pt = m.spec(i).point();
            for (side, up, delta_pts) in [
                (Side::Bid, true, 40.0),
                (Side::Bid, false, -40.0),
                (Side::Ask, true, 150.0),
                (Side::Ask, false, -150.0),
                (Side::Bid, true, 1e9),
            ] {
                let ws = [Watch {
                    side,
                    up,
                    level: q0.bid + delta_pts * pt,
                }];
                let mut budget = Budget::new(DEFAULT_BUDGET);
                let got = first_hit(&m, i, &ws, K0 + 1, K0 + span, &mut budget).map(|(k, _)| k);
                assert_eq!(
                    got,
                    brute(&m, i, &ws, K0 + 1, K0 + span),
                    "{name} {side:?} {up} {delta_pts}"
                );
            }
        }
    }

    #[test]
    fn a_far_level_over_a_month_costs_few_evaluations() {
        let m = Market::new(3, default_catalogue(), 0).unwrap();
        let ws = [Watch {
            side: Side::Bid,
            up: true,
            level: 1e6,
        }];
        let mut budget = Budget::new(DEFAULT_BUDGET);
        assert!(first_hit(&m, 0, &ws, K0, K0 + 30 * 86_400, &mut budget).is_none());
        assert!(
            DEFAULT_BUDGET - budget.left < 100,
            "spent {}",
            DEFAULT_BUDGET - budget.left
        );
    }

    #[test]
    fn a_spent_budget_still_terminates_and_samples() {
        let m = Market::new(3, default_catalogue(), 0).unwrap();
        let q = m.quote_k(0, K0 + 500);
        let ws = [Watch {
            side: Side::Bid,
            up: true,
            level: q.bid - 1.0,
        }];
        let mut budget = Budget::new(0);
        let hit = first_hit(&m, 0, &ws, K0, K0 + 1_000_000, &mut budget);
        assert!(
            hit.is_some(),
            "every sample fires, so the first sampled tick is returned"
        );
    }
}
