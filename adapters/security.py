"""Who may call the inbound adapters (REST and MCP): bearer tokens, access levels, bind rules.

``EXPCTL_API_TOKEN`` grants full access; ``EXPCTL_READONLY_TOKEN`` grants reads and dry runs only.
Tokens are compared in constant time. An adapter binds 127.0.0.1 by default; it refuses to bind
any other address unless a token is configured, and on loopback with no token configured it
generates one and prints it once (as Jupyter does).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from dataclasses import dataclass
from enum import StrEnum


class Access(StrEnum):
    """What a caller may do."""

    FULL = "full"
    READ_ONLY = "read_only"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller; ``name`` is what lifecycle records show as the actor."""

    name: str
    access: Access

    @property
    def can_write(self) -> bool:
        return self.access is Access.FULL


class InsecureBindError(RuntimeError):
    """Binding a non-loopback address without a token would expose PostHog write access."""


@dataclass(frozen=True)
class TokenVerifier:
    """Checks bearer tokens against the configured full and read-only tokens."""

    full_token: str | None = None
    readonly_token: str | None = None
    generated: bool = False
    """The full token was generated at start-up (print it once)."""

    @classmethod
    def from_env(cls, *, host: str = "127.0.0.1") -> TokenVerifier:
        """Tokens from ``EXPCTL_API_TOKEN`` / ``EXPCTL_READONLY_TOKEN``; generated on loopback."""
        full = os.environ.get("EXPCTL_API_TOKEN", "").strip() or None
        readonly = os.environ.get("EXPCTL_READONLY_TOKEN", "").strip() or None
        return cls.for_bind(host, full_token=full, readonly_token=readonly)

    @classmethod
    def for_bind(
        cls, host: str, *, full_token: str | None = None, readonly_token: str | None = None
    ) -> TokenVerifier:
        """Apply the bind rules: a token is required off loopback, generated on loopback."""
        if full_token is None and readonly_token is None:
            if not is_loopback(host):
                raise InsecureBindError(
                    f"refusing to bind {host}: no token is configured, so anyone who can reach this "
                    "address could drive your PostHog experiments. Set EXPCTL_API_TOKEN (and "
                    "optionally EXPCTL_READONLY_TOKEN), or bind 127.0.0.1."
                )
            return cls(full_token=generate_token(), generated=True)
        if full_token is not None and full_token == readonly_token:
            raise InsecureBindError("EXPCTL_API_TOKEN and EXPCTL_READONLY_TOKEN must differ")
        return cls(full_token=full_token, readonly_token=readonly_token)

    def verify(self, token: str | None) -> Caller | None:
        """The caller this token identifies, or ``None``."""
        if not token:
            return None
        presented = token.encode()
        if self.full_token and hmac.compare_digest(presented, self.full_token.encode()):
            return Caller("api-token", Access.FULL)
        if self.readonly_token and hmac.compare_digest(presented, self.readonly_token.encode()):
            return Caller("readonly-token", Access.READ_ONLY)
        return None


def generate_token() -> str:
    """A fresh random token."""
    return "expctl_" + secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts local connections."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
