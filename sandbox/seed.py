"""What a fresh sandbox contains: the organisation topology, users, the default key, the demo.

Always: organisation 1 ("Sandbox Org") with projects 1 ("Demo") and 2 ("Staging"),
organisation 2 ("Other Org") with project 3 ("Elsewhere"); users 1 and 2; the settings' API key
with scope ``*``. Every project knows the settings' event names.

``seed="demo"`` adds, in project 1, flags and experiments in every state, with start dates
relative to the clock and simulation configs so results exist at once:

=====  ===============================  =========================================================
id     experiment                       state
=====  ===============================  =========================================================
1      Checkout button copy             draft, ready to launch (funnel + revenue metrics)
2      Pricing page redesign            running 14 days; test clearly wins the funnel
3      Homepage hero copy (A/A)         running 10 days; no effect anywhere
4      Onboarding checklist             running 12 days; revenue guardrail clearly worse in test
5      Search ranking v2                paused (launched 9 days ago, paused 3 days ago)
6      Newsletter signup modal          ended 6 days ago, conclusion "won"
7      Legacy navigation                ended and archived
8      Free shipping threshold          running; its flag needs approval, so ship → 409
9      Dark mode default                draft whose flag has no ``control`` (launch refused)
10     Pricing v1 (legacy)              ended, archived, legacy metric kind
=====  ===============================  =========================================================

plus eligible flags (``beta-dashboard``, ``new-onboarding-flow``) and ineligible ones
(``kill-switch-payments``, ``theme-picker``); project 2 has a ``beta-dashboard`` flag too.
"""

from __future__ import annotations

import copy
import uuid as uuid_module
from datetime import datetime, timedelta
from typing import Any

from sandbox.metrics import stamp_fingerprints
from sandbox.settings import SandboxSettings
from sandbox.simulator import Outcome, SimulationConfig
from sandbox.state import (
    ApiKey,
    Experiment,
    FeatureFlag,
    InactivePeriod,
    Organization,
    Project,
    SandboxState,
    Simulation,
    User,
)

DEMO_PROJECT_ID = 1
_NAMESPACE = uuid_module.UUID("6f1d2c3b-8a4e-4f6b-9c1d-2e3f4a5b6c7d")


def seed_uuid(name: str) -> str:
    """A stable uuid for seeded metrics, so tests can name them."""
    return str(uuid_module.uuid5(_NAMESPACE, name))


def ensure_default_key(state: SandboxState, settings: SandboxSettings) -> None:
    """The settings' key always exists with scope ``*``."""
    state.save(ApiKey(key=settings.api_key, scopes=["*"], projects=None, user_id=1))


def apply_seed(state: SandboxState, settings: SandboxSettings, seed: str | None) -> None:
    """Fill an empty state."""
    now = state.clock.now()
    state.save(
        User(
            id=1,
            uuid=seed_uuid("user-1"),
            distinct_id="sandbox-user-1",
            first_name="Sandbox",
            last_name="User",
            email="sandbox@example.com",
        )
    )
    state.save(
        User(
            id=2,
            uuid=seed_uuid("user-2"),
            distinct_id="sandbox-user-2",
            first_name="Ada",
            last_name="Lovelace",
            email="ada@example.com",
            role_at_organization="data",
        )
    )
    state.reserve_ids("user", 2)
    state.save(Organization(id=1, name="Sandbox Org"))
    state.save(Organization(id=2, name="Other Org"))
    for project_id, organization_id, name in (
        (1, 1, "Demo"),
        (2, 1, "Staging"),
        (3, 2, "Elsewhere"),
    ):
        state.save(
            Project(
                id=project_id,
                organization_id=organization_id,
                name=name,
                known_events=list(settings.known_events),
            )
        )
    ensure_default_key(state, settings)
    if seed == "demo":
        _Demo(state, now).build()


