//! The broker's validation rules for trade requests, each returning the MT5 retcode a real
//! server answers with. Kept apart from the actions so every rule can be read (and tested)
//! on its own.
//!
//! Prices must sit on the symbol's tick grid: an unnormalised price is refused (10015 for
//! prices, 10016 for SL/TP) as real servers do, rather than silently rounded. Stops must be
//! strictly on the protective side of their reference price and at least
//! `trade_stops_level` points away.

use super::catalogue::SymbolSpec;
use super::market::{Market, Quote};
use crate::terminal::consts::*;

/// Longest comment the server keeps; longer ones are truncated, as the terminal does.
pub(crate) const COMMENT_MAX_CHARS: usize = 31;

/// A request the server refuses: the retcode and the server's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reject {
    pub code: i64,
}

pub(crate) type Checked<T> = Result<T, Reject>;

pub(crate) fn reject<T>(code: i64) -> Checked<T> {
    Err(Reject { code })
}

/// The server's comment for a retcode.
pub(crate) fn retcode_text(code: i64) -> &'static str {
    match code {
        TRADE_RETCODE_REQUOTE => "Requote",
        TRADE_RETCODE_REJECT => "Request rejected",
        TRADE_RETCODE_DONE => "Request executed",
        TRADE_RETCODE_INVALID => "Invalid request",
        TRADE_RETCODE_INVALID_VOLUME => "Invalid volume",
        TRADE_RETCODE_INVALID_PRICE => "Invalid price",
        TRADE_RETCODE_INVALID_STOPS => "Invalid stops",
        TRADE_RETCODE_TRADE_DISABLED => "Trade disabled",
        TRADE_RETCODE_MARKET_CLOSED => "Market closed",
        TRADE_RETCODE_NO_MONEY => "No money",
        TRADE_RETCODE_PRICE_OFF => "No prices",
        TRADE_RETCODE_INVALID_EXPIRATION => "Invalid expiration",
        TRADE_RETCODE_NO_CHANGES => "No changes",
        TRADE_RETCODE_INVALID_FILL => "Unsupported filling mode",
        TRADE_RETCODE_INVALID_ORDER => "Invalid order type",
        TRADE_RETCODE_POSITION_CLOSED => "Position already closed",
        TRADE_RETCODE_INVALID_CLOSE_VOLUME => "Close volume exceeds position volume",
        TRADE_RETCODE_LONG_ONLY => "Only long positions are allowed",
        TRADE_RETCODE_SHORT_ONLY => "Only short positions are allowed",
        TRADE_RETCODE_CLOSE_ONLY => "Only position closing is allowed",
        _ => "Request rejected",
    }
}

/// Whether `x` is a whole number of `step`s (within float noise).
pub(crate) fn on_grid(x: f64, step: f64) -> bool {
    let n = x / step;
    (n - n.round()).abs() < 1e-6
}

fn price_ok(spec: &SymbolSpec, p: f64) -> bool {
    p.is_finite() && p > 0.0 && on_grid(p, spec.tick_size())
}

/// A request price: present, positive and on the tick grid, else 10015.
pub(crate) fn price(spec: &SymbolSpec, p: Option<f64>) -> Checked<f64> {
    match p {
        Some(p) if price_ok(spec, p) => Ok(p),
        _ => reject(TRADE_RETCODE_INVALID_PRICE),
    }
}

/// The symbol's trade mode allows this: closing needs only "not disabled"; opening (`Some`
/// side) also respects close-only, long-only and short-only.
pub(crate) fn trade_mode(spec: &SymbolSpec, opening_buy: Option<bool>) -> Checked<()> {
    match (spec.trade_mode, opening_buy) {
        (SYMBOL_TRADE_MODE_DISABLED, _) => reject(TRADE_RETCODE_TRADE_DISABLED),
        (_, None) => Ok(()),
        (SYMBOL_TRADE_MODE_CLOSEONLY, _) => reject(TRADE_RETCODE_CLOSE_ONLY),
        (SYMBOL_TRADE_MODE_LONGONLY, Some(false)) => reject(TRADE_RETCODE_LONG_ONLY),
        (SYMBOL_TRADE_MODE_SHORTONLY, Some(true)) => reject(TRADE_RETCODE_SHORT_ONLY),
        _ => Ok(()),
    }
}

/// Volume present, within the symbol's min/max and on its step, else 10014.
pub(crate) fn volume(spec: &SymbolSpec, v: Option<f64>) -> Checked<f64> {
    match v {
        Some(v)
            if v.is_finite()
                && v >= spec.volume_min - 1e-9
                && v <= spec.volume_max + 1e-9
                && on_grid(v - spec.volume_min, spec.volume_step) =>
        {
            Ok(v)
        }
        _ => reject(TRADE_RETCODE_INVALID_VOLUME),
    }
}

