//! The account on disk: survives restarts, is shared between processes, is never silently
//! reset, and is written only when something changed.

use std::time::Duration;

use super::*;
use crate::terminal::sim::SimError;

/// Longer than the 100 ms after which a reader looks at the file again.
async fn let_readers_recheck() {
    tokio::time::sleep(Duration::from_millis(150)).await;
}

#[tokio::test]
async fn the_account_survives_a_restart_exactly() {
    let env = Env::new();
    let before = {
        let t = env.open();
        t.symbol_select("EURJPY", true).await.unwrap();
        let open = send_ok(
            &t,
            TradeRequest {
                magic: Some(12),
                ..market_order("EURJPY", ORDER_TYPE_SELL, 0.5)
            },
        )
        .await;
        env.clock.advance_secs(600);
        send_ok(
            &t,
            close_order("EURJPY", open.order, POSITION_TYPE_SELL, 0.2),
        )
        .await;
        let level = px(env.quote("EURUSD").ask - 0.0050, 5);
        send_ok(
            &t,
            TradeRequest {
                magic: Some(13),
                ..pending_order("EURUSD", ORDER_TYPE_BUY_LIMIT, 0.1, level)
            },
        )
        .await;
        (
            positions(&t).await,
            orders(&t).await,
            deals(&t).await,
            t.account_info().await.unwrap(),
            t.seed(),
        )
    };
    let t = env.open();
    assert!(t.corrupt_state_notice().is_none());
    assert_eq!(positions(&t).await, before.0);
    assert_eq!(orders(&t).await, before.1);
    assert_eq!(deals(&t).await, before.2);
    assert_eq!(t.account_info().await.unwrap(), before.3);
    assert_eq!(t.seed(), before.4);
    assert!(
        t.symbol_info("EURJPY").await.unwrap().visible,
        "Market Watch choices persist"
    );
    // Tickets continue where they stopped.
    let next = send_ok(&t, market_order("EURUSD", ORDER_TYPE_BUY, 0.1)).await;
    assert!(next.order > before.1[0].ticket && next.deal > before.2.last().unwrap().ticket);
}

#[tokio::test]
async fn without_a_configured_seed_the_stored_one_keeps_prices_stable_across_restarts() {
    let env = Env::with(None, 10_000, 100);
    let (seed, tick) = {
        let t = env.open();
        (t.seed(), t.symbol_info_tick("BTCUSD").await.unwrap())
    };
    let t = env.open();
    assert_eq!(t.seed(), seed);
    assert_eq!(t.symbol_info_tick("BTCUSD").await.unwrap(), tick);
    let text = std::fs::read_to_string(env.state_path()).unwrap();
    assert!(text.contains(&format!("\"seed\": {seed}")));
}

#[tokio::test]
async fn a_corrupt_state_file_is_set_aside_never_silently_reset() {
    let env = Env::new();
    std::fs::create_dir_all(env.state_path().parent().unwrap()).unwrap();
    std::fs::write(
        env.state_path(),
        "{\"format\": 1, \"generation\": 3, \"account\": {\"bal",
    )
    .unwrap();
    let t = env.open();
    let notice = t.corrupt_state_notice().expect("a notice");
    let aside = env
        .state_path()
        .with_file_name(format!("account.json.corrupt-{}", T0 / 1000));
    assert!(aside.exists(), "{aside:?}");
    assert_eq!(
        std::fs::read_to_string(&aside).unwrap(),
        "{\"format\": 1, \"generation\": 3, \"account\": {\"bal"
    );
    assert!(
        notice.contains(&aside.display().to_string()) && notice.contains("account.json"),
        "{notice}"
    );
    assert_eq!(t.account_info().await.unwrap().balance, 10_000.0);
    send_ok(&t, market_order("EURUSD", 0, 0.1)).await;
    drop(t);
    assert!(
        env.open().corrupt_state_notice().is_none(),
        "the fresh account is sound"
    );
}

#[tokio::test]
async fn a_state_file_from_a_newer_version_is_refused() {
    let env = Env::new();
    std::fs::create_dir_all(env.state_path().parent().unwrap()).unwrap();
    std::fs::write(
        env.state_path(),
        r#"{"format": 9, "generation": 1, "account": {}}"#,
    )
    .unwrap();
    let err = SimTerminal::open_with_clock(&env.cfg, env.clock.clone())
        .err()
        .expect("refused");
    assert!(
        matches!(err, SimError::NewerFormat { found: 9, .. }),
        "{err}"
    );
    assert!(env.state_path().exists(), "left in place");
}

