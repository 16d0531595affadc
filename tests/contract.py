"""The vocabularies CONTRACT.md fixes, written out once for the tests.

Kept as literals, not imported from `knowledge`, so a change there that
breaks the contract fails the tests instead of silently moving them along.
"""

CATEGORIES = frozenset({
    "ok", "help", "system_status", "user_unknown", "mailbox_full", "mailbox_disabled",
    "user_not_local", "greylisted", "rate_limited", "blocklisted_ip", "bad_reputation",
    "spf_dkim_dmarc_auth", "policy_rejected", "relay_denied", "ptr_rdns_required",
    "helo_rejected", "sender_rejected", "message_too_large", "spam_content", "tls_required",
    "auth_required", "syntax_error", "server_error", "service_unavailable", "other",
})
SEVERITIES = frozenset({"ok", "info", "warning", "transient", "permanent"})
STAGES = frozenset({"connect", "banner", "ehlo", "helo", "help", "starttls", "tls", "mail",
                    "rcpt", "vrfy", "rset", "quit"})
ERROR_KINDS = frozenset({"timeout", "refused", "closed", "protocol", "tls", "dns",
                         "unreachable"})
