//! The paper broker's instruments: contract specifications as a real MT5 server publishes
//! them (digits, contract size, volume limits, filling modes, margin mode, swaps) plus what
//! the sim needs to generate their prices (base level, volatility, spread range).
//!
//! The set is deliberately small but covers every shape an agent meets on a real account:
//! USD-quoted majors (tick value constant), USD-based pairs and a JPY cross (tick value follows
//! the price), gold (100 oz contract, CFD-leverage margin), a crypto with a margin rate that
//! caps its leverage, and an index CFD margined as a percentage of notional. Two symbols start
//! hidden from Market Watch, so `symbol_select` matters exactly as on a real terminal.

use crate::terminal::consts;

/// How a symbol's mid price is produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PriceSource {
    /// An independent path around `base` with `vol` annualised log volatility.
    Root { base: f64, vol: f64 },
    /// The product of two other symbols' mids (a cross rate such as EURJPY = EURUSD × USDJPY),
    /// so triangular arbitrage never appears.
    Cross(&'static str, &'static str),
}

/// One instrument's specification. Fields mirror `SymbolInfo` where one exists.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub path: &'static str,
    pub digits: u32,
    pub contract_size: f64,
    /// `SYMBOL_CALC_MODE_*` used for margin.
    pub calc_mode: i64,
    /// Initial margin rate multiplier (MT5's `SymbolInfoMarginRate`, not exposed by the
    /// Python `symbol_info`): BTCUSD uses 5 so a 1:100 account trades it at 1:20.
    pub margin_rate: f64,
    pub currency_base: &'static str,
    pub currency_profit: &'static str,
    pub currency_margin: &'static str,
    pub volume_min: f64,
    pub volume_max: f64,
    pub volume_step: f64,
    /// `SYMBOL_FILLING_*` bitmask.
    pub filling_mode: i64,
    /// `SYMBOL_TRADE_MODE_*`.
    pub trade_mode: i64,
    pub stops_level: i64,
    /// Swaps in points per lot per night (`SYMBOL_SWAP_MODE_POINTS`).
    pub swap_long: f64,
    pub swap_short: f64,
    /// Spread range in points; the live spread wanders inside it.
    pub spread_min: i64,
    pub spread_max: i64,
    /// Whether the symbol is in Market Watch on a brand-new account.
    pub visible_by_default: bool,
    pub price: PriceSource,
}

impl SymbolSpec {
    pub fn point(&self) -> f64 {
        10f64.powi(-(self.digits as i32))
    }

    /// Tick size equals the point for every symbol of this broker.
    pub fn tick_size(&self) -> f64 {
        self.point()
    }
}

/// `SYMBOL_SWAP_MODE_POINTS`.
pub const SWAP_MODE_POINTS: i64 = 1;
/// Triple swap is charged on Wednesday's rollover (`SYMBOL_SWAP_ROLLOVER3DAYS`).
pub const SWAP_ROLLOVER_3DAYS: i64 = 3;
/// `SYMBOL_EXPIRATION_*`: GTC | DAY | SPECIFIED | SPECIFIED_DAY.
pub const EXPIRATION_MODE_ALL: i64 = 15;
/// `SYMBOL_ORDER_*`: market | limit | stop | stop limit | SL | TP | close by.
pub const ORDER_MODE_ALL: i64 = 127;

const FOK_IOC: i64 = consts::SYMBOL_FILLING_FOK | consts::SYMBOL_FILLING_IOC;
const FULL: i64 = consts::SYMBOL_TRADE_MODE_FULL;

#[allow(clippy::too_many_arguments)]
const fn forex(
    name: &'static str,
    description: &'static str,
    path: &'static str,
    digits: u32,
    base_ccy: &'static str,
    profit_ccy: &'static str,
    stops_level: i64,
    swaps: (f64, f64),
    spread: (i64, i64),
    visible: bool,
    price: PriceSource,
) -> SymbolSpec {
    SymbolSpec {
        name,
        description,
        path,
        digits,
        contract_size: 100_000.0,
        calc_mode: consts::SYMBOL_CALC_MODE_FOREX,
        margin_rate: 1.0,
        currency_base: base_ccy,
        currency_profit: profit_ccy,
        currency_margin: base_ccy,
        volume_min: 0.01,
        volume_max: 100.0,
        volume_step: 0.01,
        filling_mode: FOK_IOC,
        trade_mode: FULL,
        stops_level,
        swap_long: swaps.0,
        swap_short: swaps.1,
        spread_min: spread.0,
        spread_max: spread.1,
        visible_by_default: visible,
        price,
    }
}