#[tokio::test]
async fn invalid_configuration_is_refused_with_a_clear_message() {
    let env = Env::new();
    for (cfg, needle) in [
        (
            SimConfig {
                leverage: 0,
                ..env.cfg.clone()
            },
            "leverage",
        ),
        (
            SimConfig {
                balance: Decimal::ZERO,
                ..env.cfg.clone()
            },
            "balance",
        ),
        (
            SimConfig {
                broker_utc_offset_minutes: 7,
                ..env.cfg.clone()
            },
            "broker_utc_offset_minutes",
        ),
    ] {
        let err = SimTerminal::open_with_clock(&cfg, env.clock.clone())
            .err()
            .expect("refused");
        assert!(err.to_string().contains(needle), "{err}");
    }
}

#[tokio::test]
async fn two_terminals_on_one_file_see_each_others_trades_and_lose_none() {
    let env = Env::new();
    let (a, b) = (env.open(), env.open());
    let opened = send_ok(
        &a,
        TradeRequest {
            magic: Some(1),
            ..market_order("EURUSD", ORDER_TYPE_BUY, 0.1)
        },
    )
    .await;
    let_readers_recheck().await;
    let seen = positions(&b).await;
    assert_eq!(
        (seen.len(), seen[0].ticket, seen[0].magic),
        (1, opened.order, 1)
    );

    // B closes A's position; its write path reloads first, so it sees the position at once.
    send_ok(
        &b,
        close_order("EURUSD", opened.order, POSITION_TYPE_BUY, 0.1),
    )
    .await;
    let_readers_recheck().await;
    assert!(positions(&a).await.is_empty());

    // Concurrent writers from both terminals: every order lands, tickets are unique.
    let (xa, xb) = tokio::join!(burst(&a), burst(&b));
    let mut tickets: Vec<i64> = xa.into_iter().chain(xb).collect();
    tickets.sort_unstable();
    tickets.dedup();
    assert_eq!(tickets.len(), 16);
    let_readers_recheck().await;
    assert_eq!(positions(&a).await.len(), 16);
    assert_eq!(positions(&b).await.len(), 16);
    assert_eq!(deals(&env.open()).await.len(), 1 + 2 + 16);
}

async fn burst(t: &SimTerminal) -> Vec<i64> {
    let mut out = Vec::new();
    for n in 0..8 {
        out.push(
            send_ok(
                t,
                TradeRequest {
                    magic: Some(n),
                    ..market_order("GBPUSD", 0, 0.01)
                },
            )
            .await
            .order,
        );
    }
    out
}

#[tokio::test]
async fn concurrent_calls_in_one_process_are_serialised() {
    let env = Env::new();
    let t = std::sync::Arc::new(env.open());
    let mut tasks = Vec::new();
    for n in 0..20 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let r = t
                .order_send(&TradeRequest {
                    magic: Some(n),
                    ..market_order("AUDUSD", 1, 0.01)
                })
                .await
                .unwrap();
            let _ = t.account_info().await.unwrap();
            r.order
        }));
    }
    let mut tickets = Vec::new();
    for task in tasks {
        tickets.push(task.await.unwrap());
    }
    tickets.sort_unstable();
    tickets.dedup();
    assert_eq!(tickets.len(), 20);
    assert_eq!(positions(&env.open()).await.len(), 20);
}

#[tokio::test]
async fn reads_never_write_the_file_but_trades_and_triggers_do() {
    let env = Env::new();
    let t = env.open();
    let level = px(env.quote("EURUSD").ask - 0.0008, 5);
    send_ok(
        &t,
        pending_order("EURUSD", ORDER_TYPE_BUY_LIMIT, 0.1, level),
    )
    .await;
    let snapshot = std::fs::read(env.state_path()).unwrap();
    let hit = env.first_tick("EURUSD", 86_400, |q| q.ask <= level);
    env.clock.set_ms(hit.time_ms - 2_000);
    for _ in 0..3 {
        let _ = t.symbol_info_tick("EURUSD").await.unwrap();
        let _ = t.account_info().await.unwrap();
        let _ = positions(&t).await;
        let _ = t
            .copy_rates_from_pos("EURUSD", TIMEFRAME_M1, 0, 10)
            .await
            .unwrap();
        let_readers_recheck().await;
    }
    assert_eq!(
        std::fs::read(env.state_path()).unwrap(),
        snapshot,
        "quote and account reads change nothing"
    );
    env.clock.set_ms(hit.time_ms);
    assert_eq!(positions(&t).await.len(), 1, "the fill is found by a read");
    assert_ne!(std::fs::read(env.state_path()).unwrap(), snapshot);
    drop(t);
    assert_eq!(positions(&env.open()).await.len(), 1, "and persisted");
}
