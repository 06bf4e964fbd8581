"""The outbound Prefect adapter: Prefect as expctl's scheduler and system of record for automation.

Plans live in Prefect variables (:mod:`adapters.prefect.plans`), scheduled actions are flow runs
of the expctl deployments (:mod:`adapters.prefect.runs`), decisions are artifacts and events
(:mod:`adapters.prefect.decisions`), and many workers share PostHog's request budget through a
global concurrency limit (:mod:`adapters.prefect.ratelimit`). Prefect is imported lazily by the
composition roots, never by ``lifecycle/``.
"""
