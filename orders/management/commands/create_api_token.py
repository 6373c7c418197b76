"""Create an API token for a user. The token is printed once, alone on the last line of stdout, so a script can
take it with `| tail -n 1`; everything else goes to stderr."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from orders.errors import DomainError
from orders.roles import role_of
from orders.services.context import Actor
from orders.services.tokens import api_token_create


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (it is shown only once)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for, e.g. 'CIMcloud webhook'")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user_model = get_user_model()
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"There is no user {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive; activate them first.")
        try:
            token, raw = api_token_create(actor=Actor.system("create_api_token"), user=user, name=name)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if role_of(user) is None:
            self.stderr.write(f"Note: {username} has no role, so the API will refuse every request (403).")
        self.stderr.write(
            f"Token {token.prefix}… for {username} created; it is shown once. Use it as: Authorization: Bearer <token>"
        )
        self.stdout.write(raw)
