"""Prices: deterministic ticks and bars for every symbol, a pure function of the seed and time.

Each root symbol's log mid price is a sum of sine waves (periods from under a minute to most
of a year, amplitudes scaled by the symbol's volatility, phases drawn from the seed) plus a
small per-second jitter, so prices wander like a market, never leave a plausible band and
can be evaluated at any instant in O(1) (numpy-vectorised). Cross rates are the product of
their legs. There is one tick per second per symbol; tick `k` (UTC second `k`) arrives a
seeded number of milliseconds into that second, so `time_msc` looks like a feed.

Bars are built on bid like MetaTrader's. An M1 bar samples its minute at its first second,
two seeded seconds inside and its last second (the forming bar stops at the latest tick), and
every longer bar is the exact aggregate of the M1 bars inside it (first open, last close,
extremes, summed tick volume), so timeframes always agree. Bars align to broker-time
boundaries (D1 at broker midnight, W1 on Sunday, MN1 on the 1st). Complete hours are cached,
and so are closed bars (`_history`): like a terminal's local history, only the forming bar is
rebuilt on every request.
"""

from __future__ import annotations

import calendar
import math
from datetime import UTC, datetime

import numpy as np

from . import _catalogue as cat
from . import _constants as C
from ._history import History
from ._records import RATES_DTYPE

M64 = (1 << 64) - 1
YEAR_S = 365.25 * 86_400
# Wave periods: the fast ones are evaluated at the second, the slow ones (a day and longer) at
# the start of the minute, which halves the cost of long histories and moves a price by far
# less than a point at a minute boundary.
# Whole seconds, so the phase is reduced exactly in integers before the sine (a sine of a
# huge argument is both slow and imprecise).
FAST_PERIODS_S = np.array([47, 211, 997, 4_001, 15_013], dtype=np.int64)
SLOW_PERIODS_S = np.array([86_413, 347_911, 1_512_007, 6_912_001, 21_000_011], dtype=np.int64)
PERIODS_S = np.concatenate([FAST_PERIODS_S, SLOW_PERIODS_S]).astype(np.float64)
_FAST_W = 2 * np.pi / FAST_PERIODS_S
_SLOW_W = 2 * np.pi / SLOW_PERIODS_S

_K_SEC = 0xD6E8FEB86659FD93
_K_MIN = 0xA0761D6478BD642F
_SALT_SPREAD = 0x5B8EAD
_SALT_JITTER = 0x71C3
_SALT_A, _SALT_B, _SALT_VOL = 0xA1A1, 0xB2B2, 0xC3C3

# Fixed bar lengths in seconds; W1 and MN1 have their own alignment.
PERIOD_OF = {
    C.TIMEFRAME_M1: 60,
    C.TIMEFRAME_M2: 120,
    C.TIMEFRAME_M3: 180,
    C.TIMEFRAME_M4: 240,
    C.TIMEFRAME_M5: 300,
    C.TIMEFRAME_M6: 360,
    C.TIMEFRAME_M10: 600,
    C.TIMEFRAME_M12: 720,
    C.TIMEFRAME_M15: 900,
    C.TIMEFRAME_M20: 1200,
    C.TIMEFRAME_M30: 1800,
    C.TIMEFRAME_H1: 3600,
    C.TIMEFRAME_H2: 7200,
    C.TIMEFRAME_H3: 10800,
    C.TIMEFRAME_H4: 14400,
    C.TIMEFRAME_H6: 21600,
    C.TIMEFRAME_H8: 28800,
    C.TIMEFRAME_H12: 43200,
    C.TIMEFRAME_D1: 86400,
}
TIMEFRAMES = frozenset(PERIOD_OF) | {C.TIMEFRAME_W1, C.TIMEFRAME_MN1}
MAX_BARS = 100_000
_HOUR_CACHE_LIMIT = 400_000


