"""`probe explain FILE` and `probe explain -` with whole bounces, through the real CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from probe.explain_cmd import explain_main

from .bounce_corpus import mbox_of

CORPUS = Path(__file__).parent / "bounces"
ROOT = Path(__file__).parent.parent
PER_RECIPIENT_KEYS = {"recipient", "original_recipient", "action", "status", "code", "text",
                      "remote_mta", "evidence", "category", "severity", "title", "fix"}


def cli(*args: str, stdin: bytes = b"", cwd: Path = ROOT) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "probe", "explain", *args], input=stdin,
                          capture_output=True, timeout=60, cwd=cwd, env=env)


def cells(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line)


def test_a_file_gives_a_json_list_of_recipients() -> None:
    proc = cli(str(CORPUS / "iis-four-recipients.eml"), "--json")
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)
    assert [d["recipient"] for d in docs] == [f"bounced{i}@example.net" for i in (1, 2, 3, 4)]
    assert all(set(d) >= PER_RECIPIENT_KEYS for d in docs)
    assert {d["category"] for d in docs} == {"user_unknown"}


def test_one_recipient_is_still_a_list() -> None:
    proc = cli(str(CORPUS / "postfix-webde-german.eml"), "--json")
    [doc] = json.loads(proc.stdout)
    assert (doc["recipient"], doc["code"], doc["category"], doc["evidence"]) == (
        "fred.bloggs@web.de", 550, "mailbox_full", "dsn")
    assert doc["remote_mta"] == "mx-ha01.web.de"


def test_stdin_takes_raw_bytes() -> None:
    data = (CORPUS / "newmailru-quota-russian.eml").read_bytes()  # 8-bit KOI8-R text
    proc = cli("-", "--json", stdin=data)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["recipient"] == "zzzzz@newmail.ru"


def test_plain_output_names_recipient_status_reply_and_fix() -> None:
    proc = cli(str(CORPUS / "postfix-gmail-multiline.eml"))
    out = proc.stdout.decode()
    assert proc.returncode == 0
    assert out.startswith("agris.ameriksNEEXISTEE@gmail.com\n")
    assert "Status 5.1.1 · failed · remote MTA gmail-smtp-in.l.google.com" in out
    assert "Reply: 550 5.1.1 The email account that you tried to reach does not exist" in out
    assert "user_unknown" in out and "How to fix" in out
    assert "(from the delivery-status fields of the bounce)" in out
    for line in out.splitlines():
        assert cells(line) <= 80 or " " not in line.strip().split(": ")[-1], line


def test_prose_is_marked_in_plain_output() -> None:
    out = cli(str(CORPUS / "qmail-prima-expired-es.eml")).stdout.decode()
    assert "no reply code in the bounce: read from its wording only" in out


def test_an_mbox_numbers_its_messages(tmp_path: Path) -> None:
    mbox = tmp_path / "bounces.mbox"
    mbox.write_bytes(mbox_of("sendmail-cox-rejected", "sendmail-yahoo-disabled"))
    out = cli(str(mbox)).stdout.decode()
    assert out.startswith("2 failed recipients\n")
    assert "[message 1] recipient@example.net" in out
    assert "[message 2] recipient@example.net" in out


def test_bounce_text_is_sanitised() -> None:
    hostile = (b"From: MAILER-DAEMON@x.example\nTo: s@x.example\nSubject: x\n\n"
               b"<b\x1b[2Jad@evil.example>: host mx.evil.example[192.0.2.1] said: 550 5.1.1\n"
               b"    \x1b]8;;http://evil.example\x07click\x1b]8;;\x07 \xff\xfe user unknown\n")
    proc = cli("-", stdin=hostile)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b" in out


def test_a_file_named_like_a_code_does_not_hide_the_code(tmp_path: Path) -> None:
    (tmp_path / "451").write_bytes((CORPUS / "postfix-webde-german.eml").read_bytes())
    proc = cli("451", "--json", cwd=tmp_path)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["code"] == 451


def test_a_file_in_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "bounce").write_bytes((CORPUS / "postfix-webde-german.eml").read_bytes())
    proc = cli("bounce", "--json", cwd=tmp_path)
    assert json.loads(proc.stdout)[0]["category"] == "mailbox_full"


@pytest.mark.parametrize(("arg", "message"), [
    ("no-such-bounce.eml", "no such file"),
    ("some/dir/x", "no such file"),
    (".", "is a directory"),
])
def test_an_unreadable_path_is_one_line_and_64(arg: str, message: str) -> None:
    proc = cli(arg)
    assert proc.returncode == 64
    assert proc.stdout == b""
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and message in err


def test_a_file_without_any_reply_is_64(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("Dear admin,\nthe mail did not arrive.\n")
    proc = cli("notes.txt", cwd=tmp_path)
    assert proc.returncode == 64
    assert proc.stderr.decode().count("\n") == 1


def _message(subject: str, body: str) -> bytes:
    return (f"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\n"
            f"To: alice@example.com\nSubject: {subject}\n"
            f"Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <1@mx.example.org>\n\n"
            f"{body}\n").encode()


def test_a_failure_notice_in_unknown_words_is_still_explained() -> None:
    """A message titled as a failure notice is a bounce whatever its words: no exit 64,
    a failure read from its wording (here words nobody has seen: the class's reading)."""
    proc = cli("--json", "-", stdin=_message("Undeliverable: hello", "Zzqx wibble grommet."))
    assert proc.returncode == 0, proc.stderr
    [doc] = json.loads(proc.stdout)
    assert (doc["action"], doc["evidence"], doc["code"], doc["recipient"]) == (
        "failed", "prose", None, None)
    assert doc["category"] == "other" and doc["severity"] == "permanent"


def test_a_failure_notice_in_words_like_known_replies_is_a_marked_guess() -> None:
    # Words no rule knows, but like those of full mailboxes (the guess must be
    # clear enough to be made: "the mailbox quux is frobnicated" alone no
    # longer is, since the model learnt from more replies; "storage is
    # exhausted" became a rule's wording, generic-disk-full).
    body = ("Your message could not be delivered: the mailbox quux is frobnicated and its "
            "storage quota is used up.")
    notice = _message("Delivery Status Notification", body)
    [doc] = json.loads(cli("--json", "-", stdin=notice).stdout)
    assert doc["evidence"] == "prose"
    assert doc["matched"].startswith("resemblance:")
    assert doc["source"].startswith("A best guess")


def test_a_notice_whose_words_are_only_its_own_stock_states_no_cause() -> None:
    """Exchange's readable part alone names no cause; what its stock sentences
    resemble (most notices are unknown users) is no reason to claim one."""
    body = ("This is an automatically generated Delivery Status Notification.\n\n"
            "Delivery to the following recipients failed.\n\n       bob@example.org\n")
    [doc] = json.loads(cli("--json", "-", stdin=body.encode()).stdout)
    assert (doc["recipient"], doc["evidence"], doc["code"]) == ("bob@example.org", "prose", None)
    assert (doc["category"], doc["matched"]) == ("other", "class:5")
    plain = cli("-", stdin=body.encode()).stdout.decode()
    assert "no cause could be read from the bounce's words" in " ".join(plain.split())
    # Words of its own are enough to read it, and a guess stays a marked guess
    # (the stock words lean to unknown users, so the own words must outweigh them).
    [doc] = json.loads(cli("--json", "-", stdin=body.replace(
        "failed.", "failed: the mailbox quux has exhausted its storage space and its allocation."
    ).encode()).stdout)
    assert doc["matched"].startswith("resemblance:mailbox_full")


def test_a_pasted_notice_without_headers_is_explained_too() -> None:
    """Admins paste a bounce's text without its headers: its opening says what it is."""
    text = b"This is the mail system at host mx.example.org.\n\nZzqx wibble grommet.\n"
    proc = cli("--json", "-", stdin=text)
    assert proc.returncode == 0, proc.stderr
    [doc] = json.loads(proc.stdout)
    assert (doc["action"], doc["evidence"], doc["code"]) == ("failed", "prose", None)


PASTED_POSTFIX_PARAGRAPHS = b"""\
<bob@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1
    <bob@example.org>: Recipient address rejected: User unknown in local
    recipient table (in reply to RCPT TO command)

<carol@example.net>: host mx.example.net[192.0.2.2] said: 552 5.2.2
    <bounces+x@lists.example.com>: mailbox full (in reply to RCPT TO command)

<dave@example.net>: host mx.example.net[192.0.2.2] said: 552 5.2.2
    <bounces+x@lists.example.com>: mailbox full (in reply to RCPT TO command)
"""


def test_a_notice_s_paragraphs_pasted_alone_are_explained_per_recipient() -> None:
    """Without headers, a notice's recipient paragraphs still name whom each reply was
    for; an address inside a reply folded after its codes is no recipient, and two
    recipients with the same reply are two results."""
    proc = cli("--json", "-", stdin=PASTED_POSTFIX_PARAGRAPHS)
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)
    assert [(d["recipient"], d["code"], d["category"]) for d in docs] == [
        ("bob@example.org", 550, "user_unknown"), ("carol@example.net", 552, "mailbox_full"),
        ("dave@example.net", 552, "mailbox_full")]


