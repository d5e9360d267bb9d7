"""Routes are built from the google.api.http rules of the service descriptors."""

from __future__ import annotations

import unpuzzle
from gateway.routes import RouteTable, _compile_template, import_service_modules, routes_for_service


def _table() -> RouteTable:
    services = import_service_modules(unpuzzle)
    return RouteTable([r for s in services for r in routes_for_service(s)])


def test_course_routes_come_from_the_protos():
    table = _table()
    route, variables, _ = table.match("GET", "/api/v1/courses/intro-to-rust")
    assert route is not None
    assert route.grpc_path == "/unpuzzle.course.v1.CourseService/GetCourse"
    assert route.backend == "course"
    assert variables == {"v0": "intro-to-rust"}
    created, _, _ = table.match("POST", "/api/v1/courses")
    assert created is not None
    assert created.success_status == 201
    assert created.body == "*"
    assert created.data_field is not None
    assert created.data_field.name == "course"


def test_unknown_paths_and_methods_are_told_apart():
    table = _table()
    assert table.match("GET", "/api/v1/unknown") == (None, {}, False)
    route, _, path_known = table.match("DELETE", "/api/v1/courses")
    assert route is None
    assert path_known


def test_templates_bind_variables_and_custom_verbs():
    pattern, variables, literal = _compile_template("/api/v1/courses/{course_id}:publish")
    match = pattern.match("/api/v1/courses/abc:publish")
    assert match is not None
    assert match.group(variables[0].group) == "abc"
    assert variables[0].json_name == "courseId"
    assert literal == 4  # the custom verb counts as literal text
    assert pattern.match("/api/v1/courses/abc") is None
    nested, nested_vars, _ = _compile_template("/v1/{course.id}/x")
    assert nested_vars[0].field_path == ("course", "id")
    assert nested.match("/v1/7/x") is not None
