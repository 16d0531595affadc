"""Lazy, cached access to the TOML data shipped inside the package.

Importing `knowledge` must stay cheap (the probe core imports it at start-up and
`probe --help` should not parse a few hundred kilobytes of TOML), so every file
is read on first use and kept for the life of the process.
"""

from __future__ import annotations

import binascii
import marshal
import os
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
PATTERN_DIR = ROOT / "patterns"
I18N_DIR = ROOT / "i18n"


def _read(path: Path) -> dict[str, Any]:
    """The parsed TOML file, from the compiled cache when it is current.

    Parsing the data takes longer than the rest of `probe explain 451`, so
    each file's parsed form is kept (marshal) in the user's cache directory,
    keyed by the file's path, size and modification time: an edited or
    upgraded file is parsed again. Any cache problem (no home, read-only,
    corrupt entry) just means parsing.
    """
    stat = path.stat()
    stamp = (str(path), stat.st_size, stat.st_mtime_ns, _CACHE_VERSION)
    cached = _cache_file(path)
    if cached is not None:
        try:
            with cached.open("rb") as handle:
                saved_stamp, data = marshal.load(handle)
            if tuple(saved_stamp) == stamp and isinstance(data, dict):
                return data
        except (OSError, EOFError, ValueError, TypeError):
            pass
    import tomllib  # deferred: its parser costs more to import than the rest of the package

    with path.open("rb") as handle:
        data = tomllib.load(handle)
    if cached is not None:
        _save(cached, stamp, data)
    return data


_CACHE_VERSION = 1


def _cache_file(path: Path) -> Path | None:
    """Where `path`'s parsed form is kept ($XDG_CACHE_HOME/probe, else ~/.cache/probe)."""
    if os.environ.get("PROBE_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    digest = binascii.crc32(str(path).encode("utf-8", "surrogateescape"))  # which install
    return Path(base) / "probe" / f"{path.stem}-{digest:08x}.marshal"


def _save(target: Path, stamp: tuple[Any, ...], data: dict[str, Any]) -> None:
    """Write the cache entry atomically; never fail the caller."""
    try:
        blob = marshal.dumps((stamp, data))
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}")
        temporary.write_bytes(blob)
        os.replace(temporary, target)
    except (OSError, ValueError):
        return


@cache
def codes() -> dict[str, Any]:
    """`codes.toml`: basic reply codes, their classes and the stage policy."""
    return _read(ROOT / "codes.toml")


@cache
def enhanced() -> dict[str, Any]:
    """`enhanced.toml`: RFC 3463 / IANA enhanced status codes and subjects."""
    return _read(ROOT / "enhanced.toml")


@cache
def categories() -> dict[str, Any]:
    """`categories.toml`: per category, its enhanced-code subjects and a `when`."""
    return _read(ROOT / "categories.toml")


@cache
def context() -> dict[str, Any]:
    """`context.toml`: rules that use what the caller knows about the command."""
    return _read(ROOT / "context.toml")


@cache
def errors() -> dict[str, Any]:
    """`errors.toml`: failed steps that produced no reply, by kind and stage."""
    return _read(ROOT / "errors.toml")


@cache
def notice_words(kind: str) -> tuple[str, ...]:
    """A list of `notices.toml`: what failure notices say about themselves."""
    return tuple(_read(ROOT / "notices.toml")[kind])


def pattern_files() -> list[Path]:
    """Every pattern file, generic first, then vendors alphabetically.

    The order is the final tie-breaker between equally good patterns, so it
    must not depend on the file system's listing order.
    """
    files = sorted(PATTERN_DIR.glob("*.toml"))
    return sorted(files, key=lambda p: (p.name != "generic.toml", p.name))


@cache
def translations(lang: str) -> dict[str, Any]:
    """`i18n/<lang>.toml` merged with every `i18n/<lang>/*.toml`, or {} for no file.

    The texts of one language are split by subject (reply codes in the main
    file; the words of the views and the finding sentences in the folder), so
    each stays a readable size. A table defined in two files is a data bug and
    raises instead of one silently winning.
    """
    if not lang.isalnum():  # never let a locale string walk the file system
        return {}
    path = I18N_DIR / f"{lang}.toml"
    if not path.is_file():
        return {}
    merged = _read(path)
    for part in sorted((I18N_DIR / lang).glob("*.toml")):
        _merge(merged, _read(part), f"{lang}/{part.name}")
    return merged


def _merge(into: dict[str, Any], data: dict[str, Any], where: str) -> None:
    """Add `data`'s tables to `into`, recursing into tables both define."""
    for key, value in data.items():
        if key not in into:
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value, where)
        else:
            raise ValueError(f"i18n/{where}: {key!r} is already defined")


@cache
def languages() -> tuple[str, ...]:
    """Languages that have a label file, sorted."""
    return tuple(sorted(p.stem for p in I18N_DIR.glob("*.toml")))
