//! A terminal that cannot be reached at all: its backend is not built in, the Python
//! library is missing, or the paper account could not be opened.
//!
//! The server still starts and answers (DESIGN §6.1); every terminal call reports the same
//! actionable `why`, which tools turn into TERMINAL_NOT_CONNECTED and `doctor` prints.

use async_trait::async_trait;

use super::*;

pub struct UnavailableTerminal {
    kind: BackendKind,
    why: String,
}

impl UnavailableTerminal {
    pub fn new(kind: BackendKind, why: impl Into<String>) -> Self {
        Self {
            kind,
            why: why.into(),
        }
    }

    fn fail<T>(&self) -> TermResult<T> {
        Err(TermError::Backend {
            why: self.why.clone(),
        })
    }
}

#[async_trait]
impl Terminal for UnavailableTerminal {
    fn kind(&self) -> BackendKind {
        self.kind.clone()
    }
    async fn initialize(&self, _: &InitParams) -> TermResult<()> {
        self.fail()
    }
    async fn shutdown(&self) -> TermResult<()> {
        Ok(())
    }
    async fn last_error(&self) -> TermResult<LastError> {
        self.fail()
    }
    async fn terminal_info(&self) -> TermResult<TerminalInfo> {
        self.fail()
    }
    async fn account_info(&self) -> TermResult<AccountInfo> {
        self.fail()
    }
    async fn symbols_get(&self, _: Option<&str>) -> TermResult<Vec<SymbolInfo>> {
        self.fail()
    }
    async fn symbol_info(&self, _: &str) -> TermResult<SymbolInfo> {
        self.fail()
    }
    async fn symbol_select(&self, _: &str, _: bool) -> TermResult<()> {
        self.fail()
    }
    async fn symbol_info_tick(&self, _: &str) -> TermResult<Tick> {
        self.fail()
    }
    async fn copy_rates_from_pos(&self, _: &str, _: i64, _: u32, _: u32) -> TermResult<Vec<Rate>> {
        self.fail()
    }
    async fn positions_get(&self, _: &Filter) -> TermResult<Vec<Position>> {
        self.fail()
    }
    async fn orders_get(&self, _: &Filter) -> TermResult<Vec<Order>> {
        self.fail()
    }
    async fn history_deals_get(&self, _: i64, _: i64, _: Option<&str>) -> TermResult<Vec<Deal>> {
        self.fail()
    }
    async fn order_calc_margin(&self, _: i64, _: &str, _: f64, _: f64) -> TermResult<f64> {
        self.fail()
    }
    async fn order_calc_profit(&self, _: i64, _: &str, _: f64, _: f64, _: f64) -> TermResult<f64> {
        self.fail()
    }
    async fn order_check(&self, _: &TradeRequest) -> TermResult<OrderCheckResult> {
        self.fail()
    }
    async fn order_send(&self, _: &TradeRequest) -> TermResult<OrderSendResult> {
        self.fail()
    }
}
