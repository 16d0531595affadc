"""Fixtures for the TUI tests."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from knowledge import labels
from probe.core.events import Event
from probe.tui.app import ProbeApp

from . import fakes


def make_app(*streams: Sequence[Event], hold: bool = False, target: str = fakes.DOMAIN,
             burst: bool = False, rcpts: Sequence[str] = (), **kwargs: object) -> ProbeApp:
    """An app over scripted streams with the clock and spinner frozen."""
    kwargs.setdefault("clock", lambda: 0.0)
    kwargs.setdefault("animate", False)
    kwargs.setdefault("labels", labels(str(kwargs.get("lang", "en"))))
    return ProbeApp(fakes.plan(target, rcpts), runner=fakes.scripted(*streams, hold=hold,
                                                                     burst=burst),
                    **kwargs)  # type: ignore[arg-type]


async def settle(pilot: object, rounds: int = 50) -> None:
    """Let the worker deliver every scripted event and the screen catch up."""
    app = pilot.app  # type: ignore[attr-defined]
    for _ in range(rounds):
        await pilot.pause()  # type: ignore[attr-defined]
        if not any(w.is_running for w in app.workers) or app.report.done is not None:
            break
    # The run's end is drawn by a queued refresh, which selects the first problem
    # and scrolls after the next layout: wait for both.
    for _ in range(rounds):
        await pilot.pause()  # type: ignore[attr-defined]
        if not app._refresh_scheduled and (app.report.done is None or app.landed):
            break
    await pilot.wait_for_scheduled_animations()  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


@pytest.fixture
def app_factory():
    return make_app
