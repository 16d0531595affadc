"""The transcript: a fold over the event stream.

JSON output, the plain report and the TUI all need the same picture of a run
(hosts in preference order, their steps, TLS details, findings, the verdict).
Folding events into a `Report` in one place keeps those views thin and lets
tests check the picture without sockets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .events import (
    CheckDone,
    CheckResult,
    Event,
    Finding,
    FindingRaised,
    HostDone,
    HostKey,
    HostStarted,
    MxResolved,
    Outcome,
    ProbeDone,
    ProbeStarted,
    RetryScheduled,
    Step,
    StepDone,
    StepStarted,
    TlsEstablished,
    TlsInfo,
)
from .verdict import judge_steps


@dataclass
class HostReport:
    key: HostKey
    steps: list[Step] = field(default_factory=list)
    tls: TlsInfo | None = None
    outcome: Outcome | None = None
    findings: list[Finding] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    active: StepStarted | None = None  # the step waiting for its reply, if any
    retry: RetryScheduled | None = None  # a greylisting retry was (or is being) waited for
    _verdicts: tuple[Outcome, ...] = field(default=(), repr=False)
    _rcpt_index: dict[str, int] = field(default_factory=dict, repr=False)
    _rcpt_seen: int = field(default=0, repr=False)

    @property
    def verdicts(self) -> tuple[Outcome, ...]:
        """The verdict's outcome of each step (judged once per new step, never by a view)."""
        if len(self._verdicts) != len(self.steps):
            self._verdicts = judge_steps(self.steps)
        return self._verdicts

    def rcpt_step(self, rcpt: str) -> int | None:
        """Index of the last RCPT TO step that asked about `rcpt`, if any.

        Indexed as steps arrive (each step looked at once), because a live view
        asks after every batch of events and a session may hold many steps.
        """
        for index in range(self._rcpt_seen, len(self.steps)):
            asked = self.steps[index].rcpt
            if asked is not None:
                self._rcpt_index[asked] = index
        self._rcpt_seen = len(self.steps)
        return self._rcpt_index.get(rcpt)

    def problems(self) -> list[int]:
        """Indexes of the steps an admin has to act on (outcome other than ok)."""
        return [i for i, outcome in enumerate(self.verdicts) if outcome != "ok"]


@dataclass
class Report:
    started: ProbeStarted | None = None
    mx: MxResolved | None = None
    hosts: dict[HostKey, HostReport] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)  # domain checks
    done: ProbeDone | None = None

    def host(self, key: HostKey) -> HostReport:
        if key not in self.hosts:
            self.hosts[key] = HostReport(key)
        return self.hosts[key]

    def feed(self, event: Event) -> None:
        """Apply one event. Events for unknown hosts create them, so order is forgiving."""
        match event:
            case ProbeStarted():
                self.started = event
            case MxResolved():
                self.mx = event
            case HostStarted(key=key):
                self.host(key)
            case StepStarted(key=key):
                self.host(key).active = event
            case RetryScheduled(key=key):
                self.host(key).retry = event
            case StepDone(key=key, step=step):
                host = self.host(key)
                host.steps.append(step)
                host.active = None
            case TlsEstablished(key=key, tls=tls):
                self.host(key).tls = tls
            case FindingRaised(finding=finding):
                if finding.host is None:
                    self.findings.append(finding)
                else:
                    self.host(finding.host).findings.append(finding)
            case CheckDone(result=result):
                checks = self.checks if result.host is None else self.host(result.host).checks
                checks.append(result)
                checks.sort(key=lambda c: c.check)  # completion order is not display order
            case HostDone(key=key, outcome=outcome):
                host = self.host(key)
                host.outcome = outcome
                host.active = None
            case ProbeDone():
                self.done = event

    def all_checks(self) -> list[CheckResult]:
        """Domain checks, then every host's, in display order."""
        results = list(self.checks)
        for host in self.ordered_hosts():
            results += host.checks
        return results

    def ordered_hosts(self) -> list[HostReport]:
        """Hosts in MX preference order, then by name and address, for display."""
        return sorted(
            self.hosts.values(),
            key=lambda h: (
                h.key.preference if h.key.preference is not None else -1,
                h.key.host, h.key.address or "", h.key.port,
            ),
        )

