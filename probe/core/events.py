"""The events the core emits while it probes.

Every view (plain text, JSON, batch, TUI) is a fold over this stream, so the
dataclasses here are the whole vocabulary between the core and the screen.
They are frozen so a view can keep them without copying; they hold server text
exactly as received (decoded for JSON), never sanitised: sanitising is the
job of the view that writes to a terminal (`probe.sanitize`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from knowledge import Annotation, findings
from knowledge.findings import FindingText
from knowledge.model import STAGES, Stage

from .reply import Reply

__all__ = ["STAGES", "Stage"]  # re-exported: the core's one list of stages

Outcome = Literal["ok", "transient", "permanent"]
Severity = Literal["info", "warning", "error"]
CheckStatus = Literal["pass", "warn", "fail", "none", "error"]
ErrorKind = Literal["timeout", "refused", "closed", "protocol", "tls", "dns", "unreachable",
                    "proxy"]
MxSource = Literal["mx", "implicit", "null", "none", "override"]


@dataclass(frozen=True)
class HostKey:
    """Identifies one session: one address of one MX host on one port.

    `address` is None for an MX host whose name has no A/AAAA record (a
    dangling MX): it still gets a row so the admin sees it.
    """

    host: str
    address: str | None
    port: int
    preference: int | None


@dataclass(frozen=True)
class MxRecord:
    """One mail host. `lookup_error` says why `addresses` is empty, if it is."""

    preference: int | None
    host: str
    addresses: tuple[str, ...]
    host_unicode: str = ""
    lookup_error: str | None = None
    port: int | None = None  # only for --mx HOST:PORT overrides


@dataclass(frozen=True)
class Finding:
    """A problem or observation that is not itself a reply.

    The core says only *what* it found: a catalogue `code` ("null_mx",
    "tls_cert_expired") and the parameters its sentence needs. Severity, the
    sentence, the fix and their translations come from `knowledge.findings`,
    so every view words a finding the same way. `host` is set when it
    belongs to one session.
    """

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    host: HostKey | None = None

    @property
    def severity(self) -> Severity:
        return cast(Severity, findings.severity_of(self.code))

    def text(self, lang: str = "en") -> FindingText:
        return findings.render(self.code, self.params, lang)

    @property
    def message(self) -> str:
        """The English sentence (views that know the language call `text`)."""
        return self.text().message


@dataclass(frozen=True)
class StepError:
    """Why a step has no reply. `reason` refines a `proxy` failure (auth_failed,
    refused, host_unreachable, general_failure, ...): the proxy's answer, not the MX's."""

    kind: ErrorKind
    message: str
    reason: str | None = None


@dataclass(frozen=True)
class Step:
    """One command and what came back (or why nothing complete came back).

    `command` is what may be shown (AUTH lines are redacted), never the
    secret that went on the wire. `informational` marks a step probe took to
    learn about the server (the catch-all RCPT), whose answer never counts
    towards the outcome. `attempt` is 2 for the steps of a greylisting retry.
    """

    stage: Stage
    command: str | None
    reply: Reply | None
    elapsed_ms: float
    annotation: Annotation | None = None
    error: StepError | None = None
    partial: tuple[str, ...] = ()
    informational: bool = False
    attempt: int = 1

    @property
    def rcpt(self) -> str | None:
        """The recipient a RCPT TO step asked about (the path between < and >)."""
        if self.stage != "rcpt" or not self.command:
            return None
        _, opened, rest = self.command.partition("<")
        path, closed, _ = rest.partition(">")
        return path if opened and closed else None


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    not_after: str
    self_signed: bool
    expired: bool
    hostname_match: bool
    verify_error: str | None
    san: tuple[str, ...] = ()
    not_before: str = ""
    not_yet_valid: bool = False
    days_left: int | None = None


@dataclass(frozen=True)
class TlsInfo:
    """The negotiated session; `chain` is the DER of every certificate the server
    presented, leaf first (what DANE and the verdicts are matched against)."""

    version: str
    cipher: str
    certificate: CertificateInfo | None
    chain: tuple[bytes, ...] = ()


_STATUS_RANK: dict[str, int] = {"pass": 0, "none": 1, "error": 2, "warn": 3, "fail": 4}


@dataclass(frozen=True)
class Problem:
    """One thing a health check noticed: a catalogue code whose entry has a `status`."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> CheckStatus:
        return cast(CheckStatus, findings.status_of(self.code))

    def text(self, lang: str = "en") -> FindingText:
        return findings.render(self.code, self.params, lang)


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one health check on the domain or on one host.

    `headline` is the problem that decides the status (the worst one, or the
    check's "all is well" entry); its sentence is the summary and its fix
    the fix. `record` is the DNS record or policy text that was judged, as
    published (untrusted); `details` are JSON-able facts (an include tree, the
    matched TLSA record...).
    """

    check: str
    headline: Problem
    problems: tuple[Problem, ...] = ()
    record: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    host: HostKey | None = None

    @property
    def status(self) -> CheckStatus:
        return self.headline.status

    @property
    def also(self) -> tuple[Problem, ...]:
        """The other problems that need action (warn or fail): a view showing one line per
        check lists them too, so a second broken thing is not hidden behind the first."""
        return tuple(p for p in self.problems
                     if p is not self.headline and p.status in ("warn", "fail"))

    @classmethod
    def judge(cls, check: str, problems: list[Problem] | tuple[Problem, ...], ok: Problem,
              **kwargs: Any) -> CheckResult:
        """The result whose status is the worst problem's (fail > warn > error > none),
        or `ok` when nothing was found."""
        worst = max(problems, key=lambda p: _STATUS_RANK.get(p.status, 2), default=ok)
        return cls(check, worst, tuple(problems), **kwargs)


@dataclass(frozen=True)
class ProbeStarted:
    target: str
    domain: str
    domain_unicode: str
    rcpts: tuple[str, ...]
    mail_from: str
    helo: str


@dataclass(frozen=True)
class MxResolved:
    source: MxSource
    records: tuple[MxRecord, ...]


@dataclass(frozen=True)
class HostStarted:
    key: HostKey


@dataclass(frozen=True)
class StepStarted:
    """Sent before a command goes out, so a live view can show a spinner."""

    key: HostKey
    stage: Stage
    command: str | None


@dataclass(frozen=True)
class StepDone:
    key: HostKey
    step: Step


@dataclass(frozen=True)
class TlsEstablished:
    key: HostKey
    tls: TlsInfo


@dataclass(frozen=True)
class FindingRaised:
    finding: Finding


@dataclass(frozen=True)
class CheckDone:
    """A health check finished (domain checks have `result.host` None)."""

    result: CheckResult


@dataclass(frozen=True)
class RetryScheduled:
    """The host greylisted us: probe waits `seconds`, then runs its session once more
    (the steps of that attempt carry `attempt=2`)."""

    key: HostKey
    seconds: float
    reason: str = "greylisted"


@dataclass(frozen=True)
class HostDone:
    key: HostKey
    outcome: Outcome


@dataclass(frozen=True)
class ProbeDone:
    outcome: Outcome
    exit_code: int


Event = (
    ProbeStarted | MxResolved | HostStarted | StepStarted | StepDone
    | TlsEstablished | FindingRaised | CheckDone | RetryScheduled | HostDone | ProbeDone
)
