"""The answer at a glance: the matrix, the problems in words, the waterfall (UI-free).

Built from folded event streams (the TUI fakes' scripted sessions), so what
is pinned is the one decision every view draws: which step decides a cell,
how problems group, what the sentences say.
"""

from __future__ import annotations

from probe.core.events import (
    Finding,
    FindingRaised,
    HostDone,
    HostKey,
    HostStarted,
    MxRecord,
    MxResolved,
    ProbeDone,
    Step,
    StepDone,
    StepError,
    StepStarted,
)
from probe.core.transcript import Report
from probe.present.matrix import (
    build_matrix,
    find_issues,
    issue_text,
    session_keys,
    verdict_findings,
)
from probe.present.waterfall import Bar, draw, layout, ms_text
from tests.tui import fakes


def fold(events) -> Report:
    report = Report()
    for event in events:
        report.feed(event)
    return report


def everyone_unknown_everywhere() -> list:
    """Both recipients get the same 550 from both hosts."""
    rejected = b"550 5.1.1 <x>: Recipient address rejected: User unknown\r\n"
    answers = [(fakes.ALICE, rejected), (fakes.NOBODY, rejected)]
    return [*fakes.started(fakes.ALICE, fakes.NOBODY), fakes.resolved(fakes.MX1, fakes.MX2),
            *fakes.session(fakes.MX1, answers=answers),
            *fakes.session(fakes.MX2, answers=answers), ProbeDone("permanent", 2)]


def test_each_cell_is_that_recipients_rcpt_on_that_host():
    report = fold(fakes.two_by_two())
    matrix = build_matrix(report)
    assert matrix.rcpts == (fakes.ALICE, fakes.NOBODY)
    assert matrix.columns == (fakes.MX1, fakes.MX2)
    labels = [[cell.label("en") for cell in row] for row in matrix.rows]
    assert labels == [["250 ok", "450 greylisted"], ["550 user_unknown", "250 ok"]]
    assert [[cell.outcome for cell in row] for row in matrix.rows] == [
        ["ok", "transient"], ["permanent", "ok"]]
    nobody_on_mx1 = matrix.rows[1][0]
    assert report.hosts[fakes.MX1].steps[nobody_on_mx1.index].rcpt == fakes.NOBODY
    assert matrix.locate(fakes.MX1, nobody_on_mx1.index) == (1, 0)


def test_the_verdict_says_who_failed_where_and_why():
    report = fold(fakes.two_by_two())
    matrix = build_matrix(report)
    texts = [issue_text(issue, matrix, "en") for issue in find_issues(report, matrix)]
    assert texts == [
        "nobody@example.com: recipient does not exist on mx1.example.com (550 5.1.1)",
        "alice@example.com: greylisted on mx2.example.com (450 4.7.1)",
    ]
    fr = [issue_text(issue, matrix, "fr") for issue in find_issues(report, matrix)]
    assert fr[0] == ("nobody@example.com : destinataire inexistant sur mx1.example.com "
                     "(550 5.1.1)")


def test_one_cause_on_every_host_for_every_recipient_is_said_once():
    report = fold(everyone_unknown_everywhere())
    matrix = build_matrix(report)
    (issue,) = find_issues(report, matrix)
    assert issue.rcpts == (fakes.ALICE, fakes.NOBODY) and len(issue.places) == 4
    assert issue_text(issue, matrix, "en") == (
        "every recipient: recipient does not exist on every mail host (550 5.1.1)")


def test_a_session_that_ended_before_rcpt_fills_its_column_with_where_it_ended():
    refused = [HostStarted(fakes.MX2), StepStarted(fakes.MX2, "connect", None),
               StepDone(fakes.MX2, Step("connect", None, None, 0.4,
                                        error=StepError("refused", "connection refused"))),
               HostDone(fakes.MX2, "transient")]
    events = [*fakes.started(fakes.ALICE, fakes.NOBODY), fakes.resolved(fakes.MX1, fakes.MX2),
              *fakes.session(fakes.MX1, answers=[(fakes.ALICE, fakes.OK),
                                                 (fakes.NOBODY, fakes.OK)]),
              *refused, ProbeDone("transient", 1)]
    report = fold(events)
    matrix = build_matrix(report)
    cells = [row[1] for row in matrix.rows]
    assert [c.state for c in cells] == ["ended", "ended"]
    assert [c.label("en") for c in cells] == ["refused (connect)", "refused (connect)"]
    (issue,) = find_issues(report, matrix)
    assert issue.rcpts == ()
    assert issue_text(issue, matrix, "en") == "mx2.example.com: refused at connect"


