"""Request-body field parsing that behaves like the DRF serializer fields PostHog declares.

A serializer is a sequence of :class:`Field`. :func:`parse_payload` validates a body against it
the way DRF's ``Serializer.to_internal_value`` does: fields in declaration order, required /
null / blank checks, the field's own parser, then the serializer's ``validate_<field>`` hook.
Only the first error (in field order) is reported, as exceptions-hog does with
``SUPPORT_MULTIPLE_EXCEPTIONS = False``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox import errors
from sandbox.errors import FieldError

Parser = Callable[[Any], Any]

_MISSING: Any = object()

TRUE_VALUES = frozenset(["t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on"])
TRUE_VALUES |= frozenset(["On", "ON", "1"])
FALSE_VALUES = frozenset(["f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off"])
FALSE_VALUES |= frozenset(["Off", "OFF", "0"])


@dataclass(frozen=True)
class Field:
    """One declared serializer field."""

    name: str
    parse: Parser
    required: bool = False
    allow_null: bool = False
    default: Any = _MISSING
    hook: Parser | None = None
    source: str | None = None

    @property
    def key(self) -> str:
        """Where the validated value is stored (DRF's ``source``)."""
        return self.source or self.name


def parse_payload(data: Any, fields: Sequence[Field], *, partial: bool = False) -> dict[str, Any]:
    """Validate ``data`` against ``fields``; raise the first :class:`FieldError`."""
    if not isinstance(data, Mapping):
        raise FieldError(
            errors.NOT_A_DICT.format(datatype=type(data).__name__), "invalid", ("non_field_errors",)
        )
    validated: dict[str, Any] = {}
    for field in fields:
        if field.name not in data:
            if partial:
                continue
            if field.required:
                raise FieldError(errors.REQUIRED, "required", (field.name,))
            if field.default is not _MISSING:
                validated[field.key] = field.default
            continue
        try:
            value = parse_value(field, data[field.name])
        except FieldError as error:
            raise error.under(field.name) from None
        validated[field.key] = value
    return validated


def parse_value(field: Field, raw: Any) -> Any:
    """Run one field's null check, parser and hook."""
    if raw is None:
        if not field.allow_null:
            raise FieldError(errors.NULL, "null")
        value = None
    else:
        value = field.parse(raw)
    if field.hook is not None:
        value = field.hook(value)
    return value


def char(*, max_length: int | None = None, allow_blank: bool = False) -> Parser:
    """DRF ``CharField`` (whitespace trimmed, numbers accepted as strings)."""

    def parse(raw: Any) -> str:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise FieldError(errors.NOT_A_STRING)
        value = str(raw).strip()
        if value == "" and not allow_blank:
            raise FieldError(errors.BLANK, "blank")
        if max_length is not None and len(value) > max_length:
            raise FieldError(errors.max_length_text(max_length), "max_length")
        return value

    return parse


def boolean(raw: Any) -> bool:
    """DRF ``BooleanField``."""
    if raw is True or raw is False:
        return bool(raw)
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        if raw in TRUE_VALUES:
            return True
        if raw in FALSE_VALUES:
            return False
    raise FieldError(errors.NOT_A_BOOLEAN)


def is_truthy_flag(raw: Any) -> bool:
    """Whether ``raw`` is in DRF's ``BooleanField.TRUE_VALUES`` (PostHog's scope checks use it)."""
    if raw is True:
        return True
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return raw == 1
    return isinstance(raw, str) and raw in TRUE_VALUES


def parse_datetime_text(raw: str) -> datetime | None:
    """Django's ``parse_datetime`` on Python 3.11 (``fromisoformat``); naive values are UTC."""
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def date_time(raw: Any) -> datetime:
    """DRF ``DateTimeField`` with ISO-8601 input."""
    if isinstance(raw, str):
        parsed = parse_datetime_text(raw)
        if parsed is not None:
            return parsed
    raise FieldError(errors.DATETIME_FORMAT)


def choice(choices: Sequence[str]) -> Parser:
    """DRF ``ChoiceField`` (matching on ``str(value)``)."""

    def parse(raw: Any) -> str:
        if isinstance(raw, dict | list) or str(raw) not in choices:
            raise FieldError(errors.invalid_choice_text(raw), "invalid_choice")
        return str(raw)

    return parse


def integer(raw: Any) -> int:
    """DRF ``IntegerField``."""
    if isinstance(raw, bool):
        raise FieldError(errors.NOT_AN_INTEGER)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if raw.is_integer():
            return int(raw)
        raise FieldError(errors.NOT_AN_INTEGER)
    if isinstance(raw, str):
        if len(raw) > 1000:
            raise FieldError("String value too large.", "max_string_length")
        text = raw.strip()
        if "." in text:
            head, _, tail = text.partition(".")
            if tail.strip("0") == "":
                text = head
        try:
            return int(text)
        except ValueError:
            pass
    raise FieldError(errors.NOT_AN_INTEGER)


def json_value(raw: Any) -> Any:
    """DRF ``JSONField``: any JSON value."""
    return raw


def list_of(child: Parser) -> Parser:
    """DRF ``ListField(child=...)``; child errors are reported under their index."""

    def parse(raw: Any) -> list[Any]:
        if not isinstance(raw, list):
            raise FieldError(errors.not_a_list_text(raw), "not_a_list")
        values = []
        for index, item in enumerate(raw):
            try:
                if item is None:
                    raise FieldError(errors.NULL, "null")
                values.append(child(item))
            except FieldError as error:
                raise error.under(index) from None
        return values

    return parse


def primary_key_of(exists: Callable[[int], bool]) -> Parser:
    """DRF ``PrimaryKeyRelatedField`` over a set of ids decided by ``exists``."""

    def parse(raw: Any) -> int:
        if isinstance(raw, dict | list) or (isinstance(raw, str) and not raw.strip().isdigit()):
            raise FieldError(
                f"Incorrect type. Expected pk value, received {type(raw).__name__}.",
                "incorrect_type",
            )
        try:
            pk = int(raw)
        except (TypeError, ValueError):
            raise FieldError(
                f"Incorrect type. Expected pk value, received {type(raw).__name__}.",
                "incorrect_type",
            ) from None
        if not exists(pk):
            raise FieldError(f'Invalid pk "{raw}" - object does not exist.', "does_not_exist")
        return pk

    return parse