/// Filling of a market order: FOK needs the symbol's FOK bit, IOC its IOC bit; RETURN (or
/// anything else) is refused on these market-execution symbols. Absent means FOK (0), the
/// request structure's default.
pub(crate) fn market_filling(spec: &SymbolSpec, f: Option<i64>) -> Checked<i64> {
    match f.unwrap_or(ORDER_FILLING_FOK) {
        ORDER_FILLING_FOK if spec.filling_mode & SYMBOL_FILLING_FOK != 0 => Ok(ORDER_FILLING_FOK),
        ORDER_FILLING_IOC if spec.filling_mode & SYMBOL_FILLING_IOC != 0 => Ok(ORDER_FILLING_IOC),
        _ => reject(TRADE_RETCODE_INVALID_FILL),
    }
}

/// Filling of a pending order: RETURN always, FOK/IOC when the symbol allows them.
pub(crate) fn pending_filling(spec: &SymbolSpec, f: Option<i64>) -> Checked<i64> {
    match f {
        Some(ORDER_FILLING_RETURN) => Ok(ORDER_FILLING_RETURN),
        other => market_filling(spec, other),
    }
}

/// SL/TP of a buy-side (`buy`) or sell-side trade, measured from `reference`: the current
/// close price for a position, the entry price for a pending order. Zero means none.
pub(crate) fn stops(spec: &SymbolSpec, buy: bool, reference: f64, sl: f64, tp: f64) -> Checked<()> {
    let min = spec.stops_level as f64 * spec.point();
    let eps = spec.point() * 1e-6;
    let valid = |x: f64| x == 0.0 || price_ok(spec, x);
    if !valid(sl) || !valid(tp) {
        return reject(TRADE_RETCODE_INVALID_STOPS);
    }
    // Distance on the protective side (positive when correct).
    let (sl_gap, tp_gap) = if buy {
        (reference - sl, tp - reference)
    } else {
        (sl - reference, reference - tp)
    };
    let far_enough = |gap: f64| gap > eps && gap >= min - eps;
    if (sl != 0.0 && !far_enough(sl_gap)) || (tp != 0.0 && !far_enough(tp_gap)) {
        return reject(TRADE_RETCODE_INVALID_STOPS);
    }
    Ok(())
}

/// A pending order's price on the right side of the market and outside the stops level.
pub(crate) fn pending_side(spec: &SymbolSpec, kind: i64, price: f64, q: &Quote) -> Checked<()> {
    let min = spec.stops_level as f64 * spec.point();
    let eps = spec.point() * 1e-6;
    let gap = match kind {
        ORDER_TYPE_BUY_LIMIT => q.ask - price,
        ORDER_TYPE_SELL_LIMIT => price - q.bid,
        ORDER_TYPE_BUY_STOP | ORDER_TYPE_BUY_STOP_LIMIT => price - q.ask,
        ORDER_TYPE_SELL_STOP | ORDER_TYPE_SELL_STOP_LIMIT => q.bid - price,
        _ => return reject(TRADE_RETCODE_INVALID_ORDER),
    };
    if gap > eps && gap >= min - eps {
        Ok(())
    } else {
        reject(TRADE_RETCODE_INVALID_PRICE)
    }
}

/// The limit price of a stop-limit order: below the stop price for a buy, above for a sell,
/// by at least the stops level.
pub(crate) fn stoplimit(
    spec: &SymbolSpec,
    kind: i64,
    price: f64,
    limit: Option<f64>,
) -> Checked<f64> {
    let limit = self::price(spec, limit)?;
    let min = spec.stops_level as f64 * spec.point();
    let eps = spec.point() * 1e-6;
    let gap = if kind == ORDER_TYPE_BUY_STOP_LIMIT {
        price - limit
    } else {
        limit - price
    };
    if gap > eps && gap >= min - eps {
        Ok(limit)
    } else {
        reject(TRADE_RETCODE_INVALID_PRICE)
    }
}

