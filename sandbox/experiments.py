"""Experiment writes: create, update (PUT/PATCH), duplicate/copy and exposure cohorts.

This follows PostHog's Era B ``ExperimentSerializer`` (field validation and ``validate_<field>``
hooks, errors carrying the field as ``attr``) and ``ExperimentService`` (business rules, errors
with ``attr = null``), in their order. Every check runs before anything is written, so a refused
request changes nothing (PostHog gets the same effect from a database transaction).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

from sandbox import errors
from sandbox.context import RequestContext
from sandbox.errors import FieldError
from sandbox.fields import (
    Field,
    boolean,
    char,
    choice,
    date_time,
    integer,
    json_value,
    list_of,
    parse_payload,
    primary_key_of,
)
from sandbox.flags import DEFAULT_VARIANTS, check_flag_key, check_variant_rollout, new_flag
from sandbox.metrics import (
    assign_uuids,
    check_actions_exist,
    check_events_known,
    check_no_duplicate_uuids,
    has_legacy_metrics,
    renew_uuids,
    stamp_fingerprints,
    validate_metrics,
)
from sandbox.state import Cohort, Experiment, FeatureFlag, Project, SandboxState

CONCLUSIONS = ("won", "lost", "inconclusive", "stopped_early", "invalid")
FLAG_CONFIG_KEYS = ("feature_flag_variants", "rollout_percentage", "aggregation_group_type_index")
STATS_METHODS = ("bayesian", "frequentist")
UPDATABLE_KEYS = frozenset(
    {
        "name", "description", "start_date", "end_date", "filters", "parameters",
        "running_time_calculation", "excluded_variants", "archived", "deleted",
        "secondary_metrics", "holdout", "exposure_criteria", "metrics", "metrics_secondary",
        "stats_config", "scheduling_config", "conclusion", "conclusion_comment",
        "primary_metrics_ordered_uuids", "secondary_metrics_ordered_uuids", "saved_metrics_ids",
        "only_count_matured_users", "repository",
    }
)  # fmt: skip
LEGACY_UPDATABLE_KEYS = frozenset({"name", "description", "end_date", "deleted"})
RUNNING_TIME_KEYS = (
    "minimum_detectable_effect",
    "recommended_running_time",
    "recommended_sample_size",
    "exposure_estimate_config",
)
_EXPOSURE_CONFIG_KINDS = ("ExperimentEventExposureConfig", "ActionsNode")
_EXPOSURE_CONFIG_HINT = (
    "Expected either an event-based config like "
    "{'kind': 'ExperimentEventExposureConfig', 'event': '<event_name>', 'properties': []} "
    "or an action-based config like {'kind': 'ActionsNode', 'id': <action_id>}."
)


def refuse(detail: str) -> errors.ApiError:
    """A service-layer ``ValidationError`` (``attr = null``)."""
    return errors.validation_error(detail)


def run_service_check(check: Callable[[], None]) -> None:
    """Run a check whose :class:`FieldError` becomes a service-layer refusal."""
    try:
        check()
    except FieldError as error:
        raise refuse(error.detail) from None


# ----------------------------------------------------------------- serializer hooks


def normalise_parameters(raw: Any) -> Any:
    """``ExperimentParametersField.to_internal_value``: ``Control`` → ``control``, split → rollout."""
    if not isinstance(raw, dict) or "feature_flag_variants" not in raw:
        return raw
    data = copy.deepcopy(raw)
    variants = data["feature_flag_variants"]
    if isinstance(variants, list):
        keys = {variant.get("key") for variant in variants if isinstance(variant, dict)}
        if "control" not in keys:
            for variant in variants:
                key = variant.get("key") if isinstance(variant, dict) else None
                if isinstance(key, str) and key != "control" and key.lower() == "control":
                    variant["key"] = "control"
                    break
        for variant in variants:
            if isinstance(variant, dict) and "split_percent" in variant:
                variant["rollout_percentage"] = variant.pop("split_percent")
    return data


def check_parameters(parameters: Any) -> Any:
    """``validate_experiment_parameters``."""
    if not parameters:
        return parameters
    if not isinstance(parameters, dict):
        raise FieldError("parameters must be an object")
    variants = parameters.get("feature_flag_variants", [])
    if variants is None:
        variants = []
    if not isinstance(variants, list):
        raise FieldError("Feature flag variant at index 0 must be an object")
    for index, variant in enumerate(variants):
        if not isinstance(variant, dict):
            raise FieldError(f"Feature flag variant at index {index} must be an object")
        if "key" not in variant:
            raise FieldError(f"Feature flag variant at index {index} must have a 'key' field")
    for variant in variants:
        if "split_percent" not in variant and "rollout_percentage" not in variant:
            raise FieldError(
                "Each variant must include split_percent (recommended) or rollout_percentage "
                "(deprecated)."
            )
    if len(variants) >= 21:
        raise FieldError("Feature flag variants must be less than 21")
    if variants:
        if len(variants) < 2:
            raise FieldError(
                "Feature flag must have at least 2 variants (control and at least one test variant)"
            )
        keys = [variant["key"] for variant in variants]
        if "control" not in keys:
            raise FieldError(
                "Feature flag variants must contain a variant with key 'control' "
                f"(lowercase, exactly). Got keys: {keys}. Rename the baseline variant's "
                "'key' to 'control'."
            )
    return parameters


def check_running_time_calculation(value: Any) -> Any:
    """``validate_running_time_calculation``."""
    if not value:
        return value
    if not isinstance(value, dict):
        raise FieldError("running_time_calculation must be an object")
    unknown = set(value) - set(RUNNING_TIME_KEYS)
    if unknown:
        raise FieldError(f"running_time_calculation got unknown keys: {sorted(unknown)}")
    for key in RUNNING_TIME_KEYS[:3]:
        number = value.get(key)
        if number is not None and (isinstance(number, bool) or not isinstance(number, int | float)):
            raise FieldError(f"{key} must be a number")
    estimate = value.get("exposure_estimate_config")
    if estimate is not None and not isinstance(estimate, dict):
        raise FieldError("exposure_estimate_config must be an object")
    return value


def _short_repr(value: object) -> str:
    rendered = repr(value)
    return rendered if len(rendered) <= 80 else rendered[:80] + "...(truncated)"


def check_exposure_criteria(value: Any) -> Any:
    """``validate_experiment_exposure_criteria``."""
    if value is None:
        return value
    if not isinstance(value, dict):
        raise FieldError(
            f"exposure_criteria must be an object, got {type(value).__name__}. "
            "Expected shape: {'filterTestAccounts': <bool>, 'exposure_config': <object>}."
        )
    if "filterTestAccounts" in value and not isinstance(value["filterTestAccounts"], bool):
        flag = value["filterTestAccounts"]
        raise FieldError(
            "exposure_criteria.filterTestAccounts must be a boolean, got "
            f"{type(flag).__name__}: {_short_repr(flag)}."
        )
    if "exposure_config" in value:
        config = value["exposure_config"]
        if not isinstance(config, dict):
            raise FieldError(
                "exposure_criteria.exposure_config must be an object, got "
                f"{type(config).__name__}. {_EXPOSURE_CONFIG_HINT}"
            )
        kind = config.get("kind", "ExperimentEventExposureConfig")
        if kind not in _EXPOSURE_CONFIG_KINDS:
            raise FieldError(
                "exposure_criteria.exposure_config.kind must be one of "
                f"{list(_EXPOSURE_CONFIG_KINDS)}, got {_short_repr(kind)}. {_EXPOSURE_CONFIG_HINT}"
            )
        problems: list[dict[str, Any]] = []
        if kind == "ActionsNode":
            action_id = config.get("id")
            if "id" not in config:
                problems.append({"loc": ("id",), "type": "missing", "msg": "Field required"})
            elif isinstance(action_id, bool) or not isinstance(action_id, int):
                problems.append(
                    {"loc": ("id",), "type": "int_type", "msg": "Input should be a valid integer"}
                )
        elif not isinstance(config.get("event"), str):
            problem_type = "missing" if "event" not in config else "string_type"
            message = (
                "Field required" if "event" not in config else "Input should be a valid string"
            )
            problems.append({"loc": ("event",), "type": problem_type, "msg": message})
        if problems:
            raise FieldError(
                f"Invalid exposure_criteria.exposure_config (kind={_short_repr(kind)}): "
                f"{problems}. {_EXPOSURE_CONFIG_HINT}"
            )
    return value


def check_saved_metrics(value: Any) -> Any:
    """``validate_saved_metrics_ids`` (the sandbox has no saved metrics)."""
    if value is None:
        return value
    if not isinstance(value, list):
        raise FieldError("Saved metrics must be a list")
    for saved in value:
        if not isinstance(saved, dict):
            raise FieldError("Saved metric must be an object")
        if "id" not in saved:
            raise FieldError("Saved metric must have an id")
        if "metadata" in saved and not isinstance(saved["metadata"], dict):
            raise FieldError("Metadata must be an object")
        if "metadata" in saved and "type" not in saved["metadata"]:
            raise FieldError("Metadata must have a type key")
    if value:
        raise FieldError("Saved metric does not exist or does not belong to this project")
    return value


def check_metrics(value: Any) -> Any:
    """``validate_metrics`` hook."""
    validate_metrics(value)
    return value


def check_string_list(value: Any) -> Any:
    """``validate_excluded_variants`` (shape)."""
    if value is not None and (
        not isinstance(value, list) or not all(isinstance(item, str) for item in value)
    ):
        raise FieldError("excluded_variants must be a list of strings")
    return value


def experiment_fields() -> list[Field]:
    """``ExperimentSerializer``'s writable fields in declaration order (plus newest inputs)."""
    return [
        Field("name", char(max_length=400), required=True),
        Field("description", char(max_length=3000, allow_blank=True), allow_null=True),
        Field("start_date", date_time, allow_null=True),
        Field("end_date", date_time, allow_null=True),
        Field("feature_flag_key", char(), required=True, source="get_feature_flag_key"),
        Field("holdout_id", primary_key_of(lambda _pk: False), allow_null=True, source="holdout"),
        Field("parameters", normalise_parameters, allow_null=True, hook=check_parameters),
        Field(
            "running_time_calculation",
            json_value,
            allow_null=True,
            hook=check_running_time_calculation,
        ),
        Field("excluded_variants", list_of(char()), allow_null=True, hook=check_string_list),
        Field("secondary_metrics", json_value, allow_null=True),
        Field("saved_metrics_ids", list_of(json_value), allow_null=True, hook=check_saved_metrics),
        Field("filters", json_value),
        Field("archived", boolean, default=False),
        Field("deleted", boolean, allow_null=True),
        Field("type", choice(("web", "product")), allow_null=True),
        Field("exposure_criteria", json_value, allow_null=True, hook=check_exposure_criteria),
        Field("metrics", json_value, allow_null=True, hook=check_metrics),
        Field("metrics_secondary", json_value, allow_null=True, hook=check_metrics),
        Field("stats_config", json_value, allow_null=True),
        Field("scheduling_config", json_value, allow_null=True),
        Field("allow_unknown_events", boolean, default=False),
        Field("_create_in_folder", char(allow_blank=True)),
        Field("conclusion", choice(CONCLUSIONS), allow_null=True),
        Field("conclusion_comment", char(max_length=4000, allow_blank=True), allow_null=True),
        Field("primary_metrics_ordered_uuids", list_of(char()), allow_null=True),
        Field("secondary_metrics_ordered_uuids", list_of(char()), allow_null=True),
        Field("only_count_matured_users", boolean),
        Field("update_feature_flag_params", boolean, default=False),
        Field("repository", char(max_length=255, allow_blank=True), allow_null=True),
        Field("version", integer, allow_null=True),
        Field("original_experiment", json_value, allow_null=True),
    ]


