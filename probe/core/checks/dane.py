"""`dane`: the TLSA records of each MX host matched against the chain each address presented.

The lookup of `_PORT._tcp.MX` (port 25 unless --port says otherwise) starts
with the session and asks for the AD bit: records a validating resolver did
not vouch for are ignored by senders, and the check says so instead of
matching them. Validated records are matched by `probe.core.dane` against the
chain the session saw, and the result names the record that matched, or the
record the admin could publish for the certificate in use. Each address is
judged on its own: one host of a pool serving a stale certificate is exactly
the failure DANE senders hit.
"""

from __future__ import annotations

from typing import Any

from dns.rdtypes.ANY.TLSA import TLSA

from .. import dane
from ..events import CheckResult, Problem
from ..plan import is_ip
from ._dns import lookup
from ._starttls import starttls_outcome
from .base import Check, CheckContext

MAX_RECORDS_SHOWN = 8


def _records(rdatas: tuple[Any, ...]) -> list[dane.Tlsa]:
    return [dane.Tlsa(r.usage, r.selector, r.mtype, bytes(r.cert))
            for r in rdatas if isinstance(r, TLSA)]


def _shown(records: list[dane.Tlsa]) -> str:
    text = "; ".join(r.text(16) for r in records[:MAX_RECORDS_SHOWN])
    extra = len(records) - MAX_RECORDS_SHOWN
    return text + (f"; +{extra}" if extra > 0 else "")


async def run(ctx: CheckContext) -> CheckResult | None:
    key = ctx.key
    if key is None or key.address is None or is_ip(key.host):
        return None  # an address typed with --mx has no name to publish TLSA under
    owner = f"_{key.port}._tcp.{key.host.rstrip('.')}"
    params: dict[str, Any] = {"host": key.host, "address": key.address, "owner": owner}
    answer = await lookup(ctx.resolver, owner, "TLSA", dnssec=True)
    if answer.status == "error":
        return CheckResult("dane", Problem("dane_lookup_failed", {**params,
                                                                  "error": answer.error}),
                           host=key)
    records = _records(answer.records)
    if not records:
        return CheckResult("dane", Problem("dane_none", params), host=key)
    params["records"] = _shown(records)
    details: dict[str, Any] = {"owner": owner, "tlsa": [r.text(limit=1 << 16) for r in records],
                               "authenticated": answer.authenticated}
    record_text = "\n".join(details["tlsa"])

    def result(code: str, **extra: Any) -> CheckResult:
        problem = Problem(code, {**params, **extra})
        return CheckResult("dane", problem, (problem,), record=record_text, details=details,
                           host=key)

    if not answer.authenticated:
        return result("dane_unauthenticated")
    session = await ctx.session()
    chain = session.tls.chain if session.tls is not None else ()
    suggested = dane.suggestions(chain)
    details["suggested"] = [r.text(limit=1 << 16) for r in suggested]
    params["suggested"] = suggested[0].text(limit=1 << 16) if suggested else "3 1 1 <sha256>"
    usable = [r for r in records if r.usable]
    if not usable:
        return result("dane_no_usable")
    outcome = starttls_outcome(session, ctx.plan)
    if outcome.state == "not_offered":
        return result("dane_no_starttls")
    if outcome.state in ("refused", "failed"):
        return result("dane_tls_failed", error=outcome.reply or outcome.error)
    if not chain:
        return result("dane_not_checked")
    found = dane.match(usable, chain, session.server_name)
    if found.record is not None:
        details["matched"] = found.record.text(limit=1 << 16)
        details["matched_depth"] = found.depth
        ok = Problem("dane_ok", {**params, "record": found.record.text(16)})
        return CheckResult("dane", ok, record=record_text, details=details, host=key)
    problems = [Problem(code, {**params, "record": record.text(16)})
                for code, record in found.failures]
    if not problems:
        problems.append(Problem("dane_mismatch", params))
    return CheckResult.judge("dane", problems, problems[0], record=record_text,
                             details=details, host=key)


CHECK = Check("dane", "host", run)
