"""`mta_sts`: the domain's MTA-STS record and policy, judged against the MX hosts it must cover.

In the order a sender meets them (RFC 8461): the `_mta-sts` TXT record, the
policy fetched over HTTPS from the address our resolver gives for
`mta-sts.DOMAIN` (certificate verified, no redirects, size and time
bounded), the policy's syntax, mode and max_age, then what no other tool
says: which MX host no `mx:` pattern covers, and, once every session ended,
which MX address presents a certificate (or no TLS at all) that a sender
enforcing the policy would refuse. The certificate verdicts are the `tls`
check's (`probe.core.tls.problems_for`), so the two never disagree.
"""

from __future__ import annotations

from typing import Any

from .. import https_get
from .. import mta_sts as sts
from .. import tls as certificates
from ..events import CheckResult, Problem
from ._dns import addresses, txt
from ._starttls import starttls_outcome, state_problem
from .base import Check, CheckContext, SessionResult

POLICY_PATH = "/.well-known/mta-sts.txt"
MAX_POLICY_BYTES = 64 * 1024  # RFC 8461 §3.3 suggests senders cap the policy at 64 KiB
SHORT_MAX_AGE = 604800  # a week: RFC 8461 §3.2 expects "weeks or greater"
_NO_TLS = ("not_offered", "refused", "failed")
_FETCH_CODES = {"certificate": "mta_sts_policy_certificate"}


class _Verdict(Exception):
    """Stop judging: `problem` decides the result (a broken record or an unreachable policy)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


async def _record(ctx: CheckContext, params: dict[str, Any]) -> tuple[str, str] | None:
    """The one `v=STSv1` TXT record and its id; None when there is none."""
    answer, texts = await txt(ctx.resolver, f"_mta-sts.{ctx.plan.domain}")
    if answer.status == "error":
        raise _Verdict(Problem("mta_sts_lookup_failed", {**params, "error": answer.error}))
    records = [t for t in texts if t.startswith(sts.TXT_VERSION)]
    if not records:
        return None
    if len(records) > 1:
        raise _Verdict(Problem("mta_sts_txt_multiple", {**params, "count": len(records)}))
    parsed = sts.parse_record(records[0])
    if parsed.issues or parsed.id is None:
        issue = parsed.issues[0]
        raise _Verdict(Problem(issue.code, {**params, "part": issue.part}))
    return records[0], parsed.id


async def _fetch(ctx: CheckContext, params: dict[str, Any]) -> https_get.Fetched:
    name = f"mta-sts.{ctx.plan.domain}"
    answer = await addresses(ctx.resolver, name)
    if answer.status == "error":
        raise _Verdict(Problem("mta_sts_policy_dns_failed", {**params, "error": answer.error}))
    found = list(answer.records)
    if not found:
        raise _Verdict(Problem("mta_sts_policy_no_address", params))
    # Half the check's time: a server that never answers is this check's "fail",
    # not the runner's "could not finish".
    try:
        return await https_get.get(name, found, POLICY_PATH, port=ctx.plan.https_port,
                                   extra_ca_file=ctx.plan.tls_ca_file,
                                   timeout=ctx.plan.timeouts.check / 2,
                                   max_bytes=MAX_POLICY_BYTES)
    except https_get.FetchFailed as failed:
        code = _FETCH_CODES.get(failed.kind, "mta_sts_policy_unreachable")
        raise _Verdict(Problem(code, {**params, "error": failed.reason})) from None


def _response_problems(fetched: https_get.Fetched, params: dict[str, Any]) -> list[Problem]:
    """HTTP-level problems; raises _Verdict when there is no policy to read."""
    if 300 <= fetched.status < 400:
        raise _Verdict(Problem("mta_sts_policy_redirect", {
            **params, "status": fetched.status, "location": fetched.location[:200] or "-"}))
    if fetched.status != 200:
        raise _Verdict(Problem("mta_sts_policy_http_status", {**params,
                                                              "status": fetched.status}))
    if fetched.body is None:
        raise _Verdict(Problem("mta_sts_policy_too_large", {**params,
                                                            "kib": MAX_POLICY_BYTES // 1024}))
    media_type = fetched.content_type.split(";", 1)[0].strip().lower()
    if media_type != "text/plain":
        return [Problem("mta_sts_policy_content_type", {
            **params, "content_type": fetched.content_type[:100] or "none"})]
    return []


def _refusals(sessions: tuple[SessionResult, ...], ctx: CheckContext,
              hosts: set[str]) -> list[str]:
    """MX addresses (of `hosts`) whose TLS a sender enforcing MTA-STS would refuse, each
    with the reason in the tls check's words."""
    lang = ctx.plan.lang
    refused: list[str] = []
    for session in sessions:
        key = session.key
        if key.host.lower().rstrip(".") not in hosts:
            continue
        params = {"host": key.host, "address": key.address}
        outcome = starttls_outcome(session, ctx.plan)
        reasons: list[Problem] = []
        if outcome.state in _NO_TLS:
            reasons.append(state_problem(outcome, session))
        elif session.tls is not None:
            reasons += [Problem(code, {**params, **found}) for code, found
                        in certificates.problems_for(session.tls, session.server_name)
                        if code in certificates.REFUSED_BY_VERIFYING_SENDERS]
        if reasons:
            refused.append(f"{key.host} [{key.address}]: {reasons[0].text(lang).message}")
    return refused


