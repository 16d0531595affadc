"""Two recipients, two different replies, in one notice: each keeps its own.

A notice for several recipients quotes a reply under each of them, and the
parser must hand every recipient its own: a reply read under the wrong
address, or wording borrowed from the text around another recipient, gives
a recipient a cause it never had. Random pairs of the labelled corpus's
failure replies are put into the notices of Postfix (with and without its
delivery-status fields), Exim, qmail, Sendmail, Gmail, OpenSMTPD and Exchange
(the three ways its versions quote a remote reply), and each recipient must get
the category the classifier gives its bare reply - at the stage the notice
states, or without one where the notice states none (Exchange, Gmail).
"""

from __future__ import annotations

import random
import textwrap
from collections.abc import Callable

import pytest

import knowledge
from knowledge.bounce import explain_input

from .test_bounce import opensmtpd_notice
from .test_wrapped_replies import FAILURES, _joined, _lines

Pair = list[tuple[str, int, list[str]]]  # (recipient, code, reply lines) per recipient
A, B = "bob@example.org", "carol@example.net"
PAIRS = 120  # per form; the seed keeps the same pairs on every run


def _host(rcpt: str) -> str:
    return "mx." + rcpt.split("@")[1]


def _fold(line: str) -> str:
    return "\n".join(textwrap.wrap(line, 78, subsequent_indent="    ",
                                   break_long_words=False, break_on_hyphens=False))


def postfix(pairs: Pair) -> str:
    paragraphs = [_fold(f"<{r}>: host {_host(r)}[192.0.2.7] said: {_joined(c, lines)} "
                        "(in reply to RCPT TO command)") for r, c, lines in pairs]
    fields = [f"Final-Recipient: rfc822; {r}\nAction: failed\nStatus: {c // 100}.0.0\n"
              f"Remote-MTA: dns; {_host(r)}\n"
              + _fold(f"Diagnostic-Code: smtp; {_joined(c, lines)}") + "\n"
              for r, c, lines in pairs]
    return ("From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\n"
            "Subject: Undelivered Mail Returned to Sender\nTo: alice@example.com\n"
            "MIME-Version: 1.0\nContent-Type: multipart/report; "
            "report-type=delivery-status; boundary=\"B1\"\n\n"
            "--B1\nContent-Type: text/plain\n\nThis is the mail system at host "
            "mx.example.com.\n\n" + "\n\n".join(paragraphs) + "\n\n"
            "--B1\nContent-Type: message/delivery-status\n\n"
            "Reporting-MTA: dns; mx.example.com\n\n" + "\n".join(fields) + "\n--B1--\n")


def postfix_text(pairs: Pair) -> str:
    """The readable part alone, as an admin copies it from a mail client."""
    return postfix(pairs).split("Content-Type: text/plain\n\n")[1].split("\n--B1")[0]


def exim(pairs: Pair) -> str:
    blocks = []
    for r, c, lines in pairs:
        reply = "\n".join([*(f"    {c}-{x}" for x in lines[:-1]), f"    {c} {lines[-1]}"])
        blocks.append(f"  {r}\n    host {_host(r)} [192.0.2.7]\n"
                      f"    SMTP error from remote mail server after RCPT TO:<{r}>:\n{reply}")
    return ("From: Mail Delivery System <Mailer-Daemon@mx.example.com>\n"
            "Subject: Mail delivery failed: returning message to sender\n"
            "To: alice@example.com\n\nThis message was created automatically by mail "
            "delivery software.\n\nA message that you sent could not be delivered to one "
            "or more of its\nrecipients. This is a permanent error. The following "
            "address(es) failed:\n\n" + "\n\n".join(blocks) + "\n")


def qmail(pairs: Pair) -> str:
    blocks = [f"<{r}>:\n192.0.2.7 does not like recipient.\nRemote host said: "
              f"{_joined(c, lines)}\nGiving up on 192.0.2.7.\n" for r, c, lines in pairs]
    return ("From: MAILER-DAEMON@mx.example.com\nSubject: failure notice\n"
            "To: alice@example.com\n\nHi. This is the qmail-send program at "
            "mx.example.com.\nI'm afraid I wasn't able to deliver your message to the "
            "following addresses.\nThis is a permanent error; I've given up. Sorry it "
            "didn't work out.\n\n" + "\n".join(blocks))


def sendmail(pairs: Pair) -> str:
    reasons = "".join(f"<{r}>\n    (reason: {c} {lines[0]})\n" for r, c, lines in pairs)
    transcript = "".join(
        f"... while talking to {_host(r)}.:\n>>> RCPT To:<{r}>\n"
        + "".join(f"<<< {c}-{x}\n" for x in lines[:-1]) + f"<<< {c} {lines[-1]}\n"
        f"{c} {r}... {lines[-1][:60]}\n" for r, c, lines in pairs)
    return ("From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>\n"
            "Subject: Returned mail: see transcript for details\nTo: alice@example.com\n\n"
            "The original message was received at Fri, 4 Dec 2026 10:00:00 GMT\n"
            "from localhost [127.0.0.1]\n\n"
            "   ----- The following addresses had permanent fatal errors -----\n"
            + reasons + "\n   ----- Transcript of session follows -----\n" + transcript)


