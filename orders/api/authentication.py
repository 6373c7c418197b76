"""`Authorization: Bearer <token>` for the API; the token checks live in orders.services.tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from orders.models import ApiToken
from orders.services.tokens import api_token_authenticate

KEYWORD = "Bearer"


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None  # not ours: let session authentication try
        if len(parts) != 2:
            raise AuthenticationFailed("Malformed Authorization header: send 'Authorization: Bearer <token>'.")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid token.") from None
        token = api_token_authenticate(raw)
        if token is None:
            # One message for unknown, revoked and inactive: the caller learns nothing about which it was.
            raise AuthenticationFailed("Invalid or revoked token.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Having a header is what makes DRF answer 401 rather than 403 to a request without credentials.
        return KEYWORD
