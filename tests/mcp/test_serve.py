"""``serve`` for real, in a child process: HTTP with a generated token, and stdio in read-only mode.

The child talks to a sandbox served over HTTP by the test (``EXPCTL_SANDBOX_URL``), as ``expctl
serve mcp`` does with ``expctl sandbox`` running, so the test can see what reached PostHog.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from adapters.posthog import OPERATIONS
from sandbox.server import running_server
from tests.mcp.harness import KEY, error, sandbox_settings, text

ROOT = Path(__file__).resolve().parents[2]
STARTUP = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def posthog_url() -> Iterator[str]:
    """A sandbox on a real port; the child reaches it through ``EXPCTL_SANDBOX_URL``."""
    with running_server(sandbox_settings()) as sandbox:
        yield sandbox.url


def child_env(posthog_url: str, **extra: str) -> dict[str, str]:
    # The test-wide fixture already removed every EXPCTL_* and POSTHOG_* variable.
    return {**os.environ, "EXPCTL_SANDBOX_URL": posthog_url, "EXPCTL_SANDBOX_KEY": KEY, **extra}


async def test_serve_over_http_with_a_generated_token(posthog_url: str) -> None:
    port = free_port()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        f"from adapters.mcp.server import serve; serve(port={port})",
        cwd=ROOT,
        env=child_env(posthog_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stderr is not None
    said: list[str] = []
    try:
        token = None
        while True:
            line = (await asyncio.wait_for(child.stderr.readline(), STARTUP)).decode()
            assert line, "serve exited: " + "".join(said)
            said.append(line)
            if found := re.search(r"Authorization: Bearer (\S+)", line):
                token = found.group(1)
            if "Uvicorn running on" in line:
                break
        assert token is not None
        assert f"http://127.0.0.1:{port}/mcp" in "".join(said)

        url = f"http://127.0.0.1:{port}/mcp"
        async with httpx2.AsyncClient(timeout=30) as anonymous:
            assert (await anonymous.post(url, json={})).status_code == 401
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http)) as mcp,
        ):
            names = [tool.name for tool in (await mcp.list_tools()).tools]
            assert names[: len(OPERATIONS)] == [op.mcp_tool for op in OPERATIONS]
            assert names[len(OPERATIONS) :] == ["experiment-allowed-actions", *AUTOMATION_TOOLS]
            launched = await mcp.call_tool("experiment-launch", {"id": 1})
            assert launched.structured_content is not None, text(launched)
            assert launched.structured_content["status_after"] == "running"
    finally:
        child.terminate()
        out, rest = await asyncio.wait_for(child.communicate(), STARTUP)
    log = "".join(said) + rest.decode() + out.decode()
    assert log.count(token) == 1, "the generated token is printed once"
    assert KEY not in log
    assert "Traceback" not in log


AUTOMATION_TOOLS = [
    "experiment-plan-set",
    "experiment-plan-show",
    "experiment-plan-cancel",
    "experiment-evaluate",
    "experiment-flow-run",
    "flow-run-get",
]


async def test_serve_over_stdio_in_read_only_mode() -> None:
    parameters = StdioServerParameters(
        command=sys.executable,
        args=[
            "-c",
            "from adapters.mcp.server import serve; serve(stdio=True, in_process_sandbox=True)",
        ],
        env={"EXPCTL_MCP_READONLY": "1"},
        cwd=ROOT,
    )
    with tempfile.TemporaryFile("w+") as errlog:
        async with Client(stdio_client(parameters, errlog=errlog)) as mcp:
            names = {tool.name for tool in (await mcp.list_tools()).tools}
            assert names == {op.mcp_tool for op in OPERATIONS if op.read_only} | {
                "experiment-allowed-actions",
                "experiment-plan-show",
                "experiment-evaluate",
                "flow-run-get",
            }
            read = await mcp.call_tool("experiment-get", {"id": 2})
            assert read.structured_content is not None
            assert read.structured_content["name"] == "Pricing page redesign"
            assert error(await mcp.call_tool("experiment-pause", {"id": 2}))["type"] == "read_only"
            dry = await mcp.call_tool("experiment-pause", {"id": 2, "dry_run": True})
            assert dry.structured_content is not None
            assert dry.structured_content["outcome"] == "dry_run"
        errlog.seek(0)
        log = errlog.read()
    assert "expctl MCP server on stdio (read-only" in log
    assert KEY not in log
