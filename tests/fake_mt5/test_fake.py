"""The fake MetaTrader5 module itself: surface, records, prices, order flows and retcodes,
hooks and persistence. Fast (a frozen clock, no processes)."""

from __future__ import annotations

import calendar
import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import MetaTrader5 as M
import numpy as np
import pytest
from conftest import T0_MS, restart
from MetaTrader5 import _catalogue as cat

OFFSET = 7200
SYMBOLS = ["EURUSD", "GBPUSD", "USDJPY", "USDCHF", "AUDUSD", "EURJPY", "XAUUSD", "BTCUSD", "US500"]


def market_buy(mt5, symbol="EURUSD", volume=0.1, **extra):
    # A symbol without quotes (unknown, hidden) is sent with EURUSD's price.
    tick = mt5.symbol_info_tick(symbol) or mt5.symbol_info_tick("EURUSD")
    req = {
        "action": M.TRADE_ACTION_DEAL,
        "symbol": symbol,
        "volume": volume,
        "type": M.ORDER_TYPE_BUY,
        "price": tick.ask,
        "deviation": 10,
        "type_filling": M.ORDER_FILLING_IOC,
    }
    req.update(extra)
    return mt5.order_send(req)


# ---------------------------------------------------------------------- surface


def test_constants_have_the_official_values():
    assert (M.TIMEFRAME_M1, M.TIMEFRAME_H1, M.TIMEFRAME_H4, M.TIMEFRAME_D1, M.TIMEFRAME_W1, M.TIMEFRAME_MN1) == (
        1,
        16385,
        16388,
        16408,
        32769,
        49153,
    )
    assert (
        M.TRADE_ACTION_DEAL,
        M.TRADE_ACTION_PENDING,
        M.TRADE_ACTION_SLTP,
        M.TRADE_ACTION_MODIFY,
        M.TRADE_ACTION_REMOVE,
        M.TRADE_ACTION_CLOSE_BY,
    ) == (1, 5, 6, 7, 8, 10)
    assert (M.ORDER_FILLING_FOK, M.ORDER_FILLING_IOC, M.ORDER_FILLING_RETURN) == (0, 1, 2)
    assert (M.ORDER_TIME_GTC, M.ORDER_TIME_SPECIFIED) == (0, 2)
    assert (M.TRADE_RETCODE_REQUOTE, M.TRADE_RETCODE_DONE, M.TRADE_RETCODE_INVALID_FILL) == (10004, 10009, 10030)
    assert (
        M.RES_S_OK,
        M.RES_E_INVALID_PARAMS,
        M.RES_E_AUTH_FAILED,
        M.RES_E_INTERNAL_FAIL_CONNECT,
        M.RES_E_INTERNAL_FAIL_TIMEOUT,
    ) == (1, -2, -6, -10004, -10005)
    assert M.SYMBOL_CALC_MODE_EXCH_OPTIONS == 34 and M.DEAL_ENTRY_OUT_BY == 3
    assert not [n for n in dir(M) if n.startswith("SYMBOL_FILLING_")], "the official package has none"


def test_records_have_the_real_field_names_in_order():
    assert M.Tick._fields == ("time", "bid", "ask", "last", "volume", "time_msc", "flags", "volume_real")
    assert M.TradePosition._fields[:6] == ("ticket", "time", "time_msc", "time_update", "time_update_msc", "type")
    assert M.TradePosition._fields[-3:] == ("symbol", "comment", "external_id")
    assert M.TradeDeal._fields[:6] == ("ticket", "order", "time", "time_msc", "type", "entry")
    assert M.OrderSendResult._fields == (
        "retcode",
        "deal",
        "order",
        "volume",
        "price",
        "bid",
        "ask",
        "comment",
        "request_id",
        "retcode_external",
        "request",
    )
    assert M.AccountInfo._fields[0] == "login" and M.AccountInfo._fields[-1] == "company"
    assert len(M.SymbolInfo._fields) == 96 and M.SymbolInfo._fields[-3:] == ("name", "page", "path")
    assert len(M.TerminalInfo._fields) == 22 and len(M.TradeOrder._fields) == 24


def test_nothing_works_before_initialize_or_after_shutdown(control, state_path, clock):
    restart()
    assert M.terminal_info() is None
    assert M.last_error() == (-10004, "No IPC connection")
    assert M.symbol_select("EURUSD", True) is False
    assert M.initialize() is True and M.last_error() == (1, "Success")
    assert M.terminal_info().connected is True
    assert M.shutdown() is None
    assert M.account_info() is None and M.last_error()[0] == -10004
    assert M.initialize() is True and M.account_info() is not None


