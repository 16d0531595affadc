"""How STARTTLS went in one session, read from its steps: the one reading of it.

The `tls` check reports it, `dane` and `mta_sts` need it to say whether a
sender that insists on TLS could deliver, and `mx_consistency` compares it
across hosts. Three answers matter to an admin and are kept apart (a peer
tool once showed a certificate failure as "no STARTTLS"): not offered,
offered but failed (refused, or the handshake broke), and up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..events import Problem, Step
from ..plan import Plan
from ..session import ehlo_keywords
from .base import SessionResult

State = Literal["up", "not_offered", "refused", "failed", "skipped", "not_reached"]
MAX_REPLY_CHARS = 200  # a refusal's text is quoted, bounded


@dataclass(frozen=True)
class StartTls:
    """`state`, and the step that decided it (None for `up`, `skipped`, `not_reached`)."""

    state: State
    step: Step | None = None

    @property
    def reply(self) -> str:
        """The deciding reply as one line (code and text), for a refusal."""
        if self.step is None or self.step.reply is None:
            return ""
        return f"{self.step.reply.code} {' '.join(self.step.reply.lines)}"[:MAX_REPLY_CHARS]

    @property
    def error(self) -> str:
        """Why the deciding step ended without TLS (timeout, alert, closed)."""
        if self.step is None or self.step.error is None:
            return ""
        return self.step.error.message[:MAX_REPLY_CHARS]


def starttls_outcome(session: SessionResult, plan: Plan) -> StartTls:
    """What happened to STARTTLS in `session` (run with `plan`)."""
    if session.tls is not None:
        return StartTls("up")
    steps = session.steps
    for index, step in enumerate(steps):
        if step.stage != "starttls":
            continue
        if step.reply is None:
            return StartTls("failed", step)
        if step.reply.code != 220:
            return StartTls("refused", step)
        handshake = next((s for s in steps[index + 1:] if s.stage == "tls"), None)
        if handshake is not None and handshake.error is not None:
            return StartTls("failed", handshake)
        return StartTls("not_reached")  # the host budget ended it mid-handshake
    if not plan.starttls:
        return StartTls("skipped")
    greeting = next((s for s in steps if s.stage in ("ehlo", "helo") and s.reply is not None
                     and s.reply.code_class == 2), None)
    if greeting is None or greeting.reply is None:
        return StartTls("not_reached")
    if greeting.stage == "helo" or "STARTTLS" not in ehlo_keywords(greeting.reply.lines):
        return StartTls("not_offered", greeting)
    return StartTls("not_reached")  # offered, but the session stopped before it (--quit-after)


_STATE_CODES = {
    "skipped": "tls_skipped",
    "not_reached": "tls_not_reached",
    "not_offered": "no_starttls",
    "refused": "starttls_refused",
    "failed": "starttls_failed",
}


def state_problem(outcome: StartTls, session: SessionResult) -> Problem:
    """The `tls` check's problem for a session without TLS (in the catalogue's words,
    which other checks quote when they name a host that has no TLS)."""
    key = session.key
    return Problem(_STATE_CODES.get(outcome.state, "tls_not_reached"), {
        "host": key.host, "address": key.address, "reply": outcome.reply,
        "error": outcome.error})
