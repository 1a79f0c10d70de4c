//! Market orders: fills, account figures, closes and every rejection.

use super::*;
use crate::terminal::TermError;

#[tokio::test]
async fn market_buy_fills_at_ask_and_sell_at_bid_with_a_consistent_account() {
    let env = Env::new();
    let t = env.open();
    let q = env.quote("EURUSD");
    let buy = send_ok(
        &t,
        TradeRequest {
            magic: Some(4242),
            ..market_order("EURUSD", ORDER_TYPE_BUY, 0.5)
        },
    )
    .await;
    assert_eq!(
        (buy.price, buy.volume, buy.comment.as_str()),
        (q.ask, 0.5, "Request executed")
    );
    assert!(buy.order > 0 && buy.deal > 0 && buy.request_id > 0);
    assert_eq!((buy.bid, buy.ask), (q.bid, q.ask));
    let sell = send_ok(&t, market_order("EURUSD", ORDER_TYPE_SELL, 0.2)).await;
    assert_eq!(sell.price, q.bid);

    let ps = positions(&t).await;
    assert_eq!(ps.len(), 2);
    let long = ps.iter().find(|p| p.ticket == buy.order).unwrap();
    assert_eq!(
        (long.kind, long.identifier, long.magic, long.volume),
        (POSITION_TYPE_BUY, buy.order, 4242, 0.5)
    );
    assert_eq!((long.price_open, long.price_current), (q.ask, q.bid));
    assert_eq!(long.time, T0 / 1000 + 7_200, "broker time");
    let spread_cost = -((q.ask - q.bid) * 0.5 * 100_000.0);
    assert!(
        (long.profit - spread_cost).abs() < 0.011,
        "{} vs {spread_cost}",
        long.profit
    );

    let a = t.account_info().await.unwrap();
    let margin = t
        .order_calc_margin(ORDER_TYPE_BUY, "EURUSD", 0.5, q.ask)
        .await
        .unwrap()
        + t.order_calc_margin(ORDER_TYPE_SELL, "EURUSD", 0.2, q.bid)
            .await
            .unwrap();
    assert!((a.margin - margin).abs() < 0.02, "{} vs {margin}", a.margin);
    assert_eq!(a.balance, 10_000.0);
    let floating: f64 = ps.iter().map(|p| p.profit + p.swap).sum();
    assert!((a.profit - floating).abs() < 1e-9);
    assert!((a.equity - (a.balance + a.profit)).abs() < 1e-9);
    assert!((a.margin_free - (a.equity - a.margin)).abs() < 1e-9);
    assert!((a.margin_level - a.equity / a.margin * 100.0).abs() < 1e-9);

    // Deals: the deposit, then one IN deal per fill with the request's magic.
    let ds = deals(&t).await;
    assert_eq!(ds.len(), 3);
    assert_eq!(
        (ds[1].entry, ds[1].kind, ds[1].magic, ds[1].position_id),
        (DEAL_ENTRY_IN, DEAL_TYPE_BUY, 4242, buy.order)
    );
    assert_eq!(
        (ds[1].price, ds[1].reason, ds[1].order),
        (q.ask, DEAL_REASON_EXPERT, buy.order)
    );
    assert_eq!((ds[2].kind, ds[2].price), (DEAL_TYPE_SELL, q.bid));
}

#[tokio::test]
async fn floating_profit_and_margin_follow_the_price() {
    let env = Env::new();
    let t = env.open();
    send_ok(&t, market_order("USDJPY", ORDER_TYPE_BUY, 1.0)).await;
    let before = t.account_info().await.unwrap();
    env.clock.advance_secs(3_600);
    let after = t.account_info().await.unwrap();
    assert_ne!(before.equity, after.equity);
    assert_ne!(before.profit, after.profit);
    let p = &positions(&t).await[0];
    let expect = t
        .order_calc_profit(ORDER_TYPE_BUY, "USDJPY", 1.0, p.price_open, p.price_current)
        .await
        .unwrap();
    assert!(
        (p.profit - expect).abs() < 0.011,
        "{} vs {expect}",
        p.profit
    );
    assert_eq!(p.price_current, env.quote("USDJPY").bid);
}

