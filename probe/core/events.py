"""The events the core emits while it probes.

Every view (plain text, JSON, batch, TUI) is a fold over this stream, so the
dataclasses here are the whole vocabulary between the core and the screen.
They are frozen so a view can keep them without copying; they hold server text
exactly as received (decoded for JSON), never sanitised: sanitising is the
job of the view that writes to a terminal (`probe.sanitize`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from knowledge import Annotation

from .reply import Reply

Stage = Literal[
    "connect", "banner", "ehlo", "helo", "help", "starttls", "tls",
    "mail", "rcpt", "vrfy", "rset", "quit",
]
Outcome = Literal["ok", "transient", "permanent"]
Severity = Literal["info", "warning", "error"]
ErrorKind = Literal["timeout", "refused", "closed", "protocol", "tls", "dns", "unreachable"]
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

    `code` is a stable machine id (e.g. "null_mx", "starttls_injection"); the
    message is plain English. `host` is set when it belongs to one session.
    """

    severity: Severity
    message: str
    code: str = ""
    host: HostKey | None = None


@dataclass(frozen=True)
class StepError:
    kind: ErrorKind
    message: str


@dataclass(frozen=True)
class Step:
    """One command and what came back (or why nothing complete came back)."""

    stage: Stage
    command: str | None
    reply: Reply | None
    elapsed_ms: float
    annotation: Annotation | None = None
    error: StepError | None = None
    partial: tuple[str, ...] = ()


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


@dataclass(frozen=True)
class TlsInfo:
    version: str
    cipher: str
    certificate: CertificateInfo | None


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
class HostDone:
    key: HostKey
    outcome: Outcome


@dataclass(frozen=True)
class ProbeDone:
    outcome: Outcome
    exit_code: int


Event = (
    ProbeStarted | MxResolved | HostStarted | StepStarted | StepDone
    | TlsEstablished | FindingRaised | HostDone | ProbeDone
)