def parse_experiment_body(data: Any, *, partial: bool) -> dict[str, Any]:
    """Run the serializer's field validation and ``validate()`` (the date range)."""
    try:
        values = parse_payload(data, experiment_fields(), partial=partial)
    except FieldError as error:
        raise error.to_api_error() from None
    start, end = values.get("start_date"), values.get("end_date")
    if start is not None and end is not None and start >= end:
        raise refuse("End date must be after start date")
    return values


# ----------------------------------------------------------------- shared service rules


def check_stats_config(stats_config: Any, variant_keys: list[str]) -> None:
    """``validate_stats_config``: method and baseline variant."""
    if not stats_config:
        return
    if not isinstance(stats_config, dict):
        raise refuse("stats_config must be an object")
    method = stats_config.get("method")
    if method is not None and method not in STATS_METHODS:
        raise refuse(
            f"Invalid stats method: '{method}'. Must be one of: {', '.join(sorted(STATS_METHODS))}"
        )
    baseline = stats_config.get("baseline_variant_key")
    if baseline is not None and variant_keys and baseline not in variant_keys:
        raise refuse(
            f"Invalid baseline_variant_key: '{baseline}'. "
            f"Must be one of: {', '.join(sorted(variant_keys))}"
        )


def check_excluded_variants(excluded: list[str], variant_keys: list[str], baseline: str) -> None:
    """``_validate_excluded_variant_keys``."""
    if not excluded:
        return
    holdout = {key for key in excluded if key.startswith("holdout-")}
    if holdout:
        raise refuse(f"cannot exclude holdout pseudo-variants: {sorted(holdout)}")
    if baseline in excluded:
        raise refuse(f"baseline variant cannot be excluded ('{baseline}')")
    unknown = set(excluded) - set(variant_keys)
    if unknown:
        raise refuse(f"unknown variants for this experiment: {sorted(unknown)}")
    if not set(variant_keys) - set(excluded) - {baseline}:
        raise refuse("at least one test variant must remain in analysis")