/// Every rejection of a market open, each leaving the account untouched.
#[tokio::test]
async fn market_open_rejections_carry_mt5_retcodes_and_change_nothing() {
    let env = Env::new();
    let t = env.open();
    let q = env.quote("EURUSD");
    let buy = || market_order("EURUSD", ORDER_TYPE_BUY, 0.1);
    let cases: Vec<(&str, TradeRequest, i64)> = vec![
        (
            "unknown action",
            TradeRequest {
                action: 99,
                ..buy()
            },
            10013,
        ),
        (
            "missing symbol",
            TradeRequest {
                symbol: None,
                ..buy()
            },
            10013,
        ),
        (
            "unknown symbol",
            TradeRequest {
                symbol: Some("NOPE".into()),
                ..buy()
            },
            10013,
        ),
        (
            "missing type",
            TradeRequest {
                kind: None,
                ..buy()
            },
            10013,
        ),
        (
            "pending type on a deal",
            TradeRequest {
                kind: Some(ORDER_TYPE_BUY_LIMIT),
                ..buy()
            },
            10035,
        ),
        (
            "hidden symbol has no quotes",
            market_order("USDCHF", ORDER_TYPE_BUY, 0.1),
            10021,
        ),
        (
            "volume off step",
            TradeRequest {
                volume: Some(0.015),
                ..buy()
            },
            10014,
        ),
        (
            "volume zero",
            TradeRequest {
                volume: Some(0.0),
                ..buy()
            },
            10014,
        ),
        (
            "volume above max",
            TradeRequest {
                volume: Some(101.0),
                ..buy()
            },
            10014,
        ),
        (
            "volume missing",
            TradeRequest {
                volume: None,
                ..buy()
            },
            10014,
        ),
        (
            "filling RETURN on market",
            TradeRequest {
                type_filling: Some(ORDER_FILLING_RETURN),
                ..buy()
            },
            10030,
        ),
        (
            "FOK on an IOC-only symbol",
            TradeRequest {
                type_filling: Some(0),
                ..market_order("BTCUSD", 0, 0.01)
            },
            10030,
        ),
        (
            "IOC on a FOK-only symbol",
            market_order("US500", ORDER_TYPE_BUY, 0.1),
            10030,
        ),
        (
            "price moved beyond deviation",
            TradeRequest {
                price: Some(px(q.ask - 0.0010, 5)),
                deviation: Some(5),
                ..buy()
            },
            10004,
        ),
        (
            "price without deviation",
            TradeRequest {
                price: Some(px(q.ask + 0.00001, 5)),
                ..buy()
            },
            10004,
        ),
        (
            "price off the grid",
            TradeRequest {
                price: Some(q.ask + 0.000001),
                deviation: Some(10),
                ..buy()
            },
            10015,
        ),
        (
            "buy SL above bid",
            TradeRequest {
                sl: Some(px(q.bid + 0.0005, 5)),
                ..buy()
            },
            10016,
        ),
        (
            "buy TP below bid",
            TradeRequest {
                tp: Some(px(q.bid - 0.0005, 5)),
                ..buy()
            },
            10016,
        ),
        (
            "sell SL below ask",
            TradeRequest {
                sl: Some(px(q.ask - 0.0005, 5)),
                ..market_order("EURUSD", 1, 0.1)
            },
            10016,
        ),
        (
            "SL off the grid",
            TradeRequest {
                sl: Some(q.bid - 0.0010003),
                ..buy()
            },
            10016,
        ),
        (
            "not enough money",
            TradeRequest {
                volume: Some(50.0),
                ..buy()
            },
            10019,
        ),
    ];
    for (what, req, code) in cases {
        let r = send(&t, req.clone()).await;
        assert_eq!(r.retcode, code, "{what}: {r:?}");
        assert_eq!((r.order, r.deal), (0, 0), "{what}");
        assert_eq!(r.request, req, "{what}: the request is echoed");
        assert!(!r.comment.is_empty());
        let check = t.order_check(&req).await.unwrap();
        assert_eq!(check.retcode, code, "order_check agrees for {what}");
    }
    assert_eq!(
        send(
            &t,
            TradeRequest {
                price: Some(px(q.ask - 0.0010, 5)),
                deviation: Some(5),
                ..buy()
            }
        )
        .await
        .bid,
        q.bid
    );
    assert!(positions(&t).await.is_empty());
    assert_eq!(deals(&t).await.len(), 1);
    assert_eq!(t.account_info().await.unwrap().balance, 10_000.0);
}

#[tokio::test]
async fn a_quoted_price_within_deviation_fills_at_the_market() {
    let env = Env::new();
    let t = env.open();
    let q = env.quote("EURUSD");
    let req = TradeRequest {
        price: Some(px(q.ask - 0.00004, 5)),
        deviation: Some(5),
        ..market_order("EURUSD", 0, 0.1)
    };
    assert_eq!(send_ok(&t, req).await.price, q.ask);
    let btc = TradeRequest {
        sl: Some(px(env.quote("BTCUSD").bid - 500.0, 2)),
        ..market_order("BTCUSD", 0, 0.01)
    };
    send_ok(&t, btc).await;
    send_ok(
        &t,
        TradeRequest {
            type_filling: Some(ORDER_FILLING_FOK),
            ..market_order("US500", 1, 0.3)
        },
    )
    .await;
    assert_eq!(positions(&t).await.len(), 3);
}

