"""Configuration: explicit values, else POSTHOG_* variables; bad values fail at construction."""

from __future__ import annotations

import httpx
import pytest

from adapters.posthog import EU_HOST, US_HOST, PostHogClient
from adapters.posthog.errors import ConfigurationError, RequestValidationError
from tests.client import samples


def test_missing_key_is_a_clear_error_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="POSTHOG_API_KEY is not set"):
        PostHogClient()


def test_blank_or_multiline_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="POSTHOG_API_KEY is not set"):
        PostHogClient(api_key="   ")
    with pytest.raises(ConfigurationError, match="whitespace"):
        PostHogClient(api_key="phx_abc\r\nX-Injected: 1")


@pytest.mark.parametrize(
    "host",
    [
        "us.posthog.com",
        "ftp://posthog.example",
        "https://",
        "https://user:pw@posthog.example",
        "https://posthog.example:99999",
        "https://x.example/?a=1",
    ],
)
def test_malformed_host_is_refused_at_construction(host: str) -> None:
    with pytest.raises(ConfigurationError, match="POSTHOG_HOST"):
        PostHogClient(api_key="k", host=host)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, US_HOST),
        (EU_HOST + "/", EU_HOST),
        ("http://localhost:8010", "http://localhost:8010"),
        ("https://posthog.corp.example/ph", "https://posthog.corp.example/ph"),
    ],
)
def test_hosts_are_normalised(given: str | None, expected: str) -> None:
    assert PostHogClient(api_key="k", host=given).host == expected


def test_environment_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTHOG_API_KEY", "phx_from_env")
    monkeypatch.setenv("POSTHOG_HOST", EU_HOST)
    monkeypatch.setenv("POSTHOG_PROJECT_ID", "12")
    monkeypatch.setenv("POSTHOG_TIMEOUT", "5")
    client = PostHogClient()
    assert (client.host, client.project_id, client.settings.timeout) == (EU_HOST, 12, 5.0)
    explicit = PostHogClient(api_key="phx_explicit", project_id=3)
    assert explicit.project_id == 3


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTHOG_PROJECT_ID", "abc")
    with pytest.raises(ConfigurationError, match="POSTHOG_PROJECT_ID"):
        PostHogClient(api_key="k")


def test_key_never_appears_in_repr_or_settings_dump() -> None:
    client = PostHogClient(api_key="phx_very_secret", project_id=1)
    assert "phx_very_secret" not in repr(client)
    assert "phx_very_secret" not in repr(client.settings)
    assert "phx_very_secret" not in str(client.settings.model_dump())


async def test_missing_project_is_an_error_before_any_io() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    async with PostHogClient(api_key="k", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(RequestValidationError, match="POSTHOG_PROJECT_ID") as raised:
            await client.get_experiment(1)
    assert raised.value.attr == "project_id"


async def test_timeouts_are_passed_to_httpx() -> None:
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json=samples.STATS)

    async with PostHogClient(
        api_key="k",
        project_id=1,
        timeout=3,
        connect_timeout=1.5,
        transport=httpx.MockTransport(handler),
    ) as client:
        await client.get_experiment_stats()
    assert seen[0]["read"] == 3
    assert seen[0]["connect"] == 1.5
