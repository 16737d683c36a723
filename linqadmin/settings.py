"""Settings for linqadmin, read from the environment (django-environ).

Defaults give a safe production posture (DEBUG off, secure cookies, real Linq);
``bin/run`` turns on the embedded demo defaults explicitly.
"""

import os
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file beside manage.py (bin/run writes one for development) fills in what the environment
# does not set. LINQADMIN_ENV_FILE names another file, or none when empty: the test settings empty
# it before this line runs, so no test (nor any process a test starts) reads a developer's .env.
ENV_FILE = os.environ.get("LINQADMIN_ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    environ.Env.read_env(ENV_FILE)

DEBUG = env.bool("DEBUG", default=False)

# Missing production secrets are not raised here (that would be a traceback for every command,
# `generatekey` included): linqadmin/checks.py reports them as one clear system-check error, and
# linqadmin/wsgi.py refuses to serve. See README "Production" and "Development settings".
CONFIG_PROBLEMS: list[str] = []

_DEV_SECRET = "django-insecure-dev-only-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    CONFIG_PROBLEMS.append("Set SECRET_KEY (or DEBUG=1 for local development).")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Fernet keys that encrypt each team's Linq token at rest. The first key
# encrypts; all keys decrypt, so a new key can be put first and the old one
# kept until `manage.py rotatetokens` has re-encrypted every token.
LINQADMIN_ENCRYPTION_KEYS = env.list("LINQADMIN_ENCRYPTION_KEYS", default=[])
if not LINQADMIN_ENCRYPTION_KEYS and not DEBUG:
    CONFIG_PROBLEMS.append("Set LINQADMIN_ENCRYPTION_KEYS (generate one with `python manage.py generatekey`).")

# -- Linq -------------------------------------------------------------------
LINQ_API_BASE_URL = env.str("LINQ_API_BASE_URL", default="https://api.linqapp.com/api/partner")
LINQ_CONNECT_TIMEOUT = env.float("LINQ_CONNECT_TIMEOUT", default=5.0)
LINQ_READ_TIMEOUT = env.float("LINQ_READ_TIMEOUT", default=20.0)
# Seconds one web request may spend on Linq calls and on waiting for a number's lock, all together:
# well under gunicorn's --timeout (60 s in the README), so a slow Linq ends a save as "outcome
# unknown" instead of getting the worker killed. A pending write older than LINQ_ATTEMPT_STALE_AFTER
# can no longer be in flight, and is reconciled (re-read) the next time the number is opened.
LINQ_REQUEST_BUDGET = env.float("LINQ_REQUEST_BUDGET", default=30.0)
LINQ_ATTEMPT_STALE_AFTER = env.float("LINQ_ATTEMPT_STALE_AFTER", default=LINQ_REQUEST_BUDGET + 30.0)
# A write whose answer did not say (a timeout, a dropped connection, an error page without Linq's code)
# may still be applied by Linq after we stopped waiting (linq-api.md). For this many seconds after the
# attempt can no longer be in flight here (LINQ_ATTEMPT_STALE_AFTER), a read that does not show the
# change says nothing; only a read begun later settles it as "did not take effect" (docs/audit-history.md).
LINQ_UNKNOWN_RECHECK_AFTER = env.float("LINQ_UNKNOWN_RECHECK_AFTER", default=60.0)
# /healthz/linq: how long one probe may take, and how long its answer is reused.
HEALTHZ_LINQ_TIMEOUT = env.float("HEALTHZ_LINQ_TIMEOUT", default=3.0)
HEALTHZ_LINQ_CACHE_SECONDS = env.int("HEALTHZ_LINQ_CACHE_SECONDS", default=30)
# Where people and Linq reach this app (https://admin.example.com). Links in emails (password
# resets, invitations) start with it, never with the Host a request came with; webhook
# subscriptions point at PUBLIC_URL + the team's receiver path. Empty: no webhooks (reconcile keeps
# the history true) and no links in emails (`check --deploy` warns); with DEBUG, emailed links
# use http://127.0.0.1:8000 (contactcards/accounts/services.py public_url).
PUBLIC_URL = env.str("PUBLIC_URL", default="")
# How often the periodic reconcile reads every team's cards (seconds; 0 turns it off).
RECONCILE_INTERVAL_SECONDS = env.int("RECONCILE_INTERVAL_SECONDS", default=900)

# -- Apps -------------------------------------------------------------------
INSTALLED_APPS = [
    "contactcards.accounts.apps.AdminConfig",  # Django's admin, with two-factor required in production
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "contactcards",  # before django_tasks_db: its db_worker command is ours (management/commands/db_worker.py)
    "django_tasks",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "two_factor",
    "axes",
    "contactcards.accounts",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]
if DEBUG:  # demo data, sandbox faults, history seeding: never installed in production (devtools/demo)
    INSTALLED_APPS.append("devtools.demo")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "linqadmin.middleware.RefuseNulMiddleware",  # NUL in the path: 404, in a header: 400 (PostgreSQL cannot hold one)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # gettext-ready; English is the one language shipped
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "contactcards.accounts.middleware.SessionSecurityMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "contactcards.common.timezones.TimeZoneMiddleware",  # each person's own time zone
    "django.contrib.messages.middleware.MessageMiddleware",
    "contactcards.accounts.middleware.TeamTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "linqadmin.middleware.ContentSecurityPolicyMiddleware",
    "linqadmin.middleware.LinqTimeBudgetMiddleware",
    # Last, as django-axes asks: it turns a lockout into the page that explains it.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "linqadmin.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "contactcards.common.context_processors.teams",
            ],
        },
    },
]

