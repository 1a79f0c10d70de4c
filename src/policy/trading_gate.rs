//! The one place that answers "may this server trade at all?".
//!
//! DESIGN §7 plans a kill switch: an operator command or a tripped daily-loss limit puts the
//! server in read-only mode until a human resumes it, across restarts. That is not built yet,
//! and this gate does not pretend otherwise: it holds no state and always allows. It exists
//! so that the engine already asks the question in one spot, before anything is claimed or
//! sent, and the kill switch can later answer it (from persisted state) without the trading
//! tools changing.

/// Why trading is stopped. Nothing produces one yet; the kill switch will.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Halted {
    /// Shown to the agent and the human, e.g. who stopped trading and when.
    pub reason: String,
}

/// The trading gate. One value per server (per terminal once several are supported), held by
/// the policy engine.
#[derive(Debug, Default)]
pub struct TradingGate {
    _no_state_yet: (),
}

impl TradingGate {
    pub fn new() -> Self {
        Self::default()
    }

    /// `Ok` when mutating calls may proceed. Today always `Ok`: no kill switch exists.
    pub fn check(&self) -> Result<(), Halted> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_trading_while_no_kill_switch_exists() {
        let gate = TradingGate::new();
        for _ in 0..3 {
            assert_eq!(gate.check(), Ok(()));
        }
    }
}
