"""Feature flags: creation the way the experiments service does it, validation and JSON shapes.

Flags are real linked objects: experiments point at them, ``paused`` is decided by
``flag.active``, ship_variant rewrites their variants. This module holds the rules that touch a
flag (the ``FeatureFlagSerializer`` checks the experiment endpoints can trigger, the ship rewrite,
eligibility for experiments) and the two JSON renderings (``MinimalFeatureFlag`` on experiments,
the full ``FeatureFlag`` on ``eligible_feature_flags``).
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

from sandbox import errors
from sandbox.errors import FieldError
from sandbox.state import FeatureFlag, InactivePeriod, SandboxState, User

DEFAULT_VARIANTS: list[dict[str, Any]] = [
    {"key": "control", "name": "Control Group", "rollout_percentage": 50},
    {"key": "test", "name": "Test Variant", "rollout_percentage": 50},
]
_KEY_PATTERN = re.compile(r"^[a-zA-Z0-9_-]+$")
SHIP_GROUP_DESCRIPTION = (
    "Added automatically when the experiment was ended to keep only one variant."
)


def drf_datetime(value: datetime | None) -> str | None:
    """DRF's ``DateTimeField`` rendering: ISO 8601 with ``Z`` for UTC."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def check_flag_key(key: Any) -> str:
    """``FeatureFlagSerializer`` key checks; errors carry ``attr = "key"``."""
    if isinstance(key, bool) or not isinstance(key, str | int | float):
        raise FieldError(errors.NOT_A_STRING, path=("key",))
    text = str(key).strip()
    if text == "":
        raise FieldError(errors.BLANK, "blank", ("key",))
    if len(text) > 400:
        raise FieldError(errors.max_length_text(400), "max_length", ("key",))
    if not _KEY_PATTERN.match(text):
        raise FieldError(
            "Only letters, numbers, hyphens (-) & underscores (_) are allowed.", path=("key",)
        )
    return text


def check_variant_rollout(filters: dict[str, Any]) -> None:
    """``FeatureFlagSerializer.validate_filters``: variant percentages must sum to 100."""
    multivariate = filters.get("multivariate")
    variants = multivariate.get("variants") if isinstance(multivariate, dict) else None
    if not isinstance(variants, list) or not variants:
        return
    total = 0.0
    for variant in variants:
        value = variant.get("rollout_percentage", 0) if isinstance(variant, dict) else 0
        total += value if isinstance(value, int | float) and not isinstance(value, bool) else 0
    if total != 100:
        raise FieldError(
            "Invalid variant definitions: Variant rollout percentages must sum to 100.",
            path=("filters",),
        )


def new_flag(
    state: SandboxState,
    *,
    team_id: int,
    key: str,
    name: str,
    filters: dict[str, Any],
    active: bool,
    user: User | None,
    ensure_experience_continuity: bool | None = False,
    creation_context: str = "experiments",
) -> FeatureFlag:
    """Create and store a flag (callers validate first)."""
    now = state.clock.now()
    flag = FeatureFlag(
        id=state.next_id("flag"),
        team_id=team_id,
        key=key,
        name=name,
        filters=filters,
        active=active,
        ensure_experience_continuity=ensure_experience_continuity,
        created_at=now,
        updated_at=now,
        created_by_id=user.id if user else None,
        last_modified_by_id=user.id if user else None,
        creation_context=creation_context,
        inactive_periods=[] if active else [InactivePeriod(since=now)],
    )
    state.save(flag)
    return flag


def rewrite_for_winner(
    filters: dict[str, Any], variant_key: str, *, release_to_everyone: bool
) -> dict[str, Any]:
    """ship_variant's flag rewrite (§5.17)."""
    groups = list(filters.get("groups") or [])
    if release_to_everyone:
        groups = [
            {"properties": [], "rollout_percentage": 100, "description": SHIP_GROUP_DESCRIPTION},
            *groups,
        ]
    multivariate = filters.get("multivariate") or {}
    variants = multivariate.get("variants", []) if isinstance(multivariate, dict) else []
    return {
        "aggregation_group_type_index": filters.get("aggregation_group_type_index"),
        "payloads": copy.deepcopy(filters.get("payloads", {})),
        "multivariate": {
            "variants": [
                {
                    "key": variant["key"],
                    "rollout_percentage": 100 if variant["key"] == variant_key else 0,
                    **({"name": variant["name"]} if variant.get("name") else {}),
                }
                for variant in variants
                if isinstance(variant, dict)
            ]
        },
        "groups": groups,
    }


def is_eligible(flag: FeatureFlag) -> bool:
    """At least two variants and ``control`` first (§5.20)."""
    keys = flag.variant_keys
    return len(keys) >= 2 and keys[0] == "control"


def render_minimal(flag: FeatureFlag) -> dict[str, Any]:
    """``MinimalFeatureFlag`` as nested in experiments."""
    return {
        "id": flag.id,
        "team_id": flag.team_id,
        "name": flag.name,
        "key": flag.key,
        "filters": copy.deepcopy(flag.filters),
        "deleted": flag.deleted,
        "active": flag.active,
        "ensure_experience_continuity": flag.ensure_experience_continuity,
        "version": flag.version,
        "evaluation_runtime": flag.evaluation_runtime,
        "bucketing_identifier": flag.bucketing_identifier,
        "evaluation_contexts": [],
    }


def rollout_percentage_of(flag: FeatureFlag) -> Any:
    """The first release group's rollout percentage (``None`` when unset)."""
    groups = flag.filters.get("groups")
    if isinstance(groups, list) and groups and isinstance(groups[0], dict):
        return groups[0].get("rollout_percentage")
    return None


def render_admin(flag: FeatureFlag) -> dict[str, Any]:
    """The sandbox admin view of a flag (adds the sandbox-only markers)."""
    return {
        **render_minimal(flag),
        "archived": flag.archived,
        "approval_required": flag.approval_required,
        "created_at": drf_datetime(flag.created_at),
        "updated_at": drf_datetime(flag.updated_at),
    }
