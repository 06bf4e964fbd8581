"""Every failure answers in PostHog's envelope: upstream failures, malformed input, our own refusals."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from pydantic import ValidationError

from adapters.rest import ApiError, CallerDep, MutationDep, ServiceDep
from adapters.rest.routes import is_json_typed
from sandbox.server import running_server
from tests.rest.cases import CASES, Case
from tests.rest.conftest import BASE, POSTHOG_KEY, READONLY, Stack, build_stack, sandbox_settings

ENVELOPE = {"type", "code", "detail", "attr"}


def assert_envelope(answer: httpx.Response, status: int, attr: str | None = ...) -> dict[str, Any]:  # type: ignore[assignment]
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert set(body) >= ENVELOPE
    assert isinstance(body["detail"], str)
    assert body["detail"]
    if attr is not ...:
        assert body["attr"] == attr
    assert "Traceback" not in answer.text
    return body


# -- PostHog failing ----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("GET", "2"), ("POST", "2/pause")])
async def test_posthog_throttling_is_503_with_retry_after(
    stack: Stack, method: str, path: str
) -> None:
    await stack.faults({"kind": "throttle", "count": 1, "retry_after": 7})
    answer = await stack.call(method, f"{BASE}/{path}")
    body = assert_envelope(answer, 503, None)
    assert body["code"] == "upstream_throttled"
    assert answer.headers["retry-after"] == "7"
    assert "Expected available in 7 seconds" in body["detail"]


@pytest.mark.parametrize(("method", "path"), [("GET", "2"), ("POST", "2/pause"), ("GET", "stats")])
async def test_a_posthog_server_error_is_502_with_its_detail(
    stack: Stack, method: str, path: str
) -> None:
    await stack.faults({"kind": "error", "status": 500, "count": 1})
    body = assert_envelope(await stack.call(method, f"{BASE}/{path}"), 502, None)
    assert body["code"] == "upstream_error"
    assert body["detail"] == "PostHog failed with 500: A server error occurred."


async def test_a_dropped_connection_is_502(stack: Stack) -> None:
    await stack.faults({"kind": "drop", "count": 1})
    body = assert_envelope(await stack.call("GET", f"{BASE}/2"), 502, None)
    assert body["code"] == "upstream_unreachable"


async def test_an_unreachable_posthog_is_502() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with build_stack(
        client_host=f"http://127.0.0.1:{port}", transport=httpx.AsyncHTTPTransport()
    ) as stack:
        body = assert_envelope(await stack.call("GET", f"{BASE}/2"), 502, None)
    assert body["code"] == "upstream_unreachable"


async def test_a_posthog_timeout_is_504() -> None:
    with running_server(sandbox_settings()) as server:
        async with build_stack(
            sandbox=server.app,
            client_host=server.url,
            transport=httpx.AsyncHTTPTransport(),
            client_timeout=0.2,
        ) as stack:
            await stack.faults({"kind": "latency", "latency_ms": 600, "count": 1})
            body = assert_envelope(await stack.call("GET", f"{BASE}/2"), 504, None)
    assert body["code"] == "upstream_timeout"


async def test_a_rejected_server_key_is_502_and_never_echoed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "phx_wrong_key_0a9b8c_never_shown"
    async with build_stack(client_key=wrong) as stack:
        answers = [
            await stack.call("GET", f"{BASE}/2"),
            await stack.call("POST", f"{BASE}/2/pause"),
            await stack.call("GET", "/readyz", token=None),
        ]
    for answer in answers[:2]:
        body = assert_envelope(answer, 502, None)
        assert body["code"] == "upstream_authentication_failed"
        assert "POSTHOG_API_KEY" in body["detail"]
    assert answers[2].status_code == 503
    for answer in answers:
        assert wrong not in answer.text
        assert wrong not in str(answer.headers)
    assert wrong not in caplog.text
    assert POSTHOG_KEY not in caplog.text


# -- our own request handling -------------------------------------------------------------------


async def test_an_unknown_route_is_404(stack: Stack) -> None:
    for path in ("/nope", "/v1/api/projects/1/experiment", f"{BASE}/2/launch/now"):
        body = assert_envelope(await stack.call("GET", path), 404, None)
        assert body["code"] == "not_found"


async def test_a_wrong_method_is_405_with_allow(stack: Stack) -> None:
    answer = await stack.call("PUT", f"{BASE}/2/launch")
    body = assert_envelope(answer, 405, None)
    assert body["code"] == "method_not_allowed"
    assert answer.headers["allow"] == "POST"


async def test_delete_passes_posthogs_empty_405_through(stack: Stack) -> None:
    answer = await stack.call("DELETE", f"{BASE}/2")
    assert answer.status_code == 405
    assert answer.content == b""


@dataclass(frozen=True)
class Bad:
    """One malformed request and the 4xx it must get."""

    label: str
    case: Case
    request: dict[str, Any]
    status: int
    attr: str | None = ...  # type: ignore[assignment]


def _with_path(case: Case, *, project: str = "1", experiment: str | None = None) -> str:
    path = case.row.rest_path.replace("{project-id}", project)
    return path.replace("{id}", experiment if experiment is not None else str(case.id))


def _first_field(case: Case) -> str:
    model = case.row.body
    fields = list(model.model_fields) if model is not None else []
    return fields[0] if fields else "zzz"


def _bad_query_value(case: Case, field: str) -> str | None:
    """A value of ``field`` the row's query model refuses, or ``None`` if any string fits."""
    model = case.row.query
    assert model is not None
    if is_json_typed(model.model_fields[field].annotation):
        return "[{not"
    base = {name: "x" for name, info in model.model_fields.items() if info.is_required()}
    for candidate in ("[{not", ""):
        try:
            model.model_validate({**base, field: candidate})
        except ValidationError:
            return candidate
    return None


