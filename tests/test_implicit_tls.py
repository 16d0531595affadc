"""The implicit-TLS listener (port-465 style, RFC 8314) that `Scripted(tls=...)` provides.

The probe's `--implicit-tls` comes later; this pins the peer it will be
tested against: TLS from the first byte with a trustme certificate, then the
same scripted SMTP dialog as on a plaintext port.
"""

from __future__ import annotations

import asyncio
import ssl

import pytest
import trustme

from tests.conftest import server_context
from tests.smtpserver import Scripted, dialog

GUARD = 20.0  # against hangs only
BANNER = b"220 mx.test ESMTP ready\r\n"


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    """A verifying client context that also trusts `ca`."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_banner_and_dialog_over_implicit_tls(ca: trustme.CA) -> None:
    tls = server_context(ca, "mx.test")
    async with Scripted(dialog(), tls=tls) as server:
        reader, writer = await asyncio.open_connection(
            server.host, server.port, ssl=client_context(ca), server_hostname="mx.test"
        )
        try:
            banner = await asyncio.wait_for(reader.readline(), GUARD)
            tls_object = writer.get_extra_info("ssl_object")
            writer.write(b"EHLO probe.test\r\n")
            ehlo = await asyncio.wait_for(reader.readuntil(b"250 8BITMIME\r\n"), GUARD)
            writer.write(b"QUIT\r\n")
            bye = await asyncio.wait_for(reader.readline(), GUARD)
        finally:
            writer.close()
            await writer.wait_closed()
    assert banner == BANNER
    assert tls_object.version() in {"TLSv1.2", "TLSv1.3"}
    assert ("DNS", "mx.test") in tls_object.getpeercert()["subjectAltName"]
    assert ehlo.startswith(b"250-mx.test greets you\r\n")
    assert bye == b"221 2.0.0 bye\r\n"
    assert server.commands() == ["EHLO probe.test", "QUIT"]
    assert server.connections == 1


async def test_untrusted_certificate_fails_before_any_smtp(ca: trustme.CA) -> None:
    other_ca = trustme.CA()
    async with Scripted(dialog(), tls=server_context(ca, "mx.test")) as server:
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection(
                server.host, server.port, ssl=client_context(other_ca), server_hostname="mx.test"
            )
    assert server.connections == 0
    assert server.received == b""


async def test_plaintext_client_gets_no_banner(ca: trustme.CA) -> None:
    """What a client expecting port 25 behaviour meets: silence, the server awaits a ClientHello."""
    async with Scripted(dialog(), tls=server_context(ca, "mx.test")) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(reader.read(1), 0.5)
        finally:
            writer.close()
            await writer.wait_closed()
    assert server.connections == 0
