"""Test-wide fixtures: a clean environment, so a developer's shell never leaks into a test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

_OWNED_PREFIXES = ("POSTHOG_", "EXPCTL_")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Remove POSTHOG_* and EXPCTL_* variables for the duration of each test."""
    for name in list(os.environ):
        if name.startswith(_OWNED_PREFIXES):
            monkeypatch.delenv(name)
    yield
