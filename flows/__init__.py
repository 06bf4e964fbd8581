"""Prefect flows: scheduled launch, planned and automatic ending, monitoring, timeseries recalculation.

Each flow is a thin Prefect face over :class:`lifecycle.automation.AutomationService`; every state
change goes through the lifecycle service, so re-running a flow never acts twice.
"""
