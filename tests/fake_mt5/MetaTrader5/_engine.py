"""order_send / order_check: how the trade server answers one request.

A request is first normalised the way the library does it: a dict whose fields have the
wrong Python type makes order_send return None with last_error (-2, 'Invalid "<field>"
argument'); absent fields take the request structure's zero values; unknown keys are
ignored. Then every business refusal is a retcode, never an exception. Each action
validates everything before it touches the account, so a refused request changes nothing.

Rules (in the order they are checked for a market order): known symbol (10013) in Market
Watch (10021 no prices), order type (10035), volume within min/max on the step (10014),
filling allowed by the symbol (10030), a non-zero `price` on the tick grid (10015) within
`deviation` points of the fill (10004 requote), SL/TP on the protective side and beyond the
stops level (10016), free margin (10019). Pending orders: price on the grid and on the right
side of the market (10015), stop-limit price, stops from the entry, filling, lifetime (10022).
Trading is 24/7, so 10018 (market closed) never happens.
"""

from __future__ import annotations

import calendar
import copy
import datetime as _dt
import math

from . import _catalogue as cat
from . import _constants as C
from . import _ledger as L
from ._records import REQUEST_DEFAULTS, OrderCheckResult, TradeRequest

TEXT = {
    C.TRADE_RETCODE_REQUOTE: "Requote",
    C.TRADE_RETCODE_REJECT: "Request rejected",
    C.TRADE_RETCODE_DONE: "Request executed",
    C.TRADE_RETCODE_INVALID: "Invalid request",
    C.TRADE_RETCODE_INVALID_VOLUME: "Invalid volume",
    C.TRADE_RETCODE_INVALID_PRICE: "Invalid price",
    C.TRADE_RETCODE_INVALID_STOPS: "Invalid stops",
    C.TRADE_RETCODE_TRADE_DISABLED: "Trade disabled",
    C.TRADE_RETCODE_MARKET_CLOSED: "Market closed",
    C.TRADE_RETCODE_NO_MONEY: "No money",
    C.TRADE_RETCODE_PRICE_OFF: "No prices",
    C.TRADE_RETCODE_INVALID_EXPIRATION: "Invalid expiration",
    C.TRADE_RETCODE_NO_CHANGES: "No changes",
    C.TRADE_RETCODE_INVALID_FILL: "Unsupported filling mode",
    C.TRADE_RETCODE_INVALID_ORDER: "Invalid order type",
    C.TRADE_RETCODE_POSITION_CLOSED: "Position already closed",
    C.TRADE_RETCODE_INVALID_CLOSE_VOLUME: "Close volume exceeds position volume",
}

_INT_FIELDS = ("action", "magic", "order", "deviation", "type", "type_filling", "type_time", "position", "position_by")
_FLOAT_FIELDS = ("volume", "price", "stoplimit", "sl", "tp")
_STR_FIELDS = ("symbol", "comment")


class BadArgument(Exception):
    """A request field of the wrong type: order_send returns None (last_error -2)."""


class Refused(Exception):
    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def normalise(request) -> dict:
    if hasattr(request, "_asdict"):
        request = request._asdict()
    if not isinstance(request, dict):
        raise BadArgument("Invalid arguments")
    req = dict(REQUEST_DEFAULTS)
    for key, value in request.items():
        if key in _INT_FIELDS:
            if not isinstance(value, int) or (key == "magic" and not 0 <= value < 2**64):
                raise BadArgument(f'Invalid "{key}" argument')
        elif key in _FLOAT_FIELDS:
            if not isinstance(value, (int, float)):
                raise BadArgument(f'Invalid "{key}" argument')
            value = float(value)
        elif key in _STR_FIELDS:
            if not isinstance(value, str):
                raise BadArgument(f'Invalid "{key}" argument')
        elif key == "expiration":
            value = _epoch(value)
        else:
            continue  # unknown keys are ignored, as the library ignores them
        req[key] = value
    return req


def _epoch(value) -> int:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            return calendar.timegm(value.timetuple())
        return int(value.timestamp())
    if isinstance(value, int):
        return value
    raise BadArgument('Invalid "expiration" argument')


