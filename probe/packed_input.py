"""Compressed input unpacked before it is explained: `probe explain mail.log.2.gz`.

Mail logs are rotated compressed (logrotate's default is gzip; bzip2 and xz
are common `compresscmd` choices), and an admin looking for last week's
rejections points `probe explain` at such a file or pipes it in. The
standard library's incremental decompressors read it: each is asked for at
most `limit` bytes, so a small file that unpacks to gigabytes (a
decompression bomb) costs no more than reading `limit` bytes of text, and a
file cut short gives what it held. Several members one after the other (`cat
a.gz b.gz`) are all read, up to the same limit.

Only the magic bytes decide, never the file name: bytes that do not start
like a compressed file are returned as they are.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable
from typing import Protocol


class UnreadablePacked(ValueError):
    """Input that starts like a compressed file but cannot be unpacked; says why."""


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


def _gzip() -> _Decompressor:
    return zlib.decompressobj(wbits=31)  # 16 + 15: a gzip header and trailer


# Magic bytes (gzip with its deflate method byte, bzip2 with its block size
# digit and block magic, xz's whole header magic), long enough that no text
# someone pastes starts with them.
_FORMATS: tuple[tuple[str, Callable[[bytes], bool], Callable[[], _Decompressor]], ...] = (
    ("gzip", lambda d: d.startswith(b"\x1f\x8b\x08"), _gzip),
    ("bzip2", lambda d: d[:3] == b"BZh" and d[3:4].isdigit() and d[3:4] != b"0"
     and d[4:10] in (b"1AY&SY", b"\x17rE8P\x90"), bz2.BZ2Decompressor),
    ("xz", lambda d: d.startswith(b"\xfd7zXZ\x00"), lzma.LZMADecompressor),
)
_ERRORS = (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError)


def unpacked(data: bytes, limit: int) -> bytes:
    """`data` unpacked to at most `limit` bytes when it is gzip, bzip2 or xz;
    otherwise `data` itself. Raises `UnreadablePacked` for a damaged file."""
    found = next((fmt for fmt in _FORMATS if fmt[1](data)), None)
    if found is None:
        return data
    name, starts, make = found
    out = bytearray()
    rest = data
    try:
        while len(out) < limit:
            decompressor = make()
            out += decompressor.decompress(rest, limit - len(out))
            if not decompressor.eof:  # the limit was reached, or the file was cut short
                break
            rest = decompressor.unused_data
            if not starts(rest):  # the last member, or padding after it
                break
    except _ERRORS as exc:
        raise UnreadablePacked(f"not a readable {name} file ({exc})") from None
    return bytes(out)