#[tokio::test]
async fn symbol_trade_modes_are_enforced() {
    let env = Env::new();
    let mut cat = default_catalogue();
    let set = |cat: &mut Vec<SymbolSpec>, name: &str, mode: i64| {
        cat.iter_mut().find(|s| s.name == name).unwrap().trade_mode = mode;
    };
    set(&mut cat, "GBPUSD", SYMBOL_TRADE_MODE_DISABLED);
    set(&mut cat, "AUDUSD", SYMBOL_TRADE_MODE_CLOSEONLY);
    set(&mut cat, "XAUUSD", SYMBOL_TRADE_MODE_LONGONLY);
    set(&mut cat, "USDJPY", SYMBOL_TRADE_MODE_SHORTONLY);
    let t = env.open_with(cat);
    let cases = [
        ("GBPUSD", ORDER_TYPE_BUY, 10017),
        ("AUDUSD", ORDER_TYPE_SELL, 10044),
        ("XAUUSD", ORDER_TYPE_SELL, 10042),
        ("XAUUSD", ORDER_TYPE_BUY, 10009),
        ("USDJPY", ORDER_TYPE_BUY, 10043),
        ("USDJPY", ORDER_TYPE_SELL, 10009),
    ];
    for (sym, kind, code) in cases {
        assert_eq!(
            send(&t, market_order(sym, kind, 0.01)).await.retcode,
            code,
            "{sym} {kind}"
        );
    }
}

#[tokio::test]
async fn magic_and_comment_are_kept_and_long_comments_truncated() {
    let env = Env::new();
    let t = env.open();
    let long = "k:0123456789abcdef0123456789abcdef";
    let req = TradeRequest {
        magic: Some(7_700_001),
        comment: Some(long.into()),
        ..market_order("XAUUSD", 1, 0.02)
    };
    let open = send_ok(&t, req).await;
    let p = &positions(&t).await[0];
    assert_eq!((p.magic, p.comment.as_str()), (7_700_001, &long[..31]));
    let d = deals(&t)
        .await
        .into_iter()
        .find(|d| d.ticket == open.deal)
        .unwrap();
    assert_eq!((d.magic, d.comment.as_str()), (7_700_001, &long[..31]));
    let fil = t.positions_get(&Filter::Ticket(open.order)).await.unwrap();
    assert_eq!(fil.len(), 1);
}

#[tokio::test]
async fn order_check_projects_the_account_without_changing_it() {
    let env = Env::new();
    let t = env.open();
    let req = market_order("EURUSD", ORDER_TYPE_BUY, 1.0);
    let r = t.order_check(&req).await.unwrap();
    let q = env.quote("EURUSD");
    let margin = t.order_calc_margin(0, "EURUSD", 1.0, q.ask).await.unwrap();
    assert_eq!((r.retcode, r.comment.as_str()), (0, "Done"));
    assert!((r.margin - margin).abs() < 0.011);
    assert!((r.margin_free - (r.equity - r.margin)).abs() < 1e-9);
    assert!(r.equity < 10_000.0, "the spread is paid on entry");
    assert_eq!(r.request, req);
    assert!(positions(&t).await.is_empty());
    assert_eq!(deals(&t).await.len(), 1);
}

#[tokio::test]
async fn calc_functions_reject_invalid_inputs_like_the_library() {
    let env = Env::new();
    let t = env.open();
    let bad_margin = [
        (5, "EURUSD", 1.0, 1.1),
        (0, "NOPE", 1.0, 1.1),
        (0, "EURUSD", 0.0, 1.1),
        (0, "EURUSD", -1.0, 1.1),
        (0, "EURUSD", 1.0, 0.0),
        (0, "EURUSD", f64::NAN, 1.1),
        (1, "EURUSD", 1.0, f64::INFINITY),
    ];
    for (kind, sym, vol, price) in bad_margin {
        let e = t
            .order_calc_margin(kind, sym, vol, price)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, TermError::Null(le) if le.code == RES_E_INVALID_PARAMS),
            "{kind} {sym} {vol} {price}: {e:?}"
        );
    }
    let e = t
        .order_calc_profit(0, "EURUSD", 1.0, 1.1, f64::NAN)
        .await
        .unwrap_err();
    assert!(matches!(e, TermError::Null(ref le) if le.code == RES_E_INVALID_PARAMS));
    assert_eq!(t.last_error().await.unwrap().code, RES_E_INVALID_PARAMS);
    assert_eq!(
        t.order_calc_profit(1, "EURUSD", 1.0, 1.1, 1.0990)
            .await
            .unwrap(),
        100.0
    );
    assert_eq!(
        t.order_calc_margin(0, "US500", 1.0, 6000.0).await.unwrap(),
        3_000.0
    );
    assert_eq!(t.last_error().await.unwrap().code, RES_S_OK);
}
