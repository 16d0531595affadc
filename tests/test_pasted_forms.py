"""A bounce explains the same however the admin got hold of it.

Admins rarely have the raw message: they paste a bounce quoted in a
colleague's reply (every line behind "> "), from Windows (CRLF line ends), or
copy what their mail client shows - the subject, the readable text and the delivery-status fields as
text, without headers or MIME. Every dev file of the bounce corpus
(tests/bounces/, never the held-out ones) is put in those forms and must get
each recipient right wherever the file itself does. Unit tests below pin the
pieces: taking quotes off, reading text followed by DSN fields, DSN fields
whose blank lines were lost, a reply code glued to an address. Pairs of dev
messages saved in one mbox must each explain as they do alone.
"""

from __future__ import annotations

import random
import time

import pytest

from knowledge.bounce import explain_input
from knowledge.dsn import field_blocks, recipients
from knowledge.human_part import find_addresses
from knowledge.mailmsg import input_kind, read_message, unquoted
from probe.explain_bounce import failure_json

from .bounce_corpus import cases, right_categories

DEV = cases("dev")


def _docs(data: bytes) -> list[dict]:
    result = explain_input(data)
    if result.failures:
        return [failure_json(f) for f in result.failures]
    return [{"category": r.annotation.category} for r in result.replies]


def quoted(raw: bytes) -> bytes:
    return b"".join(b"> " + line for line in raw.splitlines(keepends=True))


