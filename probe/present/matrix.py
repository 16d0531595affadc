"""The answer at a glance: which recipient got what from which mail host, and why.

Rows are the run's recipients, columns its sessions (one per address of each
MX host, in display order). A cell is the step that decided that pair: the
RCPT TO of that recipient on that host, or, when the session ended before
it got there, the step where it ended (a timeout, a refused connection, a
5xx greeting). The problems are the verdict's problem steps grouped by cause,
each saying in words which recipients failed on which hosts, so nobody has
to read the transcripts to learn that nobody@ is unknown on mx1 and alice@
is greylisted on mx2 only.

This is the one place that decides what the matrix and the verdict say; the
plain report, the JSON `summary` and the TUI's Results panel only draw it.
Texts keep server and DNS data raw (views sanitise), like the transcript.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from knowledge import findings as catalogue

from ..core.events import Finding, HostKey, Outcome, Stage, Step
from ..core.transcript import HostReport, Report
from .words import category_name, say, stage_name

CellState = Literal["answered", "ended", "not_reached", "running", "waiting"]
"""answered: this recipient's RCPT TO has a result; ended: the session stopped
before it at another step; not_reached: the session ended without trying it
(--quit-after) or never ran; running / waiting: the session is still to come."""

_RANK: dict[Outcome, int] = {"permanent": 0, "transient": 1, "ok": 2}


def host_order(key: HostKey) -> tuple[int, str, str, int]:
    """Display order of sessions: MX preference, then name, address and port."""
    pref = key.preference if key.preference is not None else -1
    return (pref, key.host, key.address or "", key.port)


def session_keys(report: Report, port: int | None = None) -> list[HostKey]:
    """Every session of the run in display order.

    With the plan's `port`, the addresses announced by MX discovery are
    included before their sessions start (keyed as the runner keys them), so
    a live view can show them as waiting; without it, only sessions seen.
    """
    keys = set(report.hosts)
    if port is not None and report.mx is not None:
        for record in report.mx.records:
            addresses: Iterable[str | None] = record.addresses or (None,)
            keys.update(HostKey(record.host, address, record.port or port, record.preference)
                        for address in addresses)
    return sorted(keys, key=host_order)


@dataclass(frozen=True)
class Cell:
    """One recipient on one session. `index` is the step's place in that host's transcript."""

    state: CellState
    step: Step | None = None
    index: int | None = None
    outcome: Outcome | None = None
    active: Stage | None = None  # running: the stage waiting for its reply

    @property
    def code(self) -> int | None:
        return self.step.reply.code if self.step and self.step.reply else None

    @property
    def category(self) -> str | None:
        annotation = self.step.annotation if self.step else None
        return annotation.category if annotation else None

    def result(self) -> str:
        """`250 ok`, `550 user_unknown`, `timeout`: the reply code and category, or the
        error kind (identifiers, the same in every language), "" with no step."""
        step = self.step
        if step is None:
            return ""
        if step.reply is None:
            return step.error.kind if step.error else step.stage
        return " ".join(str(p) for p in (step.reply.code, self.category) if p)

    def label(self, lang: str) -> str:
        """What the cell shows: the result, where the session ended if not at RCPT,
        or the state of a session still to come."""
        if self.state == "answered":
            return self.result()
        if self.state == "ended":
            assert self.step is not None
            return say(lang, "cell_ended", result=self.result(),
                       stage=stage_name(lang, self.step.stage))
        if self.state == "running":
            if self.active is None:
                return say(lang, "cell_between_steps")
            return say(lang, "cell_running", stage=stage_name(lang, self.active))
        return say(lang, f"cell_{self.state}")


@dataclass(frozen=True)
class Matrix:
    rcpts: tuple[str, ...]
    columns: tuple[HostKey, ...]
    rows: tuple[tuple[Cell, ...], ...]  # rows[recipient][column]

    def locate(self, key: HostKey, index: int) -> tuple[int, int] | None:
        """The first cell (row, column) showing step `index` of session `key`."""
        if key not in self.columns:
            return None
        column = self.columns.index(key)
        for row, cells in enumerate(self.rows):
            if cells[column].index == index:
                return row, column
        return None


def _cell(host: HostReport | None, rcpt: str, finished: bool) -> Cell:
    if host is None:
        return Cell("not_reached" if finished else "waiting")
    index = host.rcpt_step(rcpt)
    if index is not None:
        return Cell("answered", host.steps[index], index, host.verdicts[index])
    if host.outcome is None:
        if host.active is not None:
            return Cell("running", active=host.active.stage)
        return Cell("running" if host.steps else "waiting")
    problems = host.problems()
    if problems:
        last = problems[-1]
        return Cell("ended", host.steps[last], last, host.verdicts[last])
    return Cell("not_reached")


def build_matrix(report: Report, port: int | None = None) -> Matrix:
    """The matrix of the report as it stands (live runs have running cells)."""
    rcpts = report.started.rcpts if report.started else ()
    columns = tuple(session_keys(report, port))
    finished = report.done is not None
    rows = tuple(
        tuple(_cell(report.hosts.get(key), rcpt, finished) for key in columns)
        for rcpt in rcpts
    )
    return Matrix(tuple(rcpts), columns, rows)


# ------------------------------------------------------------------ problems

@dataclass(frozen=True)
class Issue:
    """One cause of failure and everywhere it happened.

    `step` is its first occurrence (its reply and annotation say what and
    why); `rcpts` the recipients it concerns (empty when it is about the
    session, not a recipient); `places` every (session, step index).
    """

    outcome: Outcome
    step: Step
    rcpts: tuple[str, ...]
    places: tuple[tuple[HostKey, int], ...]

    @property
    def keys(self) -> tuple[HostKey, ...]:
        return tuple(dict.fromkeys(key for key, _ in self.places))


@dataclass
class _Group:
    outcome: Outcome
    step: Step
    places: list[tuple[HostKey, int]] = field(default_factory=list)


def _cause(step: Step) -> tuple[object, ...]:
    """What makes two problem steps the same problem: where, what came back, and
    what it means (the annotation, so two texts with one meaning count once)."""
    reply = step.reply
    return (step.stage, reply.code if reply else None, reply.enhanced if reply else None,
            step.error.kind if step.error else None, step.annotation)


def find_issues(report: Report, matrix: Matrix) -> list[Issue]:
    """The verdict's problem steps, grouped by cause and, for RCPT problems, by
    the set of hosts where a recipient met it; worst first, then in display order."""
    groups: dict[tuple[object, ...], _Group] = {}
    for key in matrix.columns:
        host = report.hosts.get(key)
        if host is None:
            continue
        for index in host.problems():
            step = host.steps[index]
            group = groups.setdefault(_cause(step), _Group(host.verdicts[index], step))
            group.places.append((key, index))
    issues: list[Issue] = []
    for group in groups.values():
        if group.step.stage != "rcpt":
            issues.append(Issue(group.outcome, group.step, (), tuple(group.places)))
            continue
        by_rcpt: dict[str, list[tuple[HostKey, int]]] = {}
        for key, index in group.places:
            rcpt = report.hosts[key].steps[index].rcpt or ""
            by_rcpt.setdefault(rcpt, []).append((key, index))
        by_hosts: dict[frozenset[HostKey], list[str]] = {}
        for rcpt, places in by_rcpt.items():
            by_hosts.setdefault(frozenset(k for k, _ in places), []).append(rcpt)
        for rcpts in by_hosts.values():
            found = tuple(p for r in rcpts for p in by_rcpt[r])
            first = report.hosts[found[0][0]].steps[found[0][1]]
            issues.append(Issue(group.outcome, first, tuple(rcpts), found))
    order = {key: n for n, key in enumerate(matrix.columns)}
    issues.sort(key=lambda i: (_RANK[i.outcome], min((order[k], n) for k, n in i.places)))
    return issues


def verdict_findings(report: Report) -> list[Finding]:
    """Run-level findings that explain the outcome when no session shows it
    (NXDOMAIN, a null MX, outbound port 25 blocked): errors, and the entries
    the catalogue marks `in_verdict`."""
    return [f for f in report.findings
            if f.severity == "error" or catalogue.entry(f.code).get("in_verdict")]


# ------------------------------------------------------------------- in words

def host_label(key: HostKey, matrix: Matrix) -> str:
    """A session as a sentence names it: the host, plus the address when the host
    has several (or none)."""
    if key.address is None:
        return key.host
    if key.host == key.address:
        return key.address
    siblings = sum(1 for k in matrix.columns if k.host == key.host)
    return f"{key.host} [{key.address}]" if siblings > 1 else key.host


def _hosts_text(keys: tuple[HostKey, ...], matrix: Matrix, lang: str) -> str:
    if len(matrix.columns) > 1 and set(keys) == set(matrix.columns):
        return say(lang, "every_host")
    return ", ".join(host_label(key, matrix) for key in keys)


def _rcpts_text(rcpts: tuple[str, ...], matrix: Matrix, lang: str) -> str:
    if len(matrix.rcpts) > 1 and set(rcpts) == set(matrix.rcpts):
        return say(lang, "every_rcpt")
    return ", ".join(rcpts)


def cause_text(step: Step, lang: str) -> tuple[str, str]:
    """Why, in words, and the codes that say it: the category and `550 5.1.1` for a
    reply; the title of the failure (and no code) for a step that got no reply."""
    annotation = step.annotation
    if step.reply is not None:
        code = " ".join(str(p) for p in (step.reply.code, step.reply.enhanced) if p)
        return (category_name(lang, annotation.category) if annotation else code), code
    if annotation is not None:
        return annotation.title, ""
    return (step.error.kind if step.error else step.stage), ""


def issue_text(issue: Issue, matrix: Matrix, lang: str) -> str:
    """`nobody@x: recipient does not exist on mx1.x (550 5.1.1)`, or for a session
    problem `mx2.x: No TCP answer on port 25 at connect`."""
    hosts = _hosts_text(issue.keys, matrix, lang)
    cause, code = cause_text(issue.step, lang)
    if issue.rcpts:
        text = say(lang, "issue_rcpt", rcpts=_rcpts_text(issue.rcpts, matrix, lang),
                   cause=cause, hosts=hosts)
    else:
        text = say(lang, "issue_host", hosts=hosts, cause=cause,
                   stage=stage_name(lang, issue.step.stage))
    return f"{text} ({code})" if code else text


def all_accepted(matrix: Matrix) -> bool:
    """Every recipient was accepted by every session."""
    return bool(matrix.rows) and bool(matrix.columns) and all(
        cell.state == "answered" and cell.outcome == "ok" for row in matrix.rows for cell in row)
