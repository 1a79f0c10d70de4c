"""Account arithmetic and bookkeeping: margin and profit per MetaTrader's formulas, the
account figures derived from them, how a fill opens or closes a position (orders, deals and
balance as a hedging account records them), the records the library returns, and the
triggers (pending fills, SL/TP, expirations) evaluated at each call.

Margin before conversion from the margin currency to USD: forex `lots * contract / leverage`,
CFD `lots * contract * price`, CFD-leverage `lots * contract * price / leverage`, times the
symbol's margin rate. Profit: `(close - open) * lots * contract` (negated for a sell) in the
profit currency, converted to USD. Money is rounded to cents when booked.
"""

from __future__ import annotations

from . import _catalogue as cat
from . import _constants as C
from ._records import TradeDeal, TradeOrder, TradePosition
from ._store import take_ticket

BUY_SIDE = {C.ORDER_TYPE_BUY, C.ORDER_TYPE_BUY_LIMIT, C.ORDER_TYPE_BUY_STOP, C.ORDER_TYPE_BUY_STOP_LIMIT}
COMMENT_MAX = 31


def is_buy(kind: int) -> bool:
    return kind in BUY_SIDE


def broker_s(utc_ms: int) -> int:
    return utc_ms // 1000 + cat.BROKER_OFFSET_S


def broker_ms(utc_ms: int) -> int:
    return utc_ms + cat.BROKER_OFFSET_S * 1000


def utc_ms_of_broker(broker_seconds: int) -> int:
    return (broker_seconds - cat.BROKER_OFFSET_S) * 1000


def comment(text: str) -> str:
    return text[:COMMENT_MAX]


def is_selected(acct: dict, name: str) -> bool:
    return acct["selected"].get(name, cat.BY_NAME[name].visible_by_default)


def open_side(q: dict, kind: int) -> float:
    return q["ask"] if is_buy(kind) else q["bid"]


def close_side(q: dict, kind: int) -> float:
    return q["bid"] if is_buy(kind) else q["ask"]


# ---------------------------------------------------------------------- money


def margin(market, name: str, volume: float, price: float, leverage: int, now_ms: int) -> float:
    s = cat.BY_NAME[name]
    lev = max(leverage, 1)
    notional = volume * s.contract_size
    if s.calc_mode in (C.SYMBOL_CALC_MODE_CFD, C.SYMBOL_CALC_MODE_CFDINDEX):
        native = notional * price
    elif s.calc_mode == C.SYMBOL_CALC_MODE_CFDLEVERAGE:
        native = notional * price / lev
    else:
        native = notional / lev
    return market.to_usd(s.currency_margin, native * s.margin_rate, now_ms)


def profit(market, name: str, kind: int, volume: float, price_open: float, price_close: float, now_ms: int) -> float:
    s = cat.BY_NAME[name]
    sign = 1.0 if is_buy(kind) else -1.0
    return market.to_usd(s.currency_profit, sign * (price_close - price_open) * volume * s.contract_size, now_ms)


def valuation(market, p: dict, now_ms: int) -> tuple[float, float]:
    """`(price_current, profit)` of a position, profit in cents."""
    q = market.quote(cat.INDEX[p["symbol"]], now_ms)
    price = close_side(q, p["type"])
    return price, round(profit(market, p["symbol"], p["type"], p["volume"], p["price_open"], price, now_ms), 2)


def metrics(acct: dict, market, now_ms: int) -> dict:
    floating = used = 0.0
    for p in acct["positions"]:
        floating += valuation(market, p, now_ms)[1] + p["swap"]
        q = market.quote(cat.INDEX[p["symbol"]], now_ms)
        used += margin(market, p["symbol"], p["volume"], open_side(q, p["type"]), acct["leverage"], now_ms)
    pnl = round(floating, 2)
    equity = round(acct["balance"] + pnl, 2)
    used = round(used, 2)
    return {
        "balance": acct["balance"],
        "profit": pnl,
        "equity": equity,
        "margin": used,
        "margin_free": round(equity - used, 2),
        "margin_level": equity / used * 100.0 if used > 0 else 0.0,
    }


# ---------------------------------------------------------------------- bookkeeping


def _history_order(
    acct, *, ticket, symbol, kind, volume, price, sl, tp, filling, magic, text, reason, position_id, now_ms
):
    acct["history_orders"].append(
        {
            "ticket": ticket,
            "symbol": symbol,
            "type": kind,
            "volume_initial": volume,
            "volume_current": 0.0,
            "price_open": price,
            "price_stoplimit": 0.0,
            "sl": sl,
            "tp": tp,
            "type_time": C.ORDER_TIME_GTC,
            "type_filling": filling,
            "expiration": 0,
            "expires_ms": None,
            "magic": magic,
            "comment": text,
            "state": C.ORDER_STATE_FILLED,
            "position_id": position_id,
            "reason": reason,
            "time_setup_ms": now_ms,
            "time_done_ms": now_ms,
        }
    )


