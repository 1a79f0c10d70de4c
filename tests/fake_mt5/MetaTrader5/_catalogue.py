"""The fake broker's account and instruments.

They mirror what mt5-mcp's Rust `sim` backend shows (src/terminal/sim/catalogue.rs,
account.rs, view.rs), so the end-to-end suites written against the sim run unchanged on the
`native` backend with this module: the same login, server, company, USD hedging account
with 1:100 leverage and a 10 000 deposit, the same nine symbols with the same contract
specifications (EURJPY and USDCHF start hidden from Market Watch), a broker clock at UTC+2
and trading around the clock. Price levels are this module's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import _constants as C

LOGIN = 52_000_001
ACCOUNT_NAME = "Paper Trader"
SERVER = "MT5MCP-Sim"
COMPANY = "mt5-mcp paper broker"
CURRENCY = "USD"
LEVERAGE = 100
DEPOSIT = 10_000.0
FIRST_ORDER_TICKET = 10_000_001
FIRST_DEAL_TICKET = 50_000_001

TERMINAL_NAME = "MetaTrader 5 (mt5-mcp test fake)"
TERMINAL_BUILD = 5200
TERMINAL_VERSION = (500, TERMINAL_BUILD, "1 Jul 2025")

# Broker wall clock = UTC + this many minutes; every epoch the library reports is broker time.
BROKER_OFFSET_MINUTES = 120
BROKER_OFFSET_S = BROKER_OFFSET_MINUTES * 60

# Margin call / stop-out levels in percent (reported only; this fake never stops out).
MARGIN_CALL = 100.0
STOP_OUT = 50.0

# Bars exist from this broker-time instant on (2025-01-01 00:00), like a broker's finite
# history; copy_rates_* return fewer bars than asked when the range reaches before it.
HISTORY_START_BROKER_S = 1_735_689_600

# Symbol filling-mode bits (the official package exports no names for them).
FILLING_FOK = 1
FILLING_IOC = 2

# SYMBOL_EXPIRATION_* GTC | DAY | SPECIFIED | SPECIFIED_DAY, and SYMBOL_ORDER_* all seven.
EXPIRATION_MODE_ALL = 15
ORDER_MODE_ALL = 127


@dataclass(frozen=True)
class Spec:
    name: str
    description: str
    path: str
    digits: int
    contract_size: float
    calc_mode: int
    # MT5's initial margin rate multiplier (BTCUSD 5 caps a 1:100 account at 1:20).
    margin_rate: float
    currency_base: str
    currency_profit: str
    currency_margin: str
    volume_min: float
    volume_max: float
    volume_step: float
    filling_mode: int
    stops_level: int
    swap_long: float
    swap_short: float
    spread_min: int
    spread_max: int
    visible_by_default: bool
    # Root price level and annualised volatility, or the two legs of a cross rate.
    base: float = 0.0
    vol: float = 0.0
    legs: tuple[str, str] | None = None
    trade_mode: int = C.SYMBOL_TRADE_MODE_FULL

    @property
    def point(self) -> float:
        return 10.0**-self.digits

    @property
    def category(self) -> str:
        return self.path.split("\\", 1)[0]


def _forex(name, description, group, digits, stops, swaps, spread, visible, base=0.0, vol=0.0, legs=None):
    return Spec(
        name=name,
        description=description,
        path=f"Forex\\{group}\\{name}",
        digits=digits,
        contract_size=100_000.0,
        calc_mode=C.SYMBOL_CALC_MODE_FOREX,
        margin_rate=1.0,
        currency_base=name[:3],
        currency_profit=name[3:],
        currency_margin=name[:3],
        volume_min=0.01,
        volume_max=100.0,
        volume_step=0.01,
        filling_mode=FILLING_FOK | FILLING_IOC,
        stops_level=stops,
        swap_long=swaps[0],
        swap_short=swaps[1],
        spread_min=spread[0],
        spread_max=spread[1],
        visible_by_default=visible,
        base=base,
        vol=vol,
        legs=legs,
    )


def _cfd(
    name,
    description,
    path,
    calc_mode,
    contract,
    margin_rate,
    vmin,
    vmax,
    vstep,
    filling,
    stops,
    swaps,
    spread,
    base,
    vol,
):
    return Spec(
        name=name,
        description=description,
        path=path,
        digits=2,
        contract_size=contract,
        calc_mode=calc_mode,
        margin_rate=margin_rate,
        currency_base=name[:3] if name != "US500" else "USD",
        currency_profit="USD",
        currency_margin="USD",
        volume_min=vmin,
        volume_max=vmax,
        volume_step=vstep,
        filling_mode=filling,
        stops_level=stops,
        swap_long=swaps[0],
        swap_short=swaps[1],
        spread_min=spread[0],
        spread_max=spread[1],
        visible_by_default=True,
        base=base,
        vol=vol,
    )


# In the order symbols_get() returns them.
CATALOGUE: tuple[Spec, ...] = (
    _forex("EURUSD", "Euro vs US Dollar", "Majors", 5, 0, (-7.5, 2.4), (6, 12), True, 1.0850, 0.07),
    _forex("GBPUSD", "Great Britain Pound vs US Dollar", "Majors", 5, 0, (-4.2, -1.1), (9, 17), True, 1.2650, 0.08),
    _forex("USDJPY", "US Dollar vs Japanese Yen", "Majors", 3, 0, (14.8, -27.5), (8, 14), True, 151.50, 0.09),
    _forex("USDCHF", "US Dollar vs Swiss Franc", "Majors", 5, 5, (6.1, -13.9), (11, 19), False, 0.8750, 0.075),
    _forex("AUDUSD", "Australian Dollar vs US Dollar", "Majors", 5, 0, (-3.9, -1.6), (8, 15), True, 0.6600, 0.10),
    _forex("EURJPY", "Euro vs Japanese Yen", "Crosses", 3, 5, (9.2, -21.7), (15, 25), False, legs=("EURUSD", "USDJPY")),
    _cfd(
        "XAUUSD",
        "Gold vs US Dollar",
        "Metals\\XAUUSD",
        C.SYMBOL_CALC_MODE_CFDLEVERAGE,
        100.0,
        1.0,
        0.01,
        50.0,
        0.01,
        FILLING_FOK | FILLING_IOC,
        10,
        (-56.2, 31.5),
        (15, 35),
        2620.0,
        0.15,
    ),
    _cfd(
        "BTCUSD",
        "Bitcoin vs US Dollar",
        "Crypto\\BTCUSD",
        C.SYMBOL_CALC_MODE_CFDLEVERAGE,
        1.0,
        5.0,
        0.01,
        10.0,
        0.01,
        FILLING_IOC,
        0,
        (-2500.0, -1500.0),
        (1500, 3000),
        93_000.0,
        0.55,
    ),
    _cfd(
        "US500",
        "US 500 Cash Index",
        "Indices\\US500",
        C.SYMBOL_CALC_MODE_CFD,
        10.0,
        0.05,
        0.1,
        100.0,
        0.1,
        FILLING_FOK,
        10,
        (-120.0, -40.0),
        (40, 80),
        5850.0,
        0.17,
    ),
)

BY_NAME = {s.name: s for s in CATALOGUE}
INDEX = {s.name: i for i, s in enumerate(CATALOGUE)}
