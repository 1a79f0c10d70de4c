"""Handshake, server identity, tools/list and protocol-level robustness, in both eras."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from mcp.shared.exceptions import MCPError
from mt5wire import LIST_TOOLS, READ_TOOLS, SYMBOLS, TOOL_SHAPES, TRADING_TOOLS

pytestmark = pytest.mark.anyio


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow local `$ref`s (`#/$defs/X`, `#/definitions/X`) inside one schema document."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"non-local $ref {ref!r}"
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
        seen += 1
        assert seen < 20, "cyclic $ref"
    return node


def _types(node: dict[str, Any]) -> set[str]:
    t = node.get("type")
    if isinstance(t, list):
        return set(t)
    if isinstance(t, str):
        return {t}
    out: set[str] = set()
    for key in ("anyOf", "oneOf"):
        for alt in node.get(key, []):
            out |= _types(alt)
    return out


async def test_handshake_identity_and_capabilities(server, crate_version):
    async with server.connect() as s:
        info = s.client.server_info
        assert info is not None, f"{server.mode}: server did not identify itself"
        assert info.name == "mt5-mcp"
        assert info.version == crate_version, f"serverInfo.version {info.version!r} != crate {crate_version!r}"
        caps = s.client.server_capabilities
        assert caps.tools is not None, "tools capability must be advertised"
        # A real call works right after the handshake.
        await s.assert_alive()


async def test_tools_list_is_the_read_tools_and_the_trading_tools(server):
    async with server.connect() as s:
        listing = await s.list_tools()
        tools = list(listing.tools)
        while listing.next_cursor is not None:
            listing = await s.client.list_tools(cursor=listing.next_cursor)
            tools.extend(listing.tools)
    names = [t.name for t in tools]
    assert len(names) == len(set(names)), f"duplicate tool names: {names}"
    assert set(names) == set(READ_TOOLS) | set(TRADING_TOOLS), f"tools/list: {sorted(names)}"
    assert len(names) == 15

    for tool in tools:
        if tool.name in TRADING_TOOLS:
            continue  # their annotations and schemas are checked in test_trading.py
        where = f"tool {tool.name}"
        assert tool.description and tool.description.strip(), f"{where}: no description"
        ann = tool.annotations
        assert ann is not None, f"{where}: no annotations"
        assert isinstance(ann.title, str) and ann.title.strip(), f"{where}: no annotations.title"
        assert ann.read_only_hint is True, f"{where}: readOnlyHint={ann.read_only_hint}"
        assert ann.destructive_hint is False, f"{where}: destructiveHint={ann.destructive_hint}"
        assert ann.idempotent_hint is True, f"{where}: idempotentHint={ann.idempotent_hint}"
        assert ann.open_world_hint is True, f"{where}: openWorldHint={ann.open_world_hint}"
        if tool.title is not None:
            assert tool.title.strip(), f"{where}: empty title"

        props, required, out_fields = TOOL_SHAPES[tool.name]
        ins = tool.input_schema
        assert ins.get("type") == "object", f"{where}: inputSchema {ins}"
        assert set(ins.get("properties", {}) or {}) == props, f"{where}: input properties {ins.get('properties')}"
        assert set(ins.get("required", []) or []) == required, f"{where}: required {ins.get('required')}"

        outs = tool.output_schema
        assert isinstance(outs, dict), f"{where}: no outputSchema"
        assert outs.get("type") == "object", f"{where}: outputSchema must describe an object: {outs}"
        if tool.name in LIST_TOOLS:
            assert set(outs.get("properties", {})) == {"result"}, f"{where}: list outputSchema {outs}"
            result = _resolve(outs, outs["properties"]["result"])
            assert "array" in _types(result), f"{where}: result must be an array: {result}"
            item = _resolve(outs, result["items"])
        else:
            item = outs
        if tool.name == "ping" and "properties" not in item:
            # Upstream's ping schema is an open object (shape D); that is allowed.
            assert item.get("additionalProperties", True) is not False, f"{where}: {outs}"
            continue
        assert set(item.get("properties", {})) == out_fields, (
            f"{where}: output fields {sorted(item.get('properties', {}))} != {sorted(out_fields)}"
        )


async def test_unknown_tool_fails_clearly_and_server_survives(server):
    async with server.connect() as s:
        try:
            result = await s.call("no_such_tool", {"symbol": "EURUSD"})
        except MCPError as exc:
            # rmcp answers a JSON-RPC error (invalid params, "tool not found").
            assert exc.code < 0, exc
            assert "tool" in f"{exc.message} {json.dumps(exc.data)}".lower(), exc
        else:
            assert result.is_error, f"unknown tool did not fail: {result}"
            text = " ".join(getattr(b, "text", "") for b in result.content)
            assert "tool" in text.lower(), text
        await s.assert_alive()
        quote = await s.ok("get_quote", {"symbol": "EURUSD"})
        assert quote["symbol"] == "EURUSD"


async def test_concurrent_calls_all_answered(server):
    """Sixteen requests in flight at once on one connection; each answer matches its request."""
    results: dict[str, dict[str, Any]] = {}
    async with server.connect() as s:

        async def one(symbol: str) -> None:
            results[symbol] = await s.ok("get_quote", {"symbol": symbol})

        async with anyio.create_task_group() as tg:
            for symbol in SYMBOLS:
                tg.start_soon(one, symbol)
            for _ in range(7):
                tg.start_soon(s.assert_alive)
    assert set(results) == set(SYMBOLS)
    for symbol, quote in results.items():
        assert quote["symbol"] == symbol


async def test_reconnect_sees_same_persisted_account(server):
    """The sim account persists in state_path: a second server process sees the same account."""
    async with server.connect() as s:
        first = await s.ok("get_account_info")
        history1 = await s.ok_list("get_history", {"from_ts": "2000-01-01T00:00:00Z", "to_ts": "2100-01-01T00:00:00Z"})
    assert server.state_path.exists(), "sim state file was not written"
    other = "auto" if server.mode == "legacy" else "legacy"
    async with server.connect(mode=other) as s:
        second = await s.ok("get_account_info")
        history2 = await s.ok_list("get_history", {"from_ts": "2000-01-01T00:00:00Z", "to_ts": "2100-01-01T00:00:00Z"})
    assert second["login"] == first["login"]
    assert second["server"] == first["server"]
    assert second["balance"] == first["balance"]
    assert history2 == history1
    assert len(history1) == 1 and history1[0]["type"] == "balance"
