"""`probe explain` on Outlook .msg files: real files, the CLI, and hostile files built from them.

The real files are in tests/bounces/msg/ (see its README). No redistributable
REPORT.IPM.Note.NDR file was found, so the recipient-table mapping of a
report class is tested on a real file's streams repacked with that class;
that and the other hostile inputs are built in `tests/msg_inputs.py`.
"""

from __future__ import annotations

import io
import json
import struct
import time
from contextlib import redirect_stderr
from pathlib import Path

import olefile
import pytest

from knowledge import outlook_msg
from knowledge.bounce import explain_input
from knowledge.limits import MAX_INPUT
from knowledge.outlook_msg import UnreadableMsg, is_outlook_msg, read_outlook_msg
from probe.explain_cmd import explain_main
from tests.cfb import write_cfb
from tests.msg_inputs import (
    DELAY,
    DSN_ATTACH,
    MSG,
    as_report,
    big_body,
    delay_tree,
    many_recipients,
    nested,
    with_props,
)
from tests.test_explain_bounce import cli

FORWARD = MSG / "forwarded-exchange-delay.msg"
NESTED = MSG / "msg-in-msg-in-msg.msg"
CP1251 = MSG / "poi-cp1251-8bit.msg"
DELAYED_RCPT = "Darren.vuzzo@myfloridalicence.com"
GUARD = 20.0  # seconds: generous, a hostile file must not be slow either


def run(data: bytes, *args: str) -> tuple[int, str, str, float]:
    """`probe explain -` in process: exit status, stdout, stderr, seconds."""
    out, err = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(data))
    start = time.perf_counter()
    with redirect_stderr(err):
        code = explain_main(["-"], as_json="--json" in args, lang="en", out=out, stdin=stdin)
    return code, out.getvalue(), err.getvalue(), time.perf_counter() - start


def assert_answered(data: bytes) -> tuple[int, str, str]:
    """A result (0) or one specific line on stderr (64), within the guard, nothing raw."""
    code, out, err, seconds = run(data)
    assert seconds < GUARD
    assert code in (0, 64)
    if code == 64:
        assert err.count("\n") == 1 and err.startswith("probe explain: ")
    for text in (out, err):
        assert "\x1b" not in text and "\x00" not in text and "\ufffd\ufffd\ufffd\ufffd" not in text
    return code, out, err


# ---------------------------------------------------------------- the real files, by hand

def test_the_magic_bytes_decide_not_the_name() -> None:
    assert all(is_outlook_msg(p.read_bytes()) for p in (DELAY, FORWARD, NESTED, CP1251))
    assert not is_outlook_msg(b"From: a@example.org\n\n550 5.1.1 no such user\n")


def test_an_exchange_delay_notice_saved_from_outlook() -> None:
    # By hand (olefile): class IPM.Note, 8-bit strings, a message/delivery-status
    # attachment with Action delayed, Status 4.4.7, "smtp;400 4.4.7 Message delayed".
    msg = read_outlook_msg(DELAY.read_bytes())
    assert msg.subject == "Delivery delayed:RE: Bosco Fraud Cases [ 2 of 8]"
    assert msg.human[0].startswith("Delivery is delayed to these recipients or groups:")
    assert len(msg.dsn) == 1 and f"Final-Recipient: rfc822;{DELAYED_RCPT}" in msg.dsn[0]
    # The recipient table of an ordinary message is its addressee, not a failure.
    assert "darlington@coab.us" in msg.own_addresses
    assert "microsoftexchange329e71ec88ae4615bbc36ab6ce41109e@coab.us" in msg.own_addresses
    (failure,) = explain_input(DELAY.read_bytes()).failures
    assert (failure.recipient, failure.action, failure.status, failure.code) == (
        DELAYED_RCPT, "delayed", "4.4.7", 400)
    assert failure.text == "4.4.7 Message delayed"
    assert failure.evidence == "dsn"
    assert failure.reporting_mta == "ABMAIL13.ci.atlantic-beach.fl.us"
    # The fields name no Remote-MTA; the text beside them does ("Remote Server
    # at myfloridalicence.com (208.73.211.178) returned '400 4.4.7 ...'").
    assert failure.remote_mta == "myfloridalicence.com"