def _exchange(pairs: Pair, quoted: Callable[[str, int, list[str]], str]) -> str:
    top = "".join(f"{r}\nThe message couldn't be delivered.\n\n" for r, _, _ in pairs)
    diagnostic = "".join(f"{r}\n{quoted(r, c, lines)}\n\n" for r, c, lines in pairs)
    return ("From: postmaster@example.com\nSubject: Undeliverable: hello\n"
            "To: alice@example.com\n\nDelivery has failed to these recipients or groups:"
            "\n\n" + top + "Diagnostic information for administrators:\n\n"
            "Generating server: mx.example.com\n\n" + diagnostic)


def exchange(pairs: Pair) -> str:
    return _exchange(pairs, lambda r, c, lines:
                     f"{_host(r)}\nRemote Server returned '{_joined(c, lines)}'")


def exchange_hash(pairs: Pair) -> str:
    """Exchange 2010 and later: "mx.example.net #550 5.1.1 ... ##", enhanced code or not."""
    return _exchange(pairs, lambda r, c, lines: f"{_host(r)} #{_joined(c, lines)} ##")


def exchange_2003(pairs: Pair) -> str:
    """"<mx.example.com #5.0.0 smtp;550 ...>" under each recipient, addresses in replies too."""
    blocks = "".join(f"      {r} on 12/4/2026 10:00 AM\n            The e-mail system had a "
                     f"problem processing this message.\n            <mx.example.com "
                     f"#{c // 100}.0.0 smtp;{_joined(c, lines)}>\n\n" for r, c, lines in pairs)
    return ("From: System Administrator <postmaster@example.com>\n"
            "Subject: Undeliverable: hello\nTo: alice@example.com\n\n"
            "Your message did not reach some or all of the intended recipients.\n\n"
            "      Subject:  hello\n      Sent:     12/4/2026 10:00 AM\n\n"
            "The following recipient(s) could not be reached:\n\n" + blocks)


def gmail(pairs: Pair) -> str:
    blocks = "".join(
        f"Delivery to the following recipient failed permanently:\n\n     {r}\n\n"
        "Technical details of permanent failure:\nGoogle tried to deliver your message, "
        f"but it was rejected by the server for the recipient domain {r.split('@')[1]} by "
        f"{_host(r)}. [192.0.2.7].\n\nThe error that the other server returned was:\n"
        f"{_joined(c, lines)}\n\n" for r, c, lines in pairs)
    return ("From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
            "Subject: Delivery Status Notification (Failure)\nTo: alice@example.com\n\n"
            + blocks)


def opensmtpd(pairs: Pair) -> str:
    """One "address: reply" line per recipient, fields with Status only."""
    return opensmtpd_notice([(r, _joined(c, lines)) for r, c, lines in pairs]).decode()


FORMS = {"postfix": postfix, "postfix_text": postfix_text, "exim": exim, "qmail": qmail,
         "sendmail": sendmail, "exchange": exchange, "exchange_hash": exchange_hash,
         "exchange_2003": exchange_2003, "gmail": gmail, "opensmtpd": opensmtpd}
STATES_NO_STAGE = {"exchange", "exchange_hash", "exchange_2003", "gmail", "opensmtpd"}


def _bare(code: int, lines: list[str], stage: str | None) -> str:
    return knowledge.explain_reply(code, "\n".join(lines), stage).category


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_recipient_gets_its_own_reply(form: str) -> None:
    stage = None if form in STATES_NO_STAGE else "rcpt"
    rnd = random.Random(form)
    failures = [e for e in FAILURES if e["code"] // 100 == 5]
    wrong = []
    for _ in range(PAIRS):
        (c1, l1), (c2, l2) = (_lines(e) for e in rnd.sample(failures, 2))
        want = {A: _bare(c1, l1, stage), B: _bare(c2, l2, stage)}
        result = explain_input(FORMS[form]([(A, c1, l1), (B, c2, l2)]))
        got = {(f.recipient or "").lower(): f.annotation.category for f in result.failures}
        if got != want:
            wrong.append(f"want {want} got {got}: {l1[0][:50]!r} / {l2[0][:50]!r}")
    assert not wrong, f"{len(wrong)}/{PAIRS}:\n" + "\n".join(wrong[:10])


def test_exchange_s_hash_quote_is_a_reply_without_an_enhanced_code() -> None:
    [failure] = explain_input(_exchange([(A, 550, ["Sorry, no mailbox here by that name"])],
                                        lambda r, c, lines: f"{_host(r)} #{c} {lines[0]} ##")
                              ).failures
    assert (failure.code, failure.text) == (550, "Sorry, no mailbox here by that name")
    # A "#550" with neither an enhanced code nor the closing "##" stays a number.
    assert knowledge.explain_text("Order #550 shipped to you today") == []


def test_a_recipient_without_a_reply_does_not_read_another_s() -> None:
    """The text around the last recipient is the notice's common text too; a
    recipient with words of its own but no reply must not take its words."""
    notice = _exchange(
        [(A, 0, []), (B, 554, ["5.7.1 Message rejected as spam"])],
        lambda r, c, lines: f"{_host(r)} #{c} {lines[0]} ##" if lines else "Unknown error")
    got = {f.recipient: f for f in explain_input(notice).failures}
    assert got[B].annotation.category == "spam_content"
    assert got[A].annotation.category != "spam_content"
    assert got[A].code is None
