"""The operation table: one row per PostHog experiments operation, the single source of every face.

The client sends requests from these rows; the REST routes, the MCP tools and the table-driven
tests are generated from them. Each row also carries the capability's names for the operation
(``posthog-experiments.capability.yaml``): the consumed operation, the REST path and the seed's
MCP tool names, which stay callable as aliases of the row's clear tool name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from adapters.posthog.models import (
    ArchiveExperiment,
    CopyExperimentToProject,
    DuplicateExperiment,
    EligibleFeatureFlags,
    EligibleFeatureFlagsQuery,
    EmptyBody,
    EndExperiment,
    Experiment,
    ExperimentCreate,
    ExperimentPage,
    ExperimentPatch,
    ExperimentStats,
    ExperimentUpdate,
    ExposureCohort,
    FlagImplementationQuery,
    FlagImplementationRequirement,
    ListExperimentsQuery,
    RecalculateTimeseries,
    ShipVariant,
    TimeseriesRecalculation,
    TimeseriesResults,
    TimeseriesResultsQuery,
)
from lifecycle.snapshot import ApiModel

ResponseT = TypeVar("ResponseT", bound=ApiModel | None)
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
Scope = Literal["experiment:read", "experiment:write", "feature_flag:read"]

COLLECTION = "/api/projects/{project_id}/experiments/"
DETAIL = "/api/projects/{project_id}/experiments/{id}/"
REST_COLLECTION = "/v1/api/projects/{project-id}/experiments"
REST_DETAIL = "/v1/api/projects/{project-id}/experiments/{id}"


@dataclass(frozen=True)
class Operation(Generic[ResponseT]):
    """One PostHog operation and everything each face needs to know about it."""

    name: str
    """verb_noun name; also the client method's name."""
    method: Method
    path: str
    """PostHog path template with ``{project_id}`` and, for detail routes, ``{id}``."""
    response: type[ResponseT] | None
    """Model of the success body (``None``: PostHog never answers this one with a success)."""
    summary: str
    """One line: what the operation does."""
    description: str
    """What it does, its preconditions and what it returns (MCP tool description, REST docs)."""
    scope: Scope
    """The personal-API-key scope PostHog requires."""
    posthog_operation_id: str
    """PostHog's operationId (as in its OpenAPI)."""
    capability_operation: str
    """The consumed operation's name in the capability."""
    rest_path: str
    """The capability's REST path (under /v1)."""
    mcp_tool: str
    """The clear MCP tool name served and listed."""
    mcp_aliases: tuple[str, ...]
    """The capability's tool names for this operation: callable, never listed."""
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_required: bool = False
    """The capability declares the body required (a missing body is sent as ``{}``)."""
    success_statuses: tuple[int, ...] = (200,)
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    """Safe to repeat: the client retries these on transient failures."""
    lifecycle_action: str | None = None
    """The lifecycle event this operation realises (REST and MCP route it through the service)."""
    examples: dict[str, Any] = field(default_factory=dict)
    """An example body, for the REST docs."""

    @property
    def has_id(self) -> bool:
        return "{id}" in self.path

    @property
    def title(self) -> str:
        """A short human title ("Launch experiment")."""
        return self.name.replace("_", " ").capitalize()


def _row(**fields: Any) -> Operation[Any]:
    return Operation(**fields)


LIST_EXPERIMENTS: Operation[ExperimentPage] = _row(
    name="list_experiments",
    method="GET",
    path=COLLECTION,
    query=ListExperimentsQuery,
    response=ExperimentPage,
    summary="List experiments of a project, filtered by status, flag, creator, name or archival.",
    description=(
        "List experiments of a project, newest first unless `order` says otherwise. Filters: status "
        "(draft, running = launched with an active flag, paused = launched with an inactive flag, "
        "stopped, complete, all), archived (absent: non-archived only), feature_flag_id, "
        "created_by_id, search (name substring). Paginated with limit/offset; returns "
        "{count, next, previous, results} where results are experiment summaries (no metrics)."
    ),
    scope="experiment:read",
    read_only=True,
    idempotent=True,
    posthog_operation_id="experiments_list",
    capability_operation="experimentslist",
    rest_path=REST_COLLECTION,
    mcp_tool="experiments-list",
    mcp_aliases=(
        "list-experiments-current-project-supports",
        "list-experiments-current-project-supports-2",
    ),
)

