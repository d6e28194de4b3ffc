"""`paydesk manage list_api_tokens [USER]`: the API tokens, without their secrets."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from paydesk.api.models import ApiToken


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


class Command(BaseCommand):
    help = "List API tokens: prefix, user, name, created, last used, revoked."

    def add_arguments(self, parser):
        parser.add_argument("user", nargs="?", help="only this user's tokens")

    def handle(self, *args, **options):
        rows = ApiToken.objects.select_related("user")
        if options["user"]:
            rows = rows.filter(user__username=options["user"])
        for row in rows:
            self.stdout.write(
                f"{row.prefix}…  {row.user.get_username():<20} {row.name or '-':<24} "
                f"created {_when(row.created_at)}  used {_when(row.last_used_at)}  "
                f"{'REVOKED ' + _when(row.revoked_at) if row.revoked_at else 'active'}"
            )
