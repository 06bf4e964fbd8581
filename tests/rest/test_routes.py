"""Every capability route, through the adapter, answers as PostHog (the sandbox) does when called directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from adapters.posthog.operations import OPERATIONS, OPERATIONS_BY_NAME
from adapters.rest.routes import kind_of, operation_router, route_path, routing_order
from tests.rest.cases import CASES, CONTEXT_EXPERIMENT, scrub_uuids
from tests.rest.conftest import BASE, Stack

CAPABILITY = (
    Path(__file__).parents[2] / "adapters" / "posthog" / "posthog-experiments.capability.yaml"
)


def _body(response: httpx.Response) -> Any:
    return response.json() if response.content else None


def test_every_row_has_a_case() -> None:
    assert set(CASES) == set(OPERATIONS_BY_NAME)


def test_each_capability_path_is_served_once_per_method() -> None:
    document = yaml.safe_load(CAPABILITY.read_text())
    (rest,) = [e for e in document["capability"]["exposes"] if e["type"] == "rest"]
    declared = {
        (resource["path"].replace("{project-id}", "{project_id}"), operation["method"])
        for resource in rest["resources"]
        for operation in resource["operations"]
    }
    served = [
        (route.path_format, method)
        for route in operation_router().routes
        for method in getattr(route, "methods", ())
    ]
    assert len(served) == len(set(served)) == 22
    assert set(served) == declared


def test_static_segments_come_before_the_id_routes() -> None:
    paths = [route_path(op).replace(":int", "") for op in routing_order(OPERATIONS)]
    first_id = next(i for i, path in enumerate(paths) if "{id}" in path)
    assert all("{id}" not in path for path in paths[:first_id])
    assert all("{id}" in path for path in paths[first_id:])
    assert {p.rsplit("/", 1)[1] for p in paths[:first_id]} >= {
        "stats",
        "eligible-feature-flags",
        "requires-flag-implementation",
    }


def test_a_duplicate_route_is_refused() -> None:
    with pytest.raises(ValueError, match="both GET"):
        routing_order([OPERATIONS[0], OPERATIONS[0]])


@pytest.mark.parametrize("name", sorted(CASES))
async def test_route_answers_as_posthog_does(stack: Stack, name: str) -> None:
    case = CASES[name]
    lifecycle = case.row.lifecycle_action is not None
    context = await stack.experiment(CONTEXT_EXPERIMENT)
    answer = await stack.call(
        case.method, case.rest_path(), params=case.params(context), json=case.json(context)
    )
    after = await stack.experiment(case.id) if lifecycle and case.id else None

    await stack.reset()
    context = await stack.experiment(CONTEXT_EXPERIMENT)
    direct = await stack.direct.request(
        case.method, case.posthog_path(), params=case.params(context), json=case.json(context)
    )
    direct_after = await stack.experiment(case.id) if lifecycle and case.id else None

    assert answer.status_code == direct.status_code, answer.text
    if lifecycle:
        assert answer.headers["expctl-outcome"] == "applied"
        assert answer.json() == after == direct_after
    else:
        assert scrub_uuids(_body(answer)) == scrub_uuids(_body(direct))
    if kind_of(case.row).value == "update":
        assert answer.headers["expctl-outcome"] == "applied"
        assert answer.headers["expctl-status-before"] == "draft"


async def test_query_filters_reach_posthog(stack: Stack) -> None:
    running = await stack.call("GET", BASE, params={"status": "running"})
    paused = await stack.call("GET", BASE, params={"status": "paused"})
    archived = await stack.call("GET", BASE, params={"archived": "true"})
    named = await stack.call("GET", BASE, params={"search": "pricing"})
    assert {e["id"] for e in running.json()["results"]} == {2, 3, 4, 8}
    assert {e["id"] for e in paused.json()["results"]} == {5}
    assert {e["id"] for e in archived.json()["results"]} == {7, 10}
    assert {e["id"] for e in named.json()["results"]} >= {2}


async def test_posthog_errors_keep_their_status_and_body(stack: Stack) -> None:
    through = await stack.call("GET", f"{BASE}/999")
    direct = await stack.direct.get("/api/projects/1/experiments/999/")
    refused = await stack.call("POST", f"{BASE}/1/copy-to-project", json={"target_team_id": 3})
    direct_refused = await stack.direct.post(
        "/api/projects/1/experiments/1/copy_to_project/", json={"target_team_id": 3}
    )
    assert (through.status_code, through.json()) == (direct.status_code, direct.json())
    assert through.status_code == 404
    assert (refused.status_code, refused.json()) == (
        direct_refused.status_code,
        direct_refused.json(),
    )
    assert refused.status_code >= 400


def _case_ids() -> list[str]:
    return [case.operation for case in CASES.values()]


def test_openapi_documents_every_route_from_the_table() -> None:
    document = _openapi()
    operations = {
        op["operationId"]: (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    }
    for row in OPERATIONS:
        _path, method, op = operations[row.name]
        assert method.upper() == row.method
        assert op["summary"] == row.summary
        assert row.description in op["description"]
        assert "Mixin" not in op["summary"] + op["description"]
        assert op["tags"] == (["lifecycle"] if row.lifecycle_action else ["experiments"])
        assert op["security"] == [{"bearer": []}]
        names = {p["name"] for p in op.get("parameters", [])}
        assert {"project_id"} <= names
        if row.has_id:
            assert "id" in names
        if row.query is not None:
            assert set(row.query.model_fields) <= names
        if row.method != "GET":
            assert "dry_run" in names
        if row.body is not None:
            body = op["requestBody"]["content"]["application/json"]
            assert body["schema"]["$ref"].endswith("/" + row.body.__name__)
            assert row.body.__name__ in document["components"]["schemas"]
            if row.examples:
                assert body["example"] == row.examples
    assert {"/healthz", "/readyz"} <= set(document["paths"])
    assert {t["name"] for t in document["tags"]} >= {"experiments", "lifecycle", "automation"}


def _openapi() -> dict[str, Any]:
    from adapters.posthog import PostHogClient
    from adapters.rest.app import create_app
    from adapters.security import TokenVerifier
    from lifecycle.service import LifecycleService

    client = PostHogClient(api_key="phx_docs", host="http://docs.invalid", project_id=1)
    app = create_app(
        client=client, service=LifecycleService(client), verifier=TokenVerifier(full_token="t")
    )
    return app.openapi()


async def test_openapi_and_docs_are_served(stack: Stack) -> None:
    document = await stack.call("GET", "/openapi.json", token=None)
    docs = await stack.call("GET", "/docs", token=None)
    assert document.status_code == 200
    assert document.json()["info"]["title"] == "expctl"
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


def test_cases_cover_every_kind() -> None:
    kinds = {kind_of(CASES[name].row) for name in _case_ids()}
    assert {k.value for k in kinds} == {"read", "create", "update", "delete", "lifecycle", "action"}


def test_case_paths_match_the_rows() -> None:
    for case in CASES.values():
        assert "{" not in case.rest_path()
        assert case.posthog_path().endswith("/")
