"""The probe TUI: a live view over the core's event stream.

The app owns no protocol logic. One exclusive worker iterates the injected
runner (`run_probe` in production, a scripted stream in tests) and posts
each event as a message; the handler folds it into a `Report` and updates
only the widgets that event touches (the transcript appends one entry, it is
never rebuilt per event).

What is selected is one place: a session (`selected`) and a step of it (the
transcript's highlight). The Results matrix, the `n`/`p`/`f`/`F` keys and
the host tree all move that one selection, and the matrix cursor, the
transcript and the explanation follow it. When the run ends the first
problem is selected, unless the user already took the wheel.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Tree

from knowledge import known_codes
from knowledge import labels as knowledge_labels
from probe.core.events import (
    CheckDone,
    Event,
    Finding,
    FindingRaised,
    HostDone,
    HostKey,
    ProbeDone,
    RetryScheduled,
    StepStarted,
    TlsEstablished,
)
from probe.core.exit_status import ExitStatus
from probe.core.plan import Plan
from probe.core.transcript import Report
from probe.present.matrix import build_matrix, host_order
from probe.present.words import say

from .content import (
    explanation_content,
    findings_content,
    health_content,
    host_name,
    safe,
    timing_content,
)
from .messages import ProbeEvent, ProbeFailed
from .screens.help import HelpScreen
from .screens.knowledge import KnowledgeScreen
from .screens.save import SaveScreen, write_report
from .widgets.host_tree import HostTree
from .widgets.panels import Panel
from .widgets.results import ResultsTable
from .widgets.target_bar import TargetBar
from .widgets.transcript import TranscriptView

Runner = Callable[[Plan], AsyncIterator[Event]]
Place = tuple[HostKey, int]


class CodeCommands(Provider):
    """Command palette entries `explain 550`, `explain 5.7.1`, …: open the browser."""

    async def startup(self) -> None:
        self.codes = known_codes()

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app = self.app
        assert isinstance(app, ProbeApp)
        for code in self.codes:
            label = f"explain {code}"
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(app.action_browse, code),
                          help=say(app.lang, "palette_explain_help"))


KEY_WORDS: dict[str, str] = {
    "rerun": "key_rerun", "edit": "key_edit", "next_step": "key_next",
    "previous_step": "key_previous", "next_problem": "key_problem",
    "previous_problem": "key_problem_back", "timing": "key_timing",
    "copy_transcript": "key_copy", "save": "key_save", "browse": "key_codes",
    "help": "key_help", "quit": "key_quit",
}
"""The footer word of each action (bindings are declared in English, then translated)."""


def clipboard_route() -> str:
    """Which copy message is honest here: OSC 52 inside tmux or GNU screen is
    dropped unless the multiplexer is told to pass it on, and probe cannot ask."""
    if os.environ.get("TMUX"):
        return "copied_tmux"
    if os.environ.get("STY") or os.environ.get("TERM", "").startswith("screen"):
        return "copied_screen"
    return "copied"


class ProbeApp(App[int]):
    """Target bar, results matrix, hosts, transcript or timing, explanation, findings."""

    CSS_PATH = "app.tcss"
    TITLE = "probe"
    # Below 100 columns the host tree gives its room to the findings: the
    # Results matrix already names every address and its result.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012 (Textual's)
    COMMANDS = App.COMMANDS | {CodeCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "rerun", "Re-run"),
        Binding("e", "edit", "Edit"),
        Binding("n", "next_step", "Next"),
        Binding("p", "previous_step", "Prev", show=False),
        Binding("f", "next_problem", "Problem"),
        Binding("F", "previous_problem", "Prev problem", show=False),
        Binding("t", "timing", "Timing"),
        Binding("c", "copy_transcript", "Copy"),
        Binding("s", "save", "Save"),
        Binding("slash", "browse", "Codes"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("escape", "leave_input", show=False),
    ]

    def __init__(
        self,
        plan: Plan,
        *,
        runner: Runner,
        lang: str = "en",
        clock: Callable[[], float] = time.monotonic,
        animate: bool = True,
        save_dir: Path | None = None,
        labels: dict[str, str] | None = None,
    ) -> None:
        """`clock` and `animate=False` freeze the spinner/timer for snapshots;
        `labels` pins the field labels (snapshots must not change when the
        knowledge team rewords one)."""
        super().__init__()
        self.plan = plan
        self.runner = runner
        self.lang = lang
        self.clock = clock
        self.live_timers = animate
        self.save_dir = save_dir or Path.cwd()
        self.labels = labels if labels is not None else knowledge_labels(lang)
        self.report = Report()
        self.matrix = build_matrix(self.report)
        self.run_id = 0
        self.selected: HostKey | None = None
        self.last_exit_code: int | None = None
        self.failure: str | None = None
        self.user_moved = False
        self.landed = False
        self._since: dict[HostKey, float] = {}
        self._retry_at: dict[HostKey, float] = {}  # hosts waiting to retry after greylisting
        self._frame = 0
        self._refresh_scheduled = False
        self._findings_dirty = False
        self._translate_bindings()

    def _translate_bindings(self) -> None:
        """Footer words in the chosen language (Textual declares bindings per class)."""
        for key, bindings in self._bindings.key_to_bindings.items():
            self._bindings.key_to_bindings[key] = [
                replace(b, description=say(self.lang, KEY_WORDS[b.action]))
                if b.action in KEY_WORDS else b for b in bindings]

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        # Kept as attributes, not queried: on quit the widgets are removed while
        # probe events and highlight messages may still be queued, and a query
        # would then raise NoMatches (seen in bench runs).
        lang = self.lang
        self.target_bar = TargetBar(self.plan, lang, id="target-bar")
        self.results = ResultsTable(lang, id="results")
        self.host_tree = HostTree(lang, id="hosts")
        self.transcript = TranscriptView(lang, id="transcript")
        self.timing_panel = Panel(say(lang, "panel_timing"), id="timing")
        self.findings_panel = Panel(say(lang, "panel_findings"), id="findings")
        self.health_panel = Panel(say(lang, "panel_health"), id="health")
        self.explain_panel = Panel(say(lang, "panel_explanation"), id="explain")
        yield self.target_bar
        yield self.results
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield self.host_tree
                yield self.findings_panel
                yield self.health_panel
            with Vertical(id="right"):
                yield self.transcript
                yield self.timing_panel
                yield self.explain_panel
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.results.border_title = Content(say(self.lang, "panel_results"))
        self.host_tree.border_title = Content(say(self.lang, "panel_hosts"))
        self.transcript.border_title = Content(say(self.lang, "panel_transcript"))
        self.timing_panel.display = False
        self.health_panel.display = False
        if self.live_timers:
            self.set_interval(0.1, self._tick)
        self.results.focus()
        self.start_probe(self.plan)

    # ------------------------------------------------------------------ probe
    def start_probe(self, plan: Plan) -> None:
        """Forget the last run's picture and start a new one (cancels a running probe)."""
        self.plan = plan
        self.run_id += 1
        self.report = Report()
        self.selected = None
        self.failure = None
        self.user_moved = False
        self.landed = False
        self._since.clear()
        self._retry_at.clear()
        transcript = self.transcript
        transcript.border_title = Content(say(self.lang, "panel_transcript"))
        transcript.show_host(None)
        self.explain_panel.border_subtitle = ""
        self.results.border_subtitle = ""
        self._update_overview()
        self._show_findings()
        self._show_explanation()
        self._probe(plan, self.run_id)

    @work(exclusive=True, group="probe", exit_on_error=False)
    async def _probe(self, plan: Plan, run: int) -> None:
        """Iterate the runner; every event becomes a message, in order."""
        stream = self.runner(plan)
        try:
            async for event in stream:
                self.post_message(ProbeEvent(run, event))
        except Exception as exc:  # a core bug must not take the UI down with it
            self.post_message(ProbeFailed(run, f"{type(exc).__name__}: {exc}"))
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

    def on_probe_failed(self, message: ProbeFailed) -> None:
        if message.run == self.run_id:
            self.failure = message.error
            self._show_findings()

    def on_probe_event(self, message: ProbeEvent) -> None:
        if message.run != self.run_id:
            return  # from a run the user replaced
        event = message.event
        self.report.feed(event)
        match event:
            case StepStarted(key=key):
                self._since[key] = self.clock()
                self._retry_at.pop(key, None)
            case RetryScheduled(key=key, seconds=seconds):
                self._retry_at[key] = self.clock() + seconds
            case HostDone(key=key):
                self._since.pop(key, None)
            case TlsEstablished() | FindingRaised() | CheckDone():
                self._findings_dirty = True
            case ProbeDone(exit_code=code):
                self.last_exit_code = code
        if not self._refresh_scheduled:
            # Queued behind any events already waiting: a burst is drawn once.
            self._refresh_scheduled = True
            self.call_later(self._refresh_views)

    def _update_overview(self) -> None:
        """Tree and matrix from the report (each repaints only what changed)."""
        self.host_tree.update_from(self.report, self.plan.port)
        self.matrix = build_matrix(self.report, self.plan.port)
        self.results.update_from(self.matrix)
        self.results.display = bool(self.matrix.columns) or self.report.mx is None
        done = self.report.done
        if done is not None:
            self.results.border_subtitle = say(
                self.lang, "results_subtitle", exit=done.exit_code,
                outcome=say(self.lang, f"outcome_{done.outcome}"))

    def _refresh_views(self) -> None:
        """Bring every panel up to date with the report."""
        self._refresh_scheduled = False
        self._update_overview()
        if self.selected is None and self.matrix.columns:
            self.select_host(self.matrix.columns[0])
        elif self.selected is not None and self.selected in self.report.hosts:
            key = self.selected
            elapsed = self.clock() - self._since[key] if key in self._since else 0.0
            self.transcript.sync(self.report.hosts[key], elapsed, self._frame)
        if self._findings_dirty:
            self._show_findings()
        if self.timing_panel.display:
            self._show_timing()
        if self.report.done is not None and not self.landed:
            self.landed = True
            if not self.user_moved:
                self._land()
            elif self.selected is None:
                self._show_explanation()

    def _land(self) -> None:
        """The run ended: select the first problem, or the first recipient's answer."""
        problems = self.problem_places()
        if problems:
            self.go_to(*problems[0])
            return
        for column, key in enumerate(self.matrix.columns):
            for row in self.matrix.rows:
                if row[column].index is not None:
                    self.go_to(key, row[column].index)  # type: ignore[arg-type]
                    return
        self._show_explanation()

    def _tick(self) -> None:
        """Advance the spinner and timer of the selected host's step in flight, and the
        countdown of a host that waits to retry after greylisting."""
        self._frame += 1
        key = self.selected
        if key is not None and key in self._since:
            self.transcript.tick(self.clock() - self._since[key], self._frame)
        waiting = self._retry_at.get(key) if key is not None else None
        subtitle = "" if waiting is None else say(
            self.lang, "retry_wait", seconds=f"{max(0.0, waiting - self.clock()):.0f}")
        if str(self.transcript.border_subtitle or "") != subtitle:  # only a changed second
            self.transcript.border_subtitle = Content(subtitle)

    def on_key(self, _event: events.Key) -> None:
        self.user_moved = True  # the user is steering: the end of the run will not

    def on_mouse_down(self, _event: events.MouseDown) -> None:
        self.user_moved = True

    # -------------------------------------------------------------- selection
    def select_host(self, key: HostKey) -> None:
        """Show this session's transcript, findings and TLS details."""
        self.selected = key
        transcript = self.transcript
        transcript.border_title = Content.assemble(say(self.lang, "panel_transcript"), " · ",
                                                   host_name(key))
        transcript.show_host(self.report.hosts.get(key))
        if transcript.pending is not None and key in self._since:
            transcript.tick(self.clock() - self._since[key], self._frame)
        self.host_tree.select_key(key)
        self._show_explanation()
        self._show_findings()
        if self.timing_panel.display:
            self._show_timing()

    def current(self) -> Place | None:
        index = self.transcript.highlighted
        if self.selected is None or index is None or index >= len(self.transcript.steps):
            return None
        return self.selected, index

    def go_to(self, key: HostKey, index: int) -> None:
        """Select step `index` of session `key`: transcript, explanation, matrix cursor."""
        if key != self.selected:
            self.select_host(key)
        self.transcript.highlighted = index
        self.results.show(key, index)
        self._show_explanation()
        # The explanation's new height changes the transcript's: scroll once laid out.
        self.call_after_refresh(self.transcript.reveal_highlight)

    def on_results_table_picked(self, message: ResultsTable.Picked) -> None:
        if message.index is not None:
            if (message.key, message.index) != self.current():
                self.go_to(message.key, message.index)
            return
        if message.key != self.selected:
            self.select_host(message.key)
        if message.cell.state in ("not_reached", "waiting", "running"):
            word = "not_reached_here" if message.cell.state == "not_reached" else "waiting_here"
            self.explain_panel.show(Content.styled(
                say(self.lang, word, rcpt=safe(message.rcpt), host=host_name(message.key)),
                "$text-muted"))
            self.explain_panel.border_subtitle = ""

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        # Only the user's own moves (the tree has focus) switch hosts: the tree
        # also moves its cursor when it is rebuilt under a live probe.
        key = event.node.data
        if isinstance(key, HostKey) and key != self.selected and event.control.has_focus:
            self.select_host(key)

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        key = event.node.data
        if isinstance(key, HostKey) and key != self.selected:
            self.select_host(key)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.control is self.transcript:
            place = self.current()
            if place is not None:
                self.results.show(*place)
            self._show_explanation()

    def _show_explanation(self) -> None:
        step = self.transcript.selected_step
        panel = self.explain_panel
        if step is None and self.report.done is not None and not self.report.hosts:
            panel.show(Content.styled(say(self.lang, "no_host_probed"), "$text-warning"))
            return
        panel.show(explanation_content(step, self.labels, self.lang))
        place = self.current()
        subtitle = ""
        if place is not None and self.report.hosts[place[0]].verdicts[place[1]] != "ok":
            problems = self.problem_places()
            subtitle = say(self.lang, "problem_position", n=problems.index(place) + 1,
                           total=len(problems))
        panel.border_subtitle = subtitle

    def _show_findings(self) -> None:
        self._findings_dirty = False
        pairs: list[tuple[Finding, HostKey | None]] = [(f, None) for f in self.report.findings]
        tls = None
        for host in self.report.ordered_hosts():
            pairs += [(f, host.key) for f in host.findings]
            if host.key == self.selected:
                tls = host.tls
        self.findings_panel.show(findings_content(pairs, tls, self.failure, self.lang))
        checks = self.report.all_checks()
        self.health_panel.display = bool(checks)
        if checks:
            self.health_panel.show(health_content(checks, self.lang))

    def _show_timing(self) -> None:
        """Draw the waterfall at the panel's width, the selected session in view."""
        panel = self.timing_panel
        width = panel.content_region.width - 4  # the body's padding and a scrollbar
        content, line = timing_content(self.report, max(width, 30), self.lang, self.selected)
        panel.show(content)
        panel.scroll_to(y=max(0, line - 1), animate=False)  # the line above: a title

    def on_resize(self, _event: events.Resize) -> None:
        if self.timing_panel.display:
            self.call_after_refresh(self._show_timing)

    # ------------------------------------------------------------ navigation
    def problem_places(self) -> list[Place]:
        """Every problem step of every session, in display order."""
        return [(host.key, index)
                for host in sorted(self.report.hosts.values(), key=lambda h: host_order(h.key))
                for index in host.problems()]

    def _step_places(self) -> list[Place]:
        return [(host.key, index)
                for host in sorted(self.report.hosts.values(), key=lambda h: host_order(h.key))
                for index in range(len(host.steps))]

    def _step_through(self, places: list[Place], forward: bool, wrap: bool) -> Place | None:
        """The place after (or before) the current one in `places`."""
        if not places:
            return None
        here = self.current()
        order = {key: n for n, key in enumerate(sorted(self.report.hosts, key=host_order))}

        def rank(place: Place) -> tuple[int, int]:
            return order.get(place[0], -1), place[1]

        if here is None:
            return places[0] if forward else places[-1]
        ahead = [p for p in places if (rank(p) > rank(here)) == forward and p != here]
        if ahead:
            return ahead[0] if forward else ahead[-1]
        if wrap:
            return places[0] if forward else places[-1]
        return None

    def action_next_step(self) -> None:
        """The next step, into the next host's transcript at the end of one."""
        self._step(self._step_places(), forward=True)

    def action_previous_step(self) -> None:
        self._step(self._step_places(), forward=False)

    def action_next_problem(self) -> None:
        """The next problem across all hosts (after the last, the first again)."""
        self._step(self.problem_places(), forward=True, wrap=True)

    def action_previous_problem(self) -> None:
        self._step(self.problem_places(), forward=False, wrap=True)

    def _step(self, places: list[Place], forward: bool, wrap: bool = False) -> None:
        place = self._step_through(places, forward, wrap)
        if place is not None:
            self.go_to(*place)
        elif wrap:  # only problems wrap: none at all
            self.notify(say(self.lang, "no_problem"), markup=False)

    def action_timing(self) -> None:
        """Switch the right-hand column between transcript with explanation and the
        waterfall (which needs the height: one row per step of every session)."""
        showing = not self.timing_panel.display
        self.timing_panel.display = showing
        self.transcript.display = not showing
        self.explain_panel.display = not showing
        if showing:
            self.call_after_refresh(self._show_timing)

    # ---------------------------------------------------------------- actions
    def action_rerun(self) -> None:
        """Probe the kept plan (the edited one after `e` and Enter); cancels a running probe."""
        if self.target_bar.editing:
            self.target_bar.cancel_edit()
        self.target_bar.show_message("")
        self.start_probe(self.target_bar.plan)
        self.results.focus()

    def action_edit(self) -> None:
        self.target_bar.begin_edit()

    def action_leave_input(self) -> None:
        if self.target_bar.editing:
            self.target_bar.cancel_edit()
        self.results.focus()

    def on_target_bar_kept(self, _message: TargetBar.Kept) -> None:
        self.results.focus()

    def transcript_text(self) -> str:
        """What `c` copies: the selected host's transcript, escaped as on screen."""
        if self.selected is None:
            return ""
        body = self.transcript.plain_text()
        return f"# {host_name(self.selected)}\n{body}\n"

    def action_copy_transcript(self) -> None:
        """Copy through OSC 52 and say what is known: sent, not received."""
        text = self.transcript_text()
        if not text:
            self.notify(say(self.lang, "nothing_to_copy"), markup=False)
            return
        self.copy_to_clipboard(text)  # OSC 52 carries it base64-encoded
        route = clipboard_route()
        self.notify(say(self.lang, route, lines=text.count("\n")), markup=False,
                    severity="information" if route == "copied" else "warning", timeout=8)

    def default_save_base(self) -> str:
        name = self.plan.domain or self.plan.target or "probe"
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return str(self.save_dir / f"probe-{safe(name)}-{stamp}")

    def action_save(self) -> None:
        self.push_screen(SaveScreen(self.default_save_base(), self.lang), self._save_to)

    def _save_to(self, base: Path | None) -> None:
        if base is None:
            return
        try:
            text_path, json_path = write_report(self.report, base, self.lang)
        except (OSError, ImportError) as exc:
            self.notify(say(self.lang, "save_failed", error=safe(str(exc))), severity="error",
                        markup=False)
            return
        self.notify(say(self.lang, "saved", text=safe(str(text_path)),
                        json=safe(json_path.name)), markup=False)

    def action_browse(self, query: str = "") -> None:
        self.push_screen(KnowledgeScreen(self.labels, self.lang, query))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.lang))

    async def action_quit(self) -> None:
        """Quit with the last finished probe's exit code (130 if none finished)."""
        self.exit(self.last_exit_code if self.last_exit_code is not None
                  else ExitStatus.INTERRUPTED)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        lang = self.lang
        for word, action in (("rerun", self.action_rerun),
                             ("problem", self.action_next_problem),
                             ("timing", self.action_timing),
                             ("copy", self.action_copy_transcript),
                             ("save", self.action_save),
                             ("codes", self.action_browse)):
            yield SystemCommand(say(lang, f"palette_{word}"), say(lang, f"palette_{word}_help"),
                                action)

