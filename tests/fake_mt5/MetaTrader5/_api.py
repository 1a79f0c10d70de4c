"""The library's functions over the fake terminal.

Like the real library, nothing works before initialize(): every call answers None (False for
the bool functions) with last_error (-10004, "No IPC connection"), as it does after
shutdown() or an injected disconnect. A successful call sets last_error to (1, "Success"); a
failed one to the official code and a message in the terminal's wording. Times are broker
epochs (UTC + 2 h). history_* dates may be datetimes or epoch numbers: naive datetimes are
read as broker wall time, aware ones through .timestamp(), numbers as broker epochs.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import functools
import os
import threading

from . import _catalogue as cat
from . import _constants as C
from . import _engine as E
from . import _hooks as H
from . import _ledger as L
from . import _views as V
from ._market import TIMEFRAMES, Market
from ._records import OrderSendResult, Tick
from ._store import Store

SUCCESS = (C.RES_S_OK, "Success")
NO_IPC = (C.RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")
NOT_FOUND = (C.RES_E_NOT_FOUND, "Terminal: Not found")
INVALID = (C.RES_E_INVALID_PARAMS, "Terminal: Invalid params")
AUTH_FAILED = (C.RES_E_AUTH_FAILED, "Terminal: Authorization failed")
CALL_FAILED = (C.RES_E_FAIL, "Terminal: Call failed")


class _Fail(Exception):
    def __init__(self, err):
        super().__init__(err)
        self.err = (int(err[0]), str(err[1]))


class _Terminal:
    def __init__(self):
        self.connected = False
        self.error = SUCCESS
        self.ctl: dict = {}
        self.request_id = 0
        self.store = Store(os.environ.get("MT5_FAKE_STATE") or None)
        self.market: Market | None = None
        self.lock = threading.RLock()

    def now_ms(self) -> int:
        return H.now_ms(self.ctl)

    def seed(self) -> int:
        return int(os.environ.get("MT5_FAKE_SEED", "42"))

    def market_for(self, acct: dict) -> Market:
        if self.market is None or self.market.seed != acct["seed"]:
            self.market = Market(acct["seed"])
        return self.market

    def account(self, write: bool = False):
        """The account brought up to date (triggers run), as `(txn, market)`. Reads take no
        lock unless the server has work to record; `write` holds the state file's lock from
        the read to the write, and `txn.dirty = True` makes the change durable."""
        return _AccountView(self, write)


class _AccountView:
    def __init__(self, term: _Terminal, write: bool):
        self.term, self.write = term, write
        self.cm = None

    def __enter__(self):
        term, now = self.term, self.term.now_ms()
        if not self.write:
            acct, created = term.store.peek(term.seed(), now)
            market = term.market_for(acct)
            if not created and not L.run_triggers(acct, market, now):
                return _ReadOnly(acct), market
        self.cm = term.store.transaction(term.seed(), now)
        txn = self.cm.__enter__()
        market = term.market_for(txn.acct)
        if L.run_triggers(txn.acct, market, now) or not self.write:
            txn.dirty = True  # a read only comes here when there is something to record
        return txn, market

    def __exit__(self, *exc):
        return self.cm.__exit__(*exc) if self.cm is not None else None


class _ReadOnly:
    def __init__(self, acct: dict):
        self.acct = acct
        self.dirty = False


T = _Terminal()


def _api(failure=None, needs_ipc=True):
    """Wraps a library function: hooks, the IPC check, and last_error bookkeeping. `failure`
    is what the function returns when it fails (None, or False for the bool ones)."""

    def deco(fn):
        name = fn.__name__

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            ctl = H.control()
            H.before_call(ctl, name, args, kwargs)
            with T.lock:
                T.ctl = ctl
                if H.new_disconnect(ctl):
                    T.connected = False
                if needs_ipc and not T.connected:
                    T.error = NO_IPC
                    return failure
                try:
                    result = fn(*args, **kwargs)
                except _Fail as f:
                    T.error = f.err
                    return failure
                T.error = SUCCESS
                return result

        return wrapper

    return deco


# ---------------------------------------------------------------------- connection


def _check_credentials(login, password, server) -> None:
    if login is not None:
        if not isinstance(login, int) or isinstance(login, bool):
            raise _Fail((C.RES_E_INVALID_PARAMS, 'Invalid "login" argument'))
        if login != cat.LOGIN:
            raise _Fail(AUTH_FAILED)
    if password is not None and not isinstance(password, str):
        raise _Fail((C.RES_E_INVALID_PARAMS, 'Invalid "password" argument'))
    if server is not None and server != cat.SERVER:
        raise _Fail(AUTH_FAILED)


@_api(failure=False, needs_ipc=False)
def initialize(path=None, *, login=None, password=None, server=None, timeout=None, portable=False):
    fail = T.ctl.get("init_fail")
    if fail:
        T.connected = False
        code, message = (fail + [""])[:2] if isinstance(fail, list) else (C.RES_E_INTERNAL_FAIL_INIT, str(fail))
        raise _Fail((code, message))
    if path is not None and (not isinstance(path, str) or not os.path.exists(path)):
        raise _Fail((C.RES_E_INTERNAL_FAIL_INIT, "IPC initialize failed, MetaTrader 5 x64 not found"))
    _check_credentials(login, password, server)
    with T.account(write=True):
        pass  # creates (and persists) the paper account on first use
    T.connected = True
    return True


@_api(failure=False)
def login(login, password=None, server=None, timeout=None):
    _check_credentials(login, password, server)
    return True


@_api(needs_ipc=False)
def shutdown():
    T.connected = False


def last_error():
    H.before_call(H.control(), "last_error", (), {})
    with T.lock:
        return T.error


@_api()
def version():
    return cat.TERMINAL_VERSION


@_api()
def terminal_info():
    return V.terminal_record()


@_api()
def account_info():
    with T.account() as (txn, market):
        return V.account_record(txn.acct, L.metrics(txn.acct, market, T.now_ms()))


# ---------------------------------------------------------------------- symbols


def _symbol_arg(symbol) -> str:
    if not isinstance(symbol, str):
        raise _Fail(INVALID)
    return symbol


@_api()
def symbols_total():
    return len(cat.CATALOGUE)


@_api()
def symbols_get(group=None):
    if group is not None and not isinstance(group, str):
        raise _Fail(INVALID)
    with T.account() as (txn, market):
        return tuple(
            V.symbol_record(txn.acct, market, s.name, T.now_ms())
            for s in cat.CATALOGUE
            if group is None or V.group_matches(group, s.name)
        )


@_api()
def symbol_info(symbol):
    if _symbol_arg(symbol) not in cat.BY_NAME:
        raise _Fail(NOT_FOUND)
    with T.account() as (txn, market):
        return V.symbol_record(txn.acct, market, symbol, T.now_ms())


def _watched(acct, symbol) -> int:
    if _symbol_arg(symbol) not in cat.BY_NAME:
        raise _Fail(NOT_FOUND)
    if not L.is_selected(acct, symbol):
        raise _Fail((C.RES_E_FAIL, f"Terminal: {symbol} is not selected in Market Watch"))
    return cat.INDEX[symbol]


@_api()
def symbol_info_tick(symbol):
    with T.account() as (txn, market):
        q = market.quote(_watched(txn.acct, symbol), T.now_ms())
    return Tick(
        time=L.broker_s(q["time_ms"]),
        bid=q["bid"],
        ask=q["ask"],
        last=0.0,
        volume=0,
        time_msc=L.broker_ms(q["time_ms"]),
        flags=C.TICK_FLAG_BID | C.TICK_FLAG_ASK,
        volume_real=0.0,
    )


@_api(failure=False)
def symbol_select(symbol, enable=True):
    if _symbol_arg(symbol) not in cat.BY_NAME:
        raise _Fail(NOT_FOUND)
    with T.account(write=True) as (txn, _):
        acct = txn.acct
        enable = bool(enable)
        if L.is_selected(acct, symbol) == enable:
            return True
        exposed = any(x["symbol"] == symbol for x in acct["positions"] + acct["orders"])
        if not enable and exposed:
            raise _Fail((C.RES_E_FAIL, f"Terminal: {symbol} has open positions or orders"))
        if enable == cat.BY_NAME[symbol].visible_by_default:
            acct["selected"].pop(symbol, None)
        else:
            acct["selected"][symbol] = enable
        txn.dirty = True
    return True


# ---------------------------------------------------------------------- rates


def _rates(symbol, timeframe, produce):
    if not isinstance(timeframe, int) or timeframe not in TIMEFRAMES:
        raise _Fail((C.RES_E_INVALID_PARAMS, "Terminal: Invalid params"))
    with T.account() as (txn, market):
        i = _watched(txn.acct, symbol)
        return produce(market, i, T.now_ms())


def _count(n) -> int:
    if not isinstance(n, int) or n < 0:
        raise _Fail(INVALID)
    return n


@_api()
def copy_rates_from_pos(symbol, timeframe, start_pos, count):
    start, n = _count(start_pos), _count(count)
    return _rates(symbol, timeframe, lambda m, i, now: m.rates_from_pos(i, timeframe, now, start, n))


@_api()
def copy_rates_from(symbol, timeframe, date_from, count):
    when, n = _epoch(date_from), _count(count)
    return _rates(symbol, timeframe, lambda m, i, now: m.rates_from(i, timeframe, now, when, n))


@_api()
def copy_rates_range(symbol, timeframe, date_from, date_to):
    lo, hi = _epoch(date_from), _epoch(date_to)
    return _rates(symbol, timeframe, lambda m, i, now: m.rates_range(i, timeframe, now, lo, hi))


# ---------------------------------------------------------------------- positions and orders


def _epoch(value) -> int:
    if isinstance(value, _dt.datetime):
        return calendar.timegm(value.timetuple()) if value.tzinfo is None else int(value.timestamp())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    raise _Fail(INVALID)


def _select(items, symbol, group, ticket, ticket_key="ticket"):
    if ticket is not None:
        return [x for x in items if x[ticket_key] == ticket]
    if symbol is not None:
        return [x for x in items if x["symbol"] == symbol]
    if group is not None:
        return [x for x in items if V.group_matches(group, x["symbol"])]
    return list(items)


@_api()
def positions_total():
    with T.account() as (txn, _):
        return len(txn.acct["positions"])


@_api()
def positions_get(symbol=None, group=None, ticket=None):
    with T.account() as (txn, market):
        now = T.now_ms()
        chosen = _select(txn.acct["positions"], symbol, group, ticket)
        return tuple(
            L.position_record(market, p, now) for p in sorted(chosen, key=lambda p: (p["time_ms"], p["ticket"]))
        )


@_api()
def orders_total():
    with T.account() as (txn, _):
        return len(txn.acct["orders"])


@_api()
def orders_get(symbol=None, group=None, ticket=None):
    with T.account() as (txn, market):
        now = T.now_ms()
        chosen = _select(txn.acct["orders"], symbol, group, ticket)
        return tuple(
            L.order_record(market, o, now) for o in sorted(chosen, key=lambda o: (o["time_setup_ms"], o["ticket"]))
        )


def _history(kind, date_from, date_to, group, ticket, position):
    """History orders or deals: by ticket (deals: by their order's ticket), by position, or
    by broker-time range with an optional group filter."""
    with T.account() as (txn, market):
        items = txn.acct["history_orders" if kind == "orders" else "deals"]
        time_key = "time_setup_ms" if kind == "orders" else "time_ms"
        if ticket is not None:
            chosen = [x for x in items if x["ticket" if kind == "orders" else "order"] == ticket]
        elif position is not None:
            chosen = [x for x in items if x["position_id"] == position]
        elif date_from is not None and date_to is not None:
            lo, hi = _epoch(date_from), _epoch(date_to)
            chosen = [
                x
                for x in items
                if lo <= L.broker_s(x[time_key]) <= hi and (group is None or V.group_matches(group, x["symbol"]))
            ]
        else:
            raise _Fail(INVALID)
        chosen.sort(key=lambda x: (x[time_key], x["ticket"]))
        if kind == "orders":
            return tuple(L.order_record(market, o, T.now_ms()) for o in chosen)
        return tuple(L.deal_record(d) for d in chosen)


@_api()
def history_orders_total(date_from, date_to):
    return len(_history("orders", date_from, date_to, None, None, None))


@_api()
def history_orders_get(date_from=None, date_to=None, group=None, ticket=None, position=None):
    return _history("orders", date_from, date_to, group, ticket, position)


@_api()
def history_deals_total(date_from, date_to):
    return len(_history("deals", date_from, date_to, None, None, None))


@_api()
def history_deals_get(date_from=None, date_to=None, group=None, ticket=None, position=None):
    return _history("deals", date_from, date_to, group, ticket, position)


# ---------------------------------------------------------------------- trading


def _calc_args(action, symbol, volume, prices):
    if action not in (C.ORDER_TYPE_BUY, C.ORDER_TYPE_SELL) or _symbol_arg(symbol) not in cat.BY_NAME:
        raise _Fail(INVALID)
    for x in (volume, *prices):
        if not isinstance(x, (int, float)) or isinstance(x, bool) or not x > 0 or x == float("inf"):
            raise _Fail(INVALID)


@_api()
def order_calc_margin(action, symbol, volume, price):
    _calc_args(action, symbol, volume, (price,))
    with T.account() as (txn, market):
        return round(L.margin(market, symbol, float(volume), float(price), txn.acct["leverage"], T.now_ms()), 2)


@_api()
def order_calc_profit(action, symbol, volume, price_open, price_close):
    _calc_args(action, symbol, volume, (price_open, price_close))
    with T.account() as (_, market):
        return round(
            L.profit(market, symbol, action, float(volume), float(price_open), float(price_close), T.now_ms()), 2
        )


def _request(request) -> dict:
    try:
        return E.normalise(request)
    except E.BadArgument as bad:
        raise _Fail((C.RES_E_INVALID_PARAMS, str(bad))) from None


@_api()
def order_check(request):
    req = _request(request)
    with T.account() as (txn, market):
        return E.check(txn.acct, market, T.now_ms(), req)


@_api()
def order_send(request):
    forced = T.ctl.get("order_send_none")
    if forced:
        raise _Fail(forced if isinstance(forced, list) and len(forced) == 2 else CALL_FAILED)
    req = _request(request)
    with T.account(write=True) as (txn, market):
        out = E.execute(txn.acct, market, T.now_ms(), req)
        if out["retcode"] == C.TRADE_RETCODE_DONE:
            txn.dirty = True
    T.request_id += 1
    return OrderSendResult(
        retcode=out["retcode"],
        deal=out["deal"],
        order=out["order"],
        volume=out["volume"],
        price=out["price"],
        bid=out["bid"],
        ask=out["ask"],
        comment=out["comment"],
        request_id=T.request_id,
        retcode_external=0,
        request=E.as_request(req),
    )