def as_request(req: dict) -> TradeRequest:
    return TradeRequest(**req)


# ---------------------------------------------------------------------- rules


def _on_grid(x: float, step: float) -> bool:
    n = x / step
    return abs(n - round(n)) < 1e-6


def _price_ok(spec, p: float) -> bool:
    return math.isfinite(p) and p > 0 and _on_grid(p, spec.point)


def _quoted(acct, name: str) -> cat.Spec:
    spec = cat.BY_NAME.get(name)
    if spec is None:
        raise Refused(C.TRADE_RETCODE_INVALID)
    if not L.is_selected(acct, name):
        raise Refused(C.TRADE_RETCODE_PRICE_OFF)
    return spec


def _volume(spec, v: float) -> float:
    if not (
        math.isfinite(v)
        and spec.volume_min - 1e-9 <= v <= spec.volume_max + 1e-9
        and _on_grid(v - spec.volume_min, spec.volume_step)
    ):
        raise Refused(C.TRADE_RETCODE_INVALID_VOLUME)
    return round(v, 8)


def _market_filling(spec, f: int) -> int:
    if (f == C.ORDER_FILLING_FOK and spec.filling_mode & cat.FILLING_FOK) or (
        f == C.ORDER_FILLING_IOC and spec.filling_mode & cat.FILLING_IOC
    ):
        return f
    raise Refused(C.TRADE_RETCODE_INVALID_FILL)


def _pending_filling(spec, f: int) -> int:
    return f if f == C.ORDER_FILLING_RETURN else _market_filling(spec, f)


def _requote(spec, fill: float, req: dict) -> None:
    p = req["price"]
    if p == 0:
        return
    if not _price_ok(spec, p):
        raise Refused(C.TRADE_RETCODE_INVALID_PRICE)
    allowed = max(req["deviation"], 0) * spec.point
    if abs(fill - p) > allowed + spec.point * 1e-6:
        raise Refused(C.TRADE_RETCODE_REQUOTE)


def _stops(spec, buy: bool, reference: float, sl: float, tp: float) -> None:
    least = spec.stops_level * spec.point
    eps = spec.point * 1e-6
    for x in (sl, tp):
        if x != 0 and not _price_ok(spec, x):
            raise Refused(C.TRADE_RETCODE_INVALID_STOPS)
    sl_gap, tp_gap = (reference - sl, tp - reference) if buy else (sl - reference, reference - tp)
    for level, gap in ((sl, sl_gap), (tp, tp_gap)):
        if level != 0 and not (gap > eps and gap >= least - eps):
            raise Refused(C.TRADE_RETCODE_INVALID_STOPS)


def _pending_side(spec, kind: int, price: float, q: dict) -> None:
    gaps = {
        C.ORDER_TYPE_BUY_LIMIT: q["ask"] - price,
        C.ORDER_TYPE_SELL_LIMIT: price - q["bid"],
        C.ORDER_TYPE_BUY_STOP: price - q["ask"],
        C.ORDER_TYPE_BUY_STOP_LIMIT: price - q["ask"],
        C.ORDER_TYPE_SELL_STOP: q["bid"] - price,
        C.ORDER_TYPE_SELL_STOP_LIMIT: q["bid"] - price,
    }
    gap = gaps[kind]
    if not (gap > spec.point * 1e-6 and gap >= spec.stops_level * spec.point - spec.point * 1e-6):
        raise Refused(C.TRADE_RETCODE_INVALID_PRICE)


def _stoplimit(spec, kind: int, price: float, limit: float) -> float:
    if not _price_ok(spec, limit):
        raise Refused(C.TRADE_RETCODE_INVALID_PRICE)
    gap = price - limit if kind == C.ORDER_TYPE_BUY_STOP_LIMIT else limit - price
    if not (gap > spec.point * 1e-6 and gap >= spec.stops_level * spec.point - spec.point * 1e-6):
        raise Refused(C.TRADE_RETCODE_INVALID_PRICE)
    return limit


