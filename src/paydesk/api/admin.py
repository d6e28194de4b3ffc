"""API tokens in Django admin: see who has one and when it was last used, and revoke it.
Tokens are made with `paydesk manage create_api_token` (the only place one is ever shown)."""

from __future__ import annotations

from django.contrib import admin, messages

from paydesk.api.models import ApiToken
from paydesk.api.tokens import revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "user__username")
    readonly_fields = ("user", "prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke_tokens",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens", permissions=("change",))
    def revoke_tokens(self, request, queryset):
        count = revoke(queryset)
        messages.success(request, f"Revoked {count} token(s).")
