"""How a session gets a connected byte stream: the one place a socket is opened.

The session asks a `Connector` for a connection to (address, port) and
speaks SMTP over whatever comes back. Direct TCP is the default; a proxy or
implicit TLS is another connector, so the session never changes for them.
A connector's failures are typed (`ConnectFailed.kind`) with a plain-English
reason, so each transport can say what *its* failure means.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .events import ErrorKind
from .plan import Plan
from .wire import TeeProtocol

ProtocolFactory = Callable[[], TeeProtocol]

_UNREACHABLE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL,
                          errno.EAFNOSUPPORT})


class ConnectFailed(Exception):
    """No connection: `kind` is the contract's error kind, `message` says why."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message


@dataclass(frozen=True)
class Connection:
    """A connected protocol; `local_address` is our end's address when it means
    something to the server (None behind a proxy: the server sees the proxy)."""

    protocol: TeeProtocol
    local_address: str | None


class Connector(Protocol):
    """Opens one connection within `timeout` seconds, or raises ConnectFailed."""

    async def open(self, address: str, port: int, server_name: str,
                   factory: ProtocolFactory, timeout: float) -> Connection: ...


def connector_for(plan: Plan) -> Connector:
    """The transport a plan asks for (direct TCP unless told otherwise)."""
    return DirectConnector()


class DirectConnector:
    """Plain TCP from this machine: what an MTA does."""

    async def open(self, address: str, port: int, server_name: str,
                   factory: ProtocolFactory, timeout: float) -> Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(factory, host=address,
                                                                   port=port)
        except TimeoutError:
            raise ConnectFailed("timeout", f"no TCP answer within {timeout:g} s "
                                "(filtered port or host down)") from None
        except ConnectionRefusedError:
            raise ConnectFailed("refused", f"connection refused on port {port}") from None
        except OSError as exc:
            kind: ErrorKind = "unreachable" if exc.errno in _UNREACHABLE else "refused"
            raise ConnectFailed(kind, exc.strerror or str(exc)) from None
        local = transport.get_extra_info("sockname")
        return Connection(protocol, str(local[0]) if local else None)
