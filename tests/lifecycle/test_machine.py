"""The lifecycle machine, alone: every (status × action) against a literal table, guards, diagram."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from lifecycle import Action, Experiment, ExperimentStatus, check, diagram, options, status_of
from lifecycle.errors import ExperimentNotFoundError

RUNNING, PAUSED, ENDED, ARCHIVED, DRAFT = "running", "paused", "ended", "archived", "draft"
NOT_LAUNCHED = "Experiment has not been launched yet."
LAUNCHED = "Experiment has already been launched."
HAS_ENDED = "Experiment has already ended."
MUST_END = "Experiment must be ended before it can be archived."
NOT_ARCHIVED = "Experiment is not archived."

# A second, independent statement of the rules: (allowed → target) or (refused → reason).
EXPECTED: dict[str, dict[str, tuple[bool, str]]] = {
    DRAFT: {
        "launch": (True, RUNNING),
        "pause": (False, NOT_LAUNCHED),
        "resume": (False, NOT_LAUNCHED),
        "end": (False, NOT_LAUNCHED),
        "ship_variant": (False, NOT_LAUNCHED),
        "archive": (False, MUST_END),
        "unarchive": (False, NOT_ARCHIVED),
        "reset": (False, "Experiment is already in draft state."),
    },
    RUNNING: {
        "launch": (False, LAUNCHED),
        "pause": (True, PAUSED),
        "resume": (False, "Experiment is not paused."),
        "end": (True, ENDED),
        "ship_variant": (True, ENDED),
        "archive": (False, MUST_END),
        "unarchive": (False, NOT_ARCHIVED),
        "reset": (True, DRAFT),
    },
    PAUSED: {
        "launch": (False, LAUNCHED),
        "pause": (False, "Experiment is already paused."),
        "resume": (True, RUNNING),
        "end": (True, ENDED),
        "ship_variant": (True, ENDED),
        "archive": (False, MUST_END),
        "unarchive": (False, NOT_ARCHIVED),
        "reset": (True, DRAFT),
    },
    ENDED: {
        "launch": (False, LAUNCHED),
        "pause": (False, HAS_ENDED),
        "resume": (False, HAS_ENDED),
        "end": (False, HAS_ENDED),
        "ship_variant": (True, ENDED),
        "archive": (True, ARCHIVED),
        "unarchive": (False, NOT_ARCHIVED),
        "reset": (True, DRAFT),
    },
    ARCHIVED: {
        "launch": (False, LAUNCHED),
        "pause": (False, HAS_ENDED),
        "resume": (False, HAS_ENDED),
        "end": (False, HAS_ENDED),
        "ship_variant": (False, "Experiment is archived: unarchive it before shipping a variant."),
        "archive": (False, "Experiment is already archived."),
        "unarchive": (True, ENDED),
        "reset": (True, DRAFT),
    },
}


def flag(
    *, active: bool = True, deleted: bool = False, variants: tuple[str, ...] = ("control", "test")
) -> dict[str, Any]:
    return {
        "id": 7,
        "key": "flag",
        "active": active,
        "deleted": deleted,
        "filters": {
            "multivariate": {
                "variants": [
                    {"key": k, "rollout_percentage": 100 // len(variants)} for k in variants
                ]
            }
        },
    }


def experiment(status: str, **overrides: Any) -> Experiment:
    started = "2025-03-03T09:00:00Z"
    fields: dict[str, Any] = {
        DRAFT: {"start_date": None, "feature_flag": flag(active=False)},
        RUNNING: {"start_date": started, "feature_flag": flag()},
        PAUSED: {"start_date": started, "feature_flag": flag(active=False)},
        ENDED: {"start_date": started, "end_date": "2025-03-20T09:00:00Z", "feature_flag": flag()},
        ARCHIVED: {
            "start_date": started,
            "end_date": "2025-03-20T09:00:00Z",
            "archived": True,
            "feature_flag": flag(),
        },
    }[status]
    return Experiment.model_validate({"id": 1, "name": "x", **fields, **overrides})


@pytest.mark.parametrize("status", list(EXPECTED))
@pytest.mark.parametrize("action", [a.value for a in Action])
def test_matrix(status: str, action: str) -> None:
    allowed, expected = EXPECTED[status][action]
    verdict = check(experiment(status), Action(action), {"variant_key": "test"})
    assert verdict.allowed is allowed
    if allowed:
        assert verdict.target == ExperimentStatus(expected)
    else:
        assert verdict.reason == expected


def test_matrix_covers_every_status_and_action() -> None:
    assert set(EXPECTED) == {s.value for s in ExperimentStatus}
    assert all(set(row) == {a.value for a in Action} for row in EXPECTED.values())


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (
            {"feature_flag": flag(active=False, deleted=True)},
            "Experiment cannot be launched because its feature flag has been deleted.",
        ),
        (
            {"feature_flag": flag(active=False, variants=("control",))},
            "Feature flag must have at least 2 variants (control and at least one test variant)",
        ),
        (
            {"feature_flag": flag(active=False, variants=("a", "b"))},
            "Feature flag must have a variant with key 'control'",
        ),
        ({"feature_flag": None}, "Experiment does not have a feature flag linked."),
    ],
)
def test_launch_guards_in_posthogs_order_and_words(overrides: dict[str, Any], reason: str) -> None:
    verdict = check(experiment(DRAFT, **overrides), Action.LAUNCH)
    assert (verdict.allowed, verdict.reason) == (False, reason)


def test_ship_needs_a_variant_on_the_flag() -> None:
    verdict = check(experiment(RUNNING), Action.SHIP_VARIANT, {"variant_key": "blue"})
    assert verdict.reason == "Variant 'blue' not found on feature flag."
    no_flag = check(
        experiment(RUNNING, feature_flag=None), Action.SHIP_VARIANT, {"variant_key": "test"}
    )
    assert no_flag.reason == "Experiment does not have a linked feature flag."


def test_status_derivation_follows_posthogs_order() -> None:
    assert status_of(experiment(DRAFT)) is ExperimentStatus.DRAFT
    # An ended experiment with an inactive flag is ended, not paused (PostHog checks stopped first).
    assert status_of(experiment(ENDED, feature_flag=flag(active=False))) is ExperimentStatus.ENDED
    # archived is orthogonal for drafts: an archived draft is still a draft.
    assert status_of(experiment(DRAFT, archived=True)) is ExperimentStatus.DRAFT
    with pytest.raises(ExperimentNotFoundError):
        status_of(experiment(RUNNING, deleted=True))


def test_options_list_allowed_actions_and_reasons() -> None:
    listed = options(experiment(RUNNING)).as_dict()
    assert listed["status"] == "running"
    assert listed["allowed_actions"] == ["pause", "end", "ship_variant", "reset"]
    assert listed["refused"]["launch"] == LAUNCHED


def test_readme_diagram_is_current() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    match = re.search(r"```mermaid\n(.*?)```", readme, re.S)
    assert match is not None, "README.md has no mermaid lifecycle diagram"
    assert match.group(1) == diagram(), (
        "README diagram is stale: paste lifecycle.diagram() into README.md"
    )
