"""The route table, built at start-up from the `google.api.http` rules of the service protos.

Adding an RPC with an HTTP annotation adds a route here with no gateway code: the template
`/api/v1/courses/{course_id}:publish` becomes a regular expression binding `course_id`, the
`body` rule says which part of the request the JSON body fills, and the remaining fields come
from the query string.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType

from google.api import annotations_pb2, http_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import (
    Descriptor,
    FieldDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)
from google.protobuf.message import Message

from unpuzzle.common.v1 import options_pb2, pagination_pb2

_VARIABLE = re.compile(r"\{([a-z0-9_.]+)(?:=([^}]*))?\}")
_VERBS = ("get", "put", "post", "delete", "patch")
PAGINATION_TYPE = pagination_pb2.Pagination.DESCRIPTOR.full_name


@dataclass(frozen=True)
class PathVariable:
    """A `{field.path}` segment of a template, bound to a (possibly nested) request field."""

    group: str
    field_path: tuple[str, ...]
    json_name: str


@dataclass
class Route:
    """One HTTP binding of one RPC."""

    http_method: str
    template: str
    pattern: re.Pattern[str]
    variables: list[PathVariable]
    literal_segments: int
    body: str  # "", "*" or a top-level field name
    response_body: str
    service: ServiceDescriptor
    method: MethodDescriptor
    request_class: type[Message]
    response_class: type[Message]
    backend: str  # "user", "course" or "analytics"
    grpc_path: str
    options: options_pb2.RouteOptions
    success_status: int
    data_field: FieldDescriptor | None = None
    pagination_field: FieldDescriptor | None = None
    meta_fields: list[FieldDescriptor] = field(default_factory=list)

    @property
    def name(self) -> str:
        """Stable label for metrics and logs: the RPC name."""
        return self.method.name


def _compile_template(template: str) -> tuple[re.Pattern[str], list[PathVariable], int]:
    variables: list[PathVariable] = []
    parts: list[str] = []
    position = 0
    for index, match in enumerate(_VARIABLE.finditer(template)):
        parts.append(re.escape(template[position : match.start()]))
        group = f"v{index}"
        segments = match.group(2) or "*"
        # `*` is one path segment (no "/" and no ":", which introduces a custom verb).
        parts.append(f"(?P<{group}>[^/]+?)" if segments == "**" else f"(?P<{group}>[^/:]+)")
        field_path = tuple(match.group(1).split("."))
        json_name = "".join(
            word if i == 0 else word[:1].upper() + word[1:]
            for i, word in enumerate(field_path[-1].split("_"))
        )
        variables.append(PathVariable(group=group, field_path=field_path, json_name=json_name))
        position = match.end()
    parts.append(re.escape(template[position:]))
    literal = len([s for s in _VARIABLE.sub("", template).split("/") if s])
    return re.compile("^" + "".join(parts) + "$"), variables, literal


def _bindings(rule: http_pb2.HttpRule) -> Iterator[http_pb2.HttpRule]:
    yield rule
    yield from rule.additional_bindings


def _rule_method_and_path(rule: http_pb2.HttpRule) -> tuple[str, str]:
    kind = rule.WhichOneof("pattern")
    if kind in _VERBS:
        return kind.upper(), getattr(rule, kind)
    if kind == "custom":
        return rule.custom.kind.upper(), rule.custom.path
    raise ValueError(f"HTTP rule without a pattern: {rule}")


def _message_class(descriptor: Descriptor) -> type[Message]:
    return message_factory.GetMessageClass(descriptor)


def _success_status(method: MethodDescriptor, options: options_pb2.RouteOptions) -> int:
    if options.success_status:
        return options.success_status
    return 201 if method.name.startswith("Create") else 200


def routes_for_service(service: ServiceDescriptor) -> list[Route]:
    """Every HTTP binding of every method of one service."""
    backend = service.full_name.split(".")[1]
    routes = []
    for method in service.methods:
        method_options = method.GetOptions()
        if not method_options.HasExtension(annotations_pb2.http):
            continue
        options = method_options.Extensions[options_pb2.route]
        for rule in _bindings(method_options.Extensions[annotations_pb2.http]):
            http_method, template = _rule_method_and_path(rule)
            pattern, variables, literal = _compile_template(template)
            response = method.output_type
            data_field = (
                response.fields_by_name.get(rule.response_body) if rule.response_body else None
            )
            pagination = next(
                (
                    f
                    for f in response.fields
                    if f.message_type is not None and f.message_type.full_name == PAGINATION_TYPE
                ),
                None,
            )
            meta = [f for f in response.fields if f is not data_field and f is not pagination]
            routes.append(
                Route(
                    http_method=http_method,
                    template=template,
                    pattern=pattern,
                    variables=variables,
                    literal_segments=literal,
                    body=rule.body,
                    response_body=rule.response_body,
                    service=service,
                    method=method,
                    request_class=_message_class(method.input_type),
                    response_class=_message_class(method.output_type),
                    backend=backend,
                    grpc_path=f"/{service.full_name}/{method.name}",
                    options=options,
                    success_status=_success_status(method, options),
                    data_field=data_field,
                    pagination_field=pagination,
                    meta_fields=meta if data_field is not None else [],
                )
            )
    return routes


def import_service_modules(package: ModuleType) -> list[ServiceDescriptor]:
    """Import every generated `*_pb2` module under `package` and return the services found."""
    services = []
    for module_info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        if not module_info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(module_info.name)
        services.extend(module.DESCRIPTOR.services_by_name.values())
    return services


class RouteTable:
    """Match (method, path) to a route; literal paths by dictionary, templates by specificity."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self._static: dict[tuple[str, str], Route] = {}
        self._static_paths: set[str] = set()
        self._dynamic: list[Route] = []
        for route in routes:
            if route.variables:
                self._dynamic.append(route)
            else:
                self._static[(route.http_method, route.template)] = route
                self._static_paths.add(route.template)
        # More literal segments first: `/courses/{id}:publish` and `/me/teaching` win over
        # `/courses/{id}`-style catch-alls.
        self._dynamic.sort(key=lambda r: (-r.literal_segments, -len(r.template)))

    def match(self, http_method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, path variables, path exists for another method)."""
        route = self._static.get((http_method, path))
        if route is not None:
            return route, {}, True
        path_known = path in self._static_paths
        for candidate in self._dynamic:
            found = candidate.pattern.match(path)
            if found is None:
                continue
            if candidate.http_method == http_method:
                return candidate, found.groupdict(), True
            path_known = True
        return None, {}, path_known
