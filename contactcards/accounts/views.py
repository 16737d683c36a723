"""Account pages, sign-in, invitations, and the team's people/security settings that go with them."""

from __future__ import annotations

from urllib.parse import urlencode

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_static.models import StaticToken
from two_factor import views as two_factor_views
from two_factor.utils import default_device

from contactcards.accounts import services, sso
from contactcards.accounts.forms import (
    EmailChangeForm,
    InvitedSignUpForm,
    InviteForm,
    NameForm,
    SetupCodeForm,
    SignInForm,
    TwoFactorPolicyForm,
)
from contactcards.accounts.models import AccountSecurity, Invitation
from contactcards.accounts.selectors import has_second_factor, sign_in_activity
from contactcards.accounts.sessions import keep_current, sign_out_everywhere
from contactcards.api.selectors import tokens_of_user
from contactcards.common import csrfslot
from contactcards.common.access import get_team_for_user, require_owner
from contactcards.common.http import client_ip
from contactcards.models import Membership

SSO_SECOND_STEP = "sso_second_step"  # the wizard's storage holds an account single sign-on handed over (sso_views)


class LoginView(two_factor_views.LoginView):
    """Username and password, then (for accounts that have one) the code from the authenticator app.

    With single sign-on configured the first step also offers "Sign in with <provider>"; an account
    signed in there whose ID token shows no second factor comes back to the code step here
    (``sso_views.SSOCallbackView._second_step``).
    """

    template_name = "two_factor/core/login.html"
    redirect_authenticated_user = True
    # A GET that starts a sign-in stores nothing in the session (no session row per look at the page)
    storage_name = "contactcards.accounts.wizard.QuietLoginStorage"
    form_list = ((two_factor_views.LoginView.AUTH_STEP, SignInForm), *two_factor_views.LoginView.form_list[1:])
    code_labels = {"token": gettext_lazy("Code from your authenticator app"), "backup": gettext_lazy("Recovery code")}

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        """The first step for someone who is not signing in yet: the same page for everyone (but the
        CSRF token), so it is rendered once per language and process and reused with the request's
        own token. Anything else - a ``?next=``, messages to show once, a sign-in under way (the
        session holds the wizard's state) - is rendered as the library does."""
        if self.storage.data.get(SSO_SECOND_STEP) and self.steps.current == self.TOKEN_STEP and not self.expired:
            return self.render(self.get_form())  # the code step after single sign-on (not a new sign-in)
        if not self.storage.detached or request.GET or get_messages(request):
            return super().get(request, *args, **kwargs)
        key = f"sign-in:{get_language()}:{sso.enabled()}:{settings.SSO_ONLY}"
        html = caches["pages"].get(key)
        if html is None:
            self._csrf_slot = True
            response = super().get(request, *args, **kwargs)
            html = response.rendered_content
            caches["pages"].set(key, html, timeout=None)
        page = csrfslot.with_token(html, request)
        return HttpResponse(page)

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form, **kwargs)
        if getattr(self, "_csrf_slot", False):
            context["csrf_token"] = csrfslot.SLOT  # the cached page's slot (get above)
        if sso.enabled():
            next_url = self.get_redirect_url()
            context["sso"] = {"name": sso.provider_name(), "only": settings.SSO_ONLY,
                              "url": reverse("oidc_authentication_init")
                              + (f"?{urlencode({'next': next_url})}" if next_url else "")}
        return context

    def get_form(self, step=None, **kwargs):
        form = super().get_form(step=step, **kwargs)
        label = self.code_labels.get(step or self.steps.current)
        if label and "otp_token" in form.fields:
            form.fields["otp_token"].label = label
            form.fields["otp_token"].widget.attrs["autocomplete"] = "one-time-code"
        return form


def _already_set_up(request: HttpRequest) -> HttpResponse:
    messages.info(request, _("Two-factor sign-in is already on for this account. To use another device, turn it "
                             "off first (that asks for a code from the current one), then set it up again."))
    return redirect("account")