def test_the_same_notice_forwarded_keeps_its_delivery_status() -> None:
    # By hand: UTF-16 strings, subject "FW: ...", no recipients, the Dutch
    # forward header above the notice, the same delivery-status attachment.
    msg = read_outlook_msg(FORWARD.read_bytes())
    assert msg.subject == "FW: Delivery delayed:RE: Bosco Fraud Cases [ 2 of 8]"
    assert "Onderwerp: Delivery delayed:RE: Bosco Fraud Cases [ 2 of 8]" in msg.human[0]
    assert "Status: 4.4.7" in msg.dsn[0]
    (failure,) = explain_input(FORWARD.read_bytes()).failures
    assert (failure.recipient, failure.status, failure.code) == (DELAYED_RCPT, "4.4.7", 400)


def test_8bit_strings_are_read_in_the_charset_the_file_names() -> None:
    # By hand: 001E strings, PidTagInternetCodepage 1251, no PidTagMessageCodepage.
    msg = read_outlook_msg(CP1251.read_bytes())
    assert msg.subject == "Subject автоматически Subject"
    assert msg.human == ["Body автоматически Body"]
    assert msg.dsn == []


def test_an_ordinary_message_with_attached_messages_is_no_bounce() -> None:
    msg = read_outlook_msg(NESTED.read_bytes())
    assert msg.subject == "I have sub attachments!"
    assert msg.dsn == [] and msg.human == ["I have sub attachments!\r\n"]
    result = explain_input(NESTED.read_bytes())
    assert result.kind == "outlook" and result.failures == () and result.replies == ()


# ---------------------------------------------------------------- the CLI

def test_cli_plain_on_a_real_msg() -> None:
    proc = cli(str(DELAY))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert out.startswith(DELAYED_RCPT)
    assert "Status 4.4.7" in out and "Reply: 400 4.4.7 Message delayed" in out
    assert proc.stderr == b""


def test_cli_json_on_a_real_msg_from_stdin() -> None:
    proc = cli("-", "--json", stdin=FORWARD.read_bytes())
    assert proc.returncode == 0, proc.stderr
    (doc,) = json.loads(proc.stdout)
    assert (doc["recipient"], doc["action"], doc["status"], doc["code"]) == (
        DELAYED_RCPT, "delayed", "4.4.7", 400)
    assert doc["evidence"] == "dsn"


def test_cli_on_a_msg_without_a_reply_quotes_no_binary() -> None:
    proc = cli(str(NESTED))
    assert proc.returncode == 64
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "no SMTP reply code found in the input" in err
    assert "\ufffd" not in err and "\\x" not in err


def test_words_that_start_like_an_outlook_file_are_still_words() -> None:
    word = outlook_msg.OLE_MAGIC.decode("utf-8", "surrogateescape")
    err = io.StringIO()
    with redirect_stderr(err):
        code = explain_main([word], as_json=False, lang="en", out=io.StringIO(),
                            stdin=io.StringIO())
    assert code == 64 and err.getvalue().count("\n") == 1


def test_cli_on_a_corrupt_msg_is_one_line_and_64(tmp_path: Path) -> None:
    bad = tmp_path / "bounce.msg"
    bad.write_bytes(DELAY.read_bytes()[:700])
    proc = cli(str(bad))
    assert proc.returncode == 64 and proc.stdout == b""
    err = proc.stderr.decode()
    assert err.startswith("probe explain: not a readable Outlook .msg file (")
    assert err.count("\n") == 1 and "Traceback" not in err


# ---------------------------------------------------------------- hostile files

@pytest.mark.parametrize("cut", [8, 100, 511, 512, 1024, 4096, 16384, 33791])
def test_truncated_at_any_offset(cut: int) -> None:
    assert_answered(DELAY.read_bytes()[:cut])


def _entry_offset(data: bytes, name: str) -> int:
    """Where the directory entry named `name` starts in a compound file."""
    at = data.find(name.encode("utf-16-le") + b"\0\0")
    assert at > 0 and (at - 512) % 128 == 0
    return at


@pytest.mark.parametrize("size", [0x7FFFFFFF, 5000, 1])
def test_a_stream_length_lied_about(size: int) -> None:
    data = bytearray(DELAY.read_bytes())
    at = _entry_offset(bytes(data), "__substg1.0_1000001E")  # the body
    struct.pack_into("<Q", data, at + 120, size)
    assert_answered(bytes(data))


def test_a_directory_loop() -> None:
    # The attachment storage's child pointer aimed back at the root entry.
    data = bytearray(DELAY.read_bytes())
    at = _entry_offset(bytes(data), DSN_ATTACH)
    struct.pack_into("<I", data, at + 76, 0)
    assert_answered(bytes(data))


