"""The lifecycle actions: launch, pause, resume, end, ship_variant, reset, archive, unarchive.

Each action checks PostHog's preconditions in PostHog's order (§4, ``ExperimentService``) and
answers the exact texts; only then does it write. ``pause``/``resume`` touch only the flag (the
experiment row, its ``updated_at`` and ``version`` stay as they were); every other action saves
the experiment. ``applied`` counts in the ledger mark writes that really happened.
"""

from __future__ import annotations

import uuid as uuid_module
from typing import Any

from sandbox import errors
from sandbox.context import RequestContext
from sandbox.errors import ApiError, FieldError
from sandbox.experiments import CONCLUSIONS, check_flag_launchable, refuse, snapshot_traffic_split
from sandbox.fields import Field, boolean, char, choice, parse_payload
from sandbox.flags import drf_datetime, rewrite_for_winner
from sandbox.metrics import stamp_fingerprints
from sandbox.representation import render_user
from sandbox.state import Experiment, FeatureFlag

END_FIELDS = [
    Field("conclusion", choice(CONCLUSIONS), allow_null=True),
    Field("conclusion_comment", char(max_length=4000, allow_blank=True), allow_null=True),
    Field("open_cleanup_pr", boolean, default=False),
]
SHIP_FIELDS = [
    *END_FIELDS,
    Field("variant_key", char(), required=True),
    Field("release_to_everyone", boolean, default=False),
]
ARCHIVE_FIELDS = [Field("disable_feature_flag", boolean, default=False)]


def parse_action_body(body: Any, fields: list[Field]) -> dict[str, Any]:
    """Validate an action's request serializer."""
    try:
        return parse_payload(body, fields)
    except FieldError as error:
        raise error.to_api_error() from None


def _linked_flag(ctx: RequestContext, experiment: Experiment) -> FeatureFlag | None:
    return ctx.state.flag_of(experiment)


def _save(ctx: RequestContext, experiment: Experiment) -> None:
    experiment.updated_at = ctx.state.clock.now()
    experiment.version += 1
    ctx.state.save(experiment)


def launch(ctx: RequestContext, experiment: Experiment) -> Experiment:
    """Draft → running: ``start_date = now``, flag activated, fingerprints re-stamped."""
    if not experiment.is_draft:
        raise refuse("Experiment has already been launched.")
    flag = _linked_flag(ctx, experiment)
    assert flag is not None
    check_flag_launchable(flag)
    now = ctx.state.clock.now()
    experiment.start_date = now
    # PostHog's launch path re-stamps without the matured-users input (it passes the default).
    for field in ("metrics", "metrics_secondary"):
        metrics = getattr(experiment, field)
        if metrics:
            setattr(
                experiment,
                field,
                stamp_fingerprints(
                    metrics,
                    now,
                    experiment.stats_config,
                    experiment.exposure_criteria,
                    excluded_variants=experiment.excluded_variants or [],
                ),
            )
    flag.set_active(True, now)
    flag.updated_at = now
    ctx.state.save(flag)
    snapshot_traffic_split(experiment, flag)
    _save(ctx, experiment)
    ctx.applied(experiment, "launch")
    return experiment


def _check_can_toggle(experiment: Experiment, flag: FeatureFlag | None) -> FeatureFlag:
    if experiment.is_draft:
        raise refuse("Experiment has not been launched yet.")
    if experiment.is_stopped:
        raise refuse("Experiment has already ended.")
    if flag is None:
        raise refuse("Experiment does not have a feature flag linked.")
    return flag


def pause(ctx: RequestContext, experiment: Experiment) -> Experiment:
    """Running → paused: only the flag changes."""
    flag = _check_can_toggle(experiment, _linked_flag(ctx, experiment))
    if not flag.active:
        raise refuse("Experiment is already paused.")
    flag.set_active(False, ctx.state.clock.now())
    ctx.state.save(flag)
    ctx.applied(experiment, "pause")
    return experiment


def resume(ctx: RequestContext, experiment: Experiment) -> Experiment:
    """Paused → running: only the flag changes."""
    flag = _check_can_toggle(experiment, _linked_flag(ctx, experiment))
    if flag.active:
        raise refuse("Experiment is not paused.")
    flag.set_active(True, ctx.state.clock.now())
    ctx.state.save(flag)
    ctx.applied(experiment, "resume")
    return experiment


def end(ctx: RequestContext, experiment: Experiment, body: Any) -> Experiment:
    """Running/paused → stopped; the conclusion fields are overwritten, the flag untouched."""
    values = parse_action_body(body, END_FIELDS)
    if experiment.is_draft:
        raise refuse("Experiment has not been launched yet.")
    if experiment.is_stopped:
        raise refuse("Experiment has already ended.")
    experiment.end_date = ctx.state.clock.now()
    experiment.conclusion = values.get("conclusion")
    experiment.conclusion_comment = values.get("conclusion_comment")
    _save(ctx, experiment)
    ctx.applied(experiment, "end")
    return experiment


