"""Single sign-on's two pages: off to the provider, and back (mozilla-django-oidc's views, wrapped).

Back from the provider, the person is signed in, verified with the provider's second factor when the ID
token says one was used; otherwise, when their account has its own second factor, they are handed to
the sign-in page's code step (the same step a password sign-in takes) before they are signed in.
Nothing the provider or a browser can send answers 500: a refused or odd answer (an unknown state, a
replayed code, a bad nonce or signature, the provider down) brings them back to the sign-in page with
a message.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from mozilla_django_oidc import views as oidc_views
from two_factor.utils import default_device
from two_factor.views.utils import LoginStorage

from contactcards.accounts import sso
from contactcards.accounts.views import SSO_SECOND_STEP, LoginView

log = logging.getLogger(__name__)


def _provider_unreachable(request: HttpRequest) -> HttpResponse:
    messages.error(request, _("%(provider)s cannot be reached right now. Try again in a few minutes.")
                   % {"provider": sso.provider_name()})
    return redirect("login")


@method_decorator([login_not_required, never_cache], name="dispatch")
class SSOStartView(oidc_views.OIDCAuthenticationRequestView):
    """Off to the provider, with a fresh state, nonce and PKCE verifier kept in the session."""

    def __init__(self, **kwargs) -> None:
        oidc_views.View.__init__(self, **kwargs)  # the provider is read per request, not at construction

    def get(self, request: HttpRequest) -> HttpResponse:
        if not sso.enabled():
            raise Http404("Single sign-on is not configured.")  # no-i18n
        try:
            self.OIDC_OP_AUTH_ENDPOINT = sso.provider().authorization_endpoint
        except sso.ProviderUnavailable as error:
            log.warning("Single sign-on: the provider is unavailable (%s)", error)
            return _provider_unreachable(request)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


@method_decorator([login_not_required, never_cache], name="dispatch")
class SSOCallbackView(oidc_views.OIDCAuthenticationCallbackView):
    """Back from the provider: the library checks state, nonce and the token; ``sso.SSOBackend`` finds the account."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not sso.enabled():
            raise Http404("Single sign-on is not configured.")  # no-i18n
        try:
            return super().get(request)
        except sso.ProviderUnavailable as error:
            log.warning("Single sign-on: the provider is unavailable (%s)", error)
            return _provider_unreachable(request)
        except (SuspiciousOperation, requests.RequestException, jwt.PyJWTError, ValueError, KeyError,
                TypeError) as error:
            # an unknown or replayed state, a bad nonce or signature, the token endpoint's refusal
            log.warning("Single sign-on refused: %s", type(error).__name__, exc_info=True)
            return self.login_failure()

    def login_failure(self) -> HttpResponse:
        if self.request.GET.get("error") == "access_denied":
            messages.info(self.request, _("Signing in with %(provider)s was cancelled.")
                          % {"provider": sso.provider_name()})
        else:
            messages.error(self.request, _("Signing in with %(provider)s did not work. Try again; if it keeps "
                                           "failing, ask your administrator whether your account may use this app.")
                           % {"provider": sso.provider_name()})
        return redirect("login")

    def login_success(self) -> HttpResponse:
        request, user = self.request, self.user
        if getattr(request, "sso_second_factor", False):
            user.otp_device = sso.provider_device(user)  # django-otp keeps it in the session at login
        elif default_device(user):
            return self._second_step(user)
        auth.login(request, user)
        return redirect(self.success_url)

    def _second_step(self, user) -> HttpResponse:
        """The account has its own second factor and the provider did not ask for one: the sign-in page's code
        step, as after a password, with this account waiting in the wizard's storage (not signed in yet)."""
        storage = LoginStorage(LoginView().get_prefix(self.request), self.request, None)
        storage.reset()
        storage.authenticated_user = user  # its pk and backend (sso.SSOBackend), as the password step stores them
        storage.data["authentication_time"] = int(time.time())
        storage.data[SSO_SECOND_STEP] = True
        storage.current_step = LoginView.TOKEN_STEP
        next_url = self.success_url
        return redirect(f"{reverse('login')}?{urlencode({'next': next_url})}")
