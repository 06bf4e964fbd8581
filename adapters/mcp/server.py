"""The MCP server: the tools assembled into the SDK's ``MCPServer``, served over HTTP or stdio.

* :func:`build_server` — explicit composition (client, lifecycle service, read-only switch,
  token verifier, extra tools); reads no environment. Tests and other hosts start here.
* :func:`http_app` — the Streamable HTTP ASGI app at ``/mcp`` (stateless, JSON responses, bearer
  auth when the server has a verifier, Host allowlist against DNS rebinding).
* :func:`serve` — the composition root of ``expctl serve mcp``: reads the environment, refuses an
  insecure bind, prints a generated token once, runs uvicorn (or stdio).

Aliases (the capability's 44 tool names) are resolved in :meth:`ExperimentsServer.call_tool` and
never listed. Read-only mode (the server's switch, or a caller holding the read-only token) lists
only read tools and refuses writes that are not dry runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NoReturn

import anyio
import uvicorn
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from mcp.types import Tool as MCPTool
from pydantic import AnyHttpUrl, ValidationError
from starlette.applications import Starlette

from adapters.mcp import errors
from adapters.mcp.access import READ_SCOPE, BearerTokens, current_caller
from adapters.mcp.arguments import DRY_RUN, ToolArguments, input_schema
from adapters.mcp.automation import automation_tools
from adapters.mcp.tools import (
    LIFECYCLE_TOOLS,
    Invocation,
    ToolSpec,
    allowed_actions_tool,
    operation_tools,
)
from adapters.posthog.client import PostHogClient
from adapters.posthog.errors import ConfigurationError
from adapters.security import Caller, InsecureBindError, TokenVerifier, is_loopback
from adapters.upstream import connect, connect_automation
from lifecycle.service import LifecycleService

logger = logging.getLogger("expctl.mcp")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9090
"""The capability's MCP port."""
MCP_PATH = "/mcp"
READONLY_ENV = "EXPCTL_MCP_READONLY"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_WILDCARD_HOSTS = ("0.0.0.0", "::", "")


