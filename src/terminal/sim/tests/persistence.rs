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
    let text = std::fs::read_to_string(journal_path(&env)).unwrap();
    assert!(text.contains(&format!("\"seed\":{seed}")));
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
    let snapshot = std::fs::read(journal_path(&env)).unwrap();
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
        std::fs::read(journal_path(&env)).unwrap(),
        snapshot,
        "quote and account reads change nothing"
    );
    env.clock.set_ms(hit.time_ms);
    assert_eq!(positions(&t).await.len(), 1, "the fill is found by a read");
    assert_ne!(std::fs::read(journal_path(&env)).unwrap(), snapshot);
    drop(t);
    assert_eq!(positions(&env.open()).await.len(), 1, "and persisted");
}

// ---------------------------------------------------------------- the history journal

type View = (
    Vec<crate::terminal::Position>,
    Vec<crate::terminal::Order>,
    Vec<crate::terminal::Deal>,
    crate::terminal::AccountInfo,
);

async fn view(t: &SimTerminal) -> View {
    (
        positions(t).await,
        orders(t).await,
        deals(t).await,
        t.account_info().await.unwrap(),
    )
}

/// `n` market buys of 0.01 lot closed at once: two order_send and four history records each.
async fn round_trips(t: &SimTerminal, env: &Env, n: usize) {
    for _ in 0..n {
        let open = send_ok(t, market_order("EURUSD", ORDER_TYPE_BUY, 0.01)).await;
        env.clock.advance_secs(1);
        send_ok(
            t,
            close_order("EURUSD", open.order, POSITION_TYPE_BUY, 0.01),
        )
        .await;
    }
}

fn journal_path(env: &Env) -> std::path::PathBuf {
    env.state_path()
        .with_file_name("account.json.journal.jsonl")
}

