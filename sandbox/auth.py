"""Personal API keys: authentication, the project allowlist and scope checks (§1).

``Authorization: Bearer <key>`` only. A missing (or non-Bearer) header is DRF's
``NotAuthenticated``; an unknown key is PostHog's ``AuthenticationFailed`` text. Key values are
compared, never logged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sandbox import errors
from sandbox.state import ApiKey, SandboxState

_BEARER = re.compile(r"^Bearer\s+(\S.*)$")


def authenticate(state: SandboxState, authorization: str | None) -> ApiKey:
    """The key named by the ``Authorization`` header."""
    match = _BEARER.match(authorization or "")
    if match is None:
        raise errors.not_authenticated()
    key = state.keys.get(match.group(1).strip())
    if key is None:
        raise errors.authentication_failed()
    return key


def check_project_access(key: ApiKey, project_id: int) -> None:
    """PostHog's ``scoped_teams`` check."""
    if key.projects and project_id not in key.projects:
        raise errors.permission_denied(
            f"API key does not have access to the requested project '{project_id}'"
        )


def has_scope(key: ApiKey, required: str) -> bool:
    """``*`` passes everything; a ``:read`` need is also met by the matching ``:write``."""
    if "*" in key.scopes:
        return True
    accepted = {required}
    if required.endswith(":read"):
        accepted.add(required.removesuffix(":read") + ":write")
    return bool(accepted & set(key.scopes))


def check_scopes(key: ApiKey, required: Sequence[str]) -> None:
    """``APIScopePermission``: the first missing scope is named."""
    for scope in required:
        if not has_scope(key, scope):
            raise errors.permission_denied(f"API key missing required scope '{scope}'")
