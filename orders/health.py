"""Liveness for load balancers and alerts: is the database reachable, is some worker beating?"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from orders.models import WorkerHeartbeat


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when healthy, 503 with the reasons otherwise. Says nothing about orders."""
    try:
        cutoff = timezone.now() - timedelta(seconds=settings.HEALTHZ_MAX_HEARTBEAT_AGE_SECONDS)
        beating = WorkerHeartbeat.objects.filter(beat_at__gte=cutoff).exists()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "reasons": ["database unreachable"]}, status=503)
    if not beating:
        age = int(settings.HEALTHZ_MAX_HEARTBEAT_AGE_SECONDS)
        return JsonResponse({"status": "unavailable", "reasons": [f"no outbox worker beat in {age} s"]}, status=503)
    return JsonResponse({"status": "ok"})
