"""Running the sandbox for real: the test context manager and ``serve`` in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx

from sandbox import SandboxSettings
from sandbox.server import banner, running_server
from tests.sandbox.support import AUTH, FROZEN_AT, WINNER, P


def test_running_server_serves_and_stops() -> None:
    with running_server(SandboxSettings(clock_start=FROZEN_AT, clock_frozen=True)) as server:
        assert server.url.startswith("http://127.0.0.1:")
        response = httpx.get(f"{server.url}{P}/{WINNER}/", headers=AUTH)
        assert response.status_code == 200
        assert server.runtime.state.experiments[WINNER].name == response.json()["name"]
        url = server.url
    try:
        httpx.get(f"{url}/_sandbox/health", timeout=0.5)
    except httpx.TransportError:
        return
    raise AssertionError("the server still answers after the block")


def test_banner_names_url_key_and_project() -> None:
    text = banner(SandboxSettings(api_key="phx_dev"), "http://127.0.0.1:8010")
    assert "http://127.0.0.1:8010" in text
    assert "phx_dev" in text
    assert "Project:      1" in text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_in_a_subprocess() -> None:
    port = _free_port()
    code = (
        "from sandbox.server import serve; from sandbox import SandboxSettings; "
        f"serve(SandboxSettings(port={port}))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=0.5)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert health.json() == {"ok": True}
        listed = httpx.get(f"http://127.0.0.1:{port}{P}/", headers=AUTH)
        assert listed.json()["count"] == 8
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}" in stdout
    assert "phx_sandbox" in stdout
    assert "phx_sandbox" not in stderr
