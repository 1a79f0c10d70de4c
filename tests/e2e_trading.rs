//! End to end: the four trading tools (place_order, modify_order, close_position,
//! cancel_order) and their policy engine, on the real binary over stdio with the seeded sim
//! broker. Expectations are computed from the quotes and symbol data the server reports,
//! never from fixed prices: the sim's market moves every second.
//!
//! One test binary, split by theme so each file stays readable:
//! - `flows`: every tool's happy path, with the terminal checked afterwards;
//! - `execution`: persistence, valid edge values, deviation reference, filling modes;
//! - `consent`: previews, confirmed retries and INVALID_APPROVAL;
//! - `limits`: notional cap, symbol lists, order-rate cap, their order, and hot reload;
//! - `losses`: max_realised_loss_per_close and max_daily_loss at, below and above;
//! - `idempotency`: replay, divergence, concurrent and cross-process duplicates;
//! - `audit`: the JSONL trail of each event;
//! - `bad_inputs`, `bad_tickets`: typed errors that leave the terminal untouched;
//! - `protocol`: requests that are not tool calls at all (raw JSON-RPC).

mod common;

#[path = "trading/audit.rs"]
mod audit;
#[path = "trading/bad_inputs.rs"]
mod bad_inputs;
#[path = "trading/bad_tickets.rs"]
mod bad_tickets;
#[path = "trading/consent.rs"]
mod consent;
#[path = "trading/execution.rs"]
mod execution;
#[path = "trading/flows.rs"]
mod flows;
#[path = "trading/idempotency.rs"]
mod idempotency;
#[path = "trading/limits.rs"]
mod limits;
#[path = "trading/losses.rs"]
mod losses;
#[path = "trading/protocol.rs"]
mod protocol;
