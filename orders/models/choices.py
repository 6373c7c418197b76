"""The words for states and kinds, shared by models, pages, API and docs."""

from __future__ import annotations

from django.db import models


class OrderState(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_REVIEW = "awaiting_review", "Awaiting review"
    SUBMITTED = "submitted", "Submitted"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class FulfilmentState(models.TextChoices):
    UNSHIPPED = "unshipped", "Unshipped"
    PARTLY_SHIPPED = "partly_shipped", "Partly shipped"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"


class OrderSource(models.TextChoices):
    MANUAL = "manual", "Manual entry"
    API = "api", "API"
    IMPORT = "import", "CIMcloud import"
    DEMO = "demo", "Demo data"


class Destination(models.TextChoices):
    CIMCLOUD = "cimcloud", "CIMcloud"
    TULAERP = "tulaerp", "TulaERP"


class TulaOrderType(models.TextChoices):
    UNKNOWN = "Unknown"
    STANDARD = "Standard"
    TEMPLATE = "Template"
    REPLACEMENT = "Replacement"


class TulaOrderStatus(models.TextChoices):
    UNKNOWN = "Unknown"
    NEW = "New"
    RELEASED = "Released"
    PICKED = "Picked"
    PACKED = "Packed"
    SHIPPED = "Shipped"
    DELIVERED = "Delivered"
    CANCELLED = "Cancelled"
    ON_HOLD = "OnHold", "On hold"


class LinkSource(models.TextChoices):
    ERP = "erp", "From TulaERP"
    TEMPLATE = "template", "Built from carrier template"
    NONE = "none", "No link"


class Channel(models.TextChoices):
    PAGE = "page", "Page"
    API = "api", "API"
    WORKER = "worker", "Worker"
    COMMAND = "command", "Command"
    ADMIN = "admin", "Admin"


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    EDITED = "edited", "Edited"
    SUBMITTED = "submitted", "Submitted"
    SENT_TO_REVIEW = "sent_to_review", "Sent to review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    SHIPMENT_UPDATED = "shipment_updated", "Shipment updated"
    TRACKING_ADDED = "tracking_added", "Tracking added"
    DELIVERED = "delivered", "Delivered"
    SYNC_SENT = "sync_sent", "Sent to destination"
    SYNC_FAILED = "sync_failed", "Sync attempt failed"
    SYNC_ACTION = "sync_action", "Sync action by staff"