def check_flag_usable(flag: FeatureFlag) -> None:
    """``_validate_existing_flag``: at least two variants, one keyed ``control``."""
    variants = flag.variants
    if len(variants) < 2:
        raise refuse(
            "Feature flag must have at least 2 variants (control and at least one test variant)"
        )
    if "control" not in [variant.get("key") for variant in variants]:
        raise refuse("Feature flag must have a variant with key 'control'")


def check_flag_launchable(flag: FeatureFlag) -> None:
    """The launch checks on the flag: not deleted, then usable."""
    if flag.deleted:
        raise refuse("Experiment cannot be launched because its feature flag has been deleted.")
    check_flag_usable(flag)


def strip_flag_config(parameters: Any) -> Any:
    """``_strip_feature_flag_config``: flag config lives only on the flag."""
    if not parameters or not isinstance(parameters, dict):
        return parameters
    return {key: value for key, value in parameters.items() if key not in FLAG_CONFIG_KEYS}


def flag_by_key(state: SandboxState, team_id: int, key: str) -> FeatureFlag | None:
    """The team's flag with ``key`` (deleted ones included, as PostHog's lookup does)."""
    matches = [flag for flag in state.flags.values() if flag.team_id == team_id and flag.key == key]
    return min(matches, key=lambda flag: flag.id) if matches else None


