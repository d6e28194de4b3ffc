"""Django settings for Paydesk, read from the environment.

PAYDESK_DATA_DIR   where the SQLite database and the generated secret live (default ./var)
DATABASE_URL       e.g. postgres://user:pass@127.0.0.1:5432/paydesk (default: SQLite in the data dir)
PAYDESK_SECRET_KEY Django's secret key (default: generated once into the data dir)
PAYDESK_DEBUG      "1" for Django's debug pages (never in production)
PAYDESK_ALLOWED_HOSTS  comma-separated host names (default: localhost,127.0.0.1)
PAYDESK_BEHIND_TLS_PROXY  "1" when a TLS proxy in front sets X-Forwarded-Proto: secure cookies,
                   and the proxy's word that the request came over https (CSRF checks the origin)
PAYDESK_TRUSTED_PROXY  with PAYDESK_BEHIND_TLS_PROXY: the proxy's address (default 127.0.0.1; "*" any)
PAYDESK_CSRF_TRUSTED_ORIGINS  comma-separated origins such as https://desk.example.com
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

DATA_DIR = Path(os.environ.get("PAYDESK_DATA_DIR") or Path.cwd() / "var").resolve()


def _secret_key() -> str:
    configured = os.environ.get("PAYDESK_SECRET_KEY")
    if configured:
        return configured
    # A key generated once and kept beside the database: sessions and the encrypted Amazon
    # secret key survive restarts without anyone having to invent a key for the demo.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process starting at the same moment made it: its key is the key
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(50))
    # That other process may not have written its key yet: a moment later it has.
    for _ in range(100):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)
    raise ImproperlyConfigured(f"{path} is empty: delete it, or set PAYDESK_SECRET_KEY")


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("PAYDESK_DEBUG") == "1"
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("PAYDESK_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "paydesk.web",
    "paydesk.orders",
    "paydesk.amazonpay.apps.AmazonPayConfig",
    "paydesk.shop",
    "paydesk.api.apps.ApiConfig",
    "paydesk.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "paydesk.web.middleware.RefuseNulCharacters",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "paydesk.web.urls"
WSGI_APPLICATION = "paydesk.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _databases() -> dict:
    if not os.environ.get("DATABASE_URL", "").strip():
        os.environ.pop("DATABASE_URL", None)  # set but empty: the default, not a KeyError
    try:
        default = dj_database_url.config(
            default=f"sqlite:///{DATA_DIR / 'paydesk.sqlite3'}", conn_max_age=60, conn_health_checks=True
        )
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"DATABASE_URL is not a database URL ({exc}); "
            "write postgres://user:password@host:5432/name or sqlite:////path/to/file.sqlite3"
        ) from None
    if default["ENGINE"] == "django.db.backends.sqlite3":
        # SQLite does not make the folder its file goes in (with PAYDESK_SECRET_KEY set, nothing
        # else did, and a fresh machine could not migrate).
        Path(default["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        default["CONN_MAX_AGE"] = 0
        default["OPTIONS"] = {
            # BEGIN IMMEDIATE takes SQLite's write lock at the start of every transaction: the
            # single-writer equivalent of PostgreSQL's SELECT ... FOR UPDATE on the payment row.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # Tests against a live server (IPNs arriving from the sandbox) need a database file
        # that other threads open with their own connections, not a shared in-memory one.
        # One file per test process, so test runs side by side never share a database.
        default["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"paydesk-test-{os.getpid()}.sqlite3")}
    return {"default": default}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "orders:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("PAYDESK_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# Served from the packages themselves by WhiteNoise (no collectstatic step to forget).
WHITENOISE_USE_FINDERS = True

CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("PAYDESK_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
_behind_tls_proxy = os.environ.get("PAYDESK_BEHIND_TLS_PROXY") == "1"
if _behind_tls_proxy:
    # Only behind a proxy that sets (and overwrites) X-Forwarded-Proto: otherwise a client
    # could claim https itself.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The address waitress takes X-Forwarded-Proto from (it drops the header from anyone else):
# the proxy's, 127.0.0.1 for one on the same machine, "*" when nothing but the proxy can reach
# the port (a load balancer on a private network).
PAYDESK_TRUSTED_PROXY = (
    (os.environ.get("PAYDESK_TRUSTED_PROXY") or "127.0.0.1") if _behind_tls_proxy else None
)
# Served over https (either way above): the session must never travel in a plain-http request.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _behind_tls_proxy or any(
    origin.startswith("https://") for origin in CSRF_TRUSTED_ORIGINS
)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "paydesk": {"handlers": ["console"], "level": os.environ.get("PAYDESK_LOG_LEVEL", "INFO")},
        # A 500 on a page is logged with its traceback (Django logs it here; with DEBUG off nothing
        # else shows it).
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
