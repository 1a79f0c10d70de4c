//! What the market does by itself: pending fills, SL/TP, swaps and stop-out, exact to the
//! triggering tick, found by looking ahead on the deterministic price path.

use super::*;

fn broker_secs(ms: i64) -> i64 {
    ms.div_euclid(1000) + OFFSET_MIN as i64 * 60
}

#[tokio::test]
async fn a_buy_limit_fills_at_its_price_on_the_first_tick_the_ask_reaches_it() {
    let env = Env::new();
    let t = env.open();
    let level = px(env.quote("EURUSD").ask - 0.0008, 5);
    let req = TradeRequest {
        magic: Some(555),
        comment: Some("bl".into()),
        sl: Some(px(level - 0.0100, 5)),
        ..pending_order("EURUSD", ORDER_TYPE_BUY_LIMIT, 0.3, level)
    };
    let placed = send_ok(&t, req).await;
    let hit = env.first_tick("EURUSD", 86_400, |q| q.ask <= level);

    env.clock.set_ms(hit.time_ms - 1);
    assert_eq!(
        (orders(&t).await.len(), positions(&t).await.len()),
        (1, 0),
        "one ms early"
    );
    env.clock.set_ms(hit.time_ms);
    assert!(orders(&t).await.is_empty());
    let ps = positions(&t).await;
    assert_eq!(ps.len(), 1);
    let p = &ps[0];
    assert_eq!(
        (p.ticket, p.identifier, p.price_open, p.volume),
        (placed.order, placed.order, level, 0.3)
    );
    assert_eq!(
        (p.magic, p.comment.as_str(), p.sl),
        (555, "bl", px(level - 0.0100, 5))
    );
    assert_eq!(p.time, broker_secs(hit.time_ms));
    let d = deals(&t).await.pop().unwrap();
    assert_eq!(
        (d.order, d.entry, d.reason, d.magic, d.price),
        (placed.order, DEAL_ENTRY_IN, DEAL_REASON_EXPERT, 555, level)
    );
    assert_eq!(d.time_msc, hit.time_ms + OFFSET_MIN as i64 * 60_000);
}

#[tokio::test]
async fn stop_orders_fill_at_the_market_price_of_the_triggering_tick() {
    let env = Env::new();
    let t = env.open();
    let q = env.quote("XAUUSD");
    let (up, down) = (px(q.ask + 2.0, 2), px(q.bid - 2.0, 2));
    let buy = send_ok(&t, pending_order("XAUUSD", ORDER_TYPE_BUY_STOP, 0.1, up)).await;
    let sell = send_ok(&t, pending_order("XAUUSD", ORDER_TYPE_SELL_STOP, 0.1, down)).await;
    let hit_up = env.first_tick("XAUUSD", 86_400, |q| q.ask >= up);
    let hit_down = env.first_tick("XAUUSD", 86_400, |q| q.bid <= down);
    env.clock.set_ms(hit_up.time_ms.max(hit_down.time_ms));
    let ps = positions(&t).await;
    assert_eq!(ps.len(), 2);
    let long = ps.iter().find(|p| p.ticket == buy.order).unwrap();
    let short = ps.iter().find(|p| p.ticket == sell.order).unwrap();
    assert_eq!(
        (long.kind, long.price_open),
        (POSITION_TYPE_BUY, hit_up.ask)
    );
    assert_eq!(
        (short.kind, short.price_open),
        (POSITION_TYPE_SELL, hit_down.bid)
    );
    assert!(long.price_open >= up && short.price_open <= down);
}

