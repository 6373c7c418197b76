"""The OpenAPI document and its Swagger UI (assets from drf-spectacular-sidecar). Both need a login or a token;
their errors are JSON like every other error under /api/."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from orders.api.parsers import DecimalJSONRenderer


class _JsonErrors:
    # OPTIONS would render DRF's metadata through the HTML renderer, which has no template for it.
    http_method_names = ["get", "head"]

    def handle_exception(self, exc: Exception) -> Any:
        response = super().handle_exception(exc)  # type: ignore[misc]
        # The YAML and HTML renderers would write the error body in their own formats.
        self.request.accepted_renderer = DecimalJSONRenderer()  # type: ignore[attr-defined]
        self.request.accepted_media_type = "application/json"  # type: ignore[attr-defined]
        return response

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        return login_not_required(super().as_view(**initkwargs))  # type: ignore[misc]


class SchemaView(_JsonErrors, SpectacularAPIView):
    pass


class DocsView(_JsonErrors, SpectacularSwaggerSplitView):
    template_name = "orders/api_docs.html"  # no inline style: the page passes the Content Security Policy
