"""JSON <-> protobuf conversion, compiled once per message type from its descriptor.

`json_format` is general but slow for list responses; these codecs precompute, per field,
the JSON name and a converter, emit every field (defaults included, unset messages and
optional scalars as null), render enums as lowercase words without their type prefix
(`DIFFICULTY_BEGINNER` -> "beginner") and integers as JSON numbers. Parsing is strict: every
unknown field and every value of the wrong type is reported, by lowerCamelCase path.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from kernel.errors import FieldViolation

# protobuf's stubs type `DESCRIPTOR` as a union of its Python and upb classes, which share one
# interface at run time; these aliases keep signatures readable without casts everywhere.
Descriptor = Any
FieldDesc = Any
EnumDescriptor = Any
_FD = FieldDescriptor
_INT_TYPES = {_FD.CPPTYPE_INT32, _FD.CPPTYPE_INT64, _FD.CPPTYPE_UINT32, _FD.CPPTYPE_UINT64}
_FLOAT_TYPES = {_FD.CPPTYPE_FLOAT, _FD.CPPTYPE_DOUBLE}
_INT_RANGES = {
    _FD.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    _FD.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    _FD.CPPTYPE_UINT32: (0, 2**32 - 1),
    _FD.CPPTYPE_UINT64: (0, 2**64 - 1),
}
_WRAPPERS = {
    "google.protobuf.StringValue",
    "google.protobuf.BoolValue",
    "google.protobuf.Int32Value",
    "google.protobuf.Int64Value",
    "google.protobuf.UInt32Value",
    "google.protobuf.UInt64Value",
    "google.protobuf.DoubleValue",
    "google.protobuf.FloatValue",
}
_JSON_NATIVE = {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}


class TranscodeError(ValueError):
    """The JSON does not fit the message; `violations` names every problem."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))
        self.violations = violations


def enum_word(enum: EnumDescriptor, number: int) -> str | None:
    """JSON word of an enum value: its name without the type prefix, lowercased."""
    value = enum.values_by_number.get(number)
    if value is None or number == 0:
        return None
    return _strip_prefix(enum, value.name).lower()


def _strip_prefix(enum: EnumDescriptor, name: str) -> str:
    prefix = _enum_prefix(enum)
    return name[len(prefix) :] if name.startswith(prefix) else name


def _enum_prefix(enum: EnumDescriptor) -> str:
    out = []
    for index, char in enumerate(enum.name):
        if char.isupper() and index:
            out.append("_")
        out.append(char.upper())
    return "".join(out) + "_"


def enum_words(enum: EnumDescriptor) -> list[str]:
    """Every JSON word an enum accepts (UNSPECIFIED excluded)."""
    return [w for v in enum.values if (w := enum_word(enum, v.number)) is not None]