WSGI_APPLICATION = "linqadmin.wsgi.application"

# -- Database ---------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int(
    "CONN_MAX_AGE", default=DATABASES["default"].get("CONN_MAX_AGE") or 0
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        # timeout: how long a connection waits for SQLite's one write lock (seconds)
        {"transaction_mode": "IMMEDIATE", "timeout": env.float("SQLITE_BUSY_TIMEOUT", default=20.0),
         "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )

# Two database roles in production (README "Production"): DATABASE_URL is the runtime role the app
# serves with (it may only read and append to the audit history); MIGRATE_DATABASE_URL is the owner
# role that `manage.py migrate` and `manage.py pruneaudit` switch to. Unset: one role does everything.
MIGRATE_DATABASE = env.db_url("MIGRATE_DATABASE_URL") if env.str("MIGRATE_DATABASE_URL", default="") else None

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# "fragments": rendered HTML keyed by a digest of everything it shows (the dashboard's rows), so
# a cached fragment can never be stale, only unused. Per process on purpose: a deploy that
# changes a template restarts the processes and so starts with an empty cache.
# "boards": computed dashboard pages (about 15 kB each) keyed by the team's board version, which
# database triggers replace on every change the page shows (teams/dashboard.py); a small bound
# keeps each process's memory in check (at most about 15 MB).
# "pages": the dashboard's rendered page bodies (about 40 kB each) under the board's key plus
# everything else they show (teams/views.py dashboard_body); at most about 10 MB per process. Also the
# sign-in page's first step, one entry per language (accounts/views.py LoginView.get).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "fragments",
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    },
    "boards": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "boards",
        "OPTIONS": {"MAX_ENTRIES": 1_000},
    },
    "pages": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "pages",
        "OPTIONS": {"MAX_ENTRIES": 250},
    },
}

# -- Task queue (contactcards/common/taskqueue.py) ----------------------------------
# django-tasks with its database backend: tasks are rows in this database, run by
# `python manage.py db_worker` processes (bin/run starts one; see README "Production").
# Two queues, each with workers of its own: rollouts and reconcile (slow: Linq, photo links) on the
# work queue, webhook processing on its own, so that no rollout can delay it.
LINQADMIN_TASKS_QUEUE = env.str("LINQADMIN_TASKS_QUEUE", default="default")
LINQADMIN_WEBHOOKS_QUEUE = env.str("LINQADMIN_WEBHOOKS_QUEUE", default="webhooks")
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend",
                     "QUEUES": sorted({"default", LINQADMIN_TASKS_QUEUE, LINQADMIN_WEBHOOKS_QUEUE})}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# -- Sign-in: throttling (django-axes) -----------------------------------------
