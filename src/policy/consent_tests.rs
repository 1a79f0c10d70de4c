use chrono::TimeZone;
use serde_json::json;

use super::*;

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[test]
fn insert_then_take_once() {
    let store = ConsentStore::new(10);
    let id = store.insert(json!({"summary": "BUY"}), t(300), t(0));
    assert_eq!(id.len(), 26);
    assert!(
        id.chars()
            .all(|c| "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(c)),
        "{id}"
    );
    assert_eq!(Ulid::from_string(&id).unwrap().datetime(), t(0).into());
    assert_eq!(
        store.take(&id, t(299)),
        Take::Found(json!({"summary": "BUY"}))
    );
    assert_eq!(store.take(&id, t(299)), Take::Unknown);
    assert_eq!(
        store.take("01ARZ3NDEKTSV4RRFFQ69G5FAV", t(0)),
        Take::Unknown
    );
}

#[test]
fn expiry_boundary_and_removal() {
    // Expired when expires_at <= now.
    let table: &[(i64, bool)] = &[(299, false), (300, true), (301, true)];
    for (now, expired) in table {
        let store = ConsentStore::new(10);
        let id = store.insert(json!(1), t(300), t(0));
        let got = store.take(&id, t(*now));
        assert_eq!(matches!(got, Take::Expired), *expired, "at {now}: {got:?}");
        assert_eq!(
            store.take(&id, t(*now)),
            Take::Unknown,
            "removed either way"
        );
    }
}

#[test]
fn ids_are_unique() {
    let store = ConsentStore::new(1000);
    let ids: std::collections::HashSet<String> = (0..500)
        .map(|i| store.insert(json!(i), t(300), t(0)))
        .collect();
    assert_eq!(ids.len(), 500);
}

#[test]
fn insert_purges_expired_previews() {
    let store = ConsentStore::new(100);
    for i in 0..10 {
        store.insert(json!(i), t(10), t(0));
    }
    let keep = store.insert(json!("keep"), t(1000), t(0));
    assert_eq!(store.len(), 11);
    let fresh = store.insert(json!("fresh"), t(1000), t(10));
    assert_eq!(store.len(), 2);
    assert_eq!(store.take(&keep, t(11)), Take::Found(json!("keep")));
    assert_eq!(store.take(&fresh, t(11)), Take::Found(json!("fresh")));
    assert!(store.is_empty());
}

#[test]
fn full_store_evicts_the_oldest() {
    let store = ConsentStore::new(3);
    let ids: Vec<String> = (0..3)
        .map(|i| store.insert(json!(i), t(1000), t(i)))
        .collect();
    // Taking the middle one frees a slot: no eviction needed for the next insert.
    assert_eq!(store.take(&ids[1], t(5)), Take::Found(json!(1)));
    let d = store.insert(json!(3), t(1000), t(5));
    assert_eq!(store.len(), 3);
    // Full again: the oldest (ids[0]) goes.
    let e = store.insert(json!(4), t(1000), t(6));
    assert_eq!(store.len(), 3);
    assert_eq!(store.take(&ids[0], t(7)), Take::Unknown);
    for (id, v) in [(&ids[2], 2), (&d, 3), (&e, 4)] {
        assert_eq!(store.take(id, t(7)), Take::Found(json!(v)));
    }
    // Capacity 0 behaves as 1.
    let tiny = ConsentStore::new(0);
    let a = tiny.insert(json!("a"), t(100), t(0));
    let b = tiny.insert(json!("b"), t(100), t(0));
    assert_eq!(tiny.take(&a, t(1)), Take::Unknown);
    assert_eq!(tiny.take(&b, t(1)), Take::Found(json!("b")));
}

fn place_echo() -> Value {
    json!({"symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.10",
           "price": null, "stop_limit_price": null, "sl": null, "tp": null,
           "deviation": 10, "comment": null,
           "approval_confirmed": false, "approval_request_id": null})
}

fn quote() -> Value {
    json!({"symbol": "EURUSD", "bid": "1.0823", "ask": "1.0824", "time": "2026-11-24T01:00:58Z"})
}

/// Validates `retry` against [`place_echo`] at the quote's ask, unexpired.
fn check_place(retry: Value) -> Result<(), String> {
    validate_retry(
        &place_echo(),
        &retry,
        &quote(),
        None,
        dec("1.0824"),
        dec("0.00001"),
        t(300),
        t(0),
    )
}

fn with(mut base: Value, field: &str, v: Value) -> Value {
    base[field] = v;
    base
}

#[test]
fn matched_fields() {
    let base = place_echo();
    let table: Vec<(Value, Result<(), String>)> = vec![
        (base.clone(), Ok(())),
        (with(base.clone(), "volume", json!("0.1")), Ok(())),
        (with(base.clone(), "volume", json!("0.100")), Ok(())),
        // Not compared: sl, tp, comment, deviation, price.
        (with(base.clone(), "sl", json!("1.05")), Ok(())),
        (with(base.clone(), "comment", json!("changed")), Ok(())),
        (with(base.clone(), "deviation", json!(50)), Ok(())),
        (
            with(base.clone(), "volume", json!("0.2")),
            Err("volume mismatch: preview=0.10 retry=0.2".into()),
        ),
        (
            with(base.clone(), "symbol", json!("GBPUSD")),
            Err("symbol mismatch: preview=EURUSD retry=GBPUSD".into()),
        ),
        (
            with(base.clone(), "side", json!("sell")),
            Err("side mismatch: preview=buy retry=sell".into()),
        ),
        (
            with(base.clone(), "type", json!("limit")),
            Err("type mismatch: preview=market retry=limit".into()),
        ),
    ];
    for (retry, expected) in table {
        assert_eq!(check_place(retry.clone()), expected, "{retry}");
    }
}

#[test]
fn ticket_and_close_volume() {
    let echo = json!({"ticket": 5, "volume": "0.05", "approval_confirmed": false});
    let run = |retry: Value| {
        validate_retry(
            &echo,
            &retry,
            &quote(),
            None,
            dec("1.0823"),
            dec("0.00001"),
            t(1),
            t(0),
        )
    };
    assert_eq!(run(json!({"ticket": 5, "volume": "0.050"})), Ok(()));
    assert_eq!(
        run(json!({"ticket": 6, "volume": "0.05"})),
        Err("ticket mismatch: preview=5 retry=6".into())
    );
    assert_eq!(
        run(json!({"ticket": 5, "volume": null})),
        Err("volume mismatch: preview=0.05 retry=None".into())
    );
    // A field the retry request does not have, or the echo left null, is not compared.
    assert_eq!(run(json!({"ticket": 5})), Ok(()));
    let full_close = json!({"ticket": 5, "volume": null});
    assert_eq!(
        validate_retry(
            &full_close,
            &json!({"ticket": 5, "volume": "1"}),
            &quote(),
            None,
            dec("1.0823"),
            dec("0.00001"),
            t(1),
            t(0)
        ),
        Ok(())
    );
    let corrupt = json!({"ticket": 5, "volume": "lots"});
    assert_eq!(
        validate_retry(
            &corrupt,
            &json!({"ticket": 5, "volume": "1"}),
            &quote(),
            None,
            dec("1.0823"),
            dec("0.00001"),
            t(1),
            t(0)
        ),
        Err("volume stored as non-numeric in preview".into())
    );
}

#[test]
fn expiry_is_rechecked() {
    let run = |expires: i64, now: i64| {
        validate_retry(
            &place_echo(),
            &place_echo(),
            &quote(),
            None,
            dec("1.0824"),
            dec("0.00001"),
            t(expires),
            t(now),
        )
    };
    assert_eq!(run(300, 299), Ok(()));
    let expired = Err("approval expired before retry arrived".to_owned());
    assert_eq!(run(300, 300), expired);
    assert_eq!(run(300, 301), expired);
    // Expiry wins over a field mismatch.
    let retry = with(place_echo(), "symbol", json!("GBPUSD"));
    assert_eq!(
        validate_retry(
            &place_echo(),
            &retry,
            &quote(),
            None,
            dec("1"),
            dec("0.00001"),
            t(0),
            t(0)
        ),
        expired
    );
}

#[test]
fn price_drift_thresholds() {
    // Buy: reference is the ask 1.0824; tolerance max(1.0824 × 0.005, 10 × 0.00001)
    // = 0.0054120.
    let table: &[(&str, Result<(), String>)] = &[
        ("1.0824", Ok(())),
        ("1.0878120", Ok(())),
        ("1.0769880", Ok(())),
        (
            "1.0878121",
            Err(
                "price drifted beyond tolerance: ref=1.0824 now=1.0878121 tolerance=0.0054120"
                    .into(),
            ),
        ),
        (
            "1.0769879",
            Err(
                "price drifted beyond tolerance: ref=1.0824 now=1.0769879 tolerance=0.0054120"
                    .into(),
            ),
        ),
        // Upstream's own example.
        (
            "1.07000",
            Err(
                "price drifted beyond tolerance: ref=1.0824 now=1.07000 tolerance=0.0054120".into(),
            ),
        ),
    ];
    for (now, expected) in table {
        let got = validate_retry(
            &place_echo(),
            &place_echo(),
            &quote(),
            None,
            dec(now),
            dec("0.00001"),
            t(300),
            t(0),
        );
        assert_eq!(got, *expected, "now={now}");
    }
}

#[test]
fn sell_and_sideless_echoes_use_the_bid() {
    let sell = with(place_echo(), "side", json!("sell"));
    let modify = json!({"ticket": 5, "sl": "1.06", "tp": null});
    for echo in [sell, modify] {
        let got = validate_retry(
            &echo,
            &echo,
            &quote(),
            None,
            dec("1.0900"),
            dec("0.00001"),
            t(300),
            t(0),
        );
        assert_eq!(
            got,
            Err("price drifted beyond tolerance: ref=1.0823 now=1.0900 tolerance=0.0054115".into())
        );
    }
}

#[test]
fn deviation_band_wins_when_wider() {
    // 1000 points × 0.00001 = 0.01000 > 0.0054120.
    let echo = with(place_echo(), "deviation", json!(1000));
    let run = |now: &str| {
        validate_retry(
            &echo,
            &echo,
            &quote(),
            None,
            dec(now),
            dec("0.00001"),
            t(300),
            t(0),
        )
    };
    assert_eq!(run("1.0924"), Ok(()));
    assert_eq!(
        run("1.09241"),
        Err("price drifted beyond tolerance: ref=1.0824 now=1.09241 tolerance=0.01000".into())
    );
}

#[test]
fn pending_order_compares_against_its_own_price() {
    // A buy limit at 1.07000 while the market asks 1.0824.
    let echo = json!({"symbol": "EURUSD", "side": "buy", "type": "limit", "volume": "1",
                      "price": "1.07000", "deviation": 10});
    let run = |reference: Option<Decimal>, retry_price: &str| {
        validate_retry(
            &echo,
            &with(echo.clone(), "price", json!(retry_price)),
            &quote(),
            reference,
            dec(retry_price),
            dec("0.00001"),
            t(300),
            t(0),
        )
    };
    // Against the market (upstream), the approval can never be honoured.
    assert_eq!(
        run(None, "1.07000"),
        Err("price drifted beyond tolerance: ref=1.0824 now=1.07000 tolerance=0.0054120".into())
    );
    // Against the preview's price, the same retry passes...
    assert_eq!(run(Some(dec("1.07000")), "1.07000"), Ok(()));
    // ...and a limit moved well away from the approved one does not.
    assert_eq!(
        run(Some(dec("1.07000")), "1.08000"),
        Err("price drifted beyond tolerance: ref=1.07000 now=1.08000 tolerance=0.00535000".into())
    );
}

#[test]
fn missing_reference_quote_is_refused() {
    let got = validate_retry(
        &place_echo(),
        &place_echo(),
        &json!({"bid": "1.0823"}),
        None,
        dec("1.0824"),
        dec("0.00001"),
        t(300),
        t(0),
    );
    assert_eq!(got, Err("preview has no reference ask price".into()));
}

#[test]
fn store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<ConsentStore>();
}
