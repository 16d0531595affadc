"""Hostile and faulty servers: RELIABILITY.md checklist A, B, C and D, end to end.

Every scenario runs the real CLI (`--json` and `--plain`, each against its own
scripted loopback server) and checks three things:

* the JSON tells the truth: which step, which reply or `error.kind`, the
  partial lines kept, the findings, the host outcome and the exit code;
* the plain report is terminal-safe: no ESC, C0, C1 or bidi character from the
  server reaches it raw (only escaped forms such as `\\x1b`), and no exception
  text or traceback;
* etiquette: DATA is never sent, QUIT is sent when the connection was still
  usable, and the CLI returns within the bound (a hang fails through the
  `asyncio.wait_for` safety net, not through a speed assertion) with 0/1/2.

Section D (bad input) checks that nothing at all reaches the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import socket
import struct
import warnings
from dataclasses import dataclass
from typing import Any

import pytest

from probe.core.events import FindingRaised, HostKey, StepDone, StepStarted
from probe.core.plan import build_plan
from probe.core.runner import run_probe
from probe.core.session import Session
from tests.conftest import server_context
from tests.dnsserver import dns_server  # noqa: F401  (fixture)
from tests.smtpserver import Scripted, dialog

HANG_GUARD = 30  # seconds: a safety net against hangs, never a speed assertion
HELO = "probe.test"

# Invisible or reordering characters that must never reach a terminal raw.
BIDI = frozenset("\u061c\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u202a\u202b\u202c"
                 "\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
EXCEPTION_TEXT = ("Traceback", "SMTPReadTimeoutError", "SMTPServerDisconnected",
                  "SMTPResponseException", "SMTPTimeoutError", "SMTPConnectTimeoutError",
                  "SSLError", "SSLCertVerificationError", "ConnectionResetError",
                  "internal error", "MalformedReply", "Exception")


# -- helpers -------------------------------------------------------------------


@dataclass
class Probe:
    """One scenario run twice (JSON and plain), each against a fresh server."""

    code: int
    doc: dict[str, Any]
    plain: str
    commands: list[str]  # what the client sent in the JSON run
    plain_commands: list[str]
    received: bytes

    @property
    def host(self) -> dict[str, Any]:
        (host,) = self.doc["hosts"]
        return host

    @property
    def steps(self) -> list[dict[str, Any]]:
        return self.host["steps"]

    @property
    def stages(self) -> list[str]:
        return [step["stage"] for step in self.steps]

    def step(self, stage: str) -> dict[str, Any]:
        matches = [step for step in self.steps if step["stage"] == stage]
        assert matches, f"no {stage} step in {self.stages}"
        return matches[-1]

    @property
    def finding_codes(self) -> set[str]:
        return {f["code"] for f in self.host["findings"]} | {f["code"] for f in
                                                              self.doc["findings"]}

    def finding(self, code: str) -> dict[str, Any]:
        for finding in self.host["findings"] + self.doc["findings"]:
            if finding["code"] == code:
                return finding
        raise AssertionError(f"no finding {code!r} in {self.finding_codes}")

    @property
    def verbs(self) -> list[str]:
        return [c.split(" ", 1)[0].split(":", 1)[0].upper() for c in self.commands]


def assert_terminal_safe(text: str) -> None:
    """No raw control, bidi or undecodable character; no exception text."""
    for index, ch in enumerate(text):
        if ch == "\n":
            continue
        context = text[max(0, index - 60):index + 20]
        assert ch == " " or ch.isprintable(), f"raw {ch!r} reached the terminal: {context!r}"
        assert ch not in BIDI, f"raw bidi {ch!r} reached the terminal: {context!r}"
        assert ch != "\u00ad", context
    for needle in EXCEPTION_TEXT:
        assert needle not in text, f"exception text {needle!r} in output:\n{text}"


async def run_once(run_cli, script, mode: str, *args: str, timeout: str = "1",
                   target: str = "x.test"):
    async with Scripted(script) as server:
        result = await asyncio.wait_for(
            run_cli(target, "--mx", server.mx, mode, "--helo", HELO, "--timeout", timeout,
                    *args),
            HANG_GUARD)
        await settle(server)
    return result, server


async def settle(server: Scripted) -> None:
    """Let the server scripts see the client's close and end on their own.

    Scripted cancels scripts still running when it exits, and asyncio logs each
    cancelled connection handler as an error; waiting (bounded) keeps logs clean.
    """
    if server.tasks:
        await asyncio.wait(list(server.tasks), timeout=2)


async def probe(run_cli, script, *args: str, timeout: str = "1") -> Probe:
    """Run the scenario with --json and with --plain; check the universal invariants."""
    as_json, server = await run_once(run_cli, script, "--json", *args, timeout=timeout)
    plain, plain_server = await run_once(run_cli, script, "--plain", *args, timeout=timeout)
    for result in (as_json, plain):
        assert result.code in (0, 1, 2), (result.code, result.err, result.out[-2000:])
        assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    assert as_json.out, as_json.err
    doc = json.loads(as_json.out)
    assert doc["exit_code"] == as_json.code
    assert plain.code == as_json.code, (plain.code, as_json.code, plain.out)
    assert_terminal_safe(plain.out)
    verdicts = [line for line in plain.out.splitlines() if line.startswith("Verdict: ")]
    assert len(verdicts) == 1 and f"(exit {as_json.code})" in verdicts[0], plain.out
    commands = server.commands()
    plain_commands = plain_server.commands()
    for sent in (commands, plain_commands):
        assert not any(c.upper().startswith("DATA") for c in sent), sent
    return Probe(as_json.code, doc, plain.out, commands, plain_commands, bytes(server.received))


def assert_quit_sent(p: Probe) -> None:
    assert p.commands and p.commands[-1] == "QUIT", p.commands
    assert p.plain_commands and p.plain_commands[-1] == "QUIT", p.plain_commands


def assert_no_quit(p: Probe) -> None:
    assert "QUIT" not in p.commands, p.commands
    assert "QUIT" not in p.plain_commands, p.plain_commands


async def wait_eof(reader) -> None:
    """Keep the connection open, silent, until the client closes it."""
    while await reader.read(65536):
        pass


async def greet(writer, greeting: bytes = b"220 mx.test ESMTP\r\n") -> None:
    writer.write(greeting)
    await writer.drain()


def answering(replies: dict[str, bytes], greeting: bytes = b"220 mx.test ESMTP\r\n",
              after: dict[str, Any] | None = None):
    """A script built from `dialog` whose reply to a verb may be followed by an action.

    `after[VERB]` is a coroutine function (reader, writer) run right after the
    reply to VERB was written; when it returns, the connection is closed.
    """
    after = after or {}

    async def script(reader, writer, server):
        writer.write(greeting)
        await writer.drain()
        while True:
            line = await reader.readline()
            if not line:
                return
            verb = line.decode("ascii", "replace").strip().split(" ", 1)[0].split(":", 1)[0]
            verb = verb.upper()
            default = (b"221 2.0.0 bye\r\n" if verb == "QUIT" else b"250 2.0.0 ok\r\n")
            reply = replies.get(verb, default)
            if reply:
                writer.write(reply)
                await writer.drain()
            if verb in after:
                await after[verb](reader, writer)
                return
            if verb == "QUIT":
                return

    return script


# -- A. Connection and timing ------------------------------------------------


def _blackhole() -> tuple[socket.socket, list[socket.socket]]:
    """A listener whose accept queue is full and never drained: new SYNs are dropped."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(listener.getsockname())
        fillers.append(filler)
    return listener, fillers