#[tokio::test]
async fn a_stop_limit_becomes_a_limit_then_fills_at_the_limit() {
    let env = Env::new();
    let t = env.open();
    let q = env.quote("EURUSD");
    let stop = px(q.ask + 0.0006, 5);
    let limit = px(stop - 0.0003, 5);
    let req = TradeRequest {
        stoplimit: Some(limit),
        ..pending_order("EURUSD", ORDER_TYPE_BUY_STOP_LIMIT, 0.1, stop)
    };
    let placed = send_ok(&t, req).await;
    let activated = env.first_tick("EURUSD", 86_400, |q| q.ask >= stop);
    env.clock.set_ms(activated.time_ms);
    let os = orders(&t).await;
    assert_eq!(
        (os.len(), os[0].ticket, os[0].kind, os[0].price_open),
        (1, placed.order, ORDER_TYPE_BUY_LIMIT, limit)
    );
    assert!(positions(&t).await.is_empty() || activated.ask <= limit);
    let filled = env.first_tick("EURUSD", 86_400, |q| q.ask <= limit);
    env.clock.set_ms(filled.time_ms);
    let ps = positions(&t).await;
    assert_eq!(
        (ps.len(), ps[0].ticket, ps[0].price_open),
        (1, placed.order, limit)
    );
}

#[tokio::test]
async fn take_profit_closes_at_its_price_and_stop_loss_at_the_tick() {
    let env = Env::new();
    let t = env.open();
    let long = send_ok(
        &t,
        TradeRequest {
            magic: Some(8),
            ..market_order("EURUSD", ORDER_TYPE_BUY, 1.0)
        },
    )
    .await;
    let short = send_ok(
        &t,
        TradeRequest {
            magic: Some(9),
            ..market_order("EURUSD", ORDER_TYPE_SELL, 1.0)
        },
    )
    .await;
    let q = env.quote("EURUSD");
    let tp = px(q.bid + 0.0007, 5);
    let sl = px(q.ask + 0.0007, 5);
    let sltp = |position: i64, sl: Option<f64>, tp: Option<f64>| TradeRequest {
        action: TRADE_ACTION_SLTP,
        symbol: Some("EURUSD".into()),
        position: Some(position),
        sl,
        tp,
        ..TradeRequest::default()
    };
    send_ok(&t, sltp(long.order, None, Some(tp))).await;
    send_ok(&t, sltp(short.order, Some(sl), None)).await;
    let tp_hit = env.first_tick("EURUSD", 86_400, |q| q.bid >= tp);
    let sl_hit = env.first_tick("EURUSD", 86_400, |q| q.ask >= sl);
    env.clock.set_ms(tp_hit.time_ms.max(sl_hit.time_ms) + 5_000);
    assert!(positions(&t).await.is_empty());
    let ds = deals(&t).await;
    let by_pos = |id: i64| {
        ds.iter()
            .find(|d| d.position_id == id && d.entry == DEAL_ENTRY_OUT)
            .unwrap()
            .clone()
    };
    let (tp_deal, sl_deal) = (by_pos(long.order), by_pos(short.order));
    assert_eq!(
        (tp_deal.reason, tp_deal.price, tp_deal.magic),
        (DEAL_REASON_TP, tp, 8)
    );
    assert_eq!(tp_deal.comment, format!("[tp {tp:.5}]"));
    assert_eq!(
        tp_deal.time_msc,
        tp_hit.time_ms + OFFSET_MIN as i64 * 60_000
    );
    assert!((tp_deal.profit - (tp - long.price) * 100_000.0).abs() < 0.011);
    assert_eq!(
        (sl_deal.reason, sl_deal.price, sl_deal.magic),
        (DEAL_REASON_SL, sl_hit.ask, 9)
    );
    assert!(sl_deal.price >= sl);
    // The two closes may come after the Wednesday rollover: swaps are booked with them.
    let balance = 10_000.0 + tp_deal.profit + tp_deal.swap + sl_deal.profit + sl_deal.swap;
    assert_eq!(
        t.account_info().await.unwrap().balance,
        super::super::market::round_money(balance)
    );
}

