"""(screen module: its views and `urls`)."""

from __future__ import annotations

urls: list = []
