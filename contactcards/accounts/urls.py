from django.contrib.auth import views as auth_views
from django.urls import include, path
from two_factor import views as tf

from contactcards.accounts import sso_views, views

# django-two-factor-auth's own pages, in its "two_factor" namespace (its templates link to these
# names); "profile" is our account page. Setup and its QR code are ours: refused once a device exists.
two_factor_patterns = ([
    path("setup/", views.SetupView.as_view(), name="setup"),
    path("qrcode/", views.QRGeneratorView.as_view(), name="qr"),
    path("setup/complete/", tf.SetupCompleteView.as_view(), name="setup_complete"),
    path("recovery-codes/", tf.BackupTokensView.as_view(), name="backup_tokens"),
    path("disable/", tf.DisableView.as_view(), name="disable"),
    path("", views.account, name="profile"),
], "two_factor")

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    # Single sign-on (OpenID Connect): off to the provider and back; 404 when it is not configured
    path("accounts/sso/start/", sso_views.SSOStartView.as_view(), name="oidc_authentication_init"),
    path("accounts/sso/callback/", sso_views.SSOCallbackView.as_view(), name="oidc_authentication_callback"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", views.account, name="account"),
    path("accounts/name/", views.account_name, name="account_name"),
    path("accounts/email/", views.account_email, name="account_email"),
    path("accounts/email/confirm/<str:token>/", views.email_confirm, name="email_confirm"),
    path("accounts/sign-out-everywhere/", views.sign_out_everywhere_view, name="sign_out_everywhere"),
    path("accounts/two-factor/required/", views.two_factor_required, name="two_factor_required"),
    path("accounts/two-factor/", include(two_factor_patterns)),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/changed/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("accounts/password/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/password/reset/done/", auth_views.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("t/<slug:slug>/settings/invitations/", views.team_invite, name="team_invite"),
    path("t/<slug:slug>/settings/invitations/<int:pk>/withdraw/", views.team_invitation_revoke,
         name="team_invitation_revoke"),
    path("t/<slug:slug>/settings/invitations/<int:pk>/resend/", views.team_invitation_resend,
         name="team_invitation_resend"),
    path("t/<slug:slug>/settings/two-factor/", views.team_two_factor, name="team_two_factor"),
]
