"""Experiment metrics: validation of ``metrics`` / ``metrics_secondary`` items and fingerprints.

Validation reproduces ``ExperimentService.validate_experiment_metrics``: a list of objects with
``kind: "ExperimentMetric"`` (legacy kinds get their own message), then a schema check per
``metric_type`` whose failures are summarised as PostHog does (``[{'loc', 'type', 'msg'}, …]``;
the sandbox checks the required keys and enums of each type, not the whole pydantic schema), then
the funnel-step and threshold rules.

The fingerprint is ``compute_metric_fingerprint`` (§8.2): SHA-256 of a canonical JSON of the
metric (minus uuid/name/kind/fingerprint) with the start date, stats method and, when set, the
exposure criteria, matured-users flag and excluded variants.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid as uuid_module
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sandbox import errors

LEGACY_METRIC_KINDS = frozenset({"ExperimentTrendsQuery", "ExperimentFunnelsQuery"})
METRIC_TYPES = ("mean", "funnel", "ratio", "retention")
BINARY_METRIC_TYPES = frozenset({"funnel", "retention"})
SOURCE_KINDS = ("EventsNode", "ActionsNode", "ExperimentDataWarehouseNode")
_CLASS_OF = {
    "mean": "ExperimentMeanMetric",
    "funnel": "ExperimentFunnelMetric",
    "ratio": "ExperimentRatioMetric",
    "retention": "ExperimentRetentionMetric",
}
_REQUIRED = {
    "mean": ("source",),
    "funnel": ("series",),
    "ratio": ("numerator", "denominator"),
    "retention": (
        "completion_event",
        "retention_window_end",
        "retention_window_start",
        "retention_window_unit",
        "start_event",
        "start_handling",
    ),
}
_SOURCE_KEYS = {
    "mean": ("source",),
    "ratio": ("numerator", "denominator"),
    "retention": ("start_event", "completion_event"),
}
_ENUMS = {
    "goal": ("increase", "decrease"),
    "conversion_window_unit": ("second", "minute", "hour", "day", "week", "month"),
    "funnel_order_type": ("ordered", "unordered", "strict"),
    "retention_window_unit": ("second", "minute", "hour", "day", "week", "month"),
    "start_handling": ("first_seen", "last_seen"),
}
_MAX_REPORTED_ERRORS = 15
_EVENTS_NODE_ID_HINT = (
    "EventsNode does not accept an 'id' field. "
    "To reference an event, use {'kind': 'EventsNode', 'event': '<event_name>'} (omit 'id'). "
    "To reference an action, switch to {'kind': 'ActionsNode', 'id': <integer_action_id>} "
    "(omit 'event')."
)


def _literal_message(choices: Iterable[str]) -> str:
    quoted = [f"'{choice}'" for choice in choices]
    if len(quoted) == 1:
        return f"Input should be {quoted[0]}"
    return f"Input should be {', '.join(quoted[:-1])} or {quoted[-1]}"


def _node_errors(loc: tuple[Any, ...], node: Any) -> list[dict[str, Any]]:
    if not isinstance(node, dict):
        return [{"loc": loc, "type": "model_type", "msg": "Input should be a valid dictionary"}]
    kind = node.get("kind")
    if kind not in SOURCE_KINDS:
        return [
            {"loc": (*loc, "kind"), "type": "literal_error", "msg": _literal_message(SOURCE_KINDS)}
        ]
    found: list[dict[str, Any]] = []
    if kind == "EventsNode" and "id" in node:
        found.append(
            {
                "loc": (*loc, "EventsNode", "id"),
                "type": "extra_forbidden",
                "msg": "Extra inputs are not permitted",
            }
        )
    if kind == "EventsNode" and not (
        node.get("event") is None or isinstance(node.get("event"), str)
    ):
        found.append(
            {
                "loc": (*loc, "EventsNode", "event"),
                "type": "string_type",
                "msg": "Input should be a valid string",
            }
        )
    if kind == "ActionsNode":
        action_id = node.get("id")
        if "id" not in node:
            found.append(
                {"loc": (*loc, "ActionsNode", "id"), "type": "missing", "msg": "Field required"}
            )
        elif isinstance(action_id, bool) or not isinstance(action_id, int):
            found.append(
                {
                    "loc": (*loc, "ActionsNode", "id"),
                    "type": "int_type",
                    "msg": "Input should be a valid integer",
                }
            )
    if kind == "ExperimentDataWarehouseNode":
        for key in ("table_name", "timestamp_field", "events_join_key", "data_warehouse_join_key"):
            if key not in node:
                found.append({"loc": (*loc, kind, key), "type": "missing", "msg": "Field required"})
    return found


def _type_errors(metric: dict[str, Any], metric_type: str) -> list[dict[str, Any]]:
    name = _CLASS_OF[metric_type]
    found: list[dict[str, Any]] = []
    if "metric_type" in metric and metric.get("metric_type") != metric_type:
        found.append(
            {
                "loc": (name, "metric_type"),
                "type": "literal_error",
                "msg": _literal_message([metric_type]),
            }
        )
    for key in _REQUIRED[metric_type]:
        if key not in metric:
            found.append({"loc": (name, key), "type": "missing", "msg": "Field required"})
    for key in _SOURCE_KEYS.get(metric_type, ()):
        if key in metric:
            found.extend(_node_errors((name, key), metric[key]))
    if metric_type == "funnel" and "series" in metric:
        series = metric["series"]
        if not isinstance(series, list):
            found.append(
                {
                    "loc": (name, "series"),
                    "type": "list_type",
                    "msg": "Input should be a valid list",
                }
            )
        else:
            for index, step in enumerate(series):
                found.extend(_node_errors((name, "series", index), step))
    for key, choices in _ENUMS.items():
        value = metric.get(key)
        if value is not None and value not in choices:
            found.append({"loc": (name, key), "type": "enum", "msg": _literal_message(choices)})
    for key in ("retention_window_start", "retention_window_end", "conversion_window"):
        value = metric.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            found.append(
                {"loc": (name, key), "type": "int_type", "msg": "Input should be a valid integer"}
            )
    return found


def _schema_errors(metric: dict[str, Any]) -> list[dict[str, Any]]:
    metric_type = metric.get("metric_type")
    if isinstance(metric_type, str) and metric_type in _CLASS_OF:
        return _type_errors(metric, metric_type)
    found: list[dict[str, Any]] = []
    for candidate in METRIC_TYPES:
        found.extend(_type_errors(metric, candidate))
    return found


def _threshold_supported(math_name: Any) -> bool:
    return math_name in (None, "total", "sum")


def validate_metrics(metrics: Any) -> None:
    """``validate_experiment_metrics``: raise PostHog's first complaint (attr set by the caller)."""
    if metrics is None:
        return
    if not isinstance(metrics, list):
        raise errors.FieldError("Metrics must be a list")
    for index, metric in enumerate(metrics):
        prefix = f"Invalid metric at index {index}:"
        if not isinstance(metric, dict):
            raise errors.FieldError(f"{prefix} must be a dict")
        kind = metric.get("kind")
        if kind in LEGACY_METRIC_KINDS:
            raise errors.FieldError(
                f"{prefix} legacy metric kind '{kind}' is no longer supported for new experiments. "
                "Use 'ExperimentMetric' instead."
            )
        if kind != "ExperimentMetric":
            raise errors.FieldError(f"{prefix} metric kind must be 'ExperimentMetric'")
        found = _schema_errors(metric)
        if found:
            hint = next(
                (
                    _EVENTS_NODE_ID_HINT
                    for error in found
                    if error["type"] == "extra_forbidden" and error["loc"][-1] == "id"
                ),
                "",
            )
            if len(found) > _MAX_REPORTED_ERRORS:
                extra = len(found) - _MAX_REPORTED_ERRORS
                found = [*found[:_MAX_REPORTED_ERRORS], {"truncated": f"...{extra} more"}]
            suffix = f" {hint}" if hint else ""
            raise errors.FieldError(f"{prefix} {found}.{suffix}")
        metric_type = metric.get("metric_type")
        if metric_type == "funnel" and not metric.get("series"):
            raise errors.FieldError(
                f"{prefix} funnel metrics require at least one step. "
                "The experiment exposure event is added as the initial step automatically."
            )
        if metric_type == "mean" and metric.get("threshold") is not None:
            _check_threshold(prefix, metric)