def funnel_metric(name: str, steps: list[str]) -> dict[str, Any]:
    """A funnel metric over events."""
    return {
        "kind": "ExperimentMetric",
        "metric_type": "funnel",
        "uuid": seed_uuid(name),
        "name": name,
        "goal": "increase",
        "series": [{"kind": "EventsNode", "event": step, "name": step} for step in steps],
        "conversion_window": 14,
        "conversion_window_unit": "day",
        "funnel_order_type": "ordered",
    }


def revenue_metric(name: str, goal: str = "increase") -> dict[str, Any]:
    """A mean metric: revenue per exposed user."""
    return {
        "kind": "ExperimentMetric",
        "metric_type": "mean",
        "uuid": seed_uuid(name),
        "name": name,
        "goal": goal,
        "source": {
            "kind": "EventsNode",
            "event": "purchase_completed",
            "name": "purchase_completed",
            "math": "sum",
            "math_property": "revenue",
            "properties": [],
        },
    }


def _variants(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
    names = {"control": "Control Group", "test": "Test Variant"}
    return [
        {
            "key": key,
            "name": names.get(key, key.replace("-", " ").title()),
            "rollout_percentage": share,
        }
        for key, share in pairs
    ]


class _Demo:
    """Builds the demo project."""

    def __init__(self, state: SandboxState, now: datetime) -> None:
        self.state = state
        self.now = now.replace(minute=0, second=0, microsecond=0)

    def ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days)

    def flag(
        self,
        key: str,
        variants: list[dict[str, Any]] | None,
        *,
        project_id: int = DEMO_PROJECT_ID,
        created: datetime,
        active_since: datetime | None = None,
        inactive_since: datetime | None = None,
        name: str | None = None,
        approval_required: bool = False,
        archived: bool = False,
        context: str = "experiments",
    ) -> FeatureFlag:
        periods = [InactivePeriod(since=created, until=active_since)]
        if active_since is None:
            periods = [InactivePeriod(since=created)]
        elif inactive_since is not None:
            periods.append(InactivePeriod(since=inactive_since))
        filters: dict[str, Any] = {
            "groups": [{"properties": [], "rollout_percentage": 100}],
            "multivariate": {"variants": copy.deepcopy(variants)} if variants else None,
            "aggregation_group_type_index": None,
            "payloads": {},
        }
        flag = FeatureFlag(
            id=self.state.next_id("flag"),
            team_id=project_id,
            key=key,
            name=name or f"Feature Flag for Experiment {key}",
            filters=filters,
            active=active_since is not None and inactive_since is None,
            archived=archived,
            created_at=created,
            updated_at=active_since or created,
            created_by_id=1,
            last_modified_by_id=1,
            creation_context=context,
            approval_required=approval_required,
            inactive_periods=periods,
        )
        self.state.save(flag)
        return flag

    def experiment(
        self,
        name: str,
        flag: FeatureFlag,
        *,
        created: datetime,
        start: datetime | None = None,
        end: datetime | None = None,
        metrics: list[dict[str, Any]] | None = None,
        secondary: list[dict[str, Any]] | None = None,
        user_id: int = 1,
        description: str = "",
        conclusion: str | None = None,
        conclusion_comment: str | None = None,
        archived: bool = False,
        simulation: SimulationConfig | None = None,
    ) -> Experiment:
        stats = {"method": "bayesian"}
        exposure = {"filterTestAccounts": True}
        primary = stamp_fingerprints(metrics or [], start, stats, exposure)
        extra = stamp_fingerprints(secondary or [], start, stats, exposure)
        experiment = Experiment(
            id=self.state.next_id("experiment"),
            team_id=flag.team_id,
            name=name,
            description=description,
            start_date=start,
            end_date=end,
            feature_flag_id=flag.id,
            parameters={},
            running_time_calculation={},
            metrics=primary,
            metrics_secondary=extra,
            stats_config=stats,
            exposure_criteria=exposure,
            primary_metrics_ordered_uuids=[metric["uuid"] for metric in primary],
            secondary_metrics_ordered_uuids=[metric["uuid"] for metric in extra],
            created_by_id=user_id,
            created_at=created,
            updated_at=end or start or created,
            conclusion=conclusion,
            conclusion_comment=conclusion_comment,
            archived=archived,
            feature_flag_auto_archived=archived and flag.archived,
        )
        if start is not None:
            experiment.traffic_split = {
                str(variant["key"]): float(variant["rollout_percentage"])
                for variant in flag.variants
            }
        self.state.save(experiment)
        if simulation is not None:
            self.state.save(Simulation(experiment_id=experiment.id, config=simulation))
        return experiment

    def build(self) -> None:
        two_way = _variants(("control", 50), ("test", 50))
        checkout = funnel_metric("Checkout conversion", ["$pageview", "purchase_completed"])
        revenue = revenue_metric("Revenue per user")

        flag = self.flag("checkout-button-copy", two_way, created=self.ago(2))
        self.experiment(
            "Checkout button copy",
            flag,
            created=self.ago(2),
            metrics=[checkout],
            secondary=[revenue],
            description="Does 'Buy now' beat 'Add to basket'?",
        )

        pricing_funnel = funnel_metric(
            "Pricing page conversion", ["$pageview", "purchase_completed"]
        )
        pricing_revenue = revenue_metric("Pricing revenue per user")
        flag = self.flag(
            "pricing-page-redesign", two_way, created=self.ago(16), active_since=self.ago(14)
        )
        self.experiment(
            "Pricing page redesign",
            flag,
            created=self.ago(16),
            start=self.ago(14),
            metrics=[pricing_funnel],
            secondary=[pricing_revenue],
            user_id=2,
            simulation=SimulationConfig(
                seed=11,
                metrics={
                    pricing_funnel["uuid"]: {
                        "control": Outcome(rate=0.10),
                        "test": Outcome(rate=0.13),
                    }
                },
            ),
        )

        hero_funnel = funnel_metric("Hero signup conversion", ["$pageview", "signup_completed"])
        hero_revenue = revenue_metric("Hero revenue per user")
        flag = self.flag(
            "homepage-hero-aa", two_way, created=self.ago(11), active_since=self.ago(10)
        )
        self.experiment(
            "Homepage hero copy (A/A)",
            flag,
            created=self.ago(11),
            start=self.ago(10),
            metrics=[hero_funnel],
            secondary=[hero_revenue],
            simulation=SimulationConfig(
                seed=12, metrics={hero_funnel["uuid"]: {"control": Outcome(rate=0.20)}}
            ),
        )

        onboarding_funnel = funnel_metric(
            "Onboarding activation", ["signup_completed", "checkout_started"]
        )
        guardrail = revenue_metric("Onboarding revenue per user (guardrail)")
        flag = self.flag(
            "onboarding-checklist", two_way, created=self.ago(13), active_since=self.ago(12)
        )
        self.experiment(
            "Onboarding checklist",
            flag,
            created=self.ago(13),
            start=self.ago(12),
            metrics=[onboarding_funnel],
            secondary=[guardrail],
            user_id=2,
            simulation=SimulationConfig(
                seed=13,
                metrics={
                    onboarding_funnel["uuid"]: {
                        "control": Outcome(rate=0.20),
                        "test": Outcome(rate=0.21),
                    },
                    guardrail["uuid"]: {
                        "control": Outcome(
                            distribution="lognormal", mu=3.0, sigma=0.5, purchase_rate=0.08
                        ),
                        "test": Outcome(
                            distribution="lognormal", mu=3.0, sigma=0.5, purchase_rate=0.05
                        ),
                    },
                },
            ),
        )

        search = funnel_metric("Search to purchase", ["$pageview", "purchase_completed"])
        flag = self.flag(
            "search-ranking-v2",
            two_way,
            created=self.ago(10),
            active_since=self.ago(9),
            inactive_since=self.ago(3),
        )
        self.experiment(
            "Search ranking v2",
            flag,
            created=self.ago(10),
            start=self.ago(9),
            metrics=[search],
            simulation=SimulationConfig(seed=14),
        )

        newsletter = funnel_metric("Newsletter signups", ["$pageview", "signup_completed"])
        flag = self.flag(
            "newsletter-modal", two_way, created=self.ago(21), active_since=self.ago(20)
        )
        self.experiment(
            "Newsletter signup modal",
            flag,
            created=self.ago(21),
            start=self.ago(20),
            end=self.ago(6),
            metrics=[newsletter],
            conclusion="won",
            conclusion_comment="The modal lifted newsletter signups; shipping it.",
            simulation=SimulationConfig(
                seed=15,
                metrics={
                    newsletter["uuid"]: {"control": Outcome(rate=0.08), "test": Outcome(rate=0.10)}
                },
            ),
        )

        navigation = funnel_metric(
            "Navigation clicks to purchase", ["$pageview", "purchase_completed"]
        )
        flag = self.flag(
            "legacy-navigation",
            two_way,
            created=self.ago(61),
            active_since=self.ago(60),
            inactive_since=self.ago(39),
            archived=True,
        )
        self.experiment(
            "Legacy navigation",
            flag,
            created=self.ago(61),
            start=self.ago(60),
            end=self.ago(40),
            metrics=[navigation],
            conclusion="lost",
            archived=True,
        )

        shipping = funnel_metric("Free shipping conversion", ["$pageview", "purchase_completed"])
        flag = self.flag(
            "free-shipping-threshold",
            two_way,
            created=self.ago(9),
            active_since=self.ago(8),
            approval_required=True,
        )
        self.experiment(
            "Free shipping threshold",
            flag,
            created=self.ago(9),
            start=self.ago(8),
            metrics=[shipping],
            simulation=SimulationConfig(
                seed=16,
                metrics={
                    shipping["uuid"]: {"control": Outcome(rate=0.10), "test": Outcome(rate=0.12)}
                },
            ),
        )

        dark = funnel_metric("Dark mode retention proxy", ["$pageview", "signup_completed"])
        flag = self.flag(
            "dark-mode-default",
            _variants(("baseline", 50), ("dark", 50)),
            created=self.ago(1),
            context="feature_flags",
            name="Dark mode default",
        )
        self.experiment("Dark mode default", flag, created=self.ago(1), metrics=[dark])

        flag = self.flag(
            "pricing-v1-legacy",
            two_way,
            created=self.ago(200),
            active_since=self.ago(190),
            inactive_since=self.ago(150),
        )
        legacy = self.experiment(
            "Pricing v1 (legacy)",
            flag,
            created=self.ago(200),
            start=self.ago(190),
            end=self.ago(160),
            archived=True,
            conclusion="inconclusive",
        )
        legacy.metrics = [
            {
                "kind": "ExperimentTrendsQuery",
                "uuid": seed_uuid("legacy-trends"),
                "count_query": {
                    "kind": "TrendsQuery",
                    "series": [{"kind": "EventsNode", "event": "$pageview"}],
                },
            }
        ]
        legacy.primary_metrics_ordered_uuids = [seed_uuid("legacy-trends")]
        self.state.save(legacy)

        self.flag(
            "beta-dashboard",
            two_way,
            created=self.ago(30),
            active_since=self.ago(29),
            name="Beta dashboard",
            context="feature_flags",
        )
        self.flag(
            "new-onboarding-flow",
            _variants(("control", 34), ("variant-a", 33), ("variant-b", 33)),
            created=self.ago(5),
            name="New onboarding flow",
            context="feature_flags",
        )
        self.flag(
            "kill-switch-payments",
            None,
            created=self.ago(90),
            active_since=self.ago(90),
            name="Payments kill switch",
            context="feature_flags",
        )
        self.flag(
            "theme-picker",
            _variants(("light", 50), ("control", 50)),
            created=self.ago(45),
            active_since=self.ago(44),
            name="Theme picker",
            context="feature_flags",
        )
        self.flag(
            "beta-dashboard",
            two_way,
            project_id=2,
            created=self.ago(30),
            active_since=self.ago(29),
            name="Beta dashboard",
            context="feature_flags",
        )
