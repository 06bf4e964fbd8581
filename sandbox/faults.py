"""Fault injection in front of (and behind) the experiments API. Off by default.

The config (``SandboxSettings.faults``, ``GET/PUT/DELETE /_sandbox/faults``) is a list of rules::

    {"rules": [
      {"kind": "latency",            "latency_ms": 300},
      {"kind": "error",              "status": 503, "probability": 0.2, "seed": 7},
      {"kind": "throttle",           "count": 3, "retry_after": 2},
      {"kind": "drop",               "methods": ["POST"], "path_regex": "/launch/$", "count": 1},
      {"kind": "slow_body",          "chunk_bytes": 64, "chunk_delay_ms": 200},
      {"kind": "delay_after_commit", "latency_ms": 5000, "methods": ["POST"], "count": 1},
      {"kind": "drop_after_commit",  "path_regex": "/end/$", "count": 1}
    ]}

Rule fields:

* ``kind``: ``latency`` (sleep ``latency_ms`` before processing), ``error`` (answer ``status``
  500/502/503 before processing: nothing is written), ``throttle`` (answer PostHog's 429 with
  ``Retry-After: retry_after`` before processing), ``drop`` (start the response, then abort the
  connection, before processing), ``slow_body`` (process, then stream the body in
  ``chunk_bytes`` chunks ``chunk_delay_ms`` apart), ``delay_after_commit`` (process and commit,
  then hold the response ``latency_ms``: a client with a shorter timeout gives up although the
  write happened), ``drop_after_commit`` (process and commit, then abort the connection);
* ``methods`` (e.g. ``["POST"]``) and ``path_regex`` (``re.search`` on the path) scope a rule;
  both default to "any";
* ``count``: apply to the next N matching requests (decremented; ``GET`` shows what is left);
* ``probability`` with ``seed``: apply to a matching request with that probability, drawn from
  the rule's own seeded generator, so a run is reproducible. Without ``count`` and
  ``probability`` a rule applies to every matching request.

Latency rules add up. Of the terminal rules (``error``, ``throttle``, ``drop``) the first that
fires wins; post-processing rules apply only when no terminal rule fired. Admin routes
(``/_sandbox/...``) are never faulted.

A dropped connection raises :class:`ConnectionDropped` after ``http.response.start``: uvicorn then
closes the socket mid-response (clients see a protocol/read error), and an in-process
``httpx.ASGITransport`` re-raises it, where it is an ``httpx.RemoteProtocolError`` like the real
thing.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sandbox import errors

FaultKind = Literal[
    "latency", "error", "throttle", "drop", "slow_body", "delay_after_commit", "drop_after_commit"
]
_TERMINAL: frozenset[str] = frozenset({"error", "throttle", "drop"})
_POST: frozenset[str] = frozenset({"slow_body", "delay_after_commit", "drop_after_commit"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised by the fault layer to make the server abort a started response."""


