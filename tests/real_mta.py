"""What the real-MTA fixtures share: under CI a missing MTA fails, elsewhere it skips.

`.ci/run` installs or unpacks Postfix, Exim and Sendmail, so under CI a test
that cannot find one must fail rather than pass by skipping; on a developer's
machine without them the same test skips with the reason.
"""

from __future__ import annotations

import os

import pytest


def under_ci() -> bool:
    """True under CI (CI=true), where a missing MTA is a failure and not a skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str, provider: str) -> None:
    """Skip locally, fail under CI: CI must run the real-MTA tests.
    `provider` says what .ci/run should have done ("installed postfix")."""
    if under_ci():
        pytest.fail(f"CI=true but {reason} (.ci/run should have {provider})", pytrace=False)
    pytest.skip(reason)
