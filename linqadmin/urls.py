from django.contrib import admin
from django.urls import include, path

from contactcards.views import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("healthz/linq", health.healthz_linq, name="healthz_linq"),
    path("", include("contactcards.accounts.urls")),
    path("admin/", admin.site.urls),
    path("", include("contactcards.urls")),
]
