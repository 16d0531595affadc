"""Outcomes and exit codes: the one place a step, a host or a run is judged.

Every view asks here (through `judge_steps` / `HostReport.verdicts`) instead
of re-deciding what counts, so the plain report, JSON, batch and the TUI can
never disagree about an outcome. A host is judged on the steps it was asked
to take. Replies to HELP, VRFY, NOOP and RSET are informational and never
count (but a 421 or a dropped connection there ends the session, so it does);
QUIT never counts; an EHLO refusal does not count when the HELO fallback
then worked; certificate problems and health checks are findings, not
outcomes (only --strict lets a failed check raise the exit code to 3). A 5xx
at the banner, MAIL, RCPT or HELO is permanent; every other failure (4xx,
timeouts, refused or dropped connections, protocol and TLS errors, a refused
STARTTLS) is transient, because a retry or a fix on the server side can
change it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .events import CheckResult, Outcome, Step
from .exit_status import ExitStatus

INFORMATIONAL = frozenset({"help", "vrfy", "noop", "rset"})  # their replies never count
PERMANENT_5XX = frozenset({"banner", "mail", "rcpt", "helo", "auth"})
EXIT_CODES: dict[Outcome, ExitStatus] = {
    "ok": ExitStatus.OK, "transient": ExitStatus.TRANSIENT, "permanent": ExitStatus.PERMANENT,
}
_RANK: dict[Outcome, int] = {"ok": 0, "transient": 1, "permanent": 2}


def worst(outcomes: Iterable[Outcome]) -> Outcome:
    return max(outcomes, key=_RANK.__getitem__, default="ok")


def step_outcome(step: Step, helo_followed: bool = False, went_on: bool = False) -> Outcome:
    """One step's outcome. `helo_followed`: the next step is a HELO fallback;
    `went_on`: a later step got a reply (the conversation survived this one)."""
    if step.stage == "quit":  # the verdict is in before the goodbye
        return "ok"
    informational = step.informational or step.stage in INFORMATIONAL
    if step.error is not None and informational and went_on:
        return "ok"  # e.g. HELP answered with garbage, and MAIL/RCPT then worked
    if step.error is not None:  # a dropped or stalled connection counts at any step
        return "transient"
    if informational:
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


def judge_steps(steps: Sequence[Step]) -> tuple[Outcome, ...]:
    """The outcome of every step of one session, in order.

    A step's outcome may depend on the ones after it (an EHLO refusal followed
    by a working HELO; a garbled HELP reply after which MAIL and RCPT were
    answered), so steps are judged as a sequence, never one by one in a view.
    """
    last_reply = max((i for i, step in enumerate(steps) if step.reply is not None), default=-1)
    return tuple(
        step_outcome(step, index + 1 < len(steps) and steps[index + 1].stage == "helo",
                     last_reply > index)
        for index, step in enumerate(steps)
    )


def host_outcome(steps: Sequence[Step]) -> Outcome:
    """The worst outcome of the host's last attempt (a greylisting retry replaces
    the first attempt's verdict: that is what a retrying MTA would get)."""
    if not steps:
        return "ok"
    last = steps[-1].attempt
    return worst(o for step, o in zip(steps, judge_steps(steps), strict=True)
                 if step.attempt == last)


def exit_code(outcome: Outcome, checks: Iterable[CheckResult] = (),
              strict: bool = False) -> ExitStatus:
    """The exit code of a run: its outcome, or 3 under --strict when mail flows
    but a health check failed (1 and 2 still win)."""
    status = EXIT_CODES[outcome]
    if strict and status == ExitStatus.OK and any(c.status == "fail" for c in checks):
        return ExitStatus.MISCONFIGURED
    return status