def snapshot_traffic_split(experiment: Experiment, flag: FeatureFlag | None) -> None:
    """Remember the variant split at launch; the simulator keeps using it for the whole run."""
    if flag is None:
        experiment.traffic_split = None
        return
    split: dict[str, float] = {}
    groups = flag.filters.get("groups")
    group_rollout = 100.0
    if isinstance(groups, list) and groups and isinstance(groups[0], dict):
        value = groups[0].get("rollout_percentage")
        if isinstance(value, int | float) and not isinstance(value, bool):
            group_rollout = float(value)
    for variant in flag.variants:
        value = variant.get("rollout_percentage", 0)
        share = (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
        )
        split[str(variant.get("key"))] = share * group_rollout / 100.0
    experiment.traffic_split = split


def _ordering_with(ordering: Any, metrics: Any) -> Any:
    if not isinstance(metrics, list):
        return ordering
    result = list(ordering or [])
    for metric in metrics:
        uuid = metric.get("uuid") if isinstance(metric, dict) else None
        if uuid and uuid not in result:
            result.append(uuid)
    return result


def _metric_uuids(metrics: Any) -> list[str]:
    if not isinstance(metrics, list):
        return []
    return [
        metric["uuid"]
        for metric in metrics
        if isinstance(metric, dict) and isinstance(metric.get("uuid"), str) and metric["uuid"]
    ]


def check_ordering(name: str, ordering: Any, metrics: Any) -> None:
    """``_validate_metric_ordering_on_*``: the ordering array must name every metric."""
    expected = set(_metric_uuids(metrics))
    if not expected:
        return
    if ordering is None:
        raise refuse(
            f"{name} is null but {name.split('_')[0]} metrics exist. "
            "This is likely a frontend bug - please refresh and try again."
        )
    missing = expected - set(ordering)
    if missing:
        raise refuse(
            f"{name} is missing UUIDs: {sorted(missing)}. "
            "This is likely a frontend bug - please refresh and try again."
        )


# ----------------------------------------------------------------- create


def _flag_plan(
    state: SandboxState,
    team: Project,
    *,
    key: Any,
    experiment_name: str,
    parameters: Any,
) -> tuple[FeatureFlag | None, dict[str, Any] | None, list[dict[str, Any]]]:
    """``_ensure_feature_flag`` without writing: (existing flag, new flag spec, variants used)."""
    existing = flag_by_key(state, team.id, key) if isinstance(key, str) else None
    if existing is not None:
        check_flag_usable(existing)
        return existing, None, existing.variants or copy.deepcopy(DEFAULT_VARIANTS)
    params = parameters if isinstance(parameters, dict) else {}
    variants = params.get("feature_flag_variants") or []
    filters: dict[str, Any] = {
        "groups": [{"properties": [], "rollout_percentage": params.get("rollout_percentage", 100)}],
        "multivariate": {"variants": copy.deepcopy(variants) or copy.deepcopy(DEFAULT_VARIANTS)},
        "aggregation_group_type_index": params.get("aggregation_group_type_index"),
        "holdout": None,
    }
    if params.get("feature_flag_payloads"):
        filters["payloads"] = copy.deepcopy(params["feature_flag_payloads"])
    try:
        checked_key = check_flag_key(key)
        check_variant_rollout(filters)
    except FieldError as error:
        raise error.to_api_error() from None
    continuity = params.get("ensure_experience_continuity")
    spec = {
        "key": checked_key,
        "name": f"Feature Flag for Experiment {experiment_name}",
        "filters": filters,
        "ensure_experience_continuity": continuity if continuity is not None else False,
    }
    return None, spec, copy.deepcopy(variants) or copy.deepcopy(DEFAULT_VARIANTS)