def _lifetime(type_time: int, expiration: int, now_ms: int) -> tuple[int, int | None]:
    """`(time_expiration as reported in broker seconds, expiry instant in UTC ms)`."""
    now_b = L.broker_s(now_ms)

    def day_end(b: int) -> int:
        return b - b % 86_400 + 86_400

    if type_time == C.ORDER_TIME_GTC:
        return 0, None
    if type_time == C.ORDER_TIME_DAY:
        return 0, L.utc_ms_of_broker(day_end(now_b))
    if type_time == C.ORDER_TIME_SPECIFIED and expiration > now_b:
        return expiration, L.utc_ms_of_broker(expiration)
    if type_time == C.ORDER_TIME_SPECIFIED_DAY and expiration > 0 and day_end(expiration) > now_b:
        return day_end(expiration) - 1, L.utc_ms_of_broker(day_end(expiration))
    raise Refused(C.TRADE_RETCODE_INVALID_EXPIRATION)


# ---------------------------------------------------------------------- actions


def _open(acct, market, now_ms, req):
    spec = _quoted(acct, req["symbol"])
    kind = req["type"]
    if kind not in (C.ORDER_TYPE_BUY, C.ORDER_TYPE_SELL):
        raise Refused(C.TRADE_RETCODE_INVALID_ORDER)
    volume = _volume(spec, req["volume"])
    filling = _market_filling(spec, req["type_filling"])
    q = market.quote(cat.INDEX[spec.name], now_ms)
    fill = L.open_side(q, kind)
    _requote(spec, fill, req)
    _stops(spec, L.is_buy(kind), L.close_side(q, kind), req["sl"], req["tp"])
    need = L.margin(market, spec.name, volume, fill, acct["leverage"], now_ms)
    if L.metrics(acct, market, now_ms)["margin_free"] < need:
        raise Refused(C.TRADE_RETCODE_NO_MONEY)
    order, deal = L.open_position(
        acct,
        symbol=spec.name,
        kind=kind,
        volume=volume,
        price=fill,
        sl=req["sl"],
        tp=req["tp"],
        magic=req["magic"],
        text=L.comment(req["comment"]),
        filling=filling,
        reason=C.DEAL_REASON_EXPERT,
        now_ms=now_ms,
    )
    return {"deal": deal, "order": order, "volume": volume, "price": fill}


def _position(acct, ticket: int) -> int:
    for n, p in enumerate(acct["positions"]):
        if p["ticket"] == ticket:
            return n
    raise Refused(C.TRADE_RETCODE_POSITION_CLOSED)


def _order(acct, ticket: int) -> int:
    for n, o in enumerate(acct["orders"]):
        if o["ticket"] == ticket:
            return n
    raise Refused(C.TRADE_RETCODE_INVALID)


def _close(acct, market, now_ms, req):
    idx = _position(acct, req["position"])
    pos = acct["positions"][idx]
    if req["symbol"] != pos["symbol"]:
        raise Refused(C.TRADE_RETCODE_INVALID)
    spec = _quoted(acct, pos["symbol"])
    opposite = C.ORDER_TYPE_SELL if pos["type"] == C.POSITION_TYPE_BUY else C.ORDER_TYPE_BUY
    if req["type"] != opposite:
        raise Refused(C.TRADE_RETCODE_INVALID)
    if req["volume"] > pos["volume"] + 1e-9:
        raise Refused(C.TRADE_RETCODE_INVALID_CLOSE_VOLUME)
    volume = _volume(spec, req["volume"])
    filling = _market_filling(spec, req["type_filling"])
    q = market.quote(cat.INDEX[spec.name], now_ms)
    fill = L.close_side(q, pos["type"])
    _requote(spec, fill, req)
    order, deal, volume, _ = L.close_position(
        acct,
        market,
        idx,
        volume=volume,
        price=fill,
        magic=req["magic"],
        text=L.comment(req["comment"]),
        filling=filling,
        reason=C.DEAL_REASON_EXPERT,
        now_ms=now_ms,
    )
    return {"deal": deal, "order": order, "volume": volume, "price": fill}


