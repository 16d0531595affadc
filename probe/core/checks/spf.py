"""`spf`: the domain's SPF record, judged the way receivers evaluate it (RFC 7208).

One `v=spf1` TXT record, valid syntax, a strict `all`, and at most 10
DNS-querying terms and 2 void lookups across every `include` and `redirect`
(§4.6.4): past those limits receivers return "permerror" and SPF fails for
all of the domain's mail. The include tree is walked as a receiver would
(terms after `all` are never reached, `redirect` only without `all`), with
each target fetched once, concurrently, under a budget of records and
queries so a hostile tree cannot make the check flood DNS. Targets with
macros depend on the message and are counted but not followed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import dns.asyncresolver

from ..events import CheckResult, Problem
from ..records import spf
from ._dns import Lookup, lookup, txt, txt_texts
from .base import Check, CheckContext

LOOKUP_LIMIT = 10  # RFC 7208 §4.6.4
VOID_LIMIT = 2  # RFC 7208 §4.6.4
MX_ADDRESS_LIMIT = 10  # RFC 7208 §4.6.4: an mx mechanism may not name more hosts
UDP_SIZE_HINT = 450  # RFC 7208 §3.4: keep the answer within a 512-byte UDP reply
MAX_RECORDS = 40
"""Include/redirect targets fetched at most: far past the limit, the verdict is known."""
MAX_QUERIES = 80
"""DNS queries at most, every kind together."""
FOLLOW_UNTIL = 2 * LOOKUP_LIMIT
"""Stop following targets once this many lookups are counted (fail is certain)."""
CONCURRENCY = 6
MAX_TREE_RECORD = 2048
"""Characters of each record kept in the include tree (the top record is kept whole)."""
MAX_PROBLEMS = 40


@dataclass
class _Node:
    domain: str
    via: str  # "top", "include" or "redirect"
    record: spf.SpfRecord | None = None
    note: str | None = None  # why there is no record: missing, multiple, loop, macro...
    children: list[_Node] = field(default_factory=list)
    void: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # found here (kept in tree order)

    def total(self) -> int:
        own = self.record.lookups if self.record else 0
        return own + sum(child.total() for child in self.children)

    def effective_all(self) -> spf.Term | None:
        """The `all` that ends evaluation: this record's, or its redirect target's."""
        if self.record is None:
            return None
        if self.record.all_term is not None:
            return self.record.all_term
        redirect = next((c for c in self.children if c.via == "redirect"), None)
        return redirect.effective_all() if redirect else None

    def walk(self) -> list[_Node]:
        nodes = [self]
        for child in self.children:
            nodes.extend(child.walk())
        return nodes

    def to_json(self) -> dict[str, Any]:
        text = self.record.text if self.record else None
        if text is not None and self.via != "top" and len(text) > MAX_TREE_RECORD:
            text = text[:MAX_TREE_RECORD] + "…"
        return {"domain": self.domain, "via": self.via, "record": text,
                "lookups": self.record.lookups if self.record else 0,
                "total_lookups": self.total(), "void": list(self.void), "note": self.note,
                "children": [child.to_json() for child in self.children]}


class _Walker:
    """Follows include/redirect targets with one budget and one cache per check."""

    def __init__(self, resolver: dns.asyncresolver.Resolver) -> None:
        self.resolver = resolver
        self.queries = 0
        self.records = 0
        self.counted = 0
        self.complete = True
        self._gate = asyncio.Semaphore(CONCURRENCY)
        self._cache: dict[tuple[str, str], asyncio.Task[Lookup]] = {}

    async def ask(self, name: str, rdtype: str) -> Lookup | None:
        """One query through the cache; None once the query budget is spent."""
        key = (name.lower().rstrip("."), rdtype)
        if key not in self._cache:
            if self.queries >= MAX_QUERIES:
                self.complete = False
                return None
            self.queries += 1
            self._cache[key] = asyncio.ensure_future(self._limited(key[0], rdtype))
        return await self._cache[key]

    async def _limited(self, name: str, rdtype: str) -> Lookup:
        async with self._gate:
            return await lookup(self.resolver, name, rdtype)

    async def visit(self, node: _Node, text: str, path: frozenset[str]) -> None:
        record = spf.parse(text, node.domain)
        node.record = record
        self.counted += record.lookups
        node.problems.extend(record.problems)
        work = []
        for term in record.evaluated:
            if term.name == "include" and term.target is not None:
                work.append(self.follow(node, term, "include", path))
            elif term.name in ("a", "mx", "exists") and not term.macro:
                work.append(self.void_check(node, term))
        if record.redirect is not None and record.redirect.target is not None:
            work.append(self.follow(node, record.redirect, "redirect", path))
        # void names in the order of the terms, however the answers arrived
        node.void = [name for name in await asyncio.gather(*work) if name]

    async def follow(self, parent: _Node, term: spf.Term, via: str,
                     path: frozenset[str]) -> str | None:
        """Fetch and visit an include/redirect target; its name when the lookup was void."""
        target = str(term.target)
        child = _Node(target, via)
        parent.children.append(child)
        key = target.lower().rstrip(".")
        params = {"domain": parent.domain, "target": target, "kind": via}
        if term.macro:
            child.note = "macro"
            return None
        if key in path:
            child.note = "loop"
            child.problems.append(Problem("spf_loop", params))
            return None
        if self.records >= MAX_RECORDS or self.counted > FOLLOW_UNTIL:
            child.note = "not_followed"
            self.complete = False
            return None
        self.records += 1
        found = await self.ask(target, "TXT")
        if found is None:
            child.note = "not_followed"
            return None
        if found.status == "error":
            child.note = "dns_error"
            child.problems.append(Problem("spf_target_lookup_failed", {**params,
                                                                       "error": found.error}))
            return None
        records = [t for t in txt_texts(found) if spf.is_spf(t)]
        if not records:
            child.note = "missing"
            child.problems.append(Problem("spf_target_missing", params))
        elif len(records) > 1:
            child.note = "multiple"
            child.problems.append(Problem("spf_multiple", {"domain": target,
                                                           "count": len(records)}))
        else:
            await self.visit(child, records[0], path | {key})
        return target if found.void else None

    async def void_check(self, node: _Node, term: spf.Term) -> str | None:
        """Does an a/mx/exists target resolve? Its name when not (a void lookup)."""
        name = term.target or node.domain
        if term.name == "mx":
            found = await self.ask(name, "MX")
            if found is not None and len(found.records) > MX_ADDRESS_LIMIT:
                node.problems.append(Problem("spf_mx_too_many", {
                    "domain": node.domain, "target": name, "count": len(found.records)}))
        else:
            found = await self.ask(name, "A")
            if found is not None and found.void and term.name == "a":
                # a mechanism is void only when the name has no address of either family
                found = await self.ask(name, "AAAA")
        return name if found is not None and found.void else None


async def _obsolete_record(resolver: dns.asyncresolver.Resolver, domain: str) -> bool:
    """Whether `domain` still publishes an SPF-type (99) record.

    Asked beside the TXT query and given one try: some servers drop queries
    for this old type, and that must not eat the check's deadline.
    """
    try:
        async with asyncio.timeout(resolver.timeout + 0.5):
            return bool((await lookup(resolver, domain, "SPF")).records)
    except TimeoutError:
        return False


async def run(ctx: CheckContext) -> CheckResult | None:
    domain = ctx.plan.domain
    (found, texts), obsolete = await asyncio.gather(txt(ctx.resolver, domain),
                                                    _obsolete_record(ctx.resolver, domain))
    if found.status == "error":
        return CheckResult("spf", Problem("spf_lookup_failed", {"domain": domain,
                                                                "error": found.error}))
    records = [t for t in texts if spf.is_spf(t)]
    type99 = [Problem("spf_type99", {"domain": domain})] if obsolete else []
    if not records:
        near = [t for t in texts if spf.looks_like_spf(t)]
        if near:
            return CheckResult.judge("spf", [Problem("spf_not_recognised", {
                "domain": domain, "text": near[0][:200]}), *type99], Problem("spf_missing", {
                    "domain": domain}), record=near[0])
        return CheckResult.judge("spf", [Problem("spf_missing", {"domain": domain}), *type99],
                                 Problem("spf_missing", {"domain": domain}))
    if len(records) > 1:
        return CheckResult.judge("spf", [Problem("spf_multiple", {
            "domain": domain, "count": len(records)}), *type99], Problem("spf_missing", {
                "domain": domain}), record=records[0], details={"records": records})

    walker = _Walker(ctx.resolver)
    top = _Node(domain, "top")
    await walker.visit(top, records[0], frozenset({domain.lower()}))
    return _judge(domain, top, walker, type99)


def _judge(domain: str, top: _Node, walker: _Walker, type99: list[Problem]) -> CheckResult:
    assert top.record is not None
    own = top.problems  # the record's own syntax first, then what it does, then its targets
    others = [p for node in top.walk()[1:] for p in node.problems]
    verdicts: list[Problem] = []
    final = top.effective_all()
    shown_all = final.text if final else "(none)"
    if final is None and top.record.redirect is None:
        verdicts.append(Problem("spf_no_all", {"domain": domain}))
    elif final is not None and final.qualifier == "+":
        verdicts.append(Problem("spf_plus_all", {"domain": domain, "term": final.text}))
    elif final is not None and final.qualifier == "?":
        verdicts.append(Problem("spf_neutral_all", {"domain": domain, "term": final.text}))
    for node in top.walk():
        for child in node.children:
            reached = child.effective_all()
            if child.via == "include" and reached is not None and reached.qualifier == "+":
                verdicts.append(Problem("spf_include_pass_all", {
                    "domain": node.domain, "target": child.domain, "term": reached.text}))
    total = top.total()
    shown_total = str(total) if walker.complete else f"at least {total}"
    if total > LOOKUP_LIMIT:
        verdicts.append(Problem("spf_too_many_lookups", {"domain": domain,
                                                         "count": shown_total}))
    voids = [name for node in top.walk() for name in node.void]
    names = ", ".join(voids[:8])
    if len(voids) > VOID_LIMIT:
        verdicts.append(Problem("spf_too_many_void", {"domain": domain, "count": len(voids),
                                                      "names": names}))
    elif voids:
        verdicts.append(Problem("spf_void_lookups", {"domain": domain, "count": len(voids),
                                                     "names": names}))
    size = len(top.record.text.encode("utf-8", "surrogateescape"))
    if size > UDP_SIZE_HINT:
        verdicts.append(Problem("spf_too_long", {"domain": domain, "size": size}))
    problems = (own + verdicts + others + type99)[:MAX_PROBLEMS]
    details = {"lookups": total, "lookup_limit": LOOKUP_LIMIT,
               "lookups_complete": walker.complete, "void_lookups": len(voids),
               "void_limit": VOID_LIMIT, "void_names": voids, "all": final.text if final else None,
               "syntax_errors": sum(n.record.syntax_errors for n in top.walk() if n.record),
               "dns_queries": walker.queries, "tree": top.to_json()}
    ok = Problem("spf_ok", {"domain": domain, "all": shown_all, "lookups": shown_total})
    return CheckResult.judge("spf", problems, ok, record=top.record.text, details=details)


CHECK = Check("spf", "domain", run)
