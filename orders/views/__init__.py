"""Thin htmx views, one module per screen. Each module exposes `urls`, gathered by orders/urls.py."""
