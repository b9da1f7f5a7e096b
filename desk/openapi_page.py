"""The API documentation page at ``/schema``: Swagger UI served by the desk itself.

Litestar's own Swagger plugin loads Swagger UI from a CDN and starts it with an inline script;
the first fails offline (and behind a firewall in China), the second the desk's
Content-Security-Policy. This page loads the vendored copy (``static/vendor/swagger-ui-dist-*``,
see ``static/VENDOR.md``) and starts it from ``static/openapi.js``.
"""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin

__all__ = ["SWAGGER_UI", "LocalSwaggerUI"]

SWAGGER_UI = "/static/vendor/swagger-ui-dist-5.35.0"


class LocalSwaggerUI(OpenAPIRenderPlugin):
    """Swagger UI from ``/static``: no CDN, no inline script or style."""

    def __init__(self, path: str = "/swagger") -> None:
        super().__init__(path=path, favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = escape(f"{openapi_schema['info']['title']} API")
        spec_url = escape(self.get_openapi_json_route(request))
        return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="stylesheet" href="{SWAGGER_UI}/swagger-ui.css">
  <script src="{SWAGGER_UI}/swagger-ui-bundle.js" defer></script>
  <script src="/static/openapi.js" defer></script>
</head>
<body>
  <div id="swagger-ui" data-spec-url="{spec_url}"></div>
</body>
</html>
""".encode()