def create_in_team(ctx: RequestContext, team: Project, **values: Any) -> Experiment:
    """``ExperimentService.create_experiment`` in ``team``; ``values`` are its keyword inputs."""
    state = ctx.state
    name: str = values["name"]
    parameters = values.get("parameters")
    start_date = values.get("start_date")
    allow_unknown_events = bool(values.get("allow_unknown_events", False))
    seen: set[str] = set()
    metrics = assign_uuids(values.get("metrics"), seen)
    metrics_secondary = assign_uuids(values.get("metrics_secondary"), seen)
    excluded_variants = values.get("excluded_variants")
    run_service_check(lambda: check_parameters(parameters))
    run_service_check(
        lambda: check_running_time_calculation(values.get("running_time_calculation"))
    )
    run_service_check(lambda: check_string_list(excluded_variants))
    for metric_list in (metrics, metrics_secondary):
        run_service_check(functools.partial(validate_metrics, metric_list))
    for metric_list in (metrics, metrics_secondary):
        run_service_check(functools.partial(check_actions_exist, metric_list, set()))
    if not allow_unknown_events:
        for metric_list in (metrics, metrics_secondary):
            run_service_check(functools.partial(check_events_known, metric_list, team.known_events))
    run_service_check(lambda: check_saved_metrics(values.get("saved_metrics_ids")))
    existing, spec, used_variants = _flag_plan(
        state, team, key=values["feature_flag_key"], experiment_name=name, parameters=parameters
    )
    used_keys = [str(variant.get("key")) for variant in used_variants]
    stats_config = values.get("stats_config")
    check_stats_config(stats_config, used_keys)
    if excluded_variants:
        baseline = (stats_config or {}).get("baseline_variant_key", "control")
        check_excluded_variants(excluded_variants, used_keys, baseline)
    stats = dict(stats_config or {})
    if not stats.get("method"):
        stats["method"] = "bayesian"
    exposure = dict(values.get("exposure_criteria") or {})
    if exposure.get("filterTestAccounts") is None:
        exposure["filterTestAccounts"] = True
    matured = values.get("only_count_matured_users")
    matured = bool(matured) if matured is not None else False
    metrics, metrics_secondary = (
        stamp_fingerprints(
            metric_list,
            start_date,
            stats,
            exposure,
            only_count_matured_users=matured,
            excluded_variants=excluded_variants,
        )
        for metric_list in (metrics, metrics_secondary)
    )
    run_service_check(lambda: check_no_duplicate_uuids(metrics, metrics_secondary))
    primary_ordering = values.get("primary_metrics_ordered_uuids") or None
    secondary_ordering = values.get("secondary_metrics_ordered_uuids") or None
    if metrics is not None:
        primary_ordering = _ordering_with(primary_ordering, metrics)
    if metrics_secondary is not None:
        secondary_ordering = _ordering_with(secondary_ordering, metrics_secondary)
    check_ordering("primary_metrics_ordered_uuids", primary_ordering, metrics)
    check_ordering("secondary_metrics_ordered_uuids", secondary_ordering, metrics_secondary)

    flag = existing
    if spec is not None:
        flag = new_flag(
            state,
            team_id=team.id,
            key=spec["key"],
            name=spec["name"],
            filters=spec["filters"],
            active=start_date is not None,
            user=ctx.user,
            ensure_experience_continuity=spec["ensure_experience_continuity"],
        )
    assert flag is not None
    now = state.clock.now()
    experiment = Experiment(
        id=state.next_id("experiment"),
        team_id=team.id,
        name=name,
        description=values.get("description", ""),
        type=values.get("type", "product"),
        feature_flag_id=flag.id,
        parameters=strip_flag_config(parameters),
        running_time_calculation=values.get("running_time_calculation") or {},
        excluded_variants=excluded_variants,
        metrics=metrics if metrics is not None else [],
        metrics_secondary=metrics_secondary if metrics_secondary is not None else [],
        secondary_metrics=values.get("secondary_metrics")
        if values.get("secondary_metrics") is not None
        else [],
        stats_config=stats,
        exposure_criteria=exposure,
        start_date=start_date,
        end_date=values.get("end_date"),
        filters=values.get("filters") if values.get("filters") is not None else {},
        primary_metrics_ordered_uuids=primary_ordering,
        secondary_metrics_ordered_uuids=secondary_ordering,
        scheduling_config=values.get("scheduling_config"),
        only_count_matured_users=matured,
        archived=bool(values.get("archived", False)),
        deleted=values.get("deleted", False),
        conclusion=values.get("conclusion"),
        conclusion_comment=values.get("conclusion_comment"),
        created_by_id=ctx.user.id,
        created_at=now,
        updated_at=now,
        repository=values.get("repository"),
    )
    if start_date is not None:
        snapshot_traffic_split(experiment, flag)
    state.save(experiment)
    ctx.applied(experiment, "create")
    return experiment


def create_experiment(ctx: RequestContext, body: Any) -> Experiment:
    """``POST /experiments/``."""
    values = parse_experiment_body(body, partial=False)
    return create_in_team(
        ctx,
        ctx.project,
        name=values["name"],
        feature_flag_key=values["get_feature_flag_key"],
        description=values.get("description", ""),
        type=values.get("type", "product"),
        parameters=values.get("parameters"),
        running_time_calculation=values.get("running_time_calculation"),
        excluded_variants=values.get("excluded_variants"),
        metrics=values.get("metrics"),
        metrics_secondary=values.get("metrics_secondary"),
        secondary_metrics=values.get("secondary_metrics"),
        primary_metrics_ordered_uuids=values.get("primary_metrics_ordered_uuids"),
        secondary_metrics_ordered_uuids=values.get("secondary_metrics_ordered_uuids"),
        saved_metrics_ids=values.get("saved_metrics_ids"),
        stats_config=values.get("stats_config"),
        exposure_criteria=values.get("exposure_criteria"),
        only_count_matured_users=values.get("only_count_matured_users"),
        start_date=values.get("start_date"),
        end_date=values.get("end_date"),
        archived=values.get("archived", False),
        deleted=values.get("deleted", False),
        conclusion=values.get("conclusion"),
        conclusion_comment=values.get("conclusion_comment"),
        filters=values.get("filters"),
        scheduling_config=values.get("scheduling_config"),
        allow_unknown_events=values.get("allow_unknown_events", False),
        repository=values.get("repository"),
    )


