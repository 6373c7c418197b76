"""The baseline of bench/api_throughput.py: the site's WSGI app plus one hand-written view that answers the first
page of the order list as a plain `JsonResponse` (no DRF, no serializers), with the same rows, the same fields and
the same bearer-token and role checks as `GET /api/v1/orders/`. Only the benchmark loads this module (gunicorn
`bench._api_baseline:application`); the product never routes to it.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ordersite.settings")

import django  # noqa: E402
from django.conf import settings  # noqa: E402

django.setup()
settings.ROOT_URLCONF = "bench._api_baseline"  # this module's urlpatterns: the site's plus the baseline

from django.contrib.auth.decorators import login_not_required  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402

from orders.models import Order, OutboxMessage  # noqa: E402
from orders.roles import role_of  # noqa: E402
from orders.services.tokens import api_token_authenticate  # noqa: E402
from ordersite.urls import urlpatterns as site_urlpatterns  # noqa: E402

FIELDS = (
    "id", "order_number", "created_at", "state", "source", "fulfilment_state", "customer_no", "customer_name",
    "ship_to_city", "ship_to_state", "line_count", "total", "send_to_cimcloud", "send_to_tulaerp",
)  # fmt: skip
PAGE = 50


@login_not_required
def orders_json(request: HttpRequest) -> JsonResponse:
    # What every endpoint here must do by hand too: the bearer token, then the role (viewers and up read).
    header = request.headers.get("Authorization", "")
    token = api_token_authenticate(header[7:]) if header.startswith("Bearer ") else None
    if token is None:
        return JsonResponse({"detail": "unauthorized"}, status=401)
    if role_of(token.user) is None:
        return JsonResponse({"detail": "forbidden"}, status=403)
    rows = list(Order.objects.order_by("-created_at", "-id").values(*FIELDS)[:PAGE])
    latest: dict[tuple[int, str], dict] = {}
    messages = (
        OutboxMessage.objects.filter(order_id__in=[row["id"] for row in rows])
        .order_by("order_id", "destination", "-created_at", "-id")
        .values("id", "order_id", "destination", "state", "attempts", "attention_reason")
    )
    for message in messages:
        latest.setdefault((message["order_id"], message["destination"]), message)
    results = []
    for row in rows:
        destinations = [
            d for d, on in (("cimcloud", row["send_to_cimcloud"]), ("tulaerp", row["send_to_tulaerp"])) if on
        ]
        sync = []
        for destination in destinations:
            message = latest.get((row["id"], destination))
            sync.append(
                {
                    "destination": destination,
                    "state": message["state"] if message else "none",
                    "message_id": message["id"] if message else None,
                    "attempts": message["attempts"] if message else 0,
                    "attention_reason": message["attention_reason"] if message else "",
                }
            )
        results.append(
            {
                **{k: v for k, v in row.items() if k not in ("id", "send_to_cimcloud", "send_to_tulaerp")},
                "url": f"/api/v1/orders/{row['order_number']}/",
                "total": float(row["total"]),  # JsonResponse's encoder writes Decimal as a string otherwise
                "destinations": destinations,
                "sync": sync,
            }
        )
    return JsonResponse({"results": results})


urlpatterns = [path("bench/orders-json/", orders_json), *site_urlpatterns]
application = get_wsgi_application()
