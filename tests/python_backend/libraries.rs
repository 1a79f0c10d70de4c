//! Small purpose-built stand-ins for the MetaTrader5 library, one behaviour each. They are
//! written into a temp dir that goes on PYTHONPATH (or into a venv's site-packages).
//!
//! [`BASE`] is a tiny consistent terminal (one account, EURUSD and a HANG symbol, fresh
//! ticks, bars); each variant appends overrides. Every call is appended as one JSON line
//! to the file named by `PYLIB_CALL_LOG`, so tests can check argument shapes.

pub const BASE: &str = r#"
import collections, json, os, time

_last = (1, "Success")

def _log(name, *args, **kwargs):
    path = os.environ.get("PYLIB_CALL_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"fn": name, "args": list(args), "kwargs": sorted(kwargs)}) + "\n")

def _fail(code, message):
    global _last
    _last = (code, message)
    return None

TerminalInfo = collections.namedtuple(
    "TerminalInfo", "connected trade_allowed build name company path data_path")
AccountInfo = collections.namedtuple(
    "AccountInfo",
    "login trade_mode leverage trade_allowed margin_mode balance credit profit equity "
    "margin margin_free margin_level name server currency company")
SymbolInfo = collections.namedtuple(
    "SymbolInfo",
    "name description path visible select digits spread trade_calc_mode trade_mode "
    "filling_mode volume_min volume_max volume_step point trade_tick_value trade_tick_size "
    "trade_contract_size currency_base currency_profit currency_margin bid ask")
Tick = collections.namedtuple("Tick", "time bid ask last volume time_msc flags volume_real")

SYMBOLS = {"EURUSD": (1.08000, 1.08012), "HANG": (2.0, 2.5)}

def initialize(*args, **kwargs):
    _log("initialize", *args, **kwargs)
    return True

def shutdown():
    return None

def last_error():
    return _last

def terminal_info():
    _log("terminal_info")
    return TerminalInfo(True, True, 4410, "Purpose-built terminal", "Test Broker Ltd", "/t", "/t/data")

def account_info():
    _log("account_info")
    return AccountInfo(31337, 0, 100, True, 2, 5000.0, 0.0, 0.0, 5000.0, 0.0, 5000.0, 0.0,
                       "Test Holder", "Test-Server", "USD", "Test Broker Ltd")

def symbol_info(symbol):
    _log("symbol_info", symbol)
    if symbol not in SYMBOLS:
        return _fail(-4, "Terminal: Not found")
    bid, ask = SYMBOLS[symbol]
    return SymbolInfo(symbol, symbol + " test", "Forex\\" + symbol, True, True, 5, 12, 0, 4,
                      3, 0.01, 100.0, 0.01, 0.00001, 1.0, 0.00001, 100000.0, symbol[:3],
                      "USD", symbol[:3], bid, ask)

def symbol_select(symbol, enable=True):
    return symbol in SYMBOLS

def symbol_info_tick(symbol):
    _log("symbol_info_tick", symbol)
    if symbol not in SYMBOLS:
        return _fail(-4, "Terminal: Not found")
    bid, ask = SYMBOLS[symbol]
    now = int(time.time())
    return Tick(now, bid, ask, 0.0, 0, now * 1000, 6, 0.0)

def copy_rates_from_pos(symbol, timeframe, start, count):
    _log("copy_rates_from_pos", symbol, timeframe, start, count)
    newest = int(time.time()) // 60 * 60
    rows = [(newest - 60 * i, 1.0 + i, 2.0 + i, 0.5 + i, 1.5 + i, 10 + i, 3, 0)
            for i in reversed(range(count))]
    try:
        import numpy
    except ImportError:
        return rows
    dt = numpy.dtype([("time", "<i8"), ("open", "<f8"), ("high", "<f8"), ("low", "<f8"),
                      ("close", "<f8"), ("tick_volume", "<u8"), ("spread", "<i4"),
                      ("real_volume", "<u8")])
    return numpy.array(rows, dtype=dt)

def positions_get(**kwargs):
    _log("positions_get", **kwargs)
    return ()

def orders_get(**kwargs):
    return ()

def history_deals_get(date_from, date_to, group=None):
    _log("history_deals_get", date_from, date_to, type(date_from).__name__)
    return ()

def order_calc_margin(order_type, symbol, volume, price):
    return round(volume * price * 1000.0, 2)
"#;

/// Prints on import and on every call, through every route Python code has to fd 1.
pub const CHATTY: &str = r#"
import os, sys
print("CHATTY-IMPORT print")
sys.__stdout__.write("CHATTY-IMPORT __stdout__\n")
sys.__stdout__.flush()
os.write(1, b"CHATTY-IMPORT fd1\n")

def _chatty(f):
    def wrapper(*args, **kwargs):
        print("CHATTY-CALL", f.__name__, flush=True)
        os.write(1, b"CHATTY-CALL fd1\n")
        return f(*args, **kwargs)
    wrapper.__name__ = f.__name__
    return wrapper

for _name in ["initialize", "terminal_info", "account_info", "symbol_info",
              "symbol_select", "symbol_info_tick", "copy_rates_from_pos", "last_error"]:
    globals()[_name] = _chatty(globals()[_name])
"#;

/// `symbol_info_tick("HANG")` blocks for `PYLIB_HANG_SECONDS`.
pub const HANGS: &str = r#"
_plain_tick = symbol_info_tick

def symbol_info_tick(symbol):
    if symbol == "HANG":
        time.sleep(float(os.environ.get("PYLIB_HANG_SECONDS", "12")))
    return _plain_tick(symbol)
"#;

/// `symbol_info_tick("EURUSD")` raises (the connect probe skips it and assumes UTC).
pub const RAISES: &str = r#"
_plain_tick = symbol_info_tick

def symbol_info_tick(symbol):
    if symbol == "EURUSD":
        raise RuntimeError("tick feed exploded")
    return _plain_tick(symbol)
"#;

/// `initialize` fails like a terminal that rejects the login.
pub const INIT_FAILS: &str = r#"
def initialize(*args, **kwargs):
    global _last
    _log("initialize", *args, **kwargs)
    _last = (-6, "Terminal: Authorization failed")
    return False
"#;

/// `account_info()` loses the IPC link (-10004) once `PYLIB_DROP_FLAG` exists, until the
/// next `initialize()`, like a terminal that was restarted.
pub const DROPS_LINK: &str = r#"
_link_up = True
_plain_initialize = initialize
_plain_account = account_info

def initialize(*args, **kwargs):
    global _link_up
    _link_up = True
    return _plain_initialize(*args, **kwargs)

def account_info():
    global _link_up
    flag = os.environ.get("PYLIB_DROP_FLAG")
    if flag and os.path.exists(flag):
        os.remove(flag)
        _link_up = False
    if not _link_up:
        return _fail(-10004, "No IPC connection")
    return _plain_account()
"#;

/// An `mt5linux` whose `MetaTrader5(host, port)` really connects, like RPyC does, then
/// serves the BASE functions from `MetaTrader5.py` beside it.
pub const MT5LINUX: &str = r#"
import socket
import MetaTrader5 as _impl

class MetaTrader5:
    def __init__(self, host="localhost", port=18812):
        self._sock = socket.create_connection((host, port), timeout=2)
        _impl._log("bridge_connect", host, port)

    def __getattr__(self, name):
        return getattr(_impl, name)
"#;

pub fn with(variant: &str) -> String {
    format!("{BASE}\n{variant}")
}