# ----------------------------------------------------------------- update


def _check_update_payload(
    experiment: Experiment, values: dict[str, Any], flag: FeatureFlag
) -> None:
    """``_validate_update_payload``, in PostHog's order."""
    if experiment.deleted and values.get("deleted") is False and flag.deleted:
        raise refuse(
            "Cannot restore experiment: the linked feature flag has been deleted. "
            "Restore the feature flag first, then restore the experiment."
        )
    if experiment.is_draft and values.get("start_date") is not None:
        check_flag_launchable(flag)
    if has_legacy_metrics(experiment.metrics, experiment.metrics_secondary):
        disallowed = set(values) - {"get_feature_flag_key"} - LEGACY_UPDATABLE_KEYS
        if disallowed:
            raise refuse(
                "This experiment uses legacy metric formats and can only have its name, "
                "description, or end_date updated. "
                f"Cannot update: {', '.join(sorted(disallowed))}"
            )
        end = values.get("end_date")
        if "end_date" in values and experiment.start_date and end and experiment.start_date >= end:
            raise refuse("End date must be after start date")
        return
    extra = set(values) - UPDATABLE_KEYS
    if values.get("get_feature_flag_key") == flag.key:
        extra.discard("get_feature_flag_key")
    if extra:
        raise refuse(f"Can't update keys: {', '.join(sorted(extra))} on Experiment")
    run_service_check(
        lambda: check_running_time_calculation(values.get("running_time_calculation"))
    )
    run_service_check(lambda: check_string_list(values.get("excluded_variants")))
    if not experiment.is_draft:
        parameters = values.get("parameters") or {}
        if isinstance(parameters, dict) and "feature_flag_variants" in parameters:
            new_variants = parameters["feature_flag_variants"] or []
            current = flag.variants
            if len(new_variants) != len(current):
                raise refuse("Can't update feature_flag_variants on Experiment")
            for variant in new_variants:
                same = [item for item in current if item.get("key") == variant.get("key")]
                if len(same) != 1:
                    raise refuse("Can't update feature_flag_variants on Experiment")
        if "holdout" in values and values["holdout"] != experiment.holdout_id:
            raise refuse("Can't update holdout on running Experiment")
    filters = values.get("filters")
    if isinstance(filters, dict) and filters.get("properties"):
        raise refuse("Experiments do not support global filter properties")


def _synced_flag_filters(flag: FeatureFlag, parameters: dict[str, Any]) -> dict[str, Any]:
    variants = parameters.get("feature_flag_variants", []) or []
    groups = flag.filters.get("groups") or []
    rollout = parameters.get("rollout_percentage")
    if rollout is not None and groups:
        new_groups = [{**groups[0], "rollout_percentage": rollout}, *groups[1:]]
    else:
        new_groups = list(groups)
    filters = {
        **copy.deepcopy(flag.filters),
        "groups": copy.deepcopy(new_groups),
        "multivariate": {"variants": copy.deepcopy(variants) or copy.deepcopy(DEFAULT_VARIANTS)},
        "aggregation_group_type_index": parameters.get("aggregation_group_type_index"),
        "holdout": None,
    }
    try:
        check_variant_rollout(filters)
    except FieldError as error:
        raise error.to_api_error() from None
    return filters


def _sync_ordering(experiment: Experiment, values: dict[str, Any]) -> None:
    for field, ordering_field in (
        ("metrics", "primary_metrics_ordered_uuids"),
        ("metrics_secondary", "secondary_metrics_ordered_uuids"),
    ):
        if field not in values:
            continue
        old = set(_metric_uuids(getattr(experiment, field)))
        new = set(_metric_uuids(values[field]))
        added, removed = new - old, old - new
        if not added and not removed:
            continue
        base = (
            values[ordering_field]
            if ordering_field in values
            else getattr(experiment, ordering_field)
        )
        ordering = [uuid for uuid in (base or []) if uuid not in removed]
        for uuid in _metric_uuids(values[field]):
            if uuid in added and uuid not in ordering:
                ordering.append(uuid)
        values[ordering_field] = ordering


