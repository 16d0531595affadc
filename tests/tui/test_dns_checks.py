"""The TUI's Health panel with the DNS health checks' real results.

The results come from the real checks run against the loopback DNS server
(the zones of tests/test_health_report.py); the app is fed them as the
runner would emit them, so what is asserted is what an admin sees.
"""

from __future__ import annotations

from probe.core.events import CheckDone, Event, ProbeDone
from probe.tui.widgets.panels import Panel
from tests import dnsserver
from tests.checkrun import run_check
from tests.test_health_report import BROKEN, HOSTILE

from . import fakes
from .conftest import make_app, settle

dns_server = dnsserver.dns_server


async def _events(server, domain: str) -> list[Event]:
    results = [await run_check(name, domain, server) for name in ("spf", "dmarc", "tls_rpt")]
    events = [e for e in fakes.all_accepted() if not isinstance(e, ProbeDone)]
    return [*events, *(CheckDone(r) for r in results), ProbeDone("ok", 0)]


async def test_failing_and_weak_checks_are_listed_with_their_sentence(dns_server):
    events = await _events(dns_server(BROKEN), "broken.test")
    app = make_app(events)
    async with app.run_test(size=(110, 40)) as pilot:
        await settle(pilot)
        text = " ".join(app.query_one("#health", Panel).text.split())
    assert "spf: broken.test's SPF policy ends in +all" in text
    assert "dmarc: the DMARC policy for broken.test" in text
    assert "tls_rpt: the TLS-RPT record of broken.test" in text


async def test_hostile_record_text_is_escaped_in_the_panel(dns_server):
    events = await _events(dns_server(HOSTILE), "hostile.test")
    app = make_app(events)
    async with app.run_test(size=(110, 40)) as pilot:
        await settle(pilot)
        text = app.query_one("#health", Panel).text
    assert "\x1b" not in text and "\x07" not in text
    joined = " ".join(text.split())
    assert "\\x1b]0;PWNED\\x07" in joined
    assert "[red]boom[/red]" in joined  # markup in a record is text, not styling
