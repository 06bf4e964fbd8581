"""The ``expctl experiments`` commands against a real sandbox server: output and exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from adapters.cli.main import app
from sandbox.server import RunningServer, running_server
from tests.conftest import SANDBOX_KEY, sandbox_settings

runner = CliRunner()


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server(sandbox_settings()) as running:
        yield running


@pytest.fixture
def sandbox(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> RunningServer:
    """A freshly seeded sandbox that the CLI reaches as the default PostHog (no key set)."""
    monkeypatch.setenv("EXPCTL_SANDBOX_URL", server.url)
    headers = {"Authorization": f"Bearer {SANDBOX_KEY}"}
    httpx.post(f"{server.url}/_sandbox/reset", headers=headers, json={}).raise_for_status()
    httpx.delete(f"{server.url}/_sandbox/calls", headers=headers).raise_for_status()
    return server


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def applied(server: RunningServer) -> dict[str, object]:
    calls = httpx.get(
        f"{server.url}/_sandbox/calls", headers={"Authorization": f"Bearer {SANDBOX_KEY}"}
    ).json()
    return dict(calls["applied"])


def test_list_get_and_status(sandbox: RunningServer) -> None:
    code, output = run("experiments", "list", "--status", "all")
    assert code == 0
    assert "Pricing" in output
    code, output = run("experiments", "list", "--json", "--limit", "2")
    assert code == 0
    assert len(json.loads(output)["results"]) == 2
    code, output = run("experiments", "get", "2")
    assert code == 0
    assert "allowed actions" in output
    code, output = run("experiments", "status", "5", "--json")
    assert code == 0
    assert json.loads(output)["allowed_actions"] == ["resume", "end", "ship_variant", "reset"]


def test_actions_succeed_are_idempotent_and_dry_run(sandbox: RunningServer) -> None:
    code, output = run("experiments", "launch", "1", "--dry-run")
    assert (code, "would launch: draft → running" in output) == (0, True)
    assert applied(sandbox) == {}
    code, output = run("experiments", "launch", "1", "--reason", "go")
    assert code == 0
    assert "applied" in output
    code, output = run("experiments", "launch", "1")
    assert code == 0
    assert "unchanged" in output
    code, output = run(
        "experiments", "end", "1", "--conclusion", "won", "--comment", "clear", "--json"
    )
    assert code == 0
    assert json.loads(output)["experiment"]["conclusion"] == "won"
    assert applied(sandbox) == {"1/1": {"launch": 1, "end": 1}}


def test_refusal_exits_1_with_reason_and_allowed_actions(sandbox: RunningServer) -> None:
    code, output = run("experiments", "pause", "1")
    assert code == 1
    assert "Experiment has not been launched yet." in output
    assert "allowed actions: launch" in output


def test_approval_pending_exits_1(sandbox: RunningServer) -> None:
    code, output = run("experiments", "ship", "8", "test")
    assert code == 1
    assert "approval_required" in output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("experiments", "end", "2", "--conclusion", "great"), "conclusion"),
        (("experiments", "get", "999"), "not found"),
        (("experiments", "list", "--status", "finished"), "status"),
        (("experiments", "launch", "one"), "experiment_id"),
        (("experiments", "ship", "2"), "Missing argument 'variant'"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(
    sandbox: RunningServer, args: tuple[str, ...], expected: str
) -> None:
    code, output = run(*args)
    assert code == 2
    assert expected in output


def test_unreachable_posthog_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPCTL_SANDBOX_URL", "http://127.0.0.1:9")
    code, output = run("experiments", "list")
    assert code == 1
    assert "connection to PostHog at http://127.0.0.1:9 failed" in output
    assert "Traceback" not in output


def test_wrong_posthog_key_is_reported_without_echoing_it(
    sandbox: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTHOG_API_KEY", "phx_wrong_key_value")
    monkeypatch.setenv("POSTHOG_HOST", sandbox.url)
    monkeypatch.setenv("POSTHOG_PROJECT_ID", "1")
    code, output = run("experiments", "list")
    assert code == 1
    assert "401" in output
    assert "phx_wrong_key_value" not in output
