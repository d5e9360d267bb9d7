"""The generated OpenAPI document: valid 3.1, every route documented, shapes as served."""

from __future__ import annotations

from openapi_spec_validator import validate

import unpuzzle
from gateway.config import DEPRECATED_BINDINGS
from gateway.openapi import build_openapi
from gateway.routes import RouteTable, import_service_modules, routes_for_service


def _document() -> tuple[dict, RouteTable]:
    table = RouteTable([r for s in import_service_modules(unpuzzle) for r in routes_for_service(s)])
    return build_openapi(table.routes, DEPRECATED_BINDINGS), table


def test_document_is_valid_openapi_3_1():
    document, _ = _document()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_type_lists_name_each_type_once():
    document, _ = _document()
    repeated = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            kinds = node.get("type")
            if isinstance(kinds, list) and len(kinds) != len(set(kinds)):
                repeated.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(document, "")
    assert repeated == []


def test_every_route_is_documented_with_a_description():
    document, table = _document()
    missing = []
    for route in table.routes:
        path = route.template.replace("{course_id_or_slug}", "{courseIdOrSlug}")
        operations = [
            op
            for template, item in document["paths"].items()
            for verb, op in item.items()
            if verb == route.http_method.lower() and op["x-grpc-method"] == route.grpc_path
        ]
        if not operations or not all(op["description"] for op in operations):
            missing.append(f"{route.http_method} {path} ({route.method.name})")
    assert missing == [], "routes without documentation (add a comment on the RPC): " + ", ".join(
        missing
    )


def test_operations_describe_envelope_security_and_errors():
    document, _ = _document()
    create = document["paths"]["/api/v1/courses"]["post"]
    success = create["responses"]["201"]["content"]["application/json"]["schema"]
    assert success["properties"]["data"]["anyOf"][0]["$ref"].endswith("course.v1.Course")
    assert set(success["required"]) == {"ok", "data", "message", "meta", "timestamp"}
    assert create["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body["additionalProperties"] is False
    assert body["properties"]["title"]["maxLength"] == 200
    assert "title" in body["required"]
    for status in ("400", "401", "403", "404", "409", "429", "500", "503"):
        assert status in create["responses"]
    get = document["paths"]["/api/v1/courses/{courseIdOrSlug}"]["get"]
    assert {"bearerAuth": []} in get["security"]
    assert {} in get["security"]  # public: anonymous allowed
    assert get["parameters"][0]["in"] == "path"
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["cookieAuth"]["in"] == "cookie"


def test_alias_route_is_documented_as_deprecated_and_jwks_as_bare():
    document, _ = _document()
    alias = document["paths"]["/api/v1/catalog/courses/{courseIdOrSlug}"]["get"]
    assert alias["deprecated"] is True
    assert "deprecated" not in document["paths"]["/api/v1/courses/{courseIdOrSlug}"]["get"]
    jwks = document["paths"]["/.well-known/jwks.json"]["get"]["responses"]["200"]
    schema = jwks["content"]["application/json"]["schema"]
    assert "ok" not in schema.get("properties", {})


async def test_openapi_is_served(gateway):
    response = await gateway.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Unpuzzle API"


async def test_docs_page_and_assets_are_served_locally(gateway):
    page = await gateway.get("/docs")
    assert page.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "http" not in page.text.split("<body>")[1].replace("/docs/assets", "")  # no CDN
    bundle = await gateway.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert (await gateway.get("/docs/assets/../../etc/passwd")).status_code == 404
