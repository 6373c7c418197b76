from django.contrib import admin
from django.urls import include, path, re_path

from orders.api.views import NotFoundView
from orders.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("orders.api.urls")),
    re_path(r"^api/", NotFoundView.as_view()),  # another version or a typo: JSON, never the login page
    path("", include("orders.urls")),
]
