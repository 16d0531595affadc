"""SVG snapshots of the main states at 80x24 (pytest-textual-snapshot).

The clock is frozen and the spinner timer is off (`make_app`), so a live
step always reads "⠋ 0.0 s". Update after an intended change with
`uv run pytest tests/tui/test_snapshots.py --snapshot-update` and look at
the report before committing the new SVGs.
"""

from __future__ import annotations

from . import fakes
from .conftest import make_app, settle

SIZE = (80, 24)


async def _settle(pilot) -> None:
    await settle(pilot)


def test_probing(snap_compare) -> None:
    assert snap_compare(make_app(fakes.probing(), hold=True), terminal_size=SIZE,
                        run_before=_settle)


def test_all_accepted(snap_compare) -> None:
    assert snap_compare(make_app(fakes.all_accepted()), terminal_size=SIZE,
                        run_before=_settle)


def test_mixed_first_problem(snap_compare) -> None:
    async def before(pilot) -> None:
        await settle(pilot)
        await pilot.press("f")

    assert snap_compare(make_app(fakes.mixed()), terminal_size=SIZE, run_before=before)


def test_dns_failure(snap_compare) -> None:
    assert snap_compare(make_app(fakes.dns_failure(), target="nowhere.example"),
                        terminal_size=SIZE,
                        run_before=_settle)


def test_hostile_banner(snap_compare) -> None:
    async def before(pilot) -> None:
        await settle(pilot)
        pilot.app.query_one("#transcript").highlighted = 1
        await pilot.pause()

    assert snap_compare(make_app(fakes.hostile()), terminal_size=SIZE, run_before=before)


def test_help_screen(snap_compare) -> None:
    async def before(pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")

    assert snap_compare(make_app(fakes.all_accepted()), terminal_size=SIZE, run_before=before)
