"""Live status of one session, derived from the transcript fold.

The host tree shows one word per address. Deriving it from `HostReport`
(rather than tracking it in the widget) keeps the tree a pure view: whatever
order events arrive in, the word matches what the report says.
"""

from __future__ import annotations

from typing import Literal

from rich.style import Style as RichStyle
from textual.app import App
from textual.color import Color, ColorParseError

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

OUTCOME_COLOURS: dict[str | None, str] = {
    "ok": "text-success",
    "transient": "text-warning",
    "permanent": "text-error",
    None: "foreground-muted",
}


def theme_style(app: App[object], variable: str) -> RichStyle:
    """A Rich style in the colour of a theme variable, for widgets that take Rich
    renderables (Tree labels, DataTable cells): resolved against the current theme,
    so it follows light/dark and is filtered out under NO_COLOR like any colour."""
    variables = app.theme_variables
    try:
        colour = Color.parse(variables[variable])
        if colour.a < 1:  # e.g. muted colours: composite over the background
            colour = Color.parse(variables.get("background", "black")) + colour
    except (KeyError, ColorParseError):
        return RichStyle()
    return RichStyle(color=colour.rich_color)


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