def test_a_one_megabyte_string_property_is_read_capped() -> None:
    data = big_body(1)
    assert len(data) > 1024 * 1024
    body = read_outlook_msg(data).human[0]
    assert len(body) <= outlook_msg.MAX_STRING // 2
    code, out, _ = assert_answered(data)
    assert code == 0 and DELAYED_RCPT in out  # the delivery-status fields still decide


def test_invalid_utf16_is_replaced_not_fatal() -> None:
    tree = delay_tree()
    lone = b"\x00\xd8" + "Undeliverable".encode("utf-16-le") + b"\x41"  # lone surrogate, odd
    msg = read_outlook_msg(with_props(tree, **{"0037001F": lone}))
    assert msg.subject == "\ufffdUndeliverable"
    assert_answered(with_props(tree, **{"0037001F": lone}))


def test_escape_sequences_and_markup_from_the_file_are_sanitised() -> None:
    tree = delay_tree()
    path = (DSN_ATTACH, "__substg1.0_37010102")
    dsn = tree[path]
    assert dsn is not None
    tree[path] = dsn.replace(b"400 4.4.7 Message delayed",
                             b"550 5.1.1 \x1b[2J\x1b]0;pwned\x07[bold red]gone[/] <b>x</b>")
    data = with_props(tree, **{"0037001E": b"Undeliverable \x1b[31m[link=http://x]y[/link]"})
    code, out, _ = assert_answered(data)
    assert code == 0 and "\x1b" not in out and "\x07" not in out
    assert "[bold red]gone[/]" in out  # shown as text, never read as markup
    code, out, _, _ = run(data, "--json")
    assert json.loads(out)[0]["text"].startswith("5.1.1 \x1b[2J")  # JSON carries it escaped


def test_a_report_class_reads_its_recipient_table_as_delivery_status() -> None:
    data = write_cfb(as_report(delay_tree(), "REPORT.IPM.Note.NDR"))
    msg = read_outlook_msg(data)
    assert "Final-Recipient: rfc822; darlington@coab.us\nAction: failed" in msg.dsn[0]
    (failure,) = explain_input(data).failures
    assert (failure.recipient, failure.action, failure.code, failure.status) == (
        "darlington@coab.us", "failed", 550, "5.1.1")
    assert failure.remote_mta == "mx.example.net"
    assert failure.annotation.category == "user_unknown"


@pytest.mark.parametrize(("klass", "actions"), [
    ("REPORT.IPM.Note.SMIME.Delayed.DR", ["delayed"]),
    ("REPORT.IPM.Note.DR", []),  # delivered: no failure
    ("IPM.Note", []),  # an ordinary message: its recipients are its own addressees
])
def test_the_class_suffix_is_the_action(klass: str, actions: list[str]) -> None:
    data = write_cfb(as_report(delay_tree(), klass))
    assert [f.action for f in explain_input(data).failures] == actions


def test_recipient_rows_multiplied_are_capped() -> None:
    data = many_recipients(3000)
    assert len(read_outlook_msg(data).dsn[0].split("\n\n")) == outlook_msg.MAX_RECIPIENTS
    assert_answered(data)


def test_a_report_attached_inside_a_few_messages_is_found() -> None:
    data = write_cfb(nested(delay_tree(), outlook_msg.MAX_DEPTH))
    (failure,) = explain_input(data).failures
    assert (failure.recipient, failure.status) == (DELAYED_RCPT, "4.4.7")


def test_attached_messages_nested_deeper_than_followed() -> None:
    data = write_cfb(nested(delay_tree(), 60))
    assert read_outlook_msg(data).dsn == []
    assert_answered(data)


def test_an_msg_larger_than_the_input_limit_is_one_line() -> None:
    data = DELAY.read_bytes()
    with pytest.raises(UnreadableMsg, match=r"larger than \d+ MiB"):
        explain_input(data + b"\0" * (MAX_INPUT + 1 - len(data)))


def test_the_linear_lookups_still_replace_olefiles_own() -> None:
    """`_OleFile` swaps two private olefile methods for linear ones; should a
    new olefile rename them, the swap would stop applying without a word and
    a file with a large directory would take seconds again."""
    for name in ("_check_duplicate_stream", "_find"):
        assert callable(getattr(olefile.OleFileIO, name, None)), name
        assert getattr(outlook_msg._OleFile, name) is not getattr(olefile.OleFileIO, name)
