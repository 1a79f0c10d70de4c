//! The embedded-Python backends: `native` (the MetaTrader5 package) and `bridge`
//! (mt5linux's RPyC proxy to a terminal under Wine).
//!
//! The binary never links Python (DESIGN §2: it must start on machines without one). The
//! `mt5-mcp-py` library built beside it embeds CPython through pyo3 and is opened at run
//! time, only when one of these backends is selected:
//!
//! * `discover`: which interpreter to embed, and loading its runtime library first;
//! * `loader`: finding and opening `mt5-mcp-py`, checking its ABI and Python version;
//! * `worker`: the one `python` thread, bounded queue, per-call time limits, health;
//! * `session`: what lives on that thread (the loaded library) and the wording of errors;
//! * `convert`: the library's records into [`crate::terminal`] records;
//! * `packed`: bars, which cross the boundary as fixed binary records, into [`crate::terminal::Rate`]s;
//! * `terminal`: [`PythonTerminal`], the [`crate::terminal::Terminal`] implementation.
//!
//! Every failure is a [`crate::terminal::TermError::Backend`] whose `why` says what to
//! install or fix; the client turns it into TERMINAL_NOT_CONNECTED, and the server keeps
//! answering.

mod convert;
mod discover;
mod loader;
mod packed;
mod session;
mod terminal;
mod worker;

pub use session::{Flavor, Setup};
pub use terminal::{PythonTerminal, Timeouts};
