"""Authorization everywhere: every URL pattern of the project, walked as anonymous, a signed-in user without a
role, viewer, operator and admin, with every HTTP method, against a decision per route.

A route is found from the URL resolver (pages, htmx partials, API, admin, docs; regex routes included), its
converters filled from real objects. A route missing from DECISIONS (or the admin's ADMIN_MODELS) fails the
test: adding a route means deciding who may call it, with which methods.

Outcomes: "login" (redirect to the sign-in page, or 401 under /api/), "denied" (403), "refused" (403 or 405 for
a method the route does not take), "allowed" (anything else below 500: 2xx, a redirect elsewhere, a form or
domain error, a 404 for an object that is not there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone

from orders import services
from orders.models import (
    CatalogItem,
    Order,
    OrderEvent,
    OrderLine,
    OutboxMessage,
    Package,
    Shipment,
    ShipmentItem,
    WorkerHeartbeat,
)
from orders.services import Actor
from orders.services.catalog import catalog_item_save
from orders.services.notes import note_add
from orders.services.saved_views import saved_view_create
from orders.services.tokens import api_token_create

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SAFE = ("GET", "HEAD")
CBV_SAFE = ("GET", "HEAD", "OPTIONS")  # a class-based view answers OPTIONS itself
ALL = METHODS

# Who may do something, lowest first. NO_ONE: every identity of the walk is denied (superusers only, or nobody).
OPEN, SIGNED_IN, VIEWER, OPERATOR, ADMIN, NO_ONE = range(6)
IDENTITIES = {"anonymous": None, "nobody": SIGNED_IN, "viewer": VIEWER, "operator": OPERATOR, "admin": ADMIN}


@dataclass(frozen=True)
class Rule:
    """`methods`: method → the least role allowed. Any other method is refused. `not_staff`: what the admin site
    does for a signed-in user who is not staff (it sends them to sign in as someone who is)."""

    methods: dict[str, int]
    not_staff: str | None = None
    always: str | None = None  # the one outcome for every identity and method


def allow(level: int, methods: tuple[str, ...]) -> dict[str, int]:
    return dict.fromkeys(methods, level)


def reads(level: int = VIEWER, methods: tuple[str, ...] = SAFE) -> Rule:
    return Rule(allow(level, methods))


def writes(level: int, methods: tuple[str, ...] = ("POST",), *, read: tuple[str, ...] = (), by: int = VIEWER) -> Rule:
    return Rule({**allow(by, read), **allow(level, methods)})


# --- The decisions: one per route name (namespace:name), or per route text for an unnamed route ---------------
DECISIONS: dict[str, Rule] = {
    # Open: sign-in, health. Sign-out and one's own password need a session (any role, or none).
    "healthz": reads(OPEN, ("GET",)),
    "login": Rule(allow(OPEN, (*CBV_SAFE, "POST", "PUT"))),  # FormView treats PUT as POST
    "logout": writes(SIGNED_IN, ("POST", "OPTIONS")),
    "password_change": Rule(allow(SIGNED_IN, (*CBV_SAFE, "POST", "PUT"))),
    "password_change_done": reads(SIGNED_IN, CBV_SAFE),
    # Pages: viewers read, operators work orders, admins pause destinations.
    "orders:home": reads(),
    "orders:order-list": reads(methods=("GET",)),
    "orders:order-export": reads(methods=("GET",)),
    "orders:order-bulk": writes(OPERATOR),
    "orders:order-new": writes(OPERATOR, ("GET", "POST")),
    "orders:order-customer-search": writes(OPERATOR, ("GET",)),
    "orders:order-customer-pick": writes(OPERATOR),
    "orders:order-item-search": writes(OPERATOR, ("GET",)),
    "orders:order-line-row": writes(OPERATOR, ("GET",)),
    "orders:order-check": writes(OPERATOR, ("GET", "POST")),
    "orders:order-edit": writes(OPERATOR, ("GET", "POST")),
    "orders:order-fix": writes(OPERATOR, ("GET", "POST")),
    "orders:review-queue": reads(methods=("GET",)),
    "orders:review-bulk": writes(OPERATOR),
    "orders:order-detail": reads(methods=("GET",)),
    "orders:order-sync": reads(methods=("GET",)),
    "orders:order-submit": writes(OPERATOR),
    "orders:order-approve": writes(OPERATOR),
    "orders:order-reject": writes(OPERATOR),
    "orders:order-cancel": writes(OPERATOR),
    "orders:order-duplicate": writes(OPERATOR),
    "orders:tracking": reads(methods=("GET",)),
    "orders:outbox": reads(),
    "orders:outbox-bulk-retry": writes(OPERATOR, ("GET", "POST")),
    "orders:outbox-pause": writes(ADMIN, ("GET", "POST")),
    "orders:outbox-resume": writes(ADMIN),
    "orders:outbox-retry": writes(OPERATOR),
    "orders:outbox-mark-sent": writes(OPERATOR, ("GET", "POST")),
    "orders:outbox-cancel": writes(OPERATOR),
    "orders:customer-list": reads(),
    "orders:customer-detail": reads(),
    "orders:customer-edit": writes(OPERATOR, ("GET", "POST")),
    # Notes: operators write; authorship and the 15-minute window are the services' rules (tests/test_notes.py).
    "orders:order-note-add": writes(OPERATOR),
    "orders:order-note-edit": writes(OPERATOR),
    "orders:order-note-delete": writes(OPERATOR),
    # Saved views: anyone with a role saves their own; only the owner or an admin deletes (tests/test_saved_views.py).
    "orders:saved-view-create": writes(VIEWER),
    "orders:saved-view-delete": writes(VIEWER),
    # API (bearer token): viewers read, operators write; the schema and its docs need a role too.
    "api:orders": writes(OPERATOR, read=CBV_SAFE),
    "api:orders-import-cimcloud": writes(OPERATOR, read=("OPTIONS",)),
    "api:order-detail": writes(OPERATOR, ("PATCH",), read=CBV_SAFE),
    "api:order-submit": writes(OPERATOR, read=("OPTIONS",)),
    "api:order-approve": writes(OPERATOR, read=("OPTIONS",)),
    "api:order-reject": writes(OPERATOR, read=("OPTIONS",)),
    "api:order-cancel": writes(OPERATOR, read=("OPTIONS",)),
    "api:order-shipments": writes(OPERATOR, read=CBV_SAFE),
    "api:order-notes": writes(OPERATOR, read=CBV_SAFE),
    "api:tracking": reads(methods=CBV_SAFE),
    "api:outbox": reads(methods=CBV_SAFE),
    "api:outbox-detail": reads(methods=CBV_SAFE),
    "api:outbox-retry": writes(OPERATOR, read=("OPTIONS",)),
    "api:outbox-mark-sent": writes(OPERATOR, read=("OPTIONS",)),
    "api:schema": reads(),
    "api:docs": reads(),
    "api:not-found": Rule(allow(SIGNED_IN, ALL)),  # a JSON 404 for any signed-in caller
    "^api/": Rule(allow(SIGNED_IN, ALL)),  # outside /api/v1/: the same JSON 404
    # The admin site (staff only: the admin role). Its views take any method; only POST changes anything.
    "admin:index": Rule(allow(ADMIN, ALL), not_staff="login"),
    "admin:app_list": Rule(allow(ADMIN, ALL), not_staff="login"),
    "admin:login": Rule(allow(OPEN, ALL), always="login"),  # the one sign-in page is /accounts/login/
    # Django sends a non-staff user who signs out of the admin to /admin/, which sends them to sign in.
    "admin:logout": Rule(allow(ADMIN, ("POST", "OPTIONS")), not_staff="allowed"),
    "admin:password_change": Rule(allow(ADMIN, (*CBV_SAFE, "POST", "PUT")), not_staff="login"),
    "admin:password_change_done": Rule(allow(ADMIN, CBV_SAFE), not_staff="login"),
    "admin:jsi18n": Rule(allow(ADMIN, CBV_SAFE), not_staff="login"),
    # No model has autocomplete fields, so every search is refused; OPTIONS is the view's own answer.
    "admin:autocomplete": Rule({**allow(NO_ONE, SAFE), "OPTIONS": ADMIN}, not_staff="login"),
    "admin:view_on_site": Rule(allow(ADMIN, ALL), not_staff="login"),
    "admin/(?P<url>.*)$": Rule(allow(ADMIN, ALL), not_staff="login"),  # the admin's catch-all (a 404 for staff)
    "admin:auth_user_password_change": Rule(allow(ADMIN, ALL), not_staff="login"),
}


@dataclass(frozen=True)
class ModelPerms:
    """What the admin role may do with a model in the admin site (view, add, change, delete)."""

    view: int = ADMIN
    add: int = NO_ONE
    change: int = NO_ONE
    delete: int = NO_ONE


READ_ONLY = ModelPerms()
SUPERUSER_ONLY = ModelPerms(view=NO_ONE)
ADMIN_MODELS: dict[str, ModelPerms] = {
    "auth.user": ModelPerms(add=ADMIN, change=ADMIN),  # users and roles: admins only, never operators
    "auth.group": READ_ONLY,
    "orders.order": READ_ONLY,
    "orders.orderline": READ_ONLY,
    "orders.orderevent": READ_ONLY,
    "orders.auditentry": READ_ONLY,
    "orders.shipment": READ_ONLY,
    "orders.shipmentitem": READ_ONLY,
    "orders.package": READ_ONLY,
    "orders.customer": ModelPerms(add=ADMIN, change=ADMIN),
    "orders.catalogitem": ModelPerms(add=ADMIN, change=ADMIN),
    "axes.accessattempt": SUPERUSER_ONLY,  # admins unlock from the user list (an audited action)
    "axes.accesslog": SUPERUSER_ONLY,
    "axes.accessfailurelog": SUPERUSER_ONLY,
}


def admin_model_rule(perms: ModelPerms, view: str) -> Rule:
    """The admin's model views: non-POST methods render, POST acts."""
    read, post = {
        "changelist": (perms.view, perms.view),  # POST runs an action, each with its own permission
        "add": (perms.add, perms.add),
        "change": (perms.view, perms.change),
        "delete": (perms.delete, perms.delete),
        "history": (perms.view, perms.view),
        "redirect": (ADMIN, ADMIN),  # <id>/ → <id>/change/, which decides
    }[view]
    methods = {m: read for m in METHODS if m != "POST"} | {"POST": post}
    return Rule(methods, not_staff="login")


