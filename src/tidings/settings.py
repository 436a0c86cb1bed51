"""Django settings. Everything that differs between machines comes from the environment."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("TIDINGS_VAR_DIR", PROJECT_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("TIDINGS_SECRET_KEY", "dev-only-insecure-key-change-me-in-production")
# Key for encrypting provider secrets at rest (Fernet, urlsafe base64 of 32 bytes); derived from SECRET_KEY if unset.
ENCRYPTION_KEY = os.environ.get("TIDINGS_ENCRYPTION_KEY", "")
DEBUG = os.environ.get("TIDINGS_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("TIDINGS_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("TIDINGS_CSRF_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "tidings.core",
    "tidings.timers",
    "tidings.contacts",
    "tidings.channels",
    "tidings.message_templates",
    "tidings.messaging",
    "tidings.billing",
    "tidings.binding",
    "tidings.notify",
    "tidings.inbox",
    "tidings.widget",
    "tidings.integrations",
    "tidings.sandbox",
    "tidings.api",
    "tidings.console",
    "tidings.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After authentication: it reads request.user. Like every middleware here it is synchronous; under ASGI the
    # whole chain and the view run on the request's thread in one call (tidings.asgi, docs/architecture.md).
    "tidings.core.middleware.MemberContextMiddleware",
]

ROOT_URLCONF = "tidings.urls"
WSGI_APPLICATION = "tidings.wsgi.application"
ASGI_APPLICATION = "tidings.asgi.application"

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
                "django.template.context_processors.i18n",
                "tidings.console.context.console",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tidings.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock up front so two writers
    # queue on the busy timeout instead of failing with "database is locked" on lock upgrade. Our backend queues
    # one process's writers for it in turn (core/sqlite_backend).
    DATABASES["default"]["ENGINE"] = "tidings.core.sqlite_backend"
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

# Test databases carry the process id so concurrent test runs on one machine never share one.
_db = DATABASES["default"]
if _db["ENGINE"] == "tidings.core.sqlite_backend":
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    _db["TEST"] = {"NAME": f"test_{_db['NAME']}_{os.getpid()}"}
    # Without a pool each web request opens its own PostgreSQL connection (a new server process, then the time zone
    # set): about half of a small request's time, e.g. a webhook or a fake provider's answer. Each process keeps a
    # few open instead; Django's close() hands one back. Sized so web + workers + tests stay under the server's 100.
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": int(os.environ.get("TIDINGS_DB_POOL_SIZE", "8")), "timeout": 30,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]

CACHES = {
    # The database cache is shared by every web and worker process, so login rate limits hold across them.
    "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "tidings_cache"},
}

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TIDINGS_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

LANGUAGE_CODE = "zh-hant"
LANGUAGES = [("zh-hant", "繁體中文"), ("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "tidings_language"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise serves from finders too, but wants this to exist
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
# Exports and uploaded imports hold customers' personal data: their files are deleted this many days after the job
# finished (the job's row, counts and errors stay). Uploads abandoned before an import started go after a day.
FILE_RETENTION_DAYS = int(os.environ.get("TIDINGS_FILE_RETENTION_DAYS", "7"))

# Bills and low-balance warnings are emails. Without an SMTP server configured they are written as files under
# var/mail (and stay viewable in the console); set TIDINGS_EMAIL_BACKEND + Django's EMAIL_* for real delivery.
EMAIL_BACKEND = os.environ.get("TIDINGS_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = os.environ.get("TIDINGS_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("TIDINGS_EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("TIDINGS_FROM_EMAIL", "Tidings <no-reply@tidings.localhost>")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Login attempts allowed per (email, address) in LOGIN_RATE_WINDOW seconds before refusing.
LOGIN_RATE_LIMIT = int(os.environ.get("TIDINGS_LOGIN_RATE_LIMIT", "5"))
LOGIN_RATE_WINDOW = int(os.environ.get("TIDINGS_LOGIN_RATE_WINDOW", "300"))

# Durable timers: how long a claim is held before another sweeper may retake it, and how many rows per claim.
TIMER_LEASE_SECONDS = float(os.environ.get("TIDINGS_TIMER_LEASE_SECONDS", "30"))
TIMER_BATCH_SIZE = int(os.environ.get("TIDINGS_TIMER_BATCH_SIZE", "2000"))
# Extra modules that register timer handlers (each app's `timer_handlers` module is imported anyway).
TIMER_HANDLER_MODULES = [m.strip() for m in os.environ.get("TIDINGS_TIMER_HANDLER_MODULES", "").split(",") if m.strip()]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TIDINGS_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Where this Tidings is reached: webhook URLs shown to people, and sandbox providers calling back.
BASE_URL = os.environ.get("TIDINGS_BASE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}").rstrip("/")
# Tests route HTTP to BASE_URL through the WSGI app in-process (httpx WSGITransport) instead of a socket.
# Least seconds between two messages to the same person, per channel (WhatsApp's pair rate limit: 1 per 6 s).
# TIDINGS_PAIR_INTERVALS="whatsapp=0" turns it off (the test suite does, except where it tests the limit).
RATE_PAIR_INTERVALS = {"whatsapp": 6.0}
for _item in filter(None, os.environ.get("TIDINGS_PAIR_INTERVALS", "").split(",")):
    _name, _, _value = _item.partition("=")
    RATE_PAIR_INTERVALS[_name.strip()] = float(_value)

# Delivery: dispatches per task, and provider requests a worker makes at once (messaging/delivery.py). A worker
# sends at most DELIVERY_IN_FLIGHT ÷ the provider's answer time per second: WhatsApp's top tier (1,000/s) with
# answers taking 250 ms needs 250 requests in flight, three workers' worth (32 each held a worker to 128/s).
DELIVERY_TASK_SIZE = int(os.environ.get("TIDINGS_DELIVERY_TASK_SIZE", "100"))
DELIVERY_IN_FLIGHT = int(os.environ.get("TIDINGS_DELIVERY_IN_FLIGHT", "100"))
INPROCESS_HTTP = os.environ.get("TIDINGS_INPROCESS_HTTP", "0") == "1"

# Real-time inbox events to open consoles (inbox/realtime.py). With TIDINGS_REDIS_URL (redis://host:6379/0) they go
# through Redis streams; without it through a short-lived table that every web process polls.
REALTIME = {
    "REDIS_URL": os.environ.get("TIDINGS_REDIS_URL", ""),
    "POLL_SECONDS": 0.1,  # table bus: how often each web process reads new events
    "RETENTION_SECONDS": 300,  # how long events are kept for consoles that reconnect
    "HEARTBEAT_SECONDS": 15,  # a comment on idle streams, so proxies keep them open
    "STREAM_SECONDS": 300,  # a stream ends after this; the browser reconnects and resumes after its last event
}

DEMO_PASSWORD = os.environ.get("TIDINGS_DEMO_PASSWORD", "tidings-demo")

