"""Helpers shared by the MCP tests: the sandbox they run against and how to read results."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from mcp.types import CallToolResult, TextContent

from adapters.posthog import PostHogClient, RetryPolicy
from sandbox.settings import SandboxSettings

T = TypeVar("T")

KEY = "phx_mcp_tests_0123456789_secret"
"""The sandbox key: distinctive, so a test can prove it never leaks."""
HOST = "http://sandbox.test"
CLOCK = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def sandbox_settings(**overrides: Any) -> SandboxSettings:
    """The demo seed on a frozen clock (two sandboxes built alike hold the same data)."""
    values: dict[str, Any] = {
        "seed": "demo",
        "api_key": KEY,
        "rate_limit_enabled": False,
        "recalculation_seconds": 0.0,
        "clock_start": CLOCK,
        "clock_frozen": True,
    }
    values.update(overrides)
    return SandboxSettings(**values)


def posthog_client(app: FastAPI) -> PostHogClient:
    """The real client on an in-process sandbox; one attempt, so failures show at once."""
    return PostHogClient(
        api_key=KEY,
        host=HOST,
        project_id=1,
        transport=httpx.ASGITransport(app=app),
        rate_limit=False,
        retry=RetryPolicy(max_attempts=1),
    )


async def admin(sandbox: FastAPI, method: str, path: str, body: Any = None) -> Any:
    """Call the sandbox's admin API (``/_sandbox/...``); returns its JSON."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox),
        base_url=HOST,
        headers={"Authorization": f"Bearer {KEY}"},
    ) as client:
        response = await client.request(method, f"/_sandbox{path}", json=body)
        response.raise_for_status()
        return response.json()


def writes(ledger: dict[str, Any]) -> dict[str, int]:
    """Requests other than GET, per operation, from a ``/_sandbox/calls`` body."""
    counted = {
        operation: sum(n for method, n in entry["methods"].items() if method != "GET")
        for operation, entry in ledger["by_operation"].items()
    }
    return {operation: n for operation, n in counted.items() if n}


def text(result: CallToolResult) -> str:
    """Every text block of a result, joined."""
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def error(result: CallToolResult) -> dict[str, Any]:
    """The structured error of a tool error (and a check that it is one)."""
    assert result.is_error, text(result)
    assert result.structured_content is not None
    payload: dict[str, Any] = result.structured_content["error"]
    return payload


async def hold(context: AbstractAsyncContextManager[T]) -> tuple[T, Callable[[], Awaitable[None]]]:
    """Enter ``context`` in a task of its own; returns its value and the function that exits it.

    pytest-asyncio sets a fixture up and tears it down in different tasks, and the MCP client's
    anyio task groups must be entered and exited in the same one.
    """
    entered: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    leave = asyncio.Event()

    async def host() -> None:
        async with context as value:
            entered.set_result(value)
            await leave.wait()

    task = asyncio.create_task(host())
    done, _ = await asyncio.wait({task, entered}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises what made the context fail to enter
    value = entered.result()

    async def close() -> None:
        leave.set()
        await task

    return value, close