def _deal(acct, *, order, kind, entry, magic, position_id, reason, volume, price, pnl, symbol, text, now_ms) -> int:
    ticket = take_ticket(acct, "deal")
    acct["deals"].append(
        {
            "ticket": ticket,
            "order": order,
            "time_ms": now_ms,
            "type": C.DEAL_TYPE_BUY if is_buy(kind) else C.DEAL_TYPE_SELL,
            "entry": entry,
            "magic": magic,
            "position_id": position_id,
            "reason": reason,
            "volume": volume,
            "price": price,
            "commission": 0.0,
            "swap": 0.0,
            "profit": pnl,
            "fee": 0.0,
            "symbol": symbol,
            "comment": text,
        }
    )
    return ticket


def open_position(acct, *, symbol, kind, volume, price, sl, tp, magic, text, filling, reason, now_ms, from_order=None):
    """Fills an opening order (a new market order, or the pending order `from_order`, which
    goes to history as filled); returns `(order ticket, deal ticket)`."""
    if from_order is None:
        ticket = take_ticket(acct, "order")
        _history_order(
            acct,
            ticket=ticket,
            symbol=symbol,
            kind=kind,
            volume=volume,
            price=price,
            sl=sl,
            tp=tp,
            filling=filling,
            magic=magic,
            text=text,
            reason=reason,
            position_id=ticket,
            now_ms=now_ms,
        )
    else:
        ticket = from_order["ticket"]
        done = dict(from_order, state=C.ORDER_STATE_FILLED, volume_current=0.0, position_id=ticket, time_done_ms=now_ms)
        acct["history_orders"].append(done)
    deal = _deal(
        acct,
        order=ticket,
        kind=kind,
        entry=C.DEAL_ENTRY_IN,
        magic=magic,
        position_id=ticket,
        reason=reason,
        volume=volume,
        price=price,
        pnl=0.0,
        symbol=symbol,
        text=text,
        now_ms=now_ms,
    )
    pos_kind = C.POSITION_TYPE_BUY if is_buy(kind) else C.POSITION_TYPE_SELL
    acct["positions"].append(
        {
            "ticket": ticket,
            "symbol": symbol,
            "type": pos_kind,
            "volume": volume,
            "price_open": price,
            "sl": sl,
            "tp": tp,
            "swap": 0.0,
            "magic": magic,
            "comment": text,
            "reason": reason,
            "time_ms": now_ms,
            "time_update_ms": now_ms,
        }
    )
    return ticket, deal


def close_position(acct, market, idx, *, volume, price, magic, text, filling, reason, now_ms, entry=C.DEAL_ENTRY_OUT):
    """Closes `volume` of position `idx` at `price`; returns `(order, deal, volume, profit)`."""
    p = acct["positions"][idx]
    kind = C.ORDER_TYPE_SELL if p["type"] == C.POSITION_TYPE_BUY else C.ORDER_TYPE_BUY
    volume = round(min(volume, p["volume"]), 8)
    pnl = round(profit(market, p["symbol"], p["type"], volume, p["price_open"], price, now_ms), 2)
    ticket = take_ticket(acct, "order")
    _history_order(
        acct,
        ticket=ticket,
        symbol=p["symbol"],
        kind=kind,
        volume=volume,
        price=price,
        sl=0.0,
        tp=0.0,
        filling=filling,
        magic=magic,
        text=text,
        reason=reason,
        position_id=p["ticket"],
        now_ms=now_ms,
    )
    deal = _deal(
        acct,
        order=ticket,
        kind=kind,
        entry=entry,
        magic=magic,
        position_id=p["ticket"],
        reason=reason,
        volume=volume,
        price=price,
        pnl=pnl,
        symbol=p["symbol"],
        text=text,
        now_ms=now_ms,
    )
    acct["balance"] = round(acct["balance"] + pnl, 2)
    rest = round(p["volume"] - volume, 8)
    if rest <= 0:
        del acct["positions"][idx]
    else:
        p["volume"] = rest
        p["time_update_ms"] = now_ms
    return ticket, deal, volume, pnl


def retire_order(acct, idx: int, state: int, now_ms: int) -> dict:
    o = acct["orders"].pop(idx)
    o["state"] = state
    o["time_done_ms"] = now_ms
    acct["history_orders"].append(o)
    return o


# ---------------------------------------------------------------------- triggers


def _triggered(kind: int, price: float, q: dict) -> bool:
    if kind == C.ORDER_TYPE_BUY_LIMIT:
        return q["ask"] <= price
    if kind == C.ORDER_TYPE_SELL_LIMIT:
        return q["bid"] >= price
    if kind in (C.ORDER_TYPE_BUY_STOP, C.ORDER_TYPE_BUY_STOP_LIMIT):
        return q["ask"] >= price
    return q["bid"] <= price  # sell stop, sell stop limit


