"""One settings module for every deployment; the differences come from environment variables."""

import os
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_str(name: str, default: str) -> str:
    return os.environ.get(name) or default


def env_int(name: str, default: int) -> int:
    raw = env_str(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


DEBUG = env_bool("DJANGO_DEBUG", False)
# The fallback key only suits the demo and the tests: `check --deploy` calls it an error (accounts/checks.py).
DEVELOPMENT_SECRET_KEY = "insecure-phoenix-annot-development-key-set-DJANGO_SECRET_KEY"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = [h.strip() for h in env_str("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env_str("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

# Security headers for every deployment; the HTTPS-only ones when the site is served over HTTPS.
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
CSRF_COOKIE_HTTPONLY = True
HTTPS = env_bool("DJANGO_HTTPS", False)
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading commits the whole domain to HTTPS for months: an owner's decision, not a default.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    if env_bool("DJANGO_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's files, served from our static files: the docs page loads nothing from other hosts.
    "drf_spectacular_sidecar",
    "django_filters",
    # Failed logins, counted in the database, and lockouts (settings under AXES_ below).
    "axes",
    "phoenix_annot.core",
    "phoenix_annot.accounts",
    "phoenix_annot.tracing",
    "phoenix_annot.annotations",
    "phoenix_annot.datasets",
    "phoenix_annot.queues",
    "phoenix_annot.corrections",
    "phoenix_annot.demo",
    "phoenix_annot.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "phoenix_annot.core.middleware.DatabaseUnavailableMiddleware",
    "phoenix_annot.api.middleware.NulCharacterMiddleware",
    "phoenix_annot.accounts.middleware.CrossSiteV1Middleware",
    # Last, as django-axes asks: it turns a locked-out login attempt into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "phoenix_annot.urls"
WSGI_APPLICATION = "phoenix_annot.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while an ingest writes; IMMEDIATE takes the write lock up front so two
    # writers queue on busy_timeout instead of failing with "database is locked" on lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

AUTH_USER_MODEL = "accounts.User"
# django-axes sees every login (pages and /admin/) first and refuses one that is locked out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: 10 wrong passwords for one username from one address lock that pair out for 15 minutes
# (an admin can unlock it sooner: admin > Axes > Access attempts, or `manage.py axes_reset`). Per pair, so
# that reviewers behind one address (or the load bench's 20 on 127.0.0.1) do not lock each other out.
# Attempts are kept in the database, the default handler: every gunicorn worker and app server then counts
# the same failures, where Django's per-process default cache would give an attacker a count per worker.
AXES_FAILURE_LIMIT = env_int("PHOENIX_ANNOT_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("PHOENIX_ANNOT_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "phoenix_annot.accounts.auth.client_address"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# No banner on every start (the demo, each manage.py command); failed logins are still logged.
AXES_VERBOSE = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:projects"
LOGOUT_REDIRECT_URL = "web:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the app folders so the demo needs no collectstatic step; until collectstatic has
# run, STATIC_ROOT does not exist and WhiteNoise's warning about it is noise.
WHITENOISE_USE_FINDERS = True
warnings.filterwarnings("ignore", message="No directory at: ")

# Phoenix's list endpoints take up to 1,000 repeated ids and say so themselves when there are more.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
}

# --- phoenix-annot ---------------------------------------------------------------------------------
# Whether every /v1 route (OTLP ingestion included) needs "Authorization: Bearer <api key>".
V1_AUTH_REQUIRED = env_bool("PHOENIX_ANNOT_V1_AUTH_REQUIRED", True)
# Other sites whose pages may call /v1 without an API key (browser exporters, e.g. http://localhost:5173);
# a keyless request from any other site is refused (accounts/middleware.py).
# Invalid API keys one client address may send within a window before its keyed /v1 requests get a 429
# (counted in the database, like failed logins, so that all workers share the count).
V1_INVALID_KEY_LIMIT = env_int("PHOENIX_ANNOT_V1_INVALID_KEY_LIMIT", 20)
V1_INVALID_KEY_WINDOW_SECONDS = env_int("PHOENIX_ANNOT_V1_INVALID_KEY_WINDOW_SECONDS", 300)
V1_ALLOWED_ORIGINS = [
    o.strip().rstrip("/") for o in env_str("PHOENIX_ANNOT_V1_ALLOWED_ORIGINS", "").split(",") if o.strip()
]
# Largest OTLP request accepted, counted both on the wire and after decompression (gzip bombs).
OTLP_MAX_BODY_BYTES = env_int("PHOENIX_ANNOT_OTLP_MAX_BODY_BYTES", 20 * 1024 * 1024)
# Most spans, and most attributes (of spans and their events), one OTLP request may carry (exporters send 512
# spans by default): past either a 413, before any span is decoded, so that one request's time stays well
# inside a worker's timeout however its bytes are spent (bench/otlp_memory.py).
OTLP_MAX_SPANS_PER_REQUEST = env_int("PHOENIX_ANNOT_OTLP_MAX_SPANS_PER_REQUEST", 10_000)
OTLP_MAX_ATTRIBUTES_PER_REQUEST = env_int("PHOENIX_ANNOT_OTLP_MAX_ATTRIBUTES_PER_REQUEST", 200_000)
# Most rows one bulk label may write (annotations/bulk.py); past it the label is refused, nothing written.
BULK_LABEL_MAX_ROWS = env_int("PHOENIX_ANNOT_BULK_LABEL_MAX_ROWS", 100_000)

# A session whose last span ended less than this long ago is "ongoing" (more turns may come): its page
# warns that a label on its outcome may be premature. 30 minutes of inactivity, as web analytics end a visit.
SESSION_IDLE_SECONDS = env_int("PHOENIX_ANNOT_SESSION_IDLE_SECONDS", 30 * 60)

# Largest JSON body a /v1 REST route reads (dataset uploads have their own, larger limit).
API_MAX_BODY_BYTES = env_int("PHOENIX_ANNOT_API_MAX_BODY_BYTES", 20 * 1024 * 1024)
# Largest dataset upload body (POST /v1/datasets/upload) on the wire, JSON or multipart: past this it is
# refused unread.
DATASET_UPLOAD_MAX_BODY_BYTES = env_int("PHOENIX_ANNOT_DATASET_UPLOAD_MAX_BODY_BYTES", 32 * 1024 * 1024)
# An uploaded CSV/JSONL file is read as a stream, but its examples are held in memory until they are stored:
# these three bound what one upload costs a worker (bench/upload_memory.py), however well the file
# compresses. Values are JSON values (containers included) or CSV cells; the JSON body is counted too.
DATASET_UPLOAD_MAX_FILE_BYTES = env_int("PHOENIX_ANNOT_DATASET_UPLOAD_MAX_FILE_BYTES", 16 * 1024 * 1024)
DATASET_UPLOAD_MAX_EXAMPLES = env_int("PHOENIX_ANNOT_DATASET_UPLOAD_MAX_EXAMPLES", 50_000)
DATASET_UPLOAD_MAX_VALUES = env_int("PHOENIX_ANNOT_DATASET_UPLOAD_MAX_VALUES", 500_000)
# A body sent chunked, without Content-Length (the OpenTelemetry JS exporters send every export that way), is
# read up to this size before its route's own limit applies (core/chunked.py): by default the largest of them.
MAX_REQUEST_BODY_BYTES = env_int(
    "PHOENIX_ANNOT_MAX_REQUEST_BODY_BYTES",
    max(OTLP_MAX_BODY_BYTES, API_MAX_BODY_BYTES, DATASET_UPLOAD_MAX_BODY_BYTES),
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "phoenix_annot.api.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["phoenix_annot.api.auth.V1Access"],
    "DEFAULT_RENDERER_CLASSES": ["phoenix_annot.api.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["phoenix_annot.api.parsers.SizeLimitedJSONParser"],
    "EXCEPTION_HANDLER": "phoenix_annot.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The OpenAPI document (/openapi.json) and Swagger UI (/docs) of /v1; see phoenix_annot/api/schema.py.
SPECTACULAR_SETTINGS = {
    "TITLE": "phoenix-annot REST API",
    "DESCRIPTION": (
        "Arize Phoenix compatible /v1 routes: projects, spans, traces, sessions, annotations, annotation "
        "configs, datasets and their splits; and our own review queues (/v1/annotation_queues). Errors are "
        "text/plain, except request validation errors: 422 JSON in FastAPI's shape."
    ),
    "VERSION": "1.0",
    "SCHEMA_PATH_PREFIX": "/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Served to anyone, key or not: the document describes the API, it holds no data.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Swagger UI would otherwise send the document to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # An annotation config's `type` has one value per shape, in both the request and the response bodies.
    "ENUM_NAME_OVERRIDES": {
        "CategoricalConfigTypeEnum": ["CATEGORICAL"],
        "ContinuousConfigTypeEnum": ["CONTINUOUS"],
        "FreeformConfigTypeEnum": ["FREEFORM"],
        # Two choice sets share the field name `action`: the annotation history's and a dataset upload's.
        "AnnotationEventActionEnum": ["create", "update", "delete"],
        "ActionEnum": ["create", "append", "update"],
        # A bulk label's kind and target, beside a queue item's kind.
        "AnnotationBulkActionKindEnum": ["label", "undo"],
        "KindEnum": ["span", "trace", "session"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "phoenix_annot.api.schema.add_otlp_route",
        "phoenix_annot.api.schema.add_common_errors",
        "phoenix_annot.api.schema.drop_implied_min_length",
    ],
}
# Reported by GET /arize_phoenix_version: the Phoenix server release whose /v1 features we implement, so
# arize-phoenix-client's version gates pass.
PHOENIX_COMPATIBLE_VERSION = "20.8.0"
# How long an API annotation for a span that has not arrived yet waits for it (Phoenix: 10 minutes).
PENDING_ANNOTATION_TTL_SECONDS = env_int("PHOENIX_ANNOT_PENDING_ANNOTATION_TTL_SECONDS", 24 * 3600)
# Most sync=false annotations one writer (a user; every writer without one counts as one) may have waiting for
# spans or traces not stored yet; past it a write is a 429.
PENDING_ANNOTATIONS_MAX_PER_WRITER = env_int("PHOENIX_ANNOT_PENDING_ANNOTATIONS_MAX_PER_WRITER", 20_000)
# On PostgreSQL, a query of the span list (page or /v1) that runs longer than this is cancelled and the
# request answers 422 saying so (phoenix_annot/filtering/timeout.py); 0 turns the limit off.
FILTER_TIMEOUT_MS = env_int("PHOENIX_ANNOT_FILTER_TIMEOUT_MS", 5_000)
