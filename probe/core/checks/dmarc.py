"""`dmarc`: the DMARC policy that applies to the domain's mail (RFC 7489 §6.6.3).

Receivers look at `_dmarc.DOMAIN`; when it holds no DMARC record they use
the organisational domain's (a subdomain inherits its parent's `sp=`, else
`p=`), and the result says which record applied. Beyond syntax, the check
judges what the policy does: `p=none` only monitors, `pct` below 100
applies it to part of the mail, `sp=`/`np=` may leave subdomains open, and
without `rua=` nobody sees the reports. Report addresses outside the
domain's organisation only receive reports when that domain publishes
`DOMAIN._report._dmarc.DEST` (RFC 7489 §7.1); each is looked up, and so is
whether each report domain can receive mail at all (a typo there loses every
report without a sound).
"""

from __future__ import annotations

import asyncio
from typing import Any

import dns.name

from ..events import CheckResult, Problem
from ..records import dmarc
from ..records.dmarc import DmarcRecord
from ..records.names import same_or_below
from ._dns import lookup, txt
from ._orgdomain import organizational_domain
from .base import Check, CheckContext

MAX_DESTINATIONS = 6
"""External report domains verified at most (each is one TXT query)."""


async def run(ctx: CheckContext) -> CheckResult | None:
    domain = ctx.plan.domain
    org = organizational_domain(domain)
    name = f"_dmarc.{domain}"
    found, texts = await txt(ctx.resolver, name)
    if found.status == "error":
        return CheckResult("dmarc", Problem("dmarc_lookup_failed", {"name": name,
                                                                    "error": found.error}))
    problems = [Problem("dmarc_not_recognised", {"name": name, "text": t[:200]})
                for t in texts if dmarc.looks_like_dmarc(t)][:1]
    records = [t for t in texts if dmarc.is_dmarc(t)]
    inherited = False
    if not records and org and org != domain:
        name = f"_dmarc.{org}"
        found, texts = await txt(ctx.resolver, name)
        if found.status == "error":
            return CheckResult("dmarc", Problem("dmarc_lookup_failed", {
                "name": name, "error": found.error}))
        records = [t for t in texts if dmarc.is_dmarc(t)]
        inherited = bool(records)
    details: dict[str, Any] = {"name": name, "organizational_domain": org,
                               "inherited": inherited}
    if not records:
        missing = Problem("dmarc_missing", {"domain": domain})
        return CheckResult.judge("dmarc", [*problems, missing], missing,
                                 record=problems[0].params["text"] if problems else None,
                                 details=details)
    if len(records) > 1:
        problems.append(Problem("dmarc_multiple", {"name": name, "count": len(records)}))
        return CheckResult.judge("dmarc", problems, problems[-1], record=records[0],
                                 details={**details, "records": records})
    record = dmarc.parse(records[0], name)
    policy_domain = name.removeprefix("_dmarc.")
    policy = (record.policy("sp") or record.policy("p")) if inherited else record.policy("p")
    verdicts = _judge_policy(record, domain, name, policy, inherited)
    destinations = _destinations(record)
    (authorisation, report_problems), (mail, mail_problems) = await asyncio.gather(
        _authorise_reports(ctx, destinations, policy_domain),
        _receive_mail(ctx, destinations, policy_domain))
    details.update({"policy": policy, "pct": record.pct, "tags": record.tags,
                    "rua": [u.text for u in record.rua], "ruf": [u.text for u in record.ruf],
                    "report_authorisation": authorisation, "report_domains_receive_mail": mail})
    params = {"domain": domain, "name": name, "policy": policy or "?"}
    ok = Problem("dmarc_inherited" if inherited else "dmarc_ok", params)
    return CheckResult.judge("dmarc", [*problems, *record.problems, *verdicts,
                                       *mail_problems, *report_problems],
                             ok, record=record.text, details=details)


