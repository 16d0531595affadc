"""Bounces written by a real Postfix, explained per recipient.

A private Postfix (tests/postfix.py, relaying mode) accepts a message for
three recipients in remote.test and hands it to an aiosmtpd server on
loopback (tests/remote_sink.py) that rejects two of them the way real MTAs do. Postfix's bounce
daemon then writes its DSN (multipart/report: the human-readable part, the
message/delivery-status fields, the original's headers) and delivers it, to
the sender's domain sink.test, to the same aiosmtpd server, which keeps it.
That DSN, byte for byte as Postfix sent it, is what `probe explain` reads.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from knowledge.bounce import explain_input
from tests import postfix
from tests.remote_sink import remote_and_sink

WAIT = 60.0  # seconds for Postfix to deliver, bounce and deliver the bounce
SENDER = f"sender@{postfix.SINK_DOMAIN}"
REJECTIONS = {
    f"nobody@{postfix.RELAY_DOMAIN}":
        "550 5.1.1 <nobody@remote.test>: Recipient address rejected: User unknown in "
        "virtual mailbox table",
    f"full@{postfix.RELAY_DOMAIN}": "552 5.2.2 <full@remote.test>: mailbox full, quota exceeded",
}
DELIVERED = f"alice@{postfix.RELAY_DOMAIN}"


@pytest.fixture(scope="module")
def postfix_bounce() -> Iterator[bytes]:
    """The DSN a real Postfix wrote for one message to three remote recipients."""
    command = postfix.require_postfix()
    with remote_and_sink(REJECTIONS) as (remote, port):
        instance = postfix.start_postfix(command, relay_port=port)
        try:
            with smtplib.SMTP(instance.host, instance.port, timeout=30) as client:
                client.ehlo("client.sink.test")
                refused = client.sendmail(SENDER, [*REJECTIONS, DELIVERED],
                                          b"Subject: test\r\n\r\nhello\r\n")
                assert refused == {}
            bounces = remote.wait_bounces(bool, WAIT)
            assert bounces, "Postfix sent no bounce"
            yield bounces[0]
        finally:
            postfix.stop_postfix(instance)


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
