"""One decision, many views: every view shows the verdict's outcomes and the same sections.

One real run (a scripted server: EHLO refused then HELO accepted, HELP
refused, one unknown and one greylisted recipient) is rendered by the JSON
document, the plain report, the TUI and `probe explain`; each view's idea of
which steps are problems, and of what an annotation says, is read back from
its own output and compared.
"""

from __future__ import annotations

import re

from knowledge import explain_text
from probe.core.plan import build_plan
from probe.core.runner import run_probe
from probe.core.transcript import Report
from probe.present.annotation import annotation_dict, sections
from probe.present.json_report import to_json
from probe.present.text_report import Style, render_report
from probe.present.wrap import cells
from tests.smtpserver import Scripted, dialog
from tests.tui.conftest import make_app, settle

REPLIES = {
    "EHLO": b"554 5.5.1 EHLO not accepted here\r\n",
    "HELO": b"250 mx.test\r\n",
    "HELP": b"502 5.5.2 no help for you\r\n",
    "RCPT:nobody@x.test": b"550 5.1.1 <nobody@x.test>: Recipient address rejected: "
                          b"User unknown in local recipient table\r\n",
    "RCPT:grey@x.test": b"450 4.7.1 <grey@x.test>: Recipient address rejected: Greylisted, "
                        b"see http://postgrey.schweikert.ch/help/x.test.html\r\n",
}


async def _events(lang: str = "en") -> list:
    async with Scripted(dialog(replies=REPLIES)) as server:
        plan = build_plan("x.test", mx=[server.mx], helo="probe.test", lang=lang,
                          rcpts=["nobody@x.test", "grey@x.test"])
        return [event async for event in run_probe(plan)]


def _report(events: list) -> Report:
    report = Report()
    for event in events:
        report.feed(event)
    return report


def _plain_problems(text: str) -> list[str]:
    """Commands whose step in the plain report carries a full explanation."""
    blocks = re.split(r"\n(?=-> )", text.split("\n== ", 1)[1])
    return [block.splitlines()[0].split("  ")[0][3:] for block in blocks
            if "\n   Description: " in block]


async def test_every_view_agrees_on_the_problems_and_the_sections():
    events = await _events()
    report = _report(events)
    (host,) = to_json(report)["hosts"]
    json_problems = [s["command"] for s in host["steps"] if s["outcome"] != "ok"]
    assert json_problems == ["RCPT TO:<nobody@x.test>", "RCPT TO:<grey@x.test>"]

    plain = render_report(report)
    assert _plain_problems(plain) == json_problems

    app = make_app(events)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        first = app.transcript.selected_step  # the TUI lands on the first problem
        assert first is not None and first.command == json_problems[0]
        await pilot.press("f")
        second = app.transcript.selected_step
        assert second is not None and second.command == json_problems[1]

    # The 550's annotation: the JSON dict, the plain sections and `explain` are one thing.
    rcpt = next(s for s in host["steps"] if s["command"] == json_problems[0])
    (explained,) = explain_text("550 5.1.1 <nobody@x.test>: Recipient address rejected: User "
                                "unknown in local recipient table (in reply to RCPT TO "
                                "command)")
    assert annotation_dict(explained.annotation) == rcpt["annotation"]
    shown = plain[plain.index("-> " + json_problems[0]):]
    positions = [shown.index(f"   {section.label}: ")
                 for section in sections(explained.annotation, "en")]
    assert positions == sorted(positions)  # same sections, same order


async def test_plain_chinese_report_fits_the_width():
    report = _report(await _events("zh"))
    for width in (80, 60):
        text = render_report(report, Style(lang="zh", width=width))
        too_wide = [line for line in text.splitlines() if cells(line) > width
                    and not re.fullmatch(r"\s*(\S+: )?\S+://\S+", line)]
        assert not too_wide, too_wide
    assert "说明" in render_report(report, Style(lang="zh"))
