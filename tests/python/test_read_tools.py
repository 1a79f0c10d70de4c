"""Happy paths of the 11 read tools on a fresh sim account, with real value checks."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import anyio
import pytest
from mt5wire import (
    ACCOUNT_FIELDS,
    BAR_FIELDS,
    CALC_MODES,
    DEAL_FIELDS,
    FILLING_ORDER,
    MARGIN_FIELDS,
    MARKET_HOURS_FIELDS,
    PING_FIELDS,
    QUOTE_FIELDS,
    SWAP_MODES,
    SYMBOL_DECIMAL_FIELDS,
    SYMBOL_FIELDS,
    SYMBOLS,
    TERMINAL_FIELDS,
    TIMEFRAME_SECONDS,
    TIMEFRAMES,
    WEEKDAYS,
    dec,
    is_int,
    ts,
    utc_now,
)

pytestmark = pytest.mark.anyio

FOREX = ("EURUSD", "GBPUSD", "USDJPY", "USDCHF", "AUDUSD", "EURJPY")

# Generous sanity bands: a price outside them means a unit/scaling bug, not market movement.
PLAUSIBLE = {
    "EURUSD": (Decimal("0.5"), Decimal("2.5")),
    "GBPUSD": (Decimal("0.6"), Decimal("3.0")),
    "USDJPY": (Decimal("50"), Decimal("300")),
    "USDCHF": (Decimal("0.3"), Decimal("2.0")),
    "AUDUSD": (Decimal("0.3"), Decimal("1.5")),
    "EURJPY": (Decimal("50"), Decimal("350")),
    "XAUUSD": (Decimal("500"), Decimal("20000")),
    "BTCUSD": (Decimal("1000"), Decimal("1000000")),
    "US500": (Decimal("1000"), Decimal("20000")),
}


def decimals_of(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def rel_close(a: Decimal, b: Decimal, tolerance: str) -> bool:
    return abs(a - b) <= abs(b) * Decimal(tolerance)


async def symbol_map(s) -> dict[str, dict[str, Any]]:
    items = await s.ok_list("get_symbols")
    return {item["name"]: item for item in items}


# --------------------------------------------------------------------------- ping / terminal / account


async def test_ping(server):
    async with server.connect() as s:
        pong = await s.ok("ping")
    assert set(pong) <= PING_FIELDS and {"ok", "latency_ms"} <= set(pong), pong
    assert pong["ok"] is True
    assert is_int(pong["latency_ms"]) and 0 <= pong["latency_ms"] < 5000, pong
    assert pong.get("via") in {"terminal_info", "account_info", "tick_probe"}, pong


async def test_terminal_info(server):
    async with server.connect() as s:
        term = await s.ok("get_terminal_info")
        account = await s.ok("get_account_info")
    assert set(term) == TERMINAL_FIELDS, sorted(term)
    assert term["connected"] is True
    assert is_int(term["build"]) and term["build"] > 0
    assert isinstance(term["name"], str) and term["name"].strip()
    assert isinstance(term["company"], str) and term["company"].strip()
    assert is_int(term["login"]) and term["login"] == account["login"] and term["login"] > 0
    assert isinstance(term["server"], str) and term["server"] == account["server"] and term["server"]
    offset = term["broker_tz_offset_minutes"]
    assert is_int(offset) and -720 <= offset <= 840 and offset % 15 == 0, offset
    assert is_int(term["latency_ms"]) and 0 <= term["latency_ms"] < 5000


async def test_account_info_fresh_account(server):
    async with server.connect() as s:
        acc = await s.ok("get_account_info")
    assert set(acc) == ACCOUNT_FIELDS, sorted(acc)
    assert is_int(acc["login"]) and acc["login"] > 0
    assert isinstance(acc["name"], str) and acc["name"].strip()
    assert isinstance(acc["server"], str) and acc["server"].strip()
    assert acc["currency"] == "USD"
    assert acc["balance"].startswith("10000"), acc["balance"]
    assert dec(acc["balance"], "balance") == Decimal("10000")
    assert dec(acc["equity"], "equity") == Decimal("10000")
    assert dec(acc["margin"], "margin") == 0
    assert dec(acc["margin_free"], "margin_free") == Decimal("10000")
    # MT5 reports margin level 0.0 without open margin; the wire says null (upstream §2.3).
    assert acc["margin_level"] is None, acc["margin_level"]
    assert acc["leverage"] == 100 and is_int(acc["leverage"])
    assert acc["trade_allowed"] is True
    assert acc["margin_mode"] == "retail_hedging"


# --------------------------------------------------------------------------- symbols


async def test_get_symbols_catalogue(server):
    async with server.connect() as s:
        items = await s.ok_list("get_symbols")
        quotes = {sym: await s.ok("get_quote", {"symbol": sym}) for sym in ("USDJPY", "USDCHF")}
    names = [i["name"] for i in items]
    assert len(names) == len(set(names)), f"duplicate symbols: {names}"
    assert set(SYMBOLS) <= set(names), f"missing: {set(SYMBOLS) - set(names)}"
    by_name = {i["name"]: i for i in items}

    for item in items:
        where = item.get("name")
        assert set(item) == SYMBOL_FIELDS, f"{where}: fields {sorted(item)}"
        assert isinstance(item["description"], str)
        assert isinstance(item["category"], str) and item["category"].strip(), where
        values = {f: dec(item[f], f"{where}.{f}") for f in SYMBOL_DECIMAL_FIELDS}
        assert values["contract_size"] > 0 and values["tick_size"] > 0 and values["tick_value"] > 0, where
        assert is_int(item["digits"]) and 0 <= item["digits"] <= 8, where
        # tick_size is the symbol's point, which is 10^-digits in MT5.
        assert values["tick_size"] == Decimal(1).scaleb(-item["digits"]), (where, item["tick_size"], item["digits"])
        assert 0 < values["volume_min"] <= values["volume_max"], where
        assert values["volume_step"] > 0 and values["volume_min"] % values["volume_step"] == 0, where
        for ccy in ("currency_profit", "currency_margin"):
            assert isinstance(item[ccy], str) and len(item[ccy]) == 3 and item[ccy].isupper(), (where, item[ccy])
        modes = item["filling_modes"]
        assert isinstance(modes, list) and modes == [m for m in FILLING_ORDER if m in modes], (where, modes)
        assert len(set(modes)) == len(modes)
        assert isinstance(item["is_tradeable"], bool)
        assert item["calc_mode"] in CALC_MODES, (where, item["calc_mode"])
        assert item["swap_mode"] in SWAP_MODES, (where, item["swap_mode"])
        assert item["triple_swap_weekday"] in WEEKDAYS, (where, item["triple_swap_weekday"])
        assert is_int(item["stops_level"]) and item["stops_level"] >= 0, where
        assert is_int(item["freeze_level"]) and item["freeze_level"] >= 0, where

    for sym in SYMBOLS:
        assert by_name[sym]["is_tradeable"] is True, f"{sym} should be tradeable on the sim"
    for sym in FOREX:
        item = by_name[sym]
        assert item["calc_mode"] == "forex", (sym, item["calc_mode"])
        assert item["currency_margin"] == sym[:3] and item["currency_profit"] == sym[3:], sym
        assert dec(item["contract_size"]) == 100000, (sym, item["contract_size"])
        assert item["digits"] == (3 if sym.endswith("JPY") else 5), (sym, item["digits"])
    assert by_name["XAUUSD"]["currency_profit"] == "USD"
    assert by_name["BTCUSD"]["currency_profit"] == "USD"
    # Tick value is money in the USD account: contract_size * tick_size, converted from the
    # profit currency at the market rate.
    for sym in ("EURUSD", "GBPUSD", "AUDUSD"):
        assert dec(by_name[sym]["tick_value"]) == Decimal("1"), (sym, by_name[sym]["tick_value"])
    usdjpy_bid = dec(quotes["USDJPY"]["bid"])
    usdchf_bid = dec(quotes["USDCHF"]["bid"])
    for sym, rate in (("USDJPY", usdjpy_bid), ("EURJPY", usdjpy_bid), ("USDCHF", usdchf_bid)):
        item = by_name[sym]
        expected = dec(item["contract_size"]) * dec(item["tick_size"]) / rate
        assert rel_close(dec(item["tick_value"]), expected, "0.02"), (sym, item["tick_value"], expected)


async def test_get_symbols_category_filter_case_insensitive(server):
    async with server.connect() as s:
        everything = await s.ok_list("get_symbols")
        category = next(i["category"] for i in everything if i["name"] == "EURUSD")
        expected = sorted(i["name"] for i in everything if i["category"].lower() == category.lower())
        assert "EURUSD" in expected and len(expected) < len(everything), (category, expected)
        for variant in (category, category.lower(), category.upper(), category.swapcase()):
            filtered = await s.ok_list("get_symbols", {"category": variant})
            assert sorted(i["name"] for i in filtered) == expected, (variant, filtered)
            assert all(i["category"].lower() == category.lower() for i in filtered)
        # Every other category filters too: the union of the filters is the whole catalogue.
        seen: set[str] = set()
        for cat in {i["category"] for i in everything}:
            seen |= {i["name"] for i in await s.ok_list("get_symbols", {"category": cat.upper()})}
        assert seen == {i["name"] for i in everything}
        assert await s.ok_list("get_symbols", {"category": "NoSuchCategory"}) == []
        assert await s.ok_list("get_symbols", {"category": ""}) == []
        # An explicit null is "no filter".
        assert len(await s.ok_list("get_symbols", {"category": None})) == len(everything)


# --------------------------------------------------------------------------- quotes / market hours


async def test_get_quote_all_symbols(server):
    async with server.connect() as s:
        catalogue = await symbol_map(s)
        for sym in SYMBOLS:
            before = utc_now()
            quote = await s.ok("get_quote", {"symbol": sym})
            after = utc_now()
            assert set(quote) == QUOTE_FIELDS, (sym, sorted(quote))
            assert quote["symbol"] == sym
            bid, ask = dec(quote["bid"], f"{sym}.bid"), dec(quote["ask"], f"{sym}.ask")
            assert 0 < bid < ask, (sym, bid, ask)
            assert (ask - bid) / bid < Decimal("0.01"), (sym, bid, ask)
            low, high = PLAUSIBLE[sym]
            assert low < bid < high, (sym, bid)
            digits = catalogue[sym]["digits"]
            assert decimals_of(quote["bid"]) <= digits and decimals_of(quote["ask"]) <= digits, (sym, quote, digits)
            moment = ts(quote["time"], f"{sym}.time")
            # UTC after the broker offset is removed: not in the future, and fresh.
            assert moment <= after + timedelta(seconds=2), (sym, quote["time"], after)
            assert moment >= before - timedelta(minutes=5), (sym, quote["time"], before)


async def test_quotes_move(server):
    async with server.connect() as s:
        first = await s.ok("get_quote", {"symbol": "EURUSD"})
        deadline = time.monotonic() + 6
        latest = first
        while time.monotonic() < deadline:
            await anyio.sleep(0.5)
            latest = await s.ok("get_quote", {"symbol": "EURUSD"})
            if latest["time"] != first["time"]:
                break
    assert ts(latest["time"]) > ts(first["time"]), f"EURUSD quote is frozen: {first} -> {latest}"


async def test_get_market_hours(server):
    async with server.connect() as s:
        catalogue = await symbol_map(s)
        for sym in SYMBOLS:
            hours = await s.ok("get_market_hours", {"symbol": sym})
            assert set(hours) == MARKET_HOURS_FIELDS, (sym, sorted(hours))
            assert hours["symbol"] == sym
            assert hours["is_open"] is catalogue[sym]["is_tradeable"], (sym, hours)
            for key in ("next_open", "next_close"):
                if hours[key] is not None:
                    assert ts(hours[key], f"{sym}.{key}") > utc_now() - timedelta(minutes=1), (sym, hours)


# --------------------------------------------------------------------------- rates


def check_bars(bars: list[dict[str, Any]], sym: str, digits: int) -> list[datetime]:
    times = []
    for bar in bars:
        assert set(bar) == BAR_FIELDS, sorted(bar)
        o, h, l, c = (dec(bar[k], f"{sym}.{k}") for k in ("open", "high", "low", "close"))
        assert 0 < l <= min(o, c) and max(o, c) <= h, bar
        for k in ("open", "high", "low", "close"):
            assert decimals_of(bar[k]) <= digits, (sym, bar, digits)
        assert is_int(bar["tick_volume"]) and bar["tick_volume"] >= 0, bar
        assert is_int(bar["real_volume"]) and bar["real_volume"] >= 0, bar
        assert is_int(bar["spread"]) and bar["spread"] >= 0, bar
        times.append(ts(bar["time"]))
    assert all(a > b for a, b in zip(times, times[1:])), f"bars are not strictly most-recent-first: {times[:5]}"
    return times


async def test_get_rates_m1_recent_and_consistent(server):
    async with server.connect() as s:
        catalogue = await symbol_map(s)
        for sym in ("EURUSD", "BTCUSD"):
            quote = await s.ok("get_quote", {"symbol": sym})
            bars = await s.ok_list("get_rates", {"symbol": sym, "timeframe": "M1", "count": 10})
            now = utc_now()
            assert len(bars) == 10
            times = check_bars(bars, sym, catalogue[sym]["digits"])
            # The newest bar is the one forming now; MT5 bars are built on bid.
            assert now - timedelta(minutes=3) < times[0] <= now, (sym, times[0], now)
            assert rel_close(dec(bars[0]["close"]), dec(quote["bid"]), "0.005"), (sym, bars[0], quote)
            for newer, older in zip(times, times[1:]):
                assert (newer - older).total_seconds() % 60 == 0, (sym, newer, older)


@pytest.mark.parametrize("timeframe", TIMEFRAMES)
async def test_get_rates_alignment(server, timeframe):
    async with server.connect() as s:
        offset = (await s.ok("get_terminal_info"))["broker_tz_offset_minutes"]
        digits = (await symbol_map(s))["EURUSD"]["digits"]
        bars = await s.ok_list("get_rates", {"symbol": "EURUSD", "timeframe": timeframe, "count": 6})
    assert len(bars) == 6, (timeframe, len(bars))
    times = check_bars(bars, "EURUSD", digits)
    # Bars open on broker-local boundaries; times on the wire are real UTC.
    local = [t + timedelta(minutes=offset) for t in times]
    if timeframe in TIMEFRAME_SECONDS:
        secs = TIMEFRAME_SECONDS[timeframe]
        for t in local:
            assert int(t.timestamp()) % secs == 0, f"{timeframe} bar not aligned (offset {offset}): {t}"
    elif timeframe == "W1":
        for t in local:
            assert t.weekday() == 6 and (t.hour, t.minute, t.second) == (0, 0, 0), f"W1 bar not Sunday 00:00: {t}"
        for newer, older in zip(local, local[1:]):
            assert (newer - older).days % 7 == 0
    else:  # MN1
        for t in local:
            assert t.day == 1 and (t.hour, t.minute, t.second) == (0, 0, 0), f"MN1 bar not on the 1st: {t}"
        months = [t.year * 12 + t.month for t in local]
        assert all(a > b for a, b in zip(months, months[1:])), months
    assert times[0] <= utc_now()


async def test_get_rates_count_honoured_and_clamped(server):
    async with server.connect() as s:
        for count in (1, 2, 100):
            bars = await s.ok_list("get_rates", {"symbol": "EURUSD", "timeframe": "H1", "count": count})
            assert len(bars) == count, (count, len(bars))
        full = await s.ok_list("get_rates", {"symbol": "EURUSD", "timeframe": "M1", "count": 5000})
        assert len(full) == 5000
        clamped = await s.ok_list("get_rates", {"symbol": "EURUSD", "timeframe": "M1", "count": 9999})
        assert len(clamped) == 5000, f"count 9999 must clamp to 5000, got {len(clamped)}"
        digits = (await symbol_map(s))["EURUSD"]["digits"]
    times = check_bars(clamped, "EURUSD", digits)
    # Same window (give or take a minute rolling over between the two calls).
    assert abs((ts(full[-1]["time"]) - times[-1]).total_seconds()) <= 120


async def test_rates_timeframes_agree(server):
    """Bars of different timeframes describe the same prices: the last complete H1 bar is the
    aggregate of the 60 M1 bars inside it (open, high, low, close, tick volume)."""
    async with server.connect() as s:
        for _ in range(3):
            h1 = await s.ok_list("get_rates", {"symbol": "EURUSD", "timeframe": "H1", "count": 2})
            m1 = await s.ok_list("get_rates", {"symbol": "EURUSD", "timeframe": "M1", "count": 180})
            h1_again = await s.ok_list("get_rates", {"symbol": "EURUSD", "timeframe": "H1", "count": 2})
            if h1_again[1] == h1[1]:  # no hour rolled over between the calls
                break
    hour = h1[1]
    start = ts(hour["time"])
    inside = [b for b in m1 if start <= ts(b["time"]) < start + timedelta(hours=1)]
    assert inside, f"no M1 bars inside the H1 bar {hour}"
    inside.sort(key=lambda b: b["time"])
    assert dec(hour["open"]) == dec(inside[0]["open"]), (hour, inside[0])
    assert dec(hour["close"]) == dec(inside[-1]["close"]), (hour, inside[-1])
    assert dec(hour["high"]) == max(dec(b["high"]) for b in inside), hour
    assert dec(hour["low"]) == min(dec(b["low"]) for b in inside), hour
    assert hour["tick_volume"] == sum(b["tick_volume"] for b in inside), hour


# --------------------------------------------------------------------------- calc_margin


async def test_calc_margin_eurusd_market_price(server):
    async with server.connect() as s:
        for side, price_key in (("buy", "ask"), ("sell", "bid")):
            quote = await s.ok("get_quote", {"symbol": "EURUSD"})
            out = await s.ok("calc_margin", {"symbol": "EURUSD", "side": side, "volume": "1"})
            assert set(out) == MARGIN_FIELDS, sorted(out)
            assert out["symbol"] == "EURUSD" and out["side"] == side and out["currency"] == "USD"
            assert dec(out["volume"]) == 1
            price = dec(out["price"], "price")
            assert rel_close(price, dec(quote[price_key]), "0.002"), (side, out, quote)
            margin = dec(out["margin"], "margin")
            # 1 lot = 100000 EUR at leverage 100 -> 1000 EUR of margin, i.e. 1000 x price USD.
            assert rel_close(margin, 1000 * price, "0.01"), (side, margin, price)


async def test_calc_margin_explicit_price_and_linearity(server):
    async with server.connect() as s:
        market = dec((await s.ok("get_quote", {"symbol": "EURUSD"}))["ask"])
        margins = {}
        for volume in ("0.01", "0.1", "1", "2.5"):
            out = await s.ok("calc_margin", {"symbol": "EURUSD", "side": "buy", "volume": volume, "price": "1.10000"})
            assert dec(out["price"]) == Decimal("1.1"), out
            assert dec(out["volume"]) == Decimal(volume), out
            margins[volume] = dec(out["margin"])
    lo, hi = sorted((Decimal("1.1"), market))
    one = margins["1"]
    assert 1000 * lo * Decimal("0.98") <= one <= 1000 * hi * Decimal("1.02"), (one, market)
    for volume, margin in margins.items():
        assert rel_close(margin, one * Decimal(volume), "0.005"), (volume, margin, one)


async def test_calc_margin_usd_base_and_other_symbols(server):
    async with server.connect() as s:
        catalogue = await symbol_map(s)
        usdjpy = await s.ok("calc_margin", {"symbol": "USDJPY", "side": "sell", "volume": "1"})
        # USD is both the base and the account currency: 100000 USD / 100 = 1000 USD, whatever the price.
        assert rel_close(dec(usdjpy["margin"]), Decimal("1000"), "0.01"), usdjpy
        for sym in ("XAUUSD", "BTCUSD", "US500", "GBPUSD"):
            out = await s.ok("calc_margin", {"symbol": sym, "side": "buy", "volume": "0.1"})
            margin, price = dec(out["margin"]), dec(out["price"])
            notional = Decimal("0.1") * dec(catalogue[sym]["contract_size"]) * price
            assert out["currency"] == "USD"
            # Leverage is at least 1: margin is positive and never more than the notional.
            assert 0 < margin <= notional * Decimal("1.001"), (sym, margin, notional)


async def test_calc_margin_accepts_json_number_volume(server):
    """Upstream accepted JSON numbers for calc_margin volume/price; clients written for it must work."""
    async with server.connect() as s:
        as_number = await s.ok("calc_margin", {"symbol": "USDJPY", "side": "buy", "volume": 1})
        as_string = await s.ok("calc_margin", {"symbol": "USDJPY", "side": "buy", "volume": "1"})
    assert dec(as_number["volume"]) == 1
    assert rel_close(dec(as_number["margin"]), dec(as_string["margin"]), "0.001")


# --------------------------------------------------------------------------- positions / orders / history


async def test_positions_and_orders_empty_on_fresh_account(server):
    async with server.connect() as s:
        for tool in ("get_positions", "get_orders"):
            assert await s.ok_list(tool) == []
            assert await s.ok_list(tool, {"symbol": "EURUSD"}) == []
            assert await s.ok_list(tool, {"symbol": None}) == []


async def test_history_contains_opening_balance_deal(server):
    async with server.connect() as s:
        started = utc_now()
        deals = await s.ok_list("get_history", {"from_ts": "2000-01-01T00:00:00Z", "to_ts": "2100-01-01T00:00:00Z"})
        assert len(deals) == 1, deals
        deal = deals[0]
        assert set(deal) == DEAL_FIELDS, sorted(deal)
        assert deal["type"] == "balance"
        assert is_int(deal["ticket"]) and deal["ticket"] > 0
        assert is_int(deal["order"])
        assert dec(deal["profit"], "profit") == Decimal("10000")
        for key in ("volume", "price", "swap", "commission"):
            assert dec(deal[key], key) == 0, (key, deal)
        assert deal["comment"] is None or isinstance(deal["comment"], str)
        when = ts(deal["time"])
        # The account was created by this server start (fresh state file).
        assert started - timedelta(minutes=10) <= when <= utc_now() + timedelta(seconds=2), (deal["time"], started)

        def window(start: datetime, end: datetime) -> dict[str, str]:
            return {"from_ts": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "to_ts": end.strftime("%Y-%m-%dT%H:%M:%SZ")}

        far_future = datetime(2100, 1, 1, tzinfo=timezone.utc)
        long_ago = datetime(2000, 1, 1, tzinfo=timezone.utc)
        # A tight window around the deal finds it; windows entirely before/after it do not.
        around = await s.ok_list("get_history", window(when - timedelta(minutes=1), when + timedelta(minutes=1)))
        assert around == deals
        assert await s.ok_list("get_history", window(long_ago, when - timedelta(minutes=1))) == []
        assert await s.ok_list("get_history", window(when + timedelta(minutes=1), far_future)) == []
        # Offsets are honoured: the same instants written in +02:00 and -05:00.
        plus2 = timezone(timedelta(hours=2))
        minus5 = timezone(timedelta(hours=-5))
        shifted = {
            "from_ts": (when - timedelta(minutes=1)).astimezone(plus2).isoformat(),
            "to_ts": (when + timedelta(minutes=1)).astimezone(minus5).isoformat(),
        }
        assert await s.ok_list("get_history", shifted) == deals, shifted
        later = {
            "from_ts": (when + timedelta(minutes=1)).astimezone(plus2).isoformat(),
            "to_ts": far_future.astimezone(minus5).isoformat(),
        }
        assert await s.ok_list("get_history", later) == [], later
        # A symbol filter excludes the balance deal (it has no symbol).
        assert deal["symbol"] == ""
        assert await s.ok_list("get_history", {**window(long_ago, far_future), "symbol": "EURUSD"}) == []
        assert await s.ok_list("get_history", {**window(long_ago, far_future), "symbol": None}) == deals
