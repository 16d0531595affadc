"""Ports on 127.0.0.1 for servers the tests start in other processes.

Postfix, Exim and pproxy bind their listeners themselves, so a port cannot be
handed over as an already-bound socket: `free_port` picks one that is free
now, and the starters retry on a fresh port when the bind loses the race with
another process. `wait_listening` is the readiness check that replaces a sleep.
`close_server` is how the in-process asyncio servers (scripted SMTP, SOCKS,
HTTPS) stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable

__all__ = ["HOST", "close_server", "free_port", "wait_listening"]

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_listening(port: int, alive: Callable[[], bool], wait: float = 30.0) -> bool:
    """True once HOST:port accepts TCP while `alive()` holds; False when it stops or time is up.

    It returns as soon as the bind has happened, and at once if the server
    died (for instance because the port was taken in the meantime).
    """
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not alive():
            return False
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=5):
            return True
        time.sleep(0.05)
    return False


async def close_server(server: asyncio.Server, tasks: set[asyncio.Task], *,
                       grace: float = 0.0) -> None:
    """Stop listening, let handlers finish for `grace` seconds, cancel the rest, and
    wait until every handler has ended, so no test leaves a socket or task behind."""
    server.close()
    if tasks and grace:
        await asyncio.wait(list(tasks), timeout=grace)
    for task in list(tasks):
        task.cancel()
    for task in list(tasks):
        with contextlib.suppress(BaseException):
            await task
    await server.wait_closed()
