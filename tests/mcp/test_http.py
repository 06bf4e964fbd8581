"""Over real HTTP (uvicorn on an ephemeral port, the SDK's Streamable HTTP client): bearer tokens
are enforced, the read-only token reads and dry-runs but cannot write, the full token writes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from adapters.mcp.server import MCP_PATH, build_server, http_app, serve
from adapters.posthog import OPERATIONS, PostHogClient
from adapters.security import TokenVerifier
from lifecycle.service import LifecycleService
from tests.mcp.harness import KEY, error, text, writes

FULL = "full-token-for-tests"
READ = "read-only-token-for-tests"
RPC_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-11-25",
}
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


@dataclass
class Running:
    url: str
    """``http://127.0.0.1:<port>``."""

    @asynccontextmanager
    async def session(self, token: str) -> AsyncIterator[Client]:
        """The SDK's client over Streamable HTTP, sending ``token``."""
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            transport = streamable_http_client(self.url + MCP_PATH, http_client=http)
            async with Client(transport) as mcp:
                yield mcp


@pytest.fixture
async def running(posthog: PostHogClient, service: LifecycleService) -> AsyncIterator[Running]:
    """The MCP server on 127.0.0.1 and an ephemeral port, with a full and a read-only token."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    verifier = TokenVerifier.for_bind("127.0.0.1", full_token=FULL, readonly_token=READ)
    server = build_server(client=posthog, service=service, verifier=verifier, public_url=url)
    config = uvicorn.Config(http_app(server), log_config=None, lifespan="on")
    web = uvicorn.Server(config)
    task = asyncio.create_task(web.serve(sockets=[sock]))
    while not web.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    yield Running(url)
    web.should_exit = True
    await task
    sock.close()


async def post(running: Running, body: Any, **headers: str) -> httpx2.Response:
    async with httpx2.AsyncClient(base_url=running.url) as http:
        return await http.post(MCP_PATH, json=body, headers={**RPC_HEADERS, **headers})


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", "Basic dXNlcjpwYXNz", f"Bearer {KEY}"]
)
async def test_without_a_valid_token_it_is_401(running: Running, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await post(running, LIST_TOOLS, **headers)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    assert f"{running.url}/.well-known/oauth-protected-resource/mcp" in challenge


async def test_a_valid_token_gets_json_rpc_answers(running: Running) -> None:
    response = await post(running, LIST_TOOLS, Authorization=f"Bearer {FULL}")
    assert response.status_code == 200
    assert len(response.json()["result"]["tools"]) == len(OPERATIONS) + 1


async def test_a_foreign_host_header_is_refused(running: Running) -> None:
    response = await post(
        running, LIST_TOOLS, Authorization=f"Bearer {FULL}", Host="attacker.example:80"
    )
    assert response.status_code == 421


async def test_the_protected_resource_metadata_names_this_server(running: Running) -> None:
    async with httpx2.AsyncClient(base_url=running.url) as http:
        response = await http.get("/.well-known/oauth-protected-resource/mcp")
    assert response.status_code == 200
    assert response.json()["resource"] == f"{running.url}/mcp"


async def test_the_read_only_token_reads_and_dry_runs_but_cannot_write(
    running: Running, calls: Callable[[], Awaitable[dict[str, Any]]]
) -> None:
    async with running.session(READ) as mcp:
        names = {tool.name for tool in (await mcp.list_tools()).tools}
        assert names == {op.mcp_tool for op in OPERATIONS if op.read_only} | {
            "experiment-allowed-actions"
        }
        read = await mcp.call_tool("experiment-get", {"id": 1})
        assert read.structured_content is not None
        assert read.structured_content["name"] == "Checkout button copy"
        dry = await mcp.call_tool("experiment-launch", {"id": 1, "dry_run": True})
        assert not dry.is_error, text(dry)
        refused = error(await mcp.call_tool("experiment-launch", {"id": 1}))
        assert refused["type"] == "read_only"
        assert "read-only token" in refused["message"]
        alias = error(await mcp.call_tool("launch-draft-experiment", {"id": 1}))
        assert alias["type"] == "read_only"
    assert writes(await calls()) == {}


async def test_the_full_token_writes(
    running: Running, posthog: PostHogClient, calls: Callable[[], Awaitable[dict[str, Any]]]
) -> None:
    async with running.session(FULL) as mcp:
        assert len((await mcp.list_tools()).tools) == len(OPERATIONS) + 1
        launched = await mcp.call_tool("experiment-launch", {"id": 1})
        assert not launched.is_error, text(launched)
        assert launched.structured_content is not None
        assert launched.structured_content["status_after"] == "running"
        assert launched.structured_content["record"]["actor"] == "mcp:api-token"
        paused = await mcp.call_tool("pause-running-experiment-2", {"id": 1})
        assert paused.structured_content is not None
        assert paused.structured_content["status_after"] == "paused"
    assert writes(await calls()) == {
        "experiments_launch_create": 1,
        "experiments_pause_create": 1,
    }
    assert (await posthog.get_experiment(1)).start_date is not None


def test_binding_beyond_loopback_without_a_token_refuses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        serve(host="0.0.0.0", port=9)
    assert exit_.value.code == 2
    message = capsys.readouterr().err
    assert "refusing to bind 0.0.0.0" in message
    assert "EXPCTL_API_TOKEN" in message
    assert "Traceback" not in message
