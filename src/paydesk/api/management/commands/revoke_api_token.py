"""`paydesk manage revoke_api_token PREFIX|TOKEN` or `--user USER`: stop tokens working."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from paydesk.api.models import ApiToken
from paydesk.api.tokens import digest_of, revoke


class Command(BaseCommand):
    help = "Revoke an API token (by the token, or the prefix list_api_tokens shows), or all of a user's."

    def add_arguments(self, parser):
        parser.add_argument("token", nargs="?", help="the token, or its prefix as list_api_tokens shows it")
        parser.add_argument("--user", help="revoke every token of this user instead")

    def handle(self, *args, **options):
        token, user = options["token"], options["user"]
        if bool(token) == bool(user):
            raise CommandError("Name one token (or its prefix), or --user USER.")
        if user:
            rows = ApiToken.objects.filter(user__username=user)
        else:
            rows = ApiToken.objects.filter(digest=digest_of(token))
            if not rows.exists():
                rows = ApiToken.objects.filter(prefix=token.rstrip("…"))
            if rows.count() > 1:
                raise CommandError(f"{token!r} names {rows.count()} tokens; give the whole token.")
        if not rows.exists():
            raise CommandError("No such token.")
        revoked = revoke(rows)
        self.stdout.write(f"Revoked {revoked} token(s).")
