"""The shape of an explanation, shared by the probe core and every view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Stage = Literal[
    "connect", "banner", "ehlo", "helo", "help", "starttls", "tls", "auth",
    "mail", "rcpt", "vrfy", "rset", "quit",
]
"""Every step of a session, in the order a session takes them (the one list)."""
STAGES: tuple[Stage, ...] = get_args(Stage)

CATEGORIES: tuple[str, ...] = (
    "ok", "help", "system_status", "user_unknown", "mailbox_full", "mailbox_disabled",
    "user_not_local", "greylisted", "rate_limited", "blocklisted_ip", "bad_reputation",
    "spf_dkim_dmarc_auth", "policy_rejected", "relay_denied", "ptr_rdns_required",
    "helo_rejected", "sender_rejected", "message_too_large", "spam_content", "tls_required",
    "auth_required", "syntax_error", "server_error", "service_unavailable", "other",
)
SEVERITIES: tuple[str, ...] = ("ok", "info", "warning", "transient", "permanent")


@dataclass(frozen=True)
class Annotation:
    """What a reply (or a failed step) means and what to do about it.

    `matched` names the evidence that decided it - "pattern:<id>",
    "enhanced:<x.y.z>", "code:<nnn>@<stage>", "code:<nnn>", "class:<n>",
    "resemblance:<category>", "context:<rule>" or "error:<kind>" - and, when
    weaker evidence of another
    category lost to it, which and why:
    "enhanced:4.2.1 over pattern:generic-service-unavailable (different subject)".
    `enhanced_registered` is False for an enhanced code the IANA registry does
    not list (5.9.9), True for a listed one, None when there is no code.
    """

    category: str
    severity: str
    title: str
    meaning: str
    when: str
    fix: str
    source: str
    matched: str = ""
    code: int | None = None
    enhanced: str | None = None
    enhanced_title: str = ""
    fix_admin: str = ""
    doc_url: str = ""
    lang: str = "en"
    enhanced_registered: bool | None = None

    @property
    def evidence(self) -> str:
        """The winning evidence alone, e.g. "pattern:postfix-user-unknown"."""
        return self.matched.split(" ", 1)[0]


@dataclass(frozen=True)
class Explained:
    """One reply found in text an admin pasted, with its explanation.

    `text` is the reply text without the code prefix (lines joined with "\\n"),
    kept as found so views can echo it (after sanitising); `stage` is what the
    surrounding log said the reply answered ("in reply to RCPT TO"), if anything;
    `recipient` whom the log line says it was for (`to=<...>`), if anything.
    """

    code: int | None
    enhanced: str | None
    text: str
    annotation: Annotation
    stage: str | None = None
    recipient: str | None = None


@dataclass(frozen=True)
class CodeFacts:
    """What `compare` knows about one side: the annotation plus the facets it diffs.

    The facets (class, retry, actor, stages, use_when) are already rendered as
    sentences in the requested language, so views only lay them out.
    """

    code: str
    kind: str  # "basic" or "enhanced"
    class_digit: int | None
    class_name: str
    annotation: Annotation
    retry: str
    actor: str
    stages: tuple[str, ...]
    use_when: str


@dataclass(frozen=True)
class Comparison:
    """Two codes side by side, with differences generated from the data."""

    a: CodeFacts
    b: CodeFacts
    differences: tuple[str, ...]
    which_when: tuple[str, ...]
    lang: str = "en"
