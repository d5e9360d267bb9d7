"""OpenAPI 3.1, generated from the same route table and descriptors the gateway serves.

Nothing here is hand-maintained: paths and verbs come from `google.api.http`, parameters and
bodies from the request messages (minus what the path binds), constraints from the
`(unpuzzle.common.v1.rules)` field options, the `data` schema from `response_body`, summaries
from the proto comments (the descriptor set `make proto` writes with source info), security from
the `public` route option, and the envelope, pagination and error shapes from the gateway's own
conventions (docs/adr/0006-json-mapping.md).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FieldDescriptor

from gateway.config import Deprecation
from gateway.exports import EXPORT_TEMPLATE, export_operation
from gateway.routes import Route
from gateway.transcoding import enum_words
from unpuzzle.common.v1 import options_pb2

_FD = FieldDescriptor
_DESCRIPTOR_SET = Path(__file__).resolve().parent.parent / "gen" / "descriptors.binpb"
_VARIABLE = re.compile(r"\{([a-z0-9_.]+)(?:=[^}]*)?\}")
_ERROR_STATUSES = {
    "400": "Invalid request (VALIDATION_FAILED, MALFORMED_REQUEST, INVALID_PAGE_TOKEN, ...)",
    "401": "Missing, invalid, expired or revoked credentials",
    "403": "Not allowed (PERMISSION_DENIED, NOT_ENROLLED, CSRF_TOKEN_MISMATCH, ...)",
    "404": "Not found",
    "409": "Conflict (ALREADY_EXISTS, VERSION_CONFLICT, IDEMPOTENCY_KEY_REUSED, ...)",
    "413": "Request body too large",
    "415": "The body is not JSON",
    "429": "Rate limited; see Retry-After",
    "500": "Internal error (no details are leaked)",
    "503": "A backend service is unavailable",
    "504": "A backend service did not answer in time",
}
_INTEGER_FORMATS = {
    _FD.TYPE_INT32: "int32",
    _FD.TYPE_SINT32: "int32",
    _FD.TYPE_SFIXED32: "int32",
    _FD.TYPE_UINT32: "int64",
    _FD.TYPE_FIXED32: "int64",
    _FD.TYPE_INT64: "int64",
    _FD.TYPE_SINT64: "int64",
    _FD.TYPE_SFIXED64: "int64",
    _FD.TYPE_UINT64: "int64",
    _FD.TYPE_FIXED64: "int64",
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?\d+(\.\d+)?s$"},
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": "Comma-separated lowerCamelCase paths",
    },
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.Int32Value": {"type": "integer", "format": "int32"},
    "google.protobuf.Int64Value": {"type": "integer", "format": "int64"},
    "google.protobuf.UInt32Value": {"type": "integer", "format": "int64"},
    "google.protobuf.DoubleValue": {"type": "number"},
    "google.protobuf.FloatValue": {"type": "number"},
}


@lru_cache(maxsize=1)
def _comments() -> dict[str, str]:
    """Leading comments of messages, fields, services and methods by full name."""
    if not _DESCRIPTOR_SET.exists():
        return {}
    files = descriptor_pb2.FileDescriptorSet.FromString(_DESCRIPTOR_SET.read_bytes())
    found: dict[str, str] = {}
    for file in files.file:
        if not file.package.startswith("unpuzzle."):
            continue
        locations = {
            tuple(loc.path): loc.leading_comments.strip() for loc in file.source_code_info.location
        }
        for m_index, message in enumerate(file.message_type):
            _message_comments(file.package, message, (4, m_index), locations, found)
        for s_index, service in enumerate(file.service):
            service_name = f"{file.package}.{service.name}"
            found[service_name] = locations.get((6, s_index), "")
            for r_index, method in enumerate(service.method):
                found[f"{service_name}.{method.name}"] = locations.get((6, s_index, 2, r_index), "")
    return found


def _message_comments(
    scope: str,
    message: descriptor_pb2.DescriptorProto,
    path: tuple[int, ...],
    locations: dict[tuple[int, ...], str],
    found: dict[str, str],
) -> None:
    name = f"{scope}.{message.name}"
    found[name] = locations.get(path, "")
    for f_index, field in enumerate(message.field):
        found[f"{name}.{field.name}"] = locations.get((*path, 2, f_index), "")
    for n_index, nested in enumerate(message.nested_type):
        _message_comments(name, nested, (*path, 3, n_index), locations, found)


def _schema_name(full_name: str) -> str:
    return full_name.removeprefix("unpuzzle.")


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema or "type" not in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    kinds = [schema["type"]] if isinstance(schema["type"], str) else list(schema["type"])
    if "null" in kinds:
        return schema
    return {**schema, "type": [*kinds, "null"]}


def _rules(field: Any) -> options_pb2.FieldRules | None:
    options = field.GetOptions()
    return (
        options.Extensions[options_pb2.rules] if options.HasExtension(options_pb2.rules) else None
    )


_FORMATS = {"email": "email", "uuid": "uuid", "uri": "uri"}
_NUMERIC_CPP_TYPES = frozenset(
    {
        _FD.CPPTYPE_INT32,
        _FD.CPPTYPE_INT64,
        _FD.CPPTYPE_UINT32,
        _FD.CPPTYPE_UINT64,
        _FD.CPPTYPE_DOUBLE,
        _FD.CPPTYPE_FLOAT,
    }
)


def _apply_rules(
    schema: dict[str, Any], rules: options_pb2.FieldRules | None, *, item: bool
) -> None:
    if rules is None:
        return
    if schema.get("type") == "string":
        if rules.min_len:
            schema["minLength"] = rules.min_len
        elif rules.required and not item:
            schema["minLength"] = 1
        if rules.max_len:
            schema["maxLength"] = rules.max_len
        if rules.pattern:
            # The services match the whole value (re.fullmatch); JSON Schema patterns search.
            schema["pattern"] = f"^(?:{rules.pattern})$"
        if rules.format in _FORMATS:
            schema["format"] = _FORMATS[rules.format]
        elif rules.format == "decimal":
            schema["pattern"] = r"^\d{1,9}(\.\d{1,2})?$"
        elif rules.format == "currency":
            schema["pattern"] = "^[A-Z]{3}$"
        elif rules.format == "slug":
            schema["pattern"] = "^[a-z0-9]+(?:-[a-z0-9]+)*$"
    if schema.get("type") in {"integer", "number"}:
        if rules.HasField("min"):
            schema["minimum"] = rules.min
        if rules.HasField("max"):
            schema["maximum"] = rules.max


def _required_in_request(field: Any, rules: options_pb2.FieldRules | None) -> bool:
    """Whether a request must carry the field: declared required, or its absence breaks a rule.

    An absent proto3 scalar is its zero value, which the service checks like any other: a
    `min: 1` rating may not be left out.
    """
    if rules is None or field.is_repeated:
        return bool(rules and (rules.required or rules.min_items))
    if rules.required:
        return True
    if field.has_presence or field.cpp_type == _FD.CPPTYPE_STRING:
        return False  # unset messages and empty strings are "not given", which rules allow
    if field.cpp_type in _NUMERIC_CPP_TYPES:
        return (rules.HasField("min") and rules.min > 0) or (
            rules.HasField("max") and rules.max < 0
        )
    return False


class _Schemas:
    """Collects component schemas for every message reachable from the routes."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def message(self, descriptor: Any, *, request: bool = False) -> dict[str, Any]:
        """A $ref to the message's component; request-side components are `<name>Input`."""
        full_name = descriptor.full_name
        if full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[full_name])
        name = _schema_name(full_name) + ("Input" if request else "")
        if name not in self.components:
            self.components[name] = {}  # placeholder first: recursive messages terminate
            self.components[name] = self.object_schema(descriptor, request=request)
        return {"$ref": f"#/components/schemas/{name}"}

    def object_schema(
        self, descriptor: Any, *, exclude: frozenset[str] = frozenset(), request: bool = False
    ) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in descriptor.fields:
            if field.name in exclude:
                continue
            rules = _rules(field)
            needed = request and _required_in_request(field, rules)
            properties[field.json_name] = self.field(field, request=request, needed=needed)
            if needed:
                required.append(field.json_name)
            elif not request:
                required.append(field.json_name)  # responses always carry every field
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        description = _comments().get(descriptor.full_name)
        if description:
            schema["description"] = description
        if required:
            schema["required"] = required
        if request:
            schema["additionalProperties"] = False
        return schema

    def field(self, field: Any, *, request: bool = False, needed: bool = False) -> dict[str, Any]:
        """A field's schema; `needed` request fields are not nullable."""
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            return {"type": "object", "additionalProperties": self.single(value, request=request)}
        schema = self.single(field, request=request, needed=needed)
        if field.is_repeated:
            rules = _rules(field)
            array: dict[str, Any] = {"type": "array", "items": schema}
            if rules is not None and rules.max_items:
                array["maxItems"] = rules.max_items
            min_items = max(rules.min_items, int(rules.required)) if rules is not None else 0
            if min_items:
                array["minItems"] = min_items
            result = array
        elif needed:
            result = schema
        elif field.message_type is not None or field.has_presence:
            result = _nullable(schema)  # unset messages and optional scalars are rendered as null
        else:
            result = schema
        description = _comments().get(field.full_name)
        if description:
            result = {**result, "description": description}
        return result

    def single(self, field: Any, *, request: bool = False, needed: bool = False) -> dict[str, Any]:
        """The schema of one value of the field (an item, for repeated fields)."""
        if field.message_type is not None:
            return self.message(field.message_type, request=request)
        if field.cpp_type == _FD.CPPTYPE_ENUM:
            if needed:
                return {"type": "string", "enum": list(enum_words(field.enum_type))}
            return {"type": ["string", "null"], "enum": [*enum_words(field.enum_type), None]}
        schema: dict[str, Any]
        if field.type == _FD.TYPE_BOOL:
            schema = {"type": "boolean"}
        elif field.type in _INTEGER_FORMATS:
            schema = {"type": "integer", "format": _INTEGER_FORMATS[field.type]}
        elif field.type in {_FD.TYPE_DOUBLE, _FD.TYPE_FLOAT}:
            schema = {"type": "number"}
        elif field.type == _FD.TYPE_BYTES:
            schema = {"type": "string", "contentEncoding": "base64"}
        else:
            schema = {"type": "string"}
        _apply_rules(schema, _rules(field), item=field.is_repeated)
        return schema


