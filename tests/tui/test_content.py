"""Pure builders: what the widgets are given (no app needed)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.content import Content

from knowledge import labels as knowledge_labels
from probe.core.events import HostKey, Step, StepError, StepStarted
from probe.core.plan import InputError, build_plan
from probe.core.transcript import HostReport
from probe.tui.content import (
    explanation_content,
    findings_content,
    pending_content,
    step_content,
)
from probe.tui.plan_edit import editable_rcpts, replan
from probe.tui.status import host_status

from . import fakes


def test_step_content_escapes_and_keeps_markup_literal() -> None:
    step = fakes.step("banner", None, f"220 {fakes.HOSTILE}\r\n".encode())
    content = step_content(step)
    assert isinstance(content, Content)
    assert "\x1b" not in content.plain and "\x07" not in content.plain
    assert "[@click=app.quit]x[/]" in content.plain
    assert "control characters, shown escaped" in content.plain
    # Styles are ours only: no span carries a link or an action from the server.
    for span in content.spans:
        assert "evil" not in str(span.style) and "click" not in str(span.style)


def test_reply_lines_keep_the_wire_separators_and_highlight_enhanced() -> None:
    step = fakes.step("rcpt", "RCPT TO:<a@b.example>",
                      b"550-5.1.1 first\r\n550 5.1.1 second\r\n")
    lines = step_content(step).plain.splitlines()
    assert lines[0].startswith("-> RCPT TO:<a@b.example>")
    assert lines[1] == "<- 550-5.1.1 first" and lines[2] == "<- 550 5.1.1 second"
    content = step_content(step)
    start = content.plain.index("5.1.1")
    assert any(s.start == start and "reverse" in str(s.style) for s in content.spans)


def test_error_and_partial_lines_are_shown() -> None:
    step = Step("rcpt", "RCPT TO:<a@b.example>", None, 30000.0,
                error=StepError("timeout", "no reply in 30 s"), partial=("250-half\x1b",))
    text = step_content(step).plain
    assert "!! timeout: no reply in 30 s" in text and "<~ 250-half\\x1b" in text


def test_problems_are_the_verdicts_not_the_views() -> None:
    """Which steps are problems is asked of the verdict: HELP replies and an EHLO
    refusal followed by a working HELO are not; an error and a 450 to RCPT are."""
    steps = [fakes.step("ehlo", "EHLO p.test", b"554 5.5.1 no ehlo\r\n"),
             fakes.step("helo", "HELO p.test", b"250 ok\r\n"),
             fakes.step("help", "HELP", b"502 5.5.1 no help\r\n"),
             fakes.step("rcpt", "RCPT TO:<x@y.example>", b"450 4.7.1 later\r\n"),
             Step("quit", "QUIT", None, 1.0, error=StepError("closed", "gone"))]
    host = HostReport(fakes.MX1, steps)
    assert host.problems() == [3]
    assert host.verdicts == ("ok", "ok", "ok", "transient", "ok")

def test_pending_content_shows_spinner_frame_and_time() -> None:
    started = StepStarted(fakes.MX1, "rcpt", "RCPT TO:<a@b.example>")
    assert pending_content(started, 3.25, 1).plain.endswith("⠙ 3.2 s")


def test_explanation_uses_labels_and_escapes() -> None:
    step = fakes.step("rcpt", "RCPT TO:<x@y.example>", b"550 5.1.1 no such user\r\n")
    labels = {**knowledge_labels("en"), "fix": "Fix-label"}
    text = explanation_content(step, labels, "en").plain
    assert "user_unknown" in text and "550 5.1.1" in text
    assert "How to fix (for the sender): " in text  # the admin has a fix of their own


def test_findings_are_sorted_worst_first() -> None:
    from probe.core.events import Finding

    text = findings_content([
        (Finding("implicit_mx", {"domain": "a.example"}), None),
        (Finding("nxdomain", {"domain": "e\x1b[2J", "resolver": "192.0.2.53"}), None),
        (Finding("postmaster_rejected", {"rcpt": "postmaster@a.example"}), fakes.MX1)]).plain
    assert text.splitlines() == [
        "✖ e\\x1b[2J does not exist (NXDOMAIN from 192.0.2.53): no mail can be delivered to it",
        "⚠ mx1.example.com: the server refuses <postmaster@a.example>: RFC 5321 §4.5.1 "
        "requires every mail domain to accept mail for postmaster",
        "• a.example has no MX record; using the implicit MX, its own address (RFC 5321 §5.1)"]


def test_a_check_shows_every_problem_that_needs_action() -> None:
    from probe.core.events import CheckResult, Problem
    from probe.tui.content import check_line

    expired = Problem("tls_cert_expired", {"host": "mx\x1b[2J", "not_after": "2020-01-01"})
    deprecated = Problem("tls_deprecated_version", {"version": "TLSv1"})
    check = CheckResult.judge("tls", [expired, deprecated],
                              Problem("tls_ok", {}), host=fakes.MX1)
    lines = check_line(check, "en").plain.splitlines()
    assert lines[0].startswith("⚠ tls 192.0.2.10: the certificate of mx\\x1b[2J expired")
    assert lines[1:] == ["  + TLS version TLSv1 is deprecated (RFC 8996)"]


def test_labels_the_tui_shows_exist_in_every_language() -> None:
    shown = ("description", "when", "fix", "fix_admin", "learn_more", "category", "severity")
    for lang in ("en", "fr", "zh", "tr", "xx"):
        labels = knowledge_labels(lang)
        assert all(labels.get(key) for key in shown), lang


@pytest.mark.parametrize(("steps", "outcome", "active", "expected"), [
    ([], None, None, "waiting"),
    ([], None, "connect", "connecting"),
    (["banner"], None, "ehlo", "speaking"),
    (["banner"], "ok", None, "accepted"),
    (["rcpt450"], "transient", None, "transient"),
    (["rcpt550"], "permanent", None, "permanent"),
    (["refused"], "transient", None, "error"),
])
def test_host_status(steps, outcome, active, expected) -> None:
    made = {
        "banner": fakes.step("banner", None, b"220 hi\r\n"),
        "rcpt450": fakes.step("rcpt", "RCPT TO:<a@b.example>", b"450 later\r\n"),
        "rcpt550": fakes.step("rcpt", "RCPT TO:<a@b.example>", b"550 no\r\n"),
        "refused": Step("connect", None, None, 1.0, error=StepError("refused", "refused")),
    }
    key = HostKey("mx", "192.0.2.1", 25, 10)
    host = HostReport(key, [made[s] for s in steps], outcome=outcome,
                      active=StepStarted(key, active, None) if active else None)
    assert host_status(host) == expected


def test_editable_rcpts_hides_the_implied_ones() -> None:
    assert editable_rcpts(build_plan("example.com", helo="probe.test")) == []
    assert editable_rcpts(build_plan("a@example.com", helo="probe.test")) == []
    plan = build_plan("a@example.com", rcpts=["b@example.com"], helo="probe.test")
    assert editable_rcpts(plan) == ["b@example.com"]


def test_replan_keeps_everything_but_the_edited_fields() -> None:
    base = build_plan("example.com", helo="probe.test", mx=["[::1]:2525", "127.0.0.1"],
                      nameservers=["127.0.0.1:5353"], timeout=7, quit_after="mail", port=26)
    plan = replan(base, "other.example", "me@example.org", "x@other.example, y@other.example")
    assert plan.domain == "other.example" and plan.mail_from == "me@example.org"
    assert plan.rcpts == ("x@other.example", "y@other.example")
    assert plan.mx_override == base.mx_override and plan.nameservers == base.nameservers
    assert (plan.helo, plan.port, plan.timeouts, plan.quit_after) == (
        base.helo, base.port, base.timeouts, base.quit_after)
    with pytest.raises(InputError):
        replan(base, "other.example", "", "bad address")


def test_replan_keeps_the_automatic_helo_language_and_rfc_timeouts() -> None:
    base = replace(build_plan("example.com", rfc_timeouts=True, lang="fr"), helo="")
    plan = replan(base, "other.example", "", "")
    assert plan.helo in ("", build_plan("x.test").helo)  # auto stays auto, never an error
    assert plan.lang == "fr" and plan.timeouts == base.timeouts