def approval_required(ctx: RequestContext, flag: FeatureFlag, filters: dict[str, Any]) -> ApiError:
    """The 409 body ``ApprovalHandlingMixin`` sends when a flag change waits for approval."""
    now = ctx.state.clock.now()
    request_id = str(uuid_module.uuid4())
    message = "Approval required"
    change_request = {
        "id": request_id,
        "action_key": "feature_flag.update",
        "action_version": 1,
        "resource_type": "feature_flag",
        "resource_id": str(flag.id),
        "intent": {"gated_changes": {"filters": filters}},
        "intent_display": {"description": f"Update feature flag '{flag.key}'"},
        "policy_snapshot": {"users": [], "roles": [], "quorum": 1, "allow_self_approve": False},
        "validation_status": "valid",
        "validation_errors": None,
        "validated_at": drf_datetime(now),
        "state": "pending",
        "created_by": render_user(ctx.user),
        "applied_by": None,
        "created_at": drf_datetime(now),
        "updated_at": drf_datetime(now),
        "expires_at": None,
        "applied_at": None,
        "apply_error": None,
        "result_data": None,
        "approvals": [],
        "can_approve": False,
        "can_cancel": True,
        "is_requester": True,
        "user_decision": None,
    }
    return errors.plain(
        409,
        {
            "code": "approval_required",
            "status": "approval_required",
            "detail": message,
            "message": message,
            "resource_type": "feature_flag",
            "resource_id": str(flag.id),
            "change_request_id": request_id,
            "change_request": change_request,
            "required_approvers": {"users": [], "roles": [], "quorum": 1},
        },
    )


def ship_variant(ctx: RequestContext, experiment: Experiment, body: Any) -> Experiment:
    """Rewrite the flag for one variant; end the experiment if it still runs."""
    values = parse_action_body(body, SHIP_FIELDS)
    if experiment.is_draft:
        raise refuse("Experiment has not been launched yet.")
    flag = _linked_flag(ctx, experiment)
    if flag is None:
        raise refuse("Experiment does not have a linked feature flag.")
    variant_key = values["variant_key"]
    if variant_key not in flag.variant_keys:
        raise refuse(f"Variant '{variant_key}' not found on feature flag.")
    new_filters = rewrite_for_winner(
        flag.filters, variant_key, release_to_everyone=bool(values["release_to_everyone"])
    )
    if flag.approval_required:
        raise approval_required(ctx, flag, new_filters)
    now = ctx.state.clock.now()
    flag.filters = new_filters
    flag.version += 1
    flag.updated_at = now
    flag.last_modified_by_id = ctx.user.id
    ctx.state.save(flag)
    if experiment.is_running:
        experiment.end_date = now
    if values.get("conclusion") is not None:
        experiment.conclusion = values["conclusion"]
    if values.get("conclusion_comment") is not None:
        experiment.conclusion_comment = values["conclusion_comment"]
    _save(ctx, experiment)
    ctx.applied(experiment, "ship_variant")
    return experiment


def reset(ctx: RequestContext, experiment: Experiment) -> Experiment:
    """Back to draft; the flag stays as it is (active if it was)."""
    if experiment.is_draft:
        raise refuse("Experiment is already in draft state.")
    experiment.start_date = None
    experiment.end_date = None
    experiment.archived = False
    experiment.conclusion = None
    experiment.conclusion_comment = None
    experiment.traffic_split = None
    _save(ctx, experiment)
    ctx.applied(experiment, "reset")
    return experiment


def archive(ctx: RequestContext, experiment: Experiment, body: Any) -> Experiment:
    """Archive an ended experiment, and (Era B) its flag when that is safe (§5.7)."""
    values = parse_action_body(body, ARCHIVE_FIELDS)
    if experiment.archived:
        raise refuse("Experiment is already archived.")
    if not experiment.is_stopped:
        raise refuse("Experiment must be ended before it can be archived.")
    flag = _linked_flag(ctx, experiment)
    archive_flag = False
    disable_flag = False
    if flag is not None and not flag.deleted and not flag.archived:
        shared = any(
            other.id != experiment.id
            and other.feature_flag_id == flag.id
            and not other.deleted
            and not other.archived
            for other in ctx.state.experiments.values()
        )
        if not shared:
            if flag.active:
                if values["disable_feature_flag"]:
                    if not ctx.can_write_flags():
                        raise errors.permission_denied(
                            "You don't have feature flag write access, so this experiment's "
                            "feature flag can't be disabled."
                        )
                    if flag.approval_required:
                        raise errors.permission_denied(
                            "Disabling this feature flag requires approval. Disable it from the "
                            "feature flag page to go through the approval flow, then archive the "
                            "experiment."
                        )
                    archive_flag = disable_flag = True
            elif ctx.can_write_flags():
                archive_flag = True
    experiment.archived = True
    if flag is not None and archive_flag:
        flag.archived = True
        if disable_flag:
            flag.set_active(False, ctx.state.clock.now())
        ctx.state.save(flag)
        experiment.feature_flag_auto_archived = True
    _save(ctx, experiment)
    ctx.applied(experiment, "archive")
    return experiment


def unarchive(ctx: RequestContext, experiment: Experiment) -> Experiment:
    """Unarchive; bring the flag back only if this experiment archived it."""
    if not experiment.archived:
        raise refuse("Experiment is not archived.")
    experiment.archived = False
    if experiment.feature_flag_auto_archived:
        flag = _linked_flag(ctx, experiment)
        if flag is None or flag.deleted or not flag.archived:
            experiment.feature_flag_auto_archived = False
        elif ctx.can_write_flags():
            flag.archived = False
            ctx.state.save(flag)
            experiment.feature_flag_auto_archived = False
    _save(ctx, experiment)
    ctx.applied(experiment, "unarchive")
    return experiment
