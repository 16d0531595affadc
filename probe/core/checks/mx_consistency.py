"""`mx_consistency`: do all MX addresses answer the same question the same way?

Run once every session ended. A sender picks any MX of the lowest preference
that answers, and spammers pick the one that checks least, so the domain is
only as strict as its laxest MX: a backup that accepts a recipient the
primary refuses must bounce it later (backscatter, RFC 5321 §6.2 / RFC 3834
on misdirected bounces) or deliver what the primary was told to keep out; a
host that greylists or has no working TLS when the others do is the weak
door. For MAIL FROM, each RCPT TO and STARTTLS, the hosts that answered
differently are named with their replies.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..events import CheckResult, Problem, Step
from ._starttls import starttls_outcome, state_problem
from .base import Check, CheckContext, SessionResult

MAX_REPLY_CHARS = 120
_TLS_KNOWN = ("up", "not_offered", "refused", "failed")


def _who(session: SessionResult) -> str:
    return f"{session.key.host} [{session.key.address}]"


def _reply(step: Step) -> str:
    assert step.reply is not None
    first = step.reply.lines[0] if step.reply.lines else ""
    return f"{step.reply.code} {first}"[:MAX_REPLY_CHARS]


def _kind(step: Step) -> str:
    """accepted, greylisted, deferred or refused: what a sender does next."""
    assert step.reply is not None
    if step.reply.code_class in (2, 3):
        return "accepted"
    if step.reply.code_class == 4:
        greylisted = step.annotation is not None and step.annotation.category == "greylisted"
        return "greylisted" if greylisted else "deferred"
    return "refused"


def _answers(sessions: Sequence[SessionResult], stage: str, command: str
             ) -> list[tuple[SessionResult, Step]]:
    """Each session's reply to `command` (sessions that never got one are left out)."""
    found = []
    for session in sessions:
        step = next((s for s in session.steps if s.stage == stage and s.command == command
                     and s.reply is not None), None)
        if step is not None:
            found.append((session, step))
    return found


def _compare(command: str, answers: list[tuple[SessionResult, Step]]) -> Problem | None:
    kinds = {_kind(step) for _, step in answers}
    if len(kinds) < 2:
        return None

    def named(wanted: set[str]) -> str:
        return "; ".join(f"{_who(s)} ({_reply(step)})" for s, step in answers
                         if _kind(step) in wanted)
    if {"accepted", "refused"} <= kinds:
        return Problem("mx_accepts_and_refuses", {
            "command": command, "accepted": named({"accepted"}), "refused": named({"refused"})})
    return Problem("mx_answers_differ", {
        "command": command, "answers": named({"accepted", "greylisted", "deferred", "refused"})})


def _tls_problem(ctx: CheckContext, sessions: Sequence[SessionResult]) -> Problem | None:
    states = [(s, starttls_outcome(s, ctx.plan)) for s in sessions]
    states = [(s, o) for s, o in states if o.state in _TLS_KNOWN]
    working = [s for s, o in states if o.state == "up"]
    broken = [(s, o) for s, o in states if o.state != "up"]
    if not working or not broken:
        return None
    lang = ctx.plan.lang
    return Problem("mx_tls_differs", {
        "with_tls": ", ".join(_who(s) for s in working),
        "without_tls": "; ".join(f"{_who(s)}: {state_problem(o, s).text(lang).message}"
                                 for s, o in broken)})


async def run(ctx: CheckContext) -> CheckResult | None:
    sessions = sorted((s for s in ctx.sessions if s.key.address is not None),
                      key=lambda s: (s.key.preference or 0, s.key.host, s.key.address or ""))
    if len(sessions) < 2:
        return None  # nothing to compare
    problems: list[Problem] = []
    commands = [("mail", f"MAIL FROM:<{ctx.plan.mail_from}>")]
    commands += [("rcpt", f"RCPT TO:<{rcpt}>") for rcpt in ctx.plan.rcpts]
    compared: dict[str, dict[str, str]] = {}
    for stage, command in commands:
        answers = _answers(sessions, stage, command)
        compared[command] = {_who(s): _reply(step) for s, step in answers}
        if len(answers) >= 2 and (problem := _compare(command, answers)) is not None:
            problems.append(problem)
    tls = _tls_problem(ctx, sessions)
    if tls is not None:
        problems.append(tls)
    ok = Problem("mx_consistent", {"count": len(sessions)})
    return CheckResult.judge("mx_consistency", problems, ok, details={"replies": compared})


CHECK = Check("mx_consistency", "run", run)
