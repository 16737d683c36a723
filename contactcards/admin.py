from django.contrib import admin

from .models import AuditEntry, Membership, PhoneNumber, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "token_hint"]
    search_fields = ["name", "slug"]
    readonly_fields = ["token_hint", "token_set_at"]
    inlines = [MembershipInline]

    @admin.display(description="Linq token")
    def token_hint(self, team):
        return f"set, ends in …{team.token_last4}" if team.has_token else "not set"


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    list_display = ["e164", "label", "team"]
    list_filter = ["team"]
    search_fields = ["e164", "label"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "team", "phone_number", "username", "action", "outcome", "http_status", "linq_code"]
    list_filter = ["action", "outcome"]
    search_fields = ["phone_number", "username", "trace_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
