from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.decorators.cache import cache_page
from django.views.i18n import JavaScriptCatalog

from contactcards.common import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("healthz/linq", health.healthz_linq, name="healthz_linq"),
    path("", include("contactcards.ops.urls")),  # /metrics (token or allowed networks only)
    path("", include("contactcards.accounts.urls")),
    path("admin/", admin.site.urls),
    # The words of static/js/*.js in the person's language (Django's gettext() for JavaScript, domain
    # djangojs); cached per language for a day: the catalogue changes only with a deploy.
    path("jsi18n/", login_not_required(cache_page(86400, key_prefix="jsi18n")(JavaScriptCatalog.as_view())),
         name="javascript-catalog"),
    path("", include("contactcards.urls")),
]