class FaultRule(BaseModel):
    """One fault rule (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    methods: list[str] | None = None
    path_regex: str | None = None
    count: int | None = Field(default=None, ge=0)
    probability: float | None = Field(default=None, ge=0.0, le=1.0)
    seed: int | None = None
    latency_ms: float = Field(default=0.0, ge=0.0)
    status: Literal[500, 502, 503] = 503
    retry_after: int = Field(default=1, ge=0)
    chunk_bytes: int = Field(default=64, ge=1)
    chunk_delay_ms: float = Field(default=100.0, ge=0.0)

    @field_validator("path_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value

    @field_validator("methods")
    @classmethod
    def _upper(cls, value: list[str] | None) -> list[str] | None:
        return [method.upper() for method in value] if value is not None else None


class FaultConfig(BaseModel):
    """The fault rules in force."""

    model_config = ConfigDict(extra="forbid")

    rules: list[FaultRule] = Field(default_factory=list)


@dataclass
class FaultPlan:
    """What to do with one request."""

    latency_ms: float = 0.0
    terminal: FaultRule | None = None
    post: FaultRule | None = None


class FaultInjector:
    """Holds the rules and decides, request by request, which fire."""

    def __init__(self, config: FaultConfig) -> None:
        self._config = FaultConfig()
        self._random: list[random.Random] = []
        self.configure(config)

    def configure(self, config: FaultConfig) -> None:
        """Replace the rules (counts and seeded generators start afresh)."""
        self._config = config.model_copy(deep=True)
        self._random = [random.Random(rule.seed) for rule in self._config.rules]

    def config(self) -> FaultConfig:
        """The rules, with the counts that remain."""
        return self._config.model_copy(deep=True)

    def _fires(self, index: int, rule: FaultRule, method: str, path: str) -> bool:
        if rule.methods is not None and method.upper() not in rule.methods:
            return False
        if rule.path_regex is not None and not re.search(rule.path_regex, path):
            return False
        if rule.count is not None and rule.count <= 0:
            return False
        if rule.probability is not None and self._random[index].random() >= rule.probability:
            return False
        if rule.count is not None:
            rule.count -= 1
        return True

    def decide(self, method: str, path: str) -> FaultPlan:
        """Which rules act on this request (consuming counts and random draws)."""
        plan = FaultPlan()
        for index, rule in enumerate(self._config.rules):
            if rule.kind in _TERMINAL and plan.terminal is not None:
                continue
            if rule.kind in _POST and (plan.post is not None or plan.terminal is not None):
                continue
            if not self._fires(index, rule, method, path):
                continue
            if rule.kind == "latency":
                plan.latency_ms += rule.latency_ms
            elif rule.kind in _TERMINAL:
                plan.terminal = rule
                plan.post = None
            else:
                plan.post = rule
        return plan


def _error_response(rule: FaultRule) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    if rule.kind == "throttle":
        error = errors.throttled(rule.retry_after)
        headers = [(b"retry-after", str(rule.retry_after).encode())]
        return 429, headers, json.dumps(error.body).encode()
    if rule.status == 500:
        return 500, [], json.dumps(errors.server_error().body).encode()
    reason = "Bad Gateway" if rule.status == 502 else "Service Unavailable"
    html = f"<html><head><title>{rule.status} {reason}</title></head><body>"
    html += f"<h1>{rule.status} {reason}</h1></body></html>"
    return rule.status, [(b"content-type", b"text/html")], html.encode()


class FaultMiddleware:
    """An ASGI layer applying the injector's plan to ``/api/`` requests."""

    def __init__(
        self,
        app: AsgiApp,
        injector: FaultInjector,
        on_refused: Callable[[str, str, int | None], None],
        on_after: Callable[[], None],
    ) -> None:
        self.app = app
        self.injector = injector
        # A request answered by the fault layer alone (status ``None``: connection dropped).
        self.on_refused = on_refused
        # A processed request whose answer the fault layer then delayed, slowed or dropped.
        self.on_after = on_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/api/"):
            await self.app(scope, receive, send)
            return
        method, path = str(scope["method"]), str(scope["path"])
        plan = self.injector.decide(method, path)
        if plan.latency_ms:
            await asyncio.sleep(plan.latency_ms / 1000)
        if plan.terminal is not None:
            await self._answer_before(plan.terminal, method, path, send)
            return
        if plan.post is None:
            await self.app(scope, receive, send)
            return
        await self._answer_after(plan.post, scope, receive, send)

    async def _answer_before(self, rule: FaultRule, method: str, path: str, send: Send) -> None:
        if rule.kind == "drop":
            self.on_refused(method, path, None)
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", b"1024"),
                    ],
                }
            )
            raise ConnectionDropped("connection dropped by the sandbox fault layer")
        status, headers, body = _error_response(rule)
        self.on_refused(method, path, status)
        headers = [
            *headers,
            (b"content-length", str(len(body)).encode()),
        ]
        if not any(name == b"content-type" for name, _ in headers):
            headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer_after(
        self, rule: FaultRule, scope: Scope, receive: Receive, send: Send
    ) -> None:
        start: Message = {}
        body = bytearray()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, capture)
        self.on_after()
        if rule.kind == "delay_after_commit":
            await asyncio.sleep(rule.latency_ms / 1000)
        if rule.kind == "drop_after_commit":
            await send(start)
            raise ConnectionDropped("connection dropped by the sandbox fault layer after commit")
        await send(start)
        if rule.kind == "slow_body":
            data = bytes(body)
            for offset in range(0, len(data), rule.chunk_bytes):
                if offset:
                    await asyncio.sleep(rule.chunk_delay_ms / 1000)
                await send(
                    {
                        "type": "http.response.body",
                        "body": data[offset : offset + rule.chunk_bytes],
                        "more_body": True,
                    }
                )
        else:
            await send({"type": "http.response.body", "body": bytes(body), "more_body": True})
        await send({"type": "http.response.body", "body": b""})
