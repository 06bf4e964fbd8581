"""What the REST adapter costs: the same mix sent to the sandbox directly and through the adapter.

Run ``python -m bench.rest_overhead`` (options: ``--seconds``, ``--concurrency``). It starts two
uvicorn servers on loopback in child processes, the sandbox (rate limit off) and the adapter whose
upstream is that sandbox, gives each client its own running experiment, and sends the same mix
(per cycle of ten: four reads of the experiment, four list pages, a pause and a resume) at 1, 16
and 64 concurrent clients, first directly and then through the adapter. It prints the latency
percentiles per kind, the added latency (adapter minus direct) and the throughput ratio.

Lifecycle writes through the adapter are one read, the action and a re-read (the lifecycle
service checks before it acts and re-reads after), so their added latency is mostly PostHog's own
time; reads show the adapter's own cost. Targets: at most 1 ms added p50 and at least half the
direct throughput at 64 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

SANDBOX_KEY = "phx_sandbox"
TOKEN = "expctl_bench_token"
PROJECT = 1
CYCLE: tuple[Literal["get", "list", "pause", "resume"], ...] = (
    "get",
    "list",
    "get",
    "list",
    "pause",
    "get",
    "list",
    "get",
    "list",
    "resume",
)
Kind = Literal["read", "write"]
POOL = 128
UVICORN: dict[str, Any] = {
    "log_level": "warning",
    "access_log": False,
    # Runs are separated by idle gaps; PostHog's edge keeps connections open far longer than
    # uvicorn's 5 s default, and a connection closed mid-reuse would count as an error here.
    "timeout_keep_alive": 75,
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _serve_sandbox(port: int) -> None:
    import uvicorn

    from sandbox.app import create_app
    from sandbox.settings import SandboxSettings

    app = create_app(SandboxSettings(rate_limit_enabled=False, port=port))
    uvicorn.run(app, host="127.0.0.1", port=port, **UVICORN)


def _serve_adapter(port: int, upstream: str) -> None:
    import uvicorn

    from adapters.posthog import PostHogClient
    from adapters.rest.app import create_app
    from adapters.security import TokenVerifier
    from lifecycle.service import LifecycleService

    # A keep-alive pool as large as the load, so connections are reused rather than reopened.
    pool = httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)
    client = PostHogClient(
        api_key=SANDBOX_KEY,
        host=upstream,
        project_id=PROJECT,
        rate_limit=False,
        transport=httpx.AsyncHTTPTransport(limits=pool),
    )
    app = create_app(
        client=client,
        service=LifecycleService(client),
        verifier=TokenVerifier(full_token=TOKEN),
    )
    uvicorn.run(app, host="127.0.0.1", port=port, **UVICORN)


@dataclass(frozen=True)
class Target:
    """How one side is called: base URL, auth header and its paths."""

    name: str
    url: str
    token: str

    def path(self, step: str, experiment: int) -> tuple[str, str]:
        """(method, path) of one step of the cycle."""
        if self.name == "direct":
            base = f"/api/projects/{PROJECT}/experiments"
            detail = f"{base}/{experiment}/"
            return {
                "get": ("GET", detail),
                "list": ("GET", f"{base}/?limit=10"),
                "pause": ("POST", f"{detail}pause/"),
                "resume": ("POST", f"{detail}resume/"),
            }[step]
        base = f"/v1/api/projects/{PROJECT}/experiments"
        detail = f"{base}/{experiment}"
        return {
            "get": ("GET", detail),
            "list": ("GET", f"{base}?limit=10"),
            "pause": ("POST", f"{detail}/pause"),
            "resume": ("POST", f"{detail}/resume"),
        }[step]


@dataclass
class Run:
    """Latencies (seconds) by kind, and how long the run took."""

    latencies: dict[Kind, list[float]] = field(default_factory=lambda: {"read": [], "write": []})
    errors: int = 0
    elapsed: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds each server process spent during the measured part."""

    @property
    def count(self) -> int:
        return sum(len(values) for values in self.latencies.values())

    @property
    def throughput(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def all(self) -> list[float]:
        return self.latencies["read"] + self.latencies["write"]


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time (user + system) a process has used so far, from /proc (``None`` elsewhere)."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index] * 1000


async def _wait_until_up(url: str, path: str) -> None:
    deadline = time.monotonic() + 30.0
    async with httpx.AsyncClient(base_url=url) as http:
        while True:
            try:
                if (await http.get(path)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up")
            await asyncio.sleep(0.1)


async def _prepare_experiments(sandbox: str, count: int) -> list[int]:
    """``count`` running experiments, one per client, each on its own flag."""
    headers = {"Authorization": f"Bearer {SANDBOX_KEY}"}
    ids: list[int] = []
    async with httpx.AsyncClient(base_url=sandbox, headers=headers) as http:
        for index in range(count):
            created = await http.post(
                f"/api/projects/{PROJECT}/experiments/",
                json={"name": f"Bench {index}", "feature_flag_key": f"bench-{index}"},
            )
            created.raise_for_status()
            experiment = int(created.json()["id"])
            launched = await http.post(f"/api/projects/{PROJECT}/experiments/{experiment}/launch/")
            launched.raise_for_status()
            ids.append(experiment)
    return ids


async def _drive(
    target: Target, experiments: Sequence[int], seconds: float, servers: dict[str, int | None]
) -> Run:
    """Each client cycles through the mix on its own experiment until time is up."""
    run = Run()
    clients = len(experiments)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {target.token}"}
    async with httpx.AsyncClient(
        base_url=target.url, headers=headers, limits=limits, timeout=30.0
    ) as http:

        async def client(experiment: int, stop: float) -> None:
            step = 0
            while time.perf_counter() < stop or step % len(CYCLE):
                name = CYCLE[step % len(CYCLE)]
                method, path = target.path(name, experiment)
                started = time.perf_counter()
                answer = await http.request(method, path)
                elapsed = time.perf_counter() - started
                if answer.status_code >= 400:
                    run.errors += 1
                kind: Kind = "write" if method == "POST" else "read"
                run.latencies[kind].append(elapsed)
                step += 1

        warmup = time.perf_counter() + min(1.0, seconds / 3)
        await asyncio.gather(*(client(e, warmup) for e in experiments))
        run.latencies = {"read": [], "write": []}
        run.errors = 0
        before = {name: cpu_seconds(pid) for name, pid in servers.items()}
        started = time.perf_counter()
        await asyncio.gather(*(client(e, started + seconds) for e in experiments))
        run.elapsed = time.perf_counter() - started
        for name, pid in servers.items():
            first, last = before[name], cpu_seconds(pid)
            if first is not None and last is not None:
                run.cpu[name] = last - first
    return run


def _report(concurrency: int, direct: Run, adapter: Run) -> list[str]:
    lines = [f"\n{concurrency} concurrent client(s)"]
    lines.append(
        f"  {'':8} {'direct p50':>11} {'p99':>8} {'adapter p50':>12} {'p99':>8}"
        f" {'added p50':>10} {'added p99':>10}"
    )
    for label, ours, theirs in (
        ("reads", adapter.latencies["read"], direct.latencies["read"]),
        ("writes", adapter.latencies["write"], direct.latencies["write"]),
        ("mix", adapter.all(), direct.all()),
    ):
        d50, d99 = percentile(theirs, 50), percentile(theirs, 99)
        a50, a99 = percentile(ours, 50), percentile(ours, 99)
        lines.append(
            f"  {label:8} {d50:9.2f}ms {d99:6.2f}ms {a50:10.2f}ms {a99:6.2f}ms"
            f" {a50 - d50:8.2f}ms {a99 - d99:8.2f}ms"
        )
    ratio = adapter.throughput / direct.throughput if direct.throughput else 0.0
    lines.append(
        f"  throughput: direct {direct.throughput:7.0f} req/s, adapter {adapter.throughput:7.0f}"
        f" req/s, ratio {ratio:.2f}  (errors: direct {direct.errors}, adapter {adapter.errors})"
    )
    if direct.cpu and adapter.cpu and direct.count and adapter.count:
        per = {name: 1000 * spent / adapter.count for name, spent in adapter.cpu.items()}
        lines.append(
            f"  CPU per request: direct run, sandbox {1000 * direct.cpu['sandbox'] / direct.count:.2f}"
            f" ms; adapter run, adapter {per['adapter']:.2f} ms + sandbox {per['sandbox']:.2f} ms"
        )
    return lines


async def _bench(seconds: float, levels: Sequence[int]) -> None:
    sandbox_port, adapter_port = _free_port(), _free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    adapter_url = f"http://127.0.0.1:{adapter_port}"
    spawn = multiprocessing.get_context("spawn")
    servers = [
        spawn.Process(target=_serve_sandbox, args=(sandbox_port,), daemon=True),
        spawn.Process(target=_serve_adapter, args=(adapter_port, sandbox_url), daemon=True),
    ]
    for server in servers:
        server.start()
    try:
        await _wait_until_up(sandbox_url, "/_sandbox/health")
        await _wait_until_up(adapter_url, "/healthz")
        experiments = await _prepare_experiments(sandbox_url, max(levels))
        direct = Target("direct", sandbox_url, SANDBOX_KEY)
        adapter = Target("adapter", adapter_url, TOKEN)
        print(f"REST adapter overhead: {seconds:g} s per run, mix {'/'.join(CYCLE)}")
        results: dict[int, tuple[Run, Run]] = {}
        pids = {"sandbox": servers[0].pid, "adapter": servers[1].pid}
        for level in levels:
            chosen = experiments[:level]
            results[level] = (
                await _drive(direct, chosen, seconds, pids),
                await _drive(adapter, chosen, seconds, pids),
            )
            print("\n".join(_report(level, *results[level])), flush=True)
        top = max(levels)
        direct_top, adapter_top = results[top]
        added = statistics.median(adapter_top.latencies["read"]) - statistics.median(
            direct_top.latencies["read"]
        )
        ratio = adapter_top.throughput / direct_top.throughput
        lowest = results[min(levels)]
        added_low = percentile(lowest[1].latencies["read"], 50) - percentile(
            lowest[0].latencies["read"], 50
        )
        own = await _own_cost()
        print(
            f"\nTargets: added p50 <= 1 ms (reads at {min(levels)} client: {added_low:.2f} ms; "
            f"at {top}: {added * 1000:.2f} ms), throughput ratio >= 0.5 at {top} clients "
            f"({ratio:.2f})"
        )
        print(
            f"The adapter's own CPU per proxied read, in process with an upstream answering at "
            f"once: {own['read']:.2f} ms (of which the PostHog client {own['client']:.2f} ms); "
            f"a dry-run launch: {own['dry_run']:.2f} ms"
        )
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.join(timeout=10)


async def _own_cost(rounds: int = 500) -> dict[str, float]:
    """CPU per request of the adapter app alone: ASGI called in process, PostHog answering at once."""
    from adapters.posthog import PostHogClient
    from adapters.posthog.operations import GET_EXPERIMENT
    from adapters.rest.app import create_app
    from adapters.security import TokenVerifier
    from lifecycle.service import LifecycleService

    variants = [
        {"key": "control", "rollout_percentage": 50},
        {"key": "test", "rollout_percentage": 50},
    ]
    experiment = {
        "id": 1,
        "name": "Bench",
        "start_date": None,
        "end_date": None,
        "feature_flag_key": "bench",
        "archived": False,
        "feature_flag": {
            "id": 1,
            "key": "bench",
            "active": False,
            "filters": {"multivariate": {"variants": variants}},
        },
        "metrics": [{"kind": "ExperimentMetric", "metric_type": "mean", "uuid": "m"}],
    }

    def posthog(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/experiments/"):
            return httpx.Response(200, json={"count": 1, "next": None, "results": [experiment]})
        return httpx.Response(200, json=experiment)

    client = PostHogClient(
        api_key=SANDBOX_KEY,
        host="http://posthog.local",
        project_id=PROJECT,
        rate_limit=False,
        transport=httpx.MockTransport(posthog),
    )
    app = create_app(
        client=client, service=LifecycleService(client), verifier=TokenVerifier(full_token=TOKEN)
    )

    async def call(method: str, path: str, query: bytes = b"") -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Mapping[str, Any]) -> None:
            return None

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [(b"authorization", f"Bearer {TOKEN}".encode()), (b"host", b"a")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        await app(scope, receive, send)

    detail = f"/v1/api/projects/{PROJECT}/experiments/1"
    costs = {
        "read": await _cpu_per_call(lambda: call("GET", detail), rounds),
        "dry_run": await _cpu_per_call(
            lambda: call("POST", f"{detail}/launch", b"dry_run=true"), rounds
        ),
        "client": await _cpu_per_call(lambda: client.request(GET_EXPERIMENT, id=1), rounds),
    }
    await client.aclose()
    return costs


async def _cpu_per_call(call: Callable[[], Awaitable[object]], rounds: int) -> float:
    for _ in range(rounds // 10):
        await call()
    started = time.process_time()
    for _ in range(rounds):
        await call()
    return (time.process_time() - started) / rounds * 1000


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per run")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 16, 64], help="client counts"
    )
    options = parser.parse_args(argv)
    asyncio.run(_bench(options.seconds, options.concurrency))


if __name__ == "__main__":
    main()