def _check_threshold(prefix: str, metric: dict[str, Any]) -> None:
    source = metric.get("source") if isinstance(metric.get("source"), dict) else {}
    if not _threshold_supported((source or {}).get("math")):
        raise errors.FieldError(
            f"{prefix} a threshold is only supported for sum or count (total) math types."
        )
    threshold = metric.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
        raise errors.FieldError(f"{prefix} threshold must be a positive number.")
    if (
        metric.get("lower_bound_percentile") is not None
        or metric.get("upper_bound_percentile") is not None
    ):
        raise errors.FieldError(
            f"{prefix} a threshold cannot be combined with outlier handling (winsorization)."
        )


def assign_uuids(metrics: Any, seen: set[str]) -> Any:
    """A deep copy with a unique ``uuid`` on every metric (missing or duplicate ones renewed)."""
    if not isinstance(metrics, list):
        return metrics
    prepared = copy.deepcopy(metrics)
    for metric in prepared:
        if not isinstance(metric, dict):
            continue
        original = metric.get("uuid")
        if not original or not isinstance(original, str) or original in seen:
            fresh = str(uuid_module.uuid4())
            metric["uuid"] = fresh
            seen.add(fresh)
        else:
            seen.add(original)
    return prepared


def renew_uuids(metrics: Any) -> tuple[Any, dict[str, str]]:
    """A deep copy with every uuid renewed, and the old→new mapping (used by clones)."""
    if not isinstance(metrics, list):
        return metrics, {}
    prepared = copy.deepcopy(metrics)
    remap: dict[str, str] = {}
    for metric in prepared:
        if not isinstance(metric, dict):
            continue
        fresh = str(uuid_module.uuid4())
        if isinstance(metric.get("uuid"), str) and metric["uuid"]:
            remap[metric["uuid"]] = fresh
        metric["uuid"] = fresh
    return prepared, remap


