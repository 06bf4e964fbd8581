"""Benchmark: ``expctl --help`` time, ``expctl up`` time to ready, and the peak memory of our processes.

``python -m bench.startup_memory [--runs 10]``

Starts ``expctl up`` on free ports with a fresh data folder, waits until it prints that it is up,
exercises REST and MCP once, then reads each process's peak resident memory (``VmHWM``) from
/proc: the supervisor, the sandbox, the flow server, the REST and MCP adapters (Prefect's own
server is listed apart). Targets: ``expctl --help`` under 0.5 s; our processes under 250 MB each.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TOKEN = "expctl_bench_token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def help_seconds(runs: int) -> list[float]:
    """Wall time of ``expctl --help`` (a fresh interpreter each time)."""
    expctl = Path(sys.executable).with_name("expctl")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(expctl), "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def describe(pid: int) -> tuple[str, float]:
    """(command line, peak RSS in MB) of a process."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "(gone)", 0.0
    peak = next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0
    )
    return " ".join(part.decode(errors="replace") for part in argv if part)[:90], peak / 1024


def name_of(command: str) -> str:
    for marker, name in (
        ("prefect server", "prefect server (not ours)"),
        (" sandbox", "sandbox"),
        ("flows serve", "flows"),
        ("serve rest", "rest"),
        ("serve mcp", "mcp"),
        (" up ", "expctl up (supervisor)"),
    ):
        if marker in command:
            return name
    return command


def main(runs: int) -> None:
    helps = help_seconds(runs)
    print(
        f"expctl --help: median {statistics.median(helps):.3f} s, max {max(helps):.3f} s over {runs} runs (target < 0.5 s)"
    )
    ports = {name: free_port() for name in ("rest", "mcp", "prefect", "sandbox")}
    data = Path(tempfile.mkdtemp(prefix="expctl-bench-"))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("POSTHOG_", "EXPCTL_", "PREFECT_"))
    }
    env["EXPCTL_API_TOKEN"] = TOKEN
    argv = [sys.executable, "-m", "adapters.cli", "up", "--data", str(data)]
    for name, port in ports.items():
        argv += [f"--{name}-port", str(port)]
    started = time.perf_counter()
    up = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert up.stdout is not None
        for line in up.stdout:
            if "Ctrl-C stops everything." in line:
                break
        else:
            raise SystemExit("expctl up exited before it was ready")
        ready = time.perf_counter() - started
        print(f"expctl up to ready (fresh data folder, Prefect migrations included): {ready:.1f} s")
        headers = {"Authorization": f"Bearer {TOKEN}"}
        rest = f"http://127.0.0.1:{ports['rest']}"
        for _ in range(20):
            httpx.get(
                f"{rest}/v1/api/projects/1/experiments", headers=headers, timeout=30
            ).raise_for_status()
        httpx.post(
            f"{rest}/v1/api/projects/1/experiments/2/pause?dry_run=true",
            headers=headers,
            timeout=30,
        ).raise_for_status()
        mcp = httpx.post(
            f"http://127.0.0.1:{ports['mcp']}/mcp",
            headers={
                **headers,
                "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": "2025-11-25",
            },
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            timeout=30,
        )
        mcp.raise_for_status()
        rows = [
            (name_of(cmd), rss, pid)
            for pid in [up.pid, *children_of(up.pid)]
            for cmd, rss in [describe(pid)]
        ]
        print("peak resident memory (VmHWM):")
        for name, rss, pid in sorted(rows):
            mark = "" if "not ours" in name else ("  ok" if rss < 250 else "  OVER 250 MB")
            print(f"  {name:<28} pid {pid:<7} {rss:7.1f} MB{mark}")
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=60)


def cli() -> None:
    parser = argparse.ArgumentParser(description="expctl start-up time and memory")
    parser.add_argument("--runs", type=int, default=10, help="how many times to time expctl --help")
    args = parser.parse_args()
    main(args.runs)


if __name__ == "__main__":
    cli()