# Axes checks every authenticate() call (our sign-in page, and the admin's, which redirects to it).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "contactcards.accounts.backends.ModelBackend",
    # Single sign-on (OpenID Connect): answers only the provider's callback, and only when SSO is configured.
    "contactcards.accounts.sso.SSOBackend",
]
# Failures are counted per (username, client address) pair: guessing alice's password from the
# office locks out only "alice from the office" - bob at the same address still signs in, and
# alice still signs in from home, so nobody can lock a colleague out everywhere by typing their
# name. Spreading guesses over many addresses stays slow: AXES_FAILURE_LIMIT per address per
# cool-off, against passwords the validators below keep long, and two-factor on top.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
# The lock ends by itself; failed guesses during it do not extend it (the attacker cannot keep a
# person locked out forever by guessing on).
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "contactcards.accounts.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # every failure kept (readable on the account page), not only the count
AXES_CLIENT_IP_CALLABLE = "contactcards.common.http.client_ip"  # the same address as the history (TRUSTED_PROXY_HOPS)
# The two-factor sign-in form posts "auth-username"/"auth-password": never store those in clear.
AXES_SENSITIVE_PARAMETERS = ["username", "auth-username", "auth-password", "token-otp_token", "backup-otp_token"]
AXES_VERBOSE = False

# -- Single sign-on: OpenID Connect (mozilla-django-oidc; contactcards/accounts/sso.py, README) ----------
# Off unless a client id and the provider (its issuer, for discovery, or its endpoints) are set.
OIDC_RP_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
# The issuer (https://login.example.com/realms/acme): its endpoints are read once per process from
# ISSUER/.well-known/openid-configuration at the first sign-in; any endpoint set below wins over discovery.
OIDC_ISSUER = env.str("OIDC_ISSUER", default="").strip().rstrip("/")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_USERINFO_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_JWKS_ENDPOINT", default="")
OIDC_RP_SCOPES = env.str("OIDC_SCOPES", default="openid email profile")
OIDC_RP_SIGN_ALGO = env.str("OIDC_SIGN_ALGO", default="RS256")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="single sign-on")  # "Sign in with <name>"
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", default=10.0)
OIDC_USE_NONCE = True
OIDC_USE_PKCE = env.bool("OIDC_USE_PKCE", default=True)
OIDC_STORE_ID_TOKEN = False
OIDC_STORE_ACCESS_TOKEN = False
# The claim that lists a person's groups, and which group makes whom what in which team
# ("acme-owners=acme:owner,acme-editors=acme:editor"; contactcards/lib/groupmap.py).
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
OIDC_GROUP_MAP = env.str("OIDC_GROUP_MAP", default="")
# A team's two-factor requirement is met by the provider when the ID token's `amr` holds one of these
# (RFC 8176), or its `acr` one of OIDC_MFA_ACR; otherwise the person's own second factor is asked for.
OIDC_MFA_AMR = [v.strip() for v in env.list("OIDC_MFA_AMR", default=["mfa", "otp", "hwk", "swk", "sc", "sms", "tel"])
                if v.strip()]
OIDC_MFA_ACR = [v.strip() for v in env.list("OIDC_MFA_ACR", default=[]) if v.strip()]
# First sign-in of someone unknown: create their account (else only accounts already linked may sign in).
OIDC_CREATE_USERS = env.bool("OIDC_CREATE_USERS", default=True)
# Link a first sign-in to an existing account with the same address, when the provider says it is verified.
OIDC_LINK_VERIFIED_EMAIL = env.bool("OIDC_LINK_VERIFIED_EMAIL", default=False)
# Single sign-on is the only way in: no password sign-in, change or reset, except for superusers (break-glass).
SSO_ONLY = env.bool("SSO_ONLY", default=False)

# All of this is checked at start (contactcards/accounts/checks.py: a system check; wsgi refuses to serve).

