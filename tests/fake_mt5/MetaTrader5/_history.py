"""The terminal's local bar history: closed bars kept per (symbol, timeframe).

A real terminal answers copy_rates_* from bars it already holds and only rebuilds the
forming one. The fake's closed bars are a pure function of the seed, the symbol, the
timeframe and the bar's start (the clock only decides which bars are closed), so they can
be kept as computed: a repeated request costs a copy of the kept rows plus whatever is new.
The kept rows live in the Market, which is replaced when the seed changes, so nothing here
ever needs invalidating; a clock moved backwards simply makes fewer bars closed, and only
bars closed at the current clock are served from here.

Each key holds one run of consecutive bars: the rows of the largest request that is still
cached plus a small margin. A request that does not overlap the run replaces it. The total
is bounded; the least recently used keys go first.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import numpy as np

from ._records import RATES_DTYPE

# Extra rows a key may keep beyond the largest request it serves (bars that slid out of
# the requested window since).
MARGIN = 1_024
# All keys together: about 60 bytes a row.
TOTAL_ROWS_LIMIT = 600_000

Key = tuple[int, int]


class History:
    def __init__(self, build: Callable[[Key, np.ndarray], np.ndarray]):
        """`build(key, starts)` computes the closed bars opening at `starts` (ascending broker
        seconds)."""
        self._build = build
        self._runs: OrderedDict[Key, np.ndarray] = OrderedDict()
        self._total = 0

    def closed(self, key: Key, starts: np.ndarray) -> np.ndarray:
        """The closed bars opening at `starts` (consecutive bars, ascending), as a new array."""
        if len(starts) == 0:
            return np.zeros(0, dtype=RATES_DTYPE)
        run = self._runs.get(key)
        if run is not None:
            self._runs.move_to_end(key)
            t = run["time"]
            lo = int(np.searchsorted(t, starts[0]))
            hi = int(np.searchsorted(t, starts[-1], side="right"))
            if lo < hi:
                a = int(np.searchsorted(starts, t[lo]))
                b = a + (hi - lo)
                older, newer = starts[:a], starts[b:]
                parts = [run[lo:hi]]
                if len(older):
                    parts.insert(0, self._build(key, older))
                if len(newer):
                    parts.append(self._build(key, newer))
                out = np.concatenate(parts)
                if np.array_equal(out["time"], starts):
                    if len(parts) > 1:
                        self._keep(key, out, run)
                    return out
        out = self._build(key, starts)
        self._keep(key, out, run)
        return out

    def _keep(self, key: Key, out: np.ndarray, run: np.ndarray | None) -> None:
        """Stores `out` (copied: the caller owns it) joined with the overlapping `run`."""
        rows = out
        if run is not None and len(out):
            t = run["time"]
            lo = int(np.searchsorted(t, out["time"][0]))
            hi = int(np.searchsorted(t, out["time"][-1], side="right"))
            if lo < hi:
                room = max(len(out), len(run)) + MARGIN - len(out)
                newer = run[hi : hi + room]
                older = run[max(0, lo - (room - len(newer))) : lo]
                rows = np.concatenate([older, out, newer])
        rows = rows.copy() if rows is out else rows
        self._drop(key)
        self._runs[key] = rows
        self._total += len(rows)
        while self._total > TOTAL_ROWS_LIMIT and len(self._runs) > 1:
            self._drop(next(iter(self._runs)))

    def _drop(self, key: Key) -> None:
        old = self._runs.pop(key, None)
        if old is not None:
            self._total -= len(old)

    def rows(self, key: Key) -> int:
        """How many bars `key` keeps (for tests)."""
        run = self._runs.get(key)
        return 0 if run is None else len(run)
