"""``expctl schedule`` and ``expctl monitor`` against the sandbox and the Prefect test server."""

from __future__ import annotations

import json

import pytest
from prefect.settings import PREFECT_API_URL
from typer.testing import CliRunner

from adapters.cli.main import app
from tests.flows.conftest import Sandbox

pytestmark = pytest.mark.prefect
runner = CliRunner()


@pytest.fixture(autouse=True)
def prefect_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_schedule_set_show_cancel(sandbox: Sandbox) -> None:
    code, output = run(
        "schedule",
        "set",
        "1",
        "--launch-at",
        "+2h",
        "--end-after",
        "14d",
        "--end-action",
        "ship_winner",
        "--json",
    )
    assert code == 0, output
    view = json.loads(output)
    assert [a["kind"] for a in view["next_actions"]] == ["launch"]
    assert view["plan"]["end_after"] == "P14D"
    code, output = run("schedule", "show", "1")
    assert code == 0
    assert "ship_winner" in output
    assert "next scheduled actions" in output
    code, output = run("schedule", "cancel", "1")
    assert code == 0
    code, output = run("schedule", "show", "1")
    assert code == 2
    assert "no automation plan" in output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("schedule", "set", "2", "--alpha", "0.9"), "stopping.alpha"),
        (("schedule", "set", "2", "--end-after", "soon"), "--end-after"),
        (("schedule", "set", "2", "--launch-at", "tomorrow"), "--launch-at"),
        (("schedule", "set", "2", "--guardrail", "abc"), "--guardrail"),
        (
            ("schedule", "set", "2", "--end-action", "ship_variant", "--variant", "purple"),
            "end_plan.variant_key",
        ),
    ],
)
def test_bad_plans_exit_2_naming_the_field(
    sandbox: Sandbox, args: tuple[str, ...], expected: str
) -> None:
    code, output = run(*args)
    assert code == 2, output
    assert expected in output


def test_evaluate_and_monitor_once(sandbox: Sandbox) -> None:
    code, output = run("schedule", "evaluate", "2", "--json")
    assert code == 0, output
    assert json.loads(output)["evidence"]["sequential"]["winner"] == "test"
    code, output = run("schedule", "set", "4", "--guardrail", "x:decrease", "--json")
    assert code == 2
    code, output = run("monitor", "--once", "--dry-run", "--json")
    assert code == 0, output
    assert json.loads(output)["dry_run"] is True
