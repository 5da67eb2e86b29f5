"""Settings come from the environment, with defaults that are safe for a developer's machine.

Nothing secret lives in the repository: the development SECRET_KEY and the PII keys are generated
into var/ on first use (see ``_local_secret``); production passes them as environment variables.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _local_secret(name: str) -> str:
    """A random value kept in var/<name>, made on first use (development and tests only)."""
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret("secret_key")
# Keys for personal information at rest: one to encrypt (AES-GCM), one for the keyed blind index.
PII_ENCRYPTION_KEY = os.environ.get("PII_ENCRYPTION_KEY") or _local_secret("pii_encryption_key")
PII_INDEX_KEY = os.environ.get("PII_INDEX_KEY") or _local_secret("pii_index_key")

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",
    "accounts.apps.CockpitAdminConfig",  # django.contrib.admin with the role-aware site (三员)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "channels",
    "accounts",
    "grids",
    "events",
    "dispatch",
    "safetycode",
    "livelihood",
    "party",
    "economy",
    "cockpit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.middleware.AuthenticationMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    "accounts.middleware.PasswordExpiryMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cockpit.urls"
WSGI_APPLICATION = "cockpit.wsgi.application"
ASGI_APPLICATION = "cockpit.asgi.application"

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
                "django.template.context_processors.i18n",
                "cockpit.context_processors.site",
            ],
        },
    },
]

# --- Database: PostGIS. The project-local cluster (make run / make test) listens on 55432.
DATABASE_URL = os.environ.get(
    "DATABASE_URL",
    f"postgis://cockpit@127.0.0.1:{os.environ.get('LOCAL_PG_PORT', '55432')}/cockpit",
)
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, engine="django.contrib.gis.db.backends.postgis")
}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
# Persistent connections: opening one costs ~8.5 ms because each backend loads PostGIS.
# Safe under WSGI workers (one connection per worker thread); see docs/deployment.md.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Each test run gets its own database (pytest-django adds the xdist worker's suffix), so runs
# started side by side (COCKPIT_TEST_RUN_ID) never share one.
DATABASES["default"]["TEST"] = {
    "NAME": "test_cockpit" + os.environ.get("COCKPIT_TEST_RUN_ID", "").replace("-", "_")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One storage SRID for every geometry: WGS84 lon/lat. GCJ-02 is converted at the edges only.
STORAGE_SRID = 4326

# --- Redis: Celery broker, channel layer, cache (rate limits, session-idle bookkeeping).
REDIS_URL = os.environ.get(
    "REDIS_URL", f"redis://127.0.0.1:{os.environ.get('LOCAL_REDIS_PORT', '56379')}/0"
)
# Tests running in parallel (pytest-xdist) each get their own queue and channel prefix.
TEST_RUN_ID = os.environ.get("COCKPIT_TEST_RUN_ID", "")
if os.environ.get("PYTEST_XDIST_WORKER"):
    TEST_RUN_ID += "-" + os.environ["PYTEST_XDIST_WORKER"]

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"cockpit{TEST_RUN_ID}",
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [REDIS_URL],
            "prefix": f"asgi{TEST_RUN_ID}",
            "capacity": 1000,
            "expiry": 30,
        },
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = f"cockpit{TEST_RUN_ID}"
CELERY_TASK_ACKS_LATE = False  # only the tasks that are idempotent opt in (routing)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker outage must not block the request that enqueues: fail fast, the sweeper re-queues.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    "socket_timeout": 2,
    "socket_connect_timeout": 2,
}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Installed into django_celery_beat's tables by the scheduler at start; editable in the admin.
CELERY_BEAT_SCHEDULE = {
    "dispatch.route_sweep": {
        "task": "dispatch.tasks.route_sweep",
        "schedule": float(env_int("ROUTE_SWEEP_SECONDS", 30)),
    },
    "dispatch.escalate_overdue": {"task": "dispatch.tasks.escalate_overdue", "schedule": 60.0},
    # Folds past days' rollup counter slots into one row per key (cockpit.screen.rollups).
    "cockpit.rollups_compact": {"task": "cockpit.rollups_compact", "schedule": 3600.0},
    # Moves new cases' counts from their queue into the counters (readers do it too, first).
    "cockpit.rollups_settle": {"task": "cockpit.rollups_settle", "schedule": 10.0},
}
CELERY_TASK_ALWAYS_EAGER = False

# --- Auth and login security (等保 2.0 level 3, standards.md §4.1). All configurable.
AUTH_USER_MODEL = "accounts.User"
# Model permissions follow the user's role (accounts.auth.RoleBackend); groups are not used.
AUTHENTICATION_BACKENDS = [
    "accounts.auth.StaffBackend",
    "accounts.auth.RoleBackend",
    # Sessions started before StaffBackend name Django's ModelBackend: this keeps their users
    # logged in after the deploy. It can go once SESSION_COOKIE_AGE (two weeks) has passed.
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "accounts.passwords.ComplexityValidator",
        "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 8), "min_classes": 3},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
PASSWORD_MAX_AGE_DAYS = env_int("PASSWORD_MAX_AGE_DAYS", 90)
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 30)
SESSION_IDLE_TIMEOUT_MINUTES = env_int("SESSION_IDLE_TIMEOUT_MINUTES", 30)
AUDIT_RETENTION_DAYS = max(180, env_int("AUDIT_RETENTION_DAYS", 365))
# Roles that must pass a second factor (TOTP) at login.
TOTP_REQUIRED_ROLES = os.environ.get(
    "TOTP_REQUIRED_ROLES", "district_admin,commander,sys_admin,sec_admin,audit_admin"
).split(",")
# Roles that may see a personal-information field unmasked (each view is audited).
PII_REVEAL_ROLES = os.environ.get("PII_REVEAL_ROLES", "commander,district_admin,operator").split(
    ","
)
# 身份证 masking: keep this many leading and trailing characters (standards.md §4.2: 前3后4).
PII_ID_MASK = (env_int("PII_ID_MASK_HEAD", 3), env_int("PII_ID_MASK_TAIL", 4))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_ENGINE = "accounts.sessions"  # in the database: survives a Redis outage

# --- Territory
GRID_CODE_LENGTH = env_int(
    "GRID_CODE_LENGTH", 15
)  # standards.md §1.4: 15 in GB/T 47678.3; some use 14
TOWN_NAME = os.environ.get("TOWN_NAME", "三墩镇")
TOWN_CODE = os.environ.get("TOWN_CODE", "330106109")  # 6 county + 3 town (GB/T 2260 + GB/T 10114)
TOWN_CENTER = (120.09, 30.33)
POSITION_HISTORY_DAYS = env_int("POSITION_HISTORY_DAYS", 7)

# --- Cases: the working hours that working-hour and working-day deadlines count.
WORK_HOURS = os.environ.get("WORK_HOURS", "08:30-12:00,13:30-17:30")
# Deduplication: a report of the same category this close, this recent, joins the open case.
DEDUP_DISTANCE_M = env_int("DEDUP_DISTANCE_M", 50)
DEDUP_WINDOW_MINUTES = env_int("DEDUP_WINDOW_MINUTES", 120)
# An overdue step climbs one level (team lead → area leader → duty commander) per this many minutes.
ESCALATION_STEP_MINUTES = env_int("ESCALATION_STEP_MINUTES", 30)
# The sweeper re-queues cases left un-routed this long (a routing task lost to a broker outage).
ROUTE_SWEEP_AGE_SECONDS = env_int("ROUTE_SWEEP_AGE_SECONDS", 60)
# Per-process caches of categories, the town circle, deadline policies and the calendar
# (cockpit.localcache): another process sees an admin's change within this many seconds.
LOCAL_CACHE_SECONDS = env_int("LOCAL_CACHE_SECONDS", 30)
# 随手拍 (residents, no login): limits per phone and per client IP as "count/seconds", counted in
# Redis; the limiter fails open (a report is never lost to it). events.ratelimit.
REPORT_RATE_PER_PHONE = os.environ.get("REPORT_RATE_PER_PHONE", "10/3600")
REPORT_RATE_PER_IP = os.environ.get("REPORT_RATE_PER_IP", "30/3600")
# Behind a reverse proxy: the META key of the header it sets with the client address
# (e.g. "HTTP_X_REAL_IP"); empty = REMOTE_ADDR.
TRUSTED_PROXY_HEADER = os.environ.get("TRUSTED_PROXY_HEADER", "")

# --- i18n: Chinese first, English beside it.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static_collected"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from finders until collectstatic fills it
STATICFILES_DIRS = [BASE_DIR / "static"]
NODE_MODULES_DIR = BASE_DIR / "node_modules"
if NODE_MODULES_DIR.exists():
    STATICFILES_DIRS.append(("vendor", NODE_MODULES_DIR))
WHITENOISE_USE_FINDERS = True
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
# The websocket server's port when it runs apart from the HTTP server (make run); empty = same origin.
WS_PORT = os.environ.get("WS_PORT", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cockpit.errors.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "数字驾驶舱 API · Town cockpit API",
    "DESCRIPTION": "一网统管 — one network governs the town.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# GDAL < 3.9 cannot sandbox spatial-reference lookups (gis.W001). Uploaded geodata is treated as
# untrusted instead: grids.imports accepts a file's CRS only when it resolves to an EPSG code on
# an allow-list, and never follows network or file references in it.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
