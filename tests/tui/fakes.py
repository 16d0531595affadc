"""Scripted event streams for the TUI tests: no sockets, no DNS.

Annotations are written out here rather than taken from the knowledge base,
so snapshots change when the TUI changes, not when an explanation is reworded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

from knowledge import Annotation
from probe.core.events import (
    CertificateInfo,
    Event,
    Finding,
    FindingRaised,
    HostDone,
    HostKey,
    HostStarted,
    MxRecord,
    MxResolved,
    Outcome,
    ProbeDone,
    ProbeStarted,
    Step,
    StepDone,
    StepError,
    StepStarted,
    TlsEstablished,
    TlsInfo,
)
from probe.core.plan import Plan, build_plan
from probe.core.reply import frame

Runner = Callable[[Plan], AsyncIterator[Event]]

DOMAIN = "example.com"
HOSTILE = ("mx.evil.example ESMTP \x1b]0;PWNED-TITLE\x07 [bold]big[/] [@click=app.quit]x[/] "
           "[link=http://evil.example]y[/link] \x1b[2J \x1b]52;c;UFdORUQ=\x07 [/]")

_ANNOTATIONS: dict[tuple[int, str | None], Annotation] = {
    (220, None): Annotation("ok", "ok", "Service ready", "The server greets you and is ready.",
                            "At connect.", "Nothing to do.", "RFC 5321 §4.2.3"),
    (221, None): Annotation("ok", "ok", "Closing", "The server says goodbye.", "After QUIT.",
                            "Nothing to do.", "RFC 5321 §4.2.3"),
    (250, None): Annotation("ok", "ok", "Requested action okay", "The command was accepted.",
                            "After EHLO, MAIL, RCPT.", "Nothing to do.", "RFC 5321 §4.2.3"),
    (214, None): Annotation("help", "info", "Help message", "Human-readable help.",
                            "After HELP.", "Nothing to do.", "RFC 5321 §4.2.3"),
    (450, "4.7.1"): Annotation(
        "greylisted", "transient", "Greylisted: try again later",
        "The server refuses the first attempt from an unknown sender on purpose.",
        "On the first delivery from a new IP/sender/recipient triple.",
        "Nothing: a real MTA retries after a few minutes and is accepted.",
        "RFC 6647", enhanced="4.7.1", enhanced_title="Delivery not authorized",
        doc_url="https://example.org/greylisting"),
    (550, "5.1.1"): Annotation(
        "user_unknown", "permanent", "Recipient address does not exist",
        "The mailbox is not known to this server.",
        "When the address is misspelt or the account was deleted.",
        "Check the spelling; ask the recipient for a working address.",
        "RFC 3463 §3.2", enhanced="5.1.1", enhanced_title="Bad destination mailbox address",
        fix_admin="Create the mailbox or an alias if it should exist."),
}


def annotate(code: int, enhanced: str | None) -> Annotation:
    return _ANNOTATIONS.get((code, enhanced)) or _ANNOTATIONS.get((code, None)) or Annotation(
        "other", "info", f"Reply {code}", "", "", "", "")


def step(stage: str, command: str | None, wire: bytes, ms: float = 12.0) -> Step:
    """A finished step whose reply is framed from `wire`, as the session does."""
    reply = frame(wire).replies[0]
    return Step(stage, command, reply, ms, annotate(reply.code, reply.enhanced))  # type: ignore[arg-type]


def key(host: str, address: str, pref: int = 10) -> HostKey:
    return HostKey(host, address, 25, pref)


def session(k: HostKey, rcpt_wire: bytes = b"250 2.1.5 Ok\r\n", banner: bytes | None = None,
            outcome: Outcome = "ok", answers: Sequence[tuple[str, bytes]] | None = None,
            banner_ms: float = 20.0) -> list[Event]:
    """A whole conversation: connect, banner, EHLO, MAIL, RCPT (one per answer), QUIT."""
    banner = banner or f"220 {k.host} ESMTP ready\r\n".encode()
    answers = answers or [(f"postmaster@{DOMAIN}", rcpt_wire)]
    steps = [
        Step("connect", None, None, 1.5),
        step("banner", None, banner, banner_ms),
        step("ehlo", "EHLO probe.test",
             f"250-{k.host}\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n".encode(),
             3.0),
        step("mail", "MAIL FROM:<>", b"250 2.1.0 Ok\r\n", 2.0),
        *(step("rcpt", f"RCPT TO:<{rcpt}>", wire, 40.0) for rcpt, wire in answers),
        step("quit", "QUIT", b"221 2.0.0 Bye\r\n", 1.0),
    ]
    events: list[Event] = [HostStarted(k)]
    for s in steps:
        events += [StepStarted(k, s.stage, s.command), StepDone(k, s)]
    return [*events, HostDone(k, outcome)]


def started(*rcpts: str) -> list[Event]:
    return [ProbeStarted(DOMAIN, DOMAIN, DOMAIN, rcpts or (f"postmaster@{DOMAIN}",), "",
                         "probe.test")]


def resolved(*keys: HostKey) -> MxResolved:
    by_host: dict[str, list[HostKey]] = {}
    for k in keys:
        by_host.setdefault(k.host, []).append(k)
    return MxResolved("mx", tuple(
        MxRecord(ks[0].preference, host, tuple(k.address or "" for k in ks))
        for host, ks in by_host.items()))


MX1 = key("mx1.example.com", "192.0.2.10", 10)
MX2 = key("mx2.example.com", "192.0.2.20", 20)
MX3 = key("mx3.example.com", "192.0.2.30", 30)


def all_accepted() -> list[Event]:
    tls = TlsInfo("TLSv1.3", "TLS_AES_256_GCM_SHA384", CertificateInfo(
        "CN=mx1.example.com", "CN=Test CA", "2030-01-01T00:00:00Z", False, False, True, None))
    return [*started(), resolved(MX1, MX2), *session(MX1), TlsEstablished(MX1, tls),
            *session(MX2), ProbeDone("ok", 0)]


def mixed() -> list[Event]:
    return [
        *started(), resolved(MX1, MX2, MX3),
        *session(MX1),
        *session(MX2, b"450 4.7.1 <postmaster@example.com>: Recipient address rejected: "
                      b"Greylisted, try again later\r\n", outcome="transient"),
        *session(MX3, b"550 5.1.1 <postmaster@example.com>: Recipient address rejected: "
                      b"User unknown in virtual mailbox table\r\n", outcome="permanent"),
        FindingRaised(Finding("postmaster_rejected", {"rcpt": "postmaster@example.com"}, MX3)),
        ProbeDone("permanent", 2),
    ]


ALICE = f"alice@{DOMAIN}"
NOBODY = f"nobody@{DOMAIN}"
OK = b"250 2.1.5 Ok\r\n"
UNKNOWN = b"550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown\r\n"
GREYLISTED = b"450 4.7.1 <alice@example.com>: Recipient address rejected: Greylisted\r\n"


def two_by_two() -> list[Event]:
    """The issue's case: two recipients on two MX hosts; nobody@ is unknown on mx1,
    alice@ greylisted on mx2 only; mx2 also holds its greeting back (a tarpit)."""
    return [
        *started(ALICE, NOBODY), resolved(MX1, MX2),
        *session(MX1, answers=[(ALICE, OK), (NOBODY, UNKNOWN)], outcome="permanent"),
        *session(MX2, answers=[(ALICE, GREYLISTED), (NOBODY, OK)], outcome="transient",
                 banner_ms=1500.0),
        ProbeDone("permanent", 2),
    ]


def dns_failure() -> list[Event]:
    return [
        ProbeStarted("nowhere.example", "nowhere.example", "nowhere.example",
                     ("postmaster@nowhere.example",), "", "probe.test"),
        MxResolved("none", ()),
        FindingRaised(Finding("nxdomain", {"domain": "nowhere.example",
                                           "resolver": "192.0.2.53"})),
        ProbeDone("permanent", 2),
    ]


def probing() -> list[Event]:
    """mx1 answered EHLO and is now waiting on a slow RCPT; mx2 is still queued."""
    events = session(MX1)[:9]  # up to MAIL done
    return [*started(), resolved(MX1, MX2), *events,
            StepStarted(MX1, "rcpt", f"RCPT TO:<postmaster@{DOMAIN}>")]


def hostile() -> list[Event]:
    k = key("mx.evil.example", "192.0.2.66", 10)
    banner = f"220 {HOSTILE}\r\n".encode()
    events = session(k, banner=banner)
    return [*started(), resolved(k), *events,
            FindingRaised(Finding("reply_oddity", {"stage": "BANNER", "oddity": HOSTILE}, k)),
            ProbeDone("ok", 0)]


def refused() -> list[Event]:
    """One host refuses the connection: an error, not a reply."""
    events: list[Event] = [HostStarted(MX1), StepStarted(MX1, "connect", None),
                           StepDone(MX1, Step("connect", None, None, 0.4,
                                              error=StepError("refused",
                                                              "connection refused"))),
                           HostDone(MX1, "transient")]
    return [*started(), resolved(MX1), *events, ProbeDone("transient", 1)]


def many_steps(count: int) -> list[Event]:
    """One host that talks for `count` steps (for scrolling and bench tests)."""
    events: list[Event] = [*started(), resolved(MX1), HostStarted(MX1)]
    for i in range(count):
        s = step("rcpt", f"RCPT TO:<user{i}@{DOMAIN}>", f"250 2.1.5 Ok {i}\r\n".encode(), 1.0)
        events += [StepStarted(MX1, "rcpt", s.command), StepDone(MX1, s)]
    return [*events, HostDone(MX1, "ok"), ProbeDone("ok", 0)]


def gated(events: Sequence[Event], first: int) -> tuple[Runner, asyncio.Event]:
    """A runner that plays `events[:first]`, then waits for the returned event to be
    set before it plays the rest (a run still going while the test acts)."""
    release = asyncio.Event()

    async def runner(plan: Plan) -> AsyncIterator[Event]:
        for event in events[:first]:
            yield event
        await release.wait()
        for event in events[first:]:
            yield event

    return runner, release


def scripted(*streams: Sequence[Event], hold: bool = False, burst: bool = False) -> Runner:
    """A runner that plays `streams[i]` on its i-th call (the last one repeats).

    Events are paced one per loop turn, like a live probe; with `burst` they
    all arrive at once (the app must draw them in one go). With `hold`, the
    stream then waits forever like a server that never answers, until the
    app cancels the worker.
    """
    calls: list[Plan] = []

    async def runner(plan: Plan) -> AsyncIterator[Event]:
        events = streams[min(len(calls), len(streams) - 1)]
        calls.append(plan)
        for event in events:
            yield event
            if not burst:
                await asyncio.sleep(0)
        if hold:
            await asyncio.Event().wait()

    runner.calls = calls  # type: ignore[attr-defined]
    return runner


def plan(target: str = DOMAIN, rcpts: Sequence[str] = ()) -> Plan:
    return build_plan(target, helo="probe.test", rcpts=list(rcpts) or None)