CREATE_EXPERIMENT: Operation[Experiment] = _row(
    name="create_experiment",
    method="POST",
    path=COLLECTION,
    body=ExperimentCreate,
    body_required=True,
    response=Experiment,
    success_statuses=(201,),
    summary="Create a draft experiment linked to a feature flag.",
    description=(
        "Create an experiment in draft. `name` and `feature_flag_key` are required. An existing "
        "flag with that key is linked as-is (it must have at least 2 variants, one keyed "
        "'control'); otherwise PostHog creates an inactive flag with control/test at 50/50 or "
        "the variants in parameters.feature_flag_variants. Metrics must be "
        '{"kind": "ExperimentMetric", "metric_type": "funnel" | "mean" | "ratio" | "retention", ...}; '
        "PostHog assigns each a uuid and fingerprint. Returns the new experiment (201)."
    ),
    scope="experiment:write",
    posthog_operation_id="experiments_create",
    capability_operation="experimentscreate",
    rest_path=REST_COLLECTION,
    mcp_tool="experiment-create",
    mcp_aliases=("create-new-experiment-draft-status", "create-new-experiment-draft-status-2"),
    examples={
        "name": "Checkout button colour",
        "feature_flag_key": "checkout-button-colour",
        "description": "Green converts better than grey.",
    },
)

LIST_ELIGIBLE_FEATURE_FLAGS: Operation[EligibleFeatureFlags] = _row(
    name="list_eligible_feature_flags",
    method="GET",
    path=COLLECTION + "eligible_feature_flags/",
    query=EligibleFeatureFlagsQuery,
    response=EligibleFeatureFlags,
    summary="List feature flags that can back an experiment (multivariate, first variant 'control').",
    description=(
        "List the project's feature flags that can be linked to a new experiment: multivariate "
        "flags with at least 2 variants whose first variant is 'control'. Filters: search, "
        "active, created_by_id, evaluation_runtime, has_evaluation_contexts; order by "
        "created_at, key or name; limit (1-100, default 20) and offset. Returns {results, count} "
        "with full flag objects and no next/previous links. Needs the feature_flag:read scope."
    ),
    scope="feature_flag:read",
    read_only=True,
    idempotent=True,
    posthog_operation_id="experiments_eligible_feature_flags_retrieve",
    capability_operation="experimentseligiblefeatureflagsretrieve",
    rest_path=REST_COLLECTION + "/eligible-feature-flags",
    mcp_tool="experiments-eligible-feature-flags",
    mcp_aliases=("returns-paginated-list-feature-flags", "returns-paginated-list-feature-flags-2"),
)

CHECK_FLAG_IMPLEMENTATION: Operation[FlagImplementationRequirement] = _row(
    name="check_flag_implementation",
    method="GET",
    path=COLLECTION + "requires_flag_implementation/",
    query=FlagImplementationQuery,
    response=FlagImplementationRequirement,
    summary="Tell whether recent events still lack $feature/ properties (the flag needs wiring in code).",
    description=(
        "Sample the last 7 days of the given events (or actions) and report whether none of them "
        "carries a `$feature/<flag>` property, i.e. whether the feature flag still has to be "
        "implemented in code before experiment results can be attributed. Returns {result: bool}."
    ),
    scope="experiment:read",
    read_only=True,
    idempotent=True,
    posthog_operation_id="experiments_requires_flag_implementation_retrieve",
    capability_operation="experimentsrequiresflagimplementationretrieve",
    rest_path=REST_COLLECTION + "/requires-flag-implementation",
    mcp_tool="experiments-requires-flag-implementation",
    mcp_aliases=(
        "mixin-viewsets-handle-approvalrequired-exceptions",
        "mixin-viewsets-handle-approvalrequired-exceptions-2",
    ),
)

