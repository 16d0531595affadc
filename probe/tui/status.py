"""Live status of one session, derived from the transcript fold.

The host tree shows one word per address. Deriving it from `HostReport`
(rather than tracking it in the widget) keeps the tree a pure view: whatever
order events arrive in, the word matches what the report says.
"""

from __future__ import annotations

from typing import Literal

from probe.core.transcript import HostReport

HostStatus = Literal[
    "waiting", "connecting", "speaking", "accepted", "transient", "permanent", "error",
]

ICONS: dict[str, str] = {
    "waiting": "·",
    "connecting": "…",
    "speaking": "⇄",
    "accepted": "✔",
    "transient": "◷",
    "permanent": "✖",
    "error": "⚠",
}

# Theme variables (resolved by the widget against the current theme), so the
# colours follow light/dark themes and vanish under NO_COLOR.
COLOURS: dict[str, str] = {
    "waiting": "foreground-muted",
    "connecting": "text-primary",
    "speaking": "text-primary",
    "accepted": "text-success",
    "transient": "text-warning",
    "permanent": "text-error",
    "error": "text-error",
}

def host_status(host: HostReport) -> HostStatus:
    """One word for where this session is, or how it ended.

    "error" means the session ended without a reply to judge (refused,
    timeout, dropped, TLS or protocol failure); a 4xx/5xx reply is
    "transient"/"permanent" instead, because the fix is different.
    """
    if host.outcome is not None:
        if host.outcome == "ok":
            return "accepted"
        if all(host.steps[i].reply is None for i in host.problems()):
            return "error"
        return host.outcome
    if host.active is not None:
        return "connecting" if host.active.stage == "connect" else "speaking"
    if host.steps:
        return "speaking"
    return "waiting"
