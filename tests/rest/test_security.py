"""Start-up refuses an open bind without a token, and the PostHog key never leaves the server."""

from __future__ import annotations

import logging

import httpx
import pytest

from adapters.rest.server import serve
from tests.rest.cases import CASES, CONTEXT_EXPERIMENT
from tests.rest.conftest import BASE, POSTHOG_KEY, READONLY, Stack


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.com"])
def test_binding_beyond_loopback_without_a_token_exits_2(
    host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        serve(host=host, port=0, in_process_sandbox=True)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"refusing to bind {host}" in err
    assert "EXPCTL_API_TOKEN" in err


@pytest.mark.parametrize(
    ("variable", "value"),
    [("EXPCTL_PROJECTS", "1,two"), ("EXPCTL_MAX_BODY_BYTES", "-5"), ("POSTHOG_API_KEY", "phx bad")],
)
def test_a_bad_setting_exits_2_with_a_message(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exited:
        serve(port=0)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("expctl serve rest: ")
    assert variable in err
    assert "phx bad" not in err


def test_the_same_token_for_both_levels_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EXPCTL_API_TOKEN", "same")
    monkeypatch.setenv("EXPCTL_READONLY_TOKEN", "same")
    with pytest.raises(SystemExit):
        serve(host="0.0.0.0", port=0, in_process_sandbox=True)
    assert "must differ" in capsys.readouterr().err


async def test_the_posthog_key_never_appears_in_answers_or_logs(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answers: list[httpx.Response] = []
    context = await stack.experiment(CONTEXT_EXPERIMENT)
    for case in CASES.values():
        for params in ({}, {"dry_run": "true"}):
            answers.append(
                await stack.call(
                    case.method,
                    case.rest_path(),
                    params={**case.params(context), **params},
                    json=case.json(context),
                )
            )
    for rule in (
        {"kind": "error", "status": 500, "count": 1},
        {"kind": "throttle", "count": 1},
        {"kind": "drop", "count": 1},
    ):
        await stack.faults(rule)
        answers.append(await stack.call("POST", f"{BASE}/3/pause"))
    answers += [
        await stack.call("GET", "/readyz", token=None),
        await stack.call("GET", "/openapi.json", token=None),
        await stack.call("POST", f"{BASE}/3/pause", token=READONLY),
        await stack.call("GET", f"{BASE}/3", token="wrong"),
        await stack.call("POST", f"{BASE}/3/end", content=b"{nope"),
    ]
    assert len(answers) == 52
    assert any(a.status_code >= 500 for a in answers)
    for answer in answers:
        assert POSTHOG_KEY not in answer.text
        assert POSTHOG_KEY not in str(answer.headers)
    assert caplog.records
    assert POSTHOG_KEY not in caplog.text
    for record in caplog.records:
        assert POSTHOG_KEY not in record.getMessage()
