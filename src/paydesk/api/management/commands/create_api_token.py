"""`paydesk manage create_api_token USER [--name NAME]`: a new API token, printed once."""

from __future__ import annotations

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from paydesk.api.tokens import create_token
from paydesk.orders.models import OPERATE_ORDERS


class Command(BaseCommand):
    help = "Make an API token for a user and print it (only its digest is stored: it is shown once)."

    def add_arguments(self, parser):
        parser.add_argument("user", help="the user name the token acts as")
        parser.add_argument("--name", default="", help="what the token is for, e.g. 'warehouse sync'")

    def handle(self, *args, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: options["user"]})
        except User.DoesNotExist:
            raise CommandError(f"There is no user {options['user']!r}.") from None
        if not user.is_active:
            raise CommandError(f"User {options['user']!r} is inactive: a token for it would not work.")
        row, token = create_token(user, name=options["name"])
        # The token alone on stdout, so scripts can capture it; the note goes to stderr.
        self.stdout.write(token)
        can = [p for p in OPERATE_ORDERS if user.has_perm(p)]
        print(
            f"API token {row.prefix}… for {user.get_username()} ({', '.join(can) or 'no API permission'}). "
            "Store it now: Paydesk keeps only its digest and cannot show it again.",
            file=sys.stderr,
        )