def test_initialize_checks_login_server_and_path(mt5, tmp_path):
    assert mt5.initialize(login=1234, password="x") is False
    assert mt5.last_error() == (-6, "Terminal: Authorization failed")
    assert mt5.initialize(login=cat.LOGIN, password="x", server="Other-Server") is False
    assert mt5.initialize(login=cat.LOGIN, password="x", server=cat.SERVER) is True
    assert mt5.initialize(str(tmp_path / "missing" / "terminal64.exe")) is False
    assert mt5.last_error()[0] == -10003
    exe = tmp_path / "terminal64.exe"
    exe.write_bytes(b"")
    assert mt5.initialize(str(exe), timeout=1000) is True
    assert mt5.login(cat.LOGIN, password="pw") is True
    assert mt5.version() == (500, 5200, "1 Jul 2025")


def test_account_and_terminal_mirror_the_sim(mt5):
    a = mt5.account_info()
    assert (a.login, a.server, a.company, a.currency, a.leverage) == (
        52000001,
        "MT5MCP-Sim",
        "mt5-mcp paper broker",
        "USD",
        100,
    )
    assert (a.balance, a.equity, a.margin, a.margin_free, a.margin_level) == (10000.0, 10000.0, 0.0, 10000.0, 0.0)
    assert a.margin_mode == M.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING and a.trade_mode == M.ACCOUNT_TRADE_MODE_DEMO
    t = mt5.terminal_info()
    assert t.company == a.company and t.build > 0 and not hasattr(t, "time")
    assert t._asdict()["data_path"]
    deals = mt5.history_deals_get(0, 2**40)
    assert len(deals) == 1 and deals[0].type == M.DEAL_TYPE_BALANCE and deals[0].profit == 10000.0
    assert deals[0].time == T0_MS // 1000 + OFFSET


# ---------------------------------------------------------------------- symbols and prices


def test_symbols_catalogue_and_market_watch(mt5):
    assert mt5.symbols_total() == 9
    syms = mt5.symbols_get()
    assert [s.name for s in syms] == SYMBOLS
    hidden = {s.name for s in syms if not s.visible}
    assert hidden == {"EURJPY", "USDCHF"}
    eur = mt5.symbol_info("EURUSD")
    assert (eur.digits, eur.point, eur.trade_contract_size, eur.trade_tick_value) == (5, 1e-05, 100000.0, 1.0)
    assert (eur.volume_min, eur.volume_max, eur.volume_step, eur.filling_mode) == (0.01, 100.0, 0.01, 3)
    assert eur.path == "Forex\\Majors\\EURUSD" and eur.currency_margin == "EUR"
    assert mt5.symbol_info("BTCUSD").filling_mode == 2 and mt5.symbol_info("US500").filling_mode == 1
    assert [s.name for s in mt5.symbols_get(group="*JPY*")] == ["USDJPY", "EURJPY"]
    assert [s.name for s in mt5.symbols_get(group="*USD*,!EUR*,!*JPY")] == [
        "GBPUSD",
        "USDCHF",
        "AUDUSD",
        "XAUUSD",
        "BTCUSD",
    ]
    assert mt5.symbol_info("NOPE") is None and mt5.last_error() == (-4, "Terminal: Not found")
    assert mt5.symbol_info_tick("USDCHF") is None and mt5.last_error()[0] == -1
    assert mt5.symbol_select("USDCHF", True) is True
    assert mt5.symbol_info("USDCHF").visible is True and mt5.symbol_info_tick("USDCHF") is not None
    assert mt5.symbol_select("NOPE", True) is False