async def _judge(ctx: CheckContext, params: dict[str, Any], details: dict[str, Any]
                 ) -> tuple[Problem, list[Problem]]:
    found = await _record(ctx, params)
    if found is None:
        return Problem("mta_sts_none", params), []
    record, policy_id = found
    details.update(record=record, id=policy_id)
    fetched = await _fetch(ctx, params)
    details["fetched_from"] = fetched.address
    problems = _response_problems(fetched, params)
    assert fetched.body is not None  # _response_problems stops on a missing body
    text = fetched.body.decode("utf-8", "backslashreplace")
    details["policy"] = text
    policy = sts.parse_policy(text)
    details.update(mode=policy.mode, max_age=policy.max_age, mx=policy.mx)
    if policy.issues:
        issue = policy.issues[0]
        raise _Verdict(Problem(issue.code, {**params, "part": issue.part}))
    if policy.mode == "none":
        return Problem("mta_sts_mode_none", params), problems
    enforce = policy.mode == "enforce"
    if not enforce:
        problems.append(Problem("mta_sts_testing", params))
    elif policy.max_age is not None and policy.max_age < SHORT_MAX_AGE:
        problems.append(Problem("mta_sts_max_age_short", {**params, "max_age": policy.max_age}))

    mx_hosts = [r.host.lower().rstrip(".") for r in ctx.discovery.records]
    uncovered = [h for h in mx_hosts if not sts.covered(policy.mx, h)]
    details["uncovered"] = uncovered
    if uncovered:
        code = "mta_sts_mx_uncovered" if enforce else "mta_sts_mx_uncovered_testing"
        problems.append(Problem(code, {**params, "hosts": ", ".join(uncovered),
                                       "patterns": ", ".join(policy.mx)}))
    refused = _refusals(await ctx.all_sessions(), ctx, set(mx_hosts) - set(uncovered))
    details["refused"] = refused
    if refused:
        code = "mta_sts_mx_tls_fails" if enforce else "mta_sts_mx_tls_fails_testing"
        problems.append(Problem(code, {**params, "hosts": "; ".join(refused)}))
    ok = Problem("mta_sts_ok", {**params, "id": policy_id, "max_age": policy.max_age})
    return ok, problems


async def run(ctx: CheckContext) -> CheckResult | None:
    domain = ctx.plan.domain
    if not domain or ctx.discovery.outcome is not None or not ctx.discovery.records:
        return None  # no mail host (null MX, NXDOMAIN, DNS failure): nothing to protect
    params: dict[str, Any] = {"domain": domain,
                              "url": f"https://mta-sts.{domain}{POLICY_PATH}"}
    details: dict[str, Any] = {}
    try:
        ok, problems = await _judge(ctx, params, details)
    except _Verdict as verdict:
        ok, problems = verdict.problem, [verdict.problem]
    return CheckResult.judge("mta_sts", problems, ok, record=details.get("record"),
                             details=details)


CHECK = Check("mta_sts", "domain", run)
