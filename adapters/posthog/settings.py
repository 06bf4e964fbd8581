"""Where the PostHog client's configuration comes from: explicit values, else ``POSTHOG_*`` variables.

=========================================  ==================================================
``POSTHOG_API_KEY``                        personal API key, sent as ``Authorization: Bearer``
``POSTHOG_HOST``                           ``https://us.posthog.com`` (default), ``https://eu.posthog.com``,
                                           or a self-hosted URL
``POSTHOG_PROJECT_ID``                     default project for calls that do not name one
``POSTHOG_TIMEOUT``                        seconds to wait for an answer (default 30)
``POSTHOG_CONNECT_TIMEOUT``                seconds to wait for a connection (default 10)
``POSTHOG_MAX_ATTEMPTS``                   attempts for retry-safe calls (default 4)
``POSTHOG_RATE_LIMIT_PER_MINUTE`` / ``_PER_HOUR``  the organisation's budget (480 / 4,800)
=========================================  ==================================================
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.posthog.errors import ConfigurationError

US_HOST = "https://us.posthog.com"
EU_HOST = "https://eu.posthog.com"


class PostHogSettings(BaseSettings):
    """Validated client configuration."""

    model_config = SettingsConfigDict(env_prefix="POSTHOG_", extra="ignore", frozen=True)

    api_key: SecretStr | None = None
    host: str = US_HOST
    project_id: int | None = Field(default=None, ge=1)
    timeout: float = Field(default=30.0, gt=0)
    connect_timeout: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=20)
    rate_limit_per_minute: int = Field(default=480, ge=1)
    rate_limit_per_hour: int = Field(default=4800, ge=1)

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        return normalise_host(value)


def normalise_host(value: str) -> str:
    """``https://eu.posthog.com/`` → ``https://eu.posthog.com``; refuses anything that is not a base URL."""
    host = value.strip().rstrip("/")
    try:
        parts = urlsplit(host)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as error:
        raise ValueError(f"POSTHOG_HOST {value!r} is not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"POSTHOG_HOST {value!r} must be an http(s) URL such as {US_HOST}, {EU_HOST} "
            "or your self-hosted PostHog's address"
        )
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(
            f"POSTHOG_HOST {value!r} must not carry credentials, a query or a fragment"
        )
    return host


def load_settings(**explicit: Any) -> PostHogSettings:
    """Settings from explicit values (``None`` means "not given") over the environment."""
    given = {name: value for name, value in explicit.items() if value is not None}
    try:
        return PostHogSettings(**given)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(f"POSTHOG_{field.upper()}: {message}") from None
