//! Terminal, account and symbol data; Market Watch selection; rates; connection state.

use super::*;
use crate::terminal::{InitParams, TermError};

fn null_code<T: std::fmt::Debug>(r: Result<T, TermError>) -> i64 {
    match r {
        Err(TermError::Null(e)) => e.code,
        other => panic!("expected a Null error, got {other:?}"),
    }
}

#[tokio::test]
async fn terminal_and_account_describe_a_demo_hedging_account() {
    let env = Env::new();
    let t = env.open();
    let ti = t.terminal_info().await.unwrap();
    assert!(ti.connected && ti.trade_allowed && ti.build >= 5000);
    assert_eq!(
        (ti.name.as_str(), ti.company.as_str(), ti.time),
        ("mt5-mcp sim terminal", "mt5-mcp paper broker", None)
    );
    assert_eq!(
        std::path::Path::new(&ti.data_path),
        env.state_path().parent().unwrap()
    );
    let a = t.account_info().await.unwrap();
    assert_eq!(
        (a.login, a.trade_mode, a.margin_mode, a.leverage),
        (52_000_001, 0, 2, 100)
    );
    assert_eq!(
        (a.name.as_str(), a.server.as_str(), a.currency.as_str()),
        ("Paper Trader", "MT5MCP-Sim", "USD")
    );
    assert_eq!(
        (
            a.balance,
            a.equity,
            a.margin,
            a.margin_free,
            a.margin_level,
            a.credit
        ),
        (10_000.0, 10_000.0, 0.0, 10_000.0, 0.0, 0.0)
    );
    assert!(a.trade_allowed);
    assert_eq!(t.kind(), crate::terminal::BackendKind::Sim);
}

