"""Lifecycle routes through the service: refusals, no-ops, dry runs, the update guard, approvals."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rest.cases import CASES, CONTEXT_EXPERIMENT
from tests.rest.conftest import BASE, Stack

LIFECYCLE = sorted(name for name, case in CASES.items() if case.row.lifecycle_action)
MUTATING = sorted(name for name, case in CASES.items() if case.method != "GET")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _writes(calls: dict[str, Any]) -> list[str]:
    return [
        operation
        for operation, counts in calls["by_operation"].items()
        if WRITE_METHODS & set(counts["methods"])
    ]


@pytest.mark.parametrize(
    ("path", "body", "reason", "status", "allowed"),
    [
        ("1/pause", None, "Experiment has not been launched yet.", "draft", ["launch"]),
        (
            "9/launch",
            None,
            "Feature flag must have a variant with key 'control'",
            "draft",
            [],
        ),
        (
            "6/end",
            {"conclusion": "lost"},
            "Experiment has already ended with won; refusing to overwrite it with lost.",
            "ended",
            ["ship_variant", "archive", "reset"],
        ),
        (
            "2/archive",
            None,
            "Experiment must be ended before it can be archived.",
            "running",
            ["pause", "end", "ship_variant", "reset"],
        ),
        (
            "2/ship-variant",
            {"variant_key": "nope"},
            "Variant 'nope' not found on feature flag.",
            "running",
            ["pause", "end", "ship_variant", "reset"],
        ),
    ],
)
async def test_a_refused_action_is_409_with_reason_status_and_allowed_actions(
    stack: Stack,
    path: str,
    body: dict[str, Any] | None,
    reason: str,
    status: str,
    allowed: list[str],
) -> None:
    answer = await stack.call("POST", f"{BASE}/{path}", json=body)
    assert answer.status_code == 409
    envelope = answer.json()
    assert envelope["type"] == "invalid_request"
    assert envelope["code"] == "transition_refused"
    assert envelope["detail"] == reason
    assert envelope["attr"] is None
    assert envelope["status"] == status
    assert envelope["allowed_actions"] == allowed
    assert _writes(await stack.calls()) == []


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("2/launch", None, "running"),
        ("2/resume", None, "running"),
        ("5/pause", None, "paused"),
        ("6/end", {"conclusion": "won"}, "ended"),
        ("7/archive", None, "archived"),
        ("6/unarchive", None, "ended"),
        ("1/reset", None, "draft"),
    ],
)
async def test_asking_for_the_current_state_is_a_200_no_op(
    stack: Stack, path: str, body: dict[str, Any] | None, status: str
) -> None:
    experiment_id = int(path.split("/")[0])
    before = await stack.experiment(experiment_id)
    answer = await stack.call("POST", f"{BASE}/{path}", json=body)
    assert answer.status_code == 200
    assert answer.headers["expctl-outcome"] == "unchanged"
    assert answer.headers["expctl-status-before"] == answer.headers["expctl-status-after"] == status
    assert "nothing to do" in answer.headers["expctl-message"]
    assert answer.json() == before == await stack.experiment(experiment_id)
    assert _writes(await stack.calls()) == []


async def test_an_applied_action_says_so_in_headers(stack: Stack) -> None:
    answer = await stack.call("POST", f"{BASE}/2/pause")
    assert answer.status_code == 200
    assert answer.headers["expctl-outcome"] == "applied"
    assert answer.headers["expctl-status-before"] == "running"
    assert answer.headers["expctl-status-after"] == "paused"
    assert answer.headers["expctl-message"] == "pause: running -> paused"
    assert answer.json()["feature_flag"]["active"] is False


async def test_launch_warnings_are_headers(stack: Stack) -> None:
    created = await stack.call("POST", BASE, json={"name": "Bare", "feature_flag_key": "bare"})
    answer = await stack.call("POST", f"{BASE}/{created.json()['id']}/launch")
    assert answer.status_code == 200
    assert answer.headers.get_list("expctl-warning") == [
        "Experiment has no primary metric: its results cannot decide a winner."
    ]


@pytest.mark.parametrize("name", MUTATING)
async def test_a_dry_run_sends_no_write_and_changes_nothing(stack: Stack, name: str) -> None:
    case = CASES[name]
    context = await stack.experiment(CONTEXT_EXPERIMENT)
    before = await stack.experiment(case.id or 1)
    await stack.forget_calls()
    answer = await stack.call(
        case.method,
        case.rest_path(),
        params={**case.params(context), "dry_run": "true"},
        json=case.json(context),
    )
    assert answer.status_code == 200, answer.text
    described = answer.json()
    assert described["outcome"] == "dry_run"
    assert described["operation"] == case.operation
    assert described["request"]["method"] == case.method
    assert described["request"]["path"] == case.posthog_path()
    calls = await stack.calls()
    assert _writes(calls) == []
    assert calls["applied"] == {}
    assert await stack.experiment(case.id or 1) == before


async def test_a_lifecycle_dry_run_names_the_target_status(stack: Stack) -> None:
    answer = await stack.call("POST", f"{BASE}/1/launch", params={"dry_run": "true"})
    described = answer.json()
    assert described["status_before"] == "draft"
    assert described["status_after"] == "running"
    assert described["message"] == "would launch: draft → running"
    assert described["experiment"] == await stack.experiment(1)
    assert answer.headers["expctl-outcome"] == "dry_run"
    assert answer.headers["expctl-status-after"] == "running"


async def test_a_dry_run_of_a_refused_action_is_still_refused(stack: Stack) -> None:
    answer = await stack.call("POST", f"{BASE}/1/pause", params={"dry_run": "true"})
    assert answer.status_code == 409
    assert answer.json()["code"] == "transition_refused"


@pytest.mark.parametrize(
    ("field", "value", "hint"),
    [
        ("start_date", "2026-01-01T00:00:00Z", "launch"),
        ("end_date", "2026-01-01T00:00:00Z", "end or ship_variant"),
        ("archived", True, "archive or unarchive"),
        ("conclusion", "won", "end or ship_variant"),
        ("conclusion_comment", "done", "end or ship_variant"),
    ],
)
@pytest.mark.parametrize("method", ["PATCH", "PUT"])
async def test_updates_refuse_lifecycle_fields(
    stack: Stack, field: str, value: Any, hint: str, method: str
) -> None:
    body: dict[str, Any] = {field: value}
    if method == "PUT":
        body |= {"name": "Pricing page redesign", "feature_flag_key": "pricing-page-redesign"}
    answer = await stack.call(method, f"{BASE}/2", json=body)
    assert answer.status_code == 422
    assert answer.json()["code"] == "lifecycle_field"
    assert answer.json()["attr"] == field
    assert hint in answer.json()["detail"]
    assert _writes(await stack.calls()) == []


async def test_an_unchanged_lifecycle_field_echoed_from_a_get_is_dropped(stack: Stack) -> None:
    current = await stack.experiment(2)
    answer = await stack.call(
        "PATCH", f"{BASE}/2", json={"start_date": current["start_date"], "description": "Echo"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["description"] == "Echo"
    assert answer.json()["start_date"] == current["start_date"]


async def test_create_refuses_lifecycle_fields(stack: Stack) -> None:
    answer = await stack.call(
        "POST", BASE, json={"name": "X", "feature_flag_key": "x", "conclusion": "won"}
    )
    assert answer.status_code == 422
    assert answer.json()["attr"] == "conclusion"
    assert _writes(await stack.calls()) == []


async def test_soft_deleting_a_running_experiment_needs_confirm(stack: Stack) -> None:
    refused = await stack.call("PATCH", f"{BASE}/2", json={"deleted": True})
    assert refused.status_code == 409
    assert refused.json()["code"] == "confirmation_required"
    assert refused.json()["attr"] == "confirm"
    assert "?confirm=true" in refused.json()["detail"]
    assert _writes(await stack.calls()) == []

    deleted = await stack.call(
        "PATCH", f"{BASE}/2", json={"deleted": True}, params={"confirm": "true"}
    )
    assert deleted.status_code == 200
    assert deleted.json()["deleted"] is True
    assert deleted.headers["expctl-status-after"] == "deleted"
    assert (await stack.call("GET", f"{BASE}/2")).status_code == 404


async def test_soft_deleting_a_draft_needs_no_confirm(stack: Stack) -> None:
    answer = await stack.call("PATCH", f"{BASE}/1", json={"deleted": True})
    assert answer.status_code == 200
    assert answer.headers["expctl-outcome"] == "applied"


async def test_shipping_an_approval_gated_flag_is_409_with_posthogs_body(stack: Stack) -> None:
    answer = await stack.call("POST", f"{BASE}/8/ship-variant", json={"variant_key": "test"})
    assert answer.status_code == 409
    assert answer.headers["expctl-outcome"] == "approval_required"
    body = answer.json()
    assert body["status"] == "approval_required"
    assert body["change_request_id"]
    assert body["change_request_id"] in answer.headers["expctl-message"]
    experiment = await stack.experiment(8)
    assert experiment["end_date"] is None


async def test_invalid_action_arguments_are_422_naming_the_field(stack: Stack) -> None:
    unknown = await stack.call("POST", f"{BASE}/2/end", json={"foo": 1})
    wrong = await stack.call("POST", f"{BASE}/2/end", json={"conclusion": "maybe"})
    missing = await stack.call("POST", f"{BASE}/2/ship-variant", json={})
    launch_body = await stack.call("POST", f"{BASE}/1/launch", json={"now": True})
    assert [a.status_code for a in (unknown, wrong, missing, launch_body)] == [422] * 4
    assert [a.json()["attr"] for a in (unknown, wrong, missing, launch_body)] == [
        "foo",
        "conclusion",
        "variant_key",
        "now",
    ]
    assert _writes(await stack.calls()) == []


@pytest.mark.parametrize("name", LIFECYCLE)
async def test_an_unknown_experiment_is_404(stack: Stack, name: str) -> None:
    case = CASES[name]
    path = case.rest_path().replace(f"/{case.id}/", "/999/")
    answer = await stack.call("POST", path, json=case.json({}))
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"
