"""Loaded by CLI subprocesses in tests (via PYTHONPATH): any network connection fails loudly."""

import os
import socket
import sys

_real_connect = socket.socket.connect
# A test may opt in to loopback ports (its replica hub and CDN): NL2EN_NETGUARD_ALLOW=127.0.0.1:PORT[,127.0.0.1:PORT2],
# or to every loopback address (a local Ray: driver, GCS, raylet and workers): NL2EN_NETGUARD_ALLOW=loopback.
_allowed = os.environ.get("NL2EN_NETGUARD_ALLOW", "")
_ports = set(_allowed.split(","))
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _blocked(self, address, *args):  # type: ignore[no-untyped-def]
    if self.family == getattr(socket, "AF_UNIX", None):
        return _real_connect(self, address, *args)
    if _allowed and self.family == socket.AF_INET and f"{address[0]}:{address[1]}" in _ports:
        return _real_connect(self, address, *args)
    if _allowed == "loopback" and isinstance(address, tuple) and address and address[0] in _LOOPBACK:
        return _real_connect(self, address, *args)
    sys.stderr.write(f"NETWORK BLOCKED: connection to {address!r}\n")
    raise OSError(f"network blocked in tests: {address!r}")


socket.socket.connect = _blocked  # type: ignore[method-assign]
socket.socket.connect_ex = _blocked  # type: ignore[method-assign,assignment]