def run_triggers(acct: dict, market, now_ms: int) -> bool:
    """Applies what the server would have done by now, judged at the current quotes:
    expirations, pending-order activations (stop-limits become limits) and SL/TP hits.
    Returns whether anything changed."""
    changed = False
    for o in list(acct["orders"]):
        idx = acct["orders"].index(o)
        if o["expires_ms"] is not None and now_ms >= o["expires_ms"]:
            retire_order(acct, idx, C.ORDER_STATE_EXPIRED, now_ms)
            changed = True
            continue
        q = market.quote(cat.INDEX[o["symbol"]], now_ms)
        if not _triggered(o["type"], o["price_open"], q):
            continue
        changed = True
        if o["type"] in (C.ORDER_TYPE_BUY_STOP_LIMIT, C.ORDER_TYPE_SELL_STOP_LIMIT):
            o["type"] = C.ORDER_TYPE_BUY_LIMIT if is_buy(o["type"]) else C.ORDER_TYPE_SELL_LIMIT
            o["price_open"], o["price_stoplimit"] = o["price_stoplimit"], 0.0
            continue
        limit = o["type"] in (C.ORDER_TYPE_BUY_LIMIT, C.ORDER_TYPE_SELL_LIMIT)
        fill = o["price_open"] if limit else open_side(q, o["type"])
        need = margin(market, o["symbol"], o["volume_current"], fill, acct["leverage"], now_ms)
        if metrics(acct, market, now_ms)["margin_free"] < need:
            retire_order(acct, idx, C.ORDER_STATE_REJECTED, now_ms)
            continue
        acct["orders"].pop(idx)
        open_position(
            acct,
            symbol=o["symbol"],
            kind=o["type"],
            volume=o["volume_current"],
            price=fill,
            sl=o["sl"],
            tp=o["tp"],
            magic=o["magic"],
            text=o["comment"],
            filling=o["type_filling"],
            reason=o["reason"],
            now_ms=now_ms,
            from_order=o,
        )
    for p in list(acct["positions"]):
        q = market.quote(cat.INDEX[p["symbol"]], now_ms)
        buy = p["type"] == C.POSITION_TYPE_BUY
        price = close_side(q, p["type"])
        hit_sl = p["sl"] and (price <= p["sl"] if buy else price >= p["sl"])
        hit_tp = p["tp"] and (price >= p["tp"] if buy else price <= p["tp"])
        if not (hit_sl or hit_tp):
            continue
        digits = cat.BY_NAME[p["symbol"]].digits
        level, reason = (p["sl"], C.DEAL_REASON_SL) if hit_sl else (p["tp"], C.DEAL_REASON_TP)
        note = f"[{'sl' if hit_sl else 'tp'} {level:.{digits}f}]"
        close_position(
            acct,
            market,
            acct["positions"].index(p),
            volume=p["volume"],
            price=price,
            magic=p["magic"],
            text=note,
            filling=C.ORDER_FILLING_FOK,
            reason=reason,
            now_ms=now_ms,
        )
        changed = True
    return changed


# ---------------------------------------------------------------------- records


def position_record(market, p: dict, now_ms: int) -> TradePosition:
    price, pnl = valuation(market, p, now_ms)
    return TradePosition(
        ticket=p["ticket"],
        time=broker_s(p["time_ms"]),
        time_msc=broker_ms(p["time_ms"]),
        time_update=broker_s(p["time_update_ms"]),
        time_update_msc=broker_ms(p["time_update_ms"]),
        type=p["type"],
        magic=p["magic"],
        identifier=p["ticket"],
        reason=p["reason"],
        volume=p["volume"],
        price_open=p["price_open"],
        sl=p["sl"],
        tp=p["tp"],
        price_current=price,
        swap=p["swap"],
        profit=pnl,
        symbol=p["symbol"],
        comment=p["comment"],
        external_id="",
    )


def order_record(market, o: dict, now_ms: int) -> TradeOrder:
    active = o["time_done_ms"] is None
    current = open_side(market.quote(cat.INDEX[o["symbol"]], now_ms), o["type"]) if active else o["price_open"]
    done = o["time_done_ms"] or 0
    return TradeOrder(
        ticket=o["ticket"],
        time_setup=broker_s(o["time_setup_ms"]),
        time_setup_msc=broker_ms(o["time_setup_ms"]),
        time_done=broker_s(done) if done else 0,
        time_done_msc=broker_ms(done) if done else 0,
        time_expiration=o["expiration"],
        type=o["type"],
        type_time=o["type_time"],
        type_filling=o["type_filling"],
        state=o["state"],
        magic=o["magic"],
        position_id=o["position_id"],
        position_by_id=0,
        reason=o["reason"],
        volume_initial=o["volume_initial"],
        volume_current=o["volume_current"],
        price_open=o["price_open"],
        sl=o["sl"],
        tp=o["tp"],
        price_current=current,
        price_stoplimit=o["price_stoplimit"],
        symbol=o["symbol"],
        comment=o["comment"],
        external_id="",
    )


def deal_record(d: dict) -> TradeDeal:
    return TradeDeal(
        ticket=d["ticket"],
        order=d["order"],
        time=broker_s(d["time_ms"]),
        time_msc=broker_ms(d["time_ms"]),
        type=d["type"],
        entry=d["entry"],
        magic=d["magic"],
        position_id=d["position_id"],
        reason=d["reason"],
        volume=d["volume"],
        price=d["price"],
        commission=d["commission"],
        swap=d["swap"],
        profit=d["profit"],
        fee=d["fee"],
        symbol=d["symbol"],
        comment=d["comment"],
        external_id="",
    )