def _openapi_path(template: str) -> str:
    def rename(match: re.Match[str]) -> str:
        last = match.group(1).split(".")[-1]
        words = last.split("_")
        return "{" + words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:]) + "}"

    return _VARIABLE.sub(rename, template)


def _envelope(data_schema: dict[str, Any], meta_properties: dict[str, Any]) -> dict[str, Any]:
    meta = {
        "type": "object",
        "properties": {"requestId": {"type": "string"}, **meta_properties},
        "required": ["requestId", *meta_properties],
    }
    return {
        "type": "object",
        "properties": {
            "ok": {"const": True},
            "data": data_schema,
            "message": {"type": ["string", "null"]},
            "meta": meta,
            "timestamp": {"type": "string", "format": "date-time"},
        },
        "required": ["ok", "data", "message", "meta", "timestamp"],
    }


def _data_schema(route: Route, schemas: _Schemas) -> tuple[dict[str, Any], dict[str, Any]]:
    """(data schema, extra meta properties) following the gateway's rendering of the response."""
    response = route.method.output_type
    meta: dict[str, Any] = {}
    if route.data_field is None:
        if not response.fields:
            return {"type": "null"}, meta
        return schemas.message(response), meta
    if route.pagination_field is not None:
        meta["pagination"] = schemas.message(route.pagination_field.message_type)
    for extra in route.meta_fields:
        meta[extra.json_name] = schemas.field(extra)
    data = schemas.field(route.data_field)
    return data, meta