/// Lifetime of a pending order: `(time_expiration as reported, expiry instant in UTC ms)`.
///
/// GTC never expires; DAY expires at the next broker midnight; SPECIFIED at `expiration`
/// (broker epoch seconds, must be in the future); SPECIFIED_DAY at the end of the broker day
/// containing `expiration` (reported as that day's 23:59:59).
pub(crate) fn lifetime(
    market: &Market,
    type_time: Option<i64>,
    expiration: Option<i64>,
    now_ms: i64,
) -> Checked<(i64, Option<i64>)> {
    const DAY: i64 = 86_400;
    let now_b = market.broker_secs(now_ms);
    let day_end = |b: i64| b.div_euclid(DAY) * DAY + DAY;
    match type_time.unwrap_or(ORDER_TIME_GTC) {
        ORDER_TIME_GTC => Ok((0, None)),
        ORDER_TIME_DAY => Ok((0, Some(market.utc_ms_of_broker(day_end(now_b))))),
        ORDER_TIME_SPECIFIED => match expiration {
            Some(e) if e > now_b => Ok((e, Some(market.utc_ms_of_broker(e)))),
            _ => reject(TRADE_RETCODE_INVALID_EXPIRATION),
        },
        ORDER_TIME_SPECIFIED_DAY => match expiration {
            Some(e) if e > 0 && day_end(e) > now_b => {
                Ok((day_end(e) - 1, Some(market.utc_ms_of_broker(day_end(e)))))
            }
            _ => reject(TRADE_RETCODE_INVALID_EXPIRATION),
        },
        _ => reject(TRADE_RETCODE_INVALID_EXPIRATION),
    }
}

