//! Transports. stdio now; loopback HTTP arrives with its own issue.

pub mod guard;
pub mod output;
pub mod prerendered;
pub mod splice;
pub mod stdio;
