//! Closing positions (full, partial, close-by) and changing their stops.

use super::*;

#[tokio::test]
async fn partial_then_full_close_books_profit_in_usd_for_a_jpy_pair() {
    let env = Env::new();
    let t = env.open();
    let open = send_ok(
        &t,
        TradeRequest {
            magic: Some(99),
            ..market_order("USDJPY", ORDER_TYPE_BUY, 1.0)
        },
    )
    .await;
    env.clock.advance_secs(7_200);
    let q = env.quote("USDJPY");
    let expect = t
        .order_calc_profit(ORDER_TYPE_BUY, "USDJPY", 0.4, open.price, q.bid)
        .await
        .unwrap();
    let usdjpy_mid = (q.bid + q.ask) / 2.0;
    assert!(
        (expect - (q.bid - open.price) * 40_000.0 / usdjpy_mid).abs() < 0.05,
        "converted from JPY"
    );

    let part = send_ok(
        &t,
        TradeRequest {
            magic: Some(99),
            ..close_order("USDJPY", open.order, POSITION_TYPE_BUY, 0.4)
        },
    )
    .await;
    assert_eq!((part.price, part.volume), (q.bid, 0.4));
    let ps = positions(&t).await;
    assert_eq!(
        (ps.len(), ps[0].ticket, ps[0].volume),
        (1, open.order, 0.6),
        "the position keeps its ticket"
    );
    let out = deals(&t)
        .await
        .into_iter()
        .find(|d| d.ticket == part.deal)
        .unwrap();
    assert_eq!(
        (out.entry, out.kind, out.position_id, out.magic),
        (DEAL_ENTRY_OUT, DEAL_TYPE_SELL, open.order, 99)
    );
    assert_eq!((out.profit, out.commission, out.swap), (expect, 0.0, 0.0));
    assert_eq!(
        t.account_info().await.unwrap().balance,
        super::super::market::round_money(10_000.0 + expect)
    );

    env.clock.advance_secs(60);
    let full = send_ok(
        &t,
        close_order("USDJPY", open.order, POSITION_TYPE_BUY, 0.6),
    )
    .await;
    assert!(positions(&t).await.is_empty());
    let ds = deals(&t).await;
    let last = ds.iter().find(|d| d.ticket == full.deal).unwrap();
    let a = t.account_info().await.unwrap();
    assert_eq!(
        a.balance,
        super::super::market::round_money(10_000.0 + expect + last.profit)
    );
    assert_eq!((a.margin, a.profit, a.margin_level), (0.0, 0.0, 0.0));
    assert_eq!(a.equity, a.balance);
}

#[tokio::test]
async fn close_rejections() {
    let env = Env::new();
    let t = env.open();
    let open = send_ok(&t, market_order("EURUSD", ORDER_TYPE_BUY, 0.3)).await;
    let close = |v: f64| close_order("EURUSD", open.order, POSITION_TYPE_BUY, v);
    let cases: Vec<(&str, TradeRequest, i64)> = vec![
        (
            "unknown position",
            close_order("EURUSD", 123, POSITION_TYPE_BUY, 0.1),
            10036,
        ),
        ("more than the position", close(0.31), 10038),
        ("off step", close(0.015), 10014),
        ("zero", close(0.0), 10014),
        (
            "same direction",
            TradeRequest {
                kind: Some(ORDER_TYPE_BUY),
                ..close(0.1)
            },
            10013,
        ),
        (
            "other symbol",
            TradeRequest {
                symbol: Some("GBPUSD".into()),
                ..close(0.1)
            },
            10013,
        ),
        (
            "no symbol",
            TradeRequest {
                symbol: None,
                ..close(0.1)
            },
            10013,
        ),
        (
            "RETURN filling",
            TradeRequest {
                type_filling: Some(2),
                ..close(0.1)
            },
            10030,
        ),
    ];
    for (what, req, code) in cases {
        assert_eq!(send(&t, req).await.retcode, code, "{what}");
    }
    assert_eq!(positions(&t).await[0].volume, 0.3);
}

#[tokio::test]
async fn sltp_sets_validates_and_removes_stops() {
    let env = Env::new();
    let t = env.open();
    let open = send_ok(&t, market_order("EURUSD", ORDER_TYPE_BUY, 0.1)).await;
    let q = env.quote("EURUSD");
    let sltp = |sl: Option<f64>, tp: Option<f64>| TradeRequest {
        action: TRADE_ACTION_SLTP,
        symbol: Some("EURUSD".into()),
        position: Some(open.order),
        sl,
        tp,
        ..TradeRequest::default()
    };
    let (sl, tp) = (px(q.bid - 0.0050, 5), px(q.bid + 0.0050, 5));
    let r = send_ok(&t, sltp(Some(sl), Some(tp))).await;
    assert_eq!((r.order, r.deal), (0, 0));
    let p = &positions(&t).await[0];
    assert_eq!((p.sl, p.tp), (sl, tp));
    let cases: Vec<(&str, TradeRequest, i64)> = vec![
        ("unchanged", sltp(Some(sl), Some(tp)), 10025),
        (
            "SL above bid",
            sltp(Some(px(q.bid + 0.0001, 5)), Some(tp)),
            10016,
        ),
        (
            "TP below bid",
            sltp(Some(sl), Some(px(q.bid - 0.0001, 5))),
            10016,
        ),
        (
            "unknown position",
            TradeRequest {
                position: Some(5),
                ..sltp(Some(sl), None)
            },
            10036,
        ),
        (
            "no position",
            TradeRequest {
                position: None,
                ..sltp(Some(sl), None)
            },
            10013,
        ),
        (
            "wrong symbol",
            TradeRequest {
                symbol: Some("USDJPY".into()),
                ..sltp(None, None)
            },
            10013,
        ),
    ];
    for (what, req, code) in cases {
        assert_eq!(send(&t, req).await.retcode, code, "{what}");
    }
    send_ok(&t, sltp(None, None)).await;
    let p = &positions(&t).await[0];
    assert_eq!((p.sl, p.tp), (0.0, 0.0), "absent sl/tp remove the stops");
}

#[tokio::test]
async fn close_by_closes_the_common_volume_of_opposite_positions() {
    let env = Env::new();
    let t = env.open();
    let long = send_ok(&t, market_order("EURUSD", ORDER_TYPE_BUY, 0.5)).await;
    env.clock.advance_secs(1_800);
    let short = send_ok(&t, market_order("EURUSD", ORDER_TYPE_SELL, 0.2)).await;
    let req = TradeRequest {
        action: TRADE_ACTION_CLOSE_BY,
        symbol: Some("EURUSD".into()),
        position: Some(long.order),
        position_by: Some(short.order),
        ..TradeRequest::default()
    };
    let r = send_ok(&t, req).await;
    assert_eq!(r.volume, 0.2);
    let ps = positions(&t).await;
    assert_eq!((ps.len(), ps[0].ticket, ps[0].volume), (1, long.order, 0.3));
    let outs: Vec<_> = deals(&t)
        .await
        .into_iter()
        .filter(|d| d.entry == 3)
        .collect();
    assert_eq!(outs.len(), 2);
    let total: f64 = outs.iter().map(|d| d.profit).sum();
    let expect = super::super::market::round_money((short.price - long.price) * 0.2 * 100_000.0);
    assert!((total - expect).abs() < 0.011, "{total} vs {expect}");
}
