"""`tls_rpt`: where sending MTAs report TLS failures for this domain (RFC 8460).

A `_smtp._tls` TXT record asks senders to report failed TLS sessions
(STARTTLS refused, certificate or MTA-STS/DANE mismatches): without it an
admin learns of broken TLS only from missing mail. It is optional, so a
missing record is `none`; a broken one is `fail`, because senders then
treat the domain as not using TLS-RPT at all.
"""

from __future__ import annotations

from ..events import CheckResult, Problem
from ..records import tlsrpt
from ._dns import txt
from .base import Check, CheckContext


async def run(ctx: CheckContext) -> CheckResult | None:
    domain = ctx.plan.domain
    name = f"_smtp._tls.{domain}"
    found, texts = await txt(ctx.resolver, name)
    params = {"domain": domain, "name": name}
    if found.status == "error":
        return CheckResult("tls_rpt", Problem("tls_rpt_lookup_failed", {
            **params, "error": found.error}))
    records = [t for t in texts if tlsrpt.is_tlsrpt(t)]
    near = [t for t in texts if tlsrpt.looks_like_tlsrpt(t)]
    details = {"name": name}
    if not records and near:
        return CheckResult("tls_rpt", Problem("tls_rpt_not_recognised", {
            **params, "text": near[0][:200]}), record=near[0], details=details)
    if not records:
        return CheckResult("tls_rpt", Problem("tls_rpt_missing", params), details=details)
    if len(records) > 1:
        return CheckResult("tls_rpt", Problem("tls_rpt_multiple", {
            **params, "count": len(records)}), record=records[0],
            details={**details, "records": records})
    record = tlsrpt.parse(records[0], domain)
    ok = Problem("tls_rpt_ok", {**params, "rua": ", ".join(record.rua)})
    return CheckResult.judge("tls_rpt", list(record.problems), ok, record=record.text,
                             details={**details, "rua": list(record.rua)})


CHECK = Check("tls_rpt", "domain", run)
