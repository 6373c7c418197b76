from django.contrib import admin
from django.urls import include, path

from orders.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("orders.api.urls")),
    path("", include("orders.urls")),
]
