"""Loaded by CLI subprocesses in tests (via PYTHONPATH): any network connection fails loudly."""

import socket
import sys

_real_connect = socket.socket.connect


def _blocked(self, address, *args):  # type: ignore[no-untyped-def]
    if self.family == getattr(socket, "AF_UNIX", None):
        return _real_connect(self, address, *args)
    sys.stderr.write(f"NETWORK BLOCKED: connection to {address!r}\n")
    raise OSError(f"network blocked in tests: {address!r}")


socket.socket.connect = _blocked  # type: ignore[method-assign]
socket.socket.connect_ex = _blocked  # type: ignore[method-assign,assignment]