async def test_a1_black_holed_syn_is_a_connect_timeout(run_cli):
    listener, fillers = _blackhole()
    port = listener.getsockname()[1]
    try:
        await asyncio.sleep(0.1)
        result = await asyncio.wait_for(run_cli(
            "x.test", "--mx", f"127.0.0.1:{port}", "--json", "--helo", HELO, "--timeout", "0.5"),
            HANG_GUARD)
    finally:
        for sock in [*fillers, listener]:
            sock.close()
    doc = json.loads(result.out)
    (host,) = doc["hosts"]
    (connect,) = host["steps"]
    assert connect["stage"] == "connect"
    assert connect["error"]["kind"] == "timeout"
    assert "no TCP answer" in connect["error"]["message"]
    assert "port_blocked" in {f["code"] for f in doc["findings"]}
    assert result.code == 1 and host["outcome"] == "transient"


async def test_a2_closed_port_is_refused(run_cli):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for mode in ("--json", "--plain"):
        result = await asyncio.wait_for(run_cli(
            "x.test", "--mx", f"127.0.0.1:{port}", mode, "--helo", HELO, "--timeout", "1"),
            HANG_GUARD)
        assert result.code == 1
        if mode == "--plain":
            assert_terminal_safe(result.out)
            assert "!! connect: refused" in result.out
            continue
        (host,) = json.loads(result.out)["hosts"]
        (connect,) = host["steps"]
        assert connect["error"]["kind"] == "refused"
        assert str(port) in connect["error"]["message"]


async def test_a3_accepts_but_never_greets(run_cli):
    async def script(reader, writer, server):
        await wait_eof(reader)

    p = await probe(run_cli, script, timeout="0.5")
    assert p.stages == ["connect", "banner"]
    banner = p.step("banner")
    assert banner["reply"] is None
    assert banner["error"]["kind"] == "timeout"
    assert "no bytes received" in banner["error"]["message"]
    assert banner["partial"] == []
    assert p.host["outcome"] == "transient" and p.code == 1
    assert p.received == b""  # nothing sent: no EHLO, no QUIT into a silent socket
    assert "!! banner: timeout" in p.plain


async def test_a4_greeting_delayed_under_the_timeout_succeeds_and_shows_latency(run_cli):
    inner = dialog()

    async def script(reader, writer, server):
        await asyncio.sleep(0.4)
        await inner(reader, writer, server)

    p = await probe(run_cli, script, timeout="3")
    banner = p.step("banner")
    assert banner["reply"]["code"] == 220 and banner["error"] is None
    assert banner["elapsed_ms"] >= 350  # the latency is measured from the TCP connect
    assert p.stages == ["connect", "banner", "ehlo", "help", "mail", "rcpt", "quit"]
    assert p.code == 0 and p.host["outcome"] == "ok"
    assert_quit_sent(p)


async def test_a5_trickle_hits_the_whole_reply_deadline_and_keeps_the_bytes(run_cli):
    payload = b"220 " + b"a" * 300 + b"\r\n"  # 60 s at this pace: only a deadline ends it

    async def script(reader, writer, server):
        for byte in payload:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.2)

    p = await probe(run_cli, script, timeout="1")
    banner = p.step("banner")
    assert banner["reply"] is None
    assert banner["error"]["kind"] == "timeout"
    (kept,) = banner["partial"]  # the first byte goes out at once, so something arrived
    assert kept and (("220 ".startswith(kept)) or set(kept) == {"a"}), kept
    assert p.host["outcome"] == "transient" and p.code == 1
    assert_no_quit(p)
    assert "partial:" in p.plain


async def test_a6_stall_mid_multiline_keeps_the_lines_as_partial(run_cli):
    async def stall(reader, writer):
        await wait_eof(reader)

    script = answering({"EHLO": b"250-mx.test hello\r\n250-SIZE 1000\r\n"},
                       after={"EHLO": stall})
    p = await probe(run_cli, script, timeout="0.5")
    ehlo = p.step("ehlo")
    assert ehlo["reply"] is None
    assert ehlo["error"]["kind"] == "timeout"
    assert ehlo["partial"] == ["mx.test hello", "SIZE 1000"]
    assert p.stages[-1] == "ehlo"
    assert p.commands == [f"EHLO {HELO}"]  # timed out mid-reply: unusable, no QUIT
    assert p.code == 1
    assert "partial: mx.test hello" in p.plain


async def test_a7_host_budget_ends_a_server_that_answers_every_step_slowly(run_cli):
    # --timeout 0.5 gives a host budget of 6 x 0.5 s; each step answers in half
    # its deadline, and 20 recipients make far more steps than the budget holds.
    async def script(reader, writer, server):
        await asyncio.sleep(0.25)
        await greet(writer)
        while line := await reader.readline():
            await asyncio.sleep(0.25)
            writer.write(b"221 bye\r\n" if line.startswith(b"QUIT") else b"250 ok\r\n")
            await writer.drain()

    rcpts = [arg for n in range(20) for arg in ("--rcpt", f"user{n}@x.test")]
    p = await probe(run_cli, script, *rcpts, timeout="0.5")
    assert "host_budget" in p.finding_codes
    last = p.steps[-1]
    assert last["error"]["kind"] == "timeout"
    assert "host budget" in last["error"]["message"]
    assert last["stage"] in ("mail", "rcpt", "help", "ehlo")
    assert sum(1 for c in p.commands if c.startswith("RCPT")) < 20
    assert p.host["outcome"] == "transient" and p.code == 1


