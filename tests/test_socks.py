"""The SOCKS5 test peers, proven with python-socks against a loopback SMTP server.

The probe's own `--proxy` does not exist yet; these tests pin the peers it
will be tested against: pproxy (a real proxy, `tests/socks.py`) and the
scripted server (`tests/socksserver.py`) with every failure it can give. Each
test reads an SMTP banner through the proxy -- or proves that the SMTP server
saw no connection at all when the proxy said no.
"""

from __future__ import annotations

import asyncio

import pytest
from python_socks import ProxyError, ProxyTimeoutError
from python_socks.async_.asyncio import Proxy

from tests import socks
from tests.loopback import free_port
from tests.smtpserver import Scripted, dialog
from tests.socks import SocksProxy
from tests.socksserver import ATYP_DOMAIN, ATYP_IPV4, Behaviour, ReplyCode, ScriptedSocks

socks5_proxy = socks.socks5_proxy
socks5_proxy_auth = socks.socks5_proxy_auth

BANNER = b"220 mx.test ESMTP ready\r\n"
# Deadline for a whole proxied exchange: a guard against hangs, not a speed claim.
GUARD = 20.0


async def banner_through(url: str, host: str, port: int, *, timeout: float = GUARD) -> bytes:
    """Connect through the proxy at `url`, read the SMTP banner, say QUIT, return the banner."""
    sock = await Proxy.from_url(url).connect(dest_host=host, dest_port=port, timeout=timeout)
    reader, writer = await asyncio.open_connection(sock=sock)
    try:
        banner = await asyncio.wait_for(reader.readline(), timeout)
        writer.write(b"QUIT\r\n")
        await writer.drain()
        await asyncio.wait_for(reader.readline(), timeout)
        return banner
    finally:
        writer.close()
        await writer.wait_closed()


# -- pproxy, the real proxy -------------------------------------------------------


async def test_pproxy_carries_an_smtp_dialog(socks5_proxy: SocksProxy) -> None:
    async with Scripted(dialog()) as smtp:
        banner = await banner_through(socks5_proxy.url, smtp.host, smtp.port)
    assert banner == BANNER
    assert smtp.commands() == ["QUIT"]
    assert smtp.connections == 1
    # pproxy's own log is the witness that the connection went through it.
    assert len(socks5_proxy.tunnels_to(smtp.port)) == 1, socks5_proxy.log_text()


async def test_pproxy_with_username_and_password(socks5_proxy_auth: SocksProxy) -> None:
    assert socks5_proxy_auth.password and socks5_proxy_auth.password in socks5_proxy_auth.url
    async with Scripted(dialog()) as smtp:
        banner = await banner_through(socks5_proxy_auth.url, smtp.host, smtp.port)
    assert banner == BANNER
    assert len(socks5_proxy_auth.tunnels_to(smtp.port)) == 1, socks5_proxy_auth.log_text()


@pytest.mark.parametrize("credentials", ["none", "wrong-password"])
async def test_pproxy_refuses_bad_credentials_by_closing(
    socks5_proxy_auth: SocksProxy, credentials: str
) -> None:
    """pproxy's refusal is a closed connection, not an RFC 1928/1929 failure reply."""
    proxy = socks5_proxy_auth
    url = (
        proxy.url_without_credentials
        if credentials == "none"
        else f"socks5://{proxy.username}:not-{proxy.password}@{proxy.host}:{proxy.port}"
    )
    async with Scripted(dialog()) as smtp:
        with pytest.raises(ProxyError) as caught:
            await banner_through(url, smtp.host, smtp.port)
    assert caught.value.error_code is None
    assert smtp.connections == 0


async def test_pproxy_refused_destination_is_success_then_end_of_file(
    socks5_proxy: SocksProxy,
) -> None:
    """pproxy says "succeeded" before it connects onward: a refusal arrives as EOF."""
    port = free_port()  # nothing listens here
    sock = await Proxy.from_url(socks5_proxy.url).connect(
        dest_host="127.0.0.1", dest_port=port, timeout=GUARD
    )
    reader, writer = await asyncio.open_connection(sock=sock)
    try:
        assert await asyncio.wait_for(reader.read(), GUARD) == b""
    finally:
        writer.close()
        await writer.wait_closed()
    assert len(socks5_proxy.tunnels_to(port)) == 1, socks5_proxy.log_text()


# -- the scripted server: success ---------------------------------------------------


async def test_scripted_relay_records_the_request() -> None:
    async with Scripted(dialog()) as smtp, ScriptedSocks() as proxy:
        banner = await banner_through(proxy.url, smtp.host, smtp.port)
    assert banner == BANNER
    assert smtp.commands() == ["QUIT"]
    (request,) = proxy.requests
    assert request.methods == bytes([0x00])  # no credentials given: only "no auth" offered
    assert (request.address_type, request.host, request.port) == (ATYP_IPV4, "127.0.0.1", smtp.port)
    assert request.username is None


