"""Wire conventions of mt5-mcp (upstream-behaviour.md §1-2, DESIGN.md §3-4) as test helpers."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

LEGACY_VERSION = "2025-11-25"
MODERN_VERSION = "2026-07-28"
PRE_2026_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")

READ_TOOLS = (
    "ping",
    "get_terminal_info",
    "get_account_info",
    "get_quote",
    "get_symbols",
    "get_market_hours",
    "get_rates",
    "calc_margin",
    "get_positions",
    "get_orders",
    "get_history",
)
TRADING_TOOLS = ("place_order", "modify_order", "close_position", "cancel_order")
LIST_TOOLS = ("get_symbols", "get_rates", "get_positions", "get_orders", "get_history")
SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY", "USDCHF", "AUDUSD", "EURJPY", "XAUUSD", "BTCUSD", "US500")

ERROR_KEYS = ["code", "message", "retryable", "requires_human", "details", "mt5_retcode"]

DECIMAL_RE = re.compile(r"^-?\d+(\.\d+)?$")
# ISO-8601 UTC, seconds precision, optional 6-digit fraction, `Z` suffix (upstream §1.2).
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$")

CALL_TIMEOUT_S = 30.0


# --------------------------------------------------------------------------- value helpers


def dec(value: Any, what: str = "value") -> Decimal:
    """A wire decimal: must be a JSON string of a plain decimal (never a number, never 1e5)."""
    assert isinstance(value, str), f"{what} must be a decimal string, got {type(value).__name__}: {value!r}"
    assert DECIMAL_RE.match(value), f"{what} is not a plain decimal string: {value!r}"
    return Decimal(value)


def ts(value: Any, what: str = "timestamp") -> datetime:
    """A wire timestamp: ISO-8601 UTC ending in `Z`; returns an aware datetime."""
    assert isinstance(value, str), f"{what} must be a string, got {value!r}"
    assert TIMESTAMP_RE.match(value), f"{what} is not an ISO-8601 UTC timestamp ending in Z: {value!r}"
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0
    return parsed


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso_z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")



# --------------------------------------------------------------------------- output records (upstream §2)

PING_FIELDS = {"ok", "latency_ms", "via"}
TERMINAL_FIELDS = {
    "connected", "build", "name", "company", "login", "server", "broker_tz_offset_minutes", "latency_ms",
}
ACCOUNT_FIELDS = {
    "login", "name", "server", "currency", "balance", "equity", "margin", "margin_free", "margin_level",
    "leverage", "trade_allowed", "margin_mode",
}
QUOTE_FIELDS = {"symbol", "bid", "ask", "time"}
SYMBOL_FIELDS = {
    "name", "description", "category", "contract_size", "tick_size", "tick_value", "tick_value_profit",
    "tick_value_loss", "volume_min", "volume_max", "volume_step", "currency_profit", "currency_margin",
    "filling_modes", "digits", "is_tradeable", "calc_mode", "margin_initial", "margin_maintenance",
    "margin_hedged", "swap_long", "swap_short", "swap_mode", "triple_swap_weekday", "stops_level",
    "freeze_level",
}
SYMBOL_DECIMAL_FIELDS = (
    "contract_size", "tick_size", "tick_value", "tick_value_profit", "tick_value_loss", "volume_min",
    "volume_max", "volume_step", "margin_initial", "margin_maintenance", "margin_hedged", "swap_long",
    "swap_short",
)
MARKET_HOURS_FIELDS = {"symbol", "is_open", "next_open", "next_close"}
BAR_FIELDS = {"time", "open", "high", "low", "close", "tick_volume", "real_volume", "spread"}
MARGIN_FIELDS = {"symbol", "side", "volume", "price", "margin", "currency"}
POSITION_FIELDS = {
    "ticket", "symbol", "type", "volume", "price_open", "price_current", "sl", "tp", "profit", "swap",
    "time_open", "comment",
}
ORDER_FIELDS = {
    "ticket", "symbol", "type", "volume", "price", "sl", "tp", "time_setup", "expiration", "comment",
}
DEAL_FIELDS = {
    "ticket", "order", "symbol", "type", "volume", "price", "profit", "swap", "commission", "time", "comment",
}
DEAL_TYPES = {"buy", "sell", "balance", "credit", "charge", "correction", "bonus", "commission"}

CALC_MODES = {
    "forex", "futures", "cfd", "cfd_index", "cfd_leverage", "forex_no_leverage", "exch_stocks",
    "exch_futures", "exch_futures_forts", "exch_options", "exch_options_margin", "exch_bonds",
    "exch_stocks_moex", "exch_bonds_moex", "serv_collateral", "unknown",
}
SWAP_MODES = {
    "disabled", "by_points", "by_base_currency", "by_margin_currency", "by_deposit_currency",
    "by_interest_current", "by_interest_open", "by_reopen_current", "by_reopen_bid", "unknown",
}
WEEKDAYS = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
FILLING_ORDER = ["fok", "ioc", "return"]
TIMEFRAMES = ("M1", "M5", "M15", "M30", "H1", "H4", "D1", "W1", "MN1")
TIMEFRAME_SECONDS = {"M1": 60, "M5": 300, "M15": 900, "M30": 1800, "H1": 3600, "H4": 14400, "D1": 86400}

# Per tool: (input properties, required inputs, output record fields).
TOOL_SHAPES: dict[str, tuple[set[str], set[str], set[str]]] = {
    "ping": (set(), set(), PING_FIELDS),
    "get_terminal_info": (set(), set(), TERMINAL_FIELDS),
    "get_account_info": (set(), set(), ACCOUNT_FIELDS),
    "get_quote": ({"symbol"}, {"symbol"}, QUOTE_FIELDS),
    "get_symbols": ({"category"}, set(), SYMBOL_FIELDS),
    "get_market_hours": ({"symbol"}, {"symbol"}, MARKET_HOURS_FIELDS),
    "get_rates": ({"symbol", "timeframe", "count"}, {"symbol", "timeframe", "count"}, BAR_FIELDS),
    "calc_margin": ({"symbol", "side", "volume", "price"}, {"symbol", "side", "volume"}, MARGIN_FIELDS),
    "get_positions": ({"symbol"}, set(), POSITION_FIELDS),
    "get_orders": ({"symbol"}, set(), ORDER_FIELDS),
    "get_history": ({"from_ts", "to_ts", "symbol"}, {"from_ts", "to_ts"}, DEAL_FIELDS),
}