#[tokio::test]
async fn the_opening_deposit_is_a_balance_deal_and_history_filters_by_broker_time_and_group() {
    let env = Env::new();
    let t = env.open();
    let t0b = T0 / 1000 + 7_200;
    let ds = t.history_deals_get(t0b, t0b, None).await.unwrap();
    assert_eq!(ds.len(), 1);
    assert_eq!(
        (ds[0].kind, ds[0].profit, ds[0].symbol.as_str(), ds[0].time),
        (DEAL_TYPE_BALANCE, 10_000.0, "", t0b)
    );
    assert!(
        t.history_deals_get(t0b - 7_200, t0b - 1, None)
            .await
            .unwrap()
            .is_empty(),
        "UTC bounds miss it"
    );
    env.clock.advance_secs(10);
    send_ok(&t, market_order("EURUSD", 0, 0.1)).await;
    send_ok(&t, market_order("XAUUSD", 0, 0.01)).await;
    let all = t.history_deals_get(t0b, t0b + 10, None).await.unwrap();
    assert_eq!(all.len(), 3);
    let eur = t
        .history_deals_get(t0b, t0b + 10, Some("*EURUSD*"))
        .await
        .unwrap();
    assert_eq!(
        eur.iter().map(|d| d.symbol.as_str()).collect::<Vec<_>>(),
        ["EURUSD"]
    );
    assert_eq!(
        t.history_deals_get(t0b, t0b + 10, Some("*,!XAU*"))
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        t.history_deals_get(t0b + 11, t0b, None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn symbols_carry_real_specifications() {
    let env = Env::new();
    let t = env.open();
    let all = t.symbols_get(None).await.unwrap();
    let names: Vec<_> = all.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "EURUSD", "GBPUSD", "USDJPY", "USDCHF", "AUDUSD", "EURJPY", "XAUUSD", "BTCUSD", "US500"
        ]
    );
    let jpy: Vec<_> = t
        .symbols_get(Some("*JPY*"))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(jpy, ["USDJPY", "EURJPY"]);

    let eur = t.symbol_info("EURUSD").await.unwrap();
    assert_eq!(
        (
            eur.digits,
            eur.point,
            eur.trade_contract_size,
            eur.trade_tick_size
        ),
        (5, 0.00001, 100_000.0, 0.00001)
    );
    assert_eq!(
        (
            eur.filling_mode,
            eur.trade_mode,
            eur.expiration_mode,
            eur.order_mode
        ),
        (3, 4, 15, 127)
    );
    assert_eq!(
        (eur.volume_min, eur.volume_max, eur.volume_step),
        (0.01, 100.0, 0.01)
    );
    assert_eq!(
        (eur.trade_tick_value, eur.trade_calc_mode),
        (1.0, SYMBOL_CALC_MODE_FOREX)
    );
    assert_eq!(
        (
            eur.currency_base.as_str(),
            eur.currency_profit.as_str(),
            eur.currency_margin.as_str()
        ),
        ("EUR", "USD", "EUR")
    );
    assert_eq!(eur.path, "Forex\\Majors\\EURUSD");
    assert!(eur.visible && eur.select && eur.ask > eur.bid && eur.spread > 0);
    assert_eq!(((eur.ask - eur.bid) / eur.point).round() as i64, eur.spread);

    let gold = t.symbol_info("XAUUSD").await.unwrap();
    assert_eq!(
        (gold.digits, gold.trade_contract_size, gold.trade_tick_value),
        (2, 100.0, 1.0)
    );
    let btc = t.symbol_info("BTCUSD").await.unwrap();
    assert_eq!(
        (btc.filling_mode, btc.trade_contract_size, btc.volume_max),
        (SYMBOL_FILLING_IOC, 1.0, 10.0)
    );
    assert_eq!(btc.trade_calc_mode, SYMBOL_CALC_MODE_CFDLEVERAGE);
    let us = t.symbol_info("US500").await.unwrap();
    assert_eq!(
        (us.trade_calc_mode, us.digits, us.trade_contract_size),
        (SYMBOL_CALC_MODE_CFD, 2, 10.0)
    );

    let uj1 = t.symbol_info("USDJPY").await.unwrap();
    assert!(
        (uj1.trade_tick_value - 100.0 / uj1.ask).abs() < 1e-9,
        "USD per tick per lot at the current rate"
    );
    env.clock.advance_secs(3_600);
    let uj2 = t.symbol_info("USDJPY").await.unwrap();
    assert_ne!(
        uj1.trade_tick_value, uj2.trade_tick_value,
        "tick value follows the price"
    );
    assert!(uj2.trade_tick_value_loss > uj2.trade_tick_value_profit);

    assert!(
        !t.symbol_info("USDCHF").await.unwrap().visible,
        "USDCHF starts hidden"
    );
    assert_eq!(null_code(t.symbol_info("EURUSDX").await), RES_E_NOT_FOUND);
    assert_eq!(t.last_error().await.unwrap().code, RES_E_NOT_FOUND);
}

#[tokio::test]
async fn ticks_are_broker_timed_and_need_market_watch() {
    let env = Env::new();
    let t = env.open();
    env.clock.advance_ms(1_500);
    let tick = t.symbol_info_tick("EURUSD").await.unwrap();
    let q = env.quote("EURUSD");
    assert_eq!((tick.bid, tick.ask, tick.last), (q.bid, q.ask, 0.0));
    assert_eq!(tick.time_msc, q.time_ms + 7_200_000);
    assert_eq!(tick.time, tick.time_msc.div_euclid(1000));
    assert!(tick.time_msc <= T0 + 1_500 + 7_200_000);
    env.clock.advance_secs(60);
    assert_ne!(
        t.symbol_info_tick("EURUSD").await.unwrap(),
        tick,
        "prices move"
    );

    assert_eq!(null_code(t.symbol_info_tick("NOPE").await), RES_E_NOT_FOUND);
    assert_eq!(null_code(t.symbol_info_tick("USDCHF").await), RES_E_FAIL);
    assert_eq!(
        null_code(t.copy_rates_from_pos("USDCHF", TIMEFRAME_M1, 0, 10).await),
        RES_E_FAIL
    );
    t.symbol_select("USDCHF", true).await.unwrap();
    assert!(t.symbol_info("USDCHF").await.unwrap().visible);
    assert!(t.symbol_info_tick("USDCHF").await.is_ok());
    assert_eq!(
        null_code(t.symbol_select("NOPE", true).await),
        RES_E_NOT_FOUND
    );

    let open = send_ok(&t, market_order("USDCHF", ORDER_TYPE_BUY, 0.1)).await;
    assert_eq!(
        null_code(t.symbol_select("USDCHF", false).await),
        RES_E_FAIL,
        "open positions keep it shown"
    );
    send_ok(
        &t,
        close_order("USDCHF", open.order, POSITION_TYPE_BUY, 0.1),
    )
    .await;
    t.symbol_select("USDCHF", false).await.unwrap();
    assert!(!t.symbol_info("USDCHF").await.unwrap().visible);
}

#[tokio::test]
async fn rates_come_oldest_first_and_end_at_the_forming_bar() {
    let env = Env::new();
    let t = env.open();
    let bars = t
        .copy_rates_from_pos("EURUSD", TIMEFRAME_M5, 0, 100)
        .await
        .unwrap();
    assert_eq!(bars.len(), 100);
    assert!(bars.windows(2).all(|w| w[1].time - w[0].time == 300));
    // The forming bar is the one of the latest tick (a bar opens with its first tick).
    let tick = t.symbol_info_tick("EURUSD").await.unwrap();
    assert!(bars[99].time <= tick.time && tick.time < bars[99].time + 300);
    assert_eq!(bars[99].close, tick.bid);
    env.clock.advance_ms(1_000);
    let later = t
        .copy_rates_from_pos("EURUSD", TIMEFRAME_M5, 0, 1)
        .await
        .unwrap();
    assert_eq!(
        later[0].time,
        T0 / 1000 + 7_200,
        "12:00 bar once its first tick arrived"
    );
    let now_b = T0 / 1000 + 7_200;
    assert!(
        bars.iter()
            .all(|b| b.high >= b.open.max(b.close) && b.low <= b.open.min(b.close))
    );
    let d1 = t
        .copy_rates_from_pos("EURUSD", TIMEFRAME_D1, 1, 5)
        .await
        .unwrap();
    assert_eq!(d1.last().unwrap().time, (now_b / 86_400 - 1) * 86_400);
    assert_eq!(
        null_code(t.copy_rates_from_pos("EURUSD", 7, 0, 10).await),
        RES_E_INVALID_PARAMS
    );
    assert_eq!(
        null_code(t.copy_rates_from_pos("NOPE", TIMEFRAME_M1, 0, 10).await),
        RES_E_NOT_FOUND
    );
}

#[tokio::test]
async fn same_seed_and_instant_give_identical_prices_across_terminals() {
    let (a, b, c) = (
        Env::new(),
        Env::new(),
        Env::with(Some(SEED + 1), 10_000, 100),
    );
    let (ta, tb, tc) = (a.open(), b.open(), c.open());
    for t in [&ta, &tb, &tc] {
        t.symbol_select("EURJPY", true).await.unwrap();
    }
    for step in 0..5 {
        for e in [&a, &b, &c] {
            e.clock.set_ms(T0 + step * 86_400_123);
        }
        for s in ["EURUSD", "USDJPY", "EURJPY", "XAUUSD", "BTCUSD", "US500"] {
            let (qa, qb, qc) = (
                ta.symbol_info_tick(s).await.unwrap(),
                tb.symbol_info_tick(s).await.unwrap(),
                tc.symbol_info_tick(s).await.unwrap(),
            );
            assert_eq!(qa, qb, "{s}");
            assert_ne!(qa.bid, qc.bid, "{s}: another seed, another path");
        }
        let ra = ta
            .copy_rates_from_pos("GBPUSD", TIMEFRAME_H1, 0, 24)
            .await
            .unwrap();
        assert_eq!(
            ra,
            tb.copy_rates_from_pos("GBPUSD", TIMEFRAME_H1, 0, 24)
                .await
                .unwrap()
        );
    }
}

#[tokio::test]
async fn shutdown_disconnects_until_initialize() {
    let env = Env::new();
    let t = env.open();
    t.shutdown().await.unwrap();
    let e = t.account_info().await.unwrap_err();
    assert!(e.is_ipc_lost(), "{e:?}");
    assert!(
        t.symbol_info_tick("EURUSD")
            .await
            .unwrap_err()
            .is_ipc_lost()
    );
    assert!(
        t.order_send(&market_order("EURUSD", 0, 0.1))
            .await
            .unwrap_err()
            .is_ipc_lost()
    );
    assert_eq!(
        t.last_error().await.unwrap().code,
        RES_E_INTERNAL_FAIL_CONNECT
    );
    let params = InitParams {
        login: Some(123),
        password: Some("x".into()),
        ..InitParams::default()
    };
    t.initialize(&params).await.unwrap();
    assert_eq!(t.account_info().await.unwrap().login, 52_000_001);
    assert_eq!(
        t.last_error().await.unwrap(),
        crate::terminal::LastError::ok()
    );
}

#[tokio::test]
#[ignore = "benchmark; run with --release -- --ignored"]
async fn quote_and_account_reads_are_cheap() {
    use std::time::{Duration, Instant};
    let env = Env::new();
    let t = env.open();
    let q = env.quote("EURUSD");
    for n in 0..5 {
        let sl = px(q.bid - 0.0100 - n as f64 * 0.001, 5);
        send_ok(
            &t,
            TradeRequest {
                sl: Some(sl),
                ..market_order("EURUSD", 0, 0.1)
            },
        )
        .await;
    }
    let n = 50_000u32;
    let start = Instant::now();
    for _ in 0..n {
        env.clock.advance_ms(7);
        std::hint::black_box(t.symbol_info_tick("EURUSD").await.unwrap());
    }
    let tick = start.elapsed() / n;
    let n = 5_000u32;
    let start = Instant::now();
    for _ in 0..n {
        env.clock.advance_ms(1_000);
        std::hint::black_box(positions(&t).await);
        std::hint::black_box(t.account_info().await.unwrap());
    }
    let polled = start.elapsed() / n;
    eprintln!(
        "symbol_info_tick: {tick:?}/call; positions_get + account_info with 5 positions: {polled:?}"
    );
    assert!(tick < Duration::from_micros(20), "{tick:?}");

    // A restart after a month: 5 positions with stops, 6 pending orders far away.
    for (sym, kind, off) in [
        ("GBPUSD", 2, -0.03),
        ("GBPUSD", 3, 0.03),
        ("AUDUSD", 2, -0.03),
    ] {
        let q = env.quote(sym);
        let price = px(if kind == 2 { q.ask + off } else { q.bid + off }, 5);
        send_ok(&t, pending_order(sym, kind, 0.1, price)).await;
        let q = env.quote("XAUUSD");
        let price = px(
            if kind == 2 {
                q.ask - 150.0
            } else {
                q.bid + 150.0
            },
            2,
        );
        send_ok(&t, pending_order("XAUUSD", kind, 0.01, price)).await;
    }
    env.clock.advance_secs(30 * 86_400);
    let start = Instant::now();
    let open = positions(&t).await.len();
    let catch_up = start.elapsed();
    eprintln!("catch-up of 30 days ({open} positions open after it): {catch_up:?}");
    assert!(catch_up < Duration::from_millis(50), "{catch_up:?}");
}
