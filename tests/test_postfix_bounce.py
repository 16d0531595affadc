"""Bounces written by a real Postfix, explained per recipient.

A private Postfix (tests/postfix.py, relaying mode) accepts a message for
three recipients in remote.test and hands it to an aiosmtpd server on
loopback that rejects two of them the way real MTAs do. Postfix's bounce
daemon then writes its DSN (multipart/report: the human-readable part, the
message/delivery-status fields, the original's headers) and delivers it, to
the sender's domain sink.test, to the same aiosmtpd server, which keeps it.
That DSN, byte for byte as Postfix sent it, is what `probe explain` reads.
"""

from __future__ import annotations

import smtplib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from knowledge.bounce import explain_input
from tests import postfix

WAIT = 60.0  # seconds for Postfix to deliver, bounce and deliver the bounce
SENDER = f"sender@{postfix.SINK_DOMAIN}"
REJECTIONS = {
    f"nobody@{postfix.RELAY_DOMAIN}":
        "550 5.1.1 <nobody@remote.test>: Recipient address rejected: User unknown in "
        "virtual mailbox table",
    f"full@{postfix.RELAY_DOMAIN}": "552 5.2.2 <full@remote.test>: mailbox full, quota exceeded",
}
DELIVERED = f"alice@{postfix.RELAY_DOMAIN}"


class RemoteAndSink:
    """The remote MX (rejects some recipients) and the sender's MX (keeps bounces)."""

    def __init__(self) -> None:
        self.bounces: list[bytes] = []
        self._lock = threading.Lock()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, options: list) -> str:
        if address in REJECTIONS:
            return REJECTIONS[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if envelope.mail_from in ("", "<>") and SENDER in envelope.rcpt_tos:
            with self._lock:
                self.bounces.append(bytes(envelope.original_content or b""))
        return "250 2.0.0 Ok: queued"

    def wait_bounce(self) -> bytes:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with self._lock:
                if self.bounces:
                    return self.bounces[0]
            time.sleep(0.1)
        raise AssertionError("Postfix sent no bounce")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postfix_bounce() -> Iterator[bytes]:
    """The DSN a real Postfix wrote for one message to three remote recipients."""
    command = postfix.require_postfix()
    handler = RemoteAndSink()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(),
                            server_hostname="mx.remote.test")
    controller.start()
    try:
        instance = postfix.start_postfix(command, relay_port=controller.port)
        try:
            with smtplib.SMTP(instance.host, instance.port, timeout=30) as client:
                client.ehlo("client.sink.test")
                refused = client.sendmail(SENDER, [*REJECTIONS, DELIVERED],
                                          b"Subject: test\r\n\r\nhello\r\n")
                assert refused == {}
            yield handler.wait_bounce()
        finally:
            postfix.stop_postfix(instance)
    finally:
        controller.stop()


def test_postfix_dsn_gives_one_result_per_failed_recipient(postfix_bounce: bytes) -> None:
    result = explain_input(postfix_bounce)
    assert result.kind == "message"
    failures = {f.recipient: f for f in result.failures}
    assert set(failures) == set(REJECTIONS)  # alice was delivered: not a failure
    unknown = failures[f"nobody@{postfix.RELAY_DOMAIN}"]
    assert (unknown.code, unknown.status, unknown.action) == (550, "5.1.1", "failed")
    assert unknown.evidence == "dsn"
    assert unknown.stage == "rcpt"  # "(in reply to RCPT TO command)" in the human part
    assert unknown.remote_mta == "127.0.0.1"
    assert unknown.reporting_mta == postfix.MYHOSTNAME
    assert unknown.annotation.category == "user_unknown"
    full = failures[f"full@{postfix.RELAY_DOMAIN}"]
    assert (full.code, full.status, full.annotation.category) == (552, "5.2.2", "mailbox_full")


def test_postfix_dsn_without_its_delivery_status_part(postfix_bounce: bytes) -> None:
    """The human-readable part alone still names each recipient and its reply."""
    separator = b"--" + postfix_bounce.split(b'boundary="', 1)[1].split(b'"', 1)[0]
    parts = postfix_bounce.split(separator)
    human_only = separator.join(p for p in parts if b"message/delivery-status" not in p[:200])
    failures = {f.recipient: f for f in explain_input(human_only).failures}
    assert set(failures) == set(REJECTIONS)
    assert {f.evidence for f in failures.values()} == {"human"}
    assert failures[f"nobody@{postfix.RELAY_DOMAIN}"].annotation.category == "user_unknown"
    assert failures[f"full@{postfix.RELAY_DOMAIN}"].annotation.category == "mailbox_full"
