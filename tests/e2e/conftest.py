"""The whole stack as a user starts it: ``expctl up`` in a subprocess, on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "expctl_e2e_token_0123456789"
READY = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    process: subprocess.Popen[str]
    data: Path
    rest: str
    mcp: str
    prefect_api: str
    sandbox: str
    output: list[str]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def start_stack(tmp: Path, extra_env: dict[str, str] | None = None, *extra_args: str) -> Stack:
    ports = {name: free_port() for name in ("rest", "mcp", "prefect", "sandbox")}
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("POSTHOG_", "EXPCTL_", "PREFECT_"))
    }
    env.update(
        {
            "EXPCTL_API_TOKEN": TOKEN,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }
    )
    env.update(extra_env or {})
    argv = [
        sys.executable, "-m", "adapters.cli", "up", "--data", str(tmp / "data"),
        "--rest-port", str(ports["rest"]), "--mcp-port", str(ports["mcp"]),
        "--prefect-port", str(ports["prefect"]), "--sandbox-port", str(ports["sandbox"]), *extra_args,
    ]  # fmt: skip
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return Stack(
        process,
        tmp / "data",
        f"http://127.0.0.1:{ports['rest']}",
        f"http://127.0.0.1:{ports['mcp']}/mcp",
        f"http://127.0.0.1:{ports['prefect']}/api",
        f"http://127.0.0.1:{ports['sandbox']}",
        [],
    )


def wait_until_up(stack: Stack) -> None:
    assert stack.process.stdout is not None
    deadline = time.monotonic() + READY
    while time.monotonic() < deadline:
        line = stack.process.stdout.readline()
        if not line:
            raise AssertionError("expctl up exited before it was ready:\n" + "".join(stack.output))
        stack.output.append(line)
        if "Ctrl-C stops everything." in line:
            return
    raise AssertionError("expctl up was not ready in time:\n" + "".join(stack.output))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("up"))
    try:
        wait_until_up(running)
        yield running
    finally:
        running.stop()
