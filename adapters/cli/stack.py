"""``expctl up``: start, supervise and stop the whole system as one.

Children, each in its own process group with its output in ``<data>/logs/<name>.log``:

* a local Prefect server (SQLite under ``<data>/prefect``), unless ``PREFECT_API_URL`` is set;
* the sandbox PostHog (demo seed, state in ``<data>/sandbox.db``), unless ``POSTHOG_API_KEY`` is
  set (then the real PostHog is used, and the key is checked once before anything starts);
* the flow deployments, served with their schedules;
* the REST adapter and the MCP adapter, sharing one token.

Nothing is left running on failure: ports in use, an unwritable data folder or a child that does
not come up stop everything with a clear message and a non-zero exit; a child that dies later is
reported and stops the stack; Ctrl-C or SIGTERM stops every child within seconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import typer

from adapters.cli.output import console, err_console

READY_TIMEOUT = 180.0
WRITE_PROBE_ID = 2_147_483_647
"""An experiment id no project has: the write-scope probe (see ``_check_posthog_key``)."""
STOP_GRACE = 5.0


class StackError(Exception):
    """The stack cannot start; the message says why and what to do."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Ports:
    host: str = "127.0.0.1"
    prefect: int = 4200
    sandbox: int = 8010
    rest: int = 8080
    mcp: int = 9090


@dataclass
class Child:
    """One supervised process."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready: Callable[[], bool]
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        handle.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 12) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])


@dataclass
class Stack:
    """The children, in start order, and how to stop them."""

    children: list[Child] = field(default_factory=list)

    def stop(self) -> None:
        """Stop children in reverse start order (the flows still reach Prefect while they stop).

        Each gets SIGTERM, then SIGKILL after the grace period; the whole process group goes, so
        nothing a child started (a flow run) is left behind.
        """
        for child in reversed(self.children):
            if child.process is None:
                continue
            _signal_group(child, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=STOP_GRACE)
            _signal_group(child, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=3)


def _die_with_parent() -> None:
    """In the child: get SIGTERM if ``expctl up`` itself dies (even by SIGKILL), so nothing is orphaned."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _signal_group(child: Child, sig: signal.Signals) -> None:
    if child.process is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.process.pid, sig)


def up(
    data: Path = typer.Option(
        Path(".expctl"), "--data", help="Folder for state (Prefect DB, sandbox DB, logs, token)."
    ),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address REST and MCP bind (non-loopback needs EXPCTL_API_TOKEN).",
    ),
    rest_port: int = typer.Option(8080, "--rest-port", help="REST adapter port."),
    mcp_port: int = typer.Option(9090, "--mcp-port", help="MCP adapter port."),
    prefect_port: int = typer.Option(4200, "--prefect-port", help="Local Prefect server port."),
    sandbox_port: int = typer.Option(8010, "--sandbox-port", help="Sandbox PostHog port."),
    no_sandbox: bool = typer.Option(
        False, "--no-sandbox", help="Never start the sandbox: require POSTHOG_API_KEY."
    ),
) -> None:
    """Start everything: Prefect, the sandbox (unless POSTHOG_API_KEY), flows, REST :8080, MCP :9090."""
    ports = Ports(host, prefect_port, sandbox_port, rest_port, mcp_port)
    stack = Stack()
    stopping = {"signal": 0}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping["signal"] = signum
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        env = _prepare(data.resolve(), ports, no_sandbox)
        _start_all(stack, data.resolve(), ports, env)
        _print_ready(ports, env, data.resolve())
        _supervise(stack)
    except StackError as error:
        stack.stop()
        err_console().print(f"[bold red]expctl up:[/] {error}", highlight=False)
        raise typer.Exit(error.code) from None
    except KeyboardInterrupt:
        err_console().print("stopping…")
        stack.stop()
        err_console().print("stopped.")
        raise typer.Exit(0) from None