fn file_len(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

#[tokio::test]
async fn a_write_appends_as_much_after_many_trades_as_after_one_and_all_survive() {
    let env = Env::new();
    let t = env.open();
    let pointer = std::fs::read(env.state_path()).unwrap();
    let journal = journal_path(&env);
    let mut per_round_trip = Vec::new();
    for n in [1, 300, 1] {
        let before = file_len(&journal);
        round_trips(&t, &env, n).await;
        per_round_trip.push((file_len(&journal) - before) / n as u64);
    }
    let (early, late) = (per_round_trip[0], per_round_trip[2]);
    assert!(
        late <= early + 8,
        "bytes per round trip: {early} then {late}"
    );
    let level = px(env.quote("EURUSD").ask - 0.0050, 5);
    send_ok(
        &t,
        pending_order("EURUSD", ORDER_TYPE_BUY_LIMIT, 0.1, level),
    )
    .await;
    let before = view(&t).await;
    assert_eq!(before.2.len(), 1 + 2 * 302);
    assert_eq!(
        std::fs::read(env.state_path()).unwrap(),
        pointer,
        "account.json is written once"
    );
    drop(t);

    let t = env.open();
    assert!(t.corrupt_state_notice().is_none());
    assert_eq!(view(&t).await, before);
    let next = send_ok(&t, market_order("EURUSD", ORDER_TYPE_BUY, 0.1)).await;
    assert!(next.deal > before.2.last().unwrap().ticket);
}

#[tokio::test]
async fn a_torn_journal_tail_from_a_crash_is_ignored_then_replaced() {
    let env = Env::new();
    let t = env.open();
    round_trips(&t, &env, 3).await;
    let before = view(&t).await;
    drop(t);
    // A crash in the middle of an append: half a record after the committed part.
    let committed = std::fs::read(journal_path(&env)).unwrap();
    let mut torn = committed.clone();
    torn.extend_from_slice(b"{\"deal\":{\"ticket\":50000099,\"order\":1");
    std::fs::write(journal_path(&env), &torn).unwrap();

    let t = env.open();
    assert!(t.corrupt_state_notice().is_none());
    assert_eq!(view(&t).await, before);
    send_ok(&t, market_order("GBPUSD", ORDER_TYPE_SELL, 0.02)).await;
    let after = view(&t).await;
    let journal = std::fs::read(journal_path(&env)).unwrap();
    assert!(journal.starts_with(&committed) && !journal.windows(8).any(|w| w == b"50000099"));
    drop(t);
    let t = env.open();
    assert!(t.corrupt_state_notice().is_none());
    assert_eq!(view(&t).await, after);
    assert_eq!(after.2.len(), before.2.len() + 1);
}

#[tokio::test]
async fn two_terminals_interleaving_many_trades_lose_none() {
    let env = Env::new();
    let (a, b) = (env.open(), env.open());
    let mut mine = Vec::new();
    for n in 0..40 {
        let (t, other) = if n % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let open = send_ok(
            t,
            TradeRequest {
                magic: Some(n),
                ..market_order("USDJPY", ORDER_TYPE_BUY, 0.01)
            },
        )
        .await;
        mine.push(open.order);
        if n % 4 == 3 {
            // The other terminal closes it: its write path must see the position at once.
            send_ok(
                other,
                close_order("USDJPY", open.order, POSITION_TYPE_BUY, 0.01),
            )
            .await;
        }
        env.clock.advance_secs(1);
    }
    let_readers_recheck().await;
    let (va, vb) = (view(&a).await, view(&b).await);
    assert_eq!(va, vb);
    assert_eq!(va.0.len(), 30);
    assert_eq!(va.2.len(), 1 + 40 + 10);
    let mut tickets: Vec<i64> = va.2.iter().map(|d| d.ticket).collect();
    tickets.dedup();
    assert_eq!(tickets.len(), va.2.len(), "deal tickets are unique");
    drop((a, b));
    assert_eq!(view(&env.open()).await, va);
}

/// Rewrites the account as a format-1 file (one pretty-printed JSON, history inline) and
/// removes the journal, as mt5-mcp wrote it before the journal existed.
fn downgrade_to_format_1(env: &Env) {
    use crate::terminal::sim::store::{Loaded, Store};
    let store = Store::new(&env.state_path()).unwrap();
    let Loaded::Account(disk) = store.read(None).unwrap() else {
        panic!("readable")
    };
    let generation = disk.generation;
    let acct = disk.whole();
    let mut v = serde_json::json!({"format": 1, "generation": generation, "account": acct});
    v["account"]["history_orders"] = serde_json::to_value(&acct.history_orders).unwrap();
    v["account"]["deals"] = serde_json::to_value(&acct.deals).unwrap();
    std::fs::write(env.state_path(), serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    std::fs::remove_file(journal_path(env)).unwrap();
}

#[tokio::test]
async fn a_format_1_file_is_read_as_is_and_migrated_on_the_first_write() {
    let env = Env::new();
    let before = {
        let t = env.open();
        round_trips(&t, &env, 2).await;
        let level = px(env.quote("EURUSD").ask - 0.0050, 5);
        send_ok(
            &t,
            pending_order("EURUSD", ORDER_TYPE_BUY_LIMIT, 0.1, level),
        )
        .await;
        send_ok(&t, market_order("XAUUSD", ORDER_TYPE_SELL, 0.01)).await;
        view(&t).await
    };
    downgrade_to_format_1(&env);
    let old = std::fs::read(env.state_path()).unwrap();

    let t = env.open();
    assert!(t.corrupt_state_notice().is_none());
    assert_eq!(view(&t).await, before);
    assert_eq!(
        std::fs::read(env.state_path()).unwrap(),
        old,
        "reading migrates nothing"
    );
    assert!(!journal_path(&env).exists());

    send_ok(&t, market_order("EURUSD", ORDER_TYPE_SELL, 0.1)).await;
    let after = view(&t).await;
    let state = std::fs::read_to_string(env.state_path()).unwrap();
    assert_eq!(
        state,
        "{\"format\":2,\"journal\":\"account.json.journal.jsonl\"}\n"
    );
    assert!(journal_path(&env).exists());
    drop(t);
    let t = env.open();
    assert_eq!(view(&t).await, after);
    assert_eq!(after.2.len(), before.2.len() + 1);
    assert_eq!(after.2[..before.2.len()], before.2[..]);
}

#[tokio::test]
async fn a_damaged_journal_is_set_aside_with_its_state_file_and_reported() {
    let env = Env::new();
    {
        let t = env.open();
        round_trips(&t, &env, 2).await;
    }
    // Damage before the last commit (what a power failure can leave): not a torn tail.
    let mut journal = std::fs::read(journal_path(&env)).unwrap();
    let at = journal.len() / 2;
    journal[at..at + 16].fill(0);
    std::fs::write(journal_path(&env), &journal).unwrap();
    let t = env.open();
    let notice = t.corrupt_state_notice().expect("a notice");
    let ts = env.now() / 1000;
    let state_aside = env
        .state_path()
        .with_file_name(format!("account.json.corrupt-{ts}"));
    let journal_aside = env
        .state_path()
        .with_file_name(format!("account.json.journal.jsonl.corrupt-{ts}"));
    assert!(notice.contains("unreadable line"), "{notice}");
    assert!(
        notice.contains(&journal_aside.display().to_string()),
        "{notice}"
    );
    assert_eq!(std::fs::read(&journal_aside).unwrap(), journal);
    assert!(state_aside.exists());
    assert_eq!(deals(&t).await.len(), 1, "a fresh account, loudly");
}

#[tokio::test]
async fn a_journal_cut_short_under_a_running_server_is_set_aside_and_rewritten() {
    let env = Env::new();
    let t = env.open();
    round_trips(&t, &env, 2).await;
    let before = view(&t).await;
    let journal = std::fs::read(journal_path(&env)).unwrap();
    let half = &journal[..journal.len() / 2];
    std::fs::write(journal_path(&env), half).unwrap();

    // The write finds the damage, sets it aside and writes back what memory holds.
    send_ok(&t, market_order("EURUSD", ORDER_TYPE_BUY, 0.1)).await;
    let notice = t.corrupt_state_notice().expect("a notice");
    assert!(
        notice.contains("written back") && notice.contains("shorter"),
        "{notice}"
    );
    let aside = journal_path(&env).with_file_name(format!(
        "account.json.journal.jsonl.corrupt-{}",
        env.now() / 1000
    ));
    assert_eq!(std::fs::read(aside).unwrap(), half);
    let after = view(&t).await;
    assert_eq!(after.2.len(), before.2.len() + 1);
    assert_eq!(after.2[..before.2.len()], before.2[..]);
    drop(t);
    let t = env.open();
    assert!(t.corrupt_state_notice().is_none());
    assert_eq!(view(&t).await, after);
}

#[tokio::test]
async fn a_failed_write_reports_no_unsaved_trade() {
    let env = Env::new();
    let t = env.open();
    round_trips(&t, &env, 1).await;
    let before = view(&t).await;
    let moved = env.state_path().with_file_name("elsewhere");
    std::fs::rename(journal_path(&env), &moved).unwrap();
    std::fs::create_dir(journal_path(&env)).unwrap();
    assert!(
        t.order_send(&market_order("EURUSD", ORDER_TYPE_BUY, 0.1))
            .await
            .is_err()
    );
    assert_eq!(view(&t).await, before);
    std::fs::remove_dir(journal_path(&env)).unwrap();
    std::fs::rename(&moved, journal_path(&env)).unwrap();
    send_ok(&t, market_order("EURUSD", ORDER_TYPE_BUY, 0.1)).await;
    assert!(t.corrupt_state_notice().is_none());
    drop(t);
    let t = env.open();
    assert_eq!(positions(&t).await.len(), 1);
    assert_eq!(deals(&t).await.len(), before.2.len() + 1);
}