/// The comment the server stores: at most 31 characters, the rest cut off.
pub(crate) fn comment(c: Option<&str>) -> String {
    c.unwrap_or_default()
        .chars()
        .take(COMMENT_MAX_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::sim::catalogue::default_catalogue;

    fn spec(name: &str) -> SymbolSpec {
        default_catalogue()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap()
    }

    #[test]
    fn volume_rules() {
        let eur = spec("EURUSD");
        let us = spec("US500");
        let cases = [
            (&eur, Some(0.01), true),
            (&eur, Some(0.1), true),
            (&eur, Some(100.0), true),
            (&eur, Some(0.015), false),
            (&eur, Some(0.0), false),
            (&eur, Some(-1.0), false),
            (&eur, Some(100.01), false),
            (&eur, Some(f64::NAN), false),
            (&eur, None, false),
            (&us, Some(0.3), true),
            (&us, Some(0.05), false),
            (&us, Some(0.35), false),
        ];
        for (s, v, ok) in cases {
            assert_eq!(volume(s, v).is_ok(), ok, "{} {v:?}", s.name);
        }
    }

    #[test]
    fn filling_rules_follow_the_symbol_bitmask() {
        let (eur, btc, us) = (spec("EURUSD"), spec("BTCUSD"), spec("US500"));
        let cases = [
            (&eur, Some(0), Ok(0)),
            (&eur, Some(1), Ok(1)),
            (&eur, None, Ok(0)),
            (&eur, Some(2), Err(10030)),
            (&eur, Some(9), Err(10030)),
            (&btc, Some(1), Ok(1)),
            (&btc, Some(0), Err(10030)),
            (&btc, None, Err(10030)),
            (&us, Some(0), Ok(0)),
            (&us, Some(1), Err(10030)),
        ];
        for (s, f, want) in cases {
            assert_eq!(
                market_filling(s, f).map_err(|r| r.code),
                want,
                "{} {f:?}",
                s.name
            );
        }
        assert_eq!(pending_filling(&btc, Some(2)), Ok(2));
        assert_eq!(
            pending_filling(&btc, Some(0)).map_err(|r| r.code),
            Err(10030)
        );
    }

    #[test]
    fn stops_must_be_protective_on_grid_and_beyond_the_level() {
        let eur = spec("EURUSD"); // stops level 0
        let chf = spec("USDCHF"); // stops level 5
        let cases = [
            (&eur, true, 1.1, 1.09, 1.11, true),
            (&eur, true, 1.1, 0.0, 0.0, true),
            (&eur, true, 1.1, 1.10001, 0.0, false),
            (&eur, true, 1.1, 1.1, 0.0, false),
            (&eur, true, 1.1, 0.0, 1.09999, false),
            (&eur, false, 1.1, 1.11, 1.09, true),
            (&eur, false, 1.1, 1.09, 0.0, false),
            (&eur, false, 1.1, 0.0, 1.11, false),
            (&eur, true, 1.1, 1.090001, 0.0, false),
            (&eur, true, 1.1, -1.0, 0.0, false),
            (&eur, true, 1.1, f64::NAN, 0.0, false),
            (&chf, true, 0.88, 0.87996, 0.0, false),
            (&chf, true, 0.88, 0.87995, 0.0, true),
            (&chf, false, 0.88, 0.0, 0.87995, true),
            (&chf, false, 0.88, 0.0, 0.87996, false),
        ];
        for (s, buy, r, sl, tp, ok) in cases {
            assert_eq!(
                stops(s, buy, r, sl, tp).is_ok(),
                ok,
                "{} buy={buy} ref={r} sl={sl} tp={tp}",
                s.name
            );
        }
    }

    #[test]
    fn pending_prices_must_be_on_the_right_side_of_the_market() {
        let chf = spec("USDCHF"); // level 5 points
        let q = Quote {
            k: 0,
            time_ms: 0,
            bid: 0.88000,
            ask: 0.88012,
            spread: 12,
        };
        let cases = [
            (ORDER_TYPE_BUY_LIMIT, 0.88007, true),
            (ORDER_TYPE_BUY_LIMIT, 0.88008, false),
            (ORDER_TYPE_SELL_LIMIT, 0.88005, true),
            (ORDER_TYPE_SELL_LIMIT, 0.88004, false),
            (ORDER_TYPE_BUY_STOP, 0.88017, true),
            (ORDER_TYPE_BUY_STOP, 0.88016, false),
            (ORDER_TYPE_SELL_STOP, 0.87995, true),
            (ORDER_TYPE_SELL_STOP, 0.87996, false),
            (ORDER_TYPE_BUY_STOP_LIMIT, 0.88100, true),
            (ORDER_TYPE_SELL_STOP_LIMIT, 0.88100, false),
        ];
        for (kind, p, ok) in cases {
            assert_eq!(
                pending_side(&chf, kind, p, &q).is_ok(),
                ok,
                "type {kind} at {p}"
            );
        }
        assert_eq!(
            stoplimit(&chf, ORDER_TYPE_BUY_STOP_LIMIT, 0.881, Some(0.8809)),
            Ok(0.8809)
        );
        assert!(stoplimit(&chf, ORDER_TYPE_BUY_STOP_LIMIT, 0.881, Some(0.88097)).is_err());
        assert!(stoplimit(&chf, ORDER_TYPE_BUY_STOP_LIMIT, 0.881, None).is_err());
        assert_eq!(
            stoplimit(&chf, ORDER_TYPE_SELL_STOP_LIMIT, 0.879, Some(0.8791)),
            Ok(0.8791)
        );
        assert!(stoplimit(&chf, ORDER_TYPE_SELL_STOP_LIMIT, 0.879, Some(0.8789)).is_err());
    }

    #[test]
    fn lifetimes_and_expiration_rules() {
        let m = Market::new(1, default_catalogue(), 120).unwrap();
        // 2026-01-01 10:00:00 UTC = 12:00 broker.
        let now = 1_767_261_600_000;
        let now_b = m.broker_secs(now);
        let midnight_b = 1_767_312_000; // 2026-01-02 00:00 broker
        assert_eq!(lifetime(&m, None, None, now), Ok((0, None)));
        assert_eq!(
            lifetime(&m, Some(ORDER_TIME_DAY), None, now),
            Ok((0, Some(m.utc_ms_of_broker(midnight_b))))
        );
        assert_eq!(
            lifetime(&m, Some(ORDER_TIME_SPECIFIED), Some(now_b + 60), now),
            Ok((now_b + 60, Some(now + 60_000)))
        );
        for bad in [None, Some(now_b), Some(now_b - 1), Some(0)] {
            assert_eq!(
                lifetime(&m, Some(ORDER_TIME_SPECIFIED), bad, now),
                reject(10022),
                "{bad:?}"
            );
        }
        assert_eq!(
            lifetime(&m, Some(ORDER_TIME_SPECIFIED_DAY), Some(now_b - 3_600), now),
            Ok((midnight_b - 1, Some(m.utc_ms_of_broker(midnight_b))))
        );
        assert_eq!(
            lifetime(
                &m,
                Some(ORDER_TIME_SPECIFIED_DAY),
                Some(now_b - 86_400),
                now
            ),
            reject(10022)
        );
        assert_eq!(lifetime(&m, Some(9), None, now), reject(10022));
    }

    #[test]
    fn trade_mode_and_comment_rules() {
        let mut s = spec("EURUSD");
        assert_eq!(trade_mode(&s, Some(true)), Ok(()));
        s.trade_mode = SYMBOL_TRADE_MODE_CLOSEONLY;
        assert_eq!(trade_mode(&s, Some(true)), reject(10044));
        assert_eq!(trade_mode(&s, None), Ok(()));
        s.trade_mode = SYMBOL_TRADE_MODE_LONGONLY;
        assert_eq!(
            (trade_mode(&s, Some(true)), trade_mode(&s, Some(false))),
            (Ok(()), reject(10042))
        );
        s.trade_mode = SYMBOL_TRADE_MODE_SHORTONLY;
        assert_eq!(
            (trade_mode(&s, Some(true)), trade_mode(&s, Some(false))),
            (reject(10043), Ok(()))
        );
        s.trade_mode = SYMBOL_TRADE_MODE_DISABLED;
        assert_eq!(trade_mode(&s, None), reject(10017));
        assert_eq!(comment(Some(&"x".repeat(40))).len(), 31);
        assert_eq!(comment(Some("é".repeat(40).as_str())).chars().count(), 31);
        assert_eq!(comment(None), "");
    }
}
