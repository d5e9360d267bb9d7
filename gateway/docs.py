"""The API documentation page at /docs: Swagger UI from the swagger-ui-py package, no CDN."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from gateway.envelope import ApiError
from gateway.http import Response

_TYPES = {
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".png": b"image/png",
}
_PAGE = b"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Unpuzzle API v1</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/unpuzzle-init.js"></script>
</body>
</html>
"""
# Served as a file rather than inline so a strict script policy stays possible.
_INIT = b"""window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  withCredentials: true,
});
"""
_ALLOWED = {"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"}


def _static_dir() -> Path:
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise RuntimeError("swagger-ui-py is not installed")
    return Path(spec.origin).parent / "static"


class DocsAssets:
    """Serves the page and the few Swagger UI files it needs, cached in memory."""

    PREFIX = "/docs/assets/"

    def __init__(self) -> None:
        self._cache: dict[str, Response] = {}

    def page(self) -> Response:
        """The HTML page."""
        return Response(200, _PAGE, content_type=b"text/html; charset=utf-8")

    def asset(self, path: str) -> Response:
        """One static file; 404 for anything not on the list."""
        name = path.removeprefix(self.PREFIX)
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        if name == "unpuzzle-init.js":
            response = Response(200, _INIT, content_type=_TYPES[".js"])
        elif name in _ALLOWED:
            file = _static_dir() / name
            response = Response(
                200,
                file.read_bytes(),
                [(b"cache-control", b"public, max-age=86400")],
                content_type=_TYPES[file.suffix],
            )
        else:
            raise ApiError(404, "ROUTE_NOT_FOUND", f"No documentation asset {name}")
        self._cache[name] = response
        return response