GET_EXPERIMENT_STATS: Operation[ExperimentStats] = _row(
    name="get_experiment_stats",
    method="GET",
    path=COLLECTION + "stats/",
    response=ExperimentStats,
    summary="Report launch velocity: launched and completed in the last 30 days, active now.",
    description=(
        "Count the project's non-archived experiments launched in the last 30 days and the 30 "
        "before, the percent change between them, the experiments running now and those "
        "completed in the last 30 days. Returns {launched_last_30d, launched_previous_30d, "
        "percent_change, active_experiments, completed_last_30d}."
    ),
    scope="experiment:read",
    read_only=True,
    idempotent=True,
    posthog_operation_id="experiments_stats_retrieve",
    capability_operation="experimentsstatsretrieve",
    rest_path=REST_COLLECTION + "/stats",
    mcp_tool="experiments-stats",
    mcp_aliases=(
        "mixin-viewsets-handle-approvalrequired-exceptions-3",
        "mixin-viewsets-handle-approvalrequired-exceptions-4",
    ),
)

GET_EXPERIMENT: Operation[Experiment] = _row(
    name="get_experiment",
    method="GET",
    path=DETAIL,
    response=Experiment,
    summary="Read one experiment with its status, flag, metrics and conclusion.",
    description=(
        "Read one experiment by id: status (draft, running, paused, stopped), dates, linked "
        "feature flag with its variants, metrics with their uuids and fingerprints, stats "
        "config and conclusion. Soft-deleted experiments are not found (404)."
    ),
    scope="experiment:read",
    read_only=True,
    idempotent=True,
    posthog_operation_id="experiments_retrieve",
    capability_operation="experimentsretrieve",
    rest_path=REST_DETAIL,
    mcp_tool="experiment-get",
    mcp_aliases=(
        "retrieve-single-experiment-id-including",
        "retrieve-single-experiment-id-including-2",
    ),
)

UPDATE_EXPERIMENT: Operation[Experiment] = _row(
    name="update_experiment",
    method="PUT",
    path=DETAIL,
    body=ExperimentUpdate,
    body_required=True,
    response=Experiment,
    summary="Replace an experiment's editable fields (name and the current flag key required).",
    description=(
        "Full update of an experiment's editable fields. `name` and `feature_flag_key` are "
        "required, and the key must be the current one (PostHog cannot relink a flag). Variants "
        "of a launched experiment cannot change. Lifecycle fields (start_date, end_date, "
        "archived, conclusion, conclusion_comment) are refused by expctl: use the lifecycle "
        "actions. Returns the updated experiment."
    ),
    scope="experiment:write",
    idempotent=True,
    posthog_operation_id="experiments_update",
    capability_operation="experimentsupdate",
    rest_path=REST_DETAIL,
    mcp_tool="experiment-update",
    mcp_aliases=(
        "mixin-viewsets-handle-approvalrequired-exceptions-5",
        "mixin-viewsets-handle-approvalrequired-exceptions-6",
    ),
    examples={"name": "Checkout button colour", "feature_flag_key": "checkout-button-colour"},
)

PATCH_EXPERIMENT: Operation[Experiment] = _row(
    name="patch_experiment",
    method="PATCH",
    path=DETAIL,
    body=ExperimentPatch,
    response=Experiment,
    summary='Change some of an experiment\'s fields; {"deleted": true} soft-deletes it.',
    description=(
        "Partial update: name, description, metrics, stats config, exposure criteria, "
        'parameters and other editable fields. {"deleted": true} soft-deletes the experiment '
        '(PostHog\'s way to delete; {"deleted": false} restores it). Lifecycle fields '
        "(start_date, end_date, archived, conclusion, conclusion_comment) are refused by expctl: "
        "use launch, end, archive and the other lifecycle actions. Returns the updated experiment."
    ),
    scope="experiment:write",
    idempotent=True,
    posthog_operation_id="experiments_partial_update",
    capability_operation="experimentspartialupdate",
    rest_path=REST_DETAIL,
    mcp_tool="experiment-patch",
    mcp_aliases=("update-experiment-use-this-modify", "update-experiment-use-this-modify-2"),
    examples={"description": "Updated hypothesis."},
)

