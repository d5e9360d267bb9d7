"""Building the gRPC request message of a route from the path, the JSON body and the query."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from google.protobuf.message import Message

from gateway.envelope import ApiError
from gateway.http import Request
from gateway.routes import Route
from gateway.sessions import REFRESH_COOKIE
from gateway.transcoding import TranscodeError, fields_by_json_name, merge_json, parse_scalar
from kernel.errors import FieldViolation


def build_message(route: Route, variables: dict[str, str], request: Request, body: Any) -> Message:
    """Path variables, then the body (per the rule's `body`), then the query for the rest."""
    message = route.request_class()
    bound: set[str] = set()
    violations: list[FieldViolation] = []
    for variable in route.variables:
        try:
            _set_path_field(
                message, variable.field_path, variables[variable.group], variable.json_name
            )
        except TranscodeError as error:
            violations.extend(error.violations)
        bound.add(variable.field_path[0])
    if route.body == "*":
        if body is not None:
            if not isinstance(body, dict):
                raise ApiError(400, "MALFORMED_REQUEST", "The JSON body must be an object")
            merge_json(message, body, violations=violations, skip=bound)
            _derive_update_mask(message, body)
        bound.update(f.name for f in message.DESCRIPTOR.fields)
    elif route.body:
        if body is not None:
            merge_json(message, {route.body: body}, violations=violations)
        bound.add(route.body)
    if violations:
        raise ApiError.invalid(violations)
    if request.query:
        _apply_query(message, request.query, bound)
    _apply_preconditions(message, request)
    if route.options.session == "issue":
        _refresh_token_from_cookie(message, request)
    return message


def _set_path_field(
    message: Message, field_path: tuple[str, ...], raw: str, json_name: str
) -> None:
    target = message
    for name in field_path[:-1]:
        target = getattr(target, name)
    field = target.DESCRIPTOR.fields_by_name[field_path[-1]]
    setattr(target, field.name, parse_scalar(field, raw, json_name, from_query=True))


def _apply_query(message: Message, query: bytes, bound: set[str]) -> None:
    """Query parameters fill the request fields not bound by the path or the body."""
    violations: list[FieldViolation] = []
    lookup = fields_by_json_name(message.DESCRIPTOR)
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=False):
        field = lookup.get(key)
        if field is None or field.name in bound or field.message_type is not None:
            violations.append(FieldViolation(key, "unknown query parameter"))
            continue
        try:
            parsed = parse_scalar(field, value, key, from_query=True)
            if field.is_repeated:
                getattr(message, field.name).append(parsed)
            else:
                setattr(message, field.name, parsed)
        except TranscodeError as error:
            violations.extend(error.violations)
    if violations:
        raise ApiError.invalid(violations)


def _derive_update_mask(message: Message, data: dict[str, Any]) -> None:
    """PATCH semantics: without an explicit updateMask, the body's keys are the mask."""
    mask_field = message.DESCRIPTOR.fields_by_name.get("update_mask")
    if mask_field is None or mask_field.message_type is None:
        return
    if mask_field.message_type.full_name != "google.protobuf.FieldMask" or "updateMask" in data:
        return
    lookup = fields_by_json_name(message.DESCRIPTOR)
    paths = sorted(
        lookup[key].name
        for key in data
        if key in lookup and lookup[key].name not in {"update_mask", "version"}
    )
    target: Any = message
    target.update_mask.paths.extend(paths)


def entity_tag_version(value: bytes) -> int | None:
    """`"3"`, `W/"3"` or `3` -> 3."""
    text = value.decode("latin-1").strip().removeprefix("W/").strip('"')
    return int(text) if text.isdigit() else None


def _apply_preconditions(message: Message, request: Request) -> None:
    """If-Match is the resource version the client saw: it fills an unset `version` field."""
    raw = request.headers.get(b"if-match")
    field = message.DESCRIPTOR.fields_by_name.get("version")
    if raw is None or field is None or field.message_type is not None:
        return
    version = entity_tag_version(raw)
    if version is None:
        raise ApiError.invalid([FieldViolation("If-Match", 'must be an ETag such as "3"')])
    target: Any = message
    if not target.version:
        target.version = version


def _refresh_token_from_cookie(message: Message, request: Request) -> None:
    """Browser refresh: an empty refresh_token field is taken from the HttpOnly cookie."""
    if "refresh_token" not in message.DESCRIPTOR.fields_by_name:
        return
    target: Any = message
    cookies = request.credentials.cookies if request.credentials else {}
    if not target.refresh_token and cookies.get(REFRESH_COOKIE):
        target.refresh_token = cookies[REFRESH_COOKIE]


def etag_matches(header: bytes | None, etag: bytes) -> bool:
    """If-None-Match semantics (weak comparison, `*` matches anything)."""
    if not header:
        return False
    if header.strip() == b"*":
        return True
    candidates = {tag.strip().removeprefix(b"W/") for tag in header.split(b",")}
    return etag in candidates
