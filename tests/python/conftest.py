"""Fixtures for the end-to-end suite: the real `mt5-mcp` binary driven over stdio by the
official Python MCP SDK (`mcp` 2.3), in both protocol eras.

Every test that uses the `server` fixture runs twice: `mode="legacy"` (initialize handshake,
2025-11-25) and `mode="auto"` (server/discover, 2026-07-28). Each test gets its own temporary
HOME / XDG dirs / account state, so every account starts fresh (balance 10000, no positions).

The terminal backend is chosen by env MT5_MCP_TEST_BACKEND: `sim` (default) or `native`, the
embedded-Python backend importing the fake MetaTrader5 module in tests/fake_mt5 (interpreter:
env MT5_MCP_TEST_PYTHON, else this interpreter, which has numpy from requirements.txt). Both
present the same account and symbols.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mt5wire import (
    CALL_TIMEOUT_S,
    ERROR_KEYS,
    LEGACY_VERSION,
    LIST_TOOLS,
    MODERN_VERSION,
    PRE_2026_VERSIONS,
    is_int,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
FAKE_MT5_DIR = REPO_ROOT / "tests" / "fake_mt5"


def backend_under_test() -> str:
    backend = os.environ.get("MT5_MCP_TEST_BACKEND") or "sim"
    if backend not in ("sim", "native"):
        raise pytest.UsageError(f"MT5_MCP_TEST_BACKEND must be sim or native, not {backend!r}")
    return backend


def backend_python() -> str:
    return os.environ.get("MT5_MCP_TEST_PYTHON") or sys.executable

# --------------------------------------------------------------------------- binary / version


@pytest.fixture(scope="session")
def mt5_bin() -> Path:
    """The server binary: $MT5_MCP_BIN, else <CARGO_TARGET_DIR or repo/target>/debug/mt5-mcp.

    A missing binary is an error, never a skip: the suite must not pass without the server."""
    explicit = os.environ.get("MT5_MCP_BIN")
    if explicit:
        path = Path(explicit)
    else:
        target = Path(os.environ.get("CARGO_TARGET_DIR") or "target")
        if not target.is_absolute():
            target = REPO_ROOT / target
        path = target / "debug" / "mt5-mcp"
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"mt5-mcp binary not found or not executable at {path} (build it or set MT5_MCP_BIN)")
    return path.resolve()


@pytest.fixture(scope="session")
def crate_version() -> str:
    with open(REPO_ROOT / "Cargo.toml", "rb") as fh:
        version = tomllib.load(fh)["package"]["version"]
    assert isinstance(version, str) and version
    return version


# --------------------------------------------------------------------------- server + client


@pytest.fixture(params=["legacy", "auto"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class ServerHandle:
    """One server configuration (its own HOME, XDG dirs and sim state). `connect()` spawns a
    fresh process each time it is entered; the state file persists between connections."""

    bin: Path
    mode: str
    root: Path
    config_path: Path
    state_path: Path
    stderr_path: Path
    env: dict[str, str]

    def params(self) -> StdioServerParameters:
        return StdioServerParameters(
            command=str(self.bin),
            args=["serve", "--config", str(self.config_path)],
            env=self.env,
            cwd=str(self.root),
        )

    @asynccontextmanager
    async def connect(self, mode: str | None = None) -> AsyncIterator["Mt5Session"]:
        mode = mode or self.mode
        with open(self.stderr_path, "a", encoding="utf-8") as errlog:
            errlog.write(f"\n===== connect mode={mode} =====\n")
            errlog.flush()
            transport = stdio_client(self.params(), errlog=errlog)
            async with Client(transport, mode=mode, read_timeout_seconds=CALL_TIMEOUT_S) as client:
                session = Mt5Session(client, mode)
                session.check_protocol_version()
                yield session

    def stderr_tail(self, limit: int = 6000) -> str:
        try:
            text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "<no stderr file>"
        return text[-limit:]


def _toml_str(value: object) -> str:
    # TOML basic string: escape backslashes and quotes.
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write_config(path: Path, state_path: Path) -> None:
    if backend_under_test() == "native":
        text = f"[mt5]\nbackend = \"native\"\npython = {_toml_str(backend_python())}\n"
    else:
        text = f"[mt5]\nbackend = \"sim\"\n\n[sim]\nseed = 42\nstate_path = {_toml_str(state_path)}\n"
    path.write_text(text, encoding="utf-8")


def make_server(bin_path: Path, mode: str, root: Path) -> ServerHandle:
    home = root / "home"
    dirs = {name: root / name for name in ("config", "data", "state", "cache", "runtime")}
    for d in (home, *dirs.values()):
        d.mkdir(parents=True, exist_ok=True)
    os.chmod(dirs["runtime"], 0o700)
    config_path = root / "mt5-mcp.toml"
    # The paper account: the sim's state file, or the fake terminal's (MT5_FAKE_STATE).
    state_path = root / ("fake-mt5.json" if backend_under_test() == "native" else "sim.json")
    _write_config(config_path, state_path)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(dirs["config"]),
        "XDG_DATA_HOME": str(dirs["data"]),
        "XDG_STATE_HOME": str(dirs["state"]),
        "XDG_CACHE_HOME": str(dirs["cache"]),
        "XDG_RUNTIME_DIR": str(dirs["runtime"]),
        "MT5_MCP_LOG_LEVEL": "DEBUG",
        "RUST_BACKTRACE": "1",
    }
    if backend_under_test() == "native":
        env.update(
            PYTHONPATH=str(FAKE_MT5_DIR),
            MT5_FAKE_STATE=str(state_path),
            # Absent file = normal behaviour; tests write it to inject faults (tests/fake_mt5).
            MT5_FAKE_CONTROL=str(root / "fake-mt5-control.json"),
        )
    return ServerHandle(
        bin=bin_path,
        mode=mode,
        root=root,
        config_path=config_path,
        state_path=state_path,
        stderr_path=root / "server.stderr.log",
        env=env,
    )


@pytest.fixture
def server(request: pytest.FixtureRequest, mt5_bin: Path, mode: str, tmp_path: Path) -> ServerHandle:
    handle = make_server(mt5_bin, mode, tmp_path)
    request.node.mt5_server = handle  # read by the report hook below
    return handle


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]):
    outcome = yield
    report = outcome.get_result()
    handle = getattr(item, "mt5_server", None)
    if handle is not None and report.failed:
        report.sections.append(("mt5-mcp stderr (tail)", handle.stderr_tail()))


# --------------------------------------------------------------------------- session helper


class Mt5Session:
    """Thin assertions over `mcp.Client` for this server's wire conventions."""

    def __init__(self, client: Client, mode: str) -> None:
        self.client = client
        self.mode = mode

    def check_protocol_version(self) -> None:
        version = self.client.protocol_version
        if self.mode == "legacy":
            assert version in PRE_2026_VERSIONS, f"legacy mode negotiated {version!r}"
            assert version == LEGACY_VERSION, f"legacy mode negotiated {version!r}, expected {LEGACY_VERSION}"
        else:
            assert version == MODERN_VERSION, f"auto mode negotiated {version!r}, expected {MODERN_VERSION}"

    async def call(self, name: str, arguments: dict[str, Any] | None = None):
        return await self.client.call_tool(name, arguments if arguments is not None else {})

    @staticmethod
    def _texts(result: Any) -> list[str]:
        texts = []
        for block in result.content:
            assert block.type == "text", f"unexpected content block type {block.type!r}"
            texts.append(block.text)
        return texts

    async def ok(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """A successful single-record call: returns structuredContent, checks the text copy."""
        assert name not in LIST_TOOLS
        result = await self.call(name, arguments)
        texts = self._texts(result)
        assert not result.is_error, f"{name}({arguments}) failed: {texts}"
        sc = result.structured_content
        assert isinstance(sc, dict), f"{name}: structuredContent must be an object, got {sc!r}"
        assert len(texts) == 1, f"{name}: expected exactly one text block, got {len(texts)}"
        assert json.loads(texts[0]) == sc, f"{name}: text copy differs from structuredContent"
        return sc

    async def ok_list(self, name: str, arguments: dict[str, Any] | None = None) -> list[Any]:
        """A successful list call: structuredContent {"result": [...]} plus one text block per element."""
        assert name in LIST_TOOLS
        result = await self.call(name, arguments)
        texts = self._texts(result)
        assert not result.is_error, f"{name}({arguments}) failed: {texts}"
        sc = result.structured_content
        assert isinstance(sc, dict) and list(sc.keys()) == ["result"], f"{name}: bad structuredContent {sc!r}"
        items = sc["result"]
        assert isinstance(items, list)
        assert len(texts) == len(items), f"{name}: {len(texts)} text blocks for {len(items)} elements"
        # The server hands list answers to its stdio writer pre-rendered under a private
        # `_meta` key; none of that may reach the client.
        assert result.meta is None, f"{name}: unexpected _meta {result.meta!r}"
        for i, (text, item) in enumerate(zip(texts, items)):
            assert json.loads(text) == item, f"{name}: text block {i} differs from result[{i}]"
        return items

    async def err(self, name: str, arguments: dict[str, Any] | None, code: str) -> dict[str, Any]:
        """A tool error: isError, ONE text block `{"error": ErrorDetail}` with all six keys in order,
        the expected code; then proves the server is still alive with a valid call."""
        result = await self.call(name, arguments)
        texts = self._texts(result)
        assert result.is_error, f"{name}({arguments}) should have failed with {code}, got {texts}"
        assert len(texts) == 1, f"{name}: an error must have exactly one text block, got {texts}"
        try:
            envelope = json.loads(texts[0])
        except json.JSONDecodeError as exc:  # pragma: no cover - assertion path
            raise AssertionError(f"{name}: error text is not JSON: {texts[0]!r}") from exc
        assert isinstance(envelope, dict) and list(envelope.keys()) == ["error"], f"bad envelope {envelope!r}"
        detail = check_error_detail(envelope["error"])
        assert detail["code"] == code, f"{name}({arguments}): expected {code}, got {detail}"
        await self.assert_alive()
        return detail

    async def assert_alive(self) -> None:
        pong = await self.ok("ping")
        assert pong["ok"] is True, f"server unhealthy after an error: {pong}"

    async def list_tools(self):
        return await self.client.list_tools()


def check_error_detail(detail: Any) -> dict[str, Any]:
    assert isinstance(detail, dict), f"ErrorDetail must be an object: {detail!r}"
    assert list(detail.keys()) == ERROR_KEYS, f"ErrorDetail keys/order: {list(detail.keys())}"
    assert isinstance(detail["code"], str) and re.match(r"^[A-Z][A-Z0-9_]+$", detail["code"]), detail
    assert isinstance(detail["message"], str) and detail["message"].strip(), detail
    assert isinstance(detail["retryable"], bool), detail
    assert isinstance(detail["requires_human"], bool), detail
    assert detail["details"] is None or isinstance(detail["details"], dict), detail
    assert detail["mt5_retcode"] is None or is_int(detail["mt5_retcode"]), detail
    return detail


def pytest_report_header(config: pytest.Config) -> list[str]:
    import importlib.metadata as md

    return [f"mcp SDK {md.version('mcp')}, python {sys.version.split()[0]}"]
