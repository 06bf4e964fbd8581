"""The lifecycle service against the sandbox: the matrix, idempotency, dry runs, faults and races."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from adapters.posthog import NotFoundError, PostHogClient
from lifecycle import (
    ActionRecord,
    ConfirmationRequiredError,
    ExperimentNotFoundError,
    LifecycleFieldError,
    LifecycleService,
    Outcome,
    TransitionRefusedError,
)
from sandbox.server import running_server
from tests.conftest import SANDBOX_KEY, sandbox_settings

DRAFT, RUNNING, PAUSED, ENDED, ARCHIVED = 1, 2, 5, 6, 7  # demo seed ids
NOT_LAUNCHED = "Experiment has not been launched yet."
LAUNCHED = "Experiment has already been launched."
HAS_ENDED = "Experiment has already ended."
MUST_END = "Experiment must be ended before it can be archived."

# Through the service: applied → new status, unchanged (already there), or refused → reason.
EXPECTED: dict[int, dict[str, tuple[str, str]]] = {
    DRAFT: {
        "launch": ("applied", "running"),
        "pause": ("refused", NOT_LAUNCHED),
        "resume": ("refused", NOT_LAUNCHED),
        "end": ("refused", NOT_LAUNCHED),
        "ship_variant": ("refused", NOT_LAUNCHED),
        "archive": ("refused", MUST_END),
        "unarchive": ("unchanged", "draft"),
        "reset": ("unchanged", "draft"),
    },
    RUNNING: {
        "launch": ("unchanged", "running"),
        "pause": ("applied", "paused"),
        "resume": ("unchanged", "running"),
        "end": ("applied", "ended"),
        "ship_variant": ("applied", "ended"),
        "archive": ("refused", MUST_END),
        "unarchive": ("unchanged", "running"),
        "reset": ("applied", "draft"),
    },
    PAUSED: {
        "launch": ("refused", LAUNCHED),
        "pause": ("unchanged", "paused"),
        "resume": ("applied", "running"),
        "end": ("applied", "ended"),
        "ship_variant": ("applied", "ended"),
        "archive": ("refused", MUST_END),
        "unarchive": ("unchanged", "paused"),
        "reset": ("applied", "draft"),
    },
    ENDED: {
        "launch": ("refused", LAUNCHED),
        "pause": ("refused", HAS_ENDED),
        "resume": ("refused", HAS_ENDED),
        "end": ("unchanged", "ended"),
        "ship_variant": ("applied", "ended"),
        "archive": ("applied", "archived"),
        "unarchive": ("unchanged", "ended"),
        "reset": ("applied", "draft"),
    },
    ARCHIVED: {
        "launch": ("refused", LAUNCHED),
        "pause": ("refused", HAS_ENDED),
        "resume": ("refused", HAS_ENDED),
        "end": ("unchanged", "archived"),
        "ship_variant": (
            "refused",
            "Experiment is archived: unarchive it before shipping a variant.",
        ),
        "archive": ("unchanged", "archived"),
        "unarchive": ("applied", "ended"),
        "reset": ("applied", "draft"),
    },
}
ACTIONS = ["launch", "pause", "resume", "end", "ship_variant", "archive", "unarchive", "reset"]


async def calls(admin: httpx.AsyncClient) -> dict[str, Any]:
    return (await admin.get("/calls")).json()


def posts(snapshot: dict[str, Any]) -> int:
    return sum(
        op["count"]
        for name, op in snapshot["by_operation"].items()
        if not name.endswith("_retrieve") and name != "experiments_list"
    )


async def arguments_for(
    service: LifecycleService, experiment_id: int, action: str
) -> dict[str, Any]:
    if action != "ship_variant":
        return {}
    experiment = await service.snapshot(experiment_id)
    assert experiment.feature_flag is not None
    return {"variant_key": experiment.feature_flag.variant_keys[-1]}


@pytest.mark.parametrize("experiment_id", list(EXPECTED))
@pytest.mark.parametrize("action", ACTIONS)
async def test_matrix_through_the_service(
    lifecycle_service: LifecycleService, admin: httpx.AsyncClient, experiment_id: int, action: str
) -> None:
    outcome, expected = EXPECTED[experiment_id][action]
    arguments = await arguments_for(lifecycle_service, experiment_id, action)
    await admin.delete("/calls")
    if outcome == "refused":
        with pytest.raises(TransitionRefusedError) as raised:
            await lifecycle_service.apply(experiment_id, action, arguments, actor="test")
        assert raised.value.reason == expected
        assert action not in raised.value.allowed
        assert posts(await calls(admin)) == 0, "a refusal must not reach PostHog"
        return
    result = await lifecycle_service.apply(experiment_id, action, arguments, actor="test")
    assert result.outcome.value == outcome
    assert result.record.status_after == expected
    assert result.changed is (outcome == "applied")
    assert posts(await calls(admin)) == (1 if outcome == "applied" else 0)


@pytest.mark.parametrize("experiment_id", list(EXPECTED))
@pytest.mark.parametrize("action", ACTIONS)
async def test_dry_run_changes_nothing(
    lifecycle_service: LifecycleService, admin: httpx.AsyncClient, experiment_id: int, action: str
) -> None:
    outcome, _ = EXPECTED[experiment_id][action]
    if outcome != "applied":
        return
    arguments = await arguments_for(lifecycle_service, experiment_id, action)
    before = (await lifecycle_service.snapshot(experiment_id)).raw()
    await admin.delete("/calls")
    result = await lifecycle_service.apply(experiment_id, action, arguments, dry_run=True)
    assert result.outcome is Outcome.DRY_RUN
    assert result.request is not None
    assert result.request["method"] == "POST"
    assert result.request["path"].startswith(f"/api/projects/1/experiments/{experiment_id}/")
    assert result.message.startswith("would ")
    assert posts(await calls(admin)) == 0
    assert (await lifecycle_service.snapshot(experiment_id)).raw() == before


async def test_every_applied_action_is_idempotent(lifecycle_service: LifecycleService) -> None:
    for experiment_id, action, arguments in [
        (DRAFT, "launch", {}),
        (DRAFT, "pause", {}),
        (DRAFT, "resume", {}),
        (DRAFT, "end", {"conclusion": "won"}),
        (DRAFT, "ship_variant", {"variant_key": "test"}),
        (DRAFT, "archive", {}),
        (DRAFT, "unarchive", {}),
        (DRAFT, "reset", {}),
    ]:
        first = await lifecycle_service.apply(experiment_id, action, arguments)
        again = await lifecycle_service.apply(experiment_id, action, arguments)
        assert first.outcome is Outcome.APPLIED, (action, first.message)
        assert again.outcome is Outcome.UNCHANGED, (action, again.message)
        assert "nothing to do" in again.message


async def test_ending_again_with_another_conclusion_is_refused(
    lifecycle_service: LifecycleService,
) -> None:
    await lifecycle_service.apply(RUNNING, "end", {"conclusion": "won"})
    same = await lifecycle_service.apply(RUNNING, "end", {"conclusion": "won"})
    assert same.outcome is Outcome.UNCHANGED
    with pytest.raises(
        TransitionRefusedError, match="already ended with won; refusing to overwrite it with lost"
    ):
        await lifecycle_service.apply(RUNNING, "end", {"conclusion": "lost"})


async def test_approval_gated_ship_waits_and_changes_nothing(
    lifecycle_service: LifecycleService,
) -> None:
    result = await lifecycle_service.apply(8, "ship_variant", {"variant_key": "test"})
    assert result.outcome is Outcome.APPROVAL_REQUIRED
    assert result.record.change_request_id
    assert "waiting for approval" in result.message
    assert (await lifecycle_service.snapshot(8)).end_date is None


async def test_launch_preflight_uses_posthogs_text_and_our_policies(
    lifecycle_service: LifecycleService, posthog: PostHogClient
) -> None:
    with pytest.raises(TransitionRefusedError) as raised:
        await lifecycle_service.apply(9, "launch")
    assert raised.value.reason == "Feature flag must have a variant with key 'control'"
    running = await posthog.get_experiment(RUNNING)
    assert running.feature_flag is not None
    twin = await posthog.create_experiment(
        {"name": "Twin", "feature_flag_key": running.feature_flag.key}
    )
    with pytest.raises(
        TransitionRefusedError, match=f"already serves launched experiment\\(s\\) {RUNNING}"
    ):
        await lifecycle_service.apply(twin.id, "launch")
    bare = await posthog.create_experiment({"name": "No metrics", "feature_flag_key": "bare-flag"})
    result = await lifecycle_service.apply(bare.id, "launch")
    assert result.outcome is Outcome.APPLIED
    assert result.warnings == [
        "Experiment has no primary metric: its results cannot decide a winner."
    ]


async def test_concurrent_launches_make_one_call(
    lifecycle_service: LifecycleService, admin: httpx.AsyncClient
) -> None:
    results = await asyncio.gather(
        *(lifecycle_service.apply(DRAFT, "launch", actor=f"caller-{i}") for i in range(20))
    )
    assert sorted(r.outcome.value for r in results) == ["applied"] + ["unchanged"] * 19
    snapshot = await calls(admin)
    assert snapshot["by_operation"]["experiments_launch_create"]["count"] == 1
    assert snapshot["applied"]["1/1"] == {"launch": 1}


async def test_records_say_who_did_what(posthog: PostHogClient) -> None:
    seen: list[ActionRecord] = []
    service = LifecycleService(posthog, on_record=seen.append)
    await service.apply(RUNNING, "pause", actor="flow:test", reason="guardrail tripped")
    await service.apply(RUNNING, "pause", actor="cli")
    assert [
        (r.action, r.actor, r.outcome.value, r.status_before, r.status_after) for r in seen
    ] == [
        ("pause", "flow:test", "applied", "running", "paused"),
        ("pause", "cli", "unchanged", "paused", "paused"),
    ]
    assert seen[0].reason == "guardrail tripped"


async def test_update_guard_refuses_lifecycle_fields(lifecycle_service: LifecycleService) -> None:
    with pytest.raises(LifecycleFieldError) as raised:
        await lifecycle_service.update(RUNNING, {"end_date": "2030-01-01T00:00:00Z", "name": "x"})
    assert "end_date" in raised.value.fields
    assert "use end or ship_variant" in str(raised.value)
    with pytest.raises(LifecycleFieldError, match="archive or unarchive"):
        await lifecycle_service.update(RUNNING, {"archived": True})
    current = await lifecycle_service.snapshot(RUNNING)
    echoed = {
        "name": "Renamed",
        "feature_flag_key": current.feature_flag_key,
        "start_date": current.raw()["start_date"],
        "archived": False,
    }
    result = await lifecycle_service.update(RUNNING, echoed, full=True)
    assert result.experiment.name == "Renamed"
    assert result.request is not None
    assert "start_date" not in result.request["body"]


async def test_soft_delete_needs_confirmation_when_running(
    lifecycle_service: LifecycleService,
) -> None:
    with pytest.raises(ConfirmationRequiredError, match="confirm"):
        await lifecycle_service.update(RUNNING, {"deleted": True})
    dry = await lifecycle_service.update(RUNNING, {"deleted": True}, confirm=True, dry_run=True)
    assert dry.outcome is Outcome.DRY_RUN
    await lifecycle_service.snapshot(RUNNING)
    deleted = await lifecycle_service.update(RUNNING, {"deleted": True}, confirm=True)
    assert deleted.record.status_after == "deleted"
    with pytest.raises((NotFoundError, ExperimentNotFoundError)):
        await lifecycle_service.snapshot(RUNNING)
    restored = await lifecycle_service.update(RUNNING, {"deleted": False})
    assert restored.record.action == "restore"
    assert (await lifecycle_service.snapshot(RUNNING)).id == RUNNING
    ended = await lifecycle_service.update(ENDED, {"deleted": True})
    assert ended.outcome is Outcome.APPLIED


async def test_throttled_post_is_resent_after_retry_after(
    posthog: PostHogClient, admin: httpx.AsyncClient
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    service = LifecycleService(posthog, sleep=sleep)
    await admin.put(
        "/faults",
        json={"rules": [{"kind": "throttle", "count": 1, "retry_after": 3, "methods": ["POST"]}]},
    )
    result = await service.apply(DRAFT, "launch")
    assert result.outcome is Outcome.APPLIED
    assert slept == [3.0]
    assert (await calls(admin))["applied"]["1/1"] == {"launch": 1}


async def test_connection_dropped_after_the_write_is_not_a_second_launch(
    posthog: PostHogClient, lifecycle_service: LifecycleService, admin: httpx.AsyncClient
) -> None:
    await admin.put(
        "/faults",
        json={"rules": [{"kind": "drop_after_commit", "path_regex": "/launch/$", "count": 1}]},
    )
    result = await lifecycle_service.apply(DRAFT, "launch")
    assert result.outcome is Outcome.APPLIED
    assert result.record.status_after == "running"
    snapshot = await calls(admin)
    assert snapshot["applied"]["1/1"] == {"launch": 1}
    assert snapshot["by_operation"]["experiments_launch_create"]["count"] == 1


async def test_server_error_before_the_write_is_retried_once(
    lifecycle_service: LifecycleService, admin: httpx.AsyncClient
) -> None:
    await admin.put(
        "/faults",
        json={"rules": [{"kind": "error", "status": 503, "path_regex": "/end/$", "count": 1}]},
    )
    result = await lifecycle_service.apply(RUNNING, "end", {"conclusion": "inconclusive"})
    assert result.outcome is Outcome.APPLIED
    snapshot = await calls(admin)
    assert snapshot["by_operation"]["experiments_end_create"]["count"] == 2
    assert snapshot["applied"]["1/2"] == {"end": 1}


async def test_timeout_on_launch_over_real_http_launches_once() -> None:
    with running_server(sandbox_settings()) as server:
        admin = httpx.AsyncClient(
            base_url=f"{server.url}/_sandbox", headers={"Authorization": f"Bearer {SANDBOX_KEY}"}
        )
        await admin.put(
            "/faults",
            json={
                "rules": [
                    {
                        "kind": "delay_after_commit",
                        "latency_ms": 1500,
                        "path_regex": "/launch/$",
                        "count": 1,
                    }
                ]
            },
        )
        async with PostHogClient(
            api_key=SANDBOX_KEY, host=server.url, project_id=1, timeout=0.5, rate_limit=False
        ) as client:
            result = await LifecycleService(client).apply(DRAFT, "launch")
        snapshot = (await admin.get("/calls")).json()
        await admin.aclose()
    assert result.outcome is Outcome.APPLIED
    assert result.record.status_after == "running"
    assert snapshot["applied"]["1/1"] == {"launch": 1}
    assert snapshot["by_operation"]["experiments_launch_create"]["count"] == 1


async def test_options_list_allowed_and_refused(lifecycle_service: LifecycleService) -> None:
    listed = await lifecycle_service.options(PAUSED)
    assert listed["status"] == "paused"
    assert listed["allowed_actions"] == ["resume", "end", "ship_variant", "reset"]
    assert listed["refused"]["pause"] == "Experiment is already paused."
