//! Pending orders: placement rules, modify, remove and expiration.

use super::*;

#[tokio::test]
async fn pending_orders_are_placed_with_their_terms_and_no_deal() {
    let env = Env::new();
    let t = env.open();
    let q = env.quote("EURUSD");
    let price = px(q.ask - 0.0030, 5);
    let req = TradeRequest {
        magic: Some(31),
        comment: Some("dip".into()),
        sl: Some(px(price - 0.0020, 5)),
        tp: Some(px(price + 0.0040, 5)),
        ..pending_order("EURUSD", ORDER_TYPE_BUY_LIMIT, 0.2, price)
    };
    let r = send_ok(&t, req).await;
    assert!(r.order > 0);
    assert_eq!((r.deal, r.volume, r.price), (0, 0.2, 0.0));
    let os = orders(&t).await;
    assert_eq!(os.len(), 1);
    let o = &os[0];
    assert_eq!(
        (o.ticket, o.kind, o.state, o.magic, o.comment.as_str()),
        (r.order, 2, ORDER_STATE_PLACED, 31, "dip")
    );
    assert_eq!(
        (o.price_open, o.volume_initial, o.volume_current),
        (price, 0.2, 0.2)
    );
    assert_eq!(
        (o.time_setup, o.time_expiration, o.type_time, o.type_filling),
        (T0 / 1000 + 7_200, 0, 0, 2)
    );
    assert_eq!(o.price_current, q.ask);
    assert!(positions(&t).await.is_empty());
    assert_eq!(
        t.account_info().await.unwrap().margin,
        0.0,
        "no margin is reserved for pending orders"
    );
    assert_eq!(
        t.orders_get(&Filter::Group("*JPY*".into()))
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        t.orders_get(&Filter::Symbol("EURUSD".into()))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn pending_order_rejections() {
    let env = Env::new();
    let t = env.open();
    let q = env.quote("EURUSD");
    let below = px(q.ask - 0.0030, 5);
    let above = px(q.bid + 0.0030, 5);
    let now_b = T0 / 1000 + 7_200;
    let p = pending_order;
    let cases: Vec<(&str, TradeRequest, i64)> = vec![
        (
            "buy limit above the ask",
            p("EURUSD", ORDER_TYPE_BUY_LIMIT, 0.1, above),
            10015,
        ),
        (
            "sell limit below the bid",
            p("EURUSD", ORDER_TYPE_SELL_LIMIT, 0.1, below),
            10015,
        ),
        (
            "buy stop below the ask",
            p("EURUSD", ORDER_TYPE_BUY_STOP, 0.1, below),
            10015,
        ),
        (
            "sell stop above the bid",
            p("EURUSD", ORDER_TYPE_SELL_STOP, 0.1, above),
            10015,
        ),
        (
            "missing price",
            TradeRequest {
                price: None,
                ..p("EURUSD", 2, 0.1, below)
            },
            10015,
        ),
        (
            "price off grid",
            p("EURUSD", ORDER_TYPE_BUY_LIMIT, 0.1, below + 0.000002),
            10015,
        ),
        (
            "stop limit without stoplimit",
            p("EURUSD", ORDER_TYPE_BUY_STOP_LIMIT, 0.1, above),
            10015,
        ),
        (
            "buy stop limit with the limit above the stop",
            TradeRequest {
                stoplimit: Some(px(above + 0.001, 5)),
                ..p("EURUSD", 6, 0.1, above)
            },
            10015,
        ),
        (
            "market type",
            p("EURUSD", ORDER_TYPE_BUY, 0.1, below),
            10035,
        ),
        (
            "bad volume",
            p("EURUSD", ORDER_TYPE_BUY_LIMIT, 0.001, below),
            10014,
        ),
        (
            "SL above a buy limit",
            TradeRequest {
                sl: Some(px(below + 0.001, 5)),
                ..p("EURUSD", 2, 0.1, below)
            },
            10016,
        ),
        (
            "TP below a sell stop",
            TradeRequest {
                tp: Some(px(below + 0.001, 5)),
                ..p("EURUSD", 5, 0.1, below)
            },
            10016,
        ),
        (
            "expiration in the past",
            TradeRequest {
                type_time: Some(ORDER_TIME_SPECIFIED),
                expiration: Some(now_b - 1),
                ..p("EURUSD", 2, 0.1, below)
            },
            10022,
        ),
        (
            "specified without expiration",
            TradeRequest {
                type_time: Some(ORDER_TIME_SPECIFIED),
                ..p("EURUSD", 2, 0.1, below)
            },
            10022,
        ),
        (
            "unknown lifetime",
            TradeRequest {
                type_time: Some(7),
                ..p("EURUSD", 2, 0.1, below)
            },
            10022,
        ),
        (
            "FOK on an IOC-only symbol",
            TradeRequest {
                type_filling: Some(0),
                ..p("BTCUSD", 2, 0.01, 1000.0)
            },
            10030,
        ),
        (
            "hidden symbol",
            p("USDCHF", ORDER_TYPE_BUY_LIMIT, 0.1, 0.5),
            10021,
        ),
    ];
    for (what, req, code) in cases {
        assert_eq!(send(&t, req).await.retcode, code, "{what}");
    }
    // Within the stops level of USDCHF (5 points) once it is selected.
    t.symbol_select("USDCHF", true).await.unwrap();
    let chf = env.quote("USDCHF");
    let near = px(chf.ask - 0.00004, 5);
    assert_eq!(
        send(&t, p("USDCHF", ORDER_TYPE_BUY_LIMIT, 0.1, near))
            .await
            .retcode,
        10015
    );
    send_ok(
        &t,
        p(
            "USDCHF",
            ORDER_TYPE_BUY_LIMIT,
            0.1,
            px(chf.ask - 0.00005, 5),
        ),
    )
    .await;
    assert_eq!(orders(&t).await.len(), 1);
}

#[tokio::test]
async fn modify_changes_terms_and_validates_like_placement() {
    let env = Env::new();
    let t = env.open();
    let q = env.quote("GBPUSD");
    let price = px(q.bid + 0.0050, 5);
    let placed = send_ok(
        &t,
        pending_order("GBPUSD", ORDER_TYPE_SELL_LIMIT, 0.1, price),
    )
    .await;
    let modify = |price: Option<f64>, sl: Option<f64>| TradeRequest {
        action: TRADE_ACTION_MODIFY,
        order: Some(placed.order),
        price,
        sl,
        ..TradeRequest::default()
    };
    let new_price = px(price + 0.0010, 5);
    let new_sl = px(new_price + 0.0030, 5);
    let r = send_ok(&t, modify(Some(new_price), Some(new_sl))).await;
    assert_eq!(r.order, placed.order);
    let o = &orders(&t).await[0];
    assert_eq!((o.price_open, o.sl, o.tp), (new_price, new_sl, 0.0));
    let expiry = T0 / 1000 + 7_200 + 3_600;
    let timed = TradeRequest {
        type_time: Some(ORDER_TIME_SPECIFIED),
        expiration: Some(expiry),
        ..modify(Some(new_price), Some(new_sl))
    };
    send_ok(&t, timed).await;
    assert_eq!(orders(&t).await[0].time_expiration, expiry);
    let cases: Vec<(&str, TradeRequest, i64)> = vec![
        (
            "no change",
            TradeRequest {
                type_time: Some(2),
                expiration: Some(expiry),
                ..modify(Some(new_price), Some(new_sl))
            },
            10025,
        ),
        (
            "below the bid",
            modify(Some(px(q.bid - 0.0010, 5)), None),
            10015,
        ),
        ("no price", modify(None, None), 10015),
        (
            "SL on the wrong side",
            modify(Some(new_price), Some(px(new_price - 0.0010, 5))),
            10016,
        ),
        (
            "unknown order",
            TradeRequest {
                order: Some(1),
                ..modify(Some(new_price), None)
            },
            10013,
        ),
        (
            "no order",
            TradeRequest {
                order: None,
                ..modify(Some(new_price), None)
            },
            10013,
        ),
    ];
    for (what, req, code) in cases {
        assert_eq!(send(&t, req).await.retcode, code, "{what}");
    }
}

#[tokio::test]
async fn remove_cancels_a_pending_order() {
    let env = Env::new();
    let t = env.open();
    let q = env.quote("EURUSD");
    let placed = send_ok(
        &t,
        pending_order("EURUSD", ORDER_TYPE_BUY_STOP, 0.1, px(q.ask + 0.0040, 5)),
    )
    .await;
    let remove = |order: Option<i64>| TradeRequest {
        action: TRADE_ACTION_REMOVE,
        order,
        ..TradeRequest::default()
    };
    let r = send_ok(&t, remove(Some(placed.order))).await;
    assert_eq!((r.order, r.volume), (placed.order, 0.1));
    assert!(orders(&t).await.is_empty());
    assert_eq!(send(&t, remove(Some(placed.order))).await.retcode, 10013);
    assert_eq!(send(&t, remove(None)).await.retcode, 10013);
}

#[tokio::test]
async fn orders_expire_at_their_time_without_filling() {
    let env = Env::new();
    let t = env.open();
    let q = env.quote("EURUSD");
    let far = px(q.ask - 0.0300, 5);
    let now_b = T0 / 1000 + 7_200;
    let specified = TradeRequest {
        type_time: Some(ORDER_TIME_SPECIFIED),
        expiration: Some(now_b + 60),
        ..pending_order("EURUSD", ORDER_TYPE_BUY_LIMIT, 0.1, far)
    };
    let day = TradeRequest {
        type_time: Some(ORDER_TIME_DAY),
        ..pending_order("EURUSD", 2, 0.1, far)
    };
    let a = send_ok(&t, specified).await;
    let b = send_ok(&t, day).await;
    env.clock.advance_secs(59);
    assert_eq!(orders(&t).await.len(), 2);
    env.clock.advance_secs(2);
    let left = orders(&t).await;
    assert_eq!((left.len(), left[0].ticket), (1, b.order));
    // The DAY order lives until broker midnight (12 hours after T0 at +120).
    env.clock.set_ms(T0 + 12 * 3_600_000 - 1_000);
    assert_eq!(orders(&t).await.len(), 1);
    env.clock.set_ms(T0 + 12 * 3_600_000 + 1_000);
    assert!(orders(&t).await.is_empty());
    assert!(positions(&t).await.is_empty());
    let _ = a;
}
