"""`tls`: STARTTLS on each MX address, and the certificate it presents.

This check is the one verdict on a session's TLS: not offered, offered but
failed (refused, or a broken handshake, with the reason), or up with the
certificate judged by `probe.core.tls.problems_for` (expired with its date,
not yet valid, self-signed, untrusted issuer, a name other than the MX name,
expiring within 14 days, an old protocol). The session itself raises no
finding for these, so the report says each thing once; the TLS facts
(protocol, cipher, certificate) stay on the host for every view.
"""

from __future__ import annotations

from typing import Any

from .. import tls as certificates
from ..events import CheckResult, Problem, TlsInfo
from ._starttls import starttls_outcome, state_problem
from .base import Check, CheckContext


def facts(info: TlsInfo) -> dict[str, Any]:
    """What the verdict was made of, for the JSON `details`."""
    cert = info.certificate
    found: dict[str, Any] = {"version": info.version, "cipher": info.cipher}
    if cert is not None:
        found.update(subject=cert.subject, issuer=cert.issuer, not_before=cert.not_before,
                     not_after=cert.not_after, days_left=cert.days_left, san=list(cert.san),
                     verify_error=cert.verify_error)
    return found


async def run(ctx: CheckContext) -> CheckResult | None:
    key = ctx.key
    if key is None or key.address is None:
        return None
    session = await ctx.session()
    params: dict[str, Any] = {"host": key.host, "address": key.address}
    outcome = starttls_outcome(session, ctx.plan)
    info = session.tls
    if outcome.state != "up" or info is None:
        problem = state_problem(outcome, session)
        return CheckResult("tls", problem, (problem,), host=key)
    problems = [Problem(code, {**params, **found})
                for code, found in certificates.problems_for(info, session.server_name)]
    cert = info.certificate
    ok = Problem("tls_ok", {**params, "version": info.version, "cipher": info.cipher,
                            "not_after": cert.not_after if cert else ""})
    return CheckResult.judge("tls", problems, ok, details=facts(info), host=key)


CHECK = Check("tls", "host", run)
