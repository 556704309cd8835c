"""What a test does when a service it needs (PostgreSQL, Chromium, a tool) is missing here.

Locally such a test skips with the reason. Under ``CI=true`` the same absence is a failure:
``.ci/run`` installs and starts these services, so a skip there would hide a broken set-up.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """True when the tests run under CI (``CI=true``, as CI services set it)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip the calling test with ``reason``, or fail it under CI."""
    if in_ci():
        pytest.fail(f"{reason} (under CI=true this is a failure: .ci/run provides it)")
    pytest.skip(reason)
