"""JSON renderings of experiments, flags, users and cohorts, and the one status derivation.

``render_experiment`` is PostHog's ``ExperimentSerializer`` (detail, create, update and action
responses) and ``render_experiment_basic`` its ``ExperimentBasicSerializer`` (list). Era B fields
are rendered, plus the read-only fields of the newest published schema that it marks required
(``version``, ``repository``, ``flag_cleanup_task_id``, ``can_freeze_exposure``,
``resolved_exposure_event``), so responses validate against the OpenAPI file.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from sandbox.flags import drf_datetime, render_minimal, rollout_percentage_of
from sandbox.metrics import has_legacy_metrics
from sandbox.state import Cohort, Experiment, FeatureFlag, SandboxState, User

Status = Literal["draft", "running", "paused", "stopped"]


def status_of(experiment: Experiment, flag: FeatureFlag | None) -> Status:
    """§3.1: draft, then stopped, then paused (flag off), else running."""
    if experiment.start_date is None:
        return "draft"
    if experiment.end_date is not None:
        return "stopped"
    if flag is not None and not flag.active:
        return "paused"
    return "running"


def render_user(user: User | None) -> dict[str, Any] | None:
    """``UserBasic``."""
    if user is None:
        return None
    return {
        "id": user.id,
        "uuid": user.uuid,
        "distinct_id": user.distinct_id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_email_verified": True,
        "hedgehog_config": None,
        "role_at_organization": user.role_at_organization,
    }


def project_parameters(stored: Any, flag: FeatureFlag | None) -> Any:
    """§3.2: stored non-flag keys plus the flag's config projected back."""
    if flag is None:
        return copy.deepcopy(stored)
    parameters: dict[str, Any] = dict(copy.deepcopy(stored)) if isinstance(stored, dict) else {}
    variants = copy.deepcopy(flag.variants)
    for variant in variants:
        if "rollout_percentage" in variant:
            variant["split_percent"] = variant["rollout_percentage"]
    parameters["feature_flag_variants"] = variants
    aggregation = flag.filters.get("aggregation_group_type_index")
    if aggregation is not None:
        parameters["aggregation_group_type_index"] = aggregation
    else:
        parameters.pop("aggregation_group_type_index", None)
    rollout = rollout_percentage_of(flag)
    if rollout is not None:
        parameters["rollout_percentage"] = rollout
    else:
        parameters.pop("rollout_percentage", None)
    payloads = flag.filters.get("payloads")
    if payloads:
        parameters["feature_flag_payloads"] = copy.deepcopy(payloads)
    if flag.ensure_experience_continuity is not None:
        parameters["ensure_experience_continuity"] = flag.ensure_experience_continuity
    return parameters


def resolved_exposure_event(experiment: Experiment) -> str:
    """The event exposures are counted on."""
    criteria = experiment.exposure_criteria
    if isinstance(criteria, dict) and isinstance(criteria.get("exposure_config"), dict):
        config = criteria["exposure_config"]
        if config.get("kind", "ExperimentEventExposureConfig") == "ExperimentEventExposureConfig":
            event = config.get("event")
            if isinstance(event, str) and event:
                return event
    return "$feature_flag_called"


def _shared_fields(state: SandboxState, experiment: Experiment) -> dict[str, Any]:
    flag = state.flag_of(experiment)
    return {
        "id": experiment.id,
        "name": experiment.name,
        "description": experiment.description,
        "start_date": drf_datetime(experiment.start_date),
        "end_date": drf_datetime(experiment.end_date),
        "feature_flag_key": flag.key if flag else None,
        "feature_flag": render_minimal(flag) if flag else None,
        "holdout": None,
        "exposure_cohort": experiment.exposure_cohort_id,
        "parameters": project_parameters(experiment.parameters, flag),
        "running_time_calculation": copy.deepcopy(experiment.running_time_calculation),
        "excluded_variants": copy.deepcopy(experiment.excluded_variants),
        "archived": experiment.archived,
        "deleted": experiment.deleted,
        "created_by": render_user(state.user(experiment.created_by_id)),
        "created_at": drf_datetime(experiment.created_at),
        "updated_at": drf_datetime(experiment.updated_at),
        "type": experiment.type,
        "conclusion": experiment.conclusion,
        "conclusion_comment": experiment.conclusion_comment,
        "status": status_of(experiment, flag),
        "is_legacy": has_legacy_metrics(experiment.metrics, experiment.metrics_secondary),
        "user_access_level": "editor",
    }


def render_experiment_basic(state: SandboxState, experiment: Experiment) -> dict[str, Any]:
    """``ExperimentBasic`` (list items)."""
    shared = _shared_fields(state, experiment)
    order = (
        "id", "name", "description", "start_date", "end_date", "feature_flag_key",
        "feature_flag", "holdout", "exposure_cohort", "parameters", "running_time_calculation",
        "excluded_variants", "archived", "deleted", "created_by", "created_at", "updated_at",
        "type", "conclusion", "conclusion_comment", "status", "is_legacy", "user_access_level",
    )  # fmt: skip
    return {key: shared[key] for key in order}


