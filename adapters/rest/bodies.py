"""Request bodies: the size limit in front of the app, and reading a body as one JSON object.

Bodies are read by the routes themselves (not by FastAPI) so that authentication comes first and
malformed JSON is a 400 ``parse_error``. A body is then held to the JSON types its model documents
(:func:`check_json_types`: ``0`` is not a boolean, ``"5"`` not an id) before the PostHog client
validates it against the operation table's model.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.rest.errors import ApiError

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
"""1 MiB: far above any experiment body, far below anything that hurts."""


def too_large(limit: int) -> ApiError:
    """The 413 for a body over ``limit`` bytes."""
    return ApiError(413, f"The request body exceeds the limit of {limit} bytes.")


class BodyLimit:
    """Refuses bodies over ``max_bytes``: by Content-Length before reading, else while reading."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await too_large(self.max_bytes).response()(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise too_large(self.max_bytes)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                raise ApiError(400, "Content-Length is not a number.") from None
    return None


async def read_json_object(request: Request) -> dict[str, Any] | None:
    """The body as a JSON object, ``None`` when there is none; 400/422 envelopes otherwise."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise ApiError(400, "JSON parse error: the body is nested too deeply.") from None
    except UnicodeDecodeError:
        raise ApiError(400, "JSON parse error: the body is not UTF-8.") from None
    except ValueError as error:
        raise ApiError(400, f"JSON parse error: {error}") from None
    if not isinstance(value, dict):
        raise ApiError(
            422,
            f"The request body must be a JSON object, not {_json_type(value)}.",
            code="invalid_input",
        )
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise ApiError(400, "JSON parse error: the body contains an unpaired surrogate.") from None
    except RecursionError:
        raise ApiError(400, "JSON parse error: the body is nested too deeply.") from None
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array"


def check_json_types(model: type[BaseModel], raw: bytes) -> None:
    """Refuse (422, naming the field) a body whose values are not the model's JSON types.

    The client's own validation is lenient, as PostHog's is (``0`` passes as ``false``); the REST
    surface holds callers to the types its OpenAPI publishes.
    """
    if not raw.strip():
        return
    try:
        model.model_validate_json(raw, strict=True)
    except ValidationError as error:
        first = error.errors()[0]
        attr = ".".join(str(part) for part in first["loc"]) or None
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown field"
        raise ApiError(422, f"{attr}: {message}" if attr else message, attr=attr) from None