class ExperimentsServer(MCPServer[Any]):
    """``MCPServer`` with expctl's tool specs, their aliases and the read-only policy."""

    def __init__(self, specs: Sequence[ToolSpec[Any]], *, readonly: bool, **settings: Any) -> None:
        _check(specs)
        self.readonly = readonly
        self.specs: dict[str, ToolSpec[Any]] = {spec.name: spec for spec in specs}
        self.aliases: dict[str, str] = {
            alias: spec.name for spec in specs for alias in spec.aliases
        }
        super().__init__(tools=[self._tool(spec) for spec in specs], **settings)

    async def list_tools(self) -> list[MCPTool]:
        """The canonical tools; a caller that may not write sees only the read tools."""
        tools = await super().list_tools()
        if self._may_write(current_caller()):
            return tools
        return [tool for tool in tools if (spec := self.specs.get(tool.name)) and spec.read_only]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Call a tool by its name or one of its aliases; bad arguments become a tool error."""
        canonical = self.aliases.get(name, name)
        try:
            return await super().call_tool(canonical, arguments, context)
        except ToolError as error:
            cause = error.__cause__
            if isinstance(cause, ValidationError) and not isinstance(error, UnexpectedToolError):
                return _logged(canonical, errors.invalid_arguments(canonical, cause))
            raise

    def _tool(self, spec: ToolSpec[Any]) -> Tool:
        async def run(arguments: ToolArguments) -> CallToolResult:
            caller = current_caller()
            if (
                not spec.read_only
                and not getattr(arguments, DRY_RUN)
                and not self._may_write(caller)
            ):
                return _logged(spec.name, errors.write_refused(spec.name, why=self._why_not()))
            try:
                output = await spec.handler(arguments, Invocation(caller))
            except Exception as error:
                result = errors.tool_error(error)
                if result is None:
                    raise
                return _logged(spec.name, result)
            return output.result()

        # Built directly rather than from a signature: the schema is the spec's model, as is.
        return Tool(
            fn=run,
            name=spec.name,
            title=spec.title,
            description=spec.description,
            parameters=input_schema(spec.arguments),
            fn_metadata=FuncMetadata(arg_model=spec.arguments, output_schema=spec.output_schema),
            is_async=True,
            annotations=ToolAnnotations(
                title=spec.title,
                read_only_hint=spec.read_only,
                destructive_hint=spec.destructive,
                idempotent_hint=spec.idempotent,
                open_world_hint=spec.open_world,
            ),
        )

    def _may_write(self, caller: Caller | None) -> bool:
        return not self.readonly and (caller is None or caller.can_write)

    def _why_not(self) -> str:
        if self.readonly:
            return f"this server runs in read-only mode ({READONLY_ENV}=1)"
        return "this caller holds the read-only token"


def build_server(
    *,
    client: PostHogClient,
    service: LifecycleService,
    readonly: bool = False,
    verifier: TokenVerifier | None = None,
    public_url: str = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}",
    extra_tools: Sequence[ToolSpec[Any]] = (),
) -> ExperimentsServer:
    """The MCP server for ``client`` and ``service``.

    ``verifier`` turns on bearer auth for the HTTP app (``public_url`` is what the OAuth
    protected-resource metadata advertises). ``extra_tools`` are added after the operation tools
    and ``experiment-allowed-actions``, with the same access checks and error translation: this
    is the seam for the automation tools.
    """
    specs = [
        *operation_tools(client, service),
        allowed_actions_tool(service, default_project=client.project_id),
        *extra_tools,
    ]
    auth: dict[str, Any] = {}
    if verifier is not None:
        url = public_url.rstrip("/")
        auth = {
            "token_verifier": BearerTokens(verifier),
            "auth": AuthSettings(
                issuer_url=AnyHttpUrl(url),
                resource_server_url=AnyHttpUrl(url + MCP_PATH),
                required_scopes=[READ_SCOPE],
                validate_token_resource=False,
            ),
        }
    with _root_logger_untouched():
        return ExperimentsServer(
            specs,
            readonly=readonly,
            name="expctl",
            title="expctl: PostHog experiments",
            instructions=_instructions(client.project_id, readonly),
            version=_version(),
            **auth,
        )


def http_app(
    server: MCPServer[Any], *, host: str = DEFAULT_HOST, allowed_hosts: Sequence[str] = ()
) -> Starlette:
    """The Streamable HTTP app serving ``server`` at ``/mcp`` (its lifespan runs the sessions).

    Loopback binds accept only loopback Host headers (DNS-rebinding protection). A named host
    adds itself; a wildcard bind (0.0.0.0, ::) checks Host only when ``allowed_hosts`` are given,
    since it always requires a token. Build one app per server run: the SDK's session manager
    runs once.
    """
    return server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        transport_security=_transport_security(host, allowed_hosts),
        host=host,
    )


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    in_process_sandbox: bool = False,
    stdio: bool = False,
) -> None:
    """Run ``expctl serve mcp``: Streamable HTTP at ``http://host:port/mcp``, or stdio.

    Tokens come from ``EXPCTL_API_TOKEN`` / ``EXPCTL_READONLY_TOKEN`` (HTTP only; stdio has no
    auth); ``EXPCTL_MCP_READONLY=1`` serves reads and dry runs only. PostHog is the real one when
    ``POSTHOG_API_KEY`` is set, else the sandbox (in this process with ``in_process_sandbox``).
    Exits with status 2 when it must not start (a non-loopback bind without a token).
    """
    configure_logging()
    readonly = os.environ.get(READONLY_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    verifier: TokenVerifier | None = None
    if not stdio:
        try:
            verifier = TokenVerifier.from_env(host=host)
        except InsecureBindError as error:
            _refuse(str(error))
    try:
        upstream = connect(in_process=in_process_sandbox)
    except ConfigurationError as error:
        _refuse(str(error))
    service = LifecycleService(upstream.client)
    extra_tools = automation_tools(
        connect_automation(upstream.client, service), default_project=upstream.client.project_id
    )
    mode = " (read-only: reads and dry runs only)" if readonly else ""
    if stdio:
        server = build_server(
            client=upstream.client, service=service, readonly=readonly, extra_tools=extra_tools
        )
        logger.info("expctl MCP server on stdio%s; PostHog: %s", mode, upstream.description)
        anyio.run(_run_stdio, server, upstream.client)
        return
    assert verifier is not None
    base = f"http://{_url_host(host)}:{port}"
    server = build_server(
        client=upstream.client,
        service=service,
        readonly=readonly,
        verifier=verifier,
        public_url=base,
        extra_tools=extra_tools,
    )
    app = http_app(server, host=host)
    _say(f"expctl MCP server at {base}{MCP_PATH} (Streamable HTTP){mode}")
    _say(f"PostHog: {upstream.description}")
    if verifier.generated:
        _say(
            "No EXPCTL_API_TOKEN is set, so this run generated one (shown only now). Send it as\n"
            f"  Authorization: Bearer {verifier.full_token}"
        )
    asyncio.run(_run_http(app, host, port, upstream.client))


def configure_logging(level: int = logging.INFO) -> None:
    """Plain stderr logging for a server process (stdout belongs to stdio's JSON-RPC).

    A no-op when the process already configured the root logger; either way the SDK's own
    ``basicConfig`` (a Rich handler on the root logger) finds it configured and stays out.
    """
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in ("httpx", "mcp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def _run_http(app: Starlette, host: str, port: int, client: PostHogClient) -> None:
    # Callers pool connections; closing idle ones after uvicorn's default 5 s races with reuse.
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, lifespan="on", timeout_keep_alive=75
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        await client.aclose()


async def _run_stdio(server: MCPServer[Any], client: PostHogClient) -> None:
    async with client:
        await server.run_stdio_async()


def _check(specs: Sequence[ToolSpec[Any]]) -> None:
    seen: set[str] = set()
    for spec in specs:
        for name in (spec.name, *spec.aliases):
            if name in seen:
                raise ValueError(f"tool name {name!r} is used twice")
            seen.add(name)
        if not issubclass(spec.arguments, ToolArguments):
            raise TypeError(f"{spec.name}: arguments must subclass ToolArguments")
        if not spec.read_only and DRY_RUN not in spec.arguments.model_fields:
            raise ValueError(f"{spec.name} changes something, so it must take {DRY_RUN}")


def _logged(tool: str, result: CallToolResult) -> CallToolResult:
    text = " ".join(block.text for block in result.content if isinstance(block, TextContent))
    logger.info("tool %s: %s", tool, text)
    return result


@contextmanager
def _root_logger_untouched() -> Iterator[None]:
    """Keep ``MCPServer()``'s ``logging.basicConfig`` from installing a Rich handler on root."""
    root = logging.getLogger()
    guard = logging.NullHandler()
    root.addHandler(guard)
    try:
        yield
    finally:
        root.removeHandler(guard)


def _instructions(project_id: int | None, readonly: bool) -> str:
    project = (
        f"project {project_id} unless project_id says otherwise"
        if project_id
        else "the project in project_id"
    )
    actions = ", ".join(LIFECYCLE_TOOLS.values())
    text = (
        f"Drive PostHog experiments ({project}). Read with experiments-list and experiment-get. "
        "Before a lifecycle action, experiment-allowed-actions says what is possible now and why "
        f"not the rest; the actions are {actions}. Every tool that changes something takes "
        "dry_run: true to show what it would send without sending it. Lifecycle actions are "
        "idempotent: asking for the state an experiment is already in succeeds with outcome "
        "'unchanged'. Errors say why, and what is allowed instead."
    )
    if readonly:
        text += (
            " This server is read-only: only read tools are listed, and writes must be dry runs."
        )
    return text


def _transport_security(host: str, allowed_hosts: Sequence[str]) -> TransportSecuritySettings:
    if host in _WILDCARD_HOSTS and not allowed_hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    names = list(_LOOPBACK_HOSTS)
    if not is_loopback(host) and host not in _WILDCARD_HOSTS:
        names.append(_url_host(host))
    names.extend(allowed_hosts)
    hosts = [entry for name in names for entry in (name, f"{name}:*")]
    origins = [f"{scheme}://{entry}" for scheme in ("http", "https") for entry in hosts]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _version() -> str:
    try:
        return version("expctl")
    except PackageNotFoundError:
        return "0.0.0"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _refuse(message: str) -> NoReturn:
    _say(f"expctl serve mcp: {message}")
    raise SystemExit(2)
