from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path

from orders.api.views import NotFoundView
from orders.health import healthz


@login_not_required
def admin_login(request: HttpRequest, extra_context: object = None) -> HttpResponse:
    """One sign-in page for the site and the admin (so one place is guarded against guessing)."""
    return redirect_to_login(request.GET.get("next") or "/admin/")


admin.site.login = admin_login

# Sign-in, sign-out and changing one's own password. No password reset by email: admins set passwords.
accounts = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("accounts/", include(accounts)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("orders.api.urls")),
    re_path(r"^api/", NotFoundView.as_view()),  # another version or a typo: JSON, never the login page
    path("", include("orders.urls")),
]