def crlf(raw: bytes) -> bytes:
    """Every line ending CRLF, as a paste from Windows or a file saved there."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def as_shown(raw: bytes) -> bytes | None:
    """Subject, readable text and DSN fields, as a mail client shows them."""
    if input_kind(raw.decode("utf-8", "surrogateescape")) != "message":
        return None
    msg = read_message(raw)
    return "\n\n".join([msg.subject, *msg.human, *msg.dsn]).encode("utf-8", "surrogateescape")


@pytest.mark.skipif(not DEV, reason="no bounce corpus")
@pytest.mark.parametrize("form", [quoted, as_shown, crlf], ids=["quoted", "as_shown", "crlf"])
def test_a_pasted_form_explains_as_the_file_does(form) -> None:  # type: ignore[no-untyped-def]
    worse = []
    for path, meta in DEV:
        raw = path.read_bytes()
        want = meta.get("recipient", [])
        data = form(raw)
        if data is None:
            continue
        base = right_categories(_docs(raw), want)
        got = right_categories(_docs(data), want)
        if any(b and not g for b, g in zip(base, got, strict=True)):
            worse.append(f"{path.name}: {sum(got)}/{len(got)}, the file {sum(base)}/{len(base)}")
    assert not worse, "\n".join(worse)


MBOX_FROM = b"From MAILER-DAEMON Fri Dec  4 10:00:00 2026\n"
MBOX_PAIRS = 80


def _boxed(raw: bytes) -> bytes:
    return raw if raw.startswith(b"From ") else MBOX_FROM + raw


def _answers(data: bytes) -> list[tuple[str, str]]:
    """(recipient, category) per result; replies and unnamed failures have ""."""
    result = explain_input(data)
    items = result.failures or result.replies
    return sorted(((getattr(i, "recipient", None) or "").lower(), i.annotation.category)
                  for i in items)


@pytest.mark.skipif(not DEV, reason="no bounce corpus")
def test_two_messages_in_one_mbox_are_explained_as_each_alone() -> None:
    """Admins save a folder of bounces: each message must get what it gets alone,
    also one that names no recipient beside one that does."""
    messages = [p.read_bytes() for p, _ in DEV]
    messages = [m for m in messages if explain_input(m).kind in ("message", "mbox")]
    rnd = random.Random(5)
    differ = []
    for _ in range(MBOX_PAIRS):
        first, second = (_boxed(m) for m in rnd.sample(messages, 2))
        want = sorted(_answers(first) + _answers(second))
        got = _answers(first.rstrip(b"\n") + b"\n\n" + second)
        if got != want:
            differ.append(f"{want} != {got}")
    assert not differ, "\n".join(differ[:5])


def test_an_mbox_message_without_recipients_keeps_its_replies() -> None:
    named = next(p for p, _ in DEV if p.name == "mdaemon-no-such-user.eml").read_bytes()
    unnamed = next(p for p, _ in DEV
                   if p.name == "gensmtp-forwarded-sendmail-unregistered-address.eml")
    alone = explain_input(unnamed.read_bytes())
    assert not alone.failures and alone.replies
    box = _boxed(named).rstrip(b"\n") + b"\n\n" + _boxed(unnamed.read_bytes())
    failures = explain_input(box).failures
    assert [f.message for f in failures] == [0] + [1] * len(alone.replies)
    assert [(f.code, f.annotation.category) for f in failures[1:]] == [
        (r.code, r.annotation.category) for r in alone.replies]


def test_a_short_paste_quoted_as_a_whole_comes_off() -> None:
    """Two lines, both quoted: fewer than a block, but nothing else was pasted."""
    pasted = b"> <bob@example.org>:\n>     The users mailfolder is over the allowed quota.\n"
    assert unquoted(pasted).startswith(b"<bob@example.org>:\n    The users")
    # Beside lines of the admin's own, two quoted lines stay as they are.
    mixed = b"See below.\nWhat does it mean?\nThanks\n" + pasted
    assert unquoted(mixed) == mixed


def test_quotes_come_off_every_level() -> None:
    text = (b"> > Final-Recipient: rfc822; bob@example.org\n> > Action: failed\n>\n"
            b"> > Status: 5.1.1\n")
    assert unquoted(text) == (b"Final-Recipient: rfc822; bob@example.org\nAction: failed\n\n"
                              b"Status: 5.1.1\n")


def test_a_few_quoted_lines_are_the_notice_s_own() -> None:
    notice = (b"   ----- Transcript of session follows -----\n"
              b"... while talking to mx.example.org.:\n"
              b">>> RCPT To:<bob@example.org>\n<<< 550 5.1.1 No such user\n"
              b"550 5.1.1 <bob@example.org>... User unknown\n")
    assert unquoted(notice) == notice


def test_a_reply_above_the_quoted_bounce_does_not_stop_it() -> None:
    bounce = (b"From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered Mail Returned to Sender\n"
              b"To: alice@example.com\n\n"
              b"<bob@example.org>: host mx.example.org[192.0.2.1] said: 550\n"
              b"    5.2.2 Mailbox full (in reply to RCPT TO command)\n")
    pasted = b"Why did this bounce?\n\nOn Fri, Alice wrote:\n" + quoted(bounce)
    (failure,) = explain_input(pasted).failures
    assert (failure.recipient, failure.annotation.category) == ("bob@example.org", "mailbox_full")


def test_hostile_quoting_finishes() -> None:
    start = time.monotonic()
    unquoted(b">" * 1_000_000 + b"\n" + b"> x\n" * 200_000)
    explain_input(b"> " * 500_000)
    assert time.monotonic() - start < 30  # a guard against a hang, not a speed test


def test_text_followed_by_dsn_fields_is_a_report() -> None:
    pasted = ("Your message could not be delivered.\n\n"
              "<carol@example.org> (mail from: list-bounces@example.com)\n\n"
              "Reporting-MTA: dns; mx.example.com\n\n"
              "Final-Recipient: rfc822; carol@example.org\nAction: failed\nStatus: 5.2.2\n"
              "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\n")
    (failure,) = explain_input(pasted).failures
    assert (failure.recipient, failure.evidence, failure.annotation.category) == (
        "carol@example.org", "dsn", "mailbox_full")


def test_a_report_cut_short_keeps_every_recipient_its_text_names() -> None:
    pasted = ("This is the mail system at host mx.example.com.\n"
              "<bob@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1 No such user\n"
              "    (in reply to RCPT TO command)\n"
              "<carol@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1 No such user\n"
              "    (in reply to RCPT TO command)\n"
              "Reporting-MTA: dns; mx.example.com\n"
              "Final-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.1.1\n")
    found = {(f.recipient, f.annotation.category) for f in explain_input(pasted).failures}
    assert found == {("bob@example.org", "user_unknown"), ("carol@example.org", "user_unknown")}


def test_a_repeated_field_starts_the_next_recipient() -> None:
    fields = ("Final-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.1.1\n"
              "Final-Recipient: rfc822; carol@example.org\nAction: delayed\nStatus: 4.2.2\n")
    got = [(r.final_recipient, r.status) for r in recipients(field_blocks(fields))]
    assert got == [("bob@example.org", "5.1.1"), ("carol@example.org", "4.2.2")]


def test_a_reply_code_glued_to_an_address_is_not_part_of_it() -> None:
    line = "    550-bob@example.org is not an active address at this host"
    assert [a for _s, _e, a in find_addresses(line)] == ["bob@example.org"]
    assert [a for _s, _e, a in find_addresses("x 5501-bob@example.org")] == ["5501-bob@example.org"]


def test_qmail_s_recipient_line_makes_pasted_text_per_recipient() -> None:
    pasted = ("Message from yahoo.com.\nUnable to deliver message to the following address(es).\n\n"
              "<bob@example.org>:\nSorry, your message to bob@example.org cannot be delivered."
              "  This account is over quota.\n\n"
              "<carol@example.org>:\nSorry, your message to carol@example.org cannot be delivered."
              "  This account has been disabled or discontinued.\n")
    found = [(f.recipient, f.annotation.category) for f in explain_input(pasted).failures]
    assert found == [("bob@example.org", "mailbox_full"), ("carol@example.org", "mailbox_disabled")]


def test_a_notice_without_a_reply_is_read_from_its_words_not_from_the_copy() -> None:
    """SMTP32's notice quotes no reply; the copy of the original below it has
    header lines with numbers in them, which are no reply of this failure."""
    pasted = ("Invalid final delivery userid: bob@example.jp\n\n\nOriginal message follows.\n\n"
              "Received: from mx.example.jp [192.0.2.47] by relay.example.jp\n"
              "  (SMTPD32-8.05) id AA4AAC21011A; Fri, 10 Mar 2006 09:37:30 +0900\n"
              "Subject: 250 reasons to read this\n")
    (failure,) = explain_input(pasted).failures
    assert (failure.recipient, failure.annotation.category) == ("bob@example.jp", "user_unknown")


def test_stalwart_s_sections_make_pasted_text_per_recipient() -> None:
    pasted = ("Your message has been partially delivered:\n\n"
              "    ----- Delivery to the following addresses failed -----\n"
              "<bob@example.org> (host 'mx.example.org' rejected command "
              "'RCPT TO:<bob@example.org>' with code 550 (5.1.2) 'User does not exist')\n")
    found = [(f.recipient, f.annotation.category) for f in explain_input(pasted).failures]
    assert found == [("bob@example.org", "user_unknown")]
