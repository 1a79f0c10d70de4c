"""Fixtures for the fake's own tests: each test gets a fresh fake terminal whose state and
control files live in the test's temp dir."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import MetaTrader5
from MetaTrader5 import _api, _hooks


class Control:
    """Writes the control file the fake re-reads on every call."""

    def __init__(self, path: Path):
        self.path = path

    def set(self, **keys) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(keys), encoding="utf-8")
        os.replace(tmp, self.path)

    def clear(self) -> None:
        self.set()


@pytest.fixture
def control(tmp_path, monkeypatch) -> Control:
    path = tmp_path / "control.json"
    monkeypatch.setenv("MT5_FAKE_CONTROL", str(path))
    return Control(path)


@pytest.fixture
def state_path(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "state" / "account.json"
    monkeypatch.setenv("MT5_FAKE_STATE", str(path))
    return path


def restart() -> None:
    """A new terminal process as far as the module is concerned: connection, last_error and
    in-memory account are gone; the state file (if any) stays."""
    _api.T.__init__()
    _hooks._seen_disconnects.clear()


class Clock:
    """The fake's clock, frozen at `ms` (UTC epoch milliseconds) and moved by hand; the
    control file's `time_shift_seconds` still applies on top."""

    def __init__(self, ms: int):
        self.ms = ms

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)

    def __call__(self, ctl: dict) -> int:
        return self.ms + int(float(ctl.get("time_shift_seconds") or 0) * 1000)


# 2026-03-04 10:00:30.999 UTC (a Wednesday): the last millisecond of a second, so every
# symbol's tick for that second has arrived.
T0_MS = 1_772_618_430_999


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock(T0_MS)
    monkeypatch.setattr(_hooks, "now_ms", c)
    return c


@pytest.fixture
def mt5(control, state_path, clock, monkeypatch):
    monkeypatch.delenv("MT5_FAKE_PRINT", raising=False)
    monkeypatch.delenv("MT5_FAKE_SEED", raising=False)
    restart()
    assert MetaTrader5.initialize() is True
    yield MetaTrader5
    restart()
