"""The Textual view of a probe run.

Textual is imported lazily (inside `run_tui`) so `import probe.tui` stays
cheap and the core never drags a UI library in (DESIGN: the one rule).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from probe.core.events import Event
    from probe.core.plan import Plan

def run_tui(
    plan: Plan,
    *,
    lang: str = "en",
    runner: Callable[[Plan], AsyncIterator[Event]] | None = None,
) -> int:
    """Run the app; return the last finished probe's exit code, 130 if none finished.

    `runner` defaults to the real `run_probe`; tests pass a scripted stream.
    An app crash (a bug) returns 70, like the CLI's internal-error code.
    """
    from probe.core.exit_status import ExitStatus

    from .app import ProbeApp

    if runner is None:
        from probe.core.runner import run_probe

        runner = run_probe
    app = ProbeApp(plan, runner=runner, lang=lang)
    result = app.run()
    if result is not None:
        return result
    if app.return_code not in (None, 0):
        return ExitStatus.INTERNAL
    return ExitStatus.INTERRUPTED
