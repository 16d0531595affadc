"""The private aiosmtplib surface that probe/core/session.py relies on, pinned.

session.py drives aiosmtplib's SMTPProtocol directly (not the SMTP client
class) and subclasses it to tee every received chunk. None of that is public
API, so this file states, against real loopback sockets, each behaviour the
session depends on. If an aiosmtplib upgrade breaks one of these, the session
must be reviewed before the version pin is moved.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
import ssl
import struct
from importlib.metadata import version

import pytest
from aiosmtplib.errors import (
    SMTPException,
    SMTPReadTimeoutError,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)
from aiosmtplib.protocol import MAX_LINE_LENGTH, MAX_RESPONSE_LENGTH, SMTPProtocol
from aiosmtplib.response import SMTPResponse

from probe.core.wire import Tee, TeeProtocol
from tests.conftest import server_context
from tests.smtpserver import Scripted

HANG_GUARD = 30


@contextlib.asynccontextmanager
async def connected(script):
    """A scripted server and a TeeProtocol connected to it."""
    async with Scripted(script) as server:
        loop = asyncio.get_running_loop()
        tee = Tee()
        _, protocol = await loop.create_connection(lambda: TeeProtocol(tee, loop),
                                                   "127.0.0.1", server.port)
        try:
            yield server, tee, protocol
        finally:
            if protocol.transport is not None:
                protocol.transport.close()
            if server.tasks:  # let the script see the close (Scripted cancels the rest)
                await asyncio.wait(list(server.tasks), timeout=2)


async def wait_eof(reader) -> None:
    while await reader.read(65536):
        pass


def greeting_then(*chunks: bytes, then_wait: bool = True):
    async def script(reader, writer, server):
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
        if then_wait:
            await wait_eof(reader)

    return script


# -- version and constructor ------------------------------------------------------


def test_installed_version_is_in_the_pinned_range():
    parts = tuple(int(p) for p in version("aiosmtplib").split(".")[:3])
    assert (5, 1, 3) <= parts < (5, 2, 0)


def test_protocol_constructor_and_surface():
    params = inspect.signature(SMTPProtocol.__init__).parameters
    assert "loop" in params
    assert params["loop"].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                   inspect.Parameter.KEYWORD_ONLY)
    for name in ("data_received", "read_response", "execute_command", "start_tls",
                 "eof_received", "connection_lost"):
        assert callable(getattr(SMTPProtocol, name)), name
    assert isinstance(SMTPProtocol.is_connected, property)
    assert "timeout" in inspect.signature(SMTPProtocol.read_response).parameters
    assert "timeout" in inspect.signature(SMTPProtocol.execute_command).parameters
    start_tls = inspect.signature(SMTPProtocol.start_tls).parameters
    assert list(start_tls)[:2] == ["self", "tls_context"]
    assert {"server_hostname", "timeout"} <= set(start_tls)
    assert (MAX_LINE_LENGTH, MAX_RESPONSE_LENGTH) == (8192, 32768)


async def test_tee_protocol_constructs_with_keyword_loop():
    loop = asyncio.get_running_loop()
    protocol = TeeProtocol(Tee(), loop)
    assert isinstance(protocol, SMTPProtocol)
    assert protocol.transport is None and protocol.is_connected is False
    assert isinstance(protocol._buffer, bytearray)


def test_exception_hierarchy_the_session_catches_in_order():
    assert issubclass(SMTPReadTimeoutError, SMTPTimeoutError)
    # SMTPTimeoutError is a TimeoutError: Session.run's host-budget handler
    # would swallow one that escaped a step, so each step must catch its own.
    assert issubclass(SMTPTimeoutError, TimeoutError)
    # SMTPServerDisconnected is a ConnectionError: it must be caught before
    # the generic ConnectionError branch to keep its message.
    assert issubclass(SMTPServerDisconnected, ConnectionError)
    assert not issubclass(SMTPResponseException, ConnectionError)
    assert not issubclass(ssl.SSLError, SMTPException)  # TLS errors are not wrapped
    exc = SMTPResponseException(-1, "Response too long")
    assert (exc.code, exc.message) == (-1, "Response too long")


# -- read_response ----------------------------------------------------------------


async def test_read_response_returns_code_and_joined_text_and_the_tee_sees_bytes():
    raw = b"220-mx.test first\r\n220 second line \r\n"
    async with connected(greeting_then(raw)) as (_, tee, protocol):
        response = await protocol.read_response(timeout=5)
        assert isinstance(response, SMTPResponse)
        assert response.code == 220
        assert response.message == "mx.test first\nsecond line"  # stripped and joined
        assert bytes(tee.data) == raw  # the raw bytes are only in the tee


async def test_read_response_deadline_is_for_the_whole_reply():
    async def trickle(reader, writer, server):
        for byte in b"220 " + b"x" * 200 + b"\r\n":
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.05)

    async with connected(trickle) as (_, tee, protocol):
        with pytest.raises(SMTPReadTimeoutError):
            await asyncio.wait_for(protocol.read_response(timeout=0.5), HANG_GUARD)
        assert tee.data.startswith(b"220 x")  # bytes kept coming; the deadline still fired
        assert len(tee.data) < 206


async def test_read_response_on_silence_times_out_with_nothing_received():
    async with connected(greeting_then()) as (_, tee, protocol):
        with pytest.raises(SMTPReadTimeoutError):
            await protocol.read_response(timeout=0.2)
        assert tee.data == b""


async def test_loose_codes_are_numbers_to_aiosmtplib():
    """Why reply.frame re-validates: aiosmtplib's int() accepts these."""
    async with connected(greeting_then(b"-12 odd\r\n")) as (_, _tee, protocol):
        assert (await protocol.read_response(timeout=5)).code == -12
    async with connected(greeting_then(b"2500 odd\r\n")) as (_, _tee, protocol):
        assert (await protocol.read_response(timeout=5)).code == 250