# --- Walking the resolver ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str  # namespace:name, or the route text when unnamed
    route: str  # the full route text, e.g. "orders/<ordernumber:number>/submit/"
    pattern: URLPattern = field(compare=False)
    namespace: str = ""

    @property
    def model_admin(self):
        return getattr(self.pattern.callback, "model_admin", None)


def all_routes() -> list[Route]:
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = ":".join(filter(None, [namespace, entry.namespace]))
                walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            else:
                text = prefix + str(entry.pattern)
                key = (f"{namespace}:{entry.name}" if namespace else entry.name) if entry.name else text
                found.append(Route(key, text, entry, namespace))

    walk(get_resolver().url_patterns, "", "")
    return found


ROUTES = all_routes()


def rule_for(route: Route) -> Rule | None:
    model_admin = route.model_admin
    if model_admin is not None:
        perms = ADMIN_MODELS.get(model_admin.model._meta.label_lower)
        if perms is None:
            return None
        if route.pattern.name:
            view = route.pattern.name.removeprefix(f"{model_admin.opts.app_label}_{model_admin.opts.model_name}_")
        else:
            view = "redirect"
        return admin_model_rule(perms, view)
    return DECISIONS.get(route.key)


def test_every_route_has_a_decision():
    missing = [f"{r.key} ({r.route})" for r in ROUTES if rule_for(r) is None]
    assert not missing, "Routes without an authorization decision (add them to DECISIONS/ADMIN_MODELS):\n" + "\n".join(
        missing
    )


