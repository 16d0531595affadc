"""Every corpus reply, refused at RCPT and bounced by a real Postfix and a real Exim.

A bounce is the same reply in another wrapping: the MTA that gave up quotes
it in its prose and its DSN fields, folds it, joins a multi-line reply, adds
words of its own ("(in reply to RCPT TO command)", ": retry timeout
exceeded") and may replace its enhanced code in Status. Explaining the
bounce must give each recipient what the reply itself gives at RCPT: the
same code and the same category, with the stage read from the MTA's words.

The replies are every 4xx/5xx line of tests/corpus/ that a server sends at
RCPT or at no stage in particular (about 2,400), each the refusal of its
own recipient (`rN@remote.test`), sent byte for byte by the loopback server
of tests/remote_sink.py. 421 is left out: it closes the session, so the
MTA gives the recipients after it that reply without asking. Temporary
refusals are tried once and then bounced (both MTAs are configured so),
as after days of retries. Recipients go 100 to a message: a bounce's
prose is read up to 64 KB (knowledge/human_part.py), and a hundred
recipients' paragraphs stay within it.

First run (2026-12-05): Postfix agreed on every line; Exim on every
permanent refusal and on none of the 400-odd temporary ones, which its
": retry timeout exceeded" turned into an unreachable host
(`knowledge/extract.py` now takes those words off a quoted reply).
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import knowledge
from knowledge.bounce import RecipientFailure, explain_input
from tests import exim_relay, postfix
from tests.remote_sink import RemoteAndSink, remote_and_sink, wire_reply
from tests.test_corpus import CORPUS, _stage, reply_text

PER_MESSAGE = 100
WAIT = 120.0  # seconds for every bounce to arrive
SENDER = "sender@sink.test"

LINES = [e for e in CORPUS
         if e["code"] // 100 in (4, 5) and e["code"] != 421 and _stage(e) in (None, "rcpt")]
REJECTIONS = {f"r{i}@remote.test": wire_reply(e["code"], e["text"]) for i, e in enumerate(LINES)}


def _failures(bounces: list[bytes]) -> dict[str, RecipientFailure]:
    out: dict[str, RecipientFailure] = {}
    for bounce in bounces:
        for failure in explain_input(bounce).failures:
            out.setdefault(str(failure.recipient), failure)
    return out


def _all_bounced(bounces: list[bytes]) -> bool:
    return len(_failures(bounces)) >= len(REJECTIONS)


def _batches() -> Iterator[list[str]]:
    recipients = list(REJECTIONS)
    for start in range(0, len(recipients), PER_MESSAGE):
        yield recipients[start:start + PER_MESSAGE]


def _through_postfix(remote: RemoteAndSink, port: int) -> None:
    instance = postfix.start_postfix(postfix.require_postfix(), relay_port=port)
    try:
        with smtplib.SMTP(instance.host, instance.port, timeout=30) as client:
            client.ehlo("client.sink.test")
            for batch in _batches():
                assert client.sendmail(SENDER, batch, b"Subject: test\r\n\r\nhello\r\n") == {}
        remote.wait_bounces(_all_bounced, WAIT)
    finally:
        postfix.stop_postfix(instance)


def _through_exim(remote: RemoteAndSink, port: int) -> None:
    binary = exim_relay.require_exim()
    for batch in _batches():
        exim_relay.send_and_bounce(binary, port, SENDER, batch)
    remote.wait_bounces(_all_bounced, WAIT)


MTAS: dict[str, Callable[[RemoteAndSink, int], None]] = {
    "postfix": _through_postfix, "exim": _through_exim}


@pytest.fixture(scope="module", params=sorted(MTAS))
def bounced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            ) -> dict[str, RecipientFailure]:
    """Each recipient's failure as explained from the bounces one MTA wrote."""
    with remote_and_sink(REJECTIONS) as (remote, port):
        MTAS[request.param](remote, port)
        bounces = remote.wait_bounces(_all_bounced, 0)
    # Kept for a failing run: the bounces, byte for byte, beside pytest's temp files.
    kept = tmp_path_factory.mktemp(f"{request.param}-bounces")
    for index, bounce in enumerate(bounces):
        Path(kept / f"{index}.eml").write_bytes(bounce)
    return _failures(bounces)


def test_every_refused_recipient_is_in_a_bounce(bounced: dict[str, RecipientFailure]) -> None:
    assert sorted(set(REJECTIONS) - set(bounced)) == []


def test_each_recipient_gets_what_its_reply_gets_at_rcpt(
        bounced: dict[str, RecipientFailure]) -> None:
    differ = []
    for index, entry in enumerate(LINES):
        failure = bounced.get(f"r{index}@remote.test")
        if failure is None:
            continue  # the test above names it
        bare = knowledge.explain_reply(entry["code"], reply_text(entry["text"]), "rcpt")
        got = (failure.code, failure.stage, failure.annotation.category)
        if got != (entry["code"], "rcpt", bare.category):
            differ.append(f"{entry['text'][:80]!r}: reply alone {bare.category} "
                          f"({bare.matched}); bounce {got} ({failure.annotation.matched})")
    assert differ == [], f"{len(differ)} of {len(LINES)} differ:\n" + "\n".join(differ[:20])
