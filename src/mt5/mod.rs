//! The client layer: what sits on any [`crate::terminal::Terminal`] backend.
//!
//! Connection and reconnection ([`client`]), broker time-zone inference ([`tz`]), the
//! symbol-preparation cache ([`symbols`]) and conversions to wire types ([`convert`]).

pub mod client;
pub mod convert;
pub mod symbols;
pub mod tz;

pub use client::Mt5Client;

#[cfg(test)]
mod tests;
