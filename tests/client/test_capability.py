"""The operation table against the capability file: same 22 operations, parameters and names."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
import yaml
from pydantic.fields import FieldInfo

from adapters.posthog import OPERATIONS
from adapters.posthog.operations import Operation

ROOT = Path(__file__).resolve().parents[2]
PROJECT_COPY = ROOT / "adapters" / "posthog" / "posthog-experiments.capability.yaml"
SHARED_COPY = ROOT.parent / "shared" / "reference" / "posthog-experiments.capability.yaml"

# Query parameters the table adds beyond the capability's (PostHog serves them; the seed lost them).
EXTRA_QUERY = {
    "list_eligible_feature_flags": {
        "search",
        "limit",
        "offset",
        "active",
        "created_by_id",
        "order",
        "evaluation_runtime",
        "has_evaluation_contexts",
    },
    "check_flag_implementation": {"events", "actions"},
}
# Era B bodies the capability does not declare (archive's optional disable_feature_flag).
EXTRA_BODY = {"archive_experiment"}
# The capability declares a body for these; PostHog reads none, so the table sends an empty object.
EMPTY_BODY = {"create_exposure_cohort"}


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def capability() -> dict[str, Any]:
    return load(PROJECT_COPY)


def consumed_operations(
    capability: dict[str, Any],
) -> dict[str, tuple[str, str, list[dict[str, Any]]]]:
    """name -> (method, path, inputParameters), de-duplicated (each appears twice in the seed)."""
    found: dict[str, tuple[str, str, list[dict[str, Any]]]] = {}
    for resource in capability["capability"]["consumes"][0]["resources"]:
        for op in resource["operations"]:
            entry = (op["method"], resource["path"], op.get("inputParameters", []))
            assert found.setdefault(op["name"], entry) == entry, (
                f"{op['name']} differs between copies"
            )
    return found


def json_type(info: FieldInfo) -> str:
    annotation = info.annotation
    while get_origin(annotation) is not None and type(None) in get_args(annotation):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    while get_origin(annotation) is not None and get_origin(annotation).__name__ == "Annotated":
        annotation = get_args(annotation)[0]
    if get_origin(annotation) is Literal:
        annotation = type(get_args(annotation)[0])
    for base, name in ((bool, "boolean"), (int, "integer"), (str, "string")):
        if isinstance(annotation, type) and issubclass(annotation, base):
            return name
    return "object"


def table_parameters(op: Operation[Any]) -> set[tuple[str, str, str]]:
    params: set[tuple[str, str, str]] = set()
    if op.has_id:
        params.add(("id", "path", "integer"))
    if op.query is not None:
        params |= {(name, "query", json_type(info)) for name, info in op.query.model_fields.items()}
    if op.body is not None:
        params.add(("body", "body", "object"))
    return params


# The seed as received (api-evangelist/posthog@d820c6c); a clone without ../shared checks this.
CAPABILITY_SHA256 = "6897d96ba56c7e384c6cf53cce92c7c29baf4f883dbe4e4b7a02b2919e061594"


def test_project_copy_matches_shared_reference() -> None:
    copy = PROJECT_COPY.read_bytes()
    assert hashlib.sha256(copy).hexdigest() == CAPABILITY_SHA256
    if SHARED_COPY.exists():
        assert copy == SHARED_COPY.read_bytes()


def test_table_covers_exactly_the_distinct_consumed_operations(capability: dict[str, Any]) -> None:
    consumed = consumed_operations(capability)
    assert len(consumed) == 22
    assert len(OPERATIONS) == 22
    table = {op.capability_operation: (op.method, op.path) for op in OPERATIONS}
    assert table == {name: (method, path) for name, (method, path, _) in consumed.items()}


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_parameters_match(capability: dict[str, Any], op: Operation[Any]) -> None:
    _, _, inputs = consumed_operations(capability)[op.capability_operation]
    declared = {(p["name"], p["in"], p["type"]) for p in inputs}
    ours = table_parameters(op)
    assert declared <= ours, f"{op.name} misses {declared - ours}"
    extra = {name for name, where, _ in ours - declared if where == "query"}
    assert extra == EXTRA_QUERY.get(op.name, set())
    required = {p["name"] for p in inputs if p.get("required")}
    if op.query is not None:
        assert {n for n, f in op.query.model_fields.items() if f.is_required()} == required - {
            "id",
            "body",
        }
    body = next((p for p in inputs if p["in"] == "body"), None)
    assert (body is not None or op.name in EXTRA_BODY) == (op.body is not None)
    if body is not None:
        assert op.body_required == bool(body.get("required")), op.name
        assert op.body is not None
        if op.name in EMPTY_BODY:
            assert op.body.model_fields == {}


def test_rest_paths_match(capability: dict[str, Any]) -> None:
    rest = next(e for e in capability["capability"]["exposes"] if e["type"] == "rest")
    routes = {
        (op["method"], resource["path"], op["call"].split(".", 1)[1])
        for resource in rest["resources"]
        for op in resource["operations"]
    }
    assert routes == {(op.method, op.rest_path, op.capability_operation) for op in OPERATIONS}


def test_mcp_tool_names_are_aliases_and_hints_match(capability: dict[str, Any]) -> None:
    mcp = next(e for e in capability["capability"]["exposes"] if e["type"] == "mcp")
    by_call: dict[str, set[str]] = {}
    for tool in mcp["tools"]:
        by_call.setdefault(tool["call"].split(".", 1)[1], set()).add(tool["name"])
        op = next(o for o in OPERATIONS if o.capability_operation == tool["call"].split(".", 1)[1])
        hints = tool["hints"]
        assert (op.read_only, op.destructive, op.idempotent) == (
            hints["readOnly"],
            hints["destructive"],
            hints["idempotent"],
        ), op.name
    assert len(mcp["tools"]) == 44
    assert {op.capability_operation: set(op.mcp_aliases) for op in OPERATIONS} == by_call
    clear = [op.mcp_tool for op in OPERATIONS]
    assert len(set(clear)) == 22
    assert not set(clear) & {name for names in by_call.values() for name in names}


def test_names_are_unique_and_verb_noun() -> None:
    names = [op.name for op in OPERATIONS]
    assert len(set(names)) == len(names)
    assert all("_" in name and name == name.lower() for name in names)
