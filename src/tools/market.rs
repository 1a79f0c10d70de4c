//! Market data: `get_quote`, `get_symbols`, `get_market_hours`, `get_rates`, `calc_margin`.

use rmcp::{Json, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::args::{Args, RawDecimal, input_schema, lax_int, parse_decimal};
use super::{Listing, Wire, list_schema};
use crate::errors::{ErrorCode, ToolError};
use crate::model::Dec;
use crate::model::wire::{Bar, CalcMarginResult, MarketHours, Quote, SymbolInfoOut};
use crate::mt5::convert;
use crate::server::Mt5Server;
use crate::terminal::TermError;
use crate::terminal::consts::*;

/// The most bars one call returns; larger counts are clamped (upstream).
pub const MAX_BARS: i64 = 5000;

/// The nine timeframes, by name, with their MetaTrader values.
pub const TIMEFRAMES: [(&str, i64); 9] = [
    ("M1", TIMEFRAME_M1),
    ("M5", TIMEFRAME_M5),
    ("M15", TIMEFRAME_M15),
    ("M30", TIMEFRAME_M30),
    ("H1", TIMEFRAME_H1),
    ("H4", TIMEFRAME_H4),
    ("D1", TIMEFRAME_D1),
    ("W1", TIMEFRAME_W1),
    ("MN1", TIMEFRAME_MN1),
];

#[derive(Deserialize, JsonSchema)]
pub struct SymbolArgs {
    /// Broker symbol name, exactly as the broker spells it, e.g. "EURUSD" or "XAUUSD".
    pub symbol: String,
}

#[derive(Deserialize, JsonSchema)]
pub struct SymbolsArgs {
    /// Keep only symbols of this category (the first segment of the broker's symbol path,
    /// e.g. "Forex"), compared case-insensitively. Omit for every symbol.
    #[serde(default)]
    pub category: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
pub struct RatesArgs {
    /// Broker symbol name, e.g. "EURUSD".
    pub symbol: String,
    /// One of M1, M5, M15, M30, H1, H4, D1, W1, MN1 (case-sensitive).
    pub timeframe: String,
    /// Number of bars, at least 1; more than 5000 is clamped to 5000.
    #[serde(deserialize_with = "lax_int")]
    #[schemars(with = "i64")]
    pub count: i64,
}

#[derive(Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

#[derive(Deserialize, JsonSchema)]
pub struct CalcMarginArgs {
    /// Broker symbol name, e.g. "EURUSD".
    pub symbol: String,
    /// "buy" or "sell".
    pub side: Side,
    /// Volume in lots, e.g. "0.10".
    pub volume: RawDecimal,
    /// Price to compute the margin at; omit to use the current ask (buy) or bid (sell).
    #[serde(default)]
    pub price: Option<RawDecimal>,
}

#[tool_router(router = market_router, vis = "pub(crate)")]
impl Mt5Server {
    /// Current bid and ask of a symbol, with the time of the last tick (UTC). Prices are
    /// decimal strings with the symbol's digits.
    #[tool(
        input_schema = input_schema::<SymbolArgs>(),
        annotations(title = "Quote", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_quote(&self, Args(args): Args<SymbolArgs>) -> Result<Json<Quote>, ToolError> {
        let args = args?;
        self.client.ensure_connected().await?;
        let symbol = args.symbol.as_str();
        self.client.prepare_symbol(symbol).await?;
        let tick = self
            .client
            .call_opt(|t| async move { t.symbol_info_tick(symbol).await })
            .await?
            .ok_or_else(|| ToolError::no_tick(symbol))?;
        Ok(Json(convert::quote(
            symbol,
            &tick,
            self.client.offset_minutes(),
        )))
    }

    /// Every instrument the broker offers (optionally one category): contract size, point
    /// (`tick_size`), tick value, volume limits and step, currencies, filling modes,
    /// digits, whether it is tradeable, margin and swap settings. Descriptions are broker
    /// text (untrusted).
    #[tool(
        input_schema = input_schema::<SymbolsArgs>(),
        output_schema = list_schema::<SymbolInfoOut>(),
        annotations(title = "Symbols", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_symbols(
        &self,
        Args(args): Args<SymbolsArgs>,
        wire: Wire,
    ) -> Result<Listing<SymbolInfoOut>, ToolError> {
        let args = args?;
        self.client.ensure_connected().await?;
        let symbols = self
            .client
            .call_opt(|t| async move { t.symbols_get(None).await })
            .await?
            .ok_or_else(|| {
                ToolError::new(
                    ErrorCode::TERMINAL_NOT_CONNECTED,
                    "symbols_get returned nothing.",
                )
            })?;
        let wanted = args.category.map(|c| c.to_lowercase());
        Ok(Listing::of(
            wire,
            symbols
                .iter()
                .map(convert::symbol)
                .filter(|s| {
                    wanted
                        .as_ref()
                        .is_none_or(|w| s.category.to_lowercase() == *w)
                })
                .collect(),
        ))
    }

    /// Whether a symbol is open for trading. `next_open` and `next_close` are always null:
    /// the terminal API does not expose session times.
    #[tool(
        input_schema = input_schema::<SymbolArgs>(),
        annotations(title = "Market hours", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_market_hours(
        &self,
        Args(args): Args<SymbolArgs>,
    ) -> Result<Json<MarketHours>, ToolError> {
        let args = args?;
        self.client.ensure_connected().await?;
        let info = self.client.prepare_symbol(&args.symbol).await?;
        Ok(Json(MarketHours {
            symbol: args.symbol,
            is_open: info.trade_mode != SYMBOL_TRADE_MODE_DISABLED,
            next_open: None,
            next_close: None,
        }))
    }

    /// OHLC bars of a symbol, MOST RECENT FIRST (the first bar is the one still forming).
    /// Timeframes M1, M5, M15, M30, H1, H4, D1, W1, MN1; count 1..5000 (larger is
    /// clamped). Times are bar open times in UTC; spread is in points.
    #[tool(
        input_schema = input_schema::<RatesArgs>(),
        output_schema = list_schema::<Bar>(),
        annotations(title = "Price bars", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_rates(
        &self,
        Args(args): Args<RatesArgs>,
        wire: Wire,
    ) -> Result<Listing<Bar>, ToolError> {
        let args = args?;
        let Some(&(_, timeframe)) = TIMEFRAMES.iter().find(|(name, _)| *name == args.timeframe)
        else {
            return Err(ToolError::new(
                ErrorCode::INVALID_TIMEFRAME,
                format!(
                    "Unknown timeframe '{}'; use one of M1, M5, M15, M30, H1, H4, D1, W1, MN1.",
                    args.timeframe
                ),
            )
            .with_details(json!({ "timeframe": args.timeframe })));
        };
        if args.count < 1 {
            return Err(ToolError::new(
                ErrorCode::INVALID_COUNT,
                format!("count must be at least 1 (got {}).", args.count),
            )
            .with_details(json!({ "count": args.count })));
        }
        let count = args.count.min(MAX_BARS) as u32;
        self.client.ensure_connected().await?;
        let symbol = args.symbol.as_str();
        self.client.prepare_symbol(symbol).await?;
        let mut rates = self
            .client
            .call_opt(|t| async move { t.copy_rates_from_pos(symbol, timeframe, 0, count).await })
            .await?
            .ok_or_else(|| {
                ToolError::new(
                    ErrorCode::NO_RATES_AVAILABLE,
                    format!("No {} bars available for {symbol}.", args.timeframe),
                )
                .with_details(json!({ "symbol": symbol, "timeframe": args.timeframe }))
            })?;
        let offset = self.client.offset_minutes();
        // The terminal gives the oldest bar first; the answer starts with the newest.
        rates.reverse();
        Ok(Listing::mapped(wire, &rates, |r| convert::bar(r, offset)))
    }

    /// The margin the broker would require for a hypothetical order, in the deposit
    /// currency. Volume in lots; price defaults to the current ask (buy) or bid (sell).
    /// Nothing is sent to the market.
    #[tool(
        input_schema = input_schema::<CalcMarginArgs>(),
        annotations(title = "Margin estimate", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn calc_margin(
        &self,
        Args(args): Args<CalcMarginArgs>,
    ) -> Result<Json<CalcMarginResult>, ToolError> {
        let args = args?;
        let volume = parse_decimal("volume", &args.volume.0)?;
        let price = args
            .price
            .as_ref()
            .map(|p| parse_decimal("price", &p.0))
            .transpose()?;
        let symbol = args.symbol.as_str();
        if volume <= rust_decimal::Decimal::ZERO {
            return Err(ToolError::new(
                ErrorCode::INVALID_VOLUME,
                format!("Volume must be positive (got {volume})."),
            )
            .with_details(json!({ "symbol": symbol, "volume": volume.to_string() })));
        }
        if price.is_some_and(|p| p <= rust_decimal::Decimal::ZERO) {
            return Err(ToolError::invalid_request(
                "price",
                &args.price.unwrap().0,
                "must be positive",
            ));
        }
        self.client.ensure_connected().await?;
        self.client.prepare_symbol(symbol).await?;
        let price = match price {
            Some(p) => p,
            None => {
                let tick = self
                    .client
                    .call_opt(|t| async move { t.symbol_info_tick(symbol).await })
                    .await?
                    .ok_or_else(|| ToolError::no_tick(symbol))?;
                Dec::from_f64(if args.side == Side::Buy {
                    tick.ask
                } else {
                    tick.bid
                })
                .0
            }
        };
        let order_type = if args.side == Side::Buy {
            ORDER_TYPE_BUY
        } else {
            ORDER_TYPE_SELL
        };
        let (vol_f, price_f) = (decimal_to_f64(volume), decimal_to_f64(price));
        let failed = || {
            ToolError::new(ErrorCode::MARGIN_CALC_FAILED, format!("The terminal could not compute the margin for {symbol}."))
                .with_details(json!({ "symbol": symbol, "side": args.side.as_str(), "volume": volume.to_string(), "price": price.to_string() }))
        };
        let margin = match self
            .client
            .call(|t| async move {
                t.order_calc_margin(order_type, symbol, vol_f, price_f)
                    .await
            })
            .await?
        {
            Ok(m) => m,
            Err(TermError::Null(_)) => return Err(failed()),
            Err(TermError::Backend { why } | TermError::NotSent { why }) => {
                return Err(crate::mt5::client::backend_failure(why));
            }
        };
        let account = self.client.logged_in_account().await?;
        Ok(Json(CalcMarginResult {
            symbol: args.symbol.clone(),
            side: args.side.as_str().to_owned(),
            volume: Dec(volume),
            price: Dec(price),
            margin: Dec::from_f64(margin),
            currency: account.currency,
        }))
    }
}

/// The double nearest to a decimal (the terminal API takes doubles).
pub fn decimal_to_f64(d: rust_decimal::Decimal) -> f64 {
    // Through the text: `str::parse` is correctly rounded, a direct conversion need not be.
    d.to_string().parse().unwrap_or(f64::NAN)
}
