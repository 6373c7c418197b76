from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from orders.views.auth import mark_signed_in

        user_logged_in.connect(mark_signed_in, dispatch_uid="orders.mark_signed_in")