DELETE_EXPERIMENT: Operation[None] = _row(
    name="delete_experiment",
    method="DELETE",
    path=DETAIL,
    response=None,
    success_statuses=(204,),
    summary="Hard delete (PostHog refuses it with 405: soft-delete with PATCH deleted=true).",
    description=(
        "PostHog does not allow hard-deleting experiments and answers 405 with an empty body. "
        'To delete an experiment, soft-delete it: patch it with {"deleted": true}.'
    ),
    scope="experiment:write",
    destructive=True,
    idempotent=True,
    posthog_operation_id="experiments_destroy",
    capability_operation="experimentsdestroy",
    rest_path=REST_DETAIL,
    mcp_tool="experiment-delete",
    mcp_aliases=("hard-delete-this-model-is", "hard-delete-this-model-is-2"),
)

ARCHIVE_EXPERIMENT: Operation[Experiment] = _row(
    name="archive_experiment",
    method="POST",
    path=DETAIL + "archive/",
    body=ArchiveExperiment,
    response=Experiment,
    summary="Archive an ended experiment (optionally disabling its flag).",
    description=(
        "Archive an ended experiment so it leaves the default list. Precondition: ended and not "
        "yet archived. With disable_feature_flag=true an active linked flag is also disabled and "
        "archived (needs feature_flag:write). Returns the experiment."
    ),
    scope="experiment:write",
    posthog_operation_id="experiments_archive_create",
    capability_operation="experimentsarchivecreate",
    rest_path=REST_DETAIL + "/archive",
    mcp_tool="experiment-archive",
    mcp_aliases=("archive-ended-experiment", "archive-ended-experiment-2"),
    lifecycle_action="archive",
)

COPY_EXPERIMENT_TO_PROJECT: Operation[Experiment] = _row(
    name="copy_experiment_to_project",
    method="POST",
    path=DETAIL + "copy_to_project/",
    body=CopyExperimentToProject,
    body_required=True,
    response=Experiment,
    success_statuses=(201,),
    summary="Copy an experiment as a draft into another project of the same organisation.",
    description=(
        "Create a draft copy of the experiment in project `target_team_id` (same organisation). "
        "The flag key defaults to the source's (an existing flag with that key in the target is "
        'reused); the name defaults to "<name> (Copy)", numbered until unique. Saved metrics are '
        "not copied. Returns the new experiment in the target project (201)."
    ),
    scope="experiment:write",
    posthog_operation_id="experiments_copy_to_project_create",
    capability_operation="experimentscopytoprojectcreate",
    rest_path=REST_DETAIL + "/copy-to-project",
    mcp_tool="experiment-copy-to-project",
    mcp_aliases=(
        "mixin-viewsets-handle-approvalrequired-exceptions-7",
        "mixin-viewsets-handle-approvalrequired-exceptions-8",
    ),
    examples={"target_team_id": 2},
)

CREATE_EXPOSURE_COHORT: Operation[ExposureCohort] = _row(
    name="create_exposure_cohort",
    method="POST",
    path=DETAIL + "create_exposure_cohort_for_experiment/",
    body=EmptyBody,
    body_required=True,
    response=ExposureCohort,
    success_statuses=(201,),
    summary="Create a dynamic cohort of the users exposed to a launched experiment.",
    description=(
        "Create a dynamic cohort 'Users exposed to experiment \"<name>\"' of everyone who saw "
        "the experiment's flag since it started. Preconditions: a linked flag, a start date and "
        "no exposure cohort yet. Returns {cohort} (201)."
    ),
    scope="experiment:write",
    posthog_operation_id="experiments_create_exposure_cohort_for_experiment_create",
    capability_operation="experimentscreateexposurecohortforexperimentcreate",
    rest_path=REST_DETAIL + "/create-exposure-cohort-for-experiment",
    mcp_tool="experiment-create-exposure-cohort",
    mcp_aliases=(
        "mixin-viewsets-handle-approvalrequired-exceptions-9",
        "mixin-viewsets-handle-approvalrequired-exceptions-10",
    ),
)