def _judge_policy(record: DmarcRecord, domain: str, name: str, policy: str | None,
                  inherited: bool) -> list[Problem]:
    """What the (valid or defaulted) policy does for the domain's mail."""
    params = {"domain": domain, "name": name}
    found: list[Problem] = []
    if policy == "none":
        found.append(Problem("dmarc_p_none", params))
    elif policy is not None and record.pct < 100:
        found.append(Problem("dmarc_pct_partial", {**params, "policy": policy,
                                                   "pct": record.pct}))
    if policy in ("quarantine", "reject") and not inherited:
        if record.policy("sp") == "none":
            found.append(Problem("dmarc_sp_none", {**params, "policy": policy}))
        if record.policy("np") == "none":
            found.append(Problem("dmarc_np_none", {**params, "policy": policy}))
    if inherited:
        found.insert(0, Problem("dmarc_inherited", {**params, "policy": policy or "?"}))
    if not record.rua:
        found.append(Problem("dmarc_no_rua", params))
    return found


def _destinations(record: DmarcRecord) -> dict[str, str]:
    """Each report domain (at most MAX_DESTINATIONS) and the first URI naming it."""
    destinations: dict[str, str] = {}
    for uri in (*record.rua, *record.ruf):
        if uri.domain and uri.domain not in destinations:
            destinations[uri.domain] = uri.text
    return dict(list(destinations.items())[:MAX_DESTINATIONS])


async def _authorise_reports(ctx: CheckContext, destinations: dict[str, str],
                             policy_domain: str) -> tuple[dict[str, str], list[Problem]]:
    """Look up `POLICY._report._dmarc.DEST` for each report domain outside the organisation."""
    own = organizational_domain(policy_domain) or policy_domain
    external = [d for d in destinations if not same_or_below(d, own)]
    names = [f"{policy_domain}._report._dmarc.{dest}" for dest in external]
    answers = await asyncio.gather(*(txt(ctx.resolver, n) for n in names))
    status = {d: "internal" for d in destinations if same_or_below(d, own)}
    problems: list[Problem] = []
    for dest, name, (found, texts) in zip(external, names, answers, strict=True):
        params = {"dest": dest, "uri": destinations[dest], "name": name,
                  "domain": policy_domain}
        if found.status == "error":
            status[dest] = "error"
            problems.append(Problem("dmarc_report_check_failed", {**params,
                                                                  "error": found.error}))
        elif any(dmarc.is_dmarc(t) for t in texts):
            status[dest] = "authorised"
        else:
            status[dest] = "not authorised"
            problems.append(Problem("dmarc_report_unauthorised", params))
    return status, problems


async def _receive_mail(ctx: CheckContext, destinations: dict[str, str],
                        policy_domain: str) -> tuple[dict[str, str], list[Problem]]:
    """Can each report domain receive mail at all (MX, else an address; not a null MX)?"""
    verdicts = await asyncio.gather(*(_mail_domain(ctx, dest) for dest in destinations))
    problems = [Problem("dmarc_report_domain_no_mail", {
        "dest": dest, "uri": uri, "domain": policy_domain})
        for (dest, uri), verdict in zip(destinations.items(), verdicts, strict=True)
        if verdict == "no"]
    return dict(zip(destinations, verdicts, strict=True)), problems


async def _mail_domain(ctx: CheckContext, domain: str) -> str:
    """"yes", "no" or "unknown" (a DNS error: not worth a verdict of its own)."""
    mx = await lookup(ctx.resolver, domain, "MX")
    if mx.status == "ok":
        return "no" if all(r.exchange == dns.name.root for r in mx.records) else "yes"
    if mx.status == "nodata":  # RFC 5321 §5.1: the domain's own address is the mail host
        addresses = await asyncio.gather(lookup(ctx.resolver, domain, "A"),
                                         lookup(ctx.resolver, domain, "AAAA"))
        if any(a.status == "ok" for a in addresses):
            return "yes"
        return "unknown" if any(a.status == "error" for a in addresses) else "no"
    return "no" if mx.status == "nxdomain" else "unknown"


CHECK = Check("dmarc", "domain", run)