@pytest.mark.parametrize(("payload", "fragment"), [
    (b"220 " + b"a" * 9000 + b"\r\n", "Response too long"),
    (b"220 " + b"a" * 40_000, "Response too long"),
    (b"250-spam\r\n" * 4000, "Response too long"),
    (b"HTTP/1.1 400 Bad Request\x1b]0;x\x07\r\n", "Malformed SMTP response line"),
])
async def test_overlong_and_garbage_replies_raise_code_minus_one(payload, fragment):
    async with connected(greeting_then(payload)) as (_, tee, protocol):
        with pytest.raises(SMTPResponseException) as caught:
            await protocol.read_response(timeout=5)
        assert caught.value.code == -1
        assert fragment in caught.value.message
        assert len(tee.data) >= min(len(payload), MAX_RESPONSE_LENGTH)


async def test_eof_mid_reply_is_server_disconnected_and_drops_the_lines():
    script = greeting_then(b"250-first\r\n250-second\r\n", then_wait=False)
    async with connected(script) as (_, tee, protocol):
        with pytest.raises(SMTPServerDisconnected):
            await protocol.read_response(timeout=5)
        assert bytes(tee.data) == b"250-first\r\n250-second\r\n"  # only the tee has them


async def test_data_arriving_while_idle_is_dropped_but_teed():
    """5.1.3: unsolicited bytes between commands are not paired with the next command."""
    go = asyncio.Event()

    async def script(reader, writer, server):
        writer.write(b"220 mx.test\r\n")
        await writer.drain()
        await go.wait()
        writer.write(b"250 UNSOLICITED\r\n")
        await writer.drain()
        await reader.readline()
        writer.write(b"250 real\r\n")
        await writer.drain()
        await wait_eof(reader)

    async with connected(script) as (_, tee, protocol):
        assert (await protocol.read_response(timeout=5)).code == 220
        go.set()
        async with asyncio.timeout(HANG_GUARD):
            while b"UNSOLICITED" not in tee.data:
                await asyncio.sleep(0.01)
        assert protocol._buffer == b""
        response = await protocol.execute_command(b"NOOP", timeout=5)
        assert response.message == "real"


