//! Client-layer rules, checked against a scripted terminal: reconnect once on a lost IPC
//! link, connect errors carry the library's last error, the symbol cache selects hidden
//! symbols, and the broker offset is inferred from ticks.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use chrono::Utc;

use super::Mt5Client;
use crate::errors::ErrorCode;
use crate::terminal::consts::*;
use crate::terminal::*;

/// A terminal whose answers the test scripts.
#[derive(Default)]
struct Scripted {
    init_fails: AtomicU32,
    ipc_lost_next: AtomicU32,
    offset_minutes: i64,
    hidden: Mutex<Vec<String>>,
    select_fails: bool,
    calls: Mutex<Vec<String>>,
}

impl Scripted {
    fn log(&self, call: &str) {
        self.calls.lock().unwrap().push(call.to_owned());
    }
    fn count(&self, call: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| *c == call)
            .count()
    }
    fn symbol(&self, name: &str) -> SymbolInfo {
        SymbolInfo {
            name: name.into(),
            description: String::new(),
            path: format!("Forex\\{name}"),
            visible: !self.hidden.lock().unwrap().iter().any(|h| h == name),
            select: true,
            digits: 5,
            spread: 10,
            trade_calc_mode: 0,
            trade_mode: 4,
            trade_stops_level: 0,
            trade_freeze_level: 0,
            filling_mode: 3,
            expiration_mode: 15,
            order_mode: 127,
            swap_mode: 1,
            swap_rollover3days: 3,
            bid: 1.1,
            ask: 1.1001,
            point: 0.00001,
            trade_tick_value: 1.0,
            trade_tick_value_profit: 1.0,
            trade_tick_value_loss: 1.0,
            trade_tick_size: 0.00001,
            trade_contract_size: 100000.0,
            volume_min: 0.01,
            volume_max: 100.0,
            volume_step: 0.01,
            swap_long: 0.0,
            swap_short: 0.0,
            margin_initial: 0.0,
            margin_maintenance: 0.0,
            margin_hedged: 0.0,
            currency_base: "EUR".into(),
            currency_profit: "USD".into(),
            currency_margin: "EUR".into(),
        }
    }
}

fn ipc_lost<T>() -> TermResult<T> {
    Err(TermError::null(
        RES_E_INTERNAL_FAIL_CONNECT,
        "No IPC connection",
    ))
}

#[async_trait]
impl Terminal for Scripted {
    fn kind(&self) -> BackendKind {
        BackendKind::Native
    }
    async fn initialize(&self, _: &InitParams) -> TermResult<()> {
        self.log("initialize");
        if self.init_fails.load(Ordering::SeqCst) > 0 {
            self.init_fails.fetch_sub(1, Ordering::SeqCst);
            return Err(TermError::null(RES_E_AUTH_FAILED, "Authorization failed"));
        }
        Ok(())
    }
    async fn shutdown(&self) -> TermResult<()> {
        Ok(())
    }
    async fn last_error(&self) -> TermResult<LastError> {
        Ok(LastError::ok())
    }
    async fn terminal_info(&self) -> TermResult<TerminalInfo> {
        self.log("terminal_info");
        Ok(TerminalInfo {
            connected: true,
            trade_allowed: true,
            build: 5000,
            name: "t".into(),
            company: "c".into(),
            path: String::new(),
            data_path: String::new(),
            time: None,
        })
    }
    async fn account_info(&self) -> TermResult<AccountInfo> {
        Err(TermError::null(RES_E_FAIL, "no account"))
    }
    async fn symbols_get(&self, _: Option<&str>) -> TermResult<Vec<SymbolInfo>> {
        Ok(vec![])
    }
    async fn symbol_info(&self, symbol: &str) -> TermResult<SymbolInfo> {
        self.log("symbol_info");
        if self.ipc_lost_next.load(Ordering::SeqCst) > 0 {
            self.ipc_lost_next.fetch_sub(1, Ordering::SeqCst);
            return ipc_lost();
        }
        if symbol == "EURUSD" || symbol == "HIDDEN" {
            Ok(self.symbol(symbol))
        } else {
            Err(TermError::null(RES_E_NOT_FOUND, "not found"))
        }
    }
    async fn symbol_select(&self, symbol: &str, _: bool) -> TermResult<()> {
        self.log("symbol_select");
        if self.select_fails {
            return Err(TermError::null(RES_E_FAIL, "cannot select"));
        }
        self.hidden.lock().unwrap().retain(|h| h != symbol);
        Ok(())
    }
    async fn symbol_info_tick(&self, symbol: &str) -> TermResult<Tick> {
        self.log("symbol_info_tick");
        if symbol != "EURUSD" {
            return Err(TermError::null(RES_E_NOT_FOUND, "no tick"));
        }
        let time = Utc::now().timestamp() + self.offset_minutes * 60 - 2;
        Ok(Tick {
            time,
            bid: 1.1,
            ask: 1.1001,
            last: 0.0,
            volume: 0,
            time_msc: time * 1000,
            flags: 0,
            volume_real: 0.0,
        })
    }
    async fn copy_rates_from_pos(&self, _: &str, _: i64, _: u32, _: u32) -> TermResult<Vec<Rate>> {
        ipc_lost()
    }
    async fn positions_get(&self, _: &Filter) -> TermResult<Vec<Position>> {
        Ok(vec![])
    }
    async fn orders_get(&self, _: &Filter) -> TermResult<Vec<Order>> {
        Ok(vec![])
    }
    async fn history_deals_get(&self, _: i64, _: i64, _: Option<&str>) -> TermResult<Vec<Deal>> {
        Ok(vec![])
    }
    async fn order_calc_margin(&self, _: i64, _: &str, _: f64, _: f64) -> TermResult<f64> {
        Ok(0.0)
    }
    async fn order_calc_profit(&self, _: i64, _: &str, _: f64, _: f64, _: f64) -> TermResult<f64> {
        Ok(0.0)
    }
    async fn order_check(&self, _: &TradeRequest) -> TermResult<OrderCheckResult> {
        Err(TermError::null(RES_E_FAIL, "unsupported"))
    }
    async fn order_send(&self, _: &TradeRequest) -> TermResult<OrderSendResult> {
        Err(TermError::null(RES_E_FAIL, "unsupported"))
    }
}