def mix(x: int) -> int:
    """splitmix64 finaliser on a Python int."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def mix_np(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _hash_of(ident: int, salt: int, idx: np.ndarray, k: int) -> np.ndarray:
    return mix_np(np.uint64(ident ^ salt) ^ (idx.astype(np.uint64) * np.uint64(k)))


def unit_np(h: np.ndarray) -> np.ndarray:
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9_007_199_254_740_992.0)


def name_hash(name: str) -> int:
    h = 0xCBF29CE484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def round_price(x, digits: int):
    return np.round(x, digits)


class Market:
    def __init__(self, seed: int):
        self.seed = seed & M64
        self.ids = [mix(self.seed ^ name_hash(s.name)) for s in cat.CATALOGUE]
        self._waves: dict[int, tuple[float, np.ndarray, np.ndarray, float]] = {}
        for i, s in enumerate(cat.CATALOGUE):
            if s.legs is None:
                phases = np.array(
                    [2 * math.pi * (mix(self.ids[i] ^ (j + 1)) >> 11) / 2**53 for j in range(len(PERIODS_S))]
                )
                amps = s.vol * np.sqrt(PERIODS_S / YEAR_S) * 0.6
                jitter = s.vol * math.sqrt(20.0 / YEAR_S)
                self._waves[i] = (math.log(s.base), amps, phases, jitter)
        self._hours: dict[tuple[int, int], tuple] = {}
        self._ticks: dict[tuple[int, int], dict] = {}
        self._history = History(self._build_closed)

    # ------------------------------------------------------------------ prices

    def _fast(self, i: int, secs: np.ndarray) -> np.ndarray:
        base, amps, phases, jitter = self._waves[i]
        nf = len(FAST_PERIODS_S)
        fast = (secs[..., None] % FAST_PERIODS_S) * _FAST_W
        fast += phases[:nf]
        out = np.sin(fast, out=fast) @ amps[:nf]
        out += (2 * unit_np(_hash_of(self.ids[i], 0, secs, _K_SEC)) - 1) * jitter
        out += base
        return out

    def _slow(self, i: int, minute_starts: np.ndarray) -> np.ndarray:
        _, amps, phases, _ = self._waves[i]
        nf = len(FAST_PERIODS_S)
        slow = (minute_starts[..., None] % SLOW_PERIODS_S) * _SLOW_W
        slow += phases[nf:]
        return np.sin(slow, out=slow) @ amps[nf:]

    def log_mid(self, i: int, secs: np.ndarray, rows: bool = False) -> np.ndarray:
        """Log mid at UTC seconds `secs`. With `rows`, `secs` is 2-D and every row lies in
        one minute, so the slow waves are evaluated once per row."""
        spec = cat.CATALOGUE[i]
        if spec.legs is not None:
            return sum(self.log_mid(cat.INDEX[leg], secs, rows) for leg in spec.legs)
        if rows:
            first = secs[:, :1]
            return self._fast(i, secs) + self._slow(i, first - first % 60)
        return self._fast(i, secs) + self._slow(i, secs - secs % 60)

    def spread_at(self, i: int, secs: np.ndarray) -> np.ndarray:
        s = cat.CATALOGUE[i]
        u = unit_np(_hash_of(self.ids[i], _SALT_SPREAD, secs // 7, _K_SEC))
        width = s.spread_max - s.spread_min
        return s.spread_min + np.minimum((u * u * (width + 1)).astype(np.int64), width)

    def bid_ask(self, i: int, secs: np.ndarray, rows: bool = False):
        s = cat.CATALOGUE[i]
        secs = np.asarray(secs, dtype=np.int64)
        spread = self.spread_at(i, secs)
        mid = np.exp(self.log_mid(i, secs, rows))
        bid = round_price(mid - spread * s.point / 2, s.digits)
        ask = round_price(bid + spread * s.point, s.digits)
        return bid, ask, spread

    # ------------------------------------------------------------------ ticks

    def tick_arrival_ms(self, i: int, k: int) -> int:
        # Scalar twin of _hash_of (same wrapping arithmetic on Python ints): cheap per call.
        jitter = mix((self.ids[i] ^ _SALT_JITTER) ^ ((k * _K_SEC) & M64)) % 1000
        return k * 1000 + jitter

    def latest_tick_second(self, i: int, now_ms: int) -> int:
        k = now_ms // 1000
        return k if self.tick_arrival_ms(i, k) <= now_ms else k - 1

    def quote(self, i: int, now_ms: int) -> dict:
        """The latest tick: UTC second, arrival (UTC ms), bid, ask, spread in points. Ticks
        are cached by second, so a burst of calls costs one evaluation per symbol."""
        k = self.latest_tick_second(i, now_ms)
        hit = self._ticks.get((i, k))
        if hit is None:
            bid, ask, spread = self.bid_ask(i, np.array([k]))
            hit = {
                "k": k,
                "time_ms": self.tick_arrival_ms(i, k),
                "bid": float(bid[0]),
                "ask": float(ask[0]),
                "spread": int(spread[0]),
            }
            if len(self._ticks) > 50_000:
                self._ticks.clear()
            self._ticks[(i, k)] = hit
        return dict(hit)

    # ------------------------------------------------------------------ conversions to USD

    def _mid(self, name: str, now_ms: int) -> float:
        q = self.quote(cat.INDEX[name], now_ms)
        return (q["bid"] + q["ask"]) / 2

    def to_usd(self, ccy: str, amount: float, now_ms: int) -> float:
        """`amount` in `ccy` expressed in the USD deposit currency at the current rates."""
        if ccy == "USD":
            return amount
        if f"{ccy}USD" in cat.INDEX:
            return amount * self._mid(f"{ccy}USD", now_ms)
        if f"USD{ccy}" in cat.INDEX:
            return amount / self._mid(f"USD{ccy}", now_ms)
        raise ValueError(f"no conversion for {ccy}")

    def tick_value(self, i: int, now_ms: int) -> float:
        s = cat.CATALOGUE[i]
        # contract / 10^digits is exact where contract * point is not (1e5 * 1e-5 != 1.0).
        native = s.contract_size / 10**s.digits
        return self.to_usd(s.currency_profit, native, now_ms)

    # ------------------------------------------------------------------ bars

    def _minutes(self, i: int, minutes: np.ndarray, k_last: int):
        """Per-minute (open, high, low, close, tick_volume, spread) arrays, bid-based."""
        s0 = minutes * 60
        a = 1 + (_hash_of(self.ids[i], _SALT_A, minutes, _K_MIN) % np.uint64(29)).astype(np.int64)
        b = 30 + (_hash_of(self.ids[i], _SALT_B, minutes, _K_MIN) % np.uint64(29)).astype(np.int64)
        samples = np.minimum(np.stack([s0, s0 + a, s0 + b, s0 + 59], axis=1), k_last)
        bids = self.bid_ask(i, samples, rows=True)[0]
        base_vol = 20 + (_hash_of(self.ids[i], _SALT_VOL, minutes, _K_MIN) % np.uint64(100)).astype(np.int64)
        partial = s0 + 59 > k_last
        vol = np.where(partial, np.maximum(1, base_vol * (k_last - s0 + 1) // 60), base_vol)
        return bids[:, 0], bids.max(axis=1), bids.min(axis=1), bids[:, 3], vol, self.spread_at(i, s0)

    def _hours_table(self, i: int, hours: np.ndarray, k_last: int) -> np.ndarray:
        """Per-hour aggregates (open, high, low, close, tick_volume, spread) of the M1 bars
        up to tick second `k_last`; complete hours come from (and go to) the cache."""
        out = np.empty((len(hours), 6), dtype=np.float64)
        todo = []
        for n, h in enumerate(hours.tolist()):
            # Only complete hours are kept, but the clock may have moved back since (a
            # time shift removed): an hour that is not complete now is rebuilt.
            hit = self._hours.get((i, h)) if (h + 1) * 3600 - 1 <= k_last else None
            if hit is None:
                todo.append(n)
            else:
                out[n] = hit
        if not todo:
            return out
        hs = hours[todo]
        mins = (hs[:, None] * 60 + np.arange(60)[None, :]).ravel()
        o, hi, lo, c, v, sp = (np.asarray(x).reshape(len(hs), 60) for x in self._minutes(i, mins, k_last))
        live = (mins * 60 <= k_last).reshape(len(hs), 60)
        last = np.maximum(live.sum(axis=1) - 1, 0)
        rows = np.arange(len(hs))
        table = np.stack(
            [
                o[:, 0],
                np.where(live, hi, -np.inf).max(axis=1),
                np.where(live, lo, np.inf).min(axis=1),
                c[rows, last],
                np.where(live, v, 0).sum(axis=1),
                sp[:, 0],
            ],
            axis=1,
        )
        out[todo] = table
        for row, h in zip(table, hs.tolist()):
            if (h + 1) * 3600 - 1 <= k_last and len(self._hours) < _HOUR_CACHE_LIMIT:
                self._hours[(i, h)] = row
        return out

    @staticmethod
    def _history_start_utc() -> int:
        return cat.HISTORY_START_BROKER_S - cat.BROKER_OFFSET_S

    # Bar boundaries, in broker seconds.

    @staticmethod
    def bar_start(tf: int, broker_s: int) -> int:
        if tf in PERIOD_OF:
            p = PERIOD_OF[tf]
            return broker_s - broker_s % p
        day = broker_s // 86_400
        if tf == C.TIMEFRAME_W1:
            return (day - (day + 4) % 7) * 86_400  # 1970-01-01 was a Thursday
        d = datetime.fromtimestamp(broker_s, tz=UTC)
        return calendar.timegm((d.year, d.month, 1, 0, 0, 0))

    @staticmethod
    def bar_after(tf: int, start: int) -> int:
        if tf in PERIOD_OF:
            return start + PERIOD_OF[tf]
        if tf == C.TIMEFRAME_W1:
            return start + 7 * 86_400
        d = datetime.fromtimestamp(start, tz=UTC)
        y, m = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
        return calendar.timegm((y, m, 1, 0, 0, 0))

    @classmethod
    def bar_before(cls, tf: int, start: int) -> int:
        return cls.bar_start(tf, start - 1)

    def newest_tick(self, i: int, now_ms: int) -> int:
        return self.latest_tick_second(i, now_ms)

    def bars(self, i: int, tf: int, starts_broker: list[int], k_last: int) -> np.ndarray:
        """The bars opening at `starts_broker` (ascending), built up to tick second `k_last`."""
        off = cat.BROKER_OFFSET_S
        hist = self._history_start_utc()
        spans = []
        for bs in starts_broker:
            lo = max(bs - off, hist)
            hi = min(self.bar_after(tf, bs) - off, k_last - k_last % 60 + 60)
            if hi > lo:
                spans.append((bs, lo, hi))
        out = np.zeros(len(spans), dtype=RATES_DTYPE)
        if not spans:
            return out
        unit = 60 if PERIOD_OF.get(tf, 86_400) < 3600 else 3600
        idx = [np.arange(lo // unit, (hi + unit - 1) // unit, dtype=np.int64) for _, lo, hi in spans]
        offsets = np.cumsum([0] + [len(x) for x in idx[:-1]])
        units = np.concatenate(idx)
        if unit == 60:
            o, h, l, c, v, sp = self._minutes(i, units, k_last)
        else:
            t = self._hours_table(i, units, k_last)
            o, h, l, c, v, sp = (t[:, n] for n in range(6))
        ends = np.append(offsets[1:], len(o)) - 1
        out["time"] = [bs for bs, _, _ in spans]
        out["open"] = o[offsets]
        out["high"] = np.maximum.reduceat(h, offsets)
        out["low"] = np.minimum.reduceat(l, offsets)
        out["close"] = c[ends]
        out["tick_volume"] = np.add.reduceat(v, offsets).astype(np.uint64)
        out["spread"] = np.asarray(sp)[offsets].astype(np.int32)
        return out

    # Requests: the bar starts they cover, then closed bars from the history and the
    # forming one built afresh.

    @staticmethod
    def bar_length(tf: int) -> int | None:
        """Seconds between consecutive bar starts, or None for MN1 (months vary)."""
        if tf in PERIOD_OF:
            return PERIOD_OF[tf]
        return 7 * 86_400 if tf == C.TIMEFRAME_W1 else None

    def _starts_back(self, tf: int, first: int, count: int) -> np.ndarray:
        """Up to `count` bar starts from `first` back to the start of history, ascending."""
        floor = self.bar_start(tf, cat.HISTORY_START_BROKER_S)
        count = min(count, MAX_BARS)
        p = self.bar_length(tf)
        if p is not None:
            n = 0 if first < floor else min(count, (first - floor) // p + 1)
            return first - p * np.arange(n - 1, -1, -1, dtype=np.int64)
        starts = []
        bs = first
        while bs >= floor and len(starts) < count:
            starts.append(bs)
            bs = self.bar_before(tf, bs)
        return np.array(starts[::-1], dtype=np.int64)

    def _closed_k(self, tf: int, starts: np.ndarray) -> int:
        """A tick second at which every bar in `starts` is closed (its last second)."""
        last = int(starts[-1]) if len(starts) else cat.HISTORY_START_BROKER_S
        return self.bar_after(tf, last) - cat.BROKER_OFFSET_S - 1

    def _build_closed(self, key: tuple[int, int], starts: np.ndarray) -> np.ndarray:
        i, tf = key
        return self.bars(i, tf, starts.tolist(), self._closed_k(tf, starts))

    def _served(self, i: int, tf: int, starts: np.ndarray, k_last: int) -> np.ndarray:
        """The bars opening at `starts` as of tick second `k_last`. A bar is closed once its
        last second has passed; the closed ones come from the history."""
        off = cat.BROKER_OFFSET_S
        p = self.bar_length(tf)
        if p is not None:
            n_closed = int(np.searchsorted(starts, k_last + 1 + off - p, side="right"))
        else:
            n_closed = sum(1 for bs in starts.tolist() if self.bar_after(tf, bs) - off - 1 <= k_last)
        closed = self._history.closed((i, tf), starts[:n_closed])
        if n_closed == len(starts):
            return closed
        return np.concatenate([closed, self.bars(i, tf, starts[n_closed:].tolist(), k_last)])

    def rates_from_pos(self, i: int, tf: int, now_ms: int, start_pos: int, count: int) -> np.ndarray:
        k_last = self.newest_tick(i, now_ms)
        newest = self.bar_start(tf, k_last + cat.BROKER_OFFSET_S)
        p = self.bar_length(tf)
        if p is not None:
            first = newest - start_pos * p
        else:
            first = newest
            for _ in range(start_pos):
                first = self.bar_before(tf, first)
        return self._served(i, tf, self._starts_back(tf, first, count), k_last)

    def rates_range(self, i: int, tf: int, now_ms: int, from_broker: int, to_broker: int) -> np.ndarray:
        k_last = self.newest_tick(i, now_ms)
        newest = self.bar_start(tf, k_last + cat.BROKER_OFFSET_S)
        bs = self.bar_start(tf, max(from_broker, cat.HISTORY_START_BROKER_S))
        if bs < from_broker:
            bs = self.bar_after(tf, bs)
        last = min(to_broker, newest)
        p = self.bar_length(tf)
        if p is not None:
            n = 0 if last < bs else min(MAX_BARS, (last - bs) // p + 1)
            starts = bs + p * np.arange(n, dtype=np.int64)
        else:
            found = []
            while bs <= last and len(found) < MAX_BARS:
                found.append(bs)
                bs = self.bar_after(tf, bs)
            starts = np.array(found, dtype=np.int64)
        return self._served(i, tf, starts, k_last)

    def rates_from(self, i: int, tf: int, now_ms: int, date_broker: int, count: int) -> np.ndarray:
        k_last = self.newest_tick(i, now_ms)
        newest = self.bar_start(tf, k_last + cat.BROKER_OFFSET_S)
        first = min(self.bar_start(tf, date_broker), newest)
        return self._served(i, tf, self._starts_back(tf, first, count), k_last)
