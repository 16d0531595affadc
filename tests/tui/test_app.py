"""Pilot tests of every action, over scripted event streams (no sockets)."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Input

from probe.core.events import HostKey
from probe.tui.app import ProbeApp
from probe.tui.screens.help import HelpScreen
from probe.tui.screens.knowledge import KnowledgeScreen
from probe.tui.screens.save import SaveScreen
from probe.tui.widgets.host_tree import HostTree
from probe.tui.widgets.panels import Panel
from probe.tui.widgets.results import ResultsTable
from probe.tui.widgets.target_bar import TargetBar
from probe.tui.widgets.transcript import TranscriptView

from . import fakes
from .conftest import make_app, settle
from .screen_text import screen_text

SIZE = (100, 30)


def transcript(app: ProbeApp) -> TranscriptView:
    return app.query_one(TranscriptView)


def panel(app: ProbeApp, name: str) -> str:
    return app.query_one(f"#{name}", Panel).text


def leaf_labels(app: ProbeApp) -> dict[HostKey, str]:
    tree = app.query_one(HostTree)
    return {k: str(node.label) for k, node in tree._leaves.items()}


async def test_events_fill_tree_transcript_and_explanation() -> None:
    app = make_app(fakes.all_accepted())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        labels = leaf_labels(app)
        assert list(labels) == [fakes.MX1, fakes.MX2]  # preference order
        assert all("accepted" in text for text in labels.values())
        assert app.selected == fakes.MX1
        assert len(transcript(app).steps) == 6
        # The run is over and all went well: the first recipient's answer, not "221 Bye".
        assert transcript(app).selected_step.stage == "rcpt"
        assert "Requested action okay" in panel(app, "explain")
        assert "TLSv1.3" in panel(app, "findings")  # TLS of the selected host
        assert "exit 0" in str(app.query_one(HostTree).root.label)
        assert app.last_exit_code == 0


async def test_live_step_shows_spinner_and_timer() -> None:
    now = [100.0]
    app = make_app(fakes.probing(), hold=True, clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = transcript(app)
        assert view.pending is not None and view.pending.stage == "rcpt"
        assert "speaking" in leaf_labels(app)[fakes.MX1]
        assert "waiting" in leaf_labels(app)[fakes.MX2]
        last = view.get_option_at_index(view.option_count - 1)
        assert last.disabled and "0.0 s" in last.prompt.plain
        now[0] += 3.25
        app._tick()
        await pilot.pause()
        last = view.get_option_at_index(view.option_count - 1)
        assert "3.2 s" in last.prompt.plain
        assert last.prompt.plain.startswith("-> RCPT TO:<postmaster@example.com>")
        assert "3.2 s" in screen_text(app)
        assert view.option_count == len(view.steps) + 1


async def test_live_row_becomes_the_finished_step() -> None:
    app = make_app(fakes.all_accepted())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = transcript(app)
        assert view.pending is None
        assert view.option_count == len(view.steps)
        assert not any(view.get_option_at_index(i).disabled for i in range(view.option_count))


async def test_next_and_previous_step_cross_host_boundaries() -> None:
    app = make_app(fakes.all_accepted())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = transcript(app)
        assert app.current() == (fakes.MX1, 4)
        await pilot.press("p", "p")
        assert view.selected_step.stage == "ehlo"
        await pilot.press("n")
        assert view.selected_step.stage == "mail"
        assert "accepted" in panel(app, "explain")
        await pilot.press("n", "n", "n")  # rcpt, quit, then over the edge into mx2
        assert app.current() == (fakes.MX2, 0)
        assert view.selected_step.stage == "connect"
        await pilot.press("p")
        assert app.current() == (fakes.MX1, 5)
        for _ in range(8):
            await pilot.press("n")
        assert app.current() == (fakes.MX2, 5)  # stops at the very end


async def test_the_first_problem_is_selected_when_the_run_ends() -> None:
    app = make_app(fakes.mixed())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.selected == fakes.MX2  # mx1 accepted; mx2 greylisted first
        step = transcript(app).selected_step
        assert step.stage == "rcpt" and step.reply.code == 450
        text = panel(app, "explain")
        assert "greylisted" in text and "450 4.7.1" in text
        assert text.index("How to fix") < text.index("Description")  # the fix leads
        assert app.query_one("#explain", Panel).border_subtitle == "problem 1 of 2"
        assert app.query_one(ResultsTable).cursor_coordinate == (0, 1)
        labels = leaf_labels(app)
        assert "transient" in labels[fakes.MX2] and "permanent" in labels[fakes.MX3]


async def test_f_and_shift_f_step_through_every_problem_across_hosts() -> None:
    app = make_app(fakes.mixed())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.current() == (fakes.MX2, 4)
        await pilot.press("f")
        assert app.current() == (fakes.MX3, 4)
        assert transcript(app).selected_step.reply.code == 550
        assert app.query_one(ResultsTable).cursor_coordinate == (0, 2)
        assert app.query_one("#explain", Panel).border_subtitle == "problem 2 of 2"
        await pilot.press("f")
        assert app.current() == (fakes.MX2, 4)  # after the last, the first again
        await pilot.press("F")
        assert app.current() == (fakes.MX3, 4)
        await pilot.press("F", "F")
        assert app.current() == (fakes.MX3, 4)


async def test_a_user_who_moved_during_the_run_is_not_moved_at_its_end() -> None:
    gated, release = fakes.gated(fakes.mixed(), 20)
    app = ProbeApp(fakes.plan(), runner=gated, clock=lambda: 0.0, animate=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("p")
        where = app.current()
        release.set()
        await settle(pilot)
        assert app.report.done is not None
        assert app.current() == where


async def test_f_without_problems_says_so() -> None:
    app = make_app(fakes.all_accepted())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        assert app.selected == fakes.MX1
        assert any("No problem" in n.message for n in app._notifications)


async def test_rerun_starts_over_and_drops_the_old_run() -> None:
    app = make_app(fakes.probing(), fakes.all_accepted(), hold=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.report.done is None
        first_run = app.run_id
        await pilot.press("r")
        await settle(pilot)
        assert app.run_id == first_run + 1
        assert len(app.runner.calls) == 2
        assert app.report.done is not None and app.last_exit_code == 0
        assert len(transcript(app).steps) == 6
        assert transcript(app).pending is None


async def test_stale_events_from_a_replaced_run_are_ignored() -> None:
    from probe.tui.messages import ProbeEvent

    app = make_app(fakes.all_accepted())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = len(transcript(app).steps)
        app.post_message(ProbeEvent(app.run_id - 1, fakes.session(fakes.MX1)[2]))
        await pilot.pause()
        assert len(transcript(app).steps) == before


async def test_edit_keeps_the_new_plan_and_only_r_runs_it() -> None:
    app = make_app(fakes.all_accepted())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = len(app.runner.calls)
        await pilot.press("e")
        target = app.query_one("#target", Input)
        assert target.has_focus
        target.value = ""
        await pilot.press(*"alice@other.example")
        app.query_one("#rcpts", Input).value = "bob@other.example"
        await pilot.press("enter")
        await settle(pilot)
        assert len(app.runner.calls) == calls  # Enter does not probe
        assert "press r" in str(app.query_one("#target-error").content)
        assert not target.has_focus and not target.can_focus  # read-only again
        await pilot.press("r")
        await settle(pilot)
        plan = app.runner.calls[-1]
        assert len(app.runner.calls) == calls + 1
        assert plan.domain == "other.example"
        assert plan.rcpts == ("alice@other.example", "bob@other.example")
        assert plan.helo == "probe.test"  # carried over


async def test_escape_undoes_an_edit() -> None:
    app = make_app(fakes.all_accepted())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        app.query_one("#target", Input).value = "changed.example"
        await pilot.press("escape")
        assert app.query_one("#target", Input).value == "example.com"
        await pilot.press("r")
        await settle(pilot)
        assert app.runner.calls[-1].domain == "example.com"


async def test_the_target_fields_are_out_of_reach_until_e() -> None:
    app = make_app(fakes.all_accepted())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = len(app.runner.calls)
        for _ in range(8):
            await pilot.press("tab")
            assert not isinstance(app.focused, Input)
        await pilot.click("#target")
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.focused, Input)
        assert len(app.runner.calls) == calls


async def test_edit_with_bad_input_shows_the_error_and_sends_nothing() -> None:
    app = make_app(fakes.all_accepted())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = len(app.runner.calls)
        await pilot.press("e")
        app.query_one("#target", Input).value = "bad domain\x1b]0;x\x07.example"
        await pilot.press("enter")
        await pilot.pause()
        error = app.query_one("#target-error")
        assert error.has_class("visible")
        shown = str(error.content)
        assert "nothing was sent" in shown and "\x1b" not in shown
        assert len(app.runner.calls) == calls


async def test_copy_puts_the_escaped_transcript_on_the_clipboard(monkeypatch) -> None:
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.delenv("STY", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    app = make_app(fakes.hostile())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        copied = app.clipboard
        assert copied.startswith("# mx.evil.example (192.0.2.66)")
        assert "-> EHLO probe.test" in copied
        assert "\\x1b]0;PWNED-TITLE\\x07" in copied
        assert "\x1b" not in copied and "\x07" not in copied
        (note,) = [n.message for n in app._notifications]
        # Honest: it was sent; whether the terminal took it is unknown, and saving is offered.
        assert note.startswith(f"Sent {copied.count(chr(10))} lines to the terminal's clipboard")
        assert "press s to save" in note and "Copied" not in note


@pytest.mark.parametrize(("env", "says"), [({"TMUX": "/tmp/tmux-0/default,1,0"},
                                            "set -g set-clipboard on"),
                                           ({"STY": "1234.pts-0"}, "GNU screen")])
async def test_copy_under_a_multiplexer_says_it_may_not_have_arrived(monkeypatch, env,
                                                                      says) -> None:
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.delenv("STY", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = make_app(fakes.all_accepted())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        (note,) = list(app._notifications)
        assert says in note.message and "press s to save" in note.message
        assert note.severity == "warning"


async def test_picking_a_cell_shows_that_host_at_that_reply() -> None:
    app = make_app(fakes.two_by_two(), rcpts=(fakes.ALICE, fakes.NOBODY))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.query_one(ResultsTable)
        assert table.has_focus and table.cursor_coordinate == (1, 0)  # nobody@ on mx1
        await pilot.press("up", "right")  # alice@ on mx2
        await pilot.pause()
        assert app.selected == fakes.MX2
        step = transcript(app).selected_step
        assert step.command == f"RCPT TO:<{fakes.ALICE}>" and step.reply.code == 450
        assert "greylisted" in panel(app, "explain")
        await pilot.click(ResultsTable, offset=(24, 4))  # nobody@ on mx1, by mouse
        await pilot.pause()
        assert app.current() == (fakes.MX1, 5)


async def test_a_cell_no_step_decided_says_why() -> None:
    events = [*fakes.started(fakes.ALICE), fakes.resolved(fakes.MX1, fakes.MX2),
              *fakes.session(fakes.MX1, answers=[(fakes.ALICE, fakes.OK)]),
              fakes.ProbeDone("ok", 0)]
    app = make_app(events, rcpts=(fakes.ALICE,))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("right")
        await pilot.pause()
        assert app.selected == fakes.MX2
        assert "was not tried on mx2.example.com" in panel(app, "explain")


async def test_t_switches_to_the_timing_waterfall_and_back() -> None:
    app = make_app(fakes.two_by_two(), rcpts=(fakes.ALICE, fakes.NOBODY))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await pilot.pause()
        timing = app.query_one("#timing", Panel)
        assert timing.display and not transcript(app).display
        text = timing.text
        assert "to scale: full bar = 1.6 s" in text
        greeting = [line for line in text.splitlines() if line.startswith("greeting")]
        assert len(greeting) == 2 and greeting[1].count("█") > 10 * max(
            1, greeting[0].count("█"))
        await pilot.press("t")
        await pilot.pause()
        assert transcript(app).display and not timing.display


async def test_health_checks_get_their_own_panel() -> None:
    from probe.core.events import CheckDone, CheckResult, Problem

    checks = [CheckDone(CheckResult("ptr", Problem("no_ptr", {"address": "192.0.2.10",
                                                               "host": "mx1.example.com"}),
                                    host=fakes.MX1)),
              CheckDone(CheckResult("ptr", Problem("ptr_ok", {"address": "192.0.2.20",
                                                               "name": "mx2.example.com"}),
                                    host=fakes.MX2))]
    events = fakes.all_accepted()
    app = make_app([*events[:-1], *checks, events[-1]])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        health = app.query_one("#health", Panel)
        assert health.display
        lines = health.text.splitlines()
        assert lines[0].startswith("⚠ ptr 192.0.2.10: 192.0.2.10 has no reverse DNS")
        assert any(line.startswith("  → Ask whoever controls") for line in lines)
        assert any(line.startswith("✔ ptr 192.0.2.20") for line in lines)
        assert "ptr" not in panel(app, "findings")


async def test_lang_translates_the_chrome() -> None:
    app = make_app(fakes.two_by_two(), rcpts=(fakes.ALICE, fakes.NOBODY), lang="fr")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = screen_text(app)
        for word in ("Résultats", "Échange", "Explication", "Relancer", "Quitter",
                     "problème 1 sur 2", "permanent · sortie 2"):
            assert word in shown, word
        await pilot.press("question_mark")
        assert "problème suivant / précédent" in screen_text(app)


async def test_save_writes_text_and_json(tmp_path) -> None:
    app = make_app(fakes.mixed(), save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        assert isinstance(app.screen, SaveScreen)
        box = app.screen.query_one(Input)
        assert box.value.startswith(str(tmp_path / "probe-example.com-"))
        box.value = str(tmp_path / "report")
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, SaveScreen)
        data = json.loads((tmp_path / "report.json").read_text())
        assert data["exit_code"] == 2
        assert [h["host"] for h in data["hosts"]] == [
            "mx1.example.com", "mx2.example.com", "mx3.example.com"]
        text = (tmp_path / "report.txt").read_text()
        assert "mx3.example.com" in text


async def test_save_cancel_writes_nothing(tmp_path) -> None:
    app = make_app(fakes.mixed(), save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s", "escape")
        assert not isinstance(app.screen, SaveScreen)
        assert list(tmp_path.iterdir()) == []


async def test_knowledge_browser_explains_a_pasted_reply() -> None:
    app = make_app(fakes.all_accepted())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        screen = app.screen
        assert isinstance(screen, KnowledgeScreen)
        assert "550" in screen.all_codes
        await pilot.press(*"550 5.1.1 User unknown", "enter")
        await pilot.pause()
        text = screen.query_one(Panel).text
        assert "user_unknown" in text and "5.1.1" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, KnowledgeScreen)


async def test_knowledge_browser_filters_codes_and_explains_the_highlighted_one() -> None:
    app = make_app(fakes.all_accepted())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", "4", "5")
        screen = app.screen
        codes = screen.query_one("#kb-codes")
        shown = [codes.get_option_at_index(i).id for i in range(codes.option_count)]
        assert shown and all(code.startswith("code-45") for code in shown)
        codes.focus()
        await pilot.press("down")
        await pilot.pause()
        assert screen.query_one(Panel).text.strip()


async def test_command_palette_offers_codes_and_actions() -> None:
    app = make_app(fakes.all_accepted())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Re-run probe", "Save report", "Knowledge browser"} <= set(titles)
        app.action_browse("451")
        await pilot.pause()
        assert isinstance(app.screen, KnowledgeScreen)
        assert "451" in app.screen.query_one(Panel).text


async def test_help_screen_opens_and_closes() -> None:
    app = make_app(fakes.all_accepted())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "next / previous problem" in screen_text(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_quit_returns_the_last_exit_code() -> None:
    app = make_app(fakes.mixed())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
    assert app.return_value == 2


async def test_quit_before_any_probe_finished_returns_130() -> None:
    app = make_app(fakes.probing(), hold=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
    assert app.return_value == 130


async def test_mouse_selects_host_and_reply() -> None:
    app = make_app(fakes.mixed())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.query_one(HostTree)
        node = tree._leaves[fakes.MX3]
        await pilot.click(HostTree, offset=(4, node.line + 1 - tree.scroll_offset.y))
        await pilot.pause()
        assert app.selected == fakes.MX3
        assert transcript(app).steps[4].reply.code == 550
        view = transcript(app)
        view.scroll_home(animate=False)
        await pilot.pause()
        await pilot.click(TranscriptView, offset=(5, 1))  # first entry: connect
        await pilot.pause()
        assert view.highlighted == 0


async def test_hostile_text_is_shown_literally_and_inert() -> None:
    app = make_app(fakes.hostile())
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        view = transcript(app)
        view.highlighted = 1
        await pilot.pause()
        shown = screen_text(app)
        assert "\x1b" not in shown and "\x07" not in shown
        assert "\\x1b]0;PWNED-TITLE\\x07" in shown
        assert "[bold]big[/]" in shown
        assert "[@click=app.quit]x[/]" in shown
        assert "[link=http://evil.example]y[/link]" in shown
        assert "control characters, shown escaped" in shown
        # Clicking where the would-be action is does nothing but select the entry.
        for y in range(1, 8):
            await pilot.click(TranscriptView, offset=(20, y))
        await pilot.pause()
        assert app.is_running
        assert app.return_value is None


async def test_dns_failure_shows_the_finding_and_no_hosts() -> None:
    app = make_app(fakes.dns_failure())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert leaf_labels(app) == {}
        assert "NXDOMAIN" in panel(app, "findings")
        assert app.last_exit_code == 2
        assert transcript(app).option_count == 0


async def test_refused_connection_is_an_error_not_a_reply() -> None:
    app = make_app(fakes.refused())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "error" in leaf_labels(app)[fakes.MX1]
        assert "refused" in panel(app, "explain")
        assert "!! refused: connection refused" in transcript(app).plain_text()


async def test_runner_crash_is_reported_not_fatal() -> None:
    async def broken(plan):
        yield fakes.started()[0]
        raise RuntimeError("boom \x1b[2J")

    app = ProbeApp(fakes.plan(), runner=broken, clock=lambda: 0.0, animate=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = panel(app, "findings")
        assert "internal error" in text and "boom \\x1b[2J" in text
        assert app.is_running


async def test_two_thousand_steps_scroll_and_select() -> None:
    app = make_app(fakes.many_steps(2000), burst=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, rounds=5000)
        view = transcript(app)
        assert len(view.steps) == 2000 == view.option_count
        assert view.highlighted == 1999
        view.focus()
        await pilot.press("home")
        assert view.highlighted == 0 and view.scroll_offset.y == 0
        await pilot.press("pagedown", "down")
        assert view.highlighted > 1
        await pilot.press("end")
        assert view.highlighted == 1999
        assert "user1999@" in screen_text(app)


def test_panel_refuses_markup_strings() -> None:
    with pytest.raises(TypeError):
        Panel("x").show("[bold]x")  # type: ignore[arg-type]


async def test_target_bar_shows_only_the_rcpts_the_user_chose() -> None:
    app = make_app(fakes.all_accepted())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        bar = app.query_one(TargetBar)
        assert app.query_one("#target", Input).value == "example.com"
        assert app.query_one("#rcpts", Input).value == ""  # postmaster@ is the default
        assert bar.plan.rcpts == ("postmaster@example.com",)


async def test_events_keep_arriving_while_a_modal_is_open() -> None:
    """The probe goes on behind the help screen and shows up when it closes."""
    gated, release = fakes.gated(fakes.all_accepted(), 5)
    app = ProbeApp(fakes.plan(), runner=gated, clock=lambda: 0.0, animate=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        release.set()
        await settle(pilot)
        assert app.report.done is not None
        await pilot.press("escape")
        await pilot.pause()
        assert len(transcript(app).steps) == 6
        assert "accepted" in leaf_labels(app)[fakes.MX2]


async def test_theme_switch_recolours_the_host_tree() -> None:
    app = make_app(fakes.mixed())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)

        def colours() -> set[str]:
            label = app.query_one(HostTree)._leaves[fakes.MX3].label
            return {str(span.style.color) for span in label.spans}

        dark = colours()
        app.theme = "textual-light"
        await pilot.pause()
        assert colours() != dark
        assert "permanent" in leaf_labels(app)[fakes.MX3]


async def test_no_color_is_honoured(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(fakes.mixed())
    assert app.no_color  # Textual then filters every colour out of each frame
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        svg = app.export_screenshot()
        # Only greys remain: no red/green/yellow of reply classes or statuses.
        import re

        fills = set(re.findall(r"fill: (#[0-9a-f]{6})", svg)) - {"#c5c8c6"}  # SVG default fg
        assert fills and all(f[1:3] == f[3:5] == f[5:7] for f in fills), fills


async def test_large_terminal_layout() -> None:
    app = make_app(fakes.mixed())
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        tree, view = app.query_one(HostTree), transcript(app)
        assert tree.size.width <= 50  # the tree stays a sidebar
        assert view.size.width > 120 and view.size.height > 25
        assert "192.0.2.30 ✖ permanent" in screen_text(app)


async def test_a_greylisting_retry_shows_a_countdown() -> None:
    from probe.core.events import RetryScheduled

    now = [100.0]
    grey = b"450 4.7.1 <postmaster@example.com>: Recipient address rejected: Greylisted\r\n"
    events = [*fakes.started(), fakes.resolved(fakes.MX1),
              *fakes.session(fakes.MX1, grey)[:-1], RetryScheduled(fakes.MX1, 300.0)]
    app = make_app(events, hold=True, clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app._tick()
        assert str(app.transcript.border_subtitle) == "retrying once in 300 s (greylisted)"
        now[0] += 120
        app._tick()
        assert str(app.transcript.border_subtitle) == "retrying once in 180 s (greylisted)"
