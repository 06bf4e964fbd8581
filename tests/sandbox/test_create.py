"""POST /experiments/: defaults, flag resolution and PostHog's validation texts (§5.2)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.support import P, envelope, funnel, mean


async def _create(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post(
        f"{P}/", json={"name": "Probe", "feature_flag_key": "new-flag", **body}
    )


async def test_minimal_create_and_its_defaults(client: httpx.AsyncClient) -> None:
    response = await _create(client, bogus_undeclared_key=1)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["description"] == ""
    assert body["type"] == "product"
    assert body["stats_config"] == {"method": "bayesian"}
    assert body["exposure_criteria"] == {"filterTestAccounts": True}
    assert body["metrics"] == []
    assert body["created_by"]["id"] == 1
    assert body["created_at"] == "2026-03-15T12:00:00Z"
    flag = body["feature_flag"]
    assert flag["key"] == "new-flag"
    assert flag["name"] == "Feature Flag for Experiment Probe"
    assert flag["active"] is False
    assert flag["filters"]["groups"] == [{"properties": [], "rollout_percentage": 100}]
    assert [variant["key"] for variant in flag["filters"]["multivariate"]["variants"]] == [
        "control",
        "test",
    ]
    assert body["parameters"]["feature_flag_variants"][0] == {
        "key": "control",
        "name": "Control Group",
        "rollout_percentage": 50,
        "split_percent": 50,
    }
    assert body["parameters"]["rollout_percentage"] == 100
    assert "bogus_undeclared_key" not in body


async def test_variants_from_parameters(client: httpx.AsyncClient) -> None:
    parameters = {
        "feature_flag_variants": [
            {"key": "Control", "split_percent": 34},
            {"key": "a", "split_percent": 33},
            {"key": "b", "rollout_percentage": 33},
        ],
        "rollout_percentage": 50,
        "variant_notes": {"a": "blue button"},
    }
    body = (await _create(client, parameters=parameters)).json()
    variants = body["feature_flag"]["filters"]["multivariate"]["variants"]
    assert [(v["key"], v["rollout_percentage"]) for v in variants] == [
        ("control", 34),
        ("a", 33),
        ("b", 33),
    ]
    assert body["feature_flag"]["filters"]["groups"][0]["rollout_percentage"] == 50
    assert body["parameters"]["variant_notes"] == {"a": "blue button"}
    assert body["parameters"]["rollout_percentage"] == 50


async def test_existing_flag_is_reused_as_is(client: httpx.AsyncClient) -> None:
    flags = (await client.get(f"{P}/eligible_feature_flags/", params={"search": "beta"})).json()
    beta = flags["results"][0]
    body = (await _create(client, feature_flag_key="beta-dashboard")).json()
    assert body["feature_flag"]["id"] == beta["id"]
    assert body["feature_flag"]["active"] is True
    assert body["status"] == "draft"


@pytest.mark.parametrize(
    ("key", "detail"),
    [
        (
            "kill-switch-payments",
            "Feature flag must have at least 2 variants (control and at least one test variant)",
        ),
        ("dark-mode-default", "Feature flag must have a variant with key 'control'"),
    ],
)
async def test_unusable_existing_flag(client: httpx.AsyncClient, key: str, detail: str) -> None:
    response = await _create(client, feature_flag_key=key)
    assert response.status_code == 400
    assert response.json() == envelope(detail)


async def test_create_with_start_date_is_running(client: httpx.AsyncClient) -> None:
    body = (await _create(client, start_date="2026-03-10T08:00:00Z")).json()
    assert body["status"] == "running"
    assert body["start_date"] == "2026-03-10T08:00:00Z"
    assert body["feature_flag"]["active"] is True


async def test_metrics_get_uuids_fingerprints_and_ordering(client: httpx.AsyncClient) -> None:
    metrics = [funnel("$pageview", uuid="dup"), mean(uuid="dup"), mean()]
    body = (await _create(client, metrics=metrics, metrics_secondary=[mean(uuid="dup")])).json()
    uuids = [metric["uuid"] for metric in body["metrics"] + body["metrics_secondary"]]
    assert uuids[0] == "dup"
    assert len(set(uuids)) == 4
    assert all(len(metric["fingerprint"]) == 64 for metric in body["metrics"])
    assert body["primary_metrics_ordered_uuids"] == uuids[:3]
    assert body["secondary_metrics_ordered_uuids"] == uuids[3:]


BAD_FIELDS: list[tuple[dict[str, Any], int, dict[str, Any]]] = [
    ({"name": None}, 400, envelope("This field may not be null.", code="null", attr="name")),
    ({"name": "  "}, 400, envelope("This field may not be blank.", code="blank", attr="name")),
    (
        {"name": "x" * 401},
        400,
        envelope(
            "Ensure this field has no more than 400 characters.", code="max_length", attr="name"
        ),
    ),
    (
        {"type": "mobile"},
        400,
        envelope('"mobile" is not a valid choice.', code="invalid_choice", attr="type"),
    ),
    (
        {"start_date": "yesterday"},
        400,
        envelope(
            "Datetime has wrong format. Use one of these formats instead: "
            "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
            attr="start_date",
        ),
    ),
    ({"archived": "maybe"}, 400, envelope("Must be a valid boolean.", attr="archived")),
    (
        {"conclusion": "great"},
        400,
        envelope('"great" is not a valid choice.', code="invalid_choice", attr="conclusion"),
    ),
    (
        {"holdout_id": 7},
        400,
        envelope(
            'Invalid pk "7" - object does not exist.', code="does_not_exist", attr="holdout_id"
        ),
    ),
    (
        {"start_date": "2026-03-02T00:00:00Z", "end_date": "2026-03-01T00:00:00Z"},
        400,
        envelope("End date must be after start date"),
    ),
    (
        {"parameters": {"feature_flag_variants": [{"key": "control", "split_percent": 100}]}},
        400,
        envelope(
            "Feature flag must have at least 2 variants (control and at least one test variant)",
            attr="parameters",
        ),
    ),
    (
        {
            "parameters": {
                "feature_flag_variants": [
                    {"key": "a", "split_percent": 50},
                    {"key": "b", "split_percent": 50},
                ]
            }
        },
        400,
        envelope(
            "Feature flag variants must contain a variant with key 'control' (lowercase, exactly). "
            "Got keys: ['a', 'b']. Rename the baseline variant's 'key' to 'control'.",
            attr="parameters",
        ),
    ),
    (
        {
            "parameters": {
                "feature_flag_variants": [{"key": f"v{i}", "split_percent": 1} for i in range(21)]
            }
        },
        400,
        envelope("Feature flag variants must be less than 21", attr="parameters"),
    ),
    (
        {"parameters": {"feature_flag_variants": [{"split_percent": 50}, {"key": "control"}]}},
        400,
        envelope("Feature flag variant at index 0 must have a 'key' field", attr="parameters"),
    ),
    (
        {"parameters": {"feature_flag_variants": [{"key": "control"}, {"key": "test"}]}},
        400,
        envelope(
            "Each variant must include split_percent (recommended) or rollout_percentage "
            "(deprecated).",
            attr="parameters",
        ),
    ),
    (
        {
            "parameters": {
                "feature_flag_variants": [
                    {"key": "control", "split_percent": 50},
                    {"key": "test", "split_percent": 40},
                ]
            }
        },
        400,
        envelope(
            "Invalid variant definitions: Variant rollout percentages must sum to 100.",
            attr="filters",
        ),
    ),
    ({"metrics": {"a": 1}}, 400, envelope("Metrics must be a list", attr="metrics")),
    (
        {"metrics": [{"kind": "ExperimentTrendsQuery"}]},
        400,
        envelope(
            "Invalid metric at index 0: legacy metric kind 'ExperimentTrendsQuery' is no longer "
            "supported for new experiments. Use 'ExperimentMetric' instead.",
            attr="metrics",
        ),
    ),
    (
        {"metrics_secondary": [{"metric_type": "mean"}]},
        400,
        envelope(
            "Invalid metric at index 0: metric kind must be 'ExperimentMetric'",
            attr="metrics_secondary",
        ),
    ),
    (
        {"metrics": [{"kind": "ExperimentMetric", "metric_type": "mean"}]},
        400,
        envelope(
            "Invalid metric at index 0: [{'loc': ('ExperimentMeanMetric', 'source'), "
            "'type': 'missing', 'msg': 'Field required'}].",
            attr="metrics",
        ),
    ),
    (
        {"metrics": [funnel()]},
        400,
        envelope(
            "Invalid metric at index 0: funnel metrics require at least one step. "
            "The experiment exposure event is added as the initial step automatically.",
            attr="metrics",
        ),
    ),
    (
        {"stats_config": {"method": "sequential"}},
        400,
        envelope("Invalid stats method: 'sequential'. Must be one of: bayesian, frequentist"),
    ),
    (
        {"stats_config": {"baseline_variant_key": "nope"}},
        400,
        envelope("Invalid baseline_variant_key: 'nope'. Must be one of: control, test"),
    ),
    (
        {"feature_flag_key": "has spaces"},
        400,
        envelope("Only letters, numbers, hyphens (-) & underscores (_) are allowed.", attr="key"),
    ),
    (
        {"saved_metrics_ids": [{"id": 3}]},
        400,
        envelope(
            "Saved metric does not exist or does not belong to this project",
            attr="saved_metrics_ids",
        ),
    ),
    (
        {"exposure_criteria": {"filterTestAccounts": "yes"}},
        400,
        envelope(
            "exposure_criteria.filterTestAccounts must be a boolean, got str: 'yes'.",
            attr="exposure_criteria",
        ),
    ),
]


@pytest.mark.parametrize(("extra", "status", "expected"), BAD_FIELDS)
async def test_field_validation(
    client: httpx.AsyncClient, extra: dict[str, Any], status: int, expected: dict[str, Any]
) -> None:
    response = await _create(client, **extra)
    assert response.status_code == status
    assert response.json() == expected
    listed = (await client.get(f"{P}/", params={"search": "Probe"})).json()
    assert listed["count"] == 0


@pytest.mark.parametrize("missing", ["name", "feature_flag_key"])
async def test_required_fields(client: httpx.AsyncClient, missing: str) -> None:
    body = {"name": "Probe", "feature_flag_key": "new-flag"}
    del body[missing]
    response = await client.post(f"{P}/", json=body)
    assert response.status_code == 400
    assert response.json() == envelope("This field is required.", code="required", attr=missing)


async def test_unknown_events_are_refused_unless_allowed(client: httpx.AsyncClient) -> None:
    response = await _create(client, metrics=[funnel("$pageview", "never_seen")])
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert response.json()["attr"] is None
    assert detail.startswith(
        "Event(s) 'never_seen' not found. No events with these names have been ingested by "
        "this project."
    )
    allowed = await _create(
        client, metrics=[funnel("$pageview", "never_seen")], allow_unknown_events=True
    )
    assert allowed.status_code == 201


async def test_actions_nodes_must_exist(client: httpx.AsyncClient) -> None:
    metric = {
        "kind": "ExperimentMetric",
        "metric_type": "funnel",
        "series": [{"kind": "ActionsNode", "id": 42}],
    }
    response = await _create(client, metrics=[metric])
    assert response.json() == envelope(
        "Action(s) with ID 42 not found or deleted. Each ActionsNode must reference an existing "
        "action belonging to this project."
    )


async def test_body_shapes(client: httpx.AsyncClient) -> None:
    listed = await client.post(f"{P}/", json=[1, 2])
    assert listed.status_code == 400
    assert listed.json() == envelope("Invalid data. Expected a dictionary, but got list.")
    broken = await client.post(
        f"{P}/", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json() == {
        "type": "invalid_request",
        "code": "parse_error",
        "detail": "JSON parse error - Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)",
        "attr": None,
    }
    text = await client.post(f"{P}/", content=b"hello", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    assert text.json()["code"] == "unsupported_media_type"
    nan = await client.post(
        f"{P}/", content=b'{"name": NaN}', headers={"Content-Type": "application/json"}
    )
    assert nan.json()["detail"] == (
        "JSON parse error - Out of range float values are not JSON compliant: 'NaN'"
    )
    form = await client.post(f"{P}/", data={"name": "Form made", "feature_flag_key": "form-made"})
    assert form.status_code == 201
    assert form.json()["name"] == "Form made"
