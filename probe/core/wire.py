"""The wire layer: aiosmtplib's protocol with a tee of every received byte.

aiosmtplib parses replies, enforces the per-reply deadline and performs the
STARTTLS upgrade (discarding buffered plaintext against response
injection), but it drops what it does not expect: partial lines on EOF,
data while idle, bytes after a STARTTLS 220. The tee keeps all of it, so the
session can re-frame and report exactly what the server sent. This module is
the only place that subclasses aiosmtplib's (private) protocol class; the
version is pinned and tests/test_aiosmtplib_contract.py checks the surface.
"""

from __future__ import annotations

import asyncio
import time

from aiosmtplib.protocol import SMTPProtocol

TEE_LIMIT = 256 * 1024  # raw bytes kept per session; past it the session stops


class Tee:
    """Every byte the server sent, in order, with the time the last chunk came."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.overflowed = False
        self.last_received = time.monotonic()

    def received(self, chunk: bytes) -> None:
        self.last_received = time.monotonic()
        room = TEE_LIMIT - len(self.data)
        if len(chunk) > room:
            self.overflowed = True
            chunk = chunk[:max(room, 0)]
        self.data.extend(chunk)


class TeeProtocol(SMTPProtocol):
    """aiosmtplib's protocol, with every received chunk copied to a Tee first.

    After STARTTLS, asyncio hands this protocol decrypted bytes, so the tee
    stays readable. Depends on aiosmtplib's private constructor signature,
    which is why the version is pinned and a test checks it.
    """

    def __init__(self, tee: Tee, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop=loop)
        self.tee = tee
        self.lost: asyncio.Future[None] = loop.create_future()

    def data_received(self, data: bytes) -> None:
        self.tee.received(data)
        super().data_received(data)

    def discard_buffer(self) -> None:
        """Forget unparsed bytes (aiosmtplib keeps a malformed line, which would fail
        the next command too); the tee still has them."""
        del self._buffer[:]

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self.lost.done():
            self.lost.set_result(None)
