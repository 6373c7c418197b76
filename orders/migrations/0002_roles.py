"""The three staff roles as Django groups: viewer (read), operator (work orders), admin (everything)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW_MODELS = ["order", "orderline", "orderevent", "shipment", "shipmentitem", "package", "customer", "customershipto"]


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now so the groups can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(*codenames):
        return list(Permission.objects.filter(codename__in=codenames))

    view = [f"view_{m}" for m in VIEW_MODELS]
    viewer, _ = Group.objects.get_or_create(name="viewer")
    viewer.permissions.set(perms(*view))
    operator, _ = Group.objects.get_or_create(name="operator")
    operator.permissions.set(perms(*view, "operate_orders"))
    admin, _ = Group.objects.get_or_create(name="admin")
    admin.permissions.set(
        perms(
            *view,
            "operate_orders",
            "administer_dashboard",
            "add_customer",
            "change_customer",
            "add_customershipto",
            "change_customershipto",
            "delete_customershipto",
            "view_user",
            "add_user",
            "change_user",
            "view_group",
        )
    )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["viewer", "operator", "admin"]).delete()


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_roles, remove_roles)]
