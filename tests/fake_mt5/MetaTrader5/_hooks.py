"""Test hooks: a JSON control file named by env MT5_FAKE_CONTROL, re-read on every call so a
test can change the fake's behaviour mid-run. Absent, empty or unparsable = normal.

Keys (all optional):
- `print`: true -> write to stdout on every call (also env MT5_FAKE_PRINT=1, which writes on
  import too), once through Python's sys.stdout and once straight to file descriptor 1 as a
  C extension's printf would, to prove a host keeps library output off its own stdout.
- `init_fail`: [code, message] -> initialize() returns False with that last_error.
- `disconnect`: any JSON value -> the terminal drops its IPC once per distinct value: every
  call answers None with last_error (-10004, "No IPC connection") until the next successful
  initialize(). Write a new value (1, 2, ...) to drop it again.
- `hang`: {"function": name or "*", "seconds": s} -> that function sleeps first.
- `raise`: {"function": name or "*", "message": text} -> that function raises RuntimeError.
- `order_send_none`: true or [code, message] -> order_send returns None, last_error set
  (default (-1, "Terminal: Call failed")).
- `time_shift_seconds`: s -> the fake's clock runs s seconds ahead (pending orders, expiry).
- `any_thread`: true -> allow calls from any thread (see below).

The library is bound to the first thread that calls it: a call from any other thread raises
RuntimeError, so a host that funnels every call through one worker thread is verified.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

_bound_thread: int | None = None
_bound_name = ""
_seen_disconnects: set[str] = set()


def _emit(text: str) -> None:
    print(f"MetaTrader5 fake: {text}", flush=True)
    try:
        os.write(1, f"MetaTrader5 fake (fd 1): {text}\n".encode())
    except OSError:
        pass


def printing_enabled(ctl: dict) -> bool:
    return bool(ctl.get("print")) or os.environ.get("MT5_FAKE_PRINT") == "1"


def control() -> dict:
    path = os.environ.get("MT5_FAKE_CONTROL")
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def check_thread(ctl: dict, name: str) -> None:
    global _bound_thread, _bound_name
    me = threading.get_ident()
    if _bound_thread is None:
        _bound_thread, _bound_name = me, threading.current_thread().name
        return
    if me != _bound_thread and not ctl.get("any_thread"):
        raise RuntimeError(
            f"MetaTrader5.{name}() called from thread {threading.current_thread().name!r}; "
            f"this library is bound to thread {_bound_name!r} (the first that called it)"
        )


def _targets(spec, name: str) -> bool:
    return isinstance(spec, dict) and spec.get("function") in (name, "*")


def before_call(ctl: dict, name: str, args, kwargs) -> None:
    """Runs the hooks that apply to every call, in order: thread check, print, raise, hang."""
    check_thread(ctl, name)
    if printing_enabled(ctl):
        shown = ", ".join(
            [repr(a) for a in args] + [f"{k}=***" if k == "password" else f"{k}={v!r}" for k, v in kwargs.items()]
        )
        _emit(f"{name}({shown})")
    spec = ctl.get("raise")
    if _targets(spec, name):
        raise RuntimeError(str(spec.get("message", f"{name} failed (injected)")))
    spec = ctl.get("hang")
    if _targets(spec, name):
        time.sleep(float(spec.get("seconds", 3600)))


def new_disconnect(ctl: dict) -> bool:
    """Whether the control file asks for a disconnect this process has not performed yet."""
    if "disconnect" not in ctl or ctl["disconnect"] in (None, False):
        return False
    token = json.dumps(ctl["disconnect"], sort_keys=True)
    if token in _seen_disconnects:
        return False
    _seen_disconnects.add(token)
    return True


def now_ms(ctl: dict) -> int:
    shift = ctl.get("time_shift_seconds") or 0
    return time.time_ns() // 1_000_000 + int(float(shift) * 1000)


def on_import() -> None:
    if printing_enabled(control()):
        _emit("imported")


def warn(message: str) -> None:
    print(f"MetaTrader5 fake: {message}", file=sys.stderr, flush=True)
