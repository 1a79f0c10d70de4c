"""A fake of the `mt5linux` package for mt5-mcp's tests.

The real `mt5linux.MetaTrader5(host, port)` connects to an RPyC server that runs the official
MetaTrader5 package under Wine, and exposes that module's functions and constants. This fake
opens a real TCP connection to host:port (so nothing listening gives ConnectionRefusedError,
as the RPyC client would) and then serves every attribute from the fake `MetaTrader5` module
in this process. A call after the peer closed the connection raises EOFError, as RPyC does
when its stream ends.
"""

from __future__ import annotations

import socket

import MetaTrader5 as _mt5

__version__ = "1.0.3"


class MetaTrader5:
    def __init__(self, host: str = "localhost", port: int = 18812):
        self._host, self._port = host, port
        self._sock = socket.create_connection((host, port), timeout=5)
        self._sock.setblocking(False)

    def _alive(self) -> None:
        try:
            if self._sock.recv(1, socket.MSG_PEEK) == b"":
                raise EOFError("connection closed by peer")
        except BlockingIOError:
            pass
        except OSError as exc:
            raise EOFError(f"connection to {self._host}:{self._port} lost: {exc}") from exc

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(_mt5, name)
        if not callable(value):
            return value
        self._alive()

        def call(*args, **kwargs):
            self._alive()
            return value(*args, **kwargs)

        call.__name__ = name
        return call

    def __dir__(self):
        return sorted(set(dir(_mt5)) | set(super().__dir__()))

    def close(self) -> None:
        self._sock.close()

    def __del__(self):
        sock = self.__dict__.get("_sock")
        if sock is not None:
            sock.close()