def _prepare(data: Path, ports: Ports, no_sandbox: bool) -> dict[str, str]:
    """Check the data folder, the ports and the PostHog key; the environment for the children."""
    try:
        data.mkdir(parents=True, exist_ok=True)
        probe = data / ".write-check"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise StackError(
            f"the data folder {data} is not writable ({error.strerror}): pass --data PATH", 2
        ) from None
    from adapters.security import is_loopback

    if not is_loopback(ports.host) and not os.environ.get("EXPCTL_API_TOKEN", "").strip():
        raise StackError(
            f"refusing to serve REST and MCP on {ports.host} without EXPCTL_API_TOKEN: anyone who can "
            "reach that address could drive your experiments. Set EXPCTL_API_TOKEN, or keep --host 127.0.0.1.",
            2,
        )
    env = dict(os.environ)
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    own_prefect = not env.get("PREFECT_API_URL")
    use_sandbox = not env.get("POSTHOG_API_KEY", "").strip()
    if use_sandbox and no_sandbox:
        raise StackError(
            "--no-sandbox needs POSTHOG_API_KEY (and POSTHOG_HOST, POSTHOG_PROJECT_ID) to reach PostHog",
            2,
        )
    wanted = [("REST", ports.rest), ("MCP", ports.mcp)]
    if own_prefect:
        wanted.append(("Prefect", ports.prefect))
    if use_sandbox:
        wanted.append(("sandbox", ports.sandbox))
    busy = [
        f"{name} port {port}"
        for name, port in wanted
        if _in_use(ports.host if name in ("REST", "MCP") else "127.0.0.1", port)
    ]
    if busy:
        raise StackError(
            f"{', '.join(busy)} already in use: stop what uses it or pick other ports (--rest-port, --mcp-port, --prefect-port, --sandbox-port)",
            2,
        )
    if own_prefect:
        env["PREFECT_HOME"] = str(data / "prefect")
        env["PREFECT_API_URL"] = f"http://127.0.0.1:{ports.prefect}/api"
        env["PREFECT_UI_URL"] = f"http://127.0.0.1:{ports.prefect}"
    if use_sandbox:
        env["EXPCTL_SANDBOX_URL"] = f"http://127.0.0.1:{ports.sandbox}"
        env.pop("POSTHOG_API_KEY", None)
    else:
        _check_posthog_key()
    token = env.get("EXPCTL_API_TOKEN", "").strip() or _stored_token(data)
    env["EXPCTL_API_TOKEN"] = token
    env["EXPCTL_PROJECT_DIR"] = str(Path.cwd())
    return env


def _check_posthog_key() -> None:
    """Check the user's key once before anything starts: wrong keys and missing scopes say so.

    The read scope is checked with a one-item list; the write scope by launching an experiment
    id that does not exist: PostHog checks scopes before looking the experiment up, so a key that
    may write gets 404 and one that may not gets 403, and nothing changes either way.
    """
    import asyncio

    from adapters.posthog import PostHogClient
    from adapters.posthog.errors import (
        AuthenticationError,
        NotFoundError,
        PermissionDeniedError,
        PostHogError,
    )

    async def probe() -> None:
        async with PostHogClient() as client:
            if client.project_id is None:
                raise StackError(
                    "POSTHOG_PROJECT_ID is not set: the project your experiments live in", 2
                )
            await client.list_experiments({"limit": 1})
            try:
                await client.launch_experiment(WRITE_PROBE_ID)
            except NotFoundError:
                return

    try:
        asyncio.run(probe())
    except AuthenticationError as error:
        raise StackError(
            f"PostHog rejected POSTHOG_API_KEY ({error.detail}): create a personal API key with "
            "the experiment:read and experiment:write scopes",
            2,
        ) from None
    except PermissionDeniedError as error:
        raise StackError(
            f"POSTHOG_API_KEY cannot be used for experiments: {error.detail}", 2
        ) from None
    except PostHogError as error:
        raise StackError(f"cannot use PostHog at POSTHOG_HOST: {error}", 2) from None


def _stored_token(data: Path) -> str:
    """The stack's API token, kept in the data folder (0600) so restarts keep it."""
    from adapters.security import generate_token

    path = data / "api-token"
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    token = generate_token()
    path.write_text(token + "\n")
    path.chmod(0o600)
    return token


