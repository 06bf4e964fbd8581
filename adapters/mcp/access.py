"""Who is calling over MCP: expctl's bearer tokens plugged into the SDK's token verification.

The token rules live in :mod:`adapters.security`; this module only adapts them. A full token
carries the read and write scopes, the read-only token the read scope, and a tool reads the
caller back from the SDK's per-request auth context. In-process and over stdio there is no
HTTP request and no caller (``None``): the server's own read-only switch still applies.
"""

from __future__ import annotations

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken

from adapters.security import Access, Caller, TokenVerifier

READ_SCOPE = "experiments:read"
WRITE_SCOPE = "experiments:write"


class BearerTokens:
    """The SDK's ``TokenVerifier`` protocol over expctl's :class:`~adapters.security.TokenVerifier`."""

    def __init__(self, verifier: TokenVerifier) -> None:
        self._verifier = verifier

    async def verify_token(self, token: str) -> AccessToken | None:
        caller = self._verifier.verify(token)
        if caller is None:
            return None
        scopes = [READ_SCOPE, WRITE_SCOPE] if caller.can_write else [READ_SCOPE]
        return AccessToken(token=token, client_id=caller.name, scopes=scopes)


def current_caller() -> Caller | None:
    """The caller of the request being handled (``None`` without HTTP auth)."""
    token = get_access_token()
    if token is None:
        return None
    access = Access.FULL if WRITE_SCOPE in token.scopes else Access.READ_ONLY
    return Caller(token.client_id, access)