def render_experiment(state: SandboxState, experiment: Experiment) -> dict[str, Any]:
    """``Experiment`` (detail, create, update and action responses)."""
    shared = _shared_fields(state, experiment)
    flag = state.flag_of(experiment)
    aggregation = flag.filters.get("aggregation_group_type_index") if flag else None
    return {
        "id": shared["id"],
        "name": shared["name"],
        "description": shared["description"],
        "start_date": shared["start_date"],
        "end_date": shared["end_date"],
        "feature_flag_key": shared["feature_flag_key"],
        "feature_flag": shared["feature_flag"],
        "holdout": None,
        "holdout_id": experiment.holdout_id,
        "exposure_cohort": shared["exposure_cohort"],
        "parameters": shared["parameters"],
        "running_time_calculation": shared["running_time_calculation"],
        "excluded_variants": shared["excluded_variants"],
        "secondary_metrics": copy.deepcopy(experiment.secondary_metrics),
        "saved_metrics": [],
        "saved_metrics_ids": None,
        "filters": copy.deepcopy(experiment.filters),
        "archived": shared["archived"],
        "deleted": shared["deleted"],
        "created_by": shared["created_by"],
        "created_at": shared["created_at"],
        "updated_at": shared["updated_at"],
        "type": shared["type"],
        "exposure_criteria": copy.deepcopy(experiment.exposure_criteria),
        "metrics": copy.deepcopy(experiment.metrics),
        "metrics_secondary": copy.deepcopy(experiment.metrics_secondary),
        "stats_config": copy.deepcopy(experiment.stats_config),
        "scheduling_config": copy.deepcopy(experiment.scheduling_config),
        "conclusion": shared["conclusion"],
        "conclusion_comment": shared["conclusion_comment"],
        "primary_metrics_ordered_uuids": copy.deepcopy(experiment.primary_metrics_ordered_uuids),
        "secondary_metrics_ordered_uuids": copy.deepcopy(
            experiment.secondary_metrics_ordered_uuids
        ),
        "only_count_matured_users": experiment.only_count_matured_users,
        "status": shared["status"],
        "is_legacy": shared["is_legacy"],
        "user_access_level": "editor",
        "flag_cleanup_task_id": None,
        "repository": experiment.repository,
        "version": experiment.version,
        "can_freeze_exposure": shared["status"] == "running"
        and aggregation is None
        and experiment.holdout_id is None,
        "resolved_exposure_event": resolved_exposure_event(experiment),
    }


def render_cohort(state: SandboxState, cohort: Cohort) -> dict[str, Any]:
    """A plausible ``CohortSerializer`` object (its exact shape was not extracted)."""
    experiment_ids = sorted(
        experiment.id
        for experiment in state.experiments.values()
        if experiment.exposure_cohort_id == cohort.id
    )
    return {
        "id": cohort.id,
        "name": cohort.name,
        "description": cohort.description,
        "groups": [],
        "deleted": cohort.deleted,
        "filters": copy.deepcopy(cohort.filters),
        "query": None,
        "is_calculating": cohort.is_calculating,
        "created_by": render_user(state.user(cohort.created_by_id)),
        "created_at": drf_datetime(cohort.created_at),
        "last_calculation": None,
        "errors_calculating": 0,
        "last_error_at": None,
        "count": None,
        "is_static": cohort.is_static,
        "cohort_type": None,
        "experiment_set": experiment_ids,
    }


def render_flag(state: SandboxState, flag: FeatureFlag) -> dict[str, Any]:
    """A plausible ``FeatureFlagSerializer`` object (its exact shape was not extracted)."""
    experiment_ids = sorted(
        experiment.id
        for experiment in state.experiments.values()
        if experiment.feature_flag_id == flag.id and not experiment.deleted
    )
    is_simple = not flag.filters.get("multivariate") and len(flag.filters.get("groups") or []) == 1
    return {
        "id": flag.id,
        "name": flag.name,
        "key": flag.key,
        "filters": copy.deepcopy(flag.filters),
        "deleted": flag.deleted,
        "active": flag.active,
        "created_by": render_user(state.user(flag.created_by_id)),
        "created_at": drf_datetime(flag.created_at),
        "updated_at": drf_datetime(flag.updated_at),
        "version": flag.version,
        "last_modified_by": render_user(state.user(flag.last_modified_by_id)),
        "is_simple_flag": is_simple,
        "rollout_percentage": rollout_percentage_of(flag) if is_simple else None,
        "ensure_experience_continuity": flag.ensure_experience_continuity,
        "experiment_set": experiment_ids,
        "surveys": [],
        "features": [],
        "rollback_conditions": [],
        "performed_rollback": False,
        "can_edit": True,
        "tags": [],
        "evaluation_tags": [],
        "usage_dashboard": None,
        "analytics_dashboards": [],
        "has_enriched_analytics": False,
        "user_access_level": "editor",
        "creation_context": flag.creation_context,
        "is_remote_configuration": False,
        "has_encrypted_payloads": False,
        "status": "ACTIVE" if flag.active else "INACTIVE",
        "evaluation_runtime": flag.evaluation_runtime,
        "bucketing_identifier": flag.bucketing_identifier,
        "evaluation_contexts": [],
        "last_called_at": None,
        "team_id": flag.team_id,
    }