class SetupView(two_factor_views.SetupView):
    """django-two-factor-auth's setup wizard, refused on every step once the account has a second factor.

    The library checks for a device on GET only: a session signed in with the password before the
    account got its device could POST the wizard, add a device of its own, be verified by it and
    read the recovery codes. Here every method of every step is refused, and the last step checks
    again under a lock on the account's row, so two setups at once cannot both add a device.
    Adding the device ends the account's other sessions (``sessions.second_factor_added``); this
    one, verified with the new device, is stamped again and continues.
    """

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated and has_second_factor(request.user):
            return _already_set_up(request)
        return super().dispatch(request, *args, **kwargs)

    def get_form_list(self):
        form_list = super().get_form_list()
        if "generator" in form_list:
            form_list["generator"] = SetupCodeForm  # the code box as at sign-in
        return form_list

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form, **kwargs)
        key = context.get("secret_key") or ""
        context["secret_key_groups"] = [key[i:i + 4] for i in range(0, len(key), 4)]  # typed in fours
        return context

    def done(self, form_list, **kwargs) -> HttpResponse:
        with transaction.atomic():
            AccountSecurity.objects.select_for_update().get_or_create(user=self.request.user)
            if has_second_factor(self.request.user):
                return _already_set_up(self.request)
            response = super().done(form_list, **kwargs)
        keep_current(self.request)
        return response


class QRGeneratorView(two_factor_views.QRGeneratorView):
    """The setup wizard's QR code: like the wizard, nothing once the account has a second factor."""

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated and has_second_factor(request.user):
            raise Http404  # as the library does when there is no key to show
        return super().dispatch(request, *args, **kwargs)


def _passwords_off(request: HttpRequest) -> HttpResponse:
    """SSO_ONLY: passwords are not this app's to set or reset (a break-glass superuser uses ``manage.py
    changepassword``)."""
    return render(request, "accounts/sso_only.html", {"provider": sso.provider_name()}, status=404)


class SSOOnlyPasswordsOff:
    """With SSO_ONLY, the password pages answer that passwords are managed by the provider (superusers may
    still change their own: the break-glass account)."""

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if settings.SSO_ONLY and not request.user.is_superuser:
            return _passwords_off(request)
        return super().dispatch(request, *args, **kwargs)


class PasswordChangeView(SSOOnlyPasswordsOff, auth_views.PasswordChangeView):
    pass


@method_decorator(login_not_required, name="dispatch")  # as Django's own (the mixin's dispatch hides its mark)
class PasswordResetView(SSOOnlyPasswordsOff, auth_views.PasswordResetView):
    """Django's reset form; the page only counts the request and queues the email (``services``).

    The answer is the same, and takes the same work, whether or not an account uses the address;
    past the limits (per address, per client IP) it says how long to wait instead.
    """

    def form_valid(self, form):
        refused = services.password_reset_request(email=form.cleaned_data["email"], client_ip=client_ip(self.request))
        if refused is not None:
            form.add_error(None, ngettext(
                "Too many reset links were asked for recently, for this address or from your network. Any link "
                "already emailed still works; otherwise try again in %(minutes)d minute.",
                "Too many reset links were asked for recently, for this address or from your network. Any link "
                "already emailed still works; otherwise try again in %(minutes)d minutes.",
                refused.minutes) % {"minutes": refused.minutes})
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        return redirect(self.get_success_url())


@method_decorator(login_not_required, name="dispatch")
class PasswordResetConfirmView(SSOOnlyPasswordsOff, auth_views.PasswordResetConfirmView):
    """Django's reset; a new password also lifts a sign-in pause on the account (django-axes)."""

    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        axes_reset(username=form.user.get_username())
        return response


def account(request: HttpRequest, *, name_form: NameForm | None = None, email_form: EmailChangeForm | None = None,
            status: int = 200) -> HttpResponse:
    user = request.user
    device = default_device(user)
    context = {
        "device": device,
        "verified": user.is_verified(),
        "recovery_codes_left": StaticToken.objects.filter(device__user=user, device__confirmed=True).count(),
        "activity": sign_in_activity(user),
        "required_by": [m.team for m in Membership.objects.filter(user=user, team__require_two_factor=True)
                        .select_related("team")],
        "api_tokens": tokens_of_user(user_id=user.pk),  # revocable here (contactcards/api)
        "name_form": name_form or NameForm(initial={"first_name": user.first_name, "last_name": user.last_name}),
        "email_form": email_form or EmailChangeForm(user=user),
    }
    return render(request, "accounts/account.html", context, status=status)