async def test_two_replies_in_one_segment_leave_the_second_in_the_buffer():
    async with connected(greeting_then(b"220 a\r\n250 EXTRA\r\n")) as (_, tee, protocol):
        assert (await protocol.read_response(timeout=5)).message == "a"
        assert bytes(protocol._buffer) == b"250 EXTRA\r\n"  # would pair with the next command
        assert bytes(tee.data) == b"220 a\r\n250 EXTRA\r\n"


# -- execute_command ----------------------------------------------------------------


async def test_execute_command_joins_args_and_returns_the_reply():
    async def script(reader, writer, server):
        writer.write(b"220 mx.test\r\n")
        await writer.drain()
        while line := await reader.readline():
            writer.write(b"250-ok\r\n250 " + line.strip() + b"\r\n")
            await writer.drain()

    async with connected(script) as (server, _tee, protocol):
        await protocol.read_response(timeout=5)
        response = await protocol.execute_command(b"MAIL FROM:<a@b.test>", timeout=5)
        assert response.code == 250
        assert response.message == "ok\nMAIL FROM:<a@b.test>"
        await protocol.execute_command(b"EHLO", b"probe.test", timeout=5)
        assert server.commands() == ["MAIL FROM:<a@b.test>", "EHLO probe.test"]
        assert bytes(server.received) == b"MAIL FROM:<a@b.test>\r\nEHLO probe.test\r\n"


@pytest.mark.parametrize("arg", [b"RCPT TO:<a@b>\r\nDATA", b"x\x00y", b"x\ny", b"x\x7f",
                                 b"x\x1b[2J"])
async def test_execute_command_refuses_control_characters_before_writing(arg):
    async with connected(greeting_then(b"220 mx.test\r\n")) as (server, _tee, protocol):
        await protocol.read_response(timeout=5)
        with pytest.raises(ValueError):
            await protocol.execute_command(arg, timeout=5)
        await asyncio.sleep(0.05)
    assert server.received == b""


async def test_execute_command_read_timeout_does_not_close_the_transport():
    """The session, not aiosmtplib, closes after a timeout (usable=False, transport.close)."""
    async with connected(greeting_then(b"220 mx.test\r\n")) as (_, _tee, protocol):
        await protocol.read_response(timeout=5)
        with pytest.raises(SMTPReadTimeoutError):
            await protocol.execute_command(b"NOOP", timeout=0.2)
        assert protocol.is_connected