def has_legacy_metrics(*metric_lists: Any) -> bool:
    """Whether any metric uses a legacy query kind."""
    return any(
        isinstance(metric, dict) and metric.get("kind") in LEGACY_METRIC_KINDS
        for metrics in metric_lists
        if isinstance(metrics, list)
        for metric in metrics
    )


def source_nodes(metric: dict[str, Any]) -> list[dict[str, Any]]:
    """The EventsNode/ActionsNode objects a metric reads."""
    metric_type = metric.get("metric_type")
    nodes: list[Any] = []
    if metric_type == "mean":
        nodes.append(metric.get("source"))
    elif metric_type == "funnel":
        series = metric.get("series")
        nodes.extend(series if isinstance(series, list) else [])
    elif metric_type == "ratio":
        nodes.extend([metric.get("numerator"), metric.get("denominator")])
    elif metric_type == "retention":
        nodes.extend([metric.get("start_event"), metric.get("completion_event")])
    return [node for node in nodes if isinstance(node, dict)]


def referenced_entities(metrics: Any) -> tuple[set[str], set[int]]:
    """Event names and action ids referenced by a metric list."""
    events: set[str] = set()
    actions: set[int] = set()
    if not isinstance(metrics, list):
        return events, actions
    for metric in metrics:
        if not isinstance(metric, dict):
            continue
        for node in source_nodes(metric):
            if node.get("kind") == "EventsNode":
                event = node.get("event")
                if isinstance(event, str) and event.strip():
                    events.add(event)
            elif node.get("kind") == "ActionsNode" and isinstance(node.get("id"), int):
                actions.add(int(node["id"]))
    return events, actions


def check_actions_exist(metrics: Any, existing: set[int]) -> None:
    """``validate_metric_action_ids`` (the sandbox has no actions unless seeded)."""
    _, action_ids = referenced_entities(metrics)
    missing = action_ids - existing
    if missing:
        listed = ", ".join(str(action_id) for action_id in sorted(missing))
        raise errors.FieldError(
            f"Action(s) with ID {listed} not found or deleted. "
            "Each ActionsNode must reference an existing action belonging to this project."
        )