DUPLICATE_EXPERIMENT: Operation[Experiment] = _row(
    name="duplicate_experiment",
    method="POST",
    path=DETAIL + "duplicate/",
    body=DuplicateExperiment,
    body_required=True,
    response=Experiment,
    success_statuses=(201,),
    summary="Duplicate an experiment as a draft in the same project.",
    description=(
        'Create a draft copy in the same project, named "<name> (Copy)" unless `name` is '
        "given. Without `feature_flag_key` the duplicate SHARES the source's flag, so pausing or "
        "shipping one affects both. Returns the new experiment (201)."
    ),
    scope="experiment:write",
    posthog_operation_id="experiments_duplicate_create",
    capability_operation="experimentsduplicatecreate",
    rest_path=REST_DETAIL + "/duplicate",
    mcp_tool="experiment-duplicate",
    mcp_aliases=(
        "mixin-viewsets-handle-approvalrequired-exceptions-11",
        "mixin-viewsets-handle-approvalrequired-exceptions-12",
    ),
    examples={"name": "Checkout button colour (rerun)", "feature_flag_key": "checkout-rerun"},
)

END_EXPERIMENT: Operation[Experiment] = _row(
    name="end_experiment",
    method="POST",
    path=DETAIL + "end/",
    body=EndExperiment,
    response=Experiment,
    summary="End a running or paused experiment without shipping a variant.",
    description=(
        "End a running or paused experiment: sets its end date and records the conclusion (won, "
        "lost, inconclusive, stopped_early, invalid) and comment. The flag keeps serving as it "
        "is. Preconditions: launched and not ended. Returns the experiment."
    ),
    scope="experiment:write",
    posthog_operation_id="experiments_end_create",
    capability_operation="experimentsendcreate",
    rest_path=REST_DETAIL + "/end",
    mcp_tool="experiment-end",
    mcp_aliases=(
        "end-running-experiment-without-shipping",
        "end-running-experiment-without-shipping-2",
    ),
    lifecycle_action="end",
    examples={"conclusion": "inconclusive", "conclusion_comment": "No effect after 28 days."},
)

LAUNCH_EXPERIMENT: Operation[Experiment] = _row(
    name="launch_experiment",
    method="POST",
    path=DETAIL + "launch/",
    response=Experiment,
    summary="Launch a draft experiment: set its start date and activate its flag.",
    description=(
        "Launch a draft experiment: PostHog sets the start date and activates the flag. "
        "Preconditions: still a draft; the flag exists, is not deleted, has at least 2 variants "
        "and one keyed 'control'. Returns the experiment, now running."
    ),
    scope="experiment:write",
    posthog_operation_id="experiments_launch_create",
    capability_operation="experimentslaunchcreate",
    rest_path=REST_DETAIL + "/launch",
    mcp_tool="experiment-launch",
    mcp_aliases=("launch-draft-experiment", "launch-draft-experiment-2"),
    lifecycle_action="launch",
)

PAUSE_EXPERIMENT: Operation[Experiment] = _row(
    name="pause_experiment",
    method="POST",
    path=DETAIL + "pause/",
    response=Experiment,
    summary="Pause a running experiment by deactivating its flag.",
    description=(
        "Pause a running experiment: PostHog deactivates the linked flag, so nobody is exposed "
        "any more; the experiment keeps its dates. Preconditions: launched, not ended, flag "
        "linked and active. Returns the experiment, now paused."
    ),
    scope="experiment:write",
    posthog_operation_id="experiments_pause_create",
    capability_operation="experimentspausecreate",
    rest_path=REST_DETAIL + "/pause",
    mcp_tool="experiment-pause",
    mcp_aliases=("pause-running-experiment", "pause-running-experiment-2"),
    lifecycle_action="pause",
)

