"""Every operation's success body against PostHog's OpenAPI file (and §5 where the file is silent).

The project keeps a copy of the OpenAPI file (a clone must be self-contained); one test checks it
still equals the shared reference when that file exists.

Two documented adjustments to the published schema:

* ``holdout`` is a read-only nested serializer that PostHog renders as ``null`` when there is
  no holdout; drf-spectacular publishes it without ``null``, so it is validated as nullable;
* ``copy_to_project`` is documented as 200 but answers 201 (§0.3), and ``duplicate``,
  ``create_exposure_cohort_for_experiment``, ``recalculate_timeseries``, ``timeseries_results``
  and ``stats`` are documented with no response body: those are validated against the shapes
  of §5 written out below.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import FormatChecker
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from sandbox import SandboxSettings
from tests.sandbox.support import AA, APPROVAL, DRAFT, ENDED, FROZEN_AT, PAUSED, WINNER, P, funnel

HERE = Path(__file__).parent
COPY = HERE / "posthog-experiments-openapi.json"
SHARED = HERE.parents[1].parent / "shared" / "reference" / "posthog-experiments-openapi.json"
DOCUMENT_URI = "urn:posthog-experiments-openapi"

NULLABLE_HOLDOUT = {
    "oneOf": [{"$ref": "#/components/schemas/ExperimentHoldout"}, {"type": "null"}],
    "readOnly": True,
}
ISO = {"type": "string", "format": "date-time"}
RECALCULATION = {
    "type": "object",
    "required": ["id", "experiment_id", "metric_uuid", "fingerprint", "status", "created_at"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "experiment_id": {"type": "integer"},
        "metric_uuid": {"type": ["string", "null"]},
        "fingerprint": {"type": "string"},
        "status": {"enum": ["pending", "in_progress"]},
        "created_at": ISO,
    },
}
TIMESERIES = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "experiment_id", "metric_uuid", "status", "timeseries", "errors", "computed_at",
        "created_at", "updated_at", "recalculation_status", "recalculation_created_at",
        "formatted_results",
    ],
    "properties": {
        "experiment_id": {"type": "integer"},
        "metric_uuid": {"type": "string"},
        "status": {"enum": ["pending", "completed", "partial", "failed"]},
        "timeseries": {
            "type": "object",
            "propertyNames": {"pattern": r"^\d{4}-\d{2}-\d{2}$"},
            "additionalProperties": {"type": ["object", "null"]},
        },
        "errors": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
        "computed_at": {"type": ["string", "null"], "format": "date-time"},
        "created_at": ISO,
        "updated_at": ISO,
        "recalculation_status": {"enum": ["pending", "in_progress", None]},
        "recalculation_created_at": {"type": ["string", "null"], "format": "date-time"},
        "formatted_results": {"type": "string"},
    },
}  # fmt: skip
STATS = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "launched_last_30d", "launched_previous_30d", "percent_change", "active_experiments",
        "completed_last_30d",
    ],
    "properties": {
        "launched_last_30d": {"type": "integer"},
        "launched_previous_30d": {"type": "integer"},
        "percent_change": {"type": "number"},
        "active_experiments": {"type": "integer"},
        "completed_last_30d": {"type": "integer"},
    },
}  # fmt: skip
COHORT = {
    "type": "object",
    "required": ["cohort"],
    "properties": {
        "cohort": {
            "type": "object",
            "required": ["id", "name", "is_static", "is_calculating", "filters", "created_at"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string", "pattern": '^Users exposed to experiment ".*"$'},
                "is_static": {"const": False},
                "is_calculating": {"const": True},
                "filters": {"type": "object"},
                "created_at": ISO,
            },
        }
    },
}


def _document() -> dict[str, Any]:
    document = json.loads(COPY.read_text())
    schemas = document["components"]["schemas"]
    for name in ("Experiment", "ExperimentBasic"):
        schemas[name]["properties"]["holdout"] = copy.deepcopy(NULLABLE_HOLDOUT)
    return document


DOCUMENT = _document()
REGISTRY: Registry[Any] = Registry().with_resource(
    DOCUMENT_URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012)
)


def _validate(schema: dict[str, Any], body: Any) -> None:
    validator = OAS31Validator(schema, registry=REGISTRY, format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(body), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def _response_schema(path: str, method: str, status: str) -> dict[str, Any]:
    operation = DOCUMENT["paths"][path][method]
    content = operation["responses"][status]["content"]["application/json"]["schema"]
    return _absolute(content)


def _absolute(schema: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(schema).replace('"#/components/', f'"{DOCUMENT_URI}#/components/')
    loaded: dict[str, Any] = json.loads(text)
    return loaded


EXPERIMENT = _absolute({"$ref": "#/components/schemas/Experiment"})


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    """Recalculations stay pending, so the idempotent 200 can be observed."""
    return SandboxSettings(clock_start=FROZEN_AT, clock_frozen=True, recalculation_seconds=60)


def test_copy_matches_shared_reference() -> None:
    assert COPY.exists()
    if SHARED.exists():
        assert json.loads(COPY.read_text()) == json.loads(SHARED.read_text())


def test_validator_rejects_a_wrong_body() -> None:
    with pytest.raises(AssertionError):
        _validate(EXPERIMENT, {"id": "not-an-int"})


async def _ok(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_collection_operations(client: httpx.AsyncClient) -> None:
    body = await _ok(await client.get(f"{P}/", params={"limit": 3}), 200)
    _validate(_response_schema("/api/projects/{project_id}/experiments/", "get", "200"), body)
    assert body["next"] is not None
    body = await _ok(await client.get(f"{P}/eligible_feature_flags/"), 200)
    _validate(
        _response_schema(
            "/api/projects/{project_id}/experiments/eligible_feature_flags/", "get", "200"
        ),
        body,
    )
    body = await _ok(await client.get(f"{P}/requires_flag_implementation/"), 200)
    _validate(
        _response_schema(
            "/api/projects/{project_id}/experiments/requires_flag_implementation/", "get", "200"
        ),
        body,
    )
    _validate(STATS, await _ok(await client.get(f"{P}/stats/"), 200))


async def test_eligible_feature_flags_error_body(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{P}/eligible_feature_flags/", params={"limit": "x"})
    assert response.status_code == 400
    _validate(
        _response_schema(
            "/api/projects/{project_id}/experiments/eligible_feature_flags/", "get", "400"
        ),
        response.json(),
    )


async def test_experiment_operations(client: httpx.AsyncClient) -> None:
    created = await _ok(
        await client.post(
            f"{P}/",
            json={
                "name": "Contract",
                "feature_flag_key": "contract",
                "metrics": [funnel("$pageview")],
            },
        ),
        201,
    )
    _validate(_response_schema("/api/projects/{project_id}/experiments/", "post", "201"), created)
    detail = f"{P}/{created['id']}"
    schema = EXPERIMENT
    _validate(schema, await _ok(await client.get(f"{detail}/"), 200))
    _validate(schema, await _ok(await client.patch(f"{detail}/", json={"description": "x"}), 200))
    _validate(
        schema,
        await _ok(
            await client.put(
                f"{detail}/", json={"name": "Contract 2", "feature_flag_key": "contract"}
            ),
            200,
        ),
    )
    _validate(schema, await _ok(await client.post(f"{detail}/launch/"), 200))
    _validate(schema, await _ok(await client.post(f"{detail}/pause/"), 200))
    _validate(schema, await _ok(await client.post(f"{detail}/resume/"), 200))
    _validate(
        COHORT,
        await _ok(await client.post(f"{detail}/create_exposure_cohort_for_experiment/"), 201),
    )
    metric = (await client.get(f"{detail}/")).json()["metrics"][0]
    recalculation = {"metric": metric, "fingerprint": metric["fingerprint"]}
    _validate(
        RECALCULATION,
        await _ok(await client.post(f"{detail}/recalculate_timeseries/", json=recalculation), 201),
    )
    _validate(
        RECALCULATION,
        await _ok(await client.post(f"{detail}/recalculate_timeseries/", json=recalculation), 200),
    )
    params = {"metric_uuid": metric["uuid"], "fingerprint": metric["fingerprint"]}
    _validate(
        TIMESERIES, await _ok(await client.get(f"{detail}/timeseries_results/", params=params), 200)
    )
    _validate(
        schema, await _ok(await client.post(f"{detail}/end/", json={"conclusion": "won"}), 200)
    )
    _validate(schema, await _ok(await client.post(f"{detail}/archive/"), 200))
    _validate(schema, await _ok(await client.post(f"{detail}/unarchive/"), 200))
    _validate(
        schema,
        await _ok(await client.post(f"{detail}/ship_variant/", json={"variant_key": "test"}), 200),
    )
    _validate(schema, await _ok(await client.post(f"{detail}/reset/"), 200))
    _validate(schema, await _ok(await client.post(f"{detail}/duplicate/", json={}), 201))
    _validate(
        schema,
        await _ok(await client.post(f"{detail}/copy_to_project/", json={"target_team_id": 2}), 201),
    )
    destroy = await client.delete(f"{detail}/")
    assert destroy.status_code == 405
    assert destroy.content == b""


@pytest.mark.parametrize("experiment_id", [DRAFT, WINNER, AA, PAUSED, ENDED, APPROVAL])
async def test_demo_experiments_validate(client: httpx.AsyncClient, experiment_id: int) -> None:
    body = await _ok(await client.get(f"{P}/{experiment_id}/"), 200)
    _validate(EXPERIMENT, body)
    for metric in body["metrics"] + body["metrics_secondary"]:
        if body["status"] == "draft":
            continue
        params = {"metric_uuid": metric["uuid"], "fingerprint": metric["fingerprint"]}
        _validate(
            TIMESERIES,
            await _ok(
                await client.get(f"{P}/{experiment_id}/timeseries_results/", params=params), 200
            ),
        )
