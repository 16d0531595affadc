"""How much MIME structure the bounce reader lets the email package build.

The email package builds one Message per MIME part and, inside a
message/delivery-status part, one per blank-line-separated block, each with
policy.default's slow header parsing. A crafted paste with tens of thousands of
bare delimiter lines or blank lines took seconds; these tests pin the limits
that keep it to a few hundred parts (speed itself is measured in bench/, and
tests/test_linear_time.py only guards against hangs).
"""

from __future__ import annotations

from knowledge.bounce import explain_input
from knowledge.mailmsg import MAX_PARTS, _limit_parts, read_message

HEAD = b'From: MAILER-DAEMON@x.example\nTo: a@x.example\nSubject: Undelivered\nMIME-Version: 1.0\n'


def test_parts_without_headers_are_counted_by_their_delimiters() -> None:
    data = (HEAD + b'Content-Type: multipart/mixed; boundary="b"\n\n'
            + b"--b\n\n550 5.1.1 <u@x.example>: no such user\n"
            + b"--b\n\nx\n" * 40_000 + b"--b--\n")
    kept = _limit_parts(data, MAX_PARTS)
    assert kept.count(b"\n--b\n") == MAX_PARTS
    assert explain_input(data).replies[0].annotation.category == "user_unknown"


def test_lines_that_only_look_like_delimiters_do_not_count() -> None:
    # "--bob" is not the boundary "b"; "----- Transcript" is no delimiter at all.
    body = b"--b\n\n" + b"--bob\n----- Transcript of session follows -----\n" * 2000 + b"--b--\n"
    data = HEAD + b'Content-Type: multipart/mixed; boundary="b"\n\n' + body
    assert _limit_parts(data, MAX_PARTS) == data


def test_a_quoted_boundary_with_dashes_is_found() -> None:
    data = (HEAD + b'Content-Type: multipart/mixed;\n boundary="----=_Part_1"\n\n'
            + b"------=_Part_1\n\nx\n" * (MAX_PARTS + 10))
    assert _limit_parts(data, MAX_PARTS).count(b"------=_Part_1\n") == MAX_PARTS


REPORT = (HEAD + b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\n\n'
          b"--r\n\nThe message could not be delivered.\n"
          b"--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.x.example\n"
          b"BLANKS"
          b"Final-Recipient: rfc822; u@x.example\nAction: failed\nStatus: 5.2.2\n"
          b"Diagnostic-Code: smtp; 552 5.2.2 <u@x.example>: mailbox\n full\n--r--\n")


def test_delivery_status_fields_after_many_blank_lines_are_read() -> None:
    for blanks in (b"\n", b"\r" * 50_000, b"\n" * 50_000):
        result = explain_input(REPORT.replace(b"BLANKS", blanks))
        (failure,) = result.failures
        assert failure.recipient == "u@x.example"
        assert failure.annotation.category == "mailbox_full"


def test_delivery_status_read_as_text_keeps_its_fields_and_folding() -> None:
    out = read_message(REPORT.replace(b"BLANKS", b"\n"))
    (fields,) = out.dsn
    assert "Final-Recipient: rfc822; u@x.example" in fields
    assert "Status: 5.2.2\n" in fields
    assert "mailbox\n full" in fields  # folded as sent; field_blocks unfolds it