# -- Two-factor (django-otp + django-two-factor-auth) ----------------------------
TWO_FACTOR_LOGIN_TIMEOUT = 600
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="linqadmin")
# The admin site accepts only two-factor-verified staff; on by default outside DEBUG.
ADMIN_REQUIRE_TWO_FACTOR = env.bool("ADMIN_REQUIRE_TWO_FACTOR", default=not DEBUG)
# Staff never see a person's authenticator secret or its QR code in the admin (django-otp's config
# and QR pages answer 403; they also answered 500 for a device that does not exist).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# -- REST API (contactcards/api; README "API") ------------------------------------
# Django REST framework with drf-spectacular: bearer tokens of our own (api/auth.py), errors as problem
# details (api/problems.py), a rate limit per token counted in Django's cache ("default").
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="120/min")
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["contactcards.api.auth.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["contactcards.api.auth.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["contactcards.api.auth.TokenRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "contactcards.api.problems.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "linqadmin API",
    "DESCRIPTION": "Contact cards of a team's numbers at Linq: read, change (with the version read, "
                   "exactly once per Idempotency-Key), history, jobs. Errors are RFC 9457 problem details.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# -- Sessions -----------------------------------------------------------------
# Idle timeout: a session ends after this long without a request (default: a working day).
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=8 * 60) * 60
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
SESSION_REFRESH_SECONDS = 60  # how stale the renewal may get: a session write per minute of activity, not per page
SESSION_COOKIE_SAMESITE = "Lax"
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=(), browsing-topics=()"
)

# -- Invitations and password reset -------------------------------------------------
INVITATION_MAX_AGE_DAYS = env.int("INVITATION_MAX_AGE_DAYS", default=7)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_MINUTES", default=60) * 60
# Changing one's own email address: the confirmation link to the new address works this long; links per hour.
EMAIL_CHANGE_MAX_AGE_HOURS = env.int("EMAIL_CHANGE_MAX_AGE_HOURS", default=48)
EMAIL_CHANGE_MAX_PER_HOUR = env.int("EMAIL_CHANGE_MAX_PER_HOUR", default=5)
# Reset emails asked for within the window, per typed address and per client IP (the office's
# network shares one); past either limit the page says how long to wait and nothing is sent.
PASSWORD_RESET_MAX_PER_ADDRESS = env.int("PASSWORD_RESET_MAX_PER_ADDRESS", default=3)
PASSWORD_RESET_MAX_PER_IP = env.int("PASSWORD_RESET_MAX_PER_IP", default=20)
PASSWORD_RESET_LIMIT_WINDOW_MINUTES = env.int("PASSWORD_RESET_LIMIT_WINDOW_MINUTES", default=60)

# -- Email ------------------------------------------------------------------------
# EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587 or consolemail:// (bin/run).
vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="linqadmin <linqadmin@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# -- Static files -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# -- Card photos (issue 14; see contactcards/photos/) --------------------------------------
# Uploaded photos are stored through STORAGES["photos"]; the object's public https URL is what
# goes to Linq (Linq fetches it itself). Production: an S3-compatible bucket (django-storages),
# credentials from the usual AWS_* environment variables or the instance role.
PHOTOS_S3_BUCKET = env.str("PHOTOS_S3_BUCKET", default="")
if PHOTOS_S3_BUCKET:
    STORAGES["photos"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": PHOTOS_S3_BUCKET,
            "endpoint_url": env.str("PHOTOS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("PHOTOS_S3_REGION", default="") or None,
            "custom_domain": env.str("PHOTOS_S3_CUSTOM_DOMAIN", default="") or None,  # e.g. a CDN in front
            "location": env.str("PHOTOS_S3_PREFIX", default="card-photos"),
            # Linq must be able to GET the object without credentials.
            "default_acl": env.str("PHOTOS_S3_ACL", default="public-read") or None,
            "querystring_auth": False,
            "url_protocol": "https:",
            # Names are content hashes: an object never changes once written.
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        },
    }
else:
    # Development: files on disk. PHOTOS_BASE_URL must be a public https URL for uploads to be
    # usable by Linq; `bin/run` serves this folder over https for its sandbox (see README).
    STORAGES["photos"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env.str("PHOTOS_ROOT", default=str(BASE_DIR / "media" / "photos")),
            "base_url": env.str("PHOTOS_BASE_URL", default="/media/photos/"),
        },
    }
# Addresses the photo check may fetch from although they are not public (CIDRs). Empty in
# production: only the tests and the local demo put their own https servers on 127.0.0.1 here.
PHOTO_FETCH_ALLOWED_NETWORKS = env.list("PHOTO_FETCH_ALLOWED_NETWORKS", default=[])
# A CA file to trust for the photo check instead of the system's (the demo's self-signed cert).
PHOTO_FETCH_CA_BUNDLE = env.str("PHOTO_FETCH_CA_BUNDLE", default="")
PHOTO_FETCH_CONNECT_TIMEOUT = env.float("PHOTO_FETCH_CONNECT_TIMEOUT", default=3.0)
PHOTO_FETCH_READ_TIMEOUT = env.float("PHOTO_FETCH_READ_TIMEOUT", default=5.0)
PHOTO_FETCH_TOTAL_TIMEOUT = env.float("PHOTO_FETCH_TOTAL_TIMEOUT", default=10.0)

