"""The shape of an explanation, shared by the probe core and every view."""

from __future__ import annotations

from dataclasses import dataclass

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

    `matched` names the evidence that decided it, most specific first:
    "pattern:<id>", "enhanced:<x.y.z>", "code:<nnn>@<stage>" or "code:<nnn>".
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