def _place(acct, market, now_ms, req):
    spec = _quoted(acct, req["symbol"])
    kind = req["type"]
    if not C.ORDER_TYPE_BUY_LIMIT <= kind <= C.ORDER_TYPE_SELL_STOP_LIMIT:
        raise Refused(C.TRADE_RETCODE_INVALID_ORDER)
    volume = _volume(spec, req["volume"])
    price = req["price"]
    if not _price_ok(spec, price):
        raise Refused(C.TRADE_RETCODE_INVALID_PRICE)
    _pending_side(spec, kind, price, market.quote(cat.INDEX[spec.name], now_ms))
    stop_limit = kind in (C.ORDER_TYPE_BUY_STOP_LIMIT, C.ORDER_TYPE_SELL_STOP_LIMIT)
    limit = _stoplimit(spec, kind, price, req["stoplimit"]) if stop_limit else 0.0
    _stops(spec, L.is_buy(kind), limit or price, req["sl"], req["tp"])
    filling = _pending_filling(spec, req["type_filling"])
    expiration, expires_ms = _lifetime(req["type_time"], req["expiration"], now_ms)
    ticket = L.take_ticket(acct, "order")
    acct["orders"].append(
        {
            "ticket": ticket,
            "symbol": spec.name,
            "type": kind,
            "volume_initial": volume,
            "volume_current": volume,
            "price_open": price,
            "price_stoplimit": limit,
            "sl": req["sl"],
            "tp": req["tp"],
            "type_time": req["type_time"],
            "type_filling": filling,
            "expiration": expiration,
            "expires_ms": expires_ms,
            "magic": req["magic"],
            "comment": L.comment(req["comment"]),
            "state": C.ORDER_STATE_PLACED,
            "position_id": 0,
            "reason": C.ORDER_REASON_EXPERT,
            "time_setup_ms": now_ms,
            "time_done_ms": None,
        }
    )
    return {"order": ticket, "volume": volume}


def _sltp(acct, market, now_ms, req):
    if not req["position"]:
        raise Refused(C.TRADE_RETCODE_INVALID)
    pos = acct["positions"][_position(acct, req["position"])]
    if req["symbol"] != pos["symbol"]:
        raise Refused(C.TRADE_RETCODE_INVALID)
    spec = _quoted(acct, pos["symbol"])
    sl, tp = req["sl"], req["tp"]
    if (sl, tp) == (pos["sl"], pos["tp"]):
        raise Refused(C.TRADE_RETCODE_NO_CHANGES)
    q = market.quote(cat.INDEX[spec.name], now_ms)
    _stops(spec, pos["type"] == C.POSITION_TYPE_BUY, L.close_side(q, pos["type"]), sl, tp)
    pos["sl"], pos["tp"], pos["time_update_ms"] = sl, tp, now_ms
    return {}


def _modify(acct, market, now_ms, req):
    o = acct["orders"][_order(acct, req["order"])]
    spec = cat.BY_NAME[o["symbol"]]
    price = req["price"]
    if not _price_ok(spec, price):
        raise Refused(C.TRADE_RETCODE_INVALID_PRICE)
    sl, tp = req["sl"], req["tp"]
    stop_limit = o["type"] in (C.ORDER_TYPE_BUY_STOP_LIMIT, C.ORDER_TYPE_SELL_STOP_LIMIT)
    limit = _stoplimit(spec, o["type"], price, req["stoplimit"] or o["price_stoplimit"]) if stop_limit else 0.0
    expiration, expires_ms = _lifetime(req["type_time"], req["expiration"], now_ms)
    new = (price, sl, tp, limit, req["type_time"], expiration)
    if new == (o["price_open"], o["sl"], o["tp"], o["price_stoplimit"], o["type_time"], o["expiration"]):
        raise Refused(C.TRADE_RETCODE_NO_CHANGES)
    _pending_side(spec, o["type"], price, market.quote(cat.INDEX[spec.name], now_ms))
    _stops(spec, L.is_buy(o["type"]), limit or price, sl, tp)
    o.update(
        price_open=price,
        sl=sl,
        tp=tp,
        price_stoplimit=limit,
        type_time=req["type_time"],
        expiration=expiration,
        expires_ms=expires_ms,
    )
    return {"order": o["ticket"], "volume": o["volume_current"]}