RECALCULATE_TIMESERIES: Operation[TimeseriesRecalculation] = _row(
    name="recalculate_timeseries",
    method="POST",
    path=DETAIL + "recalculate_timeseries/",
    body=RecalculateTimeseries,
    body_required=True,
    response=TimeseriesRecalculation,
    success_statuses=(200, 201),
    summary="Recompute a metric's daily results from the experiment's start.",
    description=(
        "Start recomputing the stored daily results of one metric (send the metric object with "
        "its uuid and its current fingerprint). Precondition: launched. Returns the "
        "recalculation {id, status, ...}: 201 when a new one starts, 200 when one is already "
        "pending for this metric."
    ),
    scope="experiment:write",
    posthog_operation_id="experiments_recalculate_timeseries_create",
    capability_operation="experimentsrecalculatetimeseriescreate",
    rest_path=REST_DETAIL + "/recalculate-timeseries",
    mcp_tool="experiment-recalculate-timeseries",
    mcp_aliases=(
        "mixin-viewsets-handle-approvalrequired-exceptions-13",
        "mixin-viewsets-handle-approvalrequired-exceptions-14",
    ),
)

RESET_EXPERIMENT: Operation[Experiment] = _row(
    name="reset_experiment",
    method="POST",
    path=DETAIL + "reset/",
    response=Experiment,
    summary="Reset a launched experiment back to draft (clears dates, archive flag and conclusion).",
    description=(
        "Return a launched experiment to draft: PostHog clears start and end dates, the archived "
        "flag and the conclusion; the feature flag is left as it is (it keeps serving if "
        "active). Precondition: not already a draft. Returns the experiment, now a draft."
    ),
    scope="experiment:write",
    posthog_operation_id="experiments_reset_create",
    capability_operation="experimentsresetcreate",
    rest_path=REST_DETAIL + "/reset",
    mcp_tool="experiment-reset",
    mcp_aliases=("reset-experiment-back-draft-state", "reset-experiment-back-draft-state-2"),
    lifecycle_action="reset",
)

RESUME_EXPERIMENT: Operation[Experiment] = _row(
    name="resume_experiment",
    method="POST",
    path=DETAIL + "resume/",
    response=Experiment,
    summary="Resume a paused experiment by reactivating its flag.",
    description=(
        "Resume a paused experiment: PostHog reactivates the linked flag. Preconditions: "
        "launched, not ended, flag linked and inactive. Returns the experiment, now running."
    ),
    scope="experiment:write",
    posthog_operation_id="experiments_resume_create",
    capability_operation="experimentsresumecreate",
    rest_path=REST_DETAIL + "/resume",
    mcp_tool="experiment-resume",
    mcp_aliases=("resume-paused-experiment", "resume-paused-experiment-2"),
    lifecycle_action="resume",
)

SHIP_VARIANT: Operation[Experiment] = _row(
    name="ship_variant",
    method="POST",
    path=DETAIL + "ship_variant/",
    body=ShipVariant,
    body_required=True,
    response=Experiment,
    summary="Ship one variant to everyone the flag reaches and end the experiment.",
    description=(
        "Rewrite the flag so `variant_key` gets 100% (the others 0%) and, if the experiment is "
        "running or paused, end it with the optional conclusion and comment. With "
        "release_to_everyone=true a 100% release condition is added as well. Preconditions: "
        "launched, flag linked, variant exists on the flag. If PostHog requires approval for "
        "the flag change it answers 409 with a change request and nothing ends. Returns the "
        "experiment."
    ),
    scope="experiment:write",
    posthog_operation_id="experiments_ship_variant_create",
    capability_operation="experimentsshipvariantcreate",
    rest_path=REST_DETAIL + "/ship-variant",
    mcp_tool="experiment-ship-variant",
    mcp_aliases=("ship-variant-100-users-and", "ship-variant-100-users-and-2"),
    lifecycle_action="ship_variant",
    examples={"variant_key": "test", "conclusion": "won"},
)

