"""A real HTTPS server on loopback for the MTA-STS policy fetch.

asyncio's TLS server with a trustme certificate, speaking just enough
HTTP/1.1 to answer one GET per connection with what the test scripted:
status, headers, body, or a delay. Every request is logged with the SNI name
the client sent, its request line and its Host header, so tests can assert
that the probe asked for the right name at the address its resolver chose.

The `https_port` fixture points the probe's policy fetch at the server's
port through `Plan.https_port`, the seam no command-line option reaches: it
wraps the CLI's plan builder for the test's duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from probe.core import plan as plan_module
from tests.loopback import close_server

MAX_HEAD = 16 * 1024


@dataclass(frozen=True)
class Request:
    sni: str | None
    line: str
    headers: dict[str, str]


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/plain"})
    delay: float = 0.0  # seconds before answering (a slow or hung server)


@dataclass
class HttpsServer:
    """`async with HttpsServer(context, response) as server:` listens on 127.0.0.1:server.port."""

    context: ssl.SSLContext
    response: Response
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    _server: asyncio.base_events.Server | None = None
    _sni: list[str | None] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> HttpsServer:
        def remember(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
            self._sni.append(name)

        self.context.sni_callback = remember  # type: ignore[assignment]
        self._server = await asyncio.start_server(self._handle, self.host, self.port,
                                                  ssl=self.context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        await close_server(self._server, self._tasks)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > MAX_HEAD:
                return
            line, *rest = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in
                       (h.partition(":") for h in rest if h)}
            self.requests.append(Request(self._sni[-1] if self._sni else None, line, headers))
            response = self.response
            if response.delay:
                await asyncio.sleep(response.delay)
            out = [f"HTTP/1.1 {response.status} X", f"Content-Length: {len(response.body)}",
                   "Connection: close", *(f"{k}: {v}" for k, v in response.headers.items())]
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + response.body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ssl.SSLError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


@pytest.fixture
def https_port(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """`https_port(port)`: the probes this test runs fetch HTTPS from `port`."""

    def point(port: int) -> None:
        # The command line imports build_plan when it needs it, from this module.
        real = plan_module.build_plan
        monkeypatch.setattr(plan_module, "build_plan", lambda *args, **kwargs: dataclasses.replace(
            real(*args, **kwargs), https_port=port))

    return point