def _malformed() -> list[Bad]:
    bad: list[Bad] = []
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    for case in CASES.values():
        path = case.rest_path()
        # Ids are int path segments: a non-number matches no route (404), a number out of
        # range is a 422 naming the parameter.
        bad.append(Bad("non-int project", case, {"url": _with_path(case, project="x")}, 404, None))
        for value in ("0", str(2**63)):
            url = _with_path(case, project=value)
            bad.append(Bad(f"project {value}", case, {"url": url}, 422, "project_id"))
        bad.append(Bad("huge body", case, {"url": path, "content": big}, 413, None))
        if case.row.has_id:
            for value, status, attr in (
                ("abc", 404, None),
                ("-3", 404, None),
                ("1.5", 404, None),
                ("0", 422, "id"),
                (str(10**30), 422, "id"),
            ):
                url = _with_path(case, experiment=value)
                bad.append(Bad(f"id {value}", case, {"url": url}, status, attr))
        if case.method == "GET":
            model = case.row.query
            required = (
                {n: "x" for n, i in model.model_fields.items() if i.is_required()} if model else {}
            )
            for field in model.model_fields if model else ():
                value = _bad_query_value(case, field)
                if value is not None:
                    params = {**required, field: value}
                    bad.append(
                        Bad(f"query {field}", case, {"url": path, "params": params}, 422, field)
                    )
            continue
        body = case.body if isinstance(case.body, dict) else {}
        takes_body = case.row.body is not None or case.row.lifecycle_action is not None
        bad.append(
            Bad(
                "dry_run=maybe", case, {"url": path, "params": {"dry_run": "maybe"}}, 422, "dry_run"
            )
        )
        bad.append(Bad("bad JSON", case, {"url": path, "content": b'{"a": '}, 400, None))
        bad.append(Bad("non-UTF-8", case, {"url": path, "content": b'{"a": "\xff"}'}, 400, None))
        bad.append(Bad("NaN", case, {"url": path, "content": b'{"a": NaN}'}, 400, None))
        bad.append(
            Bad("deep", case, {"url": path, "content": b"[" * 100_000 + b"]" * 100_000}, 400, None)
        )
        bad.append(
            Bad("surrogate", case, {"url": path, "content": b'{"name": "\\ud800"}'}, 400, None)
        )
        bad.append(Bad("array", case, {"url": path, "json": [1, 2]}, 422, None))
        bad.append(Bad("string", case, {"url": path, "json": "launch"}, 422, None))
        unknown_attr = "zzz_unknown" if takes_body and (body or not callable(case.body)) else ...
        bad.append(
            Bad(
                "unknown field",
                case,
                {"url": path, "json": {**body, "zzz_unknown": 1}},
                422,
                unknown_attr if takes_body else None,
            )
        )
        field = _first_field(case)
        bad.append(
            Bad(
                "wrong type",
                case,
                {"url": path, "json": {**body, field: [[1]]}},
                422,
                field if takes_body else None,
            )
        )
    return bad