def test_live_cells_say_waiting_or_the_stage_in_flight_and_dangling_hosts_get_a_column():
    dangling = MxRecord(30, "mx3.example.com", ())
    mx = fakes.resolved(fakes.MX1, fakes.MX2)
    events = [*fakes.started(), MxResolved("mx", (*mx.records, dangling)),
              *fakes.session(fakes.MX1)[:9],
              StepStarted(fakes.MX1, "rcpt", "RCPT TO:<postmaster@example.com>")]
    report = fold(events)
    keys = session_keys(report, 25)
    assert keys[-1] == HostKey("mx3.example.com", None, 25, 30)
    matrix = build_matrix(report, 25)
    assert [c.label("en") for c in matrix.rows[0]] == ["RCPT TO…", "waiting", "waiting"]
    report.feed(ProbeDone("transient", 1))
    assert build_matrix(report, 25).rows[0][1].label("en") == "not reached"


def test_run_level_findings_that_explain_the_outcome_are_in_the_verdict():
    report = fold([*fakes.started(), MxResolved("mx", ()),
                   FindingRaised(Finding("nxdomain", {"domain": "x.test"})),
                   FindingRaised(Finding("implicit_mx", {"domain": "x.test"})),
                   FindingRaised(Finding("port_blocked", {"port": 25})),
                   ProbeDone("permanent", 2)])
    assert [f.code for f in verdict_findings(report)] == ["nxdomain", "port_blocked"]


def test_bars_are_to_scale_in_eighths_and_never_invisible():
    step = Step("banner", None, None, 0.0)
    assert draw(Bar(step, 0.0, "ok"), 100.0, 10) == "▏"  # 0 ms still shows
    long = Step("banner", None, None, 50.0)
    assert draw(Bar(long, 0.0, "ok"), 100.0, 10) == "█████"
    assert draw(Bar(long, 50.0, "ok"), 100.0, 10) == "     █████"
    part = Step("rcpt", None, None, 31.25)
    assert draw(Bar(part, 0.0, "ok"), 100.0, 10) == "███▏"
    assert draw(Bar(part, 0.0, "ok"), 100.0, 10, ascii_only=True) == "###"
    assert draw(Bar(step, 99.0, "ok"), 100.0, 10, ascii_only=True) == "         #"
    assert [ms_text(v) for v in (0.25, 12.4, 1500.0)] == ["0.2 ms", "12 ms", "1.5 s"]


def test_the_waterfall_puts_every_host_on_the_slowest_ones_scale():
    drawn = layout(fold(fakes.two_by_two()), 60, "en")
    assert drawn.scale_ms == 1500.0 + 1.5 + 3.0 + 2.0 + 40.0 + 40.0 + 1.0
    greeting = [row for row in drawn.rows if row.bar and row.bar.step.stage == "banner"]
    short, tarpit = (len(row.drawn.strip()) for row in greeting)
    assert tarpit > 10 * short
    assert all(len(row.text) + len(row.drawn) <= 60 for row in drawn.rows)
    totals = [row.text for row in drawn.rows if row.bar is None]
    assert [t.split()[0] for t in totals] == ["total", "total"]


def test_an_explanation_is_printed_once_and_referred_to_after():
    from probe.present.text_report import render_report

    text = render_report(fold(everyone_unknown_everywhere()))
    assert text.count("Description: ") == 1
    assert text.count("(same as above: user_unknown)") == 3
    assert text.index("Description: ") < text.index("(same as above")