def test_no_decision_for_a_route_that_is_gone():
    keys = {r.key for r in ROUTES}
    labels = {r.model_admin.model._meta.label_lower for r in ROUTES if r.model_admin is not None}
    assert not (set(DECISIONS) - keys) and not (set(ADMIN_MODELS) - labels)


def test_only_sign_in_and_health_are_open():
    open_routes = {r.key for r in ROUTES if OPEN in (rule_for(r) or Rule({})).methods.values()}
    assert open_routes == {"healthz", "login", "admin:login"}


# --- The walk -------------------------------------------------------------------------------------------------


@pytest.fixture
def world(db, make_user, make_order, operator, customer):
    """One of everything a route can point at, and one signed-in client per identity."""
    users = {
        "nobody": make_user("nobody"),
        "viewer": make_user("viewer1", "viewer"),
        "operator": make_user("operator1", "operator"),
        "admin": make_user("admin1", "admin", is_staff=True),
    }
    draft = make_order(operator)
    sent = make_order(operator)
    services.order_submit(actor=Actor(user=operator), order_id=sent.pk)
    message = OutboxMessage.objects.filter(order=sent).first()
    shipment = Shipment.objects.create(order=sent, tulaerp_id=1)
    ShipmentItem.objects.create(shipment=shipment, item_code="SKU-1", quantity=1)
    Package.objects.create(shipment=shipment, package_number=1)
    catalog_item_save(actor=Actor.system("test"), sku="SKU-1", description="Widget", default_price=Decimal("1.00"))
    WorkerHeartbeat.objects.create(
        worker="walk", hostname="h", pid=1, started_at=timezone.now(), beat_at=timezone.now()
    )  # /healthz is 200
    AccessAttempt.objects.create(username="x", ip_address="127.0.0.9", user_agent="t", failures_since_start=1)
    AccessLog.objects.create(username="x", ip_address="127.0.0.9", user_agent="t")
    AccessFailureLog.objects.create(username="x", ip_address="127.0.0.9", user_agent="t")
    note = note_add(actor=Actor(user=users["operator"]), order_id=draft.pk, text="Call before delivery")
    saved = saved_view_create(actor=Actor(user=users["admin"]), name="Mine", query="q=x", shared=False)
    values = {
        "number": draft.order_number,
        "note_id": str(note.pk),
        "view_id": str(saved.pk),
        "message_id": str(message.pk),
        "customer_id": str(customer.pk),
        "destination": "cimcloud",
        "app_label": "orders",
        "content_type_id": str(ContentType.objects.get_for_model(Order).pk),
        "object_id": str(draft.pk),
        "id": str(users["viewer"].pk),
        "url": "no-such-page/",
    }
    tokens = {name: api_token_create(actor=Actor.system("test"), user=user)[1] for name, user in users.items()}
    assert Group.objects.count() == 3 and OrderLine.objects.exists() and OrderEvent.objects.exists()
    assert CatalogItem.objects.exists()
    return users, values, tokens


