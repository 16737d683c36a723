from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from contactcards.views import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("healthz/linq", health.healthz_linq, name="healthz_linq"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("contactcards.urls")),
]
