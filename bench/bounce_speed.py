"""How long `explain_input` takes on real bounces and on hostile pastes.

Run:  uv run python bench/bounce_speed.py [--repeat N]

In-process (no interpreter start-up): every file of tests/bounces/ (best of N
runs each; the slowest and the median are printed), then inputs built to be
slow: 1 MB runs of one character as a paste and as a message body, 1 MB of
'@', HTML with an unclosed comment, 2,000 DSN recipient blocks, an mbox of
1,000 real bounces, an 8 MB mail log, and a 50 MB paste (read up to the cap);
then the real Outlook .msg files of tests/bounces/msg and .msg files built
from them (a 1 MiB body property, 3,000 recipient rows of a report).
This is a benchmark: it prints numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from knowledge.bounce import explain_input  # noqa: E402
from tests.bounce_corpus import cases  # noqa: E402

MB = 1 << 20
HEADER = b"From: MAILER-DAEMON@example.net\nTo: a@example.org\nSubject: Undelivered\n\n"


def best_of(repeat: int, call: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def hostile_inputs() -> list[tuple[str, bytes]]:
    real = (ROOT / "tests" / "bounces" / "postfix-webde-german.eml").read_bytes()
    log_line = (b"Jan  1 00:00:00 mx postfix/smtp[1]: 1234: to=<a@b.example>, relay=x, "
                b"dsn=5.1.1, status=bounced (host x said: 550 5.1.1 unknown user (in reply to "
                b"RCPT TO command))\n")
    block = (b"Final-Recipient: rfc822; u%d@example.com\nAction: failed\nStatus: 5.1.1\n"
             b"Diagnostic-Code: smtp; 550 5.1.1 no\n\n")
    return [
        ("paste: 1 MB of '-' on one line", b"-" * MB),
        ("paste: 1 MB of '=' in 80-column lines", (b"=" * 79 + b"\n") * (MB // 80)),
        ("paste: 1 MB of '550 5.1.1 ' codes", b"550 5.1.1 " * (MB // 10)),
        ("message: 1 MB body of '-' lines", HEADER + (b"-" * 79 + b"\n") * (MB // 80)),
        ("message: 1 MB body of '@'", HEADER + b"@" * MB),
        ("message: 1 MB body of 'a@b.cc '", HEADER + b"a@b.cc " * (MB // 7)),
        ("message: 1 MB HTML, unclosed comment",
         b"From: a@b.example\nTo: c@d.example\nContent-Type: text/html\n\n<!--" + b"a" * MB),
        ("DSN fields: 2,000 recipient blocks",
         b"".join(block.replace(b"%d", str(i).encode()) for i in range(2000))),
        ("mbox: 1,000 real bounces (4 MB)",
         b"".join(b"From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n" + real + b"\n"
                  for _ in range(1000))),
        ("paste: 8 MB mail log", log_line * (8 * MB // len(log_line))),
        ("paste: 50 MB (read up to the 8 MiB cap)", b"x" * (50 * MB)),
    ]


def msg_inputs() -> list[tuple[str, bytes]]:
    from tests.msg_inputs import MSG, big_body, many_recipients

    real = [(f"msg: {path.name}", path.read_bytes()) for path in sorted(MSG.glob("*.msg"))]
    return [*real, ("msg: 1 MiB body property", big_body(1)),
            ("msg: 3,000 recipient rows of a report", many_recipients(3000))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    explain_input(b"550 5.1.1 warm-up")  # load and compile the knowledge base first
    per_file = []
    for path, _ in cases():
        data = path.read_bytes()
        per_file.append((best_of(args.repeat, lambda d=data: explain_input(d)), path.name))
    per_file.sort(reverse=True)
    print(f"corpus: {len(per_file)} files, median "
          f"{statistics.median(t for t, _ in per_file) * 1000:.1f} ms, slowest:")
    for seconds, name in per_file[:3]:
        print(f"  {seconds * 1000:7.1f} ms  {name}")
    print("hostile inputs:")
    for name, data in hostile_inputs() + msg_inputs():
        seconds = best_of(1, lambda d=data: explain_input(d))
        print(f"  {seconds * 1000:7.0f} ms  {name} ({len(data) / MB:.1f} MiB)")


if __name__ == "__main__":
    main()