LOST_INDENT = b"""\
This is the mail system at host mx.example.com.

<bob@example.org>: host mx.example.org[192.0.2.1] said: 450 4.7.1
<host.example.net>: Helo command rejected: Host not found (in reply to RCPT
TO command)
<carol@example.org> (expanded from <list@example.org>): host
mx.example.org[192.0.2.1] said: 550 5.1.1 <carol@example.org> User doesn't
exist: carol@example.org (in reply
to RCPT TO command)
<dave@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1 No such user
(in reply to RCPT TO command)
"""


def test_postfix_paragraphs_whose_indent_a_paste_lost() -> None:
    """Each reply Postfix quoted ("host x[ip] said:") runs to its "(in reply to ...",
    even wrapped as "(in reply" / "to ..."; the addresses on its lines are its words,
    not recipients of their own."""
    docs = json.loads(cli("--json", "-", stdin=LOST_INDENT).stdout)
    assert [(d["recipient"], d["category"]) for d in docs] == [
        ("bob@example.org", "helo_rejected"), ("carol@example.org", "user_unknown"),
        ("dave@example.org", "user_unknown")]
    assert "Host not found" in docs[0]["text"]


def test_a_message_that_is_no_failure_notice_is_still_64() -> None:
    proc = cli("-", stdin=_message("lunch tomorrow", "Shall we meet at noon?"))
    assert proc.returncode == 64 and proc.stdout == b""