@require_POST
def account_name(request: HttpRequest) -> HttpResponse:
    form = NameForm(request.POST)
    if not form.is_valid():
        return account(request, name_form=form, status=400)
    services.profile_update(user=request.user, **form.cleaned_data)
    messages.success(request, _("Your name is saved."))
    return redirect(reverse("account") + "#profile")


@require_POST
def account_email(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST, user=request.user)
    if not form.is_valid():
        return account(request, email_form=form, status=400)
    refused = services.email_change_request(user=request.user, email=form.cleaned_data["email"])
    if refused:
        form.add_error("email", ngettext("Too many links asked for: try again in %(n)d minute.",
                                         "Too many links asked for: try again in %(n)d minutes.",
                                         refused.minutes) % {"n": refused.minutes})
        return account(request, email_form=form, status=429)
    messages.success(request, _("We sent a link to %(email)s. Your address changes when you open it, signed in "
                                "as now.") % {"email": form.cleaned_data["email"]})
    return redirect(reverse("account") + "#profile")


_EMAIL_LINK_REFUSED = {
    "expired": gettext_lazy("This link has expired. Ask for a new one on your account page."),
    "invalid": gettext_lazy("This link is not whole: copy all of it from the email, or ask for a new one."),
    "other_account": gettext_lazy("This link is for another account. Sign out and sign in as the account that "
                                  "asked for it."),
    "used": gettext_lazy("This link was used already, or your address changed since it was sent."),
    "taken": gettext_lazy("Another account uses this address now, so yours cannot."),
}


@never_cache
def email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: a page with a button (a mail scanner that opens links changes nothing); the POST confirms."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    try:
        email = services.email_change_pending(token)
        if request.method == "POST":
            services.email_change_confirm(user=request.user, token=token)
    except services.EmailLinkRefused as refused:
        return render(request, "accounts/email_confirm.html", {"problem": _EMAIL_LINK_REFUSED[refused.reason]},
                      status=409 if refused.reason in ("used", "taken") else 400)
    if request.method == "GET":
        return render(request, "accounts/email_confirm.html", {"email": email, "token": token})
    messages.success(request, _("Your email address is now %(email)s.") % {"email": email})
    return redirect(reverse("account") + "#profile")


@require_POST
def sign_out_everywhere_view(request: HttpRequest) -> HttpResponse:
    sign_out_everywhere(request)
    messages.success(request, _("You are signed out on every device and browser, this one included."))
    return redirect("login")


def two_factor_required(request: HttpRequest) -> HttpResponse:
    teams = [m.team for m in Membership.objects.filter(user=request.user, team__require_two_factor=True)
             .select_related("team")]
    return render(request, "accounts/two_factor_required.html", {"teams": teams}, status=403)


# -- Invitations ---------------------------------------------------------------------------------