async def test_scripted_relay_with_credentials_and_a_name() -> None:
    """A host name is passed to the proxy (remote DNS), with RFC 1929 credentials."""
    async with (
        Scripted(dialog()) as smtp,
        ScriptedSocks(credentials=("alice", "pa55")) as proxy,
    ):
        banner = await banner_through(proxy.url, "localhost", smtp.port)
    assert banner == BANNER
    (request,) = proxy.requests
    assert 0x02 in request.methods
    assert (request.username, request.password) == ("alice", "pa55")
    assert (request.address_type, request.host) == (ATYP_DOMAIN, "localhost")


async def test_scripted_relay_refuses_non_loopback_destinations() -> None:
    """The safety rule: nothing is relayed off this machine (reply 0x02)."""
    async with ScriptedSocks() as proxy:
        with pytest.raises(ProxyError) as caught:
            await banner_through(proxy.url, "192.0.2.1", 25)
    assert caught.value.error_code == ReplyCode.NOT_ALLOWED
    assert proxy.requests[0].host == "192.0.2.1"


async def test_scripted_relay_reports_a_refused_destination() -> None:
    """Unlike pproxy, an onward refusal is reply 0x05 before any data."""
    port = free_port()
    async with ScriptedSocks() as proxy:
        with pytest.raises(ProxyError) as caught:
            await banner_through(proxy.url, "127.0.0.1", port)
    assert caught.value.error_code == ReplyCode.CONNECTION_REFUSED


# -- the scripted server: every failure -----------------------------------------------


@pytest.mark.parametrize(
    "code", [code for code in ReplyCode if code is not ReplyCode.SUCCEEDED], ids=lambda c: c.name
)
async def test_scripted_failure_reply(code: ReplyCode) -> None:
    async with Scripted(dialog()) as smtp, ScriptedSocks(Behaviour.REPLY, code) as proxy:
        with pytest.raises(ProxyError) as caught:
            await banner_through(proxy.url, smtp.host, smtp.port)
    assert caught.value.error_code == code
    assert proxy.requests[0].port == smtp.port  # the request was read, then refused
    assert smtp.connections == 0


@pytest.mark.parametrize(
    ("behaviour", "credentials", "message"),
    [
        (Behaviour.REJECT_METHODS, None, "No acceptable authentication methods"),
        (Behaviour.AUTH_FAILED, ("alice", "pa55"), "authentication failure"),
        (Behaviour.NOT_SOCKS5, None, "Unexpected SOCKS version"),
        (Behaviour.DROP_AT_GREETING, None, "Connection closed unexpectedly"),
        (Behaviour.DROP_AT_REQUEST, None, "Connection closed unexpectedly"),
    ],
    ids=["methods-rejected", "auth-failed", "not-socks5", "drop-at-greeting", "drop-at-request"],
)
async def test_scripted_handshake_failure(
    behaviour: Behaviour, credentials: tuple[str, str] | None, message: str
) -> None:
    async with (
        Scripted(dialog()) as smtp,
        ScriptedSocks(behaviour, credentials=credentials) as proxy,
    ):
        url = proxy.url
        with pytest.raises(ProxyError) as caught:
            await banner_through(url, smtp.host, smtp.port)
    assert message in str(caught.value)
    assert caught.value.error_code is None
    assert smtp.connections == 0
    if behaviour is Behaviour.AUTH_FAILED:
        assert (proxy.requests[0].username, proxy.requests[0].password) == credentials


async def test_scripted_wrong_credentials_fail_authentication() -> None:
    async with ScriptedSocks(credentials=("alice", "pa55")) as proxy:
        url = f"socks5://alice:guess@{proxy.host}:{proxy.port}"
        with pytest.raises(ProxyError, match="authentication failure"):
            await banner_through(url, "127.0.0.1", 25)
    assert proxy.requests[0].password == "guess"
    assert proxy.requests[0].port is None  # refused before any CONNECT request


async def test_scripted_credentials_required_but_not_offered() -> None:
    async with ScriptedSocks(credentials=("alice", "pa55")) as proxy:
        url = f"socks5://{proxy.host}:{proxy.port}"
        with pytest.raises(ProxyError, match="No acceptable authentication methods"):
            await banner_through(url, "127.0.0.1", 25)


@pytest.mark.parametrize("behaviour", [Behaviour.STALL_AT_GREETING, Behaviour.STALL_AT_REQUEST])
async def test_scripted_stall_hits_the_client_deadline(behaviour: Behaviour) -> None:
    async with Scripted(dialog()) as smtp, ScriptedSocks(behaviour) as proxy:
        with pytest.raises(ProxyTimeoutError):
            await banner_through(proxy.url, smtp.host, smtp.port, timeout=0.5)
    reached_request = behaviour is Behaviour.STALL_AT_REQUEST
    assert (proxy.requests[0].port == smtp.port) is reached_request
    assert smtp.connections == 0
