"""SVG snapshots of the main states (pytest-textual-snapshot).

The clock is frozen and the spinner timer is off (`make_app`), so a live
step always reads "⠋ 0.0 s". Update after an intended change with
`uv run pytest tests/tui/test_snapshots.py --snapshot-update` and look at
the report before committing the new SVGs.

The issue's case (two recipients on two MX hosts, one unknown on mx1, one
greylisted on mx2) is pinned at 80x24 and 120x40: with no key pressed, the
Results matrix, the first problem's explanation with its fixes, and (after
`t`) the timing waterfall with mx2's slow greeting.
"""

from __future__ import annotations

import pytest

from . import fakes
from .conftest import make_app, settle

SIZE = (80, 24)
SIZES = [(80, 24), (120, 40)]
TWO = (fakes.ALICE, fakes.NOBODY)


def finished_app(*streams, **kwargs):
    """An app whose run arrives in one burst. Paced events are batched by the
    app's refreshes as timing allows, so which live states get drawn (and how
    wide a column grew meanwhile) would depend on the machine's load; a picture
    of the end state must not. The paced path is covered in test_app.py."""
    return make_app(*streams, burst=True, **kwargs)


async def _settle(pilot) -> None:
    await settle(pilot)


def test_probing(snap_compare) -> None:
    assert snap_compare(make_app(fakes.probing(), hold=True), terminal_size=SIZE,
                        run_before=_settle)


def test_all_accepted(snap_compare) -> None:
    assert snap_compare(finished_app(fakes.all_accepted()), terminal_size=SIZE,
                        run_before=_settle)


def test_mixed_second_problem(snap_compare) -> None:
    async def before(pilot) -> None:
        await settle(pilot)
        await pilot.press("f")
        # The jump scrolls after the next layout; under a loaded CI machine that
        # can land after the screenshot unless we wait for it like the run's end.
        await settle(pilot)

    assert snap_compare(finished_app(fakes.mixed()), terminal_size=SIZE, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_two_recipients_two_hosts_at_a_glance(snap_compare, size) -> None:
    assert snap_compare(finished_app(fakes.two_by_two(), rcpts=TWO), terminal_size=size,
                        run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_timing_waterfall(snap_compare, size) -> None:
    async def before(pilot) -> None:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)

    assert snap_compare(finished_app(fakes.two_by_two(), rcpts=TWO), terminal_size=size,
                        run_before=before)


def test_chinese_chrome(snap_compare) -> None:
    assert snap_compare(finished_app(fakes.two_by_two(), rcpts=TWO, lang="zh"),
                        terminal_size=(120, 40), run_before=_settle)


def test_dns_failure(snap_compare) -> None:
    assert snap_compare(finished_app(fakes.dns_failure(), target="nowhere.example"),
                        terminal_size=SIZE,
                        run_before=_settle)


def test_hostile_banner(snap_compare) -> None:
    async def before(pilot) -> None:
        await settle(pilot)
        pilot.app.go_to(fakes.key("mx.evil.example", "192.0.2.66", 10), 1)
        await pilot.pause()

    assert snap_compare(finished_app(fakes.hostile()), terminal_size=SIZE, run_before=before)


def test_help_screen(snap_compare) -> None:
    async def before(pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")

    assert snap_compare(finished_app(fakes.all_accepted()), terminal_size=SIZE, run_before=before)