def check_events_known(metrics: Any, known: Iterable[str]) -> None:
    """``validate_metric_event_names`` against the project's ingested event names."""
    events, _ = referenced_entities(metrics)
    unknown = events - set(known)
    if unknown:
        listed = ", ".join(f"'{name}'" for name in sorted(unknown))
        raise errors.FieldError(
            f"Event(s) {listed} not found. "
            "No events with these names have been ingested by this project. "
            "If you meant a different event, please correct it. "
            "Only if the user has explicitly confirmed they want to proceed with "
            "the unknown event (e.g. they will instrument it shortly), "
            "call again with allow_unknown_events=True. "
            "Do not flip the flag silently to bypass this check."
        )


def check_no_duplicate_uuids(*metric_lists: Any) -> None:
    """``validate_no_duplicate_metric_uuids`` across lists."""
    seen: set[str] = set()
    for metrics in metric_lists:
        if not isinstance(metrics, list):
            continue
        for metric in metrics:
            if not isinstance(metric, dict) or metric.get("uuid") is None:
                continue
            uuid = metric["uuid"]
            if uuid in seen:
                raise errors.FieldError(
                    f"Duplicate metric UUID: '{uuid}'. Each metric must have a unique UUID."
                )
            seen.add(uuid)


def _iso(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def compute_fingerprint(
    metric: dict[str, Any],
    start_date: datetime | str | None,
    stats_method: str | None,
    exposure_criteria: Any,
    *,
    only_count_matured_users: bool = False,
    excluded_variants: list[str] | None = None,
) -> str:
    """``compute_metric_fingerprint``: the SHA-256 of the canonical metric configuration."""
    cleaned = copy.deepcopy(metric)
    for key in ("uuid", "name", "kind", "fingerprint", "only_count_matured_users"):
        cleaned.pop(key, None)
    if "breakdownFilter" in cleaned:
        breakdown = cleaned["breakdownFilter"]
        if breakdown is None:
            del cleaned["breakdownFilter"]
        elif isinstance(breakdown, dict):
            if not breakdown.get("breakdowns"):
                breakdown.pop("breakdowns", None)
            if not breakdown:
                del cleaned["breakdownFilter"]
    payload: dict[str, Any] = {
        "metric": cleaned,
        "start_date": _iso(start_date),
        "stats_method": stats_method or "bayesian",
    }
    if exposure_criteria:
        payload["exposure_criteria"] = exposure_criteria
    if only_count_matured_users:
        payload["only_count_matured_users"] = True
    if excluded_variants:
        payload["excluded_variants"] = sorted(set(excluded_variants))
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stats_method_of(stats_config: Any) -> str:
    """The ``stats_method`` the fingerprint uses: ``stats_config.method``, unsanitised."""
    if isinstance(stats_config, dict):
        method = stats_config.get("method", "bayesian")
        return str(method) if method is not None else "bayesian"
    return "bayesian"


def stamp_fingerprints(
    metrics: Any,
    start_date: datetime | None,
    stats_config: Any,
    exposure_criteria: Any,
    *,
    only_count_matured_users: bool = False,
    excluded_variants: list[str] | None = None,
) -> Any:
    """A copy of ``metrics`` with a fresh ``fingerprint`` on every item."""
    if not isinstance(metrics, list):
        return metrics
    method = stats_method_of(stats_config)
    stamped = []
    for metric in metrics:
        if not isinstance(metric, dict):
            stamped.append(metric)
            continue
        updated = copy.deepcopy(metric)
        updated["fingerprint"] = compute_fingerprint(
            updated,
            start_date,
            method,
            exposure_criteria,
            only_count_matured_users=only_count_matured_users,
            excluded_variants=excluded_variants,
        )
        stamped.append(updated)
    return stamped


def is_binary_metric(metric: dict[str, Any]) -> bool:
    """Whether each entity's value is 0/1: funnels, retention, mean metrics counting events."""
    metric_type = metric.get("metric_type")
    if metric_type in BINARY_METRIC_TYPES:
        return True
    if metric_type == "mean":
        source = metric.get("source")
        math_name = source.get("math") if isinstance(source, dict) else None
        return math_name in (None, "total", "dau", "unique_session", "unique_group") or (
            metric.get("threshold") is not None
        )
    return False