async def test_a8_closing_the_event_stream_early_closes_the_socket_cleanly():
    """A view quitting mid-probe: the session is cancelled, its socket closed, no leaks."""
    closed = asyncio.Event()
    help_seen = asyncio.Event()

    async def script(reader, writer, server):
        await greet(writer)
        await reader.readline()  # EHLO
        writer.write(b"250 mx.test\r\n")
        await writer.drain()
        await reader.readline()  # HELP, never answered: the session is mid-step
        help_seen.set()
        await wait_eof(reader)
        closed.set()

    loop = asyncio.get_running_loop()
    problems: list[dict] = []
    loop.set_exception_handler(lambda _loop, context: problems.append(context))
    async with Scripted(script) as server:
        plan = build_plan("x.test", mx=[server.mx], helo=HELO, timeout=5)
        before = asyncio.all_tasks()
        stream = run_probe(plan)
        seen = []
        async for event in stream:
            seen.append(event)
            if isinstance(event, StepStarted) and event.stage == "help":
                break
        await asyncio.wait_for(help_seen.wait(), HANG_GUARD)
        await stream.aclose()
        await asyncio.wait_for(closed.wait(), HANG_GUARD)
        leftover = {t for t in asyncio.all_tasks() - before
                    if t is not asyncio.current_task() and t not in server.tasks}
        assert leftover == set()
        assert server.commands() == [f"EHLO {HELO}", "HELP"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
        await asyncio.sleep(0)
    assert [str(w.message) for w in caught] == []
    assert problems == []
    assert any(isinstance(e, StepDone) and e.step.stage == "ehlo" for e in seen)


# -- B. Framing and reply parsing ----------------------------------------------


async def test_b11_bare_lf_is_accepted_and_flagged(run_cli):
    script = answering({"EHLO": b"250-mx.test hello\n250 SIZE 1000\n"},
                       greeting=b"220 mx.test ESMTP\n")
    p = await probe(run_cli, script)
    assert p.step("banner")["reply"]["lines"] == ["mx.test ESMTP"]
    ehlo = p.step("ehlo")["reply"]
    assert ehlo["lines"] == ["mx.test hello", "SIZE 1000"]
    assert any("bare LF" in o for o in ehlo["oddities"])
    assert any("bare LF" in f["message"] for f in p.host["findings"])
    assert p.stages[-1] == "quit" and p.code == 0
    assert_quit_sent(p)


async def test_b12_bare_cr_never_terminates_and_says_so(run_cli):
    async def script(reader, writer, server):
        await greet(writer, b"220 mx.test ESMTP\r")
        await wait_eof(reader)

    p = await probe(run_cli, script, timeout="0.5")
    banner = p.step("banner")
    assert banner["reply"] is None
    assert banner["error"]["kind"] == "timeout"
    assert "CR but never LF" in banner["error"]["message"]
    assert banner["partial"] == ["mx.test ESMTP"]
    assert p.code == 1 and p.received == b""


async def test_b13_long_line_under_8k_is_accepted_and_flagged(run_cli):
    long_text = "x" * 1000
    script = answering({"EHLO": b"250-mx.test hello\r\n250 " + long_text.encode() + b"\r\n"})
    p = await probe(run_cli, script)
    reply = p.step("ehlo")["reply"]
    assert reply["lines"] == ["mx.test hello", long_text]
    assert any("512 octets" in o for o in reply["oddities"])
    assert any("512 octets" in f["message"] for f in p.host["findings"])
    assert p.code == 0
    assert_quit_sent(p)
    assert all(len(line) <= 80 for line in p.plain.splitlines())


async def test_b14_line_over_8k_is_a_protocol_error_with_the_start_kept(run_cli):
    async def script(reader, writer, server):
        await greet(writer, b"220 " + b"A" * 9000 + b"\r\n")
        await wait_eof(reader)

    p = await probe(run_cli, script)
    banner = p.step("banner")
    assert banner["reply"] is None
    assert banner["error"]["kind"] == "protocol"
    assert "too long" in banner["error"]["message"]
    (kept,) = banner["partial"]
    assert kept.startswith("AAAA") and set(kept) == {"A"} and len(kept) <= 2000
    assert p.code == 1
    assert_no_quit(p)


async def test_b15_40k_without_newline_is_bounded(run_cli):
    async def script(reader, writer, server):
        await greet(writer, b"220 " + b"B" * 40_000)
        await wait_eof(reader)

    p = await probe(run_cli, script)
    banner = p.step("banner")
    assert banner["reply"] is None
    assert banner["error"]["kind"] == "protocol"
    assert "too long" in banner["error"]["message"]
    (kept,) = banner["partial"]
    assert set(kept) == {"B"} and len(kept) <= 2000
    assert p.code == 1
    assert_no_quit(p)


async def test_b16_endless_continuation_stream_is_stopped_and_truncated(run_cli):
    async def flood(reader, writer):
        for _ in range(50_000):  # 500 KB at most, far over every cap
            if writer.is_closing():
                return
            writer.write(b"250-spam\r\n" * 10)
            await writer.drain()

    script = answering({"EHLO": b"250-mx.test hello\r\n"}, after={"EHLO": flood})
    p = await probe(run_cli, script)
    ehlo = p.step("ehlo")
    assert ehlo["reply"] is None
    assert ehlo["error"]["kind"] == "protocol"
    assert "too long" in ehlo["error"]["message"]
    partial = ehlo["partial"]
    assert partial[0] == "mx.test hello" and set(partial[1:-1]) == {"spam"}
    assert "more lines not kept" in partial[-1]
    assert len(partial) <= 51
    assert p.code == 1
    assert p.commands == [f"EHLO {HELO}"]


async def test_b17_thousands_of_tiny_continuation_segments_still_complete(run_cli):
    async def many(reader, writer):
        for n in range(2000):
            writer.write(b"250-k%d\r\n" % n)
            await writer.drain()
            if n % 10 == 0:
                await asyncio.sleep(0)  # keep them in separate segments
        writer.write(b"250 end\r\n")
        await writer.drain()
        while line := await reader.readline():
            writer.write(b"221 bye\r\n" if line.startswith(b"QUIT") else b"250 ok\r\n")
            await writer.drain()

    script = answering({"EHLO": b"250-mx.test hello\r\n"}, after={"EHLO": many})
    p = await probe(run_cli, script, timeout="20")
    reply = p.step("ehlo")["reply"]
    assert reply["lines"][:2] == ["mx.test hello", "k0"] and reply["lines"][-1] == "end"
    assert len(reply["lines"]) == 2002
    assert p.stages[-1] == "quit" and p.code == 0


async def test_b18_mixed_codes_in_a_multiline_reply_are_flagged(run_cli):
    script = answering({"EHLO": b"250-mx.test hello\r\n550-b\r\n250 c\r\n"})
    p = await probe(run_cli, script)
    reply = p.step("ehlo")["reply"]
    assert reply["code"] == 250
    assert reply["lines"] == ["mx.test hello", "b", "c"]
    assert any("codes differ" in o for o in reply["oddities"])
    assert any("codes differ" in f["message"] for f in p.host["findings"])
    assert_quit_sent(p)


@pytest.mark.parametrize(("greeting", "hint"), [
    (b"HTTP/1.1 400 Bad Request\x1b]0;PWNED\x07\r\nServer: evil\r\n\r\n", "HTTP"),
    (b"SSH-2.0-OpenSSH_9.6\x1b[2J\r\n", "SSH"),
    (b"\x16\x03\x03\x00\x2a\x02\x00\x00\x26\x03\x03" + bytes(range(32)), "TLS"),
])
async def test_b19_not_an_smtp_server(run_cli, greeting, hint):
    async def script(reader, writer, server):
        await greet(writer, greeting)
        await wait_eof(reader)

    p = await probe(run_cli, script, timeout="0.5")
    banner = p.step("banner")
    assert banner["reply"] is None
    assert banner["error"]["kind"] == "protocol"
    assert "not an SMTP reply line" in banner["error"]["message"]
    assert hint in banner["error"]["message"]
    assert banner["partial"], banner
    assert p.code == 1 and p.host["outcome"] == "transient"
    assert not any(c.startswith(("EHLO", "MAIL", "RCPT")) for c in p.commands)
    if hint != "TLS":
        assert "\\x1b" in p.plain  # shown, escaped


@pytest.mark.parametrize("greeting", [b"HTTP/1.1 400 Bad Request\r\n", b"2_0 mx.test hi\r\n"])
async def test_b19_no_quit_into_a_stream_that_is_not_smtp(run_cli, greeting):
    async def script(reader, writer, server):
        await greet(writer, greeting)
        await wait_eof(reader)

    p = await probe(run_cli, script, timeout="0.5")
    assert p.stages == ["connect", "banner"]
    assert_no_quit(p)


@pytest.mark.parametrize("greeting", [
    b"-12 mx.test hi\r\n", b" 22 mx.test hi\r\n", b"2_0 mx.test hi\r\n", b"2500 mx.test hi\r\n",
    b"-1 mx.test hi\r\n", b"22 mx.test\r\n", b"abc mx.test\r\n", b"220_mx.test\r\n",
])
async def test_b20_malformed_codes_are_rejected(run_cli, greeting):
    async def script(reader, writer, server):
        await greet(writer, greeting)
        await wait_eof(reader)

    p = await probe(run_cli, script, timeout="0.5")
    banner = p.step("banner")
    assert banner["reply"] is None
    assert banner["error"]["kind"] == "protocol", banner["error"]
    assert p.code == 1
    assert not any(c.startswith(("EHLO", "MAIL", "RCPT")) for c in p.commands)


@pytest.mark.parametrize("greeting", [b"600 mx.test\r\n", b"299 mx.test\r\n",
                                      b"199 mx.test\r\n", b"960 mx.test\r\n"])
async def test_b21_out_of_range_codes_are_fatal(run_cli, greeting):
    async def script(reader, writer, server):
        await greet(writer, greeting)
        await wait_eof(reader)

    p = await probe(run_cli, script, timeout="0.5")
    banner = p.step("banner")
    assert banner["reply"] is None
    assert banner["error"]["kind"] == "protocol"
    assert "out of range" in banner["error"]["message"]
    assert greeting[:3].decode() in banner["error"]["message"]
    assert p.code == 1
    assert not any(c.startswith(("EHLO", "MAIL", "RCPT")) for c in p.commands)


@pytest.mark.parametrize("bare", [b"250\r\n", b"250 \r\n"])
async def test_b22_bare_code_is_accepted_with_a_note(run_cli, bare):
    p = await probe(run_cli, answering({"EHLO": bare}))
    reply = p.step("ehlo")["reply"]
    assert reply["code"] == 250
    assert reply["lines"] == [""]
    assert any("no text" in o for o in reply["oddities"])
    assert p.code == 0
    assert_quit_sent(p)


async def test_b23_invalid_utf8_is_shown_as_hex_escapes(run_cli):
    script = answering({"EHLO": b"250-caf\xe9 \xff\xfe\r\n250 SIZE 1000\r\n"},
                       greeting=b"220 mx.test caf\xe9 \xc3\x28 ESMTP\r\n")
    p = await probe(run_cli, script)
    assert p.step("banner")["reply"]["lines"] == ["mx.test caf\\xe9 \\xc3( ESMTP"]
    assert p.step("ehlo")["reply"]["lines"][0] == "caf\\xe9 \\xff\\xfe"
    assert "caf\\xe9" in p.plain
    assert p.code == 0


async def test_b24_nul_c0_c1_controls_are_escaped(run_cli):
    greeting = "220 mx a\x00b\x07c\x08d\x7fe\x85f\x9bg\x0bh\x0ci ESMTP\r\n".encode()
    p = await probe(run_cli, answering({}, greeting=greeting))
    (line,) = p.step("banner")["reply"]["lines"]
    assert line == "mx a\x00b\x07c\x08d\x7fe\x85f\x9bg\x0bh\x0ci ESMTP"  # JSON: as sent
    for escaped in ("\\x00", "\\x07", "\\x08", "\\x7f", "\\x85", "\\x9b", "\\x0b", "\\x0c"):
        assert escaped in p.plain, escaped
    assert p.code == 0


TERMINAL_ATTACKS = {
    "banner": b"220 mx.test \x1b[2J\x1b]0;PWNED-TITLE\x07 ESMTP\r\n",
    "EHLO": b"250-mx.test \x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\\r\n"
            b"250 SIZE 1000\x1b[31m\r\n",
    "HELP": b"214-\x1b]52;c;cHduZWQ=\x07 clipboard\r\n214 \x9b31m C1 CSI\r\n",
    "RCPT": b"550 5.1.1 \x1b[1;31mno such user\x1b[0m\x1b]0;x\x1b\\\r\n",
}


async def test_b25_escape_sequences_anywhere_are_escaped(run_cli):
    replies = {k: v for k, v in TERMINAL_ATTACKS.items() if k != "banner"}
    p = await probe(run_cli, answering(replies, greeting=TERMINAL_ATTACKS["banner"]))
    assert p.step("banner")["reply"]["lines"] == ["mx.test \x1b[2J\x1b]0;PWNED-TITLE\x07 ESMTP"]
    assert p.step("rcpt")["reply"]["code"] == 550
    assert "\\x1b]0;PWNED-TITLE\\x07" in p.plain
    assert "\\x1b]8;;http://evil.example" in p.plain
    assert "\\x1b]52;c;cHduZWQ=\\x07" in p.plain
    assert "\\x9b31m" in p.plain
    assert "\\x1b[1;31mno such user" in p.plain
    assert p.code == 2
    assert_quit_sent(p)


async def test_b25_escape_sequences_in_error_text_are_escaped(run_cli):
    """Server text inside an error (malformed line, partial lines) is sanitised too (#28)."""
    async def cut(reader, writer):
        return

    script = answering({"EHLO": b"250-first\x1b]0;PWN\x07\r\n250-second\x1b[2J\r\n"},
                       after={"EHLO": cut})
    p = await probe(run_cli, script)
    ehlo = p.step("ehlo")
    assert ehlo["error"]["kind"] == "closed"
    assert ehlo["partial"] == ["first\x1b]0;PWN\x07", "second\x1b[2J"]
    assert "first\\x1b]0;PWN\\x07" in p.plain and "second\\x1b[2J" in p.plain


async def test_b26_bidi_and_invisible_characters_are_escaped(run_cli):
    greeting = "220 mx.test \u202egnp.exe\u202c \u2066x\u2069 a\u200db \ufeff ESMTP\r\n"
    p = await probe(run_cli, answering({}, greeting=greeting.encode()))
    assert p.step("banner")["reply"]["lines"] == [greeting[4:-2]]
    for escaped in ("\\u202e", "\\u202c", "\\u2066", "\\u2069", "\\u200d", "\\ufeff"):
        assert escaped in p.plain, escaped
    assert p.code == 0


async def test_b27_markup_is_shown_literally(run_cli):
    markup = ("[bold]x[/] [link=http://evil.example]y[/link] "
              "[@click=app.screenshot('x','/tmp')]z[/] [$accent]w [BOLD]v[/BOLD] end\\")
    p = await probe(run_cli, answering({"HELP": f"214 {markup}\r\n".encode()},
                                       greeting=f"220 {markup}\r\n".encode()))
    assert p.step("banner")["reply"]["lines"] == [markup]
    flat = " ".join(line.strip() for line in p.plain.splitlines())
    for piece in ("[bold]x[/]", "[link=http://evil.example]y[/link]",
                  "[@click=app.screenshot('x','/tmp')]z[/]", "[$accent]w", "[BOLD]v[/BOLD]",
                  "end\\"):
        assert piece in flat, piece
    assert p.code == 0


async def test_b29_two_replies_to_one_command_stop_the_session(run_cli):
    p = await probe(run_cli, answering({"MAIL": b"250 2.1.0 ok\r\n250 2.1.5 EXTRA\r\n"}))
    assert p.step("mail")["reply"]["lines"] == ["2.1.0 ok"]
    finding = p.finding("extra_reply")
    assert finding["severity"] == "error"
    assert "EXTRA" in finding["message"]
    assert "rcpt" not in p.stages
    assert not any(c.startswith("RCPT") for c in p.commands)


async def test_b30_unsolicited_line_in_the_greeting_segment(run_cli):
    script = answering({}, greeting=b"220 mx.test ESMTP\r\n250 UNSOLICITED\r\n")
    p = await probe(run_cli, script)
    assert p.step("banner")["reply"]["lines"] == ["mx.test ESMTP"]
    assert "UNSOLICITED" in p.finding("extra_reply")["message"]
    assert "ehlo" not in p.stages  # nothing was paired with the injected line
    assert not any(c.startswith("EHLO") for c in p.commands)


async def test_b31_unsolicited_line_while_idle_is_recorded_and_flagged():
    """Drive a Session step by step so there is a real idle gap between two commands."""
    banner_read = asyncio.Event()
    sent = asyncio.Event()

    async def script(reader, writer, server):
        await greet(writer)
        await banner_read.wait()  # the client has its greeting and sends nothing yet
        writer.write(b"250 IDLE-\x1b]0;x\x07 nobody asked\r\n")
        await writer.drain()
        sent.set()
        line = await reader.readline()
        assert line.startswith(b"EHLO")
        writer.write(b"250 mx.test real EHLO reply\r\n")
        await writer.drain()
        await reader.readline()
        writer.write(b"221 bye\r\n")
        await writer.drain()

    events = []
    async with Scripted(script) as server:
        plan = build_plan("x.test", mx=[server.mx], helo=HELO, timeout=5)
        key = HostKey("127.0.0.1", "127.0.0.1", server.port, None)
        session = Session(key, "127.0.0.1", plan, events.append)
        await session.connect()
        banner = await session.exchange("banner", None, 5)
        banner_read.set()
        await asyncio.wait_for(sent.wait(), HANG_GUARD)
        async with asyncio.timeout(HANG_GUARD):
            while b"nobody asked" not in session.tee.data:
                await asyncio.sleep(0.01)
        ehlo = await session.exchange("ehlo", f"EHLO {HELO}", 5)
        await session.quit()
        session.protocol.transport.close()
        assert server.commands() == [f"EHLO {HELO}", "QUIT"]
    assert banner.reply.lines == ("mx.test ESMTP",)
    assert ehlo.reply.lines == ("mx.test real EHLO reply",)  # not the unsolicited line
    findings = [e.finding for e in events if isinstance(e, FindingRaised)]
    (unsolicited,) = [f for f in findings if f.code == "unsolicited_data"]
    assert "nobody asked" in unsolicited.message and "EHLO" in unsolicited.message


@pytest.mark.parametrize("verb", ["EHLO", "MAIL", "HELP"])
async def test_b32_eof_mid_multiline_keeps_the_partial_lines(run_cli, verb):
    async def cut(reader, writer):
        return

    code = {"EHLO": b"250", "MAIL": b"451", "HELP": b"214"}[verb]
    reply = code + b"-first\r\n" + code + b"-second\r\n" + code + b"-thi"
    p = await probe(run_cli, answering({verb: reply}, after={verb: cut}))
    step = p.step(verb.lower())
    assert step["reply"] is None
    assert step["error"]["kind"] == "closed"
    assert "middle of a reply" in step["error"]["message"]
    assert step["partial"] == ["first", "second", "thi"]
    assert p.stages[-1] == verb.lower()
    assert_no_quit(p)
    assert "partial: second" in p.plain
    assert p.host["outcome"] == "transient" and p.code == 1  # dropped connection


@pytest.mark.parametrize("stage", ["banner", "EHLO", "MAIL", "RCPT", "HELP"])
async def test_b33_421_at_any_step_stops_the_host_without_retry(run_cli, stage):
    reply = b"421 4.3.2 mx.test shutting down\r\n"

    async def close(reader, writer):
        return

    if stage == "banner":
        async def script(reader, writer, server):  # close right after the 421
            await greet(writer, reply)
    else:
        script = answering({stage: reply}, after={stage: close})
    p = await probe(run_cli, script)
    name = stage.lower()
    step = p.step(name)
    assert step["reply"]["code"] == 421
    assert step["reply"]["lines"] == ["4.3.2 mx.test shutting down"]
    assert p.stages[-1] == name  # no later step, no retry
    assert_no_quit(p)
    assert p.host["outcome"] == "transient" and p.code == 1
    sent_verbs = [c.split(" ")[0].split(":")[0] for c in p.commands]
    assert len(sent_verbs) == len(set(sent_verbs)) or stage == "RCPT"  # nothing re-sent


async def test_b34_greeting_554_is_permanent_and_quit_is_sent(run_cli):
    p = await probe(run_cli, answering({}, greeting=b"554 5.7.1 mx.test go away\r\n"))
    banner = p.step("banner")
    assert banner["reply"]["code"] == 554
    assert banner["reply"]["lines"] == ["5.7.1 mx.test go away"]
    assert p.stages == ["connect", "banner", "quit"]
    assert p.commands == ["QUIT"]
    assert p.host["outcome"] == "permanent" and p.code == 2
    assert "go away" in p.plain


@pytest.mark.parametrize("code", [b"500", b"502"])
async def test_b35_ehlo_refused_gives_a_visible_helo_step(run_cli, code):
    p = await probe(run_cli, answering({"EHLO": code + b" 5.5.2 what is EHLO\r\n"}))
    assert p.step("ehlo")["reply"]["code"] == int(code)
    assert p.step("helo")["reply"]["code"] == 250
    assert p.stages == ["connect", "banner", "ehlo", "helo", "help", "mail", "rcpt", "quit"]
    assert p.commands[:2] == [f"EHLO {HELO}", f"HELO {HELO}"]
    assert p.host["outcome"] == "ok" and p.code == 0
    assert f"-> HELO {HELO}" in p.plain


async def test_b35_ehlo_and_helo_both_refused_is_permanent(run_cli):
    p = await probe(run_cli, answering({"EHLO": b"502 5.5.2 no\r\n", "HELO": b"550 5.7.1 no\r\n"}))
    assert p.stages == ["connect", "banner", "ehlo", "helo", "quit"]
    assert p.host["outcome"] == "permanent" and p.code == 2
    assert_quit_sent(p)


async def test_b36_odd_ehlo_keyword_lines_are_parsed_and_kept_raw(run_cli):
    odd = [b"mx.test hello", b" PIPELINING", b"AUTH=PLAIN LOGIN", b"AUTH PLAIN LOGIN",
           b"8BITMIME", b"8BITMIME", b"SIZE -1", b"SIZE 99999999999999999999", b"X-\x01odd",
           b"", b"\t"]
    many = [b"X%05d" % n for n in range(1500)]
    lines = odd + many
    reply = b"".join(b"250-" + line + b"\r\n" for line in lines[:-1]) + b"250 " + lines[-1] \
        + b"\r\n"
    p = await probe(run_cli, answering({"EHLO": reply}))
    got = p.step("ehlo")["reply"]
    assert got["code"] == 250
    assert got["lines"] == [line.decode() for line in lines]
    assert any("1511 lines" in o for o in got["oddities"])
    assert p.stages[-1] == "quit" and p.code == 0
    assert "STARTTLS" not in p.commands


async def test_b37_help_502_is_informational(run_cli):
    p = await probe(run_cli, answering({"HELP": b"502 5.5.1 HELP not implemented\r\n"}))
    assert p.step("help")["reply"]["code"] == 502
    assert p.stages[-1] == "quit" and p.code == 0 and p.host["outcome"] == "ok"


async def test_b37_help_with_200_lines_is_shown_whole(run_cli):
    lines = [f"line {n} of the help text" for n in range(200)]
    reply = "".join(f"214-{line}\r\n" for line in lines[:-1]) + f"214 {lines[-1]}\r\n"
    p = await probe(run_cli, answering({"HELP": reply.encode()}))
    got = p.step("help")["reply"]
    assert got["code"] == 214 and got["lines"] == lines
    assert any("200 lines" in o for o in got["oddities"])
    assert "line 199 of the help text" in p.plain
    assert p.code == 0


@pytest.mark.parametrize(("replies", "stage", "enhanced", "outcome", "code"), [
    ({"MAIL": b"451 4.7.1 try again later\r\n"}, "mail", "4.7.1", "transient", 1),
    ({"MAIL": b"553 5.1.8 sender domain does not exist\r\n"}, "mail", "5.1.8", "permanent", 2),
    ({"RCPT": b"450 4.2.0 greylisted, try again in 300 seconds\r\n"}, "rcpt", "4.2.0",
     "transient", 1),
    ({"RCPT": b"550 5.1.1 <postmaster@x.test>: user unknown\r\n"}, "rcpt", "5.1.1",
     "permanent", 2),
])
async def test_b38_mail_rcpt_failures_with_enhanced_codes(run_cli, replies, stage, enhanced,
                                                          outcome, code):
    p = await probe(run_cli, answering(replies))
    step = p.step(stage)
    assert step["reply"]["enhanced"] == enhanced
    assert step["annotation"]["severity"] in ("transient", "permanent")
    assert p.host["outcome"] == outcome and p.code == code
    if stage == "mail":
        assert not any(c.startswith("RCPT") for c in p.commands)
    assert_quit_sent(p)


async def test_b38_slow_rcpt_is_shown_with_its_duration(run_cli):
    async def script(reader, writer, server):
        await greet(writer)
        while line := await reader.readline():
            if line.startswith(b"RCPT"):
                await asyncio.sleep(0.5)
            writer.write(b"221 bye\r\n" if line.startswith(b"QUIT") else b"250 ok\r\n")
            await writer.drain()

    p = await probe(run_cli, script, timeout="3")
    assert p.step("rcpt")["elapsed_ms"] >= 450
    assert p.code == 0


def _reset(writer) -> None:
    """Close with an RST (SO_LINGER 0) instead of a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@pytest.mark.parametrize("how", ["fin", "rst"])
async def test_b39_quit_closed_without_221_is_not_a_synthetic_221(run_cli, how):
    async def drop(reader, writer):
        if how == "rst":  # aiosmtplib answers this case with a synthetic `221 ''`
            _reset(writer)

    p = await probe(run_cli, answering({"QUIT": b""}, after={"QUIT": drop}))
    quit_step = p.step("quit")
    assert quit_step["reply"] is None
    assert quit_step["error"]["kind"] == "closed", quit_step["error"]
    assert "221" not in json.dumps(p.doc)
    assert "<- 221" not in p.plain
    assert p.code == 0  # QUIT is informational


# -- C. STARTTLS and TLS -------------------------------------------------------


def tls_until_starttls(on_starttls, greeting: bytes = b"220 mx.test ESMTP\r\n"):
    """A server that offers STARTTLS and hands the connection to `on_starttls` when asked."""

    async def script(reader, writer, server):
        await greet(writer, greeting)
        while line := await reader.readline():
            verb = line.split(b" ")[0].strip().upper()
            if verb == b"EHLO":
                writer.write(b"250-mx.test hello\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
            elif verb == b"STARTTLS":
                await on_starttls(reader, writer)
                return
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()

    return script


async def test_c40_starttls_response_injection_is_discarded_and_reported(run_cli, ca, ca_file):
    injected = b"250-INJECTED.evil\r\n250 AUTH PLAIN\r\n"
    script = dialog(tls=server_context(ca, "127.0.0.1"),
                    starttls_reply=b"220 2.0.0 go ahead\r\n" + injected)
    p = await probe(run_cli, script, "--tls-ca-file", ca_file)
    finding = p.finding("starttls_injection")
    assert finding["severity"] == "error"
    assert "INJECTED.evil" in finding["message"]
    ehlos = [s for s in p.steps if s["stage"] == "ehlo"]
    assert len(ehlos) == 2  # both EHLO replies shown (#46)
    assert ehlos[0]["reply"]["lines"] == ["mx.test greets you", "STARTTLS", "8BITMIME"]
    assert ehlos[1]["reply"]["lines"] == ["mx.test greets you over TLS", "8BITMIME"]
    assert "INJECTED" not in json.dumps(p.steps)
    assert p.step("tls")["error"] is None
    assert p.host["tls"]["version"]
    assert p.stages[-3:] == ["mail", "rcpt", "quit"]
    assert_quit_sent(p)


def tls_check(p: Probe) -> dict[str, Any]:
    (check,) = [c for c in p.host["checks"] if c["check"] == "tls"]
    return check


async def test_c41_starttls_454_continues_in_plaintext_and_the_tls_check_says_so(run_cli, ca):
    script = dialog(tls=server_context(ca, "127.0.0.1"),
                    starttls_reply=b"454 4.7.0 TLS not available due to temporary reason\r\n")
    p = await probe(run_cli, script, "--checks", "tls")
    assert p.step("starttls")["reply"]["code"] == 454
    assert "tls" not in p.stages
    assert p.host["tls"] is None
    check = tls_check(p)
    assert (check["code"], check["status"]) == ("starttls_refused", "fail")
    assert "454 4.7.0 TLS not available" in check["summary"]
    assert "unencrypted" in check["summary"]
    assert [s["stage"] for s in p.steps].count("ehlo") == 1
    assert p.stages[-3:] == ["mail", "rcpt", "quit"]
    assert p.host["outcome"] == "transient" and p.code == 1  # a refused STARTTLS (verdict.py)
    assert_quit_sent(p)


async def test_c41_starttls_not_advertised_is_never_sent(run_cli):
    p = await probe(run_cli, dialog(), "--checks", "tls")
    assert "STARTTLS" not in p.commands
    check = tls_check(p)
    assert (check["code"], check["status"]) == ("no_starttls", "fail")
    assert p.code == 0


async def test_c42_plaintext_instead_of_server_hello(run_cli):
    async def plaintext(reader, writer):
        writer.write(b"220 2.0.0 go ahead\r\n")
        await writer.drain()
        await reader.read(1)  # the ClientHello started
        writer.write(b"500 5.5.1 what is this \x1b[2J binary?\r\n")
        await writer.drain()
        await wait_eof(reader)

    p = await probe(run_cli, tls_until_starttls(plaintext))
    assert p.step("starttls")["reply"]["code"] == 220
    tls = p.step("tls")
    assert tls["reply"] is None
    assert tls["error"]["kind"] == "tls"
    assert "did not speak TLS" in tls["error"]["message"]
    assert p.stages[-1] == "tls"
    assert_no_quit(p)
    assert p.host["outcome"] == "transient" and p.code == 1


async def test_c43_silence_after_220_is_a_handshake_timeout(run_cli):
    async def silent(reader, writer):
        writer.write(b"220 2.0.0 go ahead\r\n")
        await writer.drain()
        await wait_eof(reader)

    p = await probe(run_cli, tls_until_starttls(silent), timeout="0.5")
    tls = p.step("tls")
    assert tls["error"]["kind"] == "timeout"
    assert "did not finish" in tls["error"]["message"]
    assert p.stages[-1] == "tls"
    assert_no_quit(p)
    assert p.code == 1


async def test_c44_close_after_220(run_cli):
    async def close(reader, writer):
        writer.write(b"220 2.0.0 go ahead\r\n")
        await writer.drain()

    p = await probe(run_cli, tls_until_starttls(close))
    assert p.step("starttls")["reply"]["code"] == 220
    tls = p.step("tls")
    assert tls["reply"] is None
    assert tls["error"]["kind"] in ("closed", "tls")
    assert p.stages[-1] == "tls"
    assert_no_quit(p)
    assert p.code == 1


async def test_c_421_in_reply_to_starttls_stops_without_quit(run_cli):
    async def shutdown(reader, writer):
        writer.write(b"421 4.3.2 shutting down\r\n")
        await writer.drain()

    p = await probe(run_cli, tls_until_starttls(shutdown))
    assert p.step("starttls")["reply"]["code"] == 421
    assert p.stages[-1] == "starttls"
    assert_no_quit(p)
    assert p.code == 1


async def test_c48_sni_is_the_mx_host_name_not_the_ip(run_cli, ca, ca_file, dns_server):  # noqa: F811
    dns = dns_server("mx.sni.test. A 127.0.0.1\n")
    seen: list[str | None] = []
    context = server_context(ca, "mx.sni.test")
    context.sni_callback = lambda _obj, name, _ctx: seen.append(name)
    async with Scripted(dialog(tls=context)) as server:
        result = await asyncio.wait_for(run_cli(
            "x.test", "--mx", f"mx.sni.test:{server.port}", "--nameserver", dns.nameserver_arg,
            "--json", "--helo", HELO, "--timeout", "2", "--tls-ca-file", ca_file), HANG_GUARD)
    doc = json.loads(result.out)
    assert seen == ["mx.sni.test"]
    (host,) = doc["hosts"]
    assert host["host"] == "mx.sni.test" and host["address"] == "127.0.0.1"
    cert = host["tls"]["certificate"]
    assert cert["hostname_match"] is True and cert["verify_error"] is None
    assert result.code == 0


async def test_c48_no_sni_when_the_mx_is_an_ip(run_cli, ca, ca_file):
    seen: list[str | None] = []
    context = server_context(ca, "127.0.0.1")
    context.sni_callback = lambda _obj, name, _ctx: seen.append(name)
    p = await probe(run_cli, dialog(tls=context), "--tls-ca-file", ca_file)
    assert seen == [None, None]  # one handshake per run (JSON, plain); IPs are not SNI names
    assert p.host["tls"]["certificate"]["hostname_match"] is True


# -- D. Client-side input (injection) ------------------------------------------


BAD_INPUT = [
    # 49: CR, LF, NUL and other controls in MAIL FROM, RCPT TO, the HELO name, the target
    ("--rcpt", "bob@x.test\r\nDATA"),
    ("--rcpt", "bob@x.test\nRCPT TO:<c@x.test>"),
    ("--rcpt", "bob\x00@x.test"),
    ("--rcpt", "bob@x.test\x1b[2J"),
    ("--rcpt", "bob@x.test\x85"),
    ("--mail-from", "a@b.test\r\nRCPT TO:<c@d.test>"),
    ("--mail-from", "a@b.test\x7f"),
    ("--helo", "evil.test\r\nMAIL FROM:<x@y.test>"),
    ("--helo", "evil\x00.test"),
    ("--helo", "evil test"),
    ("--helo", "[not-an-ip]"),
    ("target", "bob@x.test\r\nDATA"),
    # 50: spaces or ESMTP parameters in an address
    ("--rcpt", "x@y.test SIZE=1"),
    ("--mail-from", "x@y.test BODY=8BITMIME"),
    ("--rcpt", "x@y.test\tNOTIFY=NEVER"),
    # 51: display names, lists, comments, brackets
    ("--rcpt", "Bob <bob@x.test>"),
    ("--rcpt", "<bob@x.test>"),
    ("--rcpt", "a@b.test,c@d.test"),
    ("--rcpt", "alice@example.org)<bob@evil.example>"),
    ("--rcpt", "bob@x.test (comment)"),
    ("--rcpt", '"bob smith"@x.test'),
    ("--mail-from", "Alice <a@b.test>"),
    # 52: non-ASCII local part (no SMTPUTF8)
    ("--rcpt", "üser@x.test"),
    # 53: RFC 5321 §4.5.3.1 limits
    ("--rcpt", "a" * 65 + "@x.test"),
    ("--rcpt", "a@" + "b" * 64 + ".test"),
    ("--rcpt", "a@" + ".".join(["b" * 60] * 5) + ".test"),
    ("--helo", "a" * 64 + ".test"),
]


@pytest.mark.parametrize(("option", "value"), BAD_INPUT, ids=[ascii(v)[:40] for _, v in BAD_INPUT])
async def test_d_bad_input_exits_64_and_sends_nothing(run_cli, option, value):
    async with Scripted(dialog()) as server:
        args = ([value] if option == "target" else ["x.test", option, value])
        result = await asyncio.wait_for(
            run_cli(*args, "--mx", server.mx, "--json", "--timeout", "1",
                    *(["--helo", HELO] if option != "--helo" else [])), HANG_GUARD)
    assert result.code == 64
    assert result.out == ""
    (line,) = result.err.strip().splitlines()
    assert line.startswith("probe: ")
    assert_terminal_safe(line)
    assert server.connections == 0
    assert server.received == b""


async def test_d52_idn_domains_become_a_labels_on_the_wire(run_cli):
    async with Scripted(dialog()) as server:
        result = await asyncio.wait_for(run_cli(
            "x.test", "--mx", server.mx, "--json", "--helo", "bücher.example", "--timeout", "1",
            "--rcpt", "user@bücher.example", "--mail-from", "me@ÉXAMPLE.test"), HANG_GUARD)
    assert result.code == 0, result.err
    assert server.commands()[:1] == ["EHLO xn--bcher-kva.example"]
    assert "MAIL FROM:<me@xn--xample-9ua.test>" in server.commands()
    assert "RCPT TO:<user@xn--bcher-kva.example>" in server.commands()
    assert all(c.isascii() for c in server.commands())


# -- A malformed reply to HELP costs nothing that matters ------------------------------


@pytest.mark.parametrize("garbage", [
    b"HTTP/1.1 400 Bad Request\x1b]0;PWN\x07\r\n",
    b"2500 help is a four-digit code\r\n",
    b"Help? Never heard of it.\r\nAsk someone else.\r\n",
])
async def test_malformed_help_is_reported_and_mail_and_rcpt_still_run(run_cli, garbage):
    p = await probe(run_cli, answering({"HELP": garbage}))
    help_step = p.step("help")
    assert help_step["reply"] is None and help_step["error"]["kind"] == "protocol"
    assert "session goes on" in help_step["error"]["message"]
    assert help_step["outcome"] == "ok"  # informational, and the session survived it
    assert p.stages[-3:] == ["mail", "rcpt", "quit"]
    assert p.step("rcpt")["reply"]["code"] == 250  # paired with its own reply, not garbage
    assert p.host["outcome"] == "ok" and p.code == 0
    assert "\x1b" not in p.plain


@pytest.mark.parametrize(("garbage", "kind"), [
    (b"Help? no line end", "protocol"),  # framing broken: no LF ever comes
    (b"214-" + b"x" * 9000 + b"\r\n", "protocol"),  # over aiosmtplib's line limit
])
async def test_broken_framing_at_help_still_ends_the_session(run_cli, garbage, kind):
    async def hold(reader, writer):
        await wait_eof(reader)

    p = await probe(run_cli, answering({"HELP": garbage}, after={"HELP": hold}))
    help_step = p.step("help")
    assert help_step["error"]["kind"] == kind
    assert p.stages[-1] == "help"
    assert p.host["outcome"] == "transient" and p.code == 1
