//! Prices of every symbol at one instant, each evaluated at most once.
//!
//! Valuing an account touches the same quotes many times (a position's close price, its
//! margin, the conversion of both to USD), and the stop-out search values the account
//! thousands of times per catch-up. A snapshot evaluates each symbol's path once per instant
//! and is the single place where money is converted to USD.

use std::cell::Cell;

use super::market::{Market, Quote, Route};

pub(crate) struct Snapshot<'a> {
    market: &'a Market,
    t_ms: i64,
    quotes: Vec<Cell<Option<Quote>>>,
}

impl<'a> Snapshot<'a> {
    pub(crate) fn new(market: &'a Market, t_ms: i64) -> Self {
        Self {
            market,
            t_ms,
            quotes: vec![Cell::new(None); market.specs().len()],
        }
    }

    pub(crate) fn market(&self) -> &'a Market {
        self.market
    }

    /// The latest tick of symbol `i` at this instant.
    pub(crate) fn quote(&self, i: usize) -> Quote {
        if let Some(q) = self.quotes[i].get() {
            return q;
        }
        let q = self.market.quote(i, self.t_ms);
        self.quotes[i].set(Some(q));
        q
    }

    fn convert(&self, route: Route, amount: f64, favour_broker: bool) -> f64 {
        // Gains convert at the side that gives fewer dollars and losses at the side that
        // costs more, like a real server's profit conversion.
        let up = amount < 0.0 || !favour_broker;
        match route {
            Route::Usd => amount,
            Route::Mul(j) => {
                let q = self.quote(j);
                amount * if up { q.ask } else { q.bid }
            }
            Route::Div(j) => {
                let q = self.quote(j);
                amount / if up { q.bid } else { q.ask }
            }
        }
    }

    /// An amount in symbol `i`'s profit currency, in USD.
    pub(crate) fn profit_to_usd(&self, i: usize, amount: f64) -> f64 {
        self.convert(self.market.profit_route(i), amount, true)
    }

    /// An amount in symbol `i`'s margin currency, in USD (at the rate giving the larger
    /// requirement).
    pub(crate) fn margin_to_usd(&self, i: usize, amount: f64) -> f64 {
        self.convert(self.market.margin_route(i), amount, false)
    }

    /// Bound on how far the log of the rate converting symbol `i`'s profit to USD can move
    /// within `dt` seconds, including a switch between its bid and ask (0 for USD).
    pub(crate) fn profit_conversion_reach(&self, i: usize, dt: f64) -> f64 {
        self.route_reach(self.market.profit_route(i), dt)
    }

    /// Same as [`Snapshot::profit_conversion_reach`] for the margin currency.
    pub(crate) fn margin_conversion_reach(&self, i: usize, dt: f64) -> f64 {
        self.route_reach(self.market.margin_route(i), dt)
    }

    fn route_reach(&self, route: Route, dt: f64) -> f64 {
        match route {
            Route::Usd => 0.0,
            Route::Mul(j) | Route::Div(j) => {
                let s = self.market.spec(j);
                let spread = (s.spread_max + 2) as f64 * s.point() / self.quote(j).bid;
                self.market.max_log_move(j, dt) + spread
            }
        }
    }
}
