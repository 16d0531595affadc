"""The transcript fold: the one picture of a run every view draws from."""

from knowledge import explain_reply
from probe.core.events import (
    Finding,
    FindingRaised,
    HostDone,
    HostKey,
    HostStarted,
    ProbeDone,
    Step,
    StepDone,
    StepStarted,
)
from probe.core.reply import frame
from probe.core.transcript import Report

MX20 = HostKey("mx2.x.test", "192.0.2.20", 25, 20)
MX10 = HostKey("mx1.x.test", "192.0.2.10", 25, 10)


def test_hosts_come_out_in_preference_order_and_findings_attach_to_their_host():
    (reply,) = frame(b"250 ok\r\n").replies
    report = Report()
    for event in [
        HostStarted(MX20), HostStarted(MX10),
        StepStarted(MX10, "rcpt", "RCPT TO:<a@x.test>"),
        FindingRaised(Finding("postmaster_rejected", {"rcpt": "postmaster@x.test"}, MX10)),
        FindingRaised(Finding("implicit_mx", {"domain": "x.test"})),
    ]:
        report.feed(event)
    assert [h.key for h in report.ordered_hosts()] == [MX10, MX20]
    assert report.hosts[MX10].active is not None
    step = Step("rcpt", "RCPT TO:<a@x.test>", reply, 1.0, explain_reply(250, "ok", "rcpt"))
    report.feed(StepDone(MX10, step))
    report.feed(HostDone(MX10, "ok"))
    report.feed(ProbeDone("ok", 0))
    host = report.hosts[MX10]
    assert host.active is None and host.steps == [step] and host.outcome == "ok"
    assert [f.code for f in host.findings] == ["postmaster_rejected"]
    assert [f.code for f in report.findings] == ["implicit_mx"]
    assert report.done == ProbeDone("ok", 0)