# -- Audit streaming (contactcards/streams, docs/audit-streaming.md) ----------
# Networks a team's stream may send to although they are not public (CIDRs): a SIEM or syslog server
# on the company network. Empty by default: streams go to public addresses only (the tests allow 127.0.0.1).
AUDIT_STREAM_ALLOWED_NETWORKS = env.list("AUDIT_STREAM_ALLOWED_NETWORKS", default=[])
AUDIT_STREAM_CA_BUNDLE = env.str("AUDIT_STREAM_CA_BUNDLE", default="")  # a CA file instead of the system's
AUDIT_STREAM_CONNECT_TIMEOUT = env.float("AUDIT_STREAM_CONNECT_TIMEOUT", default=3.0)
AUDIT_STREAM_READ_TIMEOUT = env.float("AUDIT_STREAM_READ_TIMEOUT", default=5.0)
AUDIT_STREAM_TOTAL_TIMEOUT = env.float("AUDIT_STREAM_TOTAL_TIMEOUT", default=10.0)
# After a failed delivery: wait this long (seconds), doubled per failure in a row, at most RETRY_MAX.
AUDIT_STREAM_RETRY_FIRST = env.float("AUDIT_STREAM_RETRY_FIRST", default=10.0)
AUDIT_STREAM_RETRY_MAX = env.float("AUDIT_STREAM_RETRY_MAX", default=600.0)
# The settings page says a stream is behind when its oldest waiting message is older than this (seconds).
AUDIT_STREAM_BEHIND_AFTER = env.float("AUDIT_STREAM_BEHIND_AFTER", default=60.0)

# -- Alerts (contactcards/alerts) ---------------------------------------------
# A chat webhook is sent to under the audit streams' outbound rules (AUDIT_STREAM_ALLOWED_NETWORKS and
# AUDIT_STREAM_CA_BUNDLE: public https addresses only unless the operator allows a network).
# A failed delivery is tried again after ALERT_RETRY_FIRST seconds, doubled per failure, at most
# ALERT_RETRY_MAX, ALERT_MAX_ATTEMPTS tries in all.
ALERT_RETRY_FIRST = env.float("ALERT_RETRY_FIRST", default=30.0)
ALERT_RETRY_MAX = env.float("ALERT_RETRY_MAX", default=3600.0)
ALERT_MAX_ATTEMPTS = env.int("ALERT_MAX_ATTEMPTS", default=6)
# The daily digest goes at this hour of the subscriber's time zone (a person's chosen zone; TIME_ZONE for a team).
ALERT_DIGEST_HOUR = env.int("ALERT_DIGEST_HOUR", default=8)

# -- Security -----------------------------------------------------------------
# HTTPS-only settings default on in production. SECURE_SSL_REDIRECT and HSTS
# belong to whoever terminates TLS; see README "Production".
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The client's address (sign-in throttling, the history's client_ip; contactcards/common/http.py):
# the socket's, unless proxies we run sit in front and say whom they saw in X-Forwarded-For. Its
# left part is whatever the client wrote, so it is read from the right, either a fixed number of
# proxies deep (TRUSTED_PROXY_HOPS: 1 = one nginx/load balancer in front) or past every address in
# TRUSTED_PROXIES (CIDRs). The old TRUST_X_FORWARDED_FOR=1 means one hop. README "Behind a proxy".
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS",
                             default=1 if env.bool("TRUST_X_FORWARDED_FOR", default=False) else 0)
TRUSTED_PROXIES = [value.strip() for value in env.list("TRUSTED_PROXIES", default=[]) if value.strip()]
if TRUSTED_PROXY_HOPS < 0:
    CONFIG_PROBLEMS.append(f"TRUSTED_PROXY_HOPS must be 0 or more, not {TRUSTED_PROXY_HOPS}.")