def _path_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Path segments are never null."""
    if isinstance(schema.get("type"), list):
        return {
            **schema,
            "type": schema["type"][0],
            "enum": [v for v in schema.get("enum", []) if v],
        }
    return schema


def _parameters(route: Route, schemas: _Schemas) -> list[dict[str, Any]]:
    request: Any = route.method.input_type
    parameters: list[dict[str, Any]] = []
    bound = {v.field_path[0] for v in route.variables}
    for variable in route.variables:
        target = request
        for name in variable.field_path[:-1]:
            target = target.fields_by_name[name].message_type
        field = target.fields_by_name[variable.field_path[-1]]
        parameters.append(
            {
                "name": variable.json_name,
                "in": "path",
                "required": True,
                "schema": _path_schema(schemas.single(field)),
                "description": _comments().get(field.full_name) or f"The {variable.json_name}",
            }
        )
    if route.body == "*":
        return parameters
    for field in request.fields:
        if field.name in bound or field.name == route.body or field.message_type is not None:
            continue
        schema = schemas.field(field)
        parameter: dict[str, Any] = {
            "name": field.json_name,
            "in": "query",
            "required": False,
            "schema": schema,
        }
        if field.is_repeated:
            parameter["explode"] = True
        description = _comments().get(field.full_name)
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _request_body(route: Route, schemas: _Schemas) -> dict[str, Any] | None:
    if not route.body:
        return None
    request = route.method.input_type
    if route.body == "*":
        bound = {v.field_path[0] for v in route.variables}
        schema = schemas.object_schema(request, exclude=frozenset(bound), request=True)
    else:
        schema = schemas.field(request.fields_by_name[route.body], request=True)
    return {
        "required": route.http_method not in {"DELETE"},
        "content": {"application/json": {"schema": schema}},
    }


def _operation_id(route: Route, seen: set[str]) -> str:
    candidate = route.method.name
    suffix = 2
    while candidate in seen:
        candidate = f"{route.method.name}{suffix}"
        suffix += 1
    seen.add(candidate)
    return candidate


def build_openapi(
    routes: list[Route], deprecations: dict[tuple[str, str], Deprecation]
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    seen_ids: set[str] = set()
    for route in sorted(routes, key=lambda r: (r.template, r.http_method)):
        data_schema, meta = _data_schema(route, schemas)
        method_name = f"{route.service.full_name}.{route.method.name}"
        description = _comments().get(method_name, "")
        operation: dict[str, Any] = {
            "operationId": _operation_id(route, seen_ids),
            "tags": [route.service.name],
            "summary": description.split("\n", 1)[0] if description else route.method.name,
            "description": description,
            "parameters": _parameters(route, schemas),
            "responses": {
                str(route.success_status): {
                    "description": "Success",
                    "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
                    "content": {
                        "application/json": {
                            "schema": data_schema
                            if route.options.bare
                            else _envelope(data_schema, meta)
                        }
                    },
                },
                **{
                    status: {"$ref": f"#/components/responses/Error{status}"}
                    for status in _ERROR_STATUSES
                },
            },
            "security": [{}, {"bearerAuth": []}, {"cookieAuth": []}]
            if route.options.public
            else [{"bearerAuth": []}, {"cookieAuth": []}],
            "x-grpc-method": route.grpc_path,
        }
        if route.http_method == "GET" and isinstance(data_schema, dict):
            operation["responses"]["304"] = {
                "description": "Not modified (If-None-Match matched the ETag)"
            }
        body = _request_body(route, schemas)
        if body is not None:
            operation["requestBody"] = body
        if route.http_method == "POST":
            operation["parameters"].append({"$ref": "#/components/parameters/IdempotencyKey"})
        if (route.http_method, route.template) in deprecations or route.options.deprecated:
            operation["deprecated"] = True
        paths.setdefault(_openapi_path(route.template), {})[route.http_method.lower()] = operation
    paths[EXPORT_TEMPLATE] = {"get": export_operation()}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Unpuzzle API",
            "version": "v1",
            "description": "REST API of the Unpuzzle learning platform, generated from its protos.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {**schemas.components, "ErrorEnvelope": _error_envelope()},
            "responses": {
                f"Error{status}": {
                    "description": text,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ErrorEnvelope"}
                        }
                    },
                }
                for status, text in _ERROR_STATUSES.items()
            },
            "headers": {
                "X-Request-Id": {"schema": {"type": "string"}, "description": "Echoed or generated"}
            },
            "parameters": {
                "IdempotencyKey": {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                    "description": "Replays the first answer for the same key and body within 24 h",
                }
            },
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "cookieAuth": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "unpuzzle_access",
                    "description": "Browser session; writes also need X-CSRF-Token = csrf_token",
                },
            },
        },
    }


def _error_envelope() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "ok": {"const": False},
            "error": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "code": {"type": "string", "pattern": "^[A-Z][A-Z_]*$"},
                    "details": {"type": "array", "items": {"type": "object"}},
                },
                "required": ["message", "code", "details"],
            },
            "meta": {
                "type": "object",
                "properties": {"requestId": {"type": "string"}},
                "required": ["requestId"],
            },
            "timestamp": {"type": "string", "format": "date-time"},
        },
        "required": ["ok", "error", "meta", "timestamp"],
    }