GET_TIMESERIES_RESULTS: Operation[TimeseriesResults] = _row(
    name="get_timeseries_results",
    method="GET",
    path=DETAIL + "timeseries_results/",
    query=TimeseriesResultsQuery,
    response=TimeseriesResults,
    summary="Read a metric's stored daily results (cumulative per day) for a launched experiment.",
    description=(
        "Read one metric's results per day since launch: each day holds the cumulative analysis "
        "up to that day (per-variant exposures, sums, and PostHog's own significance), or null "
        "when not computed yet. Requires metric_uuid and the metric's current fingerprint (from "
        "the experiment). Returns {status: pending|partial|completed|failed, timeseries, "
        "errors, ...}."
    ),
    scope="experiment:read",
    read_only=True,
    idempotent=True,
    posthog_operation_id="experiments_timeseries_results_retrieve",
    capability_operation="experimentstimeseriesresultsretrieve",
    rest_path=REST_DETAIL + "/timeseries-results",
    mcp_tool="experiment-timeseries-results",
    mcp_aliases=(
        "mixin-viewsets-handle-approvalrequired-exceptions-15",
        "mixin-viewsets-handle-approvalrequired-exceptions-16",
    ),
)

UNARCHIVE_EXPERIMENT: Operation[Experiment] = _row(
    name="unarchive_experiment",
    method="POST",
    path=DETAIL + "unarchive/",
    response=Experiment,
    summary="Unarchive an archived experiment.",
    description=(
        "Bring an archived experiment back to the default list (it stays ended). Precondition: "
        "archived. Returns the experiment."
    ),
    scope="experiment:write",
    posthog_operation_id="experiments_unarchive_create",
    capability_operation="experimentsunarchivecreate",
    rest_path=REST_DETAIL + "/unarchive",
    mcp_tool="experiment-unarchive",
    mcp_aliases=("unarchive-archived-experiment", "unarchive-archived-experiment-2"),
    lifecycle_action="unarchive",
)

OPERATIONS: tuple[Operation[Any], ...] = (
    LIST_EXPERIMENTS,
    CREATE_EXPERIMENT,
    LIST_ELIGIBLE_FEATURE_FLAGS,
    CHECK_FLAG_IMPLEMENTATION,
    GET_EXPERIMENT_STATS,
    GET_EXPERIMENT,
    UPDATE_EXPERIMENT,
    PATCH_EXPERIMENT,
    DELETE_EXPERIMENT,
    ARCHIVE_EXPERIMENT,
    COPY_EXPERIMENT_TO_PROJECT,
    CREATE_EXPOSURE_COHORT,
    DUPLICATE_EXPERIMENT,
    END_EXPERIMENT,
    LAUNCH_EXPERIMENT,
    PAUSE_EXPERIMENT,
    RECALCULATE_TIMESERIES,
    RESET_EXPERIMENT,
    RESUME_EXPERIMENT,
    SHIP_VARIANT,
    GET_TIMESERIES_RESULTS,
    UNARCHIVE_EXPERIMENT,
)
"""The 22 operations, in the capability's order."""

OPERATIONS_BY_NAME: dict[str, Operation[Any]] = {op.name: op for op in OPERATIONS}


def operation_named(name: str) -> Operation[Any]:
    """The row called ``name``; a KeyError names the known ones."""
    try:
        return OPERATIONS_BY_NAME[name]
    except KeyError:
        known = ", ".join(sorted(OPERATIONS_BY_NAME))
        raise KeyError(f"unknown operation {name!r}; known: {known}") from None
