"""Report destinations in DMARC and TLS-RPT records: mailto: and https: URIs."""

from __future__ import annotations

import urllib.parse

from .names import host_name_ok


def mailto_domain(uri: str) -> str | None:
    """The domain a `mailto:` URI sends to (lower case), or None when it is not a usable one.

    One address only (a comma separates URIs in these records), percent-escapes
    decoded, any `?header` part ignored.
    """
    scheme, colon, rest = uri.partition(":")
    if not colon or scheme.lower() != "mailto":
        return None
    address = urllib.parse.unquote(rest.partition("?")[0])
    local, at, domain = address.rpartition("@")
    if not at or not local or any(not ("\x21" <= ch <= "\x7e") for ch in address):
        return None
    if any(ch in local for ch in "<>()[],;:@\\\""):
        return None
    return domain.lower().rstrip(".") if host_name_ok(domain) else None


def https_ok(uri: str) -> bool:
    """An `https://host/...` URI with a usable host name."""
    if any(not ("\x21" <= ch <= "\x7e") for ch in uri):
        return False
    try:
        parts = urllib.parse.urlsplit(uri)
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() == "https" and host_name_ok(host)
