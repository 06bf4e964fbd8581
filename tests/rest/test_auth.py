"""Who may call what: no token, a wrong one, the read-only one and the full one, on every route."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.rest.cases import CASES, CONTEXT_EXPERIMENT, Case
from tests.rest.conftest import BASE, FULL, READONLY, Stack, build_stack

MUTATING = sorted(name for name, case in CASES.items() if case.method != "GET")
READS = sorted(name for name, case in CASES.items() if case.method == "GET")


async def _send(stack: Stack, case: Case, token: str | None, **extra_params: str) -> httpx.Response:
    context = await stack.experiment(CONTEXT_EXPERIMENT)
    return await stack.call(
        case.method,
        case.rest_path(),
        token=token,
        params={**case.params(context), **extra_params},
        json=case.json(context),
    )


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("token", [None, "wrong-token", ""], ids=["none", "wrong", "empty"])
async def test_without_a_valid_token_every_route_is_401(
    stack: Stack, name: str, token: str | None
) -> None:
    answer = await _send(stack, CASES[name], token)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["type"] == "authentication_error"
    assert answer.json()["code"] == "not_authenticated"
    assert (await stack.calls())["total"] == 1  # only the test's own context read


async def test_another_scheme_is_401(stack: Stack) -> None:
    answer = await stack.http.get(BASE, headers={"Authorization": f"Basic {FULL}"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("name", READS)
async def test_the_read_only_token_reads(stack: Stack, name: str) -> None:
    answer = await _send(stack, CASES[name], READONLY)
    assert answer.status_code == 200


@pytest.mark.parametrize("name", MUTATING)
async def test_the_read_only_token_cannot_change_anything(stack: Stack, name: str) -> None:
    answer = await _send(stack, CASES[name], READONLY)
    assert answer.status_code == 403
    assert answer.json()["code"] == "permission_denied"
    assert "dry_run" in answer.json()["detail"]
    assert (await stack.calls())["applied"] == {}


@pytest.mark.parametrize("name", MUTATING)
async def test_the_read_only_token_may_dry_run(stack: Stack, name: str) -> None:
    answer = await _send(stack, CASES[name], READONLY, dry_run="true")
    assert answer.status_code == 200
    assert answer.headers["expctl-outcome"] == "dry_run"
    assert answer.json()["outcome"] == "dry_run"
    assert (await stack.calls())["applied"] == {}


@pytest.mark.parametrize("name", sorted(CASES))
async def test_the_full_token_passes(stack: Stack, name: str) -> None:
    answer = await _send(stack, CASES[name], FULL)
    expected = (405,) if name == "delete_experiment" else CASES[name].row.success_statuses
    assert answer.status_code in expected, answer.text


async def test_projects_outside_the_allowlist_are_403() -> None:
    async with build_stack(projects=[2]) as stack:
        other = await stack.call("GET", BASE)
        other_write = await stack.call("POST", f"{BASE}/1/launch")
        allowed = await stack.call("GET", "/v1/api/projects/2/experiments")
        calls = await stack.calls()
    assert other.status_code == other_write.status_code == 403
    assert other.json()["attr"] == "project_id"
    assert "Project 1" in other.json()["detail"]
    assert allowed.status_code == 200
    assert calls["total"] == 1


async def test_copying_into_a_project_outside_the_allowlist_is_403() -> None:
    async with build_stack(projects=[1]) as stack:
        answer = await stack.call("POST", f"{BASE}/1/copy-to-project", json={"target_team_id": 2})
        calls = await stack.calls()
    assert answer.status_code == 403
    assert answer.json()["attr"] == "target_team_id"
    assert calls["total"] == 0


async def test_the_actor_recorded_is_the_callers_token_name(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="expctl.lifecycle")
    answer = await stack.call("POST", f"{BASE}/2/pause", params={"reason": "deploy freeze"})
    assert answer.status_code == 200
    assert any(
        "by api-token" in record.getMessage() and record.name == "expctl.lifecycle"
        for record in caplog.records
    )