def url_for(route: Route, values: dict[str, str]) -> str:
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m[1]], route.route)  # regex groups first
    text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m[1]], text)
    if route.model_admin is not None and "object_id" in route.route:
        # The admin's object routes: a real row of that model.
        obj = route.model_admin.model._default_manager.order_by("pk").first()
        assert obj is not None, f"the fixture has no {route.model_admin.model._meta.label} for {route.key}"
        text = route.route.replace("<path:object_id>", str(obj.pk))
    text = text.replace("^", "").replace("$", "").replace(".*", "no-such-route/")
    return "/" + text


def outcome(response, *, api: bool) -> str:
    status = response.status_code
    if api and status == 401:
        return "login"
    if status in (301, 302):
        target = urlsplit(response["Location"])
        # The admin's own sign-in URL forwards to /accounts/login/; a redirect without `next` is sign-out's own.
        if target.path in ("/accounts/login/", "/admin/login/") and "next=" in target.query:
            return "login"
    if status == 403:
        return "denied"
    if status == 405:
        return "refused"
    if status >= 500:
        return f"error {status}"
    return "allowed"


def expected(rule: Rule, identity: str, method: str, *, staff: bool) -> set[str]:
    if rule.always:
        return {rule.always}
    level = IDENTITIES[identity]
    if rule.not_staff and level is not None and not staff:
        return {rule.not_staff}  # the admin site turns a non-staff user away before it looks at the method
    least = rule.methods.get(method)
    if least is None:  # a method the route does not take
        return {"login"} if level is None and OPEN not in rule.methods.values() else {"denied", "refused"}
    if least == OPEN:
        return {"allowed"}
    if level is None:
        return {"login"}
    return {"allowed"} if level >= least else {"denied"}


@pytest.mark.parametrize("route", ROUTES, ids=[r.key for r in ROUTES])
def test_route_answers_each_identity_as_decided(route, world):
    users, values, tokens = world
    rule = rule_for(route)
    assert rule is not None, f"{route.key}: no decision"
    url = url_for(route, values)
    reached = resolve(urlsplit(url).path).route.replace("^", "")
    assert reached == route.route.replace("^", ""), f"{url} does not reach {route.route}"
    api = route.route.lstrip("^").startswith("api/")
    wrong = []
    for identity in IDENTITIES:
        user = users.get(identity)
        client = Client()
        headers = {"Authorization": f"Bearer {tokens[identity]}"} if api and user else {}
        for method in METHODS:
            if user is not None and not api and (method == METHODS[0] or "logout" in route.key):
                client.force_login(user)
            response = client.generic(method, url, headers=headers)
            got = outcome(response, api=api)
            want = expected(rule, identity, method, staff=bool(user and user.is_staff))
            if got not in want:
                wrong.append(f"{identity:9} {method:7} {url}: {got} ({response.status_code}), expected {want}")
    assert not wrong, "\n".join(wrong)


def test_admin_login_sends_everyone_to_the_one_sign_in_page(client, viewer):
    response = client.get("/admin/login/?next=/admin/orders/order/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/admin/orders/order/"
    client.force_login(viewer)
    page = client.get("/admin/", follow=True)
    assert page.redirect_chain[-1][0].startswith("/accounts/login/")
    assert "Your account cannot open that page" in page.text


def test_a_user_without_a_role_is_refused_the_pages(client, make_user):
    client.force_login(make_user("nobody"))
    response = client.get("/")
    assert response.status_code == 403 and "Not allowed" in response.text