def format_timestamp(stamp: Timestamp) -> str:
    """RFC 3339 UTC with millisecond precision: 2026-11-26T10:00:00.000Z."""
    moment = datetime.fromtimestamp(stamp.seconds + stamp.nanos / 1e9, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ----------------------------------------------------------------------------- protobuf -> JSON

_Render = Callable[[Any], Any]
_render_cache: dict[str, Callable[[Message], dict[str, Any]]] = {}


def _scalar_renderer(field: FieldDesc) -> _Render | None:
    """None means "use the value as it is"."""
    if field.cpp_type == _FD.CPPTYPE_ENUM:
        enum = field.enum_type
        words = {v.number: enum_word(enum, v.number) for v in enum.values}
        return words.get
    if field.type == _FD.TYPE_BYTES:
        return lambda raw: base64.b64encode(raw).decode()
    if field.cpp_type in _FLOAT_TYPES:
        return lambda number: number if math.isfinite(number) else str(number)
    return None


def _message_renderer(descriptor: Descriptor) -> _Render:
    full_name = descriptor.full_name
    if full_name == "google.protobuf.Timestamp":
        return format_timestamp
    if full_name in _WRAPPERS:
        return lambda wrapper: wrapper.value
    if full_name == "google.protobuf.FieldMask":
        return lambda mask: ",".join(mask.paths)
    if full_name in _JSON_NATIVE or full_name in {
        "google.protobuf.Duration",
        "google.protobuf.Any",
    }:
        return json_format.MessageToDict
    return renderer_for(descriptor)


def renderer_for(descriptor: Descriptor) -> Callable[[Message], dict[str, Any]]:
    """A function turning a message of this type into a JSON-ready dict."""
    cached = _render_cache.get(descriptor.full_name)
    if cached is not None:
        return cached
    plan: list[tuple[str, str, int, _Render | None, bool]] = []

    def render(message: Message) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, json_name, kind, convert, has_presence in plan:
            if kind == 0:  # singular scalar
                if has_presence and not message.HasField(name):
                    out[json_name] = None
                    continue
                value = getattr(message, name)
                out[json_name] = value if convert is None else convert(value)
            elif kind == 1:  # singular message
                out[json_name] = (
                    convert(getattr(message, name)) if message.HasField(name) else None  # type: ignore[misc]
                )
            elif kind == 2:  # repeated
                values = getattr(message, name)
                out[json_name] = list(values) if convert is None else [convert(v) for v in values]
            else:  # map
                values = getattr(message, name)
                out[json_name] = (
                    {str(k): v for k, v in values.items()}
                    if convert is None
                    else {str(k): convert(v) for k, v in values.items()}
                )
        return out

    # Registered before the plan is filled so that recursive message types terminate.
    _render_cache[descriptor.full_name] = render
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            convert = (
                _message_renderer(value_field.message_type)
                if value_field.message_type is not None
                else _scalar_renderer(value_field)
            )
            plan.append((field.name, field.json_name, 3, convert, False))
        elif field.is_repeated:
            convert = (
                _message_renderer(field.message_type)
                if field.message_type is not None
                else _scalar_renderer(field)
            )
            plan.append((field.name, field.json_name, 2, convert, False))
        elif field.message_type is not None:
            plan.append(
                (field.name, field.json_name, 1, _message_renderer(field.message_type), True)
            )
        else:
            plan.append(
                (field.name, field.json_name, 0, _scalar_renderer(field), field.has_presence)
            )
    return render


def message_to_json(message: Message) -> dict[str, Any]:
    """Render a message as a JSON-ready dict (every field present)."""
    return renderer_for(message.DESCRIPTOR)(message)


# ----------------------------------------------------------------------------- JSON -> protobuf


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _enum_lookup(enum: EnumDescriptor) -> dict[str, int]:
    lookup: dict[str, int] = {}
    for value in enum.values:
        if value.number == 0:
            continue
        lookup[_strip_prefix(enum, value.name).lower()] = value.number
        lookup[value.name.lower()] = value.number
    return lookup


def parse_scalar(field: FieldDesc, value: Any, path: str, *, from_query: bool = False) -> Any:
    """Convert one JSON (or query-string) value for a scalar field; raises TranscodeError."""
    cpp = field.cpp_type
    if cpp == _FD.CPPTYPE_STRING:
        if field.type == _FD.TYPE_BYTES:
            if not isinstance(value, str):
                raise TranscodeError([FieldViolation(path, "must be a base64 string")])
            try:
                return base64.b64decode(value, validate=True)
            except ValueError:
                raise TranscodeError([FieldViolation(path, "must be a base64 string")]) from None
        if not isinstance(value, str):
            raise TranscodeError(
                [FieldViolation(path, f"must be a string, got {_type_name(value)}")]
            )
        return value
    if cpp == _FD.CPPTYPE_BOOL:
        if from_query and isinstance(value, str) and value.lower() in {"true", "false", "1", "0"}:
            return value.lower() in {"true", "1"}
        if not isinstance(value, bool):
            raise TranscodeError(
                [FieldViolation(path, f"must be a boolean, got {_type_name(value)}")]
            )
        return value
    if cpp in _INT_TYPES:
        number: Any = value
        if isinstance(value, str) and (
            from_query or cpp in {_FD.CPPTYPE_INT64, _FD.CPPTYPE_UINT64}
        ):
            try:
                number = int(value)
            except ValueError:
                raise TranscodeError([FieldViolation(path, "must be an integer")]) from None
        if isinstance(number, float) and number.is_integer():
            number = int(number)
        if isinstance(number, bool) or not isinstance(number, int):
            raise TranscodeError(
                [FieldViolation(path, f"must be an integer, got {_type_name(value)}")]
            )
        low, high = _INT_RANGES[cpp]
        if not low <= number <= high:
            raise TranscodeError([FieldViolation(path, f"must be between {low} and {high}")])
        return number
    if cpp in _FLOAT_TYPES:
        number = value
        if isinstance(value, str) and from_query:
            try:
                number = float(value)
            except ValueError:
                raise TranscodeError([FieldViolation(path, "must be a number")]) from None
        if (
            isinstance(number, bool)
            or not isinstance(number, int | float)
            or not math.isfinite(number)
        ):
            raise TranscodeError(
                [FieldViolation(path, f"must be a number, got {_type_name(value)}")]
            )
        return float(number)
    if cpp == _FD.CPPTYPE_ENUM:
        lookup = _enum_lookup(field.enum_type)
        if isinstance(value, str) and value.lower() in lookup:
            return lookup[value.lower()]
        allowed = ", ".join(enum_words(field.enum_type))
        raise TranscodeError([FieldViolation(path, f"must be one of: {allowed}")])
    raise TranscodeError([FieldViolation(path, "unsupported field type")])


def _parse_timestamp(value: Any, path: str) -> Timestamp:
    stamp = Timestamp()
    if not isinstance(value, str):
        raise TranscodeError([FieldViolation(path, "must be an RFC 3339 timestamp string")])
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TranscodeError([FieldViolation(path, "must be an RFC 3339 timestamp")]) from None
    if moment.tzinfo is None:
        raise TranscodeError([FieldViolation(path, "must include a timezone (Z or +hh:mm)")])
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def _merge_message_value(
    target: Message, value: Any, path: str, violations: list[FieldViolation]
) -> None:
    full_name = target.DESCRIPTOR.full_name
    try:
        if full_name == "google.protobuf.Timestamp":
            target.CopyFrom(_parse_timestamp(value, path))
        elif full_name in _WRAPPERS:
            field = target.DESCRIPTOR.fields_by_name["value"]
            target.value = parse_scalar(field, value, path)  # type: ignore[attr-defined]
        elif full_name == "google.protobuf.FieldMask":
            if not isinstance(value, str):
                raise TranscodeError([FieldViolation(path, "must be a comma-separated string")])
            target.FromJsonString(value)  # type: ignore[attr-defined]
        elif full_name in _JSON_NATIVE or full_name == "google.protobuf.Duration":
            json_format.ParseDict(value, target)
        else:
            if not isinstance(value, dict):
                raise TranscodeError(
                    [FieldViolation(path, f"must be an object, got {_type_name(value)}")]
                )
            merge_json(target, value, prefix=f"{path}.", violations=violations)
    except TranscodeError as error:
        violations.extend(error.violations)
    except json_format.ParseError as error:
        violations.append(FieldViolation(path, str(error)))


def _field_lookup(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    lookup = {}
    for field in descriptor.fields:
        lookup[field.json_name] = field
        lookup[field.name] = field
    return lookup


_lookup_cache: dict[str, dict[str, FieldDescriptor]] = {}


def fields_by_json_name(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    """Fields of a message keyed by lowerCamelCase and by proto name."""
    lookup = _lookup_cache.get(descriptor.full_name)
    if lookup is None:
        lookup = _lookup_cache[descriptor.full_name] = _field_lookup(descriptor)
    return lookup


def merge_json(
    message: Message,
    data: Mapping[str, Any],
    *,
    prefix: str = "",
    violations: list[FieldViolation] | None = None,
    skip: Iterable[str] = (),
) -> None:
    """Merge a JSON object into `message`; unknown fields and wrong types are violations.

    With `violations` given, problems are appended to it; otherwise TranscodeError is raised.
    Fields named in `skip` (proto names, bound elsewhere, e.g. from the path) are rejected.
    """
    collected: list[FieldViolation] = [] if violations is None else violations
    lookup = fields_by_json_name(message.DESCRIPTOR)
    skipped = set(skip)
    for key, value in data.items():
        path = f"{prefix}{key}"
        field = lookup.get(key)
        if field is None or field.name in skipped:
            collected.append(FieldViolation(path, "unknown field"))
            continue
        if value is None:
            continue  # null means "not given"
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            _merge_map(message, field, value, path, collected)
        elif field.is_repeated:
            _merge_repeated(message, field, value, path, collected)
        elif field.message_type is not None:
            _merge_message_value(getattr(message, field.name), value, path, collected)
        else:
            try:
                setattr(message, field.name, parse_scalar(field, value, path))
            except TranscodeError as error:
                collected.extend(error.violations)
    if violations is None and collected:
        raise TranscodeError(collected)


def _merge_repeated(
    message: Message,
    field: FieldDesc,
    value: Any,
    path: str,
    violations: list[FieldViolation],
) -> None:
    if not isinstance(value, list):
        violations.append(FieldViolation(path, f"must be an array, got {_type_name(value)}"))
        return
    target = getattr(message, field.name)
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if field.message_type is not None:
            _merge_message_value(target.add(), item, item_path, violations)
        else:
            try:
                target.append(parse_scalar(field, item, item_path))
            except TranscodeError as error:
                violations.extend(error.violations)


def _merge_map(
    message: Message,
    field: FieldDesc,
    value: Any,
    path: str,
    violations: list[FieldViolation],
) -> None:
    if not isinstance(value, dict):
        violations.append(FieldViolation(path, f"must be an object, got {_type_name(value)}"))
        return
    target = getattr(message, field.name)
    value_field = field.message_type.fields_by_name["value"]
    for key, item in value.items():
        item_path = f"{path}.{key}"
        if value_field.message_type is not None:
            _merge_message_value(target[key], item, item_path, violations)
        else:
            try:
                target[key] = parse_scalar(value_field, item, item_path)
            except TranscodeError as error:
                violations.extend(error.violations)
