//! Money in the account currency, as the policy engine compares it (DESIGN §3.3).
//!
//! Upstream compared `volume × price` (lots × price units) with thresholds written in
//! money, so a limit of 10 000 allowed an order of ~9 000 lots of EURUSD. We value an order
//! the way the broker does: one tick of one lot is worth `trade_tick_value` account-currency
//! units, so `volume × price / tick_size × tick_value` is the position's worth in account
//! money (0.10 lot EURUSD at 1.0824 → 10 824 USD on a USD account).

use rust_decimal::{Decimal, RoundingStrategy};

use crate::model::num::dec_from_f64;
use crate::terminal::SymbolInfo;

/// The tick size and tick value of a symbol, with the fallbacks a terminal that leaves them
/// unset needs: the point for the size, and contract size × tick size (a quote currency equal
/// to the account currency) for the value.
pub fn tick_economics(symbol: &SymbolInfo) -> (Decimal, Decimal) {
    let size = if symbol.trade_tick_size > 0.0 {
        dec_from_f64(symbol.trade_tick_size)
    } else {
        dec_from_f64(symbol.point)
    };
    let value = if symbol.trade_tick_value > 0.0 {
        dec_from_f64(symbol.trade_tick_value)
    } else {
        dec_from_f64(symbol.trade_contract_size) * size
    };
    (size, value)
}

/// `volume × price / tick_size × tick_value`: what a position of `volume` lots at `price` is
/// worth in the account currency. Zero when the symbol reports no tick size.
pub fn notional(symbol: &SymbolInfo, volume: Decimal, price: Decimal) -> Decimal {
    let (size, value) = tick_economics(symbol);
    if size.is_zero() {
        return Decimal::ZERO;
    }
    volume
        .checked_mul(price)
        .and_then(|x| x.checked_div(size))
        .and_then(|x| x.checked_mul(value))
        .unwrap_or(Decimal::MAX)
}

/// Profit of closing `volume` lots opened at `open` at `close`, in account money, from the
/// tick value: the fallback when the terminal cannot compute it (`order_calc_profit`).
pub fn profit_from_ticks(
    symbol: &SymbolInfo,
    is_buy: bool,
    volume: Decimal,
    open: Decimal,
    close: Decimal,
) -> Decimal {
    let (size, value) = tick_economics(symbol);
    if size.is_zero() {
        return Decimal::ZERO;
    }
    let moved = if is_buy { close - open } else { open - close };
    moved / size * value * volume
}

/// Money as the wire shows it: two decimals, half away from zero.
pub fn render_money(value: Decimal) -> String {
    let mut v = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    v.rescale(2);
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn symbol(tick_size: f64, tick_value: f64, contract: f64, point: f64) -> SymbolInfo {
        let mut s: SymbolInfo = serde_json::from_value(serde_json::json!({
            "name": "X", "description": "", "path": "", "visible": true, "select": true,
            "digits": 5, "spread": 0, "trade_calc_mode": 0, "trade_mode": 4,
            "trade_stops_level": 0, "trade_freeze_level": 0, "filling_mode": 3,
            "expiration_mode": 15, "order_mode": 127, "swap_mode": 1, "swap_rollover3days": 3,
            "bid": 1.0, "ask": 1.0, "point": point, "trade_tick_value": tick_value,
            "trade_tick_value_profit": tick_value, "trade_tick_value_loss": tick_value,
            "trade_tick_size": tick_size, "trade_contract_size": contract,
            "volume_min": 0.01, "volume_max": 100.0, "volume_step": 0.01,
            "swap_long": 0.0, "swap_short": 0.0, "margin_initial": 0.0,
            "margin_maintenance": 0.0, "margin_hedged": 0.0,
            "currency_base": "EUR", "currency_profit": "USD", "currency_margin": "EUR"
        }))
        .expect("symbol json");
        s.trade_tick_size = tick_size;
        s
    }

    #[test]
    fn notional_is_account_money() {
        let eurusd = symbol(0.00001, 1.0, 100_000.0, 0.00001);
        assert_eq!(notional(&eurusd, d("0.10"), d("1.0824")), d("10824"));
        // USDJPY on a USD account: a tick of 0.001 on one lot is worth 100000 * 0.001 / 150.
        let usdjpy = symbol(0.001, 0.6666666666666666, 100_000.0, 0.001);
        let n = notional(&usdjpy, d("1"), d("150.000"));
        assert!((n - d("100000")).abs() < d("0.01"), "{n}");
        // Gold: 100 oz contract, tick 0.01 worth 1 USD.
        let xau = symbol(0.01, 1.0, 100.0, 0.01);
        assert_eq!(notional(&xau, d("0.5"), d("2650.00")), d("132500"));
        // A terminal without tick data falls back to contract size and point.
        let bare = symbol(0.0, 0.0, 100_000.0, 0.00001);
        assert_eq!(notional(&bare, d("1"), d("1.1")), d("110000"));
    }

    #[test]
    fn profit_follows_side() {
        let eurusd = symbol(0.00001, 1.0, 100_000.0, 0.00001);
        let p = profit_from_ticks(&eurusd, true, d("1"), d("1.09"), d("1.0823"));
        assert_eq!(p, d("-770"));
        let p = profit_from_ticks(&eurusd, false, d("0.5"), d("1.09"), d("1.0823"));
        assert_eq!(p, d("385"));
    }

    #[test]
    fn money_has_two_decimals() {
        let cases = [
            ("10824", "10824.00"),
            ("0.005", "0.01"),
            ("-0.005", "-0.01"),
            ("1.234", "1.23"),
        ];
        for (raw, expected) in cases {
            assert_eq!(render_money(d(raw)), expected);
        }
    }
}
