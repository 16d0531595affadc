"""`probe explain` on compressed input: rotated mail logs and saved bounces.

Real bounces from the corpus and a real log excerpt are compressed here with
the standard tools' formats (gzip, bzip2, xz) and must read exactly as the
uncompressed bytes do; damaged files give one line and exit 64; a small file
that unpacks to far more than the input limit is read only up to it.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.limits import MAX_INPUT
from probe.packed_input import UnreadablePacked, unpacked
from tests.test_explain_bounce import CORPUS, cli

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}
BOUNCES = ("iis-four-recipients.eml", "postfix-webde-german.eml")
# Delivery log lines as Postfix writes them (queue id, relay, reply quoted after "said:").
LOG = (b"Nov 22 07:15:32 mx postfix/smtp[4312]: 4F3A21C0: to=<bob@example.com>, "
       b"relay=mx.example.com[192.0.2.1]:25, delay=1.2, status=bounced (host "
       b"mx.example.com[192.0.2.1] said: 550 5.1.1 <bob@example.com>: Recipient address "
       b"rejected: User unknown (in reply to RCPT TO command))\n"
       b"Nov 22 07:15:40 mx postfix/smtp[4313]: 5B7C33D1: to=<eve@example.net>, "
       b"relay=mx.example.net[192.0.2.7]:25, delay=0.4, status=deferred (host "
       b"mx.example.net[192.0.2.7] said: 452 4.2.2 Mailbox full (in reply to RCPT TO "
       b"command))\n")


@pytest.mark.parametrize("fmt", sorted(COMPRESSORS))
@pytest.mark.parametrize("name", BOUNCES)
def test_a_compressed_bounce_reads_as_the_bounce_itself(tmp_path: Path, name: str,
                                                        fmt: str) -> None:
    raw = (CORPUS / name).read_bytes()
    packed = tmp_path / f"{name}.{fmt}"
    packed.write_bytes(COMPRESSORS[fmt](raw))
    plain = cli(str(CORPUS / name), "--json")
    from_file = cli(str(packed), "--json")
    from_stdin = cli("-", "--json", stdin=packed.read_bytes())
    assert plain.returncode == from_file.returncode == from_stdin.returncode == 0
    assert json.loads(from_file.stdout) == json.loads(plain.stdout) == json.loads(
        from_stdin.stdout)


def test_members_one_after_the_other_are_all_read() -> None:
    """`cat mail.log.1.gz mail.log.2.gz | probe explain -`: both logs' replies."""
    first, second = LOG.splitlines(keepends=True)
    proc = cli("-", "--json", stdin=gzip.compress(first) + gzip.compress(second))
    assert proc.returncode == 0, proc.stderr
    assert [(d["code"], d["category"]) for d in json.loads(proc.stdout)] == [
        (550, "user_unknown"), (452, "mailbox_full")]


def test_a_file_cut_short_gives_what_it_holds() -> None:
    first_line_end = LOG.index(b"\n") + 1
    packed = gzip.compress(LOG + random.Random(1).randbytes(50_000))  # does not shrink
    for cut in (len(packed) // 2, len(packed) - 9):  # mid-stream, and without the trailer
        got = unpacked(packed[:cut], MAX_INPUT + 1)
        assert LOG[:first_line_end] in got and len(got) < len(LOG) + 50_000


@pytest.mark.parametrize("fmt", sorted(COMPRESSORS))
def test_a_damaged_file_is_one_line_and_64(tmp_path: Path, fmt: str) -> None:
    packed = bytearray(COMPRESSORS[fmt](LOG * 20))
    packed[20:40] = b"\xff" * 20  # inside the compressed data, past the magic bytes
    path = tmp_path / f"damaged.{fmt}"
    path.write_bytes(bytes(packed))
    proc = cli(str(path))
    assert proc.returncode == 64
    assert proc.stdout == b"" and b"Traceback" not in proc.stderr
    [line] = proc.stderr.decode().splitlines()
    assert line.startswith("probe explain: ") and f"not a readable {fmt} file" in line


def test_a_decompression_bomb_is_read_only_to_the_limit() -> None:
    bomb = gzip.compress(LOG + b"\0" * (4 * MAX_INPUT), compresslevel=9)
    assert len(bomb) < MAX_INPUT // 100
    got = unpacked(bomb, MAX_INPUT + 1)
    assert len(got) == MAX_INPUT + 1 and got.startswith(LOG)
    proc = cli("-", "--json", stdin=bomb)
    assert proc.returncode == 0 and b"MiB read" in proc.stderr
    assert [d["code"] for d in json.loads(proc.stdout)] == [550, 452]


def test_words_are_never_taken_for_a_compressed_file() -> None:
    """Only the magic bytes decide: text that merely starts with "BZh" is text."""
    for words in (b"BZh9 550 5.1.1 no such user here", b"\x1f\x8b not gzip at all"):
        assert unpacked(words, MAX_INPUT + 1) == words
    proc = cli("-", stdin=b"BZh9 550 5.1.1 <bob@example.com>: no such user here\n")
    assert proc.returncode == 0 and b"user_unknown" in proc.stdout


def test_unpacked_names_the_format_it_could_not_read() -> None:
    with pytest.raises(UnreadablePacked, match="not a readable xz file"):
        unpacked(b"\xfd7zXZ\x00" + b"\x00" * 40, 1000)
