"""An email service's bounce event pasted as JSON reads like the reply it holds.

Every corpus reply in the events of SendGrid, Amazon SES, Mailgun and
SparkPost is checked in tests/test_wrapped_replies.py; here the pieces: the
flattening itself, hostile documents, and what reaches the terminal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from knowledge.bounce import explain_input
from knowledge.json_paste import MAX_LINES, json_lines

ROOT = Path(__file__).resolve().parent.parent


def test_strings_become_lines_and_a_reply_field_its_own_line() -> None:
    event = {"email": "bob@example.org", "reason": "550 5.1.1 User unknown", "id": 7}
    assert json_lines(json.dumps(event)).split("\n\n") == [
        "email: bob@example.org", "550 5.1.1 User unknown"]


def test_a_code_and_its_message_are_joined_into_the_reply() -> None:
    event = {"delivery-status": {"code": 552, "message": "5.2.2 Mailbox full",
                                 "description": ""}}
    assert json_lines(json.dumps(event)) == "552 5.2.2 Mailbox full"
    [reply] = explain_input(json.dumps(event)).replies
    assert (reply.code, reply.annotation.category) == (552, "mailbox_full")


def test_a_multiline_message_is_one_reply_with_its_code_on_every_line() -> None:
    """Mailgun keeps a multiline reply's lines, each with its enhanced code
    but not the basic one: they are one reply, not a reply and a stray
    enhanced-code line."""
    event = {"delivery-status": {"code": 550, "message": (
        "5.1.1 The email account that you tried to reach does not exist. Please try\n"
        "5.1.1 double-checking the recipient's email address for typos or\n"
        "5.1.1 unnecessary spaces.")}}
    assert json_lines(json.dumps(event)) == (
        "550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
        "550-5.1.1 double-checking the recipient's email address for typos or\n"
        "550 5.1.1 unnecessary spaces.")
    [reply] = explain_input(json.dumps(event)).replies
    assert (reply.code, reply.annotation.category) == (550, "user_unknown")


def test_escapes_are_decoded_by_the_parser() -> None:
    event = {"reason": "550 \u8be5\u7528\u6237\u4e0d\u5b58\u5728"}  # QQ's "no such user"
    text = json.dumps(event)
    assert "\\u8be5" in text
    assert json_lines(text) == "550 该用户不存在"


def test_text_that_is_no_json_document_is_left_alone() -> None:
    for text in ("550 5.1.1 User unknown", "{LED=550 5.1.10 Recipient not found};{MSG=}",
                 "[not json", '"550 quoted"', "{}garbage"):
        assert json_lines(text) is None


def test_hostile_documents_are_bounded() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    assert json_lines(deep) is None  # deeper than the parser goes: no document
    many = json.dumps([{"reason": f"550 5.1.1 unknown {i}"} for i in range(MAX_LINES + 50)])
    assert json_lines(many).count("\n\n") == MAX_LINES - 1


def test_escape_sequences_in_an_event_never_reach_the_terminal() -> None:
    event = {"reason": "550 5.1.1 \u001b[31mred\u001b]0;title\u0007 user unknown"}
    proc = subprocess.run([sys.executable, "-m", "probe", "explain", "-"],
                          input=json.dumps(event).encode(), capture_output=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert b"\x1b" not in proc.stdout and b"\x07" not in proc.stdout
    assert b"user unknown" in proc.stdout