def reset(writer) -> None:
    """Close with an RST (SO_LINGER 0), not a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def test_quit_answered_by_a_reset_yields_a_synthetic_221():
    """Why the session re-frames QUIT from the tee: aiosmtplib invents `221 ''` (#345)."""
    async def script(reader, writer, server):
        writer.write(b"220 mx.test\r\n")
        await writer.drain()
        await reader.readline()
        reset(writer)

    async with connected(script) as (_, tee, protocol):
        await protocol.read_response(timeout=5)
        response = await protocol.execute_command(b"QUIT", timeout=5)
        assert (response.code, response.message) == (221, "")  # synthetic
        assert bytes(tee.data) == b"220 mx.test\r\n"  # the server never said 221


async def test_quit_answered_by_a_fin_is_server_disconnected():
    async def script(reader, writer, server):
        writer.write(b"220 mx.test\r\n")
        await writer.drain()
        await reader.readline()

    async with connected(script) as (_, _tee, protocol):
        await protocol.read_response(timeout=5)
        with pytest.raises(SMTPServerDisconnected):
            await protocol.execute_command(b"QUIT", timeout=5)


# -- start_tls ----------------------------------------------------------------------


def starttls_server(context: ssl.SSLContext | None, reply: bytes = b"220 go ahead\r\n",
                    seen_sni: list | None = None):
    async def script(reader, writer, server):
        writer.write(b"220 mx.test\r\n")
        await writer.drain()
        while line := await reader.readline():
            if line.startswith(b"STARTTLS"):
                writer.write(reply)
                await writer.drain()
                if context is None:
                    await wait_eof(reader)
                    return
                if not reply.startswith(b"220"):
                    continue
                await writer.start_tls(context)
                continue
            text = b"real EHLO over TLS" if line.startswith(b"EHLO") else b"ok"
            writer.write(b"250 " + text + b"\r\n")
            await writer.drain()

    return script


async def test_start_tls_upgrades_and_the_tee_sees_decrypted_bytes(ca):
    context = server_context(ca, "mx.contract.test")
    sni: list[str | None] = []
    context.sni_callback = lambda _obj, name, _ctx: sni.append(name)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    async with connected(starttls_server(context)) as (_, tee, protocol):
        await protocol.read_response(timeout=5)
        response = await protocol.start_tls(client, server_hostname="mx.contract.test",
                                            timeout=5)
        assert (response.code, response.message) == (220, "go ahead")
        ssl_object = protocol.transport.get_extra_info("ssl_object")
        assert isinstance(ssl_object, ssl.SSLObject)
        assert ssl_object.getpeercert(binary_form=True)
        assert sni == ["mx.contract.test"]
        ehlo = await protocol.execute_command(b"EHLO", b"probe.test", timeout=5)
        assert ehlo.message == "real EHLO over TLS"
        assert tee.data.endswith(b"250 real EHLO over TLS\r\n")  # plaintext in the tee


async def test_start_tls_discards_plaintext_injected_after_the_220(ca):
    context = server_context(ca, "127.0.0.1")
    client = ssl.create_default_context()
    ca.configure_trust(client)
    injected = b"220 go ahead\r\n250-INJECTED.evil\r\n250 AUTH PLAIN\r\n"
    async with connected(starttls_server(context, injected)) as (_, tee, protocol):
        await protocol.read_response(timeout=5)
        await protocol.start_tls(client, timeout=5)
        assert protocol._buffer == b""
        ehlo = await protocol.execute_command(b"EHLO", b"probe.test", timeout=5)
        assert ehlo.message == "real EHLO over TLS"
        assert b"INJECTED.evil" in tee.data  # discarded by aiosmtplib, kept by the tee


async def test_start_tls_refused_raises_the_reply_and_stays_connected():
    script = starttls_server(None, b"454 4.7.0 TLS not available\r\n")
    async with connected(script) as (_, _tee, protocol):
        await protocol.read_response(timeout=5)
        with pytest.raises(SMTPResponseException) as caught:
            await protocol.start_tls(ssl.create_default_context(), timeout=5)
        assert caught.value.code == 454
        assert protocol.is_connected


async def test_start_tls_handshake_silence_is_an_smtp_timeout():
    async with connected(starttls_server(None)) as (_, _tee, protocol):
        await protocol.read_response(timeout=5)
        with pytest.raises(SMTPTimeoutError):
            await asyncio.wait_for(
                protocol.start_tls(ssl.create_default_context(), timeout=0.5), HANG_GUARD)


async def test_start_tls_against_plaintext_raises_a_raw_ssl_error():
    async def script(reader, writer, server):
        writer.write(b"220 mx.test\r\n")
        await writer.drain()
        await reader.readline()
        writer.write(b"220 go ahead\r\n")
        await writer.drain()
        await reader.read(1)
        writer.write(b"500 this is not TLS\r\n")
        await writer.drain()
        await wait_eof(reader)

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    async with connected(script) as (_, _tee, protocol):
        await protocol.read_response(timeout=5)
        with pytest.raises(ssl.SSLError) as caught:
            await protocol.start_tls(context, timeout=5)
        assert caught.value.reason == "WRONG_VERSION_NUMBER"
