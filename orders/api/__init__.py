"""The JSON API under /api/v1/: bearer tokens, role permissions, one error shape, Decimal-exact JSON."""
