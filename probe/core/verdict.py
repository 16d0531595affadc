"""Outcomes and exit codes, exactly as CONTRACT.md states them.

A host is judged on the steps it was asked to take. Replies to HELP, VRFY,
NOOP and RSET are informational and never count (but a 421 or a dropped
connection there ends the session, so it does); QUIT never counts; an EHLO refusal does
not count when the HELO fallback then worked; certificate problems are
findings, not outcomes. A 5xx at the banner, MAIL, RCPT or HELO is
permanent; every other failure (4xx, timeouts, refused or dropped
connections, protocol and TLS errors, a refused STARTTLS) is transient,
because a retry or a fix on the server side can change it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .events import Outcome, Step

INFORMATIONAL = frozenset({"help", "vrfy", "noop", "rset"})  # their replies never count
PERMANENT_5XX = frozenset({"banner", "mail", "rcpt", "helo"})
EXIT_CODES: dict[Outcome, int] = {"ok": 0, "transient": 1, "permanent": 2}
EXIT_USAGE = 64
EXIT_INTERNAL = 70
_RANK: dict[Outcome, int] = {"ok": 0, "transient": 1, "permanent": 2}


def worst(outcomes: Iterable[Outcome]) -> Outcome:
    return max(outcomes, key=_RANK.__getitem__, default="ok")


def step_outcome(step: Step, helo_followed: bool = False) -> Outcome:
    if step.stage == "quit":  # the verdict is in before the goodbye
        return "ok"
    if step.error is not None:  # a dropped or stalled connection counts at any step
        return "transient"
    if step.stage in INFORMATIONAL:
        return "transient" if step.reply is not None and step.reply.code == 421 else "ok"
    if step.reply is None:
        return "ok"
    klass = step.reply.code_class
    if klass in (2, 3):
        return "ok"
    if step.stage == "ehlo" and helo_followed:
        return "ok"
    if klass == 5 and step.stage in PERMANENT_5XX:
        return "permanent"
    if klass == 5 and step.stage == "ehlo":
        return "permanent"  # 5xx to EHLO with no HELO tried: the server refused to talk
    return "transient"


def host_outcome(steps: Sequence[Step]) -> Outcome:
    outcomes = []
    for index, step in enumerate(steps):
        helo_followed = index + 1 < len(steps) and steps[index + 1].stage == "helo"
        outcomes.append(step_outcome(step, helo_followed))
    return worst(outcomes)


def exit_code(outcome: Outcome) -> int:
    return EXIT_CODES[outcome]