def test_a_log_excerpt_keeps_the_reply_by_reply_output() -> None:
    log = b"550-5.1.1 no such user\n550 5.1.1 really\n451 4.3.0 later\n"
    docs = json.loads(cli("-", "--json", stdin=log).stdout)
    assert [d["code"] for d in docs] == [550, 451]
    assert "recipient" not in docs[0]
    assert docs[0]["log_recipient"] is None  # no log line names one


def test_in_process_stdin_without_a_byte_buffer() -> None:
    """explain_main reads text streams too (tests and embedding callers pass StringIO)."""
    out = io.StringIO()
    data = (CORPUS / "postfix-webde-german.eml").read_text(encoding="latin-1")
    assert explain_main(["-"], as_json=True, lang="en", out=out, stdin=io.StringIO(data)) == 0
    assert json.loads(out.getvalue())[0]["recipient"] == "fred.bloggs@web.de"


@pytest.mark.parametrize("how", ["words", "stdin"])
def test_wording_without_any_code_is_read_as_a_notice(how: str) -> None:
    words = "The email account that you tried to reach does not exist."
    proc = cli("--json", words) if how == "words" else cli("--json", "-", stdin=words.encode())
    assert proc.returncode == 0, proc.stderr
    [doc] = json.loads(proc.stdout)
    assert (doc["category"], doc["evidence"], doc["code"]) == ("user_unknown", "prose", None)
    assert doc["recipient"] is None
    plain = cli(words).stdout.decode()
    assert "read from its wording only" in plain and "recipient not named" in plain


def test_a_delay_in_words_is_delayed_and_names_its_recipient() -> None:
    proc = cli("--json", "Delivery to bob@example.net has been delayed: the recipient's "
               "mailbox is full. We will continue to try.")
    [doc] = json.loads(proc.stdout)
    assert (doc["recipient"], doc["action"], doc["category"]) == (
        "bob@example.net", "delayed", "mailbox_full")