MALFORMED = _malformed()


@pytest.mark.parametrize("bad", MALFORMED, ids=[f"{b.case.operation}-{b.label}" for b in MALFORMED])
async def test_malformed_input_is_a_4xx_envelope(stack: Stack, bad: Bad) -> None:
    request = dict(bad.request)
    answer = await stack.call(bad.case.method, request.pop("url"), **request)
    assert_envelope(answer, bad.status, bad.attr)
    calls = await stack.calls()
    assert calls["applied"] == {}


async def test_a_streamed_body_over_the_limit_is_413() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1024

    async with build_stack(max_body_bytes=4096) as stack:
        answer = await stack.call("POST", f"{BASE}/2/pause", content=chunks())
        small = await stack.call("POST", f"{BASE}/2/pause", content=b"{}")
    body = assert_envelope(answer, 413, None)
    assert body["code"] == "request_too_large"
    assert small.status_code == 200


async def test_a_bad_content_length_is_400(stack: Stack) -> None:
    answer = await stack.call(
        "POST", f"{BASE}/2/pause", content=b"{}", headers={"Content-Length": "many"}
    )
    assert_envelope(answer, 400, None)


async def test_a_body_is_read_whatever_its_content_type(stack: Stack) -> None:
    answer = await stack.call(
        "POST",
        f"{BASE}/2/end",
        content=b'{"conclusion": "won"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert answer.json()["conclusion"] == "won"


# -- the seam for added routers -----------------------------------------------------------------


def _automation_router() -> APIRouter:
    router = APIRouter(tags=["automation"])

    @router.get("/v1/api/projects/{project_id}/experiments/{id}/schedule")
    async def read_schedule(project_id: int, id: int, caller: CallerDep) -> dict[str, Any]:
        return {"experiment": id, "caller": caller.name}

    @router.put("/v1/api/projects/{project_id}/experiments/{id}/schedule")
    async def put_schedule(
        project_id: int, id: int, mutation: MutationDep, service: ServiceDep
    ) -> dict[str, Any]:
        options = await service.options(id, project_id=project_id)
        if "launch" not in options["allowed_actions"]:
            raise ApiError(409, "Only a draft can get a launch plan.", code="not_a_draft")
        return {"dry_run": mutation.dry_run, "status": options["status"]}

    @router.get("/v1/boom")
    async def boom(caller: CallerDep) -> dict[str, Any]:
        raise RuntimeError("kaboom: internal detail")

    return router


async def test_added_routers_reuse_auth_and_error_translation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = f"{BASE}/1/schedule"
    async with build_stack(extra_routers=(_automation_router(),), projects=[1]) as stack:
        read = await stack.call("GET", path, token=READONLY)
        anonymous = await stack.call("GET", path, token=None)
        read_only_write = await stack.call("PUT", path, token=READONLY)
        read_only_dry = await stack.call("PUT", path, token=READONLY, params={"dry_run": "true"})
        write = await stack.call("PUT", path)
        refused = await stack.call("PUT", f"{BASE}/2/schedule")
        missing = await stack.call("PUT", f"{BASE}/999/schedule")
        other_project = await stack.call("GET", "/v1/api/projects/2/experiments/1/schedule")
        boom = await stack.call("GET", "/v1/boom")
        document = (await stack.call("GET", "/openapi.json")).json()
    assert read.json() == {"experiment": 1, "caller": "readonly-token"}
    assert_envelope(anonymous, 401, None)
    assert_envelope(read_only_write, 403, None)
    assert read_only_dry.json() == {"dry_run": True, "status": "draft"}
    assert write.json() == {"dry_run": False, "status": "draft"}
    assert assert_envelope(refused, 409, None)["code"] == "not_a_draft"
    assert_envelope(missing, 404, None)
    assert assert_envelope(other_project, 403, "project_id")
    body = assert_envelope(boom, 500, None)
    assert body["detail"] == "A server error occurred."
    assert "kaboom" not in boom.text
    assert "kaboom: internal detail" in caplog.text
    template = "/v1/api/projects/{project_id}/experiments/{id}/schedule"
    assert document["paths"][template]["get"]["tags"] == ["automation"]
