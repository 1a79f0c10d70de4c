"""Error paths: exact code, the six ErrorDetail keys (checked in Mt5Session.err), the catalogue's
flags, and a valid call right after each error (the server survives bad input)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from mt5wire import TIMEFRAMES

pytestmark = pytest.mark.anyio

FROM, TO = "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"


@dataclass
class Case:
    id: str
    tool: str
    args: dict[str, Any]
    code: str
    details: dict[str, Any] = field(default_factory=dict)  # exact values expected inside `details`
    mentions: tuple[str, ...] = ()  # words the error (message or details) must name


CASES = [
    # --- unknown symbols
    Case("quote-unknown-symbol", "get_quote", {"symbol": "NOPE"}, "SYMBOL_NOT_FOUND", {"symbol": "NOPE"}),
    Case("hours-unknown-symbol", "get_market_hours", {"symbol": "NOPE"}, "SYMBOL_NOT_FOUND", {"symbol": "NOPE"}),
    Case(
        "rates-unknown-symbol",
        "get_rates",
        {"symbol": "NOPE", "timeframe": "M1", "count": 10},
        "SYMBOL_NOT_FOUND",
        {"symbol": "NOPE"},
    ),
    Case(
        "margin-unknown-symbol",
        "calc_margin",
        {"symbol": "NOPE", "side": "buy", "volume": "1"},
        "SYMBOL_NOT_FOUND",
        {"symbol": "NOPE"},
    ),
    # --- get_rates: timeframe, count, and the order of checks (timeframe, count, symbol)
    Case("rates-tf-lowercase", "get_rates", {"symbol": "EURUSD", "timeframe": "m1", "count": 5},
         "INVALID_TIMEFRAME", {"timeframe": "m1"}, TIMEFRAMES),
    Case("rates-tf-h2", "get_rates", {"symbol": "EURUSD", "timeframe": "H2", "count": 5},
         "INVALID_TIMEFRAME", {"timeframe": "H2"}, TIMEFRAMES),
    Case("rates-tf-empty", "get_rates", {"symbol": "EURUSD", "timeframe": "", "count": 5},
         "INVALID_TIMEFRAME", {"timeframe": ""}),
    Case("rates-tf-before-count-and-symbol", "get_rates", {"symbol": "NOPE", "timeframe": "X9", "count": 0},
         "INVALID_TIMEFRAME", {"timeframe": "X9"}),
    Case("rates-count-zero", "get_rates", {"symbol": "EURUSD", "timeframe": "M1", "count": 0},
         "INVALID_COUNT", {"count": 0}),
    Case("rates-count-negative", "get_rates", {"symbol": "EURUSD", "timeframe": "M1", "count": -5},
         "INVALID_COUNT", {"count": -5}),
    Case("rates-count-before-symbol", "get_rates", {"symbol": "NOPE", "timeframe": "M1", "count": 0},
         "INVALID_COUNT", {"count": 0}),
    # --- bad argument types / missing arguments
    Case("rates-count-string", "get_rates", {"symbol": "EURUSD", "timeframe": "M1", "count": "abc"},
         "INVALID_REQUEST"),
    Case("rates-count-fraction", "get_rates", {"symbol": "EURUSD", "timeframe": "M1", "count": 1.5},
         "INVALID_REQUEST"),
    Case("rates-missing-count", "get_rates", {"symbol": "EURUSD", "timeframe": "M1"},
         "INVALID_REQUEST", mentions=("count",)),
    Case("rates-missing-symbol", "get_rates", {"timeframe": "M1", "count": 5},
         "INVALID_REQUEST", mentions=("symbol",)),
    Case("quote-missing-symbol", "get_quote", {}, "INVALID_REQUEST", mentions=("symbol",)),
    Case("quote-symbol-number", "get_quote", {"symbol": 123}, "INVALID_REQUEST"),
    Case("hours-missing-symbol", "get_market_hours", {}, "INVALID_REQUEST", mentions=("symbol",)),
    Case("symbols-category-number", "get_symbols", {"category": 5}, "INVALID_REQUEST"),
    Case("positions-symbol-list", "get_positions", {"symbol": ["EURUSD"]}, "INVALID_REQUEST"),
    Case("orders-symbol-number", "get_orders", {"symbol": 7}, "INVALID_REQUEST"),
    # --- calc_margin numbers and side
    Case("margin-volume-abc", "calc_margin", {"symbol": "EURUSD", "side": "buy", "volume": "abc"},
         "INVALID_REQUEST", mentions=("volume",)),
    Case("margin-volume-exponent", "calc_margin", {"symbol": "EURUSD", "side": "buy", "volume": "1e3"},
         "INVALID_REQUEST", mentions=("volume",)),
    Case("margin-volume-nan", "calc_margin", {"symbol": "EURUSD", "side": "buy", "volume": "NaN"},
         "INVALID_REQUEST", mentions=("volume",)),
    Case("margin-volume-infinity", "calc_margin", {"symbol": "EURUSD", "side": "buy", "volume": "Infinity"},
         "INVALID_REQUEST", mentions=("volume",)),
    Case("margin-volume-non-ascii-digit", "calc_margin", {"symbol": "EURUSD", "side": "buy", "volume": "\u0661"},
         "INVALID_REQUEST", mentions=("volume",)),
    Case("margin-missing-volume", "calc_margin", {"symbol": "EURUSD", "side": "buy"},
         "INVALID_REQUEST", mentions=("volume",)),
    Case("margin-price-abc", "calc_margin", {"symbol": "EURUSD", "side": "buy", "volume": "1", "price": "abc"},
         "INVALID_REQUEST", mentions=("price",)),
    Case("margin-bad-side", "calc_margin", {"symbol": "EURUSD", "side": "hold", "volume": "1"},
         "INVALID_REQUEST"),
    Case("margin-volume-zero", "calc_margin", {"symbol": "EURUSD", "side": "buy", "volume": "0"}, "INVALID_VOLUME"),
    Case("margin-volume-negative", "calc_margin", {"symbol": "EURUSD", "side": "buy", "volume": "-1"},
         "INVALID_VOLUME"),
    # --- get_history timestamps
    Case("history-from-garbage", "get_history", {"from_ts": "not-a-date", "to_ts": TO},
         "INVALID_TIMESTAMP", mentions=("from_ts",)),
    Case("history-to-garbage", "get_history", {"from_ts": FROM, "to_ts": "2026-13-45T99:00:00Z"},
         "INVALID_TIMESTAMP", mentions=("to_ts",)),
    Case("history-from-naive", "get_history", {"from_ts": "2026-01-01T00:00:00", "to_ts": TO},
         "INVALID_TIMESTAMP", mentions=("from_ts",)),
    Case("history-to-naive", "get_history", {"from_ts": FROM, "to_ts": "2026-02-01T00:00:00"},
         "INVALID_TIMESTAMP", mentions=("to_ts",)),
    Case("history-to-equals-from", "get_history", {"from_ts": FROM, "to_ts": FROM},
         "INVALID_TIMESTAMP", mentions=("to_ts",)),
    Case("history-to-before-from", "get_history", {"from_ts": TO, "to_ts": FROM},
         "INVALID_TIMESTAMP", mentions=("to_ts",)),
    Case("history-to-before-from-via-offset", "get_history",
         {"from_ts": "2026-01-01T00:00:00Z", "to_ts": "2026-01-01T01:00:00+02:00"},
         "INVALID_TIMESTAMP", mentions=("to_ts",)),
    Case("history-missing-to", "get_history", {"from_ts": FROM}, "INVALID_REQUEST", mentions=("to_ts",)),
    Case("history-from-number", "get_history", {"from_ts": 1767225600, "to_ts": TO},
         "INVALID_REQUEST"),
]

# Flags from the error catalogue (upstream-behaviour.md §1.5): (retryable, requires_human).
FLAGS = {
    "SYMBOL_NOT_FOUND": (False, False),
    "INVALID_TIMEFRAME": (False, False),
    "INVALID_COUNT": (False, False),
    "INVALID_TIMESTAMP": (False, False),
    "INVALID_REQUEST": (False, False),
    "INVALID_VOLUME": (False, False),
}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_error_envelope(server, case: Case):
    async with server.connect() as s:
        detail = await s.err(case.tool, case.args, case.code)
        # Bad input changes nothing: the account is untouched.
        account = await s.ok("get_account_info")
        assert account["balance"] == account["equity"] and account["balance"].startswith("10000")
        assert await s.ok_list("get_positions") == [] and await s.ok_list("get_orders") == []
    assert (detail["retryable"], detail["requires_human"]) == FLAGS[case.code], detail
    assert detail["mt5_retcode"] is None, detail
    for key, value in case.details.items():
        assert isinstance(detail["details"], dict) and key in detail["details"], (case.id, detail)
        assert detail["details"][key] == value, (case.id, key, detail)
    rendered = json.dumps(detail)
    for word in case.mentions:
        assert word in rendered, f"{case.id}: the error does not name {word!r}: {detail}"


async def test_many_bad_calls_in_one_session(server):
    """Every error case back to back on ONE connection: each still gets its own exact code."""
    async with server.connect() as s:
        for case in CASES:
            await s.err(case.tool, case.args, case.code)
        quote = await s.ok("get_quote", {"symbol": "GBPUSD"})
        assert quote["symbol"] == "GBPUSD"


WRONG_TYPES = [
    ("get_rates", {"symbol": "EURUSD", "timeframe": "M1", "count": "abc"}, "count"),
    ("get_rates", {"symbol": "EURUSD", "timeframe": "M1", "count": 1.5}, "count"),
    ("get_quote", {"symbol": 123}, "symbol"),
    ("get_symbols", {"category": 5}, "category"),
    ("calc_margin", {"symbol": "EURUSD", "side": "hold", "volume": "1"}, "side"),
    ("get_history", {"from_ts": 1767225600, "to_ts": TO}, "from_ts"),
    ("get_history", {"from_ts": FROM, "to_ts": False}, "to_ts"),
]


async def test_wrong_type_errors_name_the_argument(server):
    """An agent must be told WHICH argument is wrong (upstream's pydantic errors name it; STYLE:
    'error messages say what went wrong, with the offending value')."""
    unnamed = []
    async with server.connect() as s:
        for tool, args, arg_name in WRONG_TYPES:
            detail = await s.err(tool, args, "INVALID_REQUEST")
            if arg_name not in json.dumps(detail):
                unnamed.append((tool, args, detail))
    assert not unnamed, "errors that do not name the bad argument:\n" + "\n".join(map(repr, unnamed))
