"""A fake of the official `MetaTrader5` Python package for mt5-mcp's tests.

The real package is Windows-only and drives a running MetaTrader 5 terminal. This one keeps
its import name, its constants (official values), its functions and signatures, its record
types (named tuples with the real field names and order) and its failure conventions
(None/False plus `last_error()`), behind a small deterministic paper broker: see
`_catalogue.py` (account, symbols), `_market.py` (prices and bars), `_engine.py` (order
rules and retcodes), `_ledger.py` (bookkeeping), `_store.py` (persistence, env
MT5_FAKE_STATE) and `_hooks.py` (fault injection, env MT5_FAKE_CONTROL).

Put `tests/fake_mt5` on PYTHONPATH to have `import MetaTrader5` load it.
"""

from ._api import (  # noqa: F401
    account_info,
    copy_rates_from,
    copy_rates_from_pos,
    copy_rates_range,
    history_deals_get,
    history_deals_total,
    history_orders_get,
    history_orders_total,
    initialize,
    last_error,
    login,
    order_calc_margin,
    order_calc_profit,
    order_check,
    order_send,
    orders_get,
    orders_total,
    positions_get,
    positions_total,
    shutdown,
    symbol_info,
    symbol_info_tick,
    symbol_select,
    symbols_get,
    symbols_total,
    terminal_info,
    version,
)
from ._constants import *
from ._hooks import on_import as _on_import
from ._records import (  # noqa: F401
    AccountInfo,
    OrderCheckResult,
    OrderSendResult,
    SymbolInfo,
    TerminalInfo,
    Tick,
    TradeDeal,
    TradeOrder,
    TradePosition,
    TradeRequest,
)

__version__ = "5.0.6231"
__author__ = "mt5-mcp test fake (not MetaQuotes)"
FAKE = True

_on_import()