def update_experiment(
    ctx: RequestContext, experiment: Experiment, body: Any, *, partial: bool
) -> Experiment:
    """``PUT``/``PATCH /experiments/{id}/``."""
    state = ctx.state
    values = parse_experiment_body(body, partial=partial)
    allow_unknown_events = bool(values.pop("allow_unknown_events", False))
    update_flag_params = bool(values.pop("update_feature_flag_params", False))
    # Concurrency tokens of the newest API and the folder hint are accepted and not acted on.
    for ignored in ("version", "original_experiment", "_create_in_folder"):
        values.pop(ignored, None)
    if "saved_metrics_ids" in values:
        run_service_check(lambda: check_saved_metrics(values["saved_metrics_ids"]))
    seen: set[str] = set()
    if "metrics" in values and "metrics_secondary" not in values:
        seen |= set(_metric_uuids(experiment.metrics_secondary))
    if "metrics_secondary" in values and "metrics" not in values:
        seen |= set(_metric_uuids(experiment.metrics))
    project = state.projects[experiment.team_id]
    for field in ("metrics", "metrics_secondary"):
        if field not in values:
            continue
        values[field] = assign_uuids(values[field], seen)
        run_service_check(functools.partial(validate_metrics, values[field]))
        run_service_check(functools.partial(check_actions_exist, values[field], set()))
        if not allow_unknown_events:
            run_service_check(
                functools.partial(check_events_known, values[field], project.known_events)
            )
    flag = state.flag_of(experiment)
    assert flag is not None
    _check_update_payload(experiment, values, flag)
    values.pop("saved_metrics_ids", None)
    values.pop("get_feature_flag_key", None)

    synced_filters: dict[str, Any] | None = None
    parameters = values.get("parameters")
    if (experiment.is_draft or update_flag_params) and parameters and isinstance(parameters, dict):
        synced_filters = _synced_flag_filters(flag, parameters)

    update_variants = (
        parameters.get("feature_flag_variants") if isinstance(parameters, dict) else None
    )
    keys = (
        [str(variant.get("key")) for variant in update_variants if isinstance(variant, dict)]
        if isinstance(update_variants, list)
        else flag.variant_keys
    )
    if "stats_config" in values or update_variants is not None:
        check_stats_config(values.get("stats_config", experiment.stats_config), keys)
    if values.get("excluded_variants"):
        effective = values.get("stats_config", experiment.stats_config) or {}
        baseline = (
            effective.get("baseline_variant_key", "control")
            if isinstance(effective, dict)
            else "control"
        )
        check_excluded_variants(values["excluded_variants"], keys, baseline)
    if "metrics" in values or "metrics_secondary" in values:
        run_service_check(
            lambda: check_no_duplicate_uuids(values.get("metrics"), values.get("metrics_secondary"))
        )
    start_date = values.get("start_date", experiment.start_date)
    stats_config = values.get("stats_config", experiment.stats_config)
    exposure = values.get("exposure_criteria", experiment.exposure_criteria)
    matured = bool(values.get("only_count_matured_users", experiment.only_count_matured_users))
    excluded = (values.get("excluded_variants", experiment.excluded_variants)) or []
    for field in ("metrics", "metrics_secondary"):
        metrics = values.get(field, getattr(experiment, field))
        if metrics:
            values[field] = stamp_fingerprints(
                metrics,
                start_date,
                stats_config,
                exposure,
                only_count_matured_users=matured,
                excluded_variants=excluded,
            )
    _sync_ordering(experiment, values)
    check_ordering(
        "primary_metrics_ordered_uuids",
        values.get("primary_metrics_ordered_uuids", experiment.primary_metrics_ordered_uuids),
        values.get("metrics", experiment.metrics),
    )
    check_ordering(
        "secondary_metrics_ordered_uuids",
        values.get("secondary_metrics_ordered_uuids", experiment.secondary_metrics_ordered_uuids),
        values.get("metrics_secondary", experiment.metrics_secondary),
    )

    _apply_update(ctx, experiment, flag, values, synced_filters)
    return experiment


def _apply_update(
    ctx: RequestContext,
    experiment: Experiment,
    flag: FeatureFlag,
    values: dict[str, Any],
    synced_filters: dict[str, Any] | None,
) -> None:
    """Write a validated update, then count what it applied."""
    state = ctx.state
    now = state.clock.now()
    was_draft = experiment.is_draft
    was_ended = experiment.end_date is not None
    was_archived = experiment.archived
    was_deleted = bool(experiment.deleted)
    if synced_filters is not None:
        flag.filters = synced_filters
        flag.version += 1
        flag.updated_at = now
        flag.last_modified_by_id = ctx.user.id
    launching = was_draft and values.get("start_date") is not None
    if launching:
        flag.set_active(True, now)
        flag.updated_at = now
    if synced_filters is not None or launching:
        state.save(flag)
    if values.get("parameters") is not None:
        values["parameters"] = strip_flag_config(values["parameters"])
    for key, value in values.items():
        setattr(experiment, "holdout_id" if key == "holdout" else key, value)
    if launching:
        snapshot_traffic_split(experiment, flag)
    experiment.updated_at = now
    experiment.version += 1
    state.save(experiment)
    ctx.applied(experiment, "update")
    if launching:
        ctx.applied(experiment, "launch")
    if not was_ended and experiment.end_date is not None and experiment.start_date is not None:
        ctx.applied(experiment, "end")
    if experiment.archived != was_archived:
        ctx.applied(experiment, "archive" if experiment.archived else "unarchive")
    if bool(experiment.deleted) != was_deleted:
        ctx.applied(experiment, "delete" if experiment.deleted else "restore")


# ----------------------------------------------------------------- duplicate / copy