fn client(term: Scripted) -> (Arc<Scripted>, Arc<Mt5Client>) {
    let term = Arc::new(term);
    let client = Mt5Client::new(term.clone(), InitParams::default());
    (term, client)
}

#[tokio::test]
async fn connect_infers_the_broker_offset_from_a_fresh_tick() {
    let (_, client) = client(Scripted {
        offset_minutes: 180,
        ..Default::default()
    });
    client.ensure_connected().await.unwrap();
    assert!(client.is_connected());
    assert_eq!(client.offset_minutes(), 180);
}

#[tokio::test]
async fn a_failed_initialize_reports_the_library_error_and_a_later_call_retries() {
    let (term, client) = client(Scripted {
        init_fails: AtomicU32::new(1),
        ..Default::default()
    });
    let e = client.ensure_connected().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::TERMINAL_NOT_CONNECTED);
    let details = e.details.unwrap();
    assert_eq!(details["why"], "initialize returned False");
    assert_eq!(
        details["raw_error"],
        serde_json::json!([RES_E_AUTH_FAILED, "Authorization failed"])
    );
    // Without a login there is no boot retry: one attempt, then the next call tries again.
    assert_eq!(term.count("initialize"), 1);
    client.ensure_connected().await.unwrap();
    assert_eq!(term.count("initialize"), 2);
}

#[tokio::test]
async fn a_lost_ipc_link_reconnects_once_and_repeats_the_call_once() {
    let (term, client) = client(Scripted::default());
    client.ensure_connected().await.unwrap();
    term.ipc_lost_next.store(1, Ordering::SeqCst);
    let info = client.prepare_symbol("EURUSD").await.unwrap();
    assert_eq!(info.name, "EURUSD");
    assert_eq!(term.count("initialize"), 2, "reconnected once");
    assert_eq!(term.count("symbol_info"), 2, "repeated once");

    // Lost twice in a row: the retry's answer is returned as is, no loop.
    term.ipc_lost_next.store(2, Ordering::SeqCst);
    client.symbols.clear();
    let r = client
        .call(|t| async move { t.symbol_info("EURUSD").await })
        .await
        .unwrap();
    assert!(r.unwrap_err().is_ipc_lost());
    assert_eq!(term.count("initialize"), 3);
}

#[tokio::test]
async fn hidden_symbols_are_selected_and_cached() {
    let term = Scripted {
        hidden: Mutex::new(vec!["HIDDEN".into()]),
        ..Default::default()
    };
    let (term, client) = client(term);
    client.ensure_connected().await.unwrap();
    let info = client.prepare_symbol("HIDDEN").await.unwrap();
    assert!(info.visible);
    assert_eq!(term.count("symbol_select"), 1);
    client.prepare_symbol("HIDDEN").await.unwrap();
    assert_eq!(
        term.count("symbol_info"),
        2,
        "second lookup served from the cache"
    );
    assert_eq!(
        client.prepare_symbol("NOPE").await.unwrap_err().code,
        ErrorCode::SYMBOL_NOT_FOUND
    );
}

#[tokio::test]
async fn a_symbol_that_cannot_be_selected_is_not_enabled() {
    let term = Scripted {
        hidden: Mutex::new(vec!["HIDDEN".into()]),
        select_fails: true,
        ..Default::default()
    };
    let (_, client) = client(term);
    client.ensure_connected().await.unwrap();
    let e = client.prepare_symbol("HIDDEN").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::SYMBOL_NOT_ENABLED);
    assert!(e.retryable);
}

#[tokio::test(start_paused = true)]
async fn with_a_login_the_first_connect_retries_in_the_background() {
    let term = Arc::new(Scripted {
        init_fails: AtomicU32::new(3),
        ..Default::default()
    });
    let init = InitParams {
        login: Some(1234),
        ..Default::default()
    };
    let client = Mt5Client::new(term.clone(), init);
    // Attempts at t=0, 2, 4 fail; the call gives up waiting at t=5 and says why.
    let e = client.ensure_connected().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::TERMINAL_NOT_CONNECTED);
    assert!(
        e.message.contains("still connecting (attempt 3 of 31)"),
        "{}",
        e.message
    );
    // The fourth attempt (t=6) succeeds in the background.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    client.ensure_connected().await.unwrap();
    assert_eq!(term.count("initialize"), 4);
}

#[tokio::test]
async fn without_a_login_there_is_exactly_one_boot_attempt() {
    let (term, client) = client(Scripted {
        init_fails: AtomicU32::new(5),
        ..Default::default()
    });
    client.start_boot();
    assert!(client.ensure_connected().await.is_err());
    assert_eq!(term.count("initialize"), 1);
}
