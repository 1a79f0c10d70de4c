"""The four trading tools over the official SDK, in both protocol eras: their listing, a
place -> modify -> partial close -> close flow, a consent round trip, a replay, bad inputs.

Mutating tools answer with ONE text block of JSON: an OrderResult, an ApprovalPreview (it has
`request_id`) or, with isError, `{"error": ErrorDetail}`. Expectations are computed from the
quotes the server reports: the sim's prices move every second."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from conftest import ServerHandle, check_error_detail
from mt5wire import dec, is_int, ts

pytestmark = pytest.mark.anyio

TRADING = {
    # name: idempotentHint
    "place_order": False,
    "modify_order": False,
    "close_position": True,
    "cancel_order": True,
}
ORDER_RESULT_KEYS = [
    "success", "ticket", "action", "symbol", "volume", "price_filled", "request_echo", "replayed",
    "error", "server_response_code",
]
PREVIEW_KEYS = [
    "request_id", "expires_at", "summary", "action", "symbol", "notional", "estimated_margin",
    "reference_quote", "request_echo",
]
ULID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
POINT = Decimal("0.00001")
HISTORY = {"from_ts": "2000-01-01T00:00:00Z", "to_ts": "2100-01-01T00:00:00Z"}


def price(x: Decimal) -> str:
    return str(x.quantize(POINT, rounding=ROUND_HALF_UP))


async def body(s, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of a mutating call that is not an error."""
    result = await s.call(name, arguments)
    texts = s._texts(result)
    assert not result.is_error, f"{name}({arguments}) failed: {texts}"
    assert len(texts) == 1, f"{name}: one text block, got {texts}"
    value = json.loads(texts[0])
    assert isinstance(value, dict), value
    return value