def team_invite(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    require_owner(membership)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    form = InviteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        sent = services.invitation_create(
            team=team, invited_by=request.user, email=form.cleaned_data["email"], role=form.cleaned_data["role"],
            client_ip=client_ip(request))
        if sent.emailed:
            messages.success(request, _("Invitation sent to %(email)s. The link works once and expires on %(date)s.")
                             % {"email": sent.invitation.email, "date": f"{sent.invitation.expires_at:%Y-%m-%d}"})
            return redirect(f"{reverse('team_settings', args=[team.slug])}#members")
        return _invite_page(request, team, membership, form=InviteForm(), unsent=sent)
    return _invite_page(request, team, membership, form=form, status=400 if form.is_bound else 200)


def _invite_page(request: HttpRequest, team, membership, *, form: InviteForm, status: int = 200,
                 unsent: services.InvitationSent | None = None) -> HttpResponse:
    context = {"team": team, "membership": membership, "form": form, "unsent": unsent,
               "invitation_days": settings.INVITATION_MAX_AGE_DAYS}
    return render(request, "accounts/invite.html", context, status=status)


def team_invitation_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    require_owner(membership)
    invitation = Invitation.objects.filter(team=team, pk=pk).first()
    if invitation is None:
        raise Http404("No such invitation.")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    services.invitation_revoke(invitation=invitation)
    messages.success(request, _("The invitation to %(email)s was withdrawn; its link no longer works.")
                     % {"email": invitation.email})
    return redirect(f"{reverse('team_settings', args=[team.slug])}#members")


def team_invitation_resend(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    require_owner(membership)
    invitation = Invitation.objects.filter(team=team, pk=pk, accepted_at=None, revoked_at=None,
                                           expires_at__gt=timezone.now()).select_related("team").first()
    if invitation is None:
        raise Http404("No such invitation.")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    sent = services.invitation_resend(invitation=invitation, actor=request.user, client_ip=client_ip(request))
    if sent.emailed:
        messages.success(request, _("The invitation was sent again to %(email)s. Its earlier link keeps working.")
                         % {"email": invitation.email})
    else:
        messages.error(request, _("The invitation to %(email)s could not be emailed. Copy its link and send it "
                                  "another way.") % {"email": invitation.email})
    return redirect(f"{reverse('team_settings', args=[team.slug])}#invitations")


@login_not_required
@never_cache
@sensitive_post_parameters("password1", "password2")
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Signed in: join with one click. Not signed in: create an account, or sign in and come back.

    Signed in with an account that does not use the invited address: refused, with what to do
    instead (sign in with the account that does, or ask for an invitation to this one's address).
    """
    try:
        invitation = services.invitation_from_token(token)
    except services.InvitationError as error:
        return render(request, "accounts/invitation_invalid.html", {"error": str(error)}, status=410)
    context = {"invitation": invitation, "team": None}
    if request.user.is_authenticated:
        if not services.invitation_is_for(invitation, request.user):
            return render(request, "accounts/invitation.html", {**context, "someone_else": True}, status=403)
        if request.method == "POST":
            return _joined(request, invitation, request.user)
        return render(request, "accounts/invitation.html", context)
    form = InvitedSignUpForm(request.POST if request.method == "POST" else None, invitation=invitation)
    if request.method == "POST" and form.is_valid():
        try:
            user, _created = services.invitation_sign_up(
                invitation=invitation, username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"], client_ip=client_ip(request))
        except services.InvitationError as error:
            return render(request, "accounts/invitation_invalid.html", {"error": str(error)}, status=410)
        login(request, user, backend="contactcards.accounts.backends.ModelBackend")
        messages.success(request, _("Welcome, %(user)s: you joined %(team)s as %(role)s.") % {
            "user": user.get_username(), "team": invitation.team.name, "role": invitation.get_role_display().lower()})
        return redirect("dashboard", slug=invitation.team.slug)
    return render(request, "accounts/invitation.html", {**context, "form": form}, status=400 if form.is_bound else 200)


def _joined(request: HttpRequest, invitation: Invitation, user) -> HttpResponse:
    try:
        membership = services.invitation_accept(invitation=invitation, user=user, client_ip=client_ip(request))
    except services.InvitationError as error:
        return render(request, "accounts/invitation_invalid.html", {"error": str(error)}, status=410)
    if membership.role != invitation.role:
        messages.info(request, _("You were already a member of %(team)s; your role stays %(role)s.") % {
            "team": invitation.team.name, "role": membership.get_role_display().lower()})
    else:
        messages.success(request, _("You joined %(team)s as %(role)s.") % {
            "team": invitation.team.name, "role": membership.get_role_display().lower()})
    return redirect("dashboard", slug=invitation.team.slug)


# -- The team's two-factor requirement -------------------------------------------------------------

def team_two_factor(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    require_owner(membership)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = TwoFactorPolicyForm(request.POST)
    required = form.is_valid() and form.cleaned_data["require_two_factor"]
    if required and not request.user.is_verified():
        messages.error(request, _("Set up two-factor sign-in for your own account (and sign in with it) before "
                                "you require it for the team."))
        return redirect(f"{reverse('team_settings', args=[team.slug])}#security")
    if services.team_two_factor_set(team=team, user=request.user, required=required, client_ip=client_ip(request)):
        messages.success(request, _("Members now need two-factor sign-in before they see this team.") if required
                         else _("Two-factor sign-in is no longer required for this team."))
    return redirect(f"{reverse('team_settings', args=[team.slug])}#security")
