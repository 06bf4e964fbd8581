"""Prefect deployments of the expctl flows: ``prefect.yaml`` and the local serve entrypoint."""
