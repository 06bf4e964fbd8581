"""PostHog-shaped bodies (reference §3, §5) for mock-transport tests of the client."""

from __future__ import annotations

from typing import Any

FLAG: dict[str, Any] = {
    "id": 7,
    "team_id": 1,
    "name": "Feature Flag for Experiment Checkout",
    "key": "checkout-button",
    "filters": {
        "groups": [{"properties": [], "rollout_percentage": 100}],
        "multivariate": {
            "variants": [
                {"key": "control", "name": "Control Group", "rollout_percentage": 50},
                {"key": "test", "name": "Test Variant", "rollout_percentage": 50},
            ]
        },
        "aggregation_group_type_index": None,
    },
    "deleted": False,
    "active": True,
    "ensure_experience_continuity": False,
    "version": 1,
    "evaluation_runtime": "all",
    "bucketing_identifier": None,
    "evaluation_contexts": [],
}

METRIC: dict[str, Any] = {
    "kind": "ExperimentMetric",
    "metric_type": "funnel",
    "uuid": "8d2c6a0e-3f1b-4a57-9c2e-6b0f4e1d2a93",
    "fingerprint": "b65fa3bbb3d59d0ada80fc5863618e6e58b93dbfbc3f01908c995ad53d3813bb",
    "name": "Checkout conversion",
    "goal": "increase",
    "series": [
        {"kind": "EventsNode", "event": "$pageview", "name": "$pageview"},
        {"kind": "EventsNode", "event": "purchase_completed", "name": "purchase_completed"},
    ],
}


def experiment(**overrides: Any) -> dict[str, Any]:
    """A running experiment as the detail serializer returns it."""
    body: dict[str, Any] = {
        "id": 42,
        "name": "Checkout",
        "description": "",
        "start_date": "2025-03-03T09:00:00Z",
        "end_date": None,
        "feature_flag_key": "checkout-button",
        "feature_flag": FLAG,
        "holdout": None,
        "exposure_cohort": None,
        "parameters": {"feature_flag_variants": FLAG["filters"]["multivariate"]["variants"]},
        "secondary_metrics": [],
        "saved_metrics": [],
        "filters": {},
        "archived": False,
        "deleted": False,
        "created_by": {"id": 1, "first_name": "Ada", "email": "ada@example.com"},
        "created_at": "2025-03-01T10:00:00Z",
        "updated_at": "2025-03-03T09:00:00Z",
        "type": "product",
        "exposure_criteria": {"filterTestAccounts": True},
        "metrics": [METRIC],
        "metrics_secondary": [],
        "stats_config": {"method": "bayesian"},
        "conclusion": None,
        "conclusion_comment": None,
        "status": "running",
        "user_access_level": "editor",
        "a_field_posthog_added_later": {"kept": True},
    }
    body.update(overrides)
    return body


def page(
    results: list[dict[str, Any]], *, count: int | None = None, next: str | None = None
) -> dict[str, Any]:
    return {
        "count": len(results) if count is None else count,
        "next": next,
        "previous": None,
        "results": results,
    }


STATS = {
    "launched_last_30d": 3,
    "launched_previous_30d": 2,
    "percent_change": 50.0,
    "active_experiments": 4,
    "completed_last_30d": 1,
}

ELIGIBLE_FLAGS = {"results": [FLAG], "count": 1}

RECALCULATION = {
    "id": "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
    "experiment_id": 42,
    "metric_uuid": METRIC["uuid"],
    "fingerprint": METRIC["fingerprint"],
    "status": "pending",
    "created_at": "2025-03-06T08:00:00Z",
}

TIMESERIES = {
    "experiment_id": 42,
    "metric_uuid": METRIC["uuid"],
    "status": "partial",
    "timeseries": {
        "2025-03-03": {
            "kind": "ExperimentQuery",
            "baseline": {
                "key": "control",
                "number_of_samples": 480,
                "sum": 55,
                "sum_squares": 55,
                "validation_failures": [],
            },
            "variant_results": [
                {
                    "key": "test",
                    "method": "bayesian",
                    "number_of_samples": 470,
                    "sum": 66,
                    "sum_squares": 66,
                    "validation_failures": [],
                    "chance_to_win": 0.8596,
                    "credible_interval": [-0.1844, 0.6354],
                    "significant": False,
                }
            ],
        },
        "2025-03-04": None,
    },
    "errors": None,
    "computed_at": "2025-03-03T18:00:41.118000+00:00",
    "created_at": "2025-03-03T18:00:39.201000+00:00",
    "updated_at": "2025-03-03T18:00:41.118000+00:00",
    "recalculation_status": None,
    "recalculation_created_at": None,
    "formatted_results": "…",
}

COHORT = {
    "cohort": {
        "id": 9,
        "name": 'Users exposed to experiment "Checkout"',
        "is_static": False,
        "is_calculating": True,
    }
}