def _start_all(stack: Stack, data: Path, ports: Ports, env: dict[str, str]) -> None:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    python = sys.executable
    logs = data / "logs"
    expctl = [python, "-m", "adapters.cli"]
    children: list[Child] = []
    if env.get("PREFECT_HOME") == str(data / "prefect"):
        children.append(
            Child(
                "prefect",
                [
                    python,
                    "-m",
                    "prefect",
                    "server",
                    "start",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(ports.prefect),
                    "--analytics-off",
                ],
                env,
                logs / "prefect.log",
                _http_ok(f"http://127.0.0.1:{ports.prefect}/api/health"),
            )
        )
    if env.get("EXPCTL_SANDBOX_URL"):
        children.append(
            Child(
                "sandbox",
                [
                    *expctl,
                    "sandbox",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(ports.sandbox),
                    "--data",
                    str(data / "sandbox.db"),
                ],
                env,
                logs / "sandbox.log",
                _http_ok(f"http://127.0.0.1:{ports.sandbox}/_sandbox/health", auth="phx_sandbox"),
            )
        )
    children.append(
        Child(
            "flows",
            [*expctl, "flows", "serve"],
            env,
            logs / "flows.log",
            _log_says(logs / "flows.log", "polling for scheduled runs"),
        )
    )
    children.append(
        Child(
            "rest",
            [*expctl, "serve", "rest", "--host", ports.host, "--port", str(ports.rest)],
            env,
            logs / "rest.log",
            _http_ok(f"http://{_local(ports.host)}:{ports.rest}/healthz"),
        )
    )
    children.append(
        Child(
            "mcp",
            [*expctl, "serve", "mcp", "--host", ports.host, "--port", str(ports.mcp)],
            env,
            logs / "mcp.log",
            _port_open(_local(ports.host), ports.mcp),
        )
    )
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console(),
        transient=False,
    ) as progress:
        for child in children:
            task = progress.add_task(f"starting {child.name}…", total=1)
            stack.children.append(child)
            child.start()
            deadline = time.monotonic() + READY_TIMEOUT
            while not child.ready():
                if not child.alive():
                    raise StackError(
                        f"{child.name} exited while starting (code {child.process.returncode if child.process else '?'}); last lines of {child.log}:\n{child.tail()}"
                    )
                if time.monotonic() > deadline:
                    raise StackError(
                        f"{child.name} did not come up within {READY_TIMEOUT:.0f}s; see {child.log}:\n{child.tail()}"
                    )
                time.sleep(0.25)
            progress.update(task, completed=1, description=f"{child.name} ready")


def _supervise(stack: Stack) -> None:
    while True:
        for child in stack.children:
            if not child.alive():
                code = child.process.returncode if child.process else "?"
                raise StackError(
                    f"{child.name} stopped unexpectedly (exit code {code}); stopping everything. Last lines of {child.log}:\n{child.tail()}"
                )
        time.sleep(0.5)


def _print_ready(ports: Ports, env: dict[str, str], data: Path) -> None:
    token = env["EXPCTL_API_TOKEN"]
    prefect_ui = env.get("PREFECT_UI_URL") or env.get("PREFECT_API_URL", "").removesuffix("/api")
    host = _local(ports.host)
    posthog = (
        f"sandbox {env['EXPCTL_SANDBOX_URL']} (project 1, key phx_sandbox)"
        if env.get("EXPCTL_SANDBOX_URL")
        else f"{env.get('POSTHOG_HOST', 'https://us.posthog.com')} (project {env.get('POSTHOG_PROJECT_ID')})"
    )
    project = env.get("POSTHOG_PROJECT_ID", "1") if not env.get("EXPCTL_SANDBOX_URL") else "1"
    exports = []
    if ports.sandbox != 8010 and env.get("EXPCTL_SANDBOX_URL"):
        exports.append(f"export EXPCTL_SANDBOX_URL={env['EXPCTL_SANDBOX_URL']}")
    if env.get("PREFECT_API_URL") != "http://127.0.0.1:4200/api":
        exports.append(f"export PREFECT_API_URL={env.get('PREFECT_API_URL')}")
    lines = [
        "",
        "[bold green]expctl is up[/]",
        f"  Prefect UI     {prefect_ui}",
        f"  REST API       http://{host}:{ports.rest}/docs",
        f"  MCP endpoint   http://{host}:{ports.mcp}/mcp",
        f"  PostHog        {posthog}",
        f"  Token          {token}",
        f"  Data and logs  {data}",
        "",
        "Try:",
        *[f"  {line}" for line in exports],
        f"  curl -H 'Authorization: Bearer {token}' http://{host}:{ports.rest}/v1/api/projects/{project}/experiments",
        "  expctl schedule set 1 --launch-at +2m --end-after 10m --end-action ship_winner"
        + (f" --project {project}" if project != "1" else ""),
        f"  open {prefect_ui}/runs",
        "",
        "Ctrl-C stops everything.",
    ]
    console().print("\n".join(lines), highlight=False, soft_wrap=True)


def _in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((_local(host), port)) == 0


def _local(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def _http_ok(url: str, *, auth: str | None = None) -> Callable[[], bool]:
    import httpx

    headers = {"Authorization": f"Bearer {auth}"} if auth else {}

    def ready() -> bool:
        try:
            return httpx.get(url, timeout=2.0, headers=headers).status_code == 200
        except httpx.HTTPError:
            return False

    return ready


def _port_open(host: str, port: int) -> Callable[[], bool]:
    return lambda: _in_use(host, port)


def _log_says(path: Path, text: str) -> Callable[[], bool]:
    """Ready once the child's log (from this start on) contains ``text``."""
    start = path.stat().st_size if path.exists() else 0

    def ready() -> bool:
        try:
            with path.open("rb") as handle:
                handle.seek(start)
                return text.encode() in handle.read()
        except OSError:
            return False

    return ready
