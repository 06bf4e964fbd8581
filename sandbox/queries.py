"""The read-only collection endpoints: list, stats, eligible_feature_flags, requires_flag_implementation.

The list follows ``filter_experiments_queryset`` (filters, the order allowlist with its special
orderings) and DRF's ``LimitOffsetPagination`` (absolute ``next``/``previous`` built from the
request URL, query parameters sorted as DRF's ``replace_query_param`` does). Ties in an ordering
are broken by id, newest first, where PostHog leaves them to the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib import parse

from sandbox import errors
from sandbox.context import RequestContext
from sandbox.experiments import refuse
from sandbox.flags import is_eligible
from sandbox.metrics import referenced_entities
from sandbox.representation import render_experiment_basic, render_flag, status_of
from sandbox.state import Experiment, FeatureFlag

PAGE_SIZE = 100
EXPERIMENT_ORDERS = frozenset(
    f"{sign}{field}"
    for sign in ("", "-")
    for field in (
        "created_at", "created_by", "updated_at", "name", "start_date", "end_date", "duration",
        "status",
    )
)  # fmt: skip
FLAG_ORDERS = frozenset(
    f"{sign}{field}" for sign in ("", "-") for field in ("created_at", "key", "name")
)
STATUS_FILTERS = ("draft", "running", "paused", "stopped", "all")


def parse_created_by_ids(raw: str) -> list[int]:
    """A single id, a JSON list, or a comma-separated list; unusable parts are ignored."""
    text = raw.strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    items: list[Any]
    if isinstance(parsed, list):
        items = parsed
    elif isinstance(parsed, int) and not isinstance(parsed, bool):
        items = [parsed]
    else:
        items = [part.strip() for part in text.split(",")]
    ids = []
    for item in items:
        try:
            ids.append(int(item))
        except (TypeError, ValueError):
            continue
    return ids


def _sorted(items: list[Any], key: Callable[[Any], Any], descending: bool) -> list[Any]:
    """Sort like Postgres: NULLs last ascending, first descending."""

    def wrapped(item: Any) -> tuple[bool, Any]:
        value = key(item)
        return (value is None, value if value is not None else 0)

    return sorted(items, key=wrapped, reverse=descending)


def _positive_int(text: str | None, *, strict: bool) -> int:
    if text is None:
        raise ValueError("missing")
    value = int(text)
    if value < 0 or (value == 0 and strict):
        raise ValueError("not positive")
    return value


def _with_query(url: str, changes: Mapping[str, str | None]) -> str:
    scheme, netloc, path, query, fragment = parse.urlsplit(url)
    params = parse.parse_qs(query, keep_blank_values=True)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = [value]
    encoded = parse.urlencode(sorted(params.items()), doseq=True)
    return parse.urlunsplit((scheme, netloc, path, encoded, fragment))


def paginate(
    items: list[Any], query: Mapping[str, str], url: str
) -> tuple[list[Any], dict[str, Any]]:
    """DRF ``LimitOffsetPagination``: the page and the envelope fields around it."""
    try:
        limit = _positive_int(query.get("limit"), strict=True)
    except ValueError:
        limit = PAGE_SIZE
    try:
        offset = _positive_int(query.get("offset"), strict=False)
    except ValueError:
        offset = 0
    count = len(items)
    page = [] if count == 0 or offset > count else items[offset : offset + limit]
    next_url = (
        None
        if offset + limit >= count
        else _with_query(url, {"limit": str(limit), "offset": str(offset + limit)})
    )
    if offset <= 0:
        previous_url = None
    elif offset - limit <= 0:
        previous_url = _with_query(url, {"limit": str(limit), "offset": None})
    else:
        previous_url = _with_query(url, {"limit": str(limit), "offset": str(offset - limit)})
    return page, {"count": count, "next": next_url, "previous": previous_url}


def _experiment_order_key(ctx: RequestContext, field: str) -> Callable[[Experiment], Any]:
    state = ctx.state
    now = state.clock.now()
    if field == "duration":

        def duration(experiment: Experiment) -> Any:
            if experiment.start_date is None:
                return None
            return ((experiment.end_date or now) - experiment.start_date).total_seconds()

        return duration
    if field == "status":

        def status(experiment: Experiment) -> int:
            if experiment.start_date is None:
                return 0
            return 1 if experiment.end_date is None else 2

        return status
    if field == "created_by":

        def creator(experiment: Experiment) -> Any:
            user = state.user(experiment.created_by_id)
            return (user.first_name or user.email) if user else None

        return creator
    if field == "name":
        return lambda experiment: (experiment.name.casefold(), experiment.name)
    return lambda experiment: getattr(experiment, field)


def list_experiments(ctx: RequestContext, query: Mapping[str, str], url: str) -> dict[str, Any]:
    """``GET /experiments/``."""
    state = ctx.state
    items = [
        experiment
        for experiment in state.experiments.values()
        if experiment.team_id == ctx.project.id and not experiment.deleted
    ]
    status = query.get("status")
    if status:
        wanted = str(status).lower()
        wanted = "stopped" if wanted == "complete" else wanted
        if wanted in STATUS_FILTERS and wanted != "all":
            items = [
                experiment
                for experiment in items
                if status_of(experiment, state.flag_of(experiment)) == wanted
            ]
    created_by = query.get("created_by_id")
    if created_by:
        user_ids = parse_created_by_ids(created_by)
        if user_ids:
            items = [experiment for experiment in items if experiment.created_by_id in user_ids]
    archived = query.get("archived")
    archived_wanted = archived is not None and str(archived).lower() == "true"
    items = [experiment for experiment in items if experiment.archived == archived_wanted]
    flag_id = query.get("feature_flag_id")
    if flag_id:
        try:
            wanted_flag = int(flag_id)
        except ValueError:
            raise refuse("feature_flag_id must be an integer") from None
        items = [experiment for experiment in items if experiment.feature_flag_id == wanted_flag]
    prompt_name = query.get("prompt_name")
    if prompt_name:
        items = [experiment for experiment in items if _prompt_name(experiment) == prompt_name]
    event = query.get("event")
    if event:
        items = [
            experiment
            for experiment in items
            if event in referenced_entities(experiment.all_metrics())[0]
        ]
    search = query.get("search")
    if search:
        items = [
            experiment for experiment in items if search.casefold() in experiment.name.casefold()
        ]
    order = query.get("order")
    if order and order not in EXPERIMENT_ORDERS:
        raise refuse(f"Invalid order field: '{order}'")
    order = order or "-created_at"
    items = sorted(items, key=lambda experiment: experiment.id, reverse=True)
    items = _sorted(items, _experiment_order_key(ctx, order.lstrip("-")), order.startswith("-"))
    page, envelope = paginate(items, query, url)
    return {**envelope, "results": [render_experiment_basic(state, item) for item in page]}


def _prompt_name(experiment: Experiment) -> Any:
    parameters = experiment.parameters if isinstance(experiment.parameters, dict) else {}
    metadata = parameters.get("prompt_metadata")
    return metadata.get("name") if isinstance(metadata, dict) else None


def _midnight(day: Any) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def velocity_stats(ctx: RequestContext) -> dict[str, Any]:
    """``GET /experiments/stats/`` (§5.22)."""
    today = ctx.state.clock.now().date()
    last_start = _midnight(today - timedelta(days=30))
    previous_start = _midnight(today - timedelta(days=60))
    tomorrow = _midnight(today + timedelta(days=1))
    items = [
        experiment
        for experiment in ctx.state.experiments.values()
        if experiment.team_id == ctx.project.id
        and not experiment.deleted
        and not experiment.archived
    ]
    launched_last = sum(
        1 for e in items if e.start_date is not None and last_start <= e.start_date < tomorrow
    )
    launched_previous = sum(
        1 for e in items if e.start_date is not None and previous_start <= e.start_date < last_start
    )
    if launched_previous == 0:
        percent_change = 100.0 if launched_last > 0 else 0.0
    else:
        percent_change = (launched_last - launched_previous) / launched_previous * 100
    return {
        "launched_last_30d": launched_last,
        "launched_previous_30d": launched_previous,
        "percent_change": round(percent_change, 1),
        "active_experiments": sum(
            1 for e in items if e.start_date is not None and e.end_date is None
        ),
        "completed_last_30d": sum(
            1 for e in items if e.end_date is not None and last_start <= e.end_date < tomorrow
        ),
    }


def eligible_feature_flags(ctx: RequestContext, query: Mapping[str, str]) -> dict[str, Any]:
    """``GET /experiments/eligible_feature_flags/`` (§5.20)."""
    try:
        limit = min(int(query.get("limit", "20")), 100)
        offset = max(int(query.get("offset", "0")), 0)
    except ValueError:
        raise errors.plain(400, {"error": "Invalid limit or offset"}) from None
    if limit < 0:
        # PostHog slices with a negative bound and fails; answer the same 400 as a bad number.
        raise errors.plain(400, {"error": "Invalid limit or offset"})
    flags = [
        flag
        for flag in ctx.state.flags.values()
        if flag.team_id == ctx.project.id and is_eligible(flag)
    ]
    search = query.get("search")
    if search:
        needle = search.casefold()
        flags = [
            flag
            for flag in flags
            if needle in flag.key.casefold() or needle in flag.name.casefold()
        ]
    active = query.get("active")
    if active is not None:
        wanted = str(active).lower() == "true"
        flags = [flag for flag in flags if flag.active == wanted]
    created_by = query.get("created_by_id")
    if created_by:
        user_ids = parse_created_by_ids(created_by)
        if user_ids:
            flags = [flag for flag in flags if flag.created_by_id in user_ids]
    runtime = query.get("evaluation_runtime")
    if runtime:
        flags = [flag for flag in flags if flag.evaluation_runtime == runtime]
    contexts = query.get("has_evaluation_contexts")
    if contexts is not None and str(contexts).lower() in ("true", "1", "yes"):
        flags = []
    order = query.get("order")
    if order and order not in FLAG_ORDERS:
        raise refuse(f"Invalid order field: '{order}'")
    order = order or "-created_at"
    field = order.lstrip("-")
    flags = sorted(flags, key=lambda flag: flag.id, reverse=True)
    flags = _sorted(flags, _flag_order_key(field), order.startswith("-"))
    page = flags[offset : offset + limit]
    return {
        "results": [render_flag(ctx.state, flag) for flag in page],
        "count": len(flags),
    }


def _flag_order_key(field: str) -> Callable[[FeatureFlag], Any]:
    if field in ("key", "name"):
        return lambda flag: (getattr(flag, field).casefold(), getattr(flag, field))
    return lambda flag: flag.created_at


def _requested_events(query: Mapping[str, str]) -> set[str]:
    raw = query.get("events")
    if not raw:
        return set()
    try:
        parsed = json.loads(raw)
    except ValueError:
        return set()
    names: set[str] = set()
    for item in parsed if isinstance(parsed, list) else []:
        if isinstance(item, dict):
            name = item.get("id") or item.get("name")
            if isinstance(name, str):
                names.add(name)
        elif isinstance(item, str):
            names.add(item)
    return names


def requires_flag_implementation(ctx: RequestContext, query: Mapping[str, str]) -> dict[str, Any]:
    """``GET /experiments/requires_flag_implementation/``.

    The sandbox has no event store. Its rule: an event "carries ``$feature/`` properties" when a
    launched experiment of the project measures it (or it is ``$feature_flag_called`` and some
    experiment is launched); the answer is ``true`` unless a requested event carries them.
    """
    launched = [
        experiment
        for experiment in ctx.state.experiments.values()
        if experiment.team_id == ctx.project.id
        and not experiment.deleted
        and experiment.start_date is not None
    ]
    carrying: set[str] = set()
    for experiment in launched:
        carrying |= referenced_entities(experiment.all_metrics())[0]
    if launched:
        carrying.add("$feature_flag_called")
    requested = _requested_events(query)
    return {"result": not (requested & carrying)}
