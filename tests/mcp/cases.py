"""For every operation: valid tool arguments on the demo seed, and the same call made directly.

The direct call splits the arguments by the row's own query and body models and sends them with
the client, without going through the MCP adapter, so the two can be compared.
"""

from __future__ import annotations

from typing import Any

from adapters.posthog import OPERATIONS_BY_NAME, PostHogClient

STATIC: dict[str, dict[str, Any]] = {
    "list_experiments": {"status": "running", "order": "-start_date"},
    "create_experiment": {
        "name": "Created by an agent",
        "feature_flag_key": "agent-created",
        "description": "From the MCP tests.",
    },
    "list_eligible_feature_flags": {"search": "beta"},
    "check_flag_implementation": {"events": [{"id": "$pageview"}]},
    "get_experiment_stats": {},
    "get_experiment": {"id": 2},
    "update_experiment": {
        "id": 1,
        "name": "Checkout button copy (renamed)",
        "feature_flag_key": "checkout-button-copy",
    },
    "patch_experiment": {"id": 1, "description": "Patched by an agent."},
    "delete_experiment": {"id": 1},
    "archive_experiment": {"id": 6},
    "copy_experiment_to_project": {"id": 1, "target_team_id": 2},
    "create_exposure_cohort": {"id": 2},
    "duplicate_experiment": {"id": 1, "name": "Checkout rerun", "feature_flag_key": "rerun"},
    "end_experiment": {"id": 2, "conclusion": "won", "conclusion_comment": "Test wins."},
    "launch_experiment": {"id": 1},
    "pause_experiment": {"id": 2},
    "reset_experiment": {"id": 5},
    "resume_experiment": {"id": 5},
    "ship_variant": {"id": 2, "variant_key": "test", "conclusion": "won"},
    "unarchive_experiment": {"id": 7},
}


async def tool_arguments(operation: str, posthog: PostHogClient) -> dict[str, Any]:
    """Arguments that make ``operation``'s tool succeed on a fresh demo sandbox."""
    if operation in STATIC:
        return dict(STATIC[operation])
    experiment = await posthog.get_experiment(2)
    metric = experiment.raw()["metrics"][0]
    if operation == "recalculate_timeseries":
        return {"id": 2, "metric": metric, "fingerprint": metric["fingerprint"]}
    if operation == "get_timeseries_results":
        return {"id": 2, "metric_uuid": metric["uuid"], "fingerprint": metric["fingerprint"]}
    raise KeyError(operation)


async def direct(operation: str, arguments: dict[str, Any], posthog: PostHogClient) -> Any:
    """The same call through the client alone: PostHog's JSON."""
    op = OPERATIONS_BY_NAME[operation]
    rest = {k: v for k, v in arguments.items() if k not in ("id", "project_id")}
    query_fields = set(op.query.model_fields) if op.query else set()
    query = {k: v for k, v in rest.items() if k in query_fields}
    body = {k: v for k, v in rest.items() if k not in query_fields}
    response = await posthog.request(
        op,
        id=arguments.get("id"),
        project_id=arguments.get("project_id"),
        query=query or None,
        body=body if op.body is not None else None,
    )
    return response.body
