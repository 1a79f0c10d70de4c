//! The engine's handling of a send the backend refused before it reached the library: the
//! claim is given back (nothing was sent), the refusal is audited, and a retry with the same
//! key executes normally.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::json;

use super::engine::{Approval, Exposure, Plan, PolicyEngine, RetryPrices};
use super::idempotency::IdempotencyStore;
use super::reconcile::Reconcile;
use crate::config::{Config, ConfigHandle};
use crate::errors::ErrorCode;
use crate::mt5::Mt5Client;
use crate::terminal::consts::*;
use crate::terminal::sim::SimTerminal;
use crate::terminal::*;

/// The sim, except that `order_send` is refused while `refuse` is set, the way a stuck
/// Python backend refuses calls.
struct Refusing {
    inner: SimTerminal,
    refuse: AtomicBool,
}

#[async_trait]
impl Terminal for Refusing {
    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }
    async fn initialize(&self, p: &InitParams) -> TermResult<()> {
        self.inner.initialize(p).await
    }
    async fn shutdown(&self) -> TermResult<()> {
        self.inner.shutdown().await
    }
    async fn last_error(&self) -> TermResult<LastError> {
        self.inner.last_error().await
    }
    async fn terminal_info(&self) -> TermResult<TerminalInfo> {
        self.inner.terminal_info().await
    }
    async fn account_info(&self) -> TermResult<AccountInfo> {
        self.inner.account_info().await
    }
    async fn symbols_get(&self, g: Option<&str>) -> TermResult<Vec<SymbolInfo>> {
        self.inner.symbols_get(g).await
    }
    async fn symbol_info(&self, s: &str) -> TermResult<SymbolInfo> {
        self.inner.symbol_info(s).await
    }
    async fn symbol_select(&self, s: &str, e: bool) -> TermResult<()> {
        self.inner.symbol_select(s, e).await
    }
    async fn symbol_info_tick(&self, s: &str) -> TermResult<Tick> {
        self.inner.symbol_info_tick(s).await
    }
    async fn copy_rates_from_pos(&self, s: &str, tf: i64, p: u32, n: u32) -> TermResult<Vec<Rate>> {
        self.inner.copy_rates_from_pos(s, tf, p, n).await
    }
    async fn positions_get(&self, f: &Filter) -> TermResult<Vec<Position>> {
        self.inner.positions_get(f).await
    }
    async fn orders_get(&self, f: &Filter) -> TermResult<Vec<Order>> {
        self.inner.orders_get(f).await
    }
    async fn history_deals_get(&self, a: i64, b: i64, g: Option<&str>) -> TermResult<Vec<Deal>> {
        self.inner.history_deals_get(a, b, g).await
    }
    async fn order_calc_margin(&self, t: i64, s: &str, v: f64, p: f64) -> TermResult<f64> {
        self.inner.order_calc_margin(t, s, v, p).await
    }
    async fn order_calc_profit(&self, t: i64, s: &str, v: f64, o: f64, c: f64) -> TermResult<f64> {
        self.inner.order_calc_profit(t, s, v, o, c).await
    }
    async fn order_check(&self, r: &TradeRequest) -> TermResult<OrderCheckResult> {
        self.inner.order_check(r).await
    }
    async fn order_send(&self, r: &TradeRequest) -> TermResult<OrderSendResult> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err(TermError::NotSent {
                why: "order_send() refused: an earlier call is stuck".into(),
            });
        }
        self.inner.order_send(r).await
    }
}

#[tokio::test]
async fn a_refused_send_gives_the_key_back_and_a_retry_executes() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::with_data_dir(dir.path());
    config.sim.seed = Some(42);
    config.sim.state_path = dir.path().join("sim.json");
    let term = Arc::new(Refusing {
        inner: SimTerminal::open(&config.sim).unwrap(),
        refuse: AtomicBool::new(true),
    });
    let client = Mt5Client::new(term.clone(), InitParams::default());
    client.ensure_connected().await.unwrap();
    let handle = ConfigHandle::new(config.clone());
    let engine = PolicyEngine::new(handle.clone());

    let tick = term.symbol_info_tick("EURUSD").await.unwrap();
    let plan = || Plan {
        tool: "place_order",
        symbol: "EURUSD".into(),
        key: Some("k-refused".into()),
        hash: "sha256:test".into(),
        echo: json!({ "symbol": "EURUSD", "volume": "0.01" }),
        approval: Approval::default(),
        retry: RetryPrices {
            current: Decimal::ONE,
            point: Decimal::ZERO,
            priced: false,
        },
        exposure: Exposure::Place {
            notional: Decimal::ONE,
        },
        preview: None,
        request: TradeRequest {
            action: TRADE_ACTION_DEAL,
            symbol: Some("EURUSD".into()),
            volume: Some(0.01),
            kind: Some(ORDER_TYPE_BUY),
            price: Some(tick.ask),
            deviation: Some(1000),
            type_filling: Some(ORDER_FILLING_IOC),
            type_time: Some(ORDER_TIME_GTC),
            ..TradeRequest::default()
        },
        fallback_volume: "0.01".into(),
        config: handle.current(),
    };
    let how = Reconcile::Place {
        symbol: "EURUSD".into(),
    };

    let refused = engine.run(&client, plan(), &how).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::TERMINAL_NOT_CONNECTED);
    assert!(
        refused.message.contains("order not sent"),
        "{}",
        refused.message
    );

    let store = IdempotencyStore::open(&config.idempotency.path).unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        store
            .lookup("k-refused", "place_order", now)
            .unwrap()
            .is_none(),
        "the claim is released: nothing was sent"
    );
    let audit = std::fs::read_to_string(&config.audit.path).unwrap();
    let actions: Vec<String> = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["action"].to_string())
        .collect();
    assert_eq!(actions, ["\"intent\"", "\"error\""], "{audit}");
    assert!(audit.contains("\"exception_type\":\"NotSent\""), "{audit}");
    assert!(term.positions_get(&Filter::All).await.unwrap().is_empty());

    term.refuse.store(false, Ordering::SeqCst);
    let filled = engine.run(&client, plan(), &how).await.unwrap();
    assert_eq!(filled["success"], true, "{filled}");
    assert_eq!(term.positions_get(&Filter::All).await.unwrap().len(), 1);
}
