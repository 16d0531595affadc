"""How many reply lines per second the knowledge classifier annotates.

Run:  uv run python bench/knowledge_bench.py [--lines N] [--extra-patterns N]

The corpus mixes what a probe and a pasted log produce: banners, EHLO and
QUIT replies, and 4xx/5xx rejections in the wording of real servers, with
addresses, IPs and queue ids varied per line so no cache can help. With
--extra-patterns the pattern set is padded with non-matching variants of the
real patterns, to see how the classifier scales to a few hundred rules.
This is a benchmark, not a test: it prints numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from dataclasses import replace

import knowledge
from knowledge import explain_reply, explain_text, patterns

TEMPLATES: list[tuple[int, str, str | None]] = [
    (220, "mx{n}.example.net ESMTP Postfix (Debian/GNU)", "banner"),
    (250, "mx{n}.example.net\nPIPELINING\nSIZE 10240000\nSTARTTLS\n8BITMIME\nSMTPUTF8", "ehlo"),
    (250, "2.1.0 Ok", "mail"),
    (250, "2.1.5 Ok", "rcpt"),
    (221, "2.0.0 Bye", "quit"),
    (502, "5.5.2 Error: command not recognized", "help"),
    (214, "2.0.0 See https://example.net/help/{n}", "help"),
    (550, "5.1.1 <user{n}@example.org>: Recipient address rejected: User unknown in local "
          "recipient table", "rcpt"),
    (554, "5.7.1 <user{n}@example.org>: Relay access denied", "rcpt"),
    (450, "4.2.0 <user{n}@example.org>: Recipient address rejected: Greylisted, see "
          "http://postgrey.schweikert.ch/help/example.org.html", "rcpt"),
    (554, "5.7.1 Service unavailable; Client host [192.0.2.{o}] blocked using "
          "zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.{o}", "rcpt"),
    (450, "4.7.1 Client host rejected: cannot find your hostname, [198.51.100.{o}]", "rcpt"),
    (421, "4.7.0 mx{n}.example.net Error: too many connections from 203.0.113.{o}", "banner"),
    (552, "5.3.4 Message size exceeds fixed limit", "mail"),
    (530, "5.7.0 Must issue a STARTTLS command first", "mail"),
    (550, "5.7.26 This mail has been blocked because the sender is unauthenticated. "
          "Gmail requires all senders to authenticate with either SPF or DKIM. "
          "a{n}si.{o} - gsmtp", "rcpt"),
    (550, "5.4.1 Recipient address rejected: Access denied. AS(201806281) "
          "[DM6NAM{n}.prod.protection.outlook.com {o}]", "rcpt"),
    (451, "4.3.0 <user{n}@example.org>: Temporary lookup failure", "rcpt"),
    (550, "5.2.2 <user{n}@example.org>: mailbox full, quota exceeded", "rcpt"),
    (553, "5.7.1 <user{n}@example.org>: Sender address rejected: not owned by user "
          "user{o}@example.org", "mail"),
    (550, "Requested action not taken: mailbox unavailable", None),
    (451, "", "rcpt"),
    (299, "strange reply {n}", None),
]


def corpus(count: int, seed: int = 1) -> list[tuple[int, str, str | None]]:
    """`count` reply lines drawn from TEMPLATES with varying numbers inside."""
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        code, text, stage = rng.choice(TEMPLATES)
        lines.append((code, text.format(n=rng.randrange(10**6), o=rng.randrange(256)), stage))
    return lines


def pad_patterns(extra: int) -> None:
    """Add `extra` never-matching copies of the loaded patterns to the global set."""
    base = patterns.pattern_set()
    padded = list(base.patterns)
    for i in range(extra):
        pat = base.patterns[i % len(base.patterns)]
        source = f"{pat.regex.pattern} zq{i}x"  # same guards, never matches real text
        padded.append(replace(
            pat, id=f"{pat.id}-pad{i}", regex=re.compile(source, re.IGNORECASE),
            priority=pat.priority + 1, order=len(padded),
            guards=patterns.guard_literals(source),
        ))
    patterns.pattern_set.cache_clear()
    padded_set = patterns.PatternSet(padded, [])
    patterns.pattern_set = lambda: padded_set  # type: ignore[assignment]
    knowledge.classifier.pattern_set = patterns.pattern_set  # type: ignore[attr-defined]


def measure(lines: list[tuple[int, str, str | None]], repeat: int) -> float:
    """Best lines/second over `repeat` runs of explain_reply over `lines`."""
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        for code, text, stage in lines:
            explain_reply(code, text, stage)
        best = max(best, len(lines) / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--extra-patterns", type=int, default=0)
    args = parser.parse_args()

    start = time.perf_counter()
    explain_reply(550, "warm-up", "rcpt")  # loads every TOML file, compiles every regex
    load_ms = (time.perf_counter() - start) * 1000
    if args.extra_patterns:
        pad_patterns(args.extra_patterns)
    lines = corpus(args.lines)
    count = len(patterns.pattern_set().patterns)
    rate = measure(lines, args.repeat)
    print(f"patterns loaded:        {count}")
    print(f"first-use load:         {load_ms:.1f} ms")
    print(f"explain_reply:          {rate:,.0f} lines/s "
          f"({args.lines} lines, best of {args.repeat})")

    pasted = "\n".join(f"{code} {text.splitlines()[0] if text else ''}" for code, text, _ in lines)
    start = time.perf_counter()
    found = explain_text(pasted)
    elapsed = time.perf_counter() - start
    print(f"explain_text (log):     {len(found) / elapsed:,.0f} replies/s ({len(found)} found)")


if __name__ == "__main__":
    main()
