//! Wire types: what tools return, with their JSON schemas.
//!
//! Money, prices and volumes are [`num::Dec`] (JSON strings), integers are numbers, optional
//! values are explicit `null`, timestamps are ISO-8601 UTC strings ending in `Z`.

pub mod num;
pub mod time;
pub mod wire;

pub use num::{Dec, DecText};
