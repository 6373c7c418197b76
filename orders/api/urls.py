from __future__ import annotations

from django.urls import path, re_path

import orders.converters  # noqa: F401  (registers <ordernumber:…>)
from orders.api import docs, order_views, outbox_views, views
from orders.api.note_views import OrderNotesView

app_name = "api"
urlpatterns = [
    path("orders/", order_views.OrderListCreateView.as_view(), name="orders"),
    path("orders/import/cimcloud/", views.CimcloudImportView.as_view(), name="orders-import-cimcloud"),
    path("orders/<ordernumber:number>/", order_views.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<ordernumber:number>/submit/", order_views.OrderSubmitView.as_view(), name="order-submit"),
    path("orders/<ordernumber:number>/approve/", order_views.OrderApproveView.as_view(), name="order-approve"),
    path("orders/<ordernumber:number>/reject/", order_views.OrderRejectView.as_view(), name="order-reject"),
    path("orders/<ordernumber:number>/cancel/", order_views.OrderCancelView.as_view(), name="order-cancel"),
    path("orders/<ordernumber:number>/shipments/", order_views.OrderShipmentsView.as_view(), name="order-shipments"),
    path("tracking/", order_views.TrackingView.as_view(), name="tracking"),
    path("outbox/", outbox_views.OutboxListView.as_view(), name="outbox"),
    path("outbox/<int:message_id>/", outbox_views.OutboxDetailView.as_view(), name="outbox-detail"),
    path("outbox/<int:message_id>/retry/", outbox_views.OutboxRetryView.as_view(), name="outbox-retry"),
    path("outbox/<int:message_id>/mark-sent/", outbox_views.OutboxMarkSentView.as_view(), name="outbox-mark-sent"),
    path("schema/", docs.SchemaView.as_view(), name="schema"),
    path("docs/", docs.DocsView.as_view(url_name="api:schema"), name="docs"),
    path("orders/<ordernumber:number>/notes/", OrderNotesView.as_view(), name="order-notes"),
    # Keep last: anything else under /api/v1/ answers a JSON 404.
    re_path(r"^.*$", views.NotFoundView.as_view(), name="not-found"),
]
