"""Whole bounces explained per failed recipient (knowledge.bounce and its parts).

Real bounces come from tests/bounces/ (each with its source); the messages
built here are the byte-exact corner cases: encodings split inside a code,
delivered recipients next to failed ones, hostile bytes, odd nesting.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import knowledge
from knowledge.bounce import MAX_INPUT, explain_input
from knowledge.dsn import field_blocks, recipients
from knowledge.html_text import html_to_text
from knowledge.human_part import cut_original, find_addresses, recipient_texts
from knowledge.mailmsg import input_kind, split_mbox

from .bounce_corpus import mbox_of

CORPUS = Path(__file__).parent / "bounces"


def corpus(name: str) -> bytes:
    return (CORPUS / f"{name}.eml").read_bytes()


def by_recipient(data: bytes) -> dict[str, object]:
    return {f.recipient: f for f in explain_input(data).failures}


REPORT = (
    b"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\n"
    b"To: sender@example.org\n"
    b"Subject: Undelivered Mail Returned to Sender\n"
    b"MIME-Version: 1.0\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n'
    b"\n"
    b"--B\n"
    b"Content-Type: text/plain; charset=us-ascii\n"
    b"Content-Transfer-Encoding: quoted-printable\n"
    b"\n"
    b"<bob@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.=\n"
    b"1 <bob@example.com>: Recipient address rejected: User unknown in local =\n"
    b"recipient table (in reply to RCPT TO command)\n"
    b"\n"
    b"--B\n"
    b"Content-Type: message/delivery-status\n"
    b"\n"
    b"Reporting-MTA: dns; mx.example.org\n"
    b"\n"
    b"Final-Recipient: rfc822; carol@example.com\n"
    b"Action: delivered\n"
    b"Status: 2.0.0\n"
    b"\n"
    b"Final-Recipient: rfc822; bob@example.com\n"
    b"Original-Recipient: rfc822;robert@example.com\n"
    b"Action: failed\n"
    b"Status: 5.1.1\n"
    b"Remote-MTA: dns; mx.example.com\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 <bob@example.com>: Recipient address\n"
    b"    rejected: User unknown in local recipient table\n"
    b"\n"
    b"Final-Recipient: rfc822; dave@example.net\n"
    b"Action: delayed\n"
    b"Status: 4.2.2\n"
    b"Diagnostic-Code: smtp; 452 4.2.2 <dave@example.net>: Mailbox full\n"
    b"\n"
    b"--B\n"
    b"Content-Type: text/rfc822-headers\n"
    b"\n"
    b"From: sender@example.org\n"
    b"To: bob@example.com, carol@example.com, dave@example.net\n"
    b"Subject: hello\n"
    b"\n"
    b"--B--\n"
)


def test_a_report_gives_one_result_per_failed_recipient() -> None:
    result = explain_input(REPORT)
    assert result.kind == "message"
    failures = {f.recipient: f for f in result.failures}
    assert set(failures) == {"bob@example.com", "dave@example.net"}  # carol was delivered
    bob = failures["bob@example.com"]
    assert (bob.original_recipient, bob.action, bob.status, bob.code) == (
        "robert@example.com", "failed", "5.1.1", 550)
    assert bob.remote_mta == "mx.example.com" and bob.reporting_mta == "mx.example.org"
    assert bob.evidence == "dsn"
    assert "local recipient table" in bob.text  # the folded Diagnostic-Code, unfolded
    assert bob.stage == "rcpt"  # from the human-readable copy of the same reply
    assert bob.annotation.category == "user_unknown"
    dave = failures["dave@example.net"]
    assert (dave.action, dave.code, dave.annotation.severity) == ("delayed", 452, "transient")


def _without_dsn(report: bytes) -> bytes:
    """The report with its message/delivery-status part taken out."""
    head, dsn_and_rest = report.split(b"--B\nContent-Type: message/delivery-status", 1)
    return head + b"--B" + dsn_and_rest.split(b"--B", 1)[1]


def test_quoted_printable_split_inside_the_code_is_decoded() -> None:
    bob = by_recipient(_without_dsn(REPORT))["bob@example.com"]
    assert (bob.code, bob.status, bob.evidence) == (550, "5.1.1", "human")  # "5.1.=\n1"
    assert bob.stage == "rcpt" and bob.remote_mta == "mx.example.com"


def test_the_senders_own_addresses_are_not_recipients() -> None:
    result = explain_input(_without_dsn(REPORT))
    assert [f.recipient for f in result.failures] == ["bob@example.com"]


@pytest.mark.parametrize(("name", "address", "category", "evidence"), [
    ("exchange2010-size-html", "john.smith@sample.net", "message_too_large", "dsn"),
    ("qmail-no-mailbox", "agris.brivers@motosports.lv", "user_unknown", "human"),
    ("qmail-godaddy-mailfolder-full", "rauschlo@frontfin.com", "mailbox_full", "prose"),
    ("dsn-wrapped-in-rfc822", "horu@ccc-ces.com", "user_unknown", "dsn"),
    ("kerio-unknown-user-base64", "evor@apollo.lv", "user_unknown", "human"),
    ("exchange2010-swedish-html", "customer.testemail@test-receive-domain.se",
     "user_unknown", "dsn"),
    ("postfix-webde-german", "fred.bloggs@web.de", "mailbox_full", "dsn"),
    ("xinnet-html-chinese", "mahau@cnbearing.com", "user_unknown", "prose"),  # HTML only
])
def test_real_bounces(name: str, address: str, category: str, evidence: str) -> None:
    found = by_recipient(corpus(name))
    assert address in found, found.keys()
    assert found[address].annotation.category == category
    assert found[address].evidence == evidence


def test_prose_in_another_language_is_found_and_marked() -> None:
    """The Spanish notice has no code: its sentence is the evidence, marked as prose."""
    [failure] = explain_input(corpus("qmail-prima-expired-es")).failures
    assert failure.recipient == "aracelibarrios@ubbi.com"
    assert failure.evidence == "prose" and failure.code is None and failure.status is None
    assert "Esta casilla ha expirado" in failure.text
    assert failure.annotation.category == "mailbox_disabled"


def test_an_mbox_gives_the_recipients_of_every_message() -> None:
    result = explain_input(mbox_of("sendmail-cox-rejected", "sendmail-yahoo-disabled"))
    assert result.kind == "mbox"
    assert [(f.message, f.recipient, f.annotation.category) for f in result.failures] == [
        (0, "recipient@example.net", "user_unknown"),
        (1, "recipient@example.net", "mailbox_disabled")]


def test_an_unregistered_code_in_a_bounce_says_so() -> None:
    [failure] = explain_input(corpus("xwall-5-9-8")).failures
    assert failure.recipient == "fred.bloggs@example.net"
    assert failure.status == "5.9.8"
    assert failure.annotation.enhanced_registered is False


def test_a_product_version_is_not_a_status() -> None:
    notice = (b"From: Postmaster@example.com\nTo: s@example.org\nSubject: DELIVERY FAILURE\n\n"
              b"Your message was not delivered to:\n  bob@example.com\nbecause:\n"
              b"  User bob (bob@example.com) not listed in Domino Directory\n\n"
              b"Lotus SMTP MTA v4.6.1 (693.3 8-11-1998)\n")
    [failure] = explain_input(notice).failures
    assert failure.status is None and failure.code is None
    assert failure.evidence == "prose"


def test_a_pasted_message_may_start_with_blank_lines() -> None:
    assert explain_input(b"\n  \n" + REPORT).kind == "message"


def test_an_exchange_delay_warning_pasted_is_read_per_recipient() -> None:
    """Exchange's delay warning opens with its own words, and names the host
    whose reply it quotes as "Remote Server at HOST (IP) returned"."""
    paste = ("Delivery is delayed to these recipients or groups:\n\nbob@example.com\n\n"
             "Diagnostic information for administrators:\n\nRemote Server at "
             "mx.example.com (192.0.2.1) returned '400 4.4.7 Message delayed'\n")
    [failure] = explain_input(paste).failures
    assert (failure.recipient, failure.action, failure.code, failure.remote_mta) == (
        "bob@example.com", "delayed", 400, "mx.example.com")


def test_a_notice_copied_without_the_blank_line_after_its_header_has_a_body() -> None:
    """A page quoting a notice flush left loses the blank line that ends the
    header; the body then starts at the first line that is no field, while a
    header line unfolded by the copy still counts as a header when a blank
    line follows."""
    flush = (b"From: postmaster@example.net\nTo: alice@example.org\n"
             b"Subject: Undeliverable: test\nYour message did not reach the following "
             b"recipient(s):\nbob@example.com on Mon, 17 Jan 2000 16:49:22 -0500\n"
             b"The recipient name is ambiguous.\nAmbiguous Recipient\n\n")
    [failure] = explain_input(flush).failures
    assert (failure.recipient, failure.annotation.category) == ("bob@example.com", "other")
    unfolded = (b"From: postmaster@example.net\nTo: alice@example.org\n"
                b"Subject: Undeliverable: a subject\nthe copy unfolded\n"
                b"Content-Type: text/plain\n\nbob@example.com: 550 5.1.1 no such user\n")
    [failure] = explain_input(unfolded).failures
    assert failure.recipient == "bob@example.com" and failure.code == 550


@pytest.mark.parametrize(("text", "kind"), [
    ("451 4.7.1 try later", "text"),
    ("Nov 22 07:15:32 mx postfix/smtp[1]: 4F3: to=<b@e.com>, status=bounced (said: 550 x y)",
     "text"),
    ("Action: failed\nStatus: 5.2.2\n", "text"),
    ("Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; a@b.example\nAction: failed\n"
     "Status: 5.1.1\n", "dsn"),
    ("Subject: hi\nFrom: a@b.example\n\nbody", "message"),
    ("From MAILER-DAEMON Mon Jan  1 00:00:00 2024\nFrom: a@b.example\n\nx", "mbox"),
    ("Subject: no blank line after me", "text"),
])
def test_input_kinds(text: str, kind: str) -> None:
    assert input_kind(text) == kind


def test_bare_dsn_fields_are_explained_per_recipient() -> None:
    pasted = (b"Final-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.2.2\n"
              b"Diagnostic-Code: smtp; 552 5.2.2 mailbox full\n")
    [failure] = explain_input(pasted).failures
    assert (failure.recipient, failure.code, failure.annotation.category) == (
        "a@b.example", 552, "mailbox_full")


def test_text_keeps_the_reply_by_reply_explanation() -> None:
    result = explain_input("550-5.1.1 no such user\n550 5.1.1 really\n451 4.3.0 later\n")
    assert result.kind == "text" and not result.failures
    assert [r.code for r in result.replies] == [550, 451]


def test_a_message_without_recipients_falls_back_to_its_replies() -> None:
    result = explain_input(b"From: a@b.example\nSubject: log\n\n"
                           b"host x said: 554 5.7.1 Service unavailable; blocked\n")
    assert not result.failures and result.replies[0].code == 554


def test_input_beyond_the_cap_is_not_read() -> None:
    result = explain_input(b"550 5.1.1 unknown user\n" + b"x" * MAX_INPUT)
    assert result.truncated and result.replies[0].code == 550


def test_hostile_bytes_do_not_break_the_parser() -> None:
    hostile = (b"From: \xff\xfe <a@b.example>\nTo: \x1b[31m@x\nSubject: =?bogus?Q?=FF?=\n"
               b'Content-Type: multipart/report; boundary="\x00"\n\n--\x00\n'
               b"Content-Type: text/plain; charset=no-such-charset\n"
               b"Content-Transfer-Encoding: base64\n\n!!!not base64!!!\n"
               b"--\x00\nContent-Type: message/delivery-status\n\n"
               b"Final-Recipient: rfc822; \x1b]0;owned\x07@evil.example\nAction: failed\n"
               b"Status: 5.1.1\n--\x00--\n")
    result = explain_input(hostile)
    assert result.failures and result.failures[0].status == "5.1.1"


# ---------------------------------------------------------------- the parts

def test_a_diagnostic_code_in_raw_utf8_keeps_its_words() -> None:
    """MTAs copy a reply's UTF-8 into Diagnostic-Code unencoded (RFC 6533
    allows it); read as bytes, its words must reach the classifier, not
    surrogate escapes ("an error occurred while processing the command")."""
    reply = "500 处理命令时发生错误"
    message = ("From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered Mail\n"
               "MIME-Version: 1.0\nContent-Type: multipart/report; "
               "report-type=delivery-status; boundary=\"B\"\n\n--B\n"
               "Content-Type: text/plain\n\nDelivery failed.\n\n--B\n"
               "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n"
               "Final-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.0.0\n"
               f"Diagnostic-Code: smtp; {reply}\n\n--B--\n").encode()
    [failure] = explain_input(message).failures
    assert failure.text == "处理命令时发生错误"
    assert failure.annotation.category == "server_error"


def test_exim_s_octal_escapes_of_a_utf8_reply_are_read_back() -> None:
    """Exim writes each byte of a non-ASCII reply as an octal escape, in its
    notice's text and in Diagnostic-Code (seen in the Exim round trip); read
    back, the words decide. A run that is no UTF-8 stays as written."""
    escaped = "".join(f"\\{byte:03o}" for byte in "处理命令时发生错误".encode())
    notice = ("SMTP error from remote mail server after RCPT TO:<bob@example.org>:\n"
              f"    500 {escaped}\n")
    [failure] = explain_input(notice).replies
    assert failure.text == "处理命令时发生错误"
    assert failure.annotation.category == "server_error"
    [odd] = explain_input("host mx.example.org said: 550 bad \\377\\376 bytes\n").replies
    assert odd.text == "bad \\377\\376 bytes"


def test_dsn_fields_unfold_and_lose_their_types() -> None:
    [rec] = recipients(field_blocks(
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: RFC822; <Bob@Example.com>\nAction: Failed\n"
        "Status: 5.1.1 (permanent failure)\nRemote-MTA: DNS; mx.example.com\n"
        "Diagnostic-Code: SMTP; 550 5.1.1 user\n\tunknown\n"))
    assert (rec.final_recipient, rec.action, rec.status, rec.remote_mta) == (
        "Bob@Example.com", "failed", "5.1.1", "mx.example.com")
    assert (rec.diagnostic_type, rec.diagnostic) == ("smtp", "550 5.1.1 user unknown")
    assert rec.reporting_mta == "mx.example.org"


@pytest.mark.parametrize(("line", "addresses"), [
    ("<bob@example.com>: host x said", ["bob@example.com"]),
    ("Failed to deliver to '<evor@apollo.lv>'", ["evor@apollo.lv"]),
    ("c=US;a= ;p=IKON;dda:SMTP=DJBENNETT@IKON.COM; on Fri", ["DJBENNETT@IKON.COM"]),
    ("John Smith<mailto:john.smith@eu.a.b.c>", ["john.smith@eu.a.b.c"]),
    ("a@b @ @@ x@y", []),
    # A reply's "550-" glued to the address, also behind Exchange's "host #550-":
    # the address starts after the code, inside the reply, and is no recipient.
    ("550-bob@example.org is not", ["bob@example.org"]),
    ("mx.example.org #550-bob@example.org is not", ["bob@example.org"]),
    ("@" * 10_000, []),
])
def test_addresses(line: str, addresses: list[str]) -> None:
    assert [a for _, _, a in find_addresses(line)] == addresses


def test_recipient_text_runs_to_the_next_recipient() -> None:
    text = ("<a@x.example>:\nSorry, no mailbox here by that name.\n\n"
            "<b@x.example>:\nmailbox is full\n\n--- Below this line is a copy of the message.\n"
            "To: c@x.example\n")
    items = recipient_texts(text, set())
    assert [i.address for i in items] == ["a@x.example", "b@x.example"]
    assert "no mailbox" in items[0].text and "full" not in items[0].text
    assert "full" in items[1].text
    assert "c@x.example" not in cut_original(text)


def test_an_address_anywhere_inside_a_quoted_reply_is_not_a_recipient() -> None:
    # The contact address sits far past the reply code on the same line.
    reply = ("550 5.7.1 Your message was blocked by a DNSBL. " + "If you are not a spammer, "
             "follow the instructions. " * 10 + "or write to abuse@rbl.example with the sender.")
    text = f"Delivery failed:\n\n     a@x.example\n\nTechnical details: \n{reply}\n"
    items = recipient_texts(text, set())
    assert [i.address for i in items] == ["a@x.example"]
    assert "blocked by a DNSBL" in items[0].text


def test_a_list_sharing_one_reason_gives_it_to_each() -> None:
    text = ("Delivery to the following recipients failed permanently:\n\n"
            "   a@x.example\n   b@x.example\n\n"
            "Technical details: Could not connect: Connection timed out\n")
    items = recipient_texts(text, set())
    assert [i.shared for i in items] == [True, False]
    assert "timed out" in items[0].common


def test_html_to_text() -> None:
    html = ("<html><head><style>p{x}</style></head><body><p>Delivery has failed:</p>"
            "<p>&lt;bob@example.com&gt;</p><!-- hidden --><script>x()</script>"
            "<p>#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##</p></body></html>")
    assert html_to_text(html).splitlines() == [
        "Delivery has failed:", "<bob@example.com>",
        "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##"]


def test_split_mbox() -> None:
    mbox = b"From a\nSubject: 1\n\nbody\nFrom the text\n\nFrom b\nSubject: 2\n\nx\n"
    assert [m.split(b"\n", 1)[0] for m in split_mbox(mbox)] == [b"Subject: 1", b"Subject: 2"]


def test_a_notice_whose_only_code_is_a_version_number_is_read_from_its_wording() -> None:
    # "2.0.1" in a quoted header looks like a success code; it is no reason for a failure.
    message = (b"From: Mail System <>\nTo: list-admin@example.org\nSubject: Mail Error\n\n"
               b"Your mail cannot be delivered to the following address(es):\n\n"
               b' dylan "(0), ErrMsg=mail box space not enough, account=dylan "\n\n'
               b"---- Header of the source mail attached ----\n"
               b"X-Mailman-Version: 2.0.1 (101270)\n")
    result = explain_input(message)
    [failure] = result.failures
    assert (failure.evidence, failure.annotation.category) == ("prose", "mailbox_full")


def test_a_folded_multiline_reply_loses_its_inner_code_markers() -> None:
    # Postfix folds "550-The account\n550-or domain ..." into one reply, so
    # "550-" lands between words ("The account 550-or domain") and hid the
    # cPanel wording from its pattern, which lost to "blacklisted".
    text = (b"<paypal@bc-node.nl>: host bc-node.nl[192.0.2.14] said: 550-The mail server\n"
            b"    could not deliver mail to paypal@bc-node.nl.  The account 550-or domain\n"
            b"    may not exist, they may be blacklisted, or missing the proper dns 550\n"
            b"    entries. (in reply to RCPT TO command)\n")
    # A notice's paragraph pasted alone is explained per recipient.
    [failure] = explain_input(text).failures
    assert (failure.recipient, failure.annotation.category) == ("paypal@bc-node.nl", "user_unknown")
    assert "550-" not in failure.text and "account or domain may not exist" in failure.text


def test_a_stage_hint_wrapped_over_two_lines_is_still_read() -> None:
    # Postfix wraps "refused to talk to me" across lines; a timeout at the
    # greeting is the server's own, not an idle client's.
    text = ("<bob@example.net>: host mx.example.net[192.0.2.1] refused to talk to\n"
            "    me: 421 4.4.2 mx.example.net Error: timeout exceeded\n")
    [failure] = explain_input(text).failures
    assert (failure.recipient, failure.stage) == ("bob@example.net", "banner")
    assert failure.annotation.category == "service_unavailable"
    # Read as text, reply by reply, the same holds.
    [reply] = explain_input(text.replace("<bob@example.net>: host", "host")).replies
    assert (reply.stage, reply.annotation.category) == ("banner", "service_unavailable")


def test_a_recipient_with_its_own_reason_does_not_borrow_anothers_reply() -> None:
    # Stalwart lists a delayed recipient ("connection ... failed: Connection
    # timeout") above a failed one whose line quotes "550 ... User does not exist".
    result = explain_input(corpus("stalwart-mixed-550-and-connection-timeout"))
    found = {f.recipient: f for f in result.failures}
    assert found["foobar@example.org"].annotation.category == "user_unknown"
    delayed = found["john.doe@example.org"]
    assert delayed.code is None
    assert delayed.annotation.category == "service_unavailable"


def test_a_recipient_line_with_only_notice_words_takes_the_transcripts_reply() -> None:
    # Sendmail's delay warning as a web page flattened it: the warning sentence
    # ends up after the recipient's "... Deferred" line. Those words say what
    # every delay warning says, so the reply quoted in the transcript is the
    # recipient's cause; a recipient with words of its own keeps them (above).
    notice = (
        "----- Transcript of session follows ----- ... while talking to abc.example.:\n"
        ">>> STARTTLS dialogue\n"
        "<<< 550 Service unavailable; Client Host [] blocked using Trend Micro RBL+.\n"
        "<kkk@abc.example>... Deferred\n"
        "Warning: message still undelivered after 30 minutes "
        "Will keep trying until message is 5 days old\n")
    (failure,) = explain_input(notice).failures
    assert (failure.recipient, failure.code) == ("kkk@abc.example", 550)
    assert failure.annotation.category == "blocklisted_ip"


def test_notice_prose_does_not_outvote_the_dsn_status() -> None:
    # The only words near this recipient are a confidentiality disclaimer; its
    # Status 5.1.1 decides, not a resemblance guess from the disclaimer.
    (failure,) = explain_input(corpus("dsn-wrapped-in-rfc822")).failures
    assert failure.status == "5.1.1"
    assert not failure.annotation.evidence.startswith("resemblance:")
    assert failure.annotation.category == "user_unknown"


# ------------------------------------------ what the real-MTA round trip found
# tests/test_bounce_roundtrip.py bounces every corpus reply through a real
# Postfix and Exim; these are the wrappings it showed, byte for byte.

_EXIM_PROSE = (
    "This message was created automatically by mail delivery software.\n\n"
    "A message that you sent could not be delivered to one or more of its\n"
    "recipients. This is a permanent error. The following address(es) failed:\n\n"
    "{paragraphs}")


def _exim_paragraph(address: str, reply_lines: list[str]) -> str:
    return (f"  {address}\n    host 127.0.0.1 [127.0.0.1]\n"
            f"    SMTP error from remote mail server after RCPT TO:<{address}>:\n"
            + "".join(f"    {line}\n" for line in reply_lines))


def _exim_notice(*paragraphs: str) -> str:
    return _EXIM_PROSE.format(paragraphs="".join(paragraphs))


def test_exim_s_retry_timeout_words_are_not_the_reply_s() -> None:
    """Exim ends a deferred reply it gave up on with ": retry timeout exceeded";
    the host answered, so the reply is the cause, not an unreachable host."""
    notice = _exim_notice(
        _exim_paragraph("a@remote.test", ["451 4.7.1 Greylisted, please try again later:",
                                          "retry timeout exceeded"]),
        _exim_paragraph("b@remote.test", ["452 4.2.2 Mailbox full: retry timeout exceeded"]))
    failures = {f.recipient: f for f in explain_input(notice).failures}
    assert failures["a@remote.test"].text == "4.7.1 Greylisted, please try again later"
    assert failures["a@remote.test"].annotation.category == "greylisted"
    assert failures["b@remote.test"].annotation.category == "mailbox_full"
    bare = explain_input(_exim_notice("  c@remote.test\n    retry timeout exceeded\n"))
    assert bare.failures[0].annotation.category == "service_unavailable"


def test_a_code_outside_rfc_5321_below_exim_s_lead_in_is_a_reply() -> None:
    failure, = explain_input(_exim_notice(
        _exim_paragraph("a@remote.test", ["571 Delivery not authorized, message refused."])
    )).failures
    assert (failure.code, failure.stage) == (571, "rcpt")


def test_the_mta_s_words_name_the_command_before_the_reply_s_own() -> None:
    """"Rejected after DATA" in the reply's words, sent at RCPT: the MTA's
    "after RCPT TO" (Exim) and "(in reply to RCPT TO command)" (Postfix) say
    which command it answered."""
    exim, = explain_input(_exim_notice(_exim_paragraph(
        "a@remote.test", ["550 Rejected after DATA: bcc recipient detected"]))).failures
    postfix = explain_input(
        "<a@remote.test>: host 127.0.0.1[127.0.0.1] said: 550 Rejected after DATA:\n"
        "    bcc recipient detected (in reply to RCPT TO command)\n").failures[0]
    assert exim.stage == postfix.stage == "rcpt"


def test_a_postfix_fold_that_starts_with_a_number_is_still_the_reply() -> None:
    failure, = explain_input(
        "<a@remote.test>: host 127.0.0.1[127.0.0.1] said: 550 Rate limit exceeded:\n"
        "    400 messages per hour for bob@example.com (in reply to RCPT TO command)\n"
    ).failures
    assert failure.text == "Rate limit exceeded: 400 messages per hour for bob@example.com"
    assert (failure.stage, failure.annotation.category) == ("rcpt", "rate_limited")


def test_a_reply_quoting_another_server_s_reply_keeps_the_next_recipient() -> None:
    """Postfix's verify probe result inside a reply ("... said:" then "550
    unknown user") is no Postfix quote of Exim's own: the next, less
    indented recipient is a recipient, not more of that reply."""
    notice = _exim_notice(
        _exim_paragraph("a@remote.test", [
            "550 5.1.1 <x@example.com>: Recipient address rejected:",
            "undeliverable address: host mx.example.com[192.0.2.1] said:",
            "550 unknown user"]),
        _exim_paragraph("b@remote.test", ["554 5.5.1 Error: need MAIL command"]))
    failures = {f.recipient: f for f in explain_input(notice).failures}
    assert set(failures) == {"a@remote.test", "b@remote.test"}
    assert failures["b@remote.test"].text == "5.5.1 Error: need MAIL command"


def test_a_dsn_takes_the_command_from_the_notice_not_from_the_reply_s_words() -> None:
    """Exim's prose says "after end of data"; the Diagnostic-Code has only the
    reply, whose words mention "mail from": the prose decides (no stage)."""
    reply = "451 Greylisted: after a retry, mail from it should be accepted"
    notice = (
        "From: Mail Delivery System <Mailer-Daemon@mx.exim.test>\n"
        "To: sender@sink.test\nSubject: Mail delivery failed\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\n"
        "  a@remote.test\n    host 127.0.0.1 [127.0.0.1]\n"
        f"    SMTP error from remote mail server after end of data:\n    {reply}\n\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.exim.test\n\n"
        "Action: failed\nFinal-Recipient: rfc822;a@remote.test\nStatus: 5.0.0\n"
        f"Remote-MTA: dns; 127.0.0.1\nDiagnostic-Code: smtp; {reply}\n\n--b--\n")
    failure, = explain_input(notice).failures
    assert (failure.evidence, failure.stage) == ("dsn", None)


def opensmtpd_notice(reports: list[tuple[str, str]]) -> bytes:
    """OpenSMTPD's failure notice (usr.sbin/smtpd/bounce.c): one "address:
    reply" line per recipient, and delivery-status fields with a Status of the
    reply's class only ("5.0.0") and no Diagnostic-Code."""
    b = "8462551307946013/mx.local.test"
    lines = "".join(f"{address}: {reply}\r\n" for address, reply in reports)
    fields = "".join(f"Final-Recipient: rfc822; {address}\r\nAction: failed\r\n"
                     f"Status: {reply[0]}.0.0\r\n\r\n" for address, reply in reports)
    return (
        "Subject: Delivery status notification: failed\r\n"
        "From: Mailer Daemon <MAILER-DAEMON@mx.local.test>\r\nTo: s@local.test\r\n"
        f'MIME-Version: 1.0\r\nContent-Type: multipart/mixed;boundary="{b}"\r\n\r\n'
        "This is a MIME-encapsulated message.\r\n\r\n"
        f"--{b}\r\nContent-Description: Notification\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        "    Hi!\r\n\r\n    This is the MAILER-DAEMON, please DO NOT REPLY to this email.\r\n\r\n"
        "    An error has occurred while attempting to deliver a message for\r\n"
        f"    the following list of recipients:\r\n\r\n{lines}\r\n"
        "    Below is a copy of the original message:\r\n\r\n"
        f"--{b}\r\nContent-Description: Delivery Report\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.local.test\r\n\r\n{fields}"
        f"--{b}\r\nContent-Description: Message headers\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"From: s@local.test\r\nSubject: t\r\n\r\n--{b}--\r\n").encode()


@pytest.mark.parametrize(("first", "category"), [
    ("503 5.5.2 Out of Order", "syntax_error"),
    ("452 4.2.2 Mailbox full", "mailbox_full"),
])
def test_a_short_reply_on_a_recipient_s_own_line_is_its_reason(first: str,
                                                               category: str) -> None:
    """A reply with few words ("503 5.5.2 Out of Order") still is the reason
    of the recipient it follows, not a line that says nothing, which would
    take the reply of the recipient listed last."""
    notice = opensmtpd_notice([
        ("r1@remote.test", first),
        ("r2@remote.test", "550 5.1.1 <r2@remote.test>: Recipient address rejected: "
                           "User unknown in local recipient table")])
    failures = by_recipient(notice)
    assert failures["r1@remote.test"].annotation.category == category
    assert failures["r1@remote.test"].code == int(first[:3])
    assert failures["r2@remote.test"].annotation.category == "user_unknown"


def _sendmail_notice(command: str, recipient: str, reply: list[str], reason: str,
                     status: str, diagnostic: str) -> str:
    """Sendmail's notice as a real one writes it (tests/sendmail_relay.py): the
    reason cut short, the whole reply in the transcript, derived fields."""
    transcript = "".join(f"<<< {line}\n" for line in reply)
    return (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.sendmail.test>\nTo: s@sink.test\n"
        "Subject: Returned mail: see transcript for details\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\n\n   ----- The following addresses had permanent fatal errors -----\n"
        f"{recipient}\n    (reason: {reason})\n\n"
        "   ----- Transcript of session follows -----\n... while talking to [127.0.0.1]:\n"
        f">>> {command}\n{transcript}550 5.1.1 {recipient}... User unknown\n\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.sendmail.test\n\n"
        f"Final-Recipient: RFC822; {recipient}\nAction: failed\nStatus: {status}\n"
        f"Remote-MTA: DNS; [127.0.0.1]\nDiagnostic-Code: SMTP; {diagnostic}\n\n--b--\n")


def test_sendmail_s_reason_cut_in_the_middle_is_the_transcript_s_reply() -> None:
    """"(reason: ... the r...r unnecessary spaces.)" is the reply the
    transcript quotes whole after ">>> RCPT To:": one reply, at RCPT."""
    whole = ("550 5.1.1 The email account that you tried to reach does not exist. Please try "
             "double-checking the recipient's email address for typos or unnecessary spaces.")
    reason = whole[:80] + "..." + whole[-20:]
    notice = _sendmail_notice("RCPT To:<a@remote.test>", "a@remote.test", [whole], reason,
                              "5.1.1", whole)
    failure, = explain_input(notice).failures
    assert (failure.code, failure.stage, failure.annotation.category) == (550, "rcpt",
                                                                          "user_unknown")


def test_sendmail_s_first_line_stands_for_the_transcript_s_multiline_reply() -> None:
    """Its Diagnostic-Code and reason keep only "550-Requested action not
    taken: mailbox unavailable"; the cause is on the reply's last line."""
    reply = ["550-Requested action not taken: mailbox unavailable",
             "550 Reject due to policy restrictions"]
    notice = _sendmail_notice("RCPT To:<a@remote.test>", "a@remote.test", reply, reply[0],
                              "5.1.1", reply[0])
    failure, = explain_input(notice).failures
    bare = knowledge.explain_reply(550, "Requested action not taken: mailbox unavailable\n"
                                        "Reject due to policy restrictions", "rcpt")
    assert failure.annotation.category == bare.category == "policy_rejected"


def test_sendmail_s_derived_status_does_not_outweigh_the_reply_s_words() -> None:
    """Status 5.1.1 is Sendmail's reading of any 550 to RCPT TO, not the server's."""
    reply = "550 Message refused by MailMarshal SpamProfiler"
    notice = _sendmail_notice("RCPT To:<a@remote.test>", "a@remote.test", [reply], reply,
                              "5.1.1", reply)
    failure, = explain_input(notice).failures
    assert failure.annotation.category == "spam_content"


@pytest.mark.parametrize("reply", ["571 Delivery not authorized, message refused.",
                                   "460 too many messages (#4.3.0)"])
def test_a_code_outside_rfc_5321_is_a_reply_in_sendmail_s_transcript_and_fields(
        reply: str) -> None:
    notice = _sendmail_notice("RCPT To:<a@remote.test>", "a@remote.test", [reply], reply,
                              "5.0.0", reply)
    failure, = explain_input(notice).failures
    assert (failure.code, failure.evidence, failure.stage) == (int(reply[:3]), "dsn", "rcpt")
    assert failure.text == reply[4:]


def test_the_data_command_above_a_reply_names_no_stage() -> None:
    """">>> DATA" is the MTA naming the command: the reply's words ("mail from
    your system") name none of their own."""
    reply = ["451-Your mail was considered suspicious.",
             "451 Your mail from this system will be accepted after a retry."]
    notice = _sendmail_notice("DATA", "a@remote.test", reply, reply[0], "4.4.7", reply[0])
    failure, = explain_input(notice).failures
    assert failure.stage is None
