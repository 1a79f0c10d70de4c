"""The records the terminal describes itself with: terminal, account and symbol info, and
the MT5 group filter used by symbols_get, positions_get, orders_get and history_*_get."""

from __future__ import annotations

import fnmatch
import os
import tempfile

from . import _catalogue as cat
from . import _constants as C
from . import _ledger as L
from ._records import AccountInfo, SymbolInfo, TerminalInfo


def data_path() -> str:
    """The terminal's data folder: env MT5_FAKE_DATA_PATH, else the state file's folder."""
    explicit = os.environ.get("MT5_FAKE_DATA_PATH")
    if explicit:
        return explicit
    state = os.environ.get("MT5_FAKE_STATE")
    if state:
        return os.path.dirname(os.path.abspath(state))
    return os.path.join(tempfile.gettempdir(), "mt5-fake")


def terminal_record() -> TerminalInfo:
    data = data_path()
    return TerminalInfo(
        community_account=False,
        community_connection=False,
        connected=True,
        dlls_allowed=False,
        trade_allowed=True,
        tradeapi_disabled=False,
        email_enabled=False,
        ftp_enabled=False,
        notifications_enabled=False,
        mqid=False,
        build=cat.TERMINAL_BUILD,
        maxbars=100_000,
        codepage=0,
        ping_last=12_000,
        community_balance=0.0,
        retransmission=0.0,
        company=cat.COMPANY,
        name=cat.TERMINAL_NAME,
        language="English",
        path=data,
        data_path=data,
        commondata_path=data,
    )


def account_record(acct: dict, m: dict) -> AccountInfo:
    """The account with its money figures `m` (see _ledger.metrics)."""
    return AccountInfo(
        login=acct["login"],
        trade_mode=C.ACCOUNT_TRADE_MODE_DEMO,
        leverage=acct["leverage"],
        limit_orders=200,
        margin_so_mode=C.ACCOUNT_STOPOUT_MODE_PERCENT,
        trade_allowed=True,
        trade_expert=True,
        margin_mode=C.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
        currency_digits=2,
        fifo_close=False,
        balance=m["balance"],
        credit=0.0,
        profit=m["profit"],
        equity=m["equity"],
        margin=m["margin"],
        margin_free=m["margin_free"],
        margin_level=m["margin_level"],
        margin_so_call=cat.MARGIN_CALL,
        margin_so_so=cat.STOP_OUT,
        margin_initial=0.0,
        margin_maintenance=0.0,
        assets=0.0,
        liabilities=0.0,
        commission_blocked=0.0,
        name=cat.ACCOUNT_NAME,
        server=cat.SERVER,
        currency=acct["currency"],
        company=cat.COMPANY,
    )


# SymbolInfo's fields by type; the ones this broker does not use keep these zero values.
_BOOL_FIELDS = set("custom select visible spread_float margin_hedged_use_leg".split())
_STR_FIELDS = set(
    "basis category currency_base currency_profit currency_margin bank description exchange formula isin name "
    "page path".split()
)
_INT_FIELDS = set(
    "chart_mode session_deals session_buy_orders session_sell_orders volume volumehigh volumelow time digits "
    "spread ticks_bookdepth trade_calc_mode trade_mode start_time expiration_time trade_stops_level "
    "trade_freeze_level trade_exemode swap_mode swap_rollover3days expiration_mode filling_mode order_mode "
    "order_gtc_mode option_mode option_right".split()
)
_SYMBOL_ZERO = {
    f: (False if f in _BOOL_FIELDS else "" if f in _STR_FIELDS else 0 if f in _INT_FIELDS else 0.0)
    for f in SymbolInfo._fields
}


def symbol_record(acct: dict, market, name: str, now_ms: int) -> SymbolInfo:
    s = cat.BY_NAME[name]
    q = market.quote(cat.INDEX[name], now_ms)
    tv = market.tick_value(cat.INDEX[name], now_ms)
    selected = L.is_selected(acct, name)
    values = dict(_SYMBOL_ZERO)
    values.update(
        select=selected,
        visible=selected,
        spread_float=True,
        time=L.broker_s(q["time_ms"]),
        digits=s.digits,
        spread=q["spread"],
        trade_calc_mode=s.calc_mode,
        trade_mode=s.trade_mode,
        trade_stops_level=s.stops_level,
        trade_exemode=C.SYMBOL_TRADE_EXECUTION_INSTANT,
        swap_mode=C.SYMBOL_SWAP_MODE_POINTS,
        swap_rollover3days=C.DAY_OF_WEEK_WEDNESDAY,
        expiration_mode=cat.EXPIRATION_MODE_ALL,
        filling_mode=s.filling_mode,
        order_mode=cat.ORDER_MODE_ALL,
        bid=q["bid"],
        bidhigh=q["bid"],
        bidlow=q["bid"],
        ask=q["ask"],
        askhigh=q["ask"],
        asklow=q["ask"],
        point=s.point,
        trade_tick_value=tv,
        trade_tick_value_profit=tv,
        trade_tick_value_loss=tv,
        trade_tick_size=s.point,
        trade_contract_size=s.contract_size,
        volume_min=s.volume_min,
        volume_max=s.volume_max,
        volume_step=s.volume_step,
        swap_long=s.swap_long,
        swap_short=s.swap_short,
        margin_hedged=s.contract_size,
        currency_base=s.currency_base,
        currency_profit=s.currency_profit,
        currency_margin=s.currency_margin,
        description=s.description,
        name=s.name,
        path=s.path,
    )
    return SymbolInfo(**values)


def group_matches(group: str, name: str) -> bool:
    """MT5 group filter: comma-separated `*` patterns, `!` excludes, ASCII case-insensitive;
    an empty group selects everything."""
    included, any_inclusive = False, False
    for pat in (p.strip() for p in group.split(",")):
        if not pat:
            continue
        glob = pat.lstrip("!").strip().lower().replace("[", "[[]").replace("?", "[?]")
        if pat.startswith("!"):
            if fnmatch.fnmatchcase(name.lower(), glob):
                return False
        else:
            any_inclusive = True
            included = included or fnmatch.fnmatchcase(name.lower(), glob)
    return included or (not any_inclusive and not group.strip())
