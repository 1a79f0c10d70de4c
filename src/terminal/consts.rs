//! Official MetaTrader5 constant values (from the `MetaTrader5` package's `__init__.py`).
//!
//! Backends and the client layer use these names instead of bare integers; a fake Python
//! module must use the same values.

pub const TIMEFRAME_M1: i64 = 1;
pub const TIMEFRAME_M5: i64 = 5;
pub const TIMEFRAME_M15: i64 = 15;
pub const TIMEFRAME_M30: i64 = 30;
pub const TIMEFRAME_H1: i64 = 1 | 0x4000;
pub const TIMEFRAME_H4: i64 = 4 | 0x4000;
pub const TIMEFRAME_D1: i64 = 24 | 0x4000;
pub const TIMEFRAME_W1: i64 = 1 | 0x8000;
pub const TIMEFRAME_MN1: i64 = 1 | 0xC000;

pub const POSITION_TYPE_BUY: i64 = 0;
pub const POSITION_TYPE_SELL: i64 = 1;

pub const ORDER_TYPE_BUY: i64 = 0;
pub const ORDER_TYPE_SELL: i64 = 1;
pub const ORDER_TYPE_BUY_LIMIT: i64 = 2;
pub const ORDER_TYPE_SELL_LIMIT: i64 = 3;
pub const ORDER_TYPE_BUY_STOP: i64 = 4;
pub const ORDER_TYPE_SELL_STOP: i64 = 5;
pub const ORDER_TYPE_BUY_STOP_LIMIT: i64 = 6;
pub const ORDER_TYPE_SELL_STOP_LIMIT: i64 = 7;

pub const ORDER_STATE_PLACED: i64 = 1;
pub const ORDER_STATE_CANCELED: i64 = 2;
pub const ORDER_STATE_FILLED: i64 = 4;
pub const ORDER_STATE_EXPIRED: i64 = 6;

pub const ORDER_FILLING_FOK: i64 = 0;
pub const ORDER_FILLING_IOC: i64 = 1;
pub const ORDER_FILLING_RETURN: i64 = 2;

pub const ORDER_TIME_GTC: i64 = 0;
pub const ORDER_TIME_DAY: i64 = 1;
pub const ORDER_TIME_SPECIFIED: i64 = 2;
pub const ORDER_TIME_SPECIFIED_DAY: i64 = 3;

pub const DEAL_TYPE_BUY: i64 = 0;
pub const DEAL_TYPE_SELL: i64 = 1;
pub const DEAL_TYPE_BALANCE: i64 = 2;

pub const DEAL_ENTRY_IN: i64 = 0;
pub const DEAL_ENTRY_OUT: i64 = 1;

pub const DEAL_REASON_EXPERT: i64 = 3;
pub const DEAL_REASON_SL: i64 = 4;
pub const DEAL_REASON_TP: i64 = 5;
pub const DEAL_REASON_SO: i64 = 6;

pub const TRADE_ACTION_DEAL: i64 = 1;
pub const TRADE_ACTION_PENDING: i64 = 5;
pub const TRADE_ACTION_SLTP: i64 = 6;
pub const TRADE_ACTION_MODIFY: i64 = 7;
pub const TRADE_ACTION_REMOVE: i64 = 8;
pub const TRADE_ACTION_CLOSE_BY: i64 = 10;

pub const SYMBOL_CALC_MODE_FOREX: i64 = 0;
pub const SYMBOL_CALC_MODE_CFD: i64 = 2;
pub const SYMBOL_CALC_MODE_CFDINDEX: i64 = 3;
pub const SYMBOL_CALC_MODE_CFDLEVERAGE: i64 = 4;

pub const SYMBOL_TRADE_MODE_DISABLED: i64 = 0;
pub const SYMBOL_TRADE_MODE_LONGONLY: i64 = 1;
pub const SYMBOL_TRADE_MODE_SHORTONLY: i64 = 2;
pub const SYMBOL_TRADE_MODE_CLOSEONLY: i64 = 3;
pub const SYMBOL_TRADE_MODE_FULL: i64 = 4;

/// Symbol-side filling bits (`SYMBOL_FILLING_*`); the Python package does not export them.
pub const SYMBOL_FILLING_FOK: i64 = 1;
pub const SYMBOL_FILLING_IOC: i64 = 2;
pub const SYMBOL_FILLING_BOC: i64 = 4;

pub const ACCOUNT_TRADE_MODE_DEMO: i64 = 0;
pub const ACCOUNT_TRADE_MODE_CONTEST: i64 = 1;
pub const ACCOUNT_TRADE_MODE_REAL: i64 = 2;
pub const ACCOUNT_MARGIN_MODE_RETAIL_HEDGING: i64 = 2;

pub const TRADE_RETCODE_REQUOTE: i64 = 10004;
pub const TRADE_RETCODE_REJECT: i64 = 10006;
pub const TRADE_RETCODE_PLACED: i64 = 10008;
pub const TRADE_RETCODE_DONE: i64 = 10009;
pub const TRADE_RETCODE_DONE_PARTIAL: i64 = 10010;
pub const TRADE_RETCODE_INVALID: i64 = 10013;
pub const TRADE_RETCODE_INVALID_VOLUME: i64 = 10014;
pub const TRADE_RETCODE_INVALID_PRICE: i64 = 10015;
pub const TRADE_RETCODE_INVALID_STOPS: i64 = 10016;
pub const TRADE_RETCODE_TRADE_DISABLED: i64 = 10017;
pub const TRADE_RETCODE_MARKET_CLOSED: i64 = 10018;
pub const TRADE_RETCODE_NO_MONEY: i64 = 10019;
pub const TRADE_RETCODE_PRICE_OFF: i64 = 10021;
pub const TRADE_RETCODE_INVALID_EXPIRATION: i64 = 10022;
pub const TRADE_RETCODE_NO_CHANGES: i64 = 10025;
pub const TRADE_RETCODE_CLIENT_DISABLES_AT: i64 = 10027;
pub const TRADE_RETCODE_INVALID_FILL: i64 = 10030;
pub const TRADE_RETCODE_INVALID_ORDER: i64 = 10035;
pub const TRADE_RETCODE_POSITION_CLOSED: i64 = 10036;
pub const TRADE_RETCODE_INVALID_CLOSE_VOLUME: i64 = 10038;
pub const TRADE_RETCODE_LONG_ONLY: i64 = 10042;
pub const TRADE_RETCODE_SHORT_ONLY: i64 = 10043;
pub const TRADE_RETCODE_CLOSE_ONLY: i64 = 10044;

pub const RES_S_OK: i64 = 1;
pub const RES_E_FAIL: i64 = -1;
pub const RES_E_INVALID_PARAMS: i64 = -2;
pub const RES_E_NOT_FOUND: i64 = -4;
pub const RES_E_AUTH_FAILED: i64 = -6;
pub const RES_E_INTERNAL_FAIL_CONNECT: i64 = -10004;
pub const RES_E_INTERNAL_FAIL_TIMEOUT: i64 = -10005;
