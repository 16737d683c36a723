"""Django admin for staff: teams (token write-only), memberships and numbers (shown; they change through the
team settings page or the management commands, so the history has them), and a read-only audit log."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from contactcards.common.http import client_ip
from contactcards.models import AuditEntry, Membership, PhoneNumber, Team
from contactcards.teams import services as team_services


class TeamAdminForm(forms.ModelForm):
    """The token is write-only: the input is never filled in, and a blank one keeps the stored token."""

    token = forms.CharField(
        label=_("New Linq API token"), required=False, strip=True, max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Stored encrypted and never shown again. Leave blank to keep the current token."),
    )

    class Meta:
        model = Team
        fields = ["name", "slug"]


class ThroughServicesOnly:
    """Shown, never changed here: members and numbers change through the team's settings page or the
    management commands (createteam, addmember, addnumber, syncnumbers), which go through
    teams/services.py - the last-owner rule applies and the change is in the team's history."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class MembershipInline(ThroughServicesOnly, admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created"]
    readonly_fields = fields


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamAdminForm
    list_display = ["name", "slug", "token_hint"]
    search_fields = ["name", "slug"]
    readonly_fields = ["token_hint", "token_set_at"]
    fields = ["name", "slug", "token_hint", "token_set_at", "token"]
    inlines = [MembershipInline]

    @admin.display(description=_("Linq token"))
    def token_hint(self, team: Team) -> str:
        return f"set, ends in …{team.token_last4}" if team.has_token else "not set"

    def save_model(self, request: HttpRequest, obj: Team, form: TeamAdminForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        token = form.cleaned_data.get("token")
        if token:  # through the service, so the change is audited like one made in the settings page
            team_services.token_change(team=obj, user=request.user, token=token, client_ip=client_ip(request))

    @method_decorator(sensitive_post_parameters("token"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Error reports (and the admin log, which stores field names only) never carry the token."""
        return super().changeform_view(request, object_id, form_url, extra_context)


@admin.register(Membership)
class MembershipAdmin(ThroughServicesOnly, admin.ModelAdmin):
    list_display = ["user", "team", "role", "created"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "team__name", "team__slug"]
    autocomplete_fields = ["user", "team"]
    list_select_related = ["user", "team"]


@admin.register(PhoneNumber)
class PhoneNumberAdmin(ThroughServicesOnly, admin.ModelAdmin):
    list_display = ["e164", "label", "team"]
    list_filter = ["team"]
    search_fields = ["e164", "label"]
    list_select_related = ["team"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "team", "phone_number", "username", "action", "outcome", "http_status", "linq_code"]
    list_filter = ["action", "outcome"]
    search_fields = ["phone_number", "username", "trace_id"]
    list_select_related = ["team"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