def _is_network(value: str) -> bool:
    try:
        ip_network(value, strict=False)
    except ValueError:
        return False
    return True


CONFIG_PROBLEMS += [f"TRUSTED_PROXIES: {value!r} is not an IP address or network (CIDR)."
                    for value in TRUSTED_PROXIES if not _is_network(value)]
if TRUSTED_PROXIES and TRUSTED_PROXY_HOPS:
    CONFIG_PROBLEMS.append("Set TRUSTED_PROXIES or TRUSTED_PROXY_HOPS (or TRUST_X_FORWARDED_FOR), not both.")
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (linqadmin/middleware.py): card photos may come from any https host;
# the demo's sandbox serves its fake CDN over plain http on loopback.
CSP_EXTRA_IMG_SRC = env.list("CSP_EXTRA_IMG_SRC", default=["http://127.0.0.1:*", "http://localhost:*"] if DEBUG else [])
SECURE_REFERRER_POLICY = "same-origin"

# LOG_FORMAT=json: one JSON object per line (linqadmin/logging.py); the default is plain text.
LOG_FORMAT = env.str("LOG_FORMAT", default="text").lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "linqadmin.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json" if LOG_FORMAT == "json" else "text"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # urllib3 at DEBUG prints URLs; keep it quiet so nothing sensitive leaks by accident.
        "urllib3": {"level": "WARNING"},
        # runserver's access log goes through the same handler (one JSON line per request too).
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # django-axes logs every sign-in at INFO; failures and lockouts (WARNING) are what matters.
        "axes": {"level": "WARNING"},
    },
}

# -- Metrics (/metrics, Prometheus; contactcards/ops, README "Metrics") -----------------------
# Off (404) unless a token or networks are set. METRICS_TOKEN: scrapers send "Authorization: Bearer
# <token>". METRICS_ALLOWED_NETWORKS: CIDRs whose clients may scrape without it (the client address as
# TRUSTED_PROXY_HOPS / TRUSTED_PROXIES read it). Anyone else gets 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = [value.strip() for value in env.list("METRICS_ALLOWED_NETWORKS", default=[])
                            if value.strip()]
CONFIG_PROBLEMS += [f"METRICS_ALLOWED_NETWORKS: {value!r} is not an IP address or network (CIDR)."
                    for value in METRICS_ALLOWED_NETWORKS if not _is_network(value)]
# Requests: METRICS_REQUESTS counts every request by URL name, method and status, and times it
# (linqadmin.middleware.RequestMetricsMiddleware: two updates per request; django-prometheus' own pair
# of middlewares cost 7 times as much, docs/benchmarks.md "Metrics"). Queries: METRICS_DATABASE=1
# swaps the PostgreSQL engine for django-prometheus' wrapper (queries, errors, new connections, by
# database), at a small cost per query; off by default, and never on SQLite, whose wrapper builds a
# cursor class per cursor.
METRICS_REQUESTS = env.bool("METRICS_REQUESTS", default=True)
METRICS_DATABASE = env.bool("METRICS_DATABASE", default=False)
if METRICS_REQUESTS:
    MIDDLEWARE = ["linqadmin.middleware.RequestMetricsMiddleware", *MIDDLEWARE]
if METRICS_DATABASE and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
# PROMETHEUS_MULTIPROC_DIR (read from the environment by prometheus_client itself, before this file):
# one folder shared by every process of this host - web and task workers - emptied before they start
# (bin/run does). Without it, /metrics shows only the counters of the process that answers.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
elif "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # set but empty: prometheus_client would write into the cwd
    del os.environ["PROMETHEUS_MULTIPROC_DIR"]

if LOG_FORMAT not in ("text", "json"):
    CONFIG_PROBLEMS.append(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}.")

# -- Tracing (OpenTelemetry; contactcards/common/tracing.py) ---------------------------------
# Off unless an OTLP/HTTP endpoint is configured with the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT,
# or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); OTEL_SDK_DISABLED=true turns it off again. Off, nothing of
# OpenTelemetry is even imported. The SDK reads the other OTEL_* variables itself (service name,
# headers, sampler); README "Tracing" says what is recorded and what never is.
TRACING_ENABLED = bool(env.str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", default="").strip()
                       or env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="").strip()) \
    and not env.bool("OTEL_SDK_DISABLED", default=False)
