"""Normal SMTP dialogs against aiosmtpd: categories, severities, exit codes, golden output.

aiosmtpd is a real, independent SMTP server; its handler returns reply strings
as real MTAs word them (Postfix, Exchange, postgrey), so these tests check that
the probe explains what admins actually see. The exit code rule of CONTRACT.md
is pinned here: the worst host wins (2 over 1 over 0), and HELP replies never
change it.

The golden files in tests/golden/ pin the whole plain and JSON output of two
fixed dialogs; only the parts that vary between runs (port numbers, timings)
are normalised. Regenerate them with PROBE_UPDATE_GOLDEN=1 after a deliberate
change, and review the diff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.contract import CATEGORIES, SEVERITIES
from tests.smtpserver import Scripted, dialog

HANG_GUARD = 30
HELO = "probe.test"
GOLDEN = Path(__file__).parent / "golden"


# -- an aiosmtpd server whose handler answers like real MTAs ----------------------


class Handler:
    """Replies to MAIL and RCPT with the given strings; 250 otherwise. Records all."""

    def __init__(self, rcpt: dict[str, str] | None = None, mail: str | None = None) -> None:
        self.rcpt = rcpt or {}
        self.mail = mail
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, options: list) -> str:
        with self._lock:
            self.seen.append(("MAIL", address))
        if self.mail is not None:
            return self.mail
        envelope.mail_from = address
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, options: list) -> str:
        with self._lock:
            self.seen.append(("RCPT", address))
        if address in self.rcpt:
            return self.rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            self.seen.append(("DATA", ""))
        return "554 5.5.1 the probe must never send DATA"

    def verbs(self) -> list[str]:
        with self._lock:
            return [verb for verb, _ in self.seen]


class NoHelpSMTP(SMTP):
    """aiosmtpd with HELP switched off, as many real servers have it."""

    async def smtp_HELP(self, arg: str) -> None:
        await self.push("502 5.5.1 HELP not implemented")


class DialogController(Controller):
    def __init__(self, handler: Handler, smtp_class: type[SMTP] = SMTP, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.smtp_class = smtp_class

    def factory(self) -> SMTP:
        return self.smtp_class(self.handler, **self.SMTP_kwargs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtpd(handler: Handler, smtp_class: type[SMTP] = SMTP) -> Iterator[str]:
    """Run aiosmtpd on 127.0.0.1; yields the `--mx` value."""
    controller = DialogController(handler, smtp_class, hostname="127.0.0.1", port=_free_port(),
                                  server_hostname="mx.dialog.test", ident="ESMTP ready")
    controller.start()
    try:
        yield f"127.0.0.1:{controller.port}"
    finally:
        controller.stop()


async def run(run_cli, mxs: list[str], *args: str, mode: str = "--json"):
    mx_args = [arg for mx in mxs for arg in ("--mx", mx)]
    result = await asyncio.wait_for(
        run_cli("x.test", *mx_args, mode, "--helo", HELO, "--timeout", "5", *args), HANG_GUARD)
    assert result.code in (0, 1, 2), result.err
    assert "Traceback" not in result.err
    if mode == "--plain":
        too_wide = [line for line in result.out.splitlines() if len(line) > 80]
        assert too_wide == []
    return result


async def probe_one(run_cli, handler: Handler, *args: str, smtp_class: type[SMTP] = SMTP,
                    mode: str = "--json") -> tuple[int, Any]:
    """Probe one aiosmtpd server; returns (exit code, parsed JSON or plain text)."""
    with smtpd(handler, smtp_class) as mx:
        result = await run(run_cli, [mx], *args, mode=mode)
    assert "DATA" not in handler.verbs()
    if mode == "--json":
        doc = json.loads(result.out)
        assert doc["exit_code"] == result.code
        for host in doc["hosts"]:
            for step in host["steps"]:
                if step["annotation"] is not None:
                    assert step["annotation"]["category"] in CATEGORIES
                    assert step["annotation"]["severity"] in SEVERITIES
        return result.code, doc
    return result.code, result.out


def steps_of(doc: dict[str, Any], stage: str) -> list[dict[str, Any]]:
    (host,) = doc["hosts"]
    return [step for step in host["steps"] if step["stage"] == stage]


# -- every reply an admin meets at RCPT, as real servers word it ---------------------

RCPT_REPLIES = [
    # (address, reply, code, enhanced, category, severities)
    ("ok@x.test", "250 2.1.5 Ok", 250, "2.1.5", "ok", {"ok"}),
    ("fwd@x.test", "251 2.1.5 User not local; will forward to <fwd@elsewhere.test>", 251,
     "2.1.5", "user_not_local", {"ok", "info"}),
    ("grey@x.test", "450 4.2.0 <grey@x.test>: Recipient address rejected: Greylisted, see "
     "http://postgrey.schweikert.ch/help/x.test.html", 450, "4.2.0", "greylisted",
     {"transient"}),
    ("lookup@x.test", "451 4.3.0 <lookup@x.test>: Temporary lookup failure", 451, "4.3.0",
     "server_error", {"transient"}),
    ("full4@x.test", "452 4.2.2 Mailbox full", 452, "4.2.2", "mailbox_full", {"transient"}),
    ("many@x.test", "452 4.5.3 Too many recipients", 452, "4.5.3", "rate_limited",
     {"transient"}),
    ("unknown@x.test", "550 5.1.1 <unknown@x.test>: Recipient address rejected: User unknown "
     "in local recipient table", 550, "5.1.1", "user_unknown", {"permanent"}),
    ("moved@x.test", "551 5.1.6 User not local; please try <moved@elsewhere.test>", 551,
     "5.1.6", "user_not_local", {"permanent"}),
    ("full5@x.test", "552 5.2.2 <full5@x.test>: Mailbox full", 552, "5.2.2", "mailbox_full",
     {"permanent"}),
    ("syntax@x.test", "553 5.1.3 Bad recipient address syntax", 553, "5.1.3", "syntax_error",
     {"permanent"}),
    ("relay@x.test", "554 5.7.1 <relay@x.test>: Relay access denied", 554, "5.7.1",
     "relay_denied", {"permanent"}),
]


async def test_every_rcpt_reply_is_categorised(run_cli):
    handler = Handler({address: reply for address, reply, *_ in RCPT_REPLIES})
    rcpt_args = [arg for address, *_ in RCPT_REPLIES for arg in ("--rcpt", address)]
    code, doc = await probe_one(run_cli, handler, *rcpt_args)
    rcpts = steps_of(doc, "rcpt")
    assert [step["command"] for step in rcpts] == [f"RCPT TO:<{a}>" for a, *_ in RCPT_REPLIES]
    for step, (address, reply, number, enhanced, category, severities) in zip(
            rcpts, RCPT_REPLIES, strict=True):
        got = step["reply"]
        assert got["code"] == number, address
        assert got["enhanced"] == enhanced, address
        assert got["lines"] == [reply[4:]], address
        assert step["annotation"]["category"] == category, (address, step["annotation"])
        assert step["annotation"]["severity"] in severities, (address, step["annotation"])
    assert code == 2 and doc["outcome"] == "permanent"
    assert handler.verbs()[-len(RCPT_REPLIES):] == ["RCPT"] * len(RCPT_REPLIES)


@pytest.mark.parametrize(("reply", "category"), [
    ("450 4.7.1 <g@x.test>: Recipient address rejected: Greylisting in action, please come "
     "back later", "greylisted"),
    ("452 4.2.2 <f@x.test>: Recipient address rejected: Mailbox full", "mailbox_full"),
])
async def test_postfix_prefixed_replies_keep_their_specific_category(run_cli, reply, category):
    handler = Handler({"r@x.test": reply})
    _, doc = await probe_one(run_cli, handler, "--rcpt", "r@x.test")
    (rcpt,) = steps_of(doc, "rcpt")
    assert rcpt["annotation"]["category"] == category


async def test_530_at_mail_is_auth_required_and_stops_before_rcpt(run_cli):
    handler = Handler(mail="530 5.7.0 Authentication required")
    code, doc = await probe_one(run_cli, handler)
    (mail,) = steps_of(doc, "mail")
    assert mail["reply"]["code"] == 530
    assert mail["annotation"]["category"] == "auth_required"
    assert mail["annotation"]["severity"] == "permanent"
    assert steps_of(doc, "rcpt") == []
    assert "RCPT" not in handler.verbs()
    assert code == 2


async def test_help_502_is_informational(run_cli):
    code, doc = await probe_one(run_cli, Handler(), smtp_class=NoHelpSMTP)
    (help_step,) = steps_of(doc, "help")
    assert help_step["reply"]["code"] == 502
    # Not implemented, like any command a server does not take; info only.
    assert help_step["annotation"]["category"] == "syntax_error"
    assert help_step["annotation"]["severity"] in ("info", "ok")
    assert code == 0 and doc["outcome"] == "ok"


async def test_aiosmtpd_help_250_is_help(run_cli):
    code, doc = await probe_one(run_cli, Handler())
    (help_step,) = steps_of(doc, "help")
    assert help_step["reply"]["code"] == 250
    assert help_step["reply"]["lines"][0].startswith("Supported commands:")
    # 250 instead of 214, but help all the same; informational.
    assert help_step["annotation"]["category"] == "help"
    assert help_step["annotation"]["severity"] == "info"
    assert code == 0


@pytest.mark.parametrize(("reply", "category"), [
    (b"214-2.0.0 This is mx.test\r\n214-2.0.0 Topics: HELO EHLO MAIL RCPT\r\n"
     b"214 2.0.0 End of HELP info\r\n", "help"),
    (b"211 2.0.0 mx.test system status: all queues empty\r\n", "system_status"),
    (b"211 DATA EXPN HELO MAIL NOOP QUIT RCPT RSET VRFY\r\n", "help"),
])
async def test_scripted_help_214_and_211(run_cli, reply, category):
    async with Scripted(dialog(replies={"HELP": reply})) as server:
        result = await run(run_cli, [server.mx])
    doc = json.loads(result.out)
    (help_step,) = steps_of(doc, "help")
    assert help_step["reply"]["code"] == int(reply[:3])
    assert help_step["annotation"]["category"] == category
    assert help_step["annotation"]["severity"] == "info"
    assert result.code == 0


# -- the exit code rule: worst host wins; HELP never counts --------------------------


@pytest.mark.parametrize(("replies", "expected"), [
    ({}, 0),
    ({"b@x.test": "450 4.2.0 Greylisted, please try again in 300 seconds"}, 1),
    ({"b@x.test": "450 4.2.0 Greylisted, please try again in 300 seconds",
      "c@x.test": "550 5.1.1 User unknown"}, 2),
    ({"c@x.test": "550 5.1.1 User unknown"}, 2),
])
async def test_exit_code_within_one_host(run_cli, replies, expected):
    handler = Handler(replies)
    code, doc = await probe_one(run_cli, handler, "--rcpt", "a@x.test", "--rcpt", "b@x.test",
                                "--rcpt", "c@x.test")
    assert code == expected
    assert doc["outcome"] == ["ok", "transient", "permanent"][expected]
    assert len(steps_of(doc, "rcpt")) == 3  # one refusal never stops the other recipients


@pytest.mark.parametrize(("first", "second", "expected"), [
    ({}, {}, 0),
    ({}, {"postmaster@x.test": "451 4.3.0 Temporary lookup failure"}, 1),
    ({"postmaster@x.test": "451 4.3.0 Temporary lookup failure"},
     {"postmaster@x.test": "550 5.1.1 User unknown"}, 2),
    ({"postmaster@x.test": "550 5.1.1 User unknown"}, {}, 2),
])
async def test_worst_host_wins(run_cli, first, second, expected):
    with smtpd(Handler(first)) as mx1, smtpd(Handler(second), NoHelpSMTP) as mx2:
        result = await run(run_cli, [mx1, mx2])
    doc = json.loads(result.out)
    outcomes = [host["outcome"] for host in doc["hosts"]]
    assert len(outcomes) == 2
    assert result.code == expected
    assert doc["outcome"] == ["ok", "transient", "permanent"][expected]
    assert max(["ok", "transient", "permanent"].index(o) for o in outcomes) == expected


# -- golden outputs ---------------------------------------------------------------

_PLAIN_MS = re.compile(r" {2,}\d+(?:\.\d+)? ms$")
_PLAIN_PORT = re.compile(r"^== \[127\.0\.0\.1\]:\d+", re.M)


_PLAIN_REPLY = re.compile(r"<- \d{3}[ -]")
_PLAIN_MS_ALONE = re.compile(r" +\d+(?:\.\d+)? ms")


def normalise_plain(text: str) -> str:
    """Replace the port and the timing column; keep every other character.

    Where the timing goes depends on its width ("0.3 ms" vs "12 ms"): at the
    end of a row, or on a row of its own when it does not fit. Both become
    "  <N ms>" at the end of the row it belongs to; and when a reply's first
    row carried the timing, its continuation rows are joined back to it (older
    layouts wrapped that row narrower). Every other line is kept as is.
    """
    text = _PLAIN_PORT.sub("== [127.0.0.1]:PORT", text)
    out: list[str] = []
    timed: set[int] = set()
    joining = ""
    for line in text.split("\n"):
        if joining and line.startswith(joining) and not line[len(joining):].startswith(" "):
            out[-1] += " " + line[len(joining):]
            continue
        joining = ""
        if _PLAIN_MS_ALONE.fullmatch(line) and out:
            timed.add(len(out) - 1)
            continue
        if _PLAIN_MS.search(line):
            line = _PLAIN_MS.sub("", line)
            joining = " " * 7 if _PLAIN_REPLY.match(line) else ""
            timed.add(len(out))
        out.append(line)
    return "\n".join(line + "  <N ms>" if n in timed else line for n, line in enumerate(out))


def normalise_json(doc: dict[str, Any]) -> dict[str, Any]:
    """Replace ports and elapsed_ms; keep every other key and value."""
    doc = json.loads(json.dumps(doc))
    for host in doc["hosts"]:
        host["port"] = "PORT"
        for step in host["steps"]:
            step["elapsed_ms"] = "N"
    summary = doc.get("summary", {})
    for host in summary.get("hosts", []) + [h for p in summary.get("problems", [])
                                            for h in p.get("hosts", [])]:
        host["port"] = "PORT"
    return doc


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("PROBE_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs; rerun with PROBE_UPDATE_GOLDEN=1 to review"


GOLDEN_DIALOGS = {
    "accepted": {},
    "mixed": {
        "grey@x.test": "450 4.2.0 <grey@x.test>: Recipient address rejected: Greylisted, see "
                       "http://postgrey.schweikert.ch/help/x.test.html",
        "unknown@x.test": "550 5.1.1 <unknown@x.test>: Recipient address rejected: User "
                          "unknown in local recipient table",
    },
}
GOLDEN_RCPTS = ("--rcpt", "ok@x.test", "--rcpt", "grey@x.test", "--rcpt", "unknown@x.test")


@pytest.mark.parametrize("name", sorted(GOLDEN_DIALOGS))
async def test_golden_plain(run_cli, name):
    code, text = await probe_one(run_cli, Handler(GOLDEN_DIALOGS[name]), *GOLDEN_RCPTS,
                                 mode="--plain")
    assert code == {"accepted": 0, "mixed": 2}[name]
    check_golden(f"{name}.txt", normalise_plain(text))


@pytest.mark.parametrize("name", sorted(GOLDEN_DIALOGS))
async def test_golden_json(run_cli, name):
    code, doc = await probe_one(run_cli, Handler(GOLDEN_DIALOGS[name]), *GOLDEN_RCPTS)
    assert code == {"accepted": 0, "mixed": 2}[name]
    check_golden(f"{name}.json", json.dumps(normalise_json(doc), indent=2,
                                            ensure_ascii=False) + "\n")


def test_normalisers_change_only_the_varying_parts():
    line = "<- 250 2.1.5 Ok" + " " * 57 + "0.3 ms"
    assert normalise_plain(line) == "<- 250 2.1.5 Ok  <N ms>"
    wrapped = ("<- 550 5.1.1 <u@x.test>: Recipient address rejected: User unknown in  12 ms\n"
               "       local recipient table\n"
               "   [user_unknown · permanent] Unknown user\n"
               "   Meaning: The receiving server has no mailbox\n"
               "     for this address.")
    assert normalise_plain(wrapped) == (
        "<- 550 5.1.1 <u@x.test>: Recipient address rejected: User unknown in local "
        "recipient table  <N ms>\n"
        "   [user_unknown · permanent] Unknown user\n"
        "   Meaning: The receiving server has no mailbox\n"
        "     for this address.")
    assert normalise_plain("== [127.0.0.1]:41234\n   => ok") == "== [127.0.0.1]:PORT\n   => ok"
    alone = "<- 220 a banner that fills the row\n" + " " * 74 + "0.3 ms\n   [ok] Greeting"
    assert normalise_plain(alone) == "<- 220 a banner that fills the row  <N ms>\n   [ok] Greeting"
    kept = "   Meaning: wait 300 ms before you retry"  # one space before: not the column
    assert normalise_plain(kept) == kept
    assert normalise_plain("== [127.0.0.2]:25") == "== [127.0.0.2]:25"
    doc = {"hosts": [{"port": 4242, "steps": [{"elapsed_ms": 1.5, "stage": "banner"}]}],
           "exit_code": 0}
    assert normalise_json(doc) == {"hosts": [{"port": "PORT", "steps": [
        {"elapsed_ms": "N", "stage": "banner"}]}], "exit_code": 0}


async def test_a_vague_refusal_of_a_foreign_recipient_reads_as_relay_denied(run_cli):
    """The probe tells the classifier which RCPT was outside the probed domain."""
    handler = Handler({"bob@elsewhere.test": "550 5.7.1 Access denied",
                       "carol@x.test": "550 5.7.1 Access denied"})
    code, doc = await probe_one(run_cli, handler, "--rcpt", "bob@elsewhere.test",
                                "--rcpt", "carol@x.test")
    rcpts = {s["command"]: s["annotation"] for s in doc["hosts"][0]["steps"]
             if s["stage"] == "rcpt"}
    assert rcpts["RCPT TO:<bob@elsewhere.test>"]["category"] == "relay_denied"
    assert "recipient outside the probed domain" in rcpts["RCPT TO:<bob@elsewhere.test>"][
        "matched"]
    assert rcpts["RCPT TO:<carol@x.test>"]["category"] != "relay_denied"
    assert code == 2