def _remove(acct, market, now_ms, req):
    o = L.retire_order(acct, _order(acct, req["order"]), C.ORDER_STATE_CANCELED, now_ms)
    return {"order": o["ticket"], "volume": o["volume_current"]}


def _close_by(acct, market, now_ms, req):
    a, b = req["position"], req["position_by"]
    pa = acct["positions"][_position(acct, a)]
    pb = acct["positions"][_position(acct, b)]
    if a == b or pa["symbol"] != pb["symbol"] or pa["type"] == pb["type"] or req["symbol"] not in ("", pa["symbol"]):
        raise Refused(C.TRADE_RETCODE_INVALID)
    _quoted(acct, pa["symbol"])
    volume = round(min(pa["volume"], pb["volume"]), 8)
    price = pb["price_open"]
    kwargs = {
        "volume": volume,
        "price": price,
        "magic": req["magic"],
        "text": L.comment(req["comment"]),
        "filling": C.ORDER_FILLING_FOK,
        "reason": C.DEAL_REASON_EXPERT,
        "now_ms": now_ms,
        "entry": C.DEAL_ENTRY_OUT_BY,
    }
    order, deal, _, _ = L.close_position(acct, market, _position(acct, a), **kwargs)
    L.close_position(acct, market, _position(acct, b), **kwargs)
    return {"deal": deal, "order": order, "volume": volume, "price": price}


def _dispatch(acct, market, now_ms, req) -> dict:
    action = req["action"]
    if action == C.TRADE_ACTION_DEAL:
        return _close(acct, market, now_ms, req) if req["position"] else _open(acct, market, now_ms, req)
    handlers = {
        C.TRADE_ACTION_PENDING: _place,
        C.TRADE_ACTION_SLTP: _sltp,
        C.TRADE_ACTION_MODIFY: _modify,
        C.TRADE_ACTION_REMOVE: _remove,
        C.TRADE_ACTION_CLOSE_BY: _close_by,
    }
    if action not in handlers:
        raise Refused(C.TRADE_RETCODE_INVALID)
    return handlers[action](acct, market, now_ms, req)


def _symbol_of(acct, req) -> str | None:
    if req["symbol"] in cat.BY_NAME:
        return req["symbol"]
    for p in acct["positions"]:
        if p["ticket"] == req["position"]:
            return p["symbol"]
    for o in acct["orders"]:
        if o["ticket"] == req["order"]:
            return o["symbol"]
    return None


def execute(acct, market, now_ms: int, req: dict) -> dict:
    """The server's answer: retcode, deal, order, volume, price, bid, ask, comment. The
    account changes only when the retcode is DONE."""
    out = {"retcode": C.TRADE_RETCODE_DONE, "deal": 0, "order": 0, "volume": 0.0, "price": 0.0, "bid": 0.0, "ask": 0.0}
    name = _symbol_of(acct, req)  # before the action: a close removes the position
    try:
        out.update(_dispatch(acct, market, now_ms, req))
    except Refused as r:
        out["retcode"] = r.code
    if name is not None:
        q = market.quote(cat.INDEX[name], now_ms)
        out["bid"], out["ask"] = q["bid"], q["ask"]
    out["comment"] = TEXT.get(out["retcode"], "Request rejected")
    return out


def check(acct, market, now_ms: int, req: dict) -> OrderCheckResult:
    """order_check: the answer order_send would give and the account after it; retcode 0
    ("Done") when the request would pass."""
    after = copy.deepcopy(acct)
    out = execute(after, market, now_ms, req)
    ok = out["retcode"] == C.TRADE_RETCODE_DONE
    m = L.metrics(after if ok else acct, market, now_ms)
    return OrderCheckResult(
        retcode=0 if ok else out["retcode"],
        balance=m["balance"],
        equity=m["equity"],
        profit=m["profit"],
        margin=m["margin"],
        margin_free=m["margin_free"],
        margin_level=m["margin_level"],
        comment="Done" if ok else out["comment"],
        request=as_request(req),
    )
