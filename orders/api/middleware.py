"""The last line of "never an HTML error page under /api/": whatever answered outside DRF's error handler (a
Django 400 for a suspicious request, a CSRF 403, a 500 from a middleware) is turned into the API's error shape."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"
_TYPES = {400: "bad_request", 403: "permission_denied", 404: "not_found", 413: "too_large", 500: "server_error"}


class ApiJsonErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith(API_PREFIX)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            status = response.status_code
            type_ = _TYPES.get(status, "server_error" if status >= 500 else "error")
            detail = response.reason_phrase if status < 500 else "Something went wrong on our side; please try again."
            return JsonResponse({"type": type_, "detail": detail, "errors": {}}, status=status)
        return response