def clone_experiment(
    ctx: RequestContext,
    source: Experiment,
    *,
    target: Project,
    feature_flag_key: Any,
    name: Any,
) -> Experiment:
    """``clone_experiment``: a new draft in ``target`` (same project for duplicates)."""
    state = ctx.state
    source_flag = state.flag_of(source)
    assert source_flag is not None
    is_cross_project = target.id != ctx.project.id
    if feature_flag_key is None:
        feature_flag_key = source_flag.key
    parameters: dict[str, Any] = (
        copy.deepcopy(source.parameters) if isinstance(source.parameters, dict) else {}
    )
    if source_flag.variants:
        parameters["feature_flag_variants"] = copy.deepcopy(source_flag.variants)
    if is_cross_project or feature_flag_key != source_flag.key:
        existing = (
            flag_by_key(state, target.id, feature_flag_key)
            if isinstance(feature_flag_key, str)
            else None
        )
        if existing is not None and existing.variants:
            parameters["feature_flag_variants"] = copy.deepcopy(existing.variants)
    run_service_check(lambda: check_parameters(parameters))
    run_service_check(lambda: check_exposure_criteria(source.exposure_criteria))
    run_service_check(lambda: validate_metrics(source.metrics))
    run_service_check(lambda: validate_metrics(source.metrics_secondary))
    if name:
        clone_name = str(name)
    else:
        base = f"{source.name} (Copy)"
        taken = {
            experiment.name
            for experiment in state.experiments.values()
            if experiment.team_id == target.id and not experiment.deleted
        }
        clone_name, counter = base, 1
        while clone_name in taken:
            clone_name = f"{base} {counter}"
            counter += 1
    metrics, primary_remap = renew_uuids(source.metrics)
    metrics_secondary, secondary_remap = renew_uuids(source.metrics_secondary)

    def remap(ordering: list[str] | None, mapping: dict[str, str]) -> list[str] | None:
        if not ordering or not mapping:
            return ordering
        return [mapping.get(uuid, uuid) for uuid in ordering]

    return create_in_team(
        ctx,
        target,
        name=clone_name,
        feature_flag_key=feature_flag_key,
        description=source.description or "",
        type=source.type or "product",
        parameters=parameters,
        running_time_calculation=copy.deepcopy(source.running_time_calculation),
        filters=copy.deepcopy(source.filters),
        metrics=metrics,
        metrics_secondary=metrics_secondary,
        stats_config=copy.deepcopy(source.stats_config),
        scheduling_config=copy.deepcopy(source.scheduling_config),
        exposure_criteria=copy.deepcopy(source.exposure_criteria),
        primary_metrics_ordered_uuids=remap(source.primary_metrics_ordered_uuids, primary_remap),
        secondary_metrics_ordered_uuids=remap(
            source.secondary_metrics_ordered_uuids, secondary_remap
        ),
        only_count_matured_users=source.only_count_matured_users,
        allow_unknown_events=True,
    )


# ----------------------------------------------------------------- exposure cohort


def create_exposure_cohort(ctx: RequestContext, experiment: Experiment) -> Cohort:
    """``create_exposure_cohort_for_experiment``."""
    state = ctx.state
    flag = state.flag_of(experiment)
    if flag is None:
        raise refuse("Experiment does not have a feature flag")
    if experiment.start_date is None:
        raise refuse("Experiment does not have a start date")
    if experiment.exposure_cohort_id is not None:
        raise refuse("Experiment already has an exposure cohort")
    target_entity: int | str = "$feature_flag_called"
    target_type = "events"
    target_filters: list[dict[str, Any]] = [
        {"key": "$feature_flag", "value": [flag.key], "operator": "exact", "type": "event"}
    ]
    parameters = experiment.parameters if isinstance(experiment.parameters, dict) else {}
    custom = parameters.get("custom_exposure_filter")
    if isinstance(custom, dict):
        entity, entity_type = _first_entity(custom)
        if entity is not None and entity.get("id"):
            target_type = entity_type
            target_entity = entity["id"]
            if entity_type == "actions":
                try:
                    target_entity = int(entity["id"])
                except (TypeError, ValueError):
                    raise refuse("Invalid action ID") from None
            properties = entity.get("properties")
            target_filters = [
                prop
                for prop in (properties if isinstance(properties, list) else [])
                if isinstance(prop, dict)
                and prop.get("type") in ("event", "feature", "element", "hogql")
            ]
    cohort = Cohort(
        id=state.next_id("cohort"),
        team_id=experiment.team_id,
        name=f'Users exposed to experiment "{experiment.name}"',
        filters={
            "properties": {
                "type": "OR",
                "values": [
                    {
                        "type": "OR",
                        "values": [
                            {
                                "type": "behavioral",
                                "value": "performed_event",
                                "key": target_entity,
                                "negation": False,
                                "event_type": target_type,
                                "event_filters": target_filters,
                                "explicit_datetime": experiment.start_date.isoformat(),
                            }
                        ],
                    }
                ],
            }
        },
        created_at=state.clock.now(),
        created_by_id=ctx.user.id,
    )
    state.save(cohort)
    experiment.exposure_cohort_id = cohort.id
    state.save(experiment)
    ctx.applied(experiment, "create_exposure_cohort")
    return cohort


def _first_entity(filter_data: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    for key in ("events", "actions"):
        entities = filter_data.get(key)
        if isinstance(entities, list) and entities and isinstance(entities[0], dict):
            return entities[0], key
    return None, "events"