/// The broker's symbol list, in the order `symbols_get` returns it.
pub fn default_catalogue() -> Vec<SymbolSpec> {
    use PriceSource::{Cross, Root};
    vec![
        forex(
            "EURUSD",
            "Euro vs US Dollar",
            "Forex\\Majors\\EURUSD",
            5,
            "EUR",
            "USD",
            0,
            (-7.5, 2.4),
            (6, 12),
            true,
            Root {
                base: 1.0800,
                vol: 0.07,
            },
        ),
        forex(
            "GBPUSD",
            "Great Britain Pound vs US Dollar",
            "Forex\\Majors\\GBPUSD",
            5,
            "GBP",
            "USD",
            0,
            (-4.2, -1.1),
            (9, 17),
            true,
            Root {
                base: 1.2700,
                vol: 0.08,
            },
        ),
        forex(
            "USDJPY",
            "US Dollar vs Japanese Yen",
            "Forex\\Majors\\USDJPY",
            3,
            "USD",
            "JPY",
            0,
            (14.8, -27.5),
            (8, 14),
            true,
            Root {
                base: 150.00,
                vol: 0.09,
            },
        ),
        forex(
            "USDCHF",
            "US Dollar vs Swiss Franc",
            "Forex\\Majors\\USDCHF",
            5,
            "USD",
            "CHF",
            5,
            (6.1, -13.9),
            (11, 19),
            false,
            Root {
                base: 0.8800,
                vol: 0.075,
            },
        ),
        forex(
            "AUDUSD",
            "Australian Dollar vs US Dollar",
            "Forex\\Majors\\AUDUSD",
            5,
            "AUD",
            "USD",
            0,
            (-3.9, -1.6),
            (8, 15),
            true,
            Root {
                base: 0.6550,
                vol: 0.10,
            },
        ),
        forex(
            "EURJPY",
            "Euro vs Japanese Yen",
            "Forex\\Crosses\\EURJPY",
            3,
            "EUR",
            "JPY",
            5,
            (9.2, -21.7),
            (15, 25),
            false,
            Cross("EURUSD", "USDJPY"),
        ),
        SymbolSpec {
            name: "XAUUSD",
            description: "Gold vs US Dollar",
            path: "Metals\\XAUUSD",
            digits: 2,
            contract_size: 100.0,
            calc_mode: consts::SYMBOL_CALC_MODE_CFDLEVERAGE,
            margin_rate: 1.0,
            currency_base: "XAU",
            currency_profit: "USD",
            currency_margin: "USD",
            volume_min: 0.01,
            volume_max: 50.0,
            volume_step: 0.01,
            filling_mode: FOK_IOC,
            trade_mode: FULL,
            stops_level: 10,
            swap_long: -56.2,
            swap_short: 31.5,
            spread_min: 15,
            spread_max: 35,
            visible_by_default: true,
            price: Root {
                base: 2650.00,
                vol: 0.15,
            },
        },
        SymbolSpec {
            name: "BTCUSD",
            description: "Bitcoin vs US Dollar",
            path: "Crypto\\BTCUSD",
            digits: 2,
            contract_size: 1.0,
            calc_mode: consts::SYMBOL_CALC_MODE_CFDLEVERAGE,
            margin_rate: 5.0,
            currency_base: "BTC",
            currency_profit: "USD",
            currency_margin: "USD",
            volume_min: 0.01,
            volume_max: 10.0,
            volume_step: 0.01,
            filling_mode: consts::SYMBOL_FILLING_IOC,
            trade_mode: FULL,
            stops_level: 0,
            swap_long: -2500.0,
            swap_short: -1500.0,
            spread_min: 1500,
            spread_max: 3000,
            visible_by_default: true,
            price: Root {
                base: 95_000.00,
                vol: 0.55,
            },
        },
        SymbolSpec {
            name: "US500",
            description: "US 500 Cash Index",
            path: "Indices\\US500",
            digits: 2,
            contract_size: 10.0,
            calc_mode: consts::SYMBOL_CALC_MODE_CFD,
            margin_rate: 0.05,
            currency_base: "USD",
            currency_profit: "USD",
            currency_margin: "USD",
            volume_min: 0.1,
            volume_max: 100.0,
            volume_step: 0.1,
            filling_mode: consts::SYMBOL_FILLING_FOK,
            trade_mode: FULL,
            stops_level: 10,
            swap_long: -120.0,
            swap_short: -40.0,
            spread_min: 40,
            spread_max: 80,
            visible_by_default: true,
            price: Root {
                base: 5900.00,
                vol: 0.17,
            },
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_covers_every_instrument_shape_with_sane_specs() {
        let cat = default_catalogue();
        let names: Vec<_> = cat.iter().map(|s| s.name).collect();
        for want in [
            "EURUSD", "GBPUSD", "USDJPY", "USDCHF", "AUDUSD", "EURJPY", "XAUUSD", "BTCUSD", "US500",
        ] {
            assert!(names.contains(&want), "{want} missing");
        }
        for s in &cat {
            assert!(
                s.volume_min > 0.0 && s.volume_min <= s.volume_max,
                "{}",
                s.name
            );
            assert!(s.volume_step > 0.0, "{}", s.name);
            assert!(
                s.spread_min > 0 && s.spread_min <= s.spread_max,
                "{}",
                s.name
            );
            assert!(s.filling_mode & 3 != 0, "{} has no market filling", s.name);
            assert!(s.path.ends_with(s.name), "{}", s.name);
            if let PriceSource::Cross(a, b) = s.price {
                assert!(names.contains(&a) && names.contains(&b));
            }
        }
        assert!(
            cat.iter().any(|s| !s.visible_by_default),
            "one symbol must start hidden"
        );
        assert!(
            cat.iter()
                .any(|s| s.filling_mode == consts::SYMBOL_FILLING_IOC)
        );
        assert!(
            cat.iter()
                .any(|s| s.filling_mode == consts::SYMBOL_FILLING_FOK)
        );
    }

    #[test]
    fn point_follows_digits() {
        let cat = default_catalogue();
        let eur = cat.iter().find(|s| s.name == "EURUSD").unwrap();
        let jpy = cat.iter().find(|s| s.name == "USDJPY").unwrap();
        assert!((eur.point() - 0.00001).abs() < 1e-15);
        assert!((jpy.point() - 0.001).abs() < 1e-15);
    }
}
