"""The paper account's persistence.

In memory by default. When env MT5_FAKE_STATE names a file the account is loaded from it and
every change is written back atomically (temp file + rename) under an exclusive lock on a
sibling `.lock` file, and a call re-reads the file when another process changed it: several
servers pointed at one state file see one account, as several clients of one terminal do.
A corrupt file is moved aside (`<name>.corrupt-<epoch>`) and a fresh account starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time

from . import _catalogue as cat

try:  # POSIX advisory locks; on Windows the fake runs without cross-process locking.
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX
    fcntl = None

FORMAT = 1


def fresh_account(seed: int, now_ms: int) -> dict:
    acct = {
        "format": FORMAT,
        "seed": seed,
        "created_ms": now_ms,
        "login": cat.LOGIN,
        "leverage": cat.LEVERAGE,
        "currency": cat.CURRENCY,
        "balance": 0.0,
        "next_order": cat.FIRST_ORDER_TICKET,
        "next_deal": cat.FIRST_DEAL_TICKET,
        "selected": {},
        "positions": [],
        "orders": [],
        "history_orders": [],
        "deals": [],
    }
    book_balance(acct, cat.DEPOSIT, now_ms, "Initial deposit")
    return acct


def take_ticket(acct: dict, kind: str) -> int:
    key = "next_order" if kind == "order" else "next_deal"
    ticket = acct[key]
    acct[key] = ticket + 1
    return ticket


def book_balance(acct: dict, amount: float, now_ms: int, comment: str) -> None:
    """A deposit or withdrawal, booked as a DEAL_TYPE_BALANCE deal like a real server does."""
    amount = round(amount, 2)
    acct["balance"] = round(acct["balance"] + amount, 2)
    acct["deals"].append(
        {
            "ticket": take_ticket(acct, "deal"),
            "order": 0,
            "time_ms": now_ms,
            "type": 2,
            "entry": 0,
            "magic": 0,
            "position_id": 0,
            "reason": 0,
            "volume": 0.0,
            "price": 0.0,
            "commission": 0.0,
            "swap": 0.0,
            "profit": amount,
            "fee": 0.0,
            "symbol": "",
            "comment": comment,
        }
    )


class Store:
    def __init__(self, path: str | None):
        self.path = path
        self.acct: dict | None = None
        self._sig = None

    def _signature(self):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _load_file(self) -> dict | None:
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError("unknown state format")
            return data
        except FileNotFoundError:
            return None
        except (ValueError, OSError) as exc:
            aside = f"{self.path}.corrupt-{int(time.time())}"
            with contextlib.suppress(OSError):
                os.replace(self.path, aside)
            print(f"MetaTrader5 fake: state file {self.path} unreadable ({exc}); moved to {aside}", file=sys.stderr)
            return None

    @contextlib.contextmanager
    def _locked(self):
        if self.path is None or fcntl is None:
            yield
            return
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with open(self.path + ".lock", "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _refresh(self, seed: int, now_ms: int) -> bool:
        """Brings `self.acct` up to date with the file; creates the account when there is
        none. Returns whether a new account was created (and so must be written)."""
        if self.path is None:
            if self.acct is None:
                self.acct = fresh_account(seed, now_ms)
                return True
            return False
        sig = self._signature()
        if sig is not None and sig == self._sig and self.acct is not None:
            return False
        loaded = self._load_file() if sig is not None else None
        if loaded is None:
            self.acct = fresh_account(seed, now_ms)
            return True
        self.acct, self._sig = loaded, sig
        return False

    def _save(self) -> None:
        if self.path is None:
            return
        tmp = f"{self.path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.acct, fh, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self._sig = self._signature()

    def peek(self, seed: int, now_ms: int) -> tuple[dict, bool]:
        """The current account without taking the lock (a rename is atomic, so a read never
        sees half a file) and whether it was just created and still needs writing."""
        created = self._refresh(seed, now_ms)
        return self.acct, created and self.path is not None

    @contextlib.contextmanager
    def transaction(self, seed: int, now_ms: int):
        """Yields the current account; `txn.dirty = True` inside makes the change durable."""
        with self._locked():
            created = self._refresh(seed, now_ms)
            txn = _Txn(self.acct)
            try:
                yield txn
            except BaseException:
                self._sig = None  # re-read the file next time: memory may hold a half change
                raise
            if created or txn.dirty:
                self._save()


class _Txn:
    def __init__(self, acct: dict):
        self.acct = acct
        self.dirty = False