def test_ticks_are_broker_time_deterministic_and_move(mt5, clock):
    t = mt5.symbol_info_tick("EURUSD")
    assert abs(t.time - (T0_MS // 1000 + OFFSET)) <= 1 and t.time_msc // 1000 == t.time
    assert 0 < t.bid < t.ask and round(t.bid, 5) == t.bid
    assert mt5.symbol_info_tick("EURUSD") == t, "same instant, same tick"
    seen = set()
    for _ in range(20):
        clock.advance(1)
        seen.add(mt5.symbol_info_tick("EURUSD").bid)
    assert len(seen) > 5, "prices move"
    for name in SYMBOLS:
        mt5.symbol_select(name, True)
        q = mt5.symbol_info_tick(name)
        assert 0 < q.bid < q.ask and (q.ask - q.bid) / q.bid < 0.01, name


def test_rates_layout_order_and_alignment(mt5, clock):
    r = mt5.copy_rates_from_pos("EURUSD", M.TIMEFRAME_M1, 0, 10)
    assert isinstance(r, np.ndarray) and r.dtype == np.dtype(M._records.RATES_DTYPE) and len(r) == 10
    assert list(np.diff(r["time"])) == [60] * 9, "oldest first, one minute apart"
    now_b = T0_MS // 1000 + OFFSET
    assert r["time"][-1] == now_b - now_b % 60
    assert r["close"][-1] == mt5.symbol_info_tick("EURUSD").bid, "the forming bar closes at the bid"
    assert (r["high"] >= np.maximum(r["open"], r["close"])).all() and (
        r["low"] <= np.minimum(r["open"], r["close"])
    ).all()
    d1 = mt5.copy_rates_from_pos("XAUUSD", M.TIMEFRAME_D1, 0, 3)
    assert all(t % 86400 == 0 for t in d1["time"]), "D1 opens at broker midnight"
    w1 = mt5.copy_rates_from_pos("EURUSD", M.TIMEFRAME_W1, 0, 4)
    assert all(datetime.fromtimestamp(int(t), UTC).weekday() == 6 for t in w1["time"])
    mn = mt5.copy_rates_from_pos("EURUSD", M.TIMEFRAME_MN1, 0, 3)
    assert [datetime.fromtimestamp(int(t), UTC).day for t in mn["time"]] == [1, 1, 1]
    assert len(mt5.copy_rates_from_pos("EURUSD", M.TIMEFRAME_D1, 1, 5000)) < 5000, "history has a start"
    assert len(mt5.copy_rates_from_pos("EURUSD", M.TIMEFRAME_H1, 0, 0)) == 0


def test_every_h1_bar_is_the_aggregate_of_its_m1_bars(mt5):
    h1 = mt5.copy_rates_from_pos("EURUSD", M.TIMEFRAME_H1, 0, 3)
    m1 = mt5.copy_rates_from_pos("EURUSD", M.TIMEFRAME_M1, 0, 180)
    for bar in h1:
        inside = m1[(m1["time"] >= bar["time"]) & (m1["time"] < bar["time"] + 3600)]
        if len(inside) == 0 or inside["time"][0] != bar["time"]:
            continue  # hour only partly covered by the M1 window
        assert bar["open"] == inside["open"][0] and bar["close"] == inside["close"][-1]
        assert bar["high"] == inside["high"].max() and bar["low"] == inside["low"].min()
        assert bar["tick_volume"] == inside["tick_volume"].sum()
    h4 = mt5.copy_rates_from_pos("EURUSD", M.TIMEFRAME_H4, 1, 1)[0]
    h1s = mt5.copy_rates_range("EURUSD", M.TIMEFRAME_H1, int(h4["time"]), int(h4["time"]) + 3 * 3600)
    assert len(h1s) == 4 and h4["high"] == h1s["high"].max() and h4["close"] == h1s["close"][-1]
    back = mt5.copy_rates_from("EURUSD", M.TIMEFRAME_H1, int(h4["time"]) + 3 * 3600 + 59, 4)
    assert (back == h1s).all()


def uncached(symbol: str, tf: int, ms: int, pos: int, count: int) -> np.ndarray:
    """copy_rates_from_pos as a brand-new terminal answers it: the bar starts walked back one
    by one, every bar built at `ms` by `Market.bars`, no history involved."""
    m, i = M._market.Market(42), cat.INDEX[symbol]
    k_last = m.newest_tick(i, ms)
    bs = m.bar_start(tf, k_last + OFFSET)
    for _ in range(pos):
        bs = m.bar_before(tf, bs)
    floor = m.bar_start(tf, cat.HISTORY_START_BROKER_S)
    starts = []
    while bs >= floor and len(starts) < count:
        starts.append(bs)
        bs = m.bar_before(tf, bs)
    return m.bars(i, tf, starts[::-1], k_last)


@pytest.mark.parametrize(
    "tf, count",
    [
        (M.TIMEFRAME_M1, 300),
        (M.TIMEFRAME_M15, 200),
        (M.TIMEFRAME_H1, 50),
        (M.TIMEFRAME_D1, 8),
        (M.TIMEFRAME_W1, 3),
        (M.TIMEFRAME_MN1, 2),
    ],
)
def test_bars_served_from_the_history_equal_freshly_built_ones(mt5, clock, control, tf, count):
    seen = []
    # Within a minute, across minute (and for M1 bar) boundaries, a jump ahead, then the
    # clock moved back by removing a time shift: every answer is bit for bit the bars a
    # fresh terminal builds at that instant.
    for step, shift in [(0, 0), (20, 0), (45, 0), (61, 0), (0, 7_200), (0, 0), (1, 0)]:
        clock.advance(step)
        control.set(time_shift_seconds=shift)
        got = mt5.copy_rates_from_pos("EURUSD", tf, 0, count)
        now = clock.ms + shift * 1000
        assert got.tobytes() == uncached("EURUSD", tf, now, 0, count).tobytes(), (step, shift)
        seen.append(int(got["time"][-1]))
    if tf == M.TIMEFRAME_M1:
        assert seen[1] < seen[2] < seen[3], "new M1 bars opened"
    assert M._api.T.market._history.rows((cat.INDEX["EURUSD"], tf)) > 0, "closed bars were kept"
    # A request reaching past the kept run (older bars, a start position) still agrees.
    got = mt5.copy_rates_from_pos("EURUSD", tf, 1, 2 * count)
    assert got.tobytes() == uncached("EURUSD", tf, clock.ms, 1, 2 * count).tobytes()
    # The caller owns the returned array: changing it does not change the next answer.
    got["close"] = 0
    again = mt5.copy_rates_from_pos("EURUSD", tf, 1, 2 * count)
    assert again.tobytes() == uncached("EURUSD", tf, clock.ms, 1, 2 * count).tobytes()


def test_the_bar_history_is_bounded(mt5, monkeypatch):
    from MetaTrader5 import _history

    monkeypatch.setattr(_history, "TOTAL_ROWS_LIMIT", 3_000)
    history = M._api.T.market._history
    for symbol in ("EURUSD", "GBPUSD", "USDJPY"):
        assert len(mt5.copy_rates_from_pos(symbol, M.TIMEFRAME_M1, 0, 1_400)) == 1_400
    assert history._total <= 3_000
    assert history.rows((cat.INDEX["EURUSD"], M.TIMEFRAME_M1)) == 0, "least recently used went"
    assert history.rows((cat.INDEX["USDJPY"], M.TIMEFRAME_M1)) == 1_399, "the forming bar is not kept"
    mt5.copy_rates_from_pos("USDJPY", M.TIMEFRAME_M1, 0, 10)
    assert history.rows((cat.INDEX["USDJPY"], M.TIMEFRAME_M1)) == 1_399, "a smaller request keeps the run"


def test_rates_errors_set_last_error(mt5):
    assert mt5.copy_rates_from_pos("NOPE", M.TIMEFRAME_M1, 0, 10) is None
    assert mt5.last_error() == (-4, "Terminal: Not found")
    assert mt5.copy_rates_from_pos("EURUSD", 7, 0, 10) is None and mt5.last_error()[0] == -2
    assert mt5.copy_rates_from_pos("EURUSD", M.TIMEFRAME_M1, 0, -1) is None and mt5.last_error()[0] == -2
    assert mt5.copy_rates_from_pos("EURJPY", M.TIMEFRAME_M1, 0, 10) is None, "not in Market Watch"


def test_prices_depend_on_the_seed(control, state_path, clock, monkeypatch):
    ticks = []
    for seed in ("1", "2"):
        monkeypatch.setenv("MT5_FAKE_SEED", seed)
        state_path.unlink(missing_ok=True)
        restart()
        M.initialize()
        ticks.append(M.symbol_info_tick("EURUSD").bid)
    assert ticks[0] != ticks[1]


# ---------------------------------------------------------------------- trading


def test_market_round_trip_books_orders_deals_and_profit(mt5, clock):
    r = market_buy(mt5, magic=4242, comment="c" * 40)
    assert r.retcode == 10009 and r.comment == "Request executed" and r.volume == 0.1
    assert r.price == r.ask and r.deal > 0 and r.order > 0 and r.request.magic == 4242
    (pos,) = mt5.positions_get(symbol="EURUSD")
    assert (pos.ticket, pos.type, pos.magic, pos.comment, pos.identifier) == (r.order, 0, 4242, "c" * 31, r.order)
    assert mt5.positions_get(ticket=pos.ticket) == (pos,) and mt5.positions_get(group="*JPY*") == ()
    a = mt5.account_info()
    assert a.margin > 0 and a.margin_level > 0 and a.equity == round(a.balance + a.profit, 2)
    clock.advance(3600)
    tick = mt5.symbol_info_tick("EURUSD")
    half = mt5.order_send(
        {
            "action": 1,
            "symbol": "EURUSD",
            "volume": 0.04,
            "type": 1,
            "position": pos.ticket,
            "price": tick.bid,
            "deviation": 5,
            "type_filling": 0,
            "magic": 7,
        }
    )
    assert half.retcode == 10009 and half.price == tick.bid
    assert mt5.positions_get()[0].volume == 0.06
    done = mt5.order_send(
        {"action": 1, "symbol": "EURUSD", "volume": 0.06, "type": 1, "position": pos.ticket, "type_filling": 1}
    )
    assert done.retcode == 10009 and mt5.positions_get() == ()
    deals = mt5.history_deals_get(position=pos.ticket)
    assert [(d.entry, d.type) for d in deals] == [(0, 0), (1, 1), (1, 1)]
    assert [d.magic for d in deals] == [4242, 7, 0] and deals[0].comment == "c" * 31
    expected = round((tick.bid - r.price) * 0.04 * 100_000, 2)
    assert deals[1].profit == expected
    assert mt5.account_info().balance == round(10000 + sum(d.profit for d in deals), 2)
    assert mt5.history_deals_get(ticket=half.order)[0].ticket == half.deal
    orders = mt5.history_orders_get(position=pos.ticket)
    assert [o.state for o in orders] == [M.ORDER_STATE_FILLED] * 3


@pytest.mark.parametrize(
    "change, code",
    [
        ({"symbol": "NOPE"}, 10013),
        ({"action": 99}, 10013),
        ({"volume": 0.015}, 10014),
        ({"volume": 0.0}, 10014),
        ({"volume": 101.0}, 10014),
        ({"type_filling": M.ORDER_FILLING_RETURN}, 10030),
        ({"price": 1.0}, 10004),
        ({"price": 1.000001}, 10015),
        ({"sl": 5.0}, 10016),
        ({"volume": 99.0}, 10019),
        ({"type": M.ORDER_TYPE_BUY_LIMIT}, 10035),
        ({"symbol": "USDCHF"}, 10021),
    ],
)
def test_market_order_retcodes(mt5, change, code):
    r = market_buy(mt5, **change)
    assert r.retcode == code, r
    assert r.deal == 0 and r.order == 0
    assert mt5.positions_get() == () and mt5.account_info().balance == 10000.0


def test_filling_modes_follow_the_symbol(mt5):
    assert market_buy(mt5, "BTCUSD", 0.01, type_filling=M.ORDER_FILLING_FOK).retcode == 10030
    assert market_buy(mt5, "BTCUSD", 0.01, type_filling=M.ORDER_FILLING_IOC).retcode == 10009
    assert market_buy(mt5, "US500", 0.1, type_filling=M.ORDER_FILLING_IOC).retcode == 10030
    assert market_buy(mt5, "US500", 0.1, type_filling=M.ORDER_FILLING_FOK).retcode == 10009


def test_bad_request_types_return_none_with_invalid_params(mt5):
    assert mt5.order_send({"action": 1, "symbol": "EURUSD", "volume": "0.1", "type": 0}) is None
    assert mt5.last_error() == (-2, 'Invalid "volume" argument')
    assert mt5.order_send({"action": 1.0}) is None and mt5.last_error() == (-2, 'Invalid "action" argument')
    assert mt5.order_send({"action": 1, "magic": -1}) is None
    assert mt5.order_send(["not", "a", "dict"]) is None and mt5.last_error()[0] == -2
    assert mt5.order_send({"action": 1, "type_expiration": 5}).retcode != 0, "unknown keys are ignored"


def test_pending_orders_modify_remove_expire_and_trigger(mt5, clock, control):
    tick = mt5.symbol_info_tick("EURUSD")
    base = {"action": M.TRADE_ACTION_PENDING, "symbol": "EURUSD", "volume": 0.1, "type_filling": M.ORDER_FILLING_RETURN}
    wrong_side = mt5.order_send(dict(base, type=M.ORDER_TYPE_BUY_LIMIT, price=round(tick.ask + 0.001, 5)))
    assert wrong_side.retcode == 10015
    bad_exp = mt5.order_send(
        dict(
            base,
            type=M.ORDER_TYPE_BUY_LIMIT,
            price=round(tick.ask - 0.01, 5),
            type_time=M.ORDER_TIME_SPECIFIED,
            expiration=tick.time - 10,
        )
    )
    assert bad_exp.retcode == 10022
    bad_stops = mt5.order_send(
        dict(base, type=M.ORDER_TYPE_BUY_LIMIT, price=round(tick.ask - 0.01, 5), sl=round(tick.ask, 5))
    )
    assert bad_stops.retcode == 10016
    placed = mt5.order_send(
        dict(
            base,
            type=M.ORDER_TYPE_BUY_LIMIT,
            price=round(tick.ask - 0.01, 5),
            magic=9,
            comment="limit",
            type_time=M.ORDER_TIME_SPECIFIED,
            expiration=tick.time + 600,
        )
    )
    assert placed.retcode == 10009 and placed.deal == 0
    (o,) = mt5.orders_get()
    assert (o.ticket, o.type, o.magic, o.comment, o.time_expiration, o.state) == (
        placed.order,
        2,
        9,
        "limit",
        tick.time + 600,
        1,
    )
    same = mt5.order_send(
        {
            "action": M.TRADE_ACTION_MODIFY,
            "order": o.ticket,
            "price": o.price_open,
            "type_time": M.ORDER_TIME_SPECIFIED,
            "expiration": o.time_expiration,
        }
    )
    assert same.retcode == 10025
    moved = mt5.order_send(
        {
            "action": M.TRADE_ACTION_MODIFY,
            "order": o.ticket,
            "price": round(o.price_open - 0.001, 5),
            "type_time": M.ORDER_TIME_SPECIFIED,
            "expiration": o.time_expiration,
        }
    )
    assert moved.retcode == 10009 and mt5.orders_get()[0].price_open == round(o.price_open - 0.001, 5)
    clock.advance(601)
    assert mt5.orders_get() == ()
    assert mt5.history_orders_get(ticket=o.ticket)[0].state == M.ORDER_STATE_EXPIRED
    second = mt5.order_send(dict(base, type=M.ORDER_TYPE_SELL_LIMIT, price=round(tick.bid + 0.01, 5)))
    assert mt5.order_send({"action": M.TRADE_ACTION_REMOVE, "order": second.order}).retcode == 10009
    assert mt5.order_send({"action": M.TRADE_ACTION_REMOVE, "order": second.order}).retcode == 10013
    assert mt5.history_orders_get(ticket=second.order)[0].state == M.ORDER_STATE_CANCELED
    # A buy stop a few points above the market fills once the ask reaches it.
    tick = mt5.symbol_info_tick("EURUSD")
    stop = mt5.order_send(dict(base, type=M.ORDER_TYPE_BUY_STOP, price=round(tick.ask + 0.0003, 5)))
    assert stop.retcode == 10009
    for _ in range(2000):
        clock.advance(30)
        if mt5.positions_get():
            break
    (pos,) = mt5.positions_get()
    assert pos.ticket == stop.order and mt5.orders_get() == ()
    assert mt5.history_orders_get(ticket=stop.order)[0].state == M.ORDER_STATE_FILLED


def test_sltp_and_stop_triggers(mt5, clock):
    r = market_buy(mt5)
    tick = mt5.symbol_info_tick("EURUSD")
    sltp = {"action": M.TRADE_ACTION_SLTP, "symbol": "EURUSD", "position": r.order}
    assert mt5.order_send(dict(sltp, sl=round(tick.bid + 0.001, 5))).retcode == 10016, "SL above bid on a buy"
    assert mt5.order_send(dict(sltp, position=123)).retcode == 10036
    sl, tp = round(tick.bid - 0.0004, 5), round(tick.bid + 0.0004, 5)
    assert mt5.order_send(dict(sltp, sl=sl, tp=tp)).retcode == 10009
    assert mt5.order_send(dict(sltp, sl=sl, tp=tp)).retcode == 10025
    p = mt5.positions_get()[0]
    assert (p.sl, p.tp) == (sl, tp)
    for _ in range(2000):
        clock.advance(30)
        if not mt5.positions_get():
            break
    assert mt5.positions_get() == ()
    out = mt5.history_deals_get(position=r.order)[-1]
    assert out.entry == M.DEAL_ENTRY_OUT and out.reason in (M.DEAL_REASON_SL, M.DEAL_REASON_TP)
    assert out.comment.startswith("[sl " if out.reason == M.DEAL_REASON_SL else "[tp ")


def test_order_check_and_calc_functions(mt5):
    tick = mt5.symbol_info_tick("EURUSD")
    req = {"action": 1, "symbol": "EURUSD", "volume": 1.0, "type": 0, "type_filling": 1}
    chk = mt5.order_check(req)
    assert chk.retcode == 0 and chk.comment == "Done" and chk.margin > 0 and chk.request.volume == 1.0
    assert mt5.positions_get() == (), "order_check changes nothing"
    assert mt5.order_check(dict(req, volume=0.001)).retcode == 10014
    margin = mt5.order_calc_margin(M.ORDER_TYPE_BUY, "EURUSD", 1.0, tick.ask)
    assert abs(margin - 1000 * tick.ask) < 1000 * tick.ask * 0.001
    assert mt5.order_calc_margin(M.ORDER_TYPE_SELL, "USDJPY", 1.0, 150.0) == 1000.0
    assert mt5.order_calc_margin(M.ORDER_TYPE_BUY_LIMIT, "EURUSD", 1.0, 1.1) is None and mt5.last_error()[0] == -2
    assert mt5.order_calc_margin(M.ORDER_TYPE_BUY, "NOPE", 1.0, 1.1) is None
    assert mt5.order_calc_profit(M.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.1, 1.1010) == 100.0
    assert mt5.order_calc_profit(M.ORDER_TYPE_SELL, "EURUSD", 1.0, 1.1, 1.1010) == -100.0


def test_history_accepts_datetimes_and_epochs_and_groups(mt5):
    market_buy(mt5)
    now_b = T0_MS // 1000 + OFFSET
    naive = datetime.fromtimestamp(now_b, UTC).replace(tzinfo=None)
    assert len(mt5.history_deals_get(naive - timedelta(minutes=1), naive + timedelta(minutes=1))) == 2
    assert len(mt5.history_deals_get(now_b - 60, now_b + 60)) == 2
    assert len(mt5.history_deals_get(now_b - 60, now_b + 60, group="*EURUSD*")) == 1
    assert mt5.history_deals_get(now_b + 60, now_b + 120) == ()
    assert mt5.history_deals_total(now_b - 60, now_b + 60) == 2
    assert mt5.history_deals_get() is None and mt5.last_error()[0] == -2


# ---------------------------------------------------------------------- hooks


def test_print_hook_writes_to_stdout_and_fd_1(mt5, control, capfd):
    mt5.terminal_info()
    assert capfd.readouterr().out == ""
    control.set(print=True)
    mt5.initialize(login=cat.LOGIN, password="secret")
    out = capfd.readouterr().out
    assert "MetaTrader5 fake: initialize(" in out and "MetaTrader5 fake (fd 1): initialize(" in out
    assert "secret" not in out


def test_init_fail_and_disconnect_hooks(mt5, control):
    control.set(disconnect=1)
    assert mt5.account_info() is None and mt5.last_error() == (-10004, "No IPC connection")
    assert mt5.symbol_info_tick("EURUSD") is None
    assert mt5.initialize() is True and mt5.account_info() is not None, "re-init recovers"
    assert mt5.account_info() is not None, "one drop per token"
    control.set(disconnect=2, init_fail=[-10003, "IPC initialize failed, terminal is down"])
    assert mt5.account_info() is None
    assert mt5.initialize() is False and mt5.last_error() == (-10003, "IPC initialize failed, terminal is down")
    assert mt5.account_info() is None
    control.set(disconnect=2)
    assert mt5.initialize() is True and mt5.account_info() is not None


def test_hang_raise_and_order_send_none_hooks(mt5, control):
    control.set(hang={"function": "symbol_info_tick", "seconds": 0.3})
    t0 = time.monotonic()
    assert mt5.symbol_info_tick("EURUSD") is not None
    assert time.monotonic() - t0 >= 0.3
    t0 = time.monotonic()
    mt5.account_info()
    assert time.monotonic() - t0 < 0.3
    control.set(**{"raise": {"function": "positions_get", "message": "boom"}})
    with pytest.raises(RuntimeError, match="boom"):
        mt5.positions_get()
    control.set(order_send_none=True)
    assert market_buy(mt5) is None and mt5.last_error() == (-1, "Terminal: Call failed")
    control.set(order_send_none=[-10005, "IPC timeout"])
    assert market_buy(mt5) is None and mt5.last_error() == (-10005, "IPC timeout")
    control.set(order_send_none=False)
    assert market_buy(mt5).retcode == 10009


def test_calls_from_a_second_thread_raise(mt5, control):
    errors = []

    def other():
        try:
            mt5.account_info()
        except RuntimeError as exc:
            errors.append(str(exc))

    th = threading.Thread(target=other, name="intruder")
    th.start()
    th.join()
    assert errors and "intruder" in errors[0]
    control.set(any_thread=True)
    errors.clear()
    th = threading.Thread(target=other)
    th.start()
    th.join()
    assert errors == []


def test_time_shift_hook_moves_the_clock(mt5, control):
    before = mt5.symbol_info_tick("EURUSD").time
    control.set(time_shift_seconds=3600)
    assert mt5.symbol_info_tick("EURUSD").time - before in (3599, 3600, 3601)


# ---------------------------------------------------------------------- persistence


def test_state_survives_a_restart_and_is_shared(mt5, state_path):
    r = market_buy(mt5)
    mt5.symbol_select("USDCHF", True)
    saved = json.loads(state_path.read_text())
    assert saved["positions"][0]["ticket"] == r.order
    restart()
    assert M.positions_get() is None, "a new process must initialize first"
    assert M.initialize() is True
    assert [p.ticket for p in M.positions_get()] == [r.order]
    assert M.symbol_info("USDCHF").visible is True
    # Another process writes the file: the next call sees its change.
    saved = json.loads(state_path.read_text())
    saved["balance"] = 12345.0
    tmp = state_path.with_suffix(".other")
    tmp.write_text(json.dumps(saved))
    tmp.replace(state_path)
    assert M.account_info().balance == 12345.0


def test_corrupt_state_is_set_aside(mt5, state_path, capsys):
    market_buy(mt5)
    state_path.write_text("{not json")
    restart()
    assert M.initialize() is True
    assert M.positions_get() == () and M.account_info().balance == 10000.0
    assert list(state_path.parent.glob("account.json.corrupt-*"))
    assert "unreadable" in capsys.readouterr().err


def test_in_memory_without_state_file(control, clock, monkeypatch):
    monkeypatch.delenv("MT5_FAKE_STATE", raising=False)
    restart()
    M.initialize()
    assert market_buy(M).retcode == 10009
    assert len(M.positions_get()) == 1
    restart()
    M.initialize()
    assert M.positions_get() == ()


# ---------------------------------------------------------------------- mt5linux


def test_mt5linux_needs_a_listener_then_delegates(mt5):
    import mt5linux

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(ConnectionRefusedError):
        mt5linux.MetaTrader5(host="127.0.0.1", port=port)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    bridge = mt5linux.MetaTrader5(host="127.0.0.1", port=server.getsockname()[1])
    peer, _ = server.accept()
    assert bridge.TIMEFRAME_H1 == 16385 and bridge.ORDER_TYPE_SELL == 1
    assert bridge.initialize() is True
    assert bridge.account_info().login == cat.LOGIN
    assert bridge.symbol_info_tick("EURUSD") == mt5.symbol_info_tick("EURUSD")
    peer.close()
    server.close()
    with pytest.raises(EOFError):
        bridge.account_info()
    bridge.close()


def test_broker_calendar_helpers_agree_with_the_calendar():
    from MetaTrader5._market import Market

    jan31 = calendar.timegm((2026, 1, 31, 15, 0, 0))
    assert Market.bar_start(M.TIMEFRAME_MN1, jan31) == calendar.timegm((2026, 1, 1, 0, 0, 0))
    assert Market.bar_after(M.TIMEFRAME_MN1, calendar.timegm((2025, 12, 1, 0, 0, 0))) == calendar.timegm(
        (2026, 1, 1, 0, 0, 0)
    )
    sunday = Market.bar_start(M.TIMEFRAME_W1, jan31)
    assert datetime.fromtimestamp(sunday, UTC).strftime("%a %H:%M") == "Sun 00:00"