async def filled(s, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    r = await body(s, name, arguments)
    assert list(r) == ORDER_RESULT_KEYS, f"OrderResult keys: {list(r)}"
    assert r["success"] is True and r["error"] is None, r
    assert r["server_response_code"] in (10009, 10010), r
    assert r["action"] == name, r
    assert "idempotency_key" not in r["request_echo"], r
    dec(r["volume"], "volume")
    return r


async def preview(s, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    p = await body(s, name, arguments)
    assert list(p) == PREVIEW_KEYS, f"ApprovalPreview keys: {list(p)}"
    assert ULID_RE.match(p["request_id"]), p
    assert ts(p["expires_at"]) > datetime.now(timezone.utc), p
    dec(p["notional"], "notional")
    dec(p["estimated_margin"], "estimated_margin")
    assert list(p["reference_quote"]) == ["symbol", "bid", "ask", "time"], p
    return p


async def quote(s, symbol: str = "EURUSD") -> tuple[Decimal, Decimal]:
    q = await s.ok("get_quote", {"symbol": symbol})
    return dec(q["bid"]), dec(q["ask"])


async def book(s) -> tuple[Any, ...]:
    """What a refused call must not change."""
    positions = await s.ok_list("get_positions")
    orders = await s.ok_list("get_orders")
    stable = lambda rows, keys: [{k: r[k] for k in keys} for r in rows]  # noqa: E731
    account = await s.ok("get_account_info")
    deals = await s.ok_list("get_history", HISTORY)
    return (
        stable(positions, ("ticket", "symbol", "type", "volume", "price_open", "sl", "tp")),
        stable(orders, ("ticket", "symbol", "type", "volume", "price", "sl", "tp", "expiration")),
        account["balance"],
        deals,
    )


def arm_gate(server: ServerHandle, policy: str) -> None:
    with open(server.config_path, "a", encoding="utf-8") as fh:
        fh.write(f"\n[policy]\n{policy}\n")


async def test_trading_tools_are_listed_with_honest_annotations(server):
    async with server.connect() as s:
        listing = await s.list_tools()
        tools = {t.name: t for t in listing.tools}
    for name, idempotent in TRADING.items():
        assert name in tools, f"{name} missing from tools/list: {sorted(tools)}"
        ann = tools[name].annotations
        assert ann is not None, name
        assert isinstance(ann.title, str) and ann.title.strip(), name
        assert ann.read_only_hint is False, name
        assert ann.destructive_hint is True, name
        assert ann.idempotent_hint is idempotent, name
        assert ann.open_world_hint is True, name
        assert tools[name].description and tools[name].description.strip(), name
    assert set(tools["place_order"].input_schema["required"]) == {"symbol", "side", "type", "volume"}
    for name in ("modify_order", "close_position", "cancel_order"):
        assert tools[name].input_schema["required"] == ["ticket"], name


async def test_place_modify_partial_close_and_close(server):
    async with server.connect() as s:
        bid, ask = await quote(s)
        sl = price(bid - 500 * POINT)
        placed = await filled(s, "place_order", {
            "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.03", "sl": sl,
            "deviation": 200, "comment": "py flow",
        })
        assert placed["request_echo"]["volume"] == "0.03" and placed["request_echo"]["sl"] == sl
        ticket = placed["ticket"]
        assert is_int(ticket)
        [pos] = await s.ok_list("get_positions")
        assert pos["ticket"] == ticket and pos["type"] == "buy" and pos["comment"] == "py flow"
        assert dec(pos["volume"]) == Decimal("0.03") and dec(pos["sl"]) == Decimal(sl)
        assert dec(pos["price_open"]) == dec(placed["price_filled"])

        tp = price(ask + 600 * POINT)
        modified = await filled(s, "modify_order", {"ticket": ticket, "tp": tp})
        assert dec(modified["volume"]) == Decimal("0.03")
        [pos] = await s.ok_list("get_positions")
        assert (dec(pos["sl"]), dec(pos["tp"])) == (Decimal(sl), Decimal(tp)), "the stop not given is kept"

        part = await filled(s, "close_position", {"ticket": ticket, "volume": "0.01"})
        assert dec(part["volume"]) == Decimal("0.01") and part["ticket"] != ticket
        [pos] = await s.ok_list("get_positions")
        assert pos["ticket"] == ticket and dec(pos["volume"]) == Decimal("0.02")

        rest = await filled(s, "close_position", {"ticket": ticket})
        assert dec(rest["volume"]) == Decimal("0.02")
        assert await s.ok_list("get_positions") == []
        deals = await s.ok_list("get_history", HISTORY)
        closes = [d for d in deals if d["order"] in (part["ticket"], rest["ticket"])]
        assert sorted(dec(d["volume"]) for d in closes) == [Decimal("0.01"), Decimal("0.02")]
        assert all(d["type"] == "sell" for d in closes)
        account = await s.ok("get_account_info")
        realised = sum((dec(d["profit"]) for d in closes), Decimal(0))
        assert dec(account["balance"]) == Decimal("10000") + realised


async def test_consent_round_trip(server):
    arm_gate(server, 'auto_approve_notional = "100"')
    async with server.connect() as s:
        before = await book(s)
        args = {"symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01", "deviation": 200}
        p = await preview(s, "place_order", args)
        assert p["action"] == "place_order" and p["symbol"] == "EURUSD"
        assert p["summary"].startswith("BUY 0.01 EURUSD @ "), p["summary"]
        assert dec(p["notional"]) >= Decimal("100")
        assert p["request_echo"]["approval_confirmed"] is False
        assert await book(s) == before, "a preview changes nothing"

        confirmed = {**args, "approval_confirmed": True, "approval_request_id": p["request_id"]}
        done = await filled(s, "place_order", confirmed)
        assert done["request_echo"]["approval_request_id"] == p["request_id"]
        [pos] = await s.ok_list("get_positions")
        assert pos["ticket"] == done["ticket"]

        detail = await s.err("place_order", confirmed, "INVALID_APPROVAL")
        assert detail["details"]["reason"] == "unknown or expired approval_request_id"
        assert detail["retryable"] is True and detail["requires_human"] is True
        assert len(await s.ok_list("get_positions")) == 1


async def test_a_keyed_retry_replays(server):
    async with server.connect() as s:
        args = {"symbol": "EURUSD", "side": "sell", "type": "market", "volume": "0.02", "deviation": 200,
                "idempotency_key": "py-replay-1"}
        first = await filled(s, "place_order", args)
        again = await body(s, "place_order", args)
        assert first["replayed"] is False and again["replayed"] is True
        assert {**again, "replayed": False} == first
        assert len(await s.ok_list("get_positions")) == 1

        close = {"ticket": first["ticket"], "idempotency_key": "py-replay-2"}
        closed = await filled(s, "close_position", close)
        replay = await body(s, "close_position", close)
        assert replay["replayed"] is True and {**replay, "replayed": False} == closed
        assert await s.ok_list("get_positions") == []

        diverged = await s.err("place_order", {**args, "volume": "0.03"}, "IDEMPOTENCY_DIVERGED")
        assert diverged["details"] == {"key": "py-replay-1", "action": "place_order"}


async def test_bad_inputs_are_typed_and_change_nothing(server):
    async with server.connect() as s:
        placed = await filled(s, "place_order", {
            "symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.02", "deviation": 200,
        })
        bid, _ = await quote(s)
        limit = await filled(s, "place_order", {
            "symbol": "EURUSD", "side": "buy", "type": "limit", "volume": "0.01",
            "price": price(bid * Decimal("0.95")),
        })
        before = await book(s)
        market = {"symbol": "EURUSD", "side": "buy", "type": "market", "volume": "0.01"}
        naive = (datetime.now(timezone.utc) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
        cases = [
            ("place_order", {**market, "volume": "1e3"}, "INVALID_REQUEST", "volume"),
            ("place_order", {**market, "volume": "NaN"}, "INVALID_REQUEST", "volume"),
            ("place_order", {**market, "volume": "0"}, "INVALID_VOLUME", None),
            ("place_order", {**market, "volume": "-1"}, "INVALID_VOLUME", None),
            ("place_order", {**market, "volume": "5000"}, "INVALID_VOLUME", None),
            ("place_order", {**market, "side": "long"}, "INVALID_REQUEST", "side"),
            ("place_order", {**market, "type": "fok"}, "INVALID_REQUEST", "type"),
            ("place_order", {**market, "comment": "café"}, "INVALID_COMMENT", None),
            ("place_order", {**market, "comment": "c" * 32}, "INVALID_COMMENT", None),
            ("place_order", {**market, "idempotency_key": "no spaces please"}, "INVALID_REQUEST", "idempotency_key"),
            ("modify_order", {"ticket": limit["ticket"], "expiration": naive}, "INVALID_REQUEST", "expiration"),
            ("modify_order", {"ticket": placed["ticket"], "price": "1.0"}, "INVALID_REQUEST", "price"),
            ("modify_order", {"ticket": 987654321, "sl": "1.0"}, "INVALID_TICKET", None),
            ("close_position", {"ticket": 987654321}, "INVALID_TICKET", None),
            ("close_position", {"ticket": placed["ticket"], "volume": "0"}, "INVALID_VOLUME", None),
            ("close_position", {"ticket": placed["ticket"], "volume": "0.5"}, "INVALID_VOLUME", None),
            ("cancel_order", {"ticket": placed["ticket"]}, "INVALID_TICKET", None),
            ("cancel_order", {"ticket": "abc"}, "INVALID_REQUEST", "ticket"),
        ]
        for name, arguments, code, field in cases:
            detail = check_error_detail(await s.err(name, arguments, code))
            if field is not None:
                assert detail["details"]["field"] == field, (name, arguments, detail)
            assert await book(s) == before, f"{name}({arguments}) changed the terminal"