#[tokio::test]
async fn catching_up_days_in_one_step_fires_at_the_exact_tick() {
    let env = Env::new();
    let t = env.open();
    let q = env.quote("USDJPY");
    let level = px(q.bid + 0.600, 3);
    let placed = send_ok(
        &t,
        pending_order("USDJPY", ORDER_TYPE_SELL_LIMIT, 0.1, level),
    )
    .await;
    let hit = env.first_tick("USDJPY", 5 * 86_400, |q| q.bid >= level);
    env.clock.advance_secs(6 * 86_400);
    let started = std::time::Instant::now();
    let ps = positions(&t).await;
    let spent = started.elapsed();
    assert_eq!(ps.len(), 1);
    assert_eq!(
        (ps[0].ticket, ps[0].time_msc),
        (placed.order, hit.time_ms + OFFSET_MIN as i64 * 60_000)
    );
    assert!(
        spent < std::time::Duration::from_millis(500),
        "catch-up took {spent:?}"
    );
}

#[tokio::test]
async fn swaps_are_charged_at_rollover_triple_on_wednesday_and_booked_on_close() {
    let env = Env::new();
    let t = env.open();
    let open = send_ok(&t, market_order("EURUSD", ORDER_TYPE_BUY, 1.0)).await;
    // T0 is Wednesday 12:00 broker; the rollover is 12 h later.
    env.clock.set_ms(T0 + 12 * 3_600_000 - 1_000);
    assert_eq!(positions(&t).await[0].swap, 0.0);
    env.clock.set_ms(T0 + 12 * 3_600_000 + 1_000);
    let p = &positions(&t).await[0];
    assert_eq!(
        p.swap, -22.5,
        "3 nights × -7.5 points × 1 USD per point per lot"
    );
    let a = t.account_info().await.unwrap();
    assert!((a.profit - (p.profit + p.swap)).abs() < 1e-9);
    // Thursday's rollover charges one night.
    env.clock.set_ms(T0 + 36 * 3_600_000 + 1_000);
    assert_eq!(positions(&t).await[0].swap, -30.0);
    let close = send_ok(
        &t,
        close_order("EURUSD", open.order, POSITION_TYPE_BUY, 1.0),
    )
    .await;
    let d = deals(&t)
        .await
        .into_iter()
        .find(|d| d.ticket == close.deal)
        .unwrap();
    assert_eq!(d.swap, -30.0);
    let balance = super::super::market::round_money(10_000.0 + d.profit - 30.0);
    assert_eq!(t.account_info().await.unwrap().balance, balance);
}

#[tokio::test]
async fn stop_out_closes_the_losing_position_when_margin_level_falls_below_half() {
    let env = Env::with(Some(SEED), 1_000, 500);
    let t = env.open();
    let m = env.market();
    let i = m.index("EURUSD").unwrap();
    let later = m.quote(i, T0 + 86_400_000);
    let losing_side = if later.bid < env.quote("EURUSD").bid {
        ORDER_TYPE_BUY
    } else {
        ORDER_TYPE_SELL
    };
    let open = send_ok(
        &t,
        TradeRequest {
            magic: Some(3),
            ..market_order("EURUSD", losing_side, 4.0)
        },
    )
    .await;
    env.clock.advance_secs(86_400);
    assert!(positions(&t).await.is_empty(), "stopped out within a day");
    let d = deals(&t).await.pop().unwrap();
    assert_eq!(
        (d.position_id, d.reason, d.magic),
        (open.order, DEAL_REASON_SO, 3)
    );
    assert!(d.comment.starts_with("[so "), "{}", d.comment);
    assert!(d.profit < -400.0);
    let a = t.account_info().await.unwrap();
    assert!(a.balance > 0.0 && a.margin == 0.0);
}

#[tokio::test]
async fn a_pending_order_without_margin_at_activation_is_rejected() {
    let env = Env::with(Some(SEED), 1_000, 100);
    let t = env.open();
    let level = px(env.quote("EURUSD").ask + 0.0005, 5);
    send_ok(&t, pending_order("EURUSD", ORDER_TYPE_BUY_STOP, 2.0, level)).await;
    let hit = env.first_tick("EURUSD", 86_400, |q| q.ask >= level);
    env.clock.set_ms(hit.time_ms + 1);
    assert!(orders(&t).await.is_empty());
    assert!(positions(&t).await.is_empty());
    assert_eq!(t.account_info().await.unwrap().balance, 1_000.0);
}
