"""Settings for the order dashboard: one module, every value from the environment.

The variables are listed in README.md and .env.example. Nothing secret lives here: with DJANGO_DEBUG off a
missing DJANGO_SECRET_KEY or DJANGO_ALLOWED_HOSTS stops start-up.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from ordersite.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it (see .env.example) or run with DJANGO_DEBUG=1."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is not set. Set it to the host names this site answers to.")
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "orders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "orders.api.middleware.ApiJsonErrorsMiddleware",  # outermost but one: sees every error answer under /api/
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "orders.views.auth.HtmxAwareLoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ordersite.urls"
WSGI_APPLICATION = "ordersite.wsgi.application"

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
                "orders.context_processors.dashboard",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A web process and several workers write at once: WAL lets readers run beside the writer, IMMEDIATE takes the
    # write lock at BEGIN (no deadlock-prone lock upgrades), and the busy timeout makes writers queue, not fail.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file beside the database, not :memory:, so worker subprocesses started by tests see the test database.
    _db_path = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(_db_path.with_name(f"{_db_path.stem}-test.sqlite3"))}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Every query of the app is short and indexed, but a million orders push the planner's cost estimates past
    # jit_above_cost: PostgreSQL's JIT then spent 70 ms compiling a 1 ms search (docs/BENCHMARKS.md, "Scale").
    # Off for our sessions unless DATABASE_URL's ?options= says otherwise about jit.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    if "jit" not in _options.get("options", ""):
        _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
ATOMIC_REQUESTS = False  # every write service opens its own durable transaction

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------------------
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Locale and static files -------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/Chicago")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Orders ---------------------------------------------------------------------------------------------
# Manual orders are numbered PREFIX + zero-padded counter. Agree the prefix with the CIMcloud site owner:
# CIMcloud upserts by order number, so it must never collide with the web store's numbers.
ORDER_NUMBER_PREFIX = env_str("ORDER_NUMBER_PREFIX", "D-")
ORDER_NUMBER_DIGITS = env_int("ORDER_NUMBER_DIGITS", 6)
DEMO_PASSWORD = env_str("DEMO_PASSWORD")

# --- External systems (names fixed by ../shared/contracts/README.md) ------------------------------------
# With DEBUG on and nothing configured, the clients talk to the local simulators with their development
# credentials (values starting "sim-": not secrets). With DEBUG off those defaults are refused.
SIMULATOR_HOST = env_str("SIMULATOR_HOST", "127.0.0.1")
SIMULATOR_CIMCLOUD_PORT = env_int("SIMULATOR_CIMCLOUD_PORT", 8101)
SIMULATOR_TULAERP_PORT = env_int("SIMULATOR_TULAERP_PORT", 8102)
SIM_CIMCLOUD_CREDENTIALS = {"key": "sim-cimcloud-key", "username": "sim-cimcloud-user", "password": "sim-cimcloud-pass"}
SIM_TULAERP_CREDENTIALS = {"header": "X-Api-Key", "value": "sim-tulaerp-key"}

_CIMCLOUD_NAMES = ["CIMCLOUD_BASE_URL", "CIMCLOUD_AUTH_KEY", "CIMCLOUD_AUTH_USERNAME", "CIMCLOUD_AUTH_PASSWORD"]
_TULAERP_NAMES = ["TULAERP_BASE_URL", "TULAERP_AUTH_HEADER", "TULAERP_AUTH_VALUE"]
_use_cimcloud_sim = DEBUG and not any(env_str(n) for n in _CIMCLOUD_NAMES)
_use_tulaerp_sim = DEBUG and not any(env_str(n) for n in _TULAERP_NAMES)

CIMCLOUD_BASE_URL = env_str(
    "CIMCLOUD_BASE_URL",
    f"http://{SIMULATOR_HOST}:{SIMULATOR_CIMCLOUD_PORT}" if _use_cimcloud_sim else "https://api.cimcloud.com",
)
CIMCLOUD_SITENAME = env_str("CIMCLOUD_SITENAME", "demo")
CIMCLOUD_AUTH_MODE = env_str("CIMCLOUD_AUTH_MODE", "bearer")
if CIMCLOUD_AUTH_MODE not in {"bearer", "basic"}:
    raise ImproperlyConfigured(f"CIMCLOUD_AUTH_MODE={CIMCLOUD_AUTH_MODE!r}: use 'bearer' or 'basic'.")
CIMCLOUD_AUTH_KEY = env_str("CIMCLOUD_AUTH_KEY", SIM_CIMCLOUD_CREDENTIALS["key"] if _use_cimcloud_sim else None)
CIMCLOUD_AUTH_USERNAME = env_str(
    "CIMCLOUD_AUTH_USERNAME", SIM_CIMCLOUD_CREDENTIALS["username"] if _use_cimcloud_sim else None
)
CIMCLOUD_AUTH_PASSWORD = env_str(
    "CIMCLOUD_AUTH_PASSWORD", SIM_CIMCLOUD_CREDENTIALS["password"] if _use_cimcloud_sim else None
)
# Reuse a cached bearer token until this long before it expires.
CIMCLOUD_TOKEN_REFRESH_MARGIN_SECONDS = env_int("CIMCLOUD_TOKEN_REFRESH_MARGIN_SECONDS", 600)
CIMCLOUD_SYNC_MAX_DETAILS = env_int("CIMCLOUD_SYNC_MAX_DETAILS", 10)  # assumed
CIMCLOUD_IDEMPOTENT = env_bool("CIMCLOUD_IDEMPOTENT", True)  # assumed: upserts by order_number
CIMCLOUD_RATE_PER_SECOND = env_int("CIMCLOUD_RATE_PER_SECOND", 2)
CIMCLOUD_RATE_PER_WINDOW = env_int("CIMCLOUD_RATE_PER_WINDOW", 100)
CIMCLOUD_RATE_WINDOW_SECONDS = env_float("CIMCLOUD_RATE_WINDOW_SECONDS", 900)
CIMCLOUD_RATE_SECOND_SECONDS = env_float("CIMCLOUD_RATE_SECOND_SECONDS", 1.0)  # the short bucket's length

TULAERP_BASE_URL = env_str(
    "TULAERP_BASE_URL",
    f"http://{SIMULATOR_HOST}:{SIMULATOR_TULAERP_PORT}" if _use_tulaerp_sim else "https://erpapi.livetula.com",
)
TULAERP_AUTH_HEADER = env_str("TULAERP_AUTH_HEADER", SIM_TULAERP_CREDENTIALS["header"] if _use_tulaerp_sim else None)
TULAERP_AUTH_VALUE = env_str("TULAERP_AUTH_VALUE", SIM_TULAERP_CREDENTIALS["value"] if _use_tulaerp_sim else None)
TULAERP_BASIC_USERNAME = env_str("TULAERP_BASIC_USERNAME")
TULAERP_BASIC_PASSWORD = env_str("TULAERP_BASIC_PASSWORD")
TULAERP_CLIENT_ID = env_int("TULAERP_CLIENT_ID", 1)
TULAERP_MEMBER_ID = env_int("TULAERP_MEMBER_ID", 1)
TULAERP_SHIP_COUNTRIES = env_list("TULAERP_SHIP_COUNTRIES", ["USA", "US"])  # assumed
TULAERP_IDEMPOTENT = env_bool("TULAERP_IDEMPOTENT", True)  # assumed: recognises a repeated orderNumber

# Field lengths CIMcloud does not document (assumed; used by pre-send validation).
CIMCLOUD_MAX_LENGTHS = {
    "order_number": env_int("CIMCLOUD_MAXLEN_ORDER_NUMBER", 40),
    "name": env_int("CIMCLOUD_MAXLEN_NAME", 50),
    "address": env_int("CIMCLOUD_MAXLEN_ADDRESS", 50),
    "city": env_int("CIMCLOUD_MAXLEN_CITY", 30),
    "state": env_int("CIMCLOUD_MAXLEN_STATE", 20),
    "zip": env_int("CIMCLOUD_MAXLEN_ZIP", 20),
    "country_code": env_int("CIMCLOUD_MAXLEN_COUNTRY_CODE", 3),
}

# Tracking links built when TulaERP sends none ({number} is replaced); data, not code.
CARRIER_TRACKING_TEMPLATES = {
    "UPS": "https://www.ups.com/track?tracknum={number}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "DHL Express": "https://www.dhl.com/en/express/tracking.html?AWB={number}",
}

# HTTP to the external systems: (connect, read) timeouts are always applied; idle pooled connections are retired
# before a server's keep-alive timeout could close them under us.
HTTP_CONNECT_TIMEOUT = env_float("HTTP_CONNECT_TIMEOUT", 5.0)
HTTP_READ_TIMEOUT = env_float("HTTP_READ_TIMEOUT", 15.0)
HTTP_POOL_IDLE_SECONDS = env_float("HTTP_POOL_IDLE_SECONDS", 30.0)

# --- Outbox --------------------------------------------------------------------------------------------------
# A claimed message is leased for one call's worst case plus slack; a dead worker's messages are claimed again
# after it. Never above 60 s, so a crash delays an order by a minute at most.
OUTBOX_LEASE_SECONDS = min(60.0, env_float("OUTBOX_LEASE_SECONDS", HTTP_CONNECT_TIMEOUT + HTTP_READ_TIMEOUT + 10))
OUTBOX_POLL_SECONDS = env_float("OUTBOX_POLL_SECONDS", 0.5)
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 10)
# Drain loops per destination without a rate limit (a rate-limited one always has one).
OUTBOX_THREADS_PER_DESTINATION = max(1, env_int("OUTBOX_THREADS_PER_DESTINATION", 2))
OUTBOX_BACKOFF_BASE_SECONDS = env_float("OUTBOX_BACKOFF_BASE_SECONDS", 2.0)
OUTBOX_BACKOFF_FACTOR = env_float("OUTBOX_BACKOFF_FACTOR", 2.0)
OUTBOX_BACKOFF_CAP_SECONDS = env_float("OUTBOX_BACKOFF_CAP_SECONDS", 1800.0)
OUTBOX_MAX_AGE_SECONDS = env_float("OUTBOX_MAX_AGE_SECONDS", 3 * 24 * 3600.0)
OUTBOX_PACING = env_bool("OUTBOX_PACING", True)
OUTBOX_RATE_MARGIN_SECONDS = env_float("OUTBOX_RATE_MARGIN_SECONDS", 0.05)
OUTBOX_BREAKER_CONSECUTIVE = env_int("OUTBOX_BREAKER_CONSECUTIVE", 10)
OUTBOX_BREAKER_RATIO = env_float("OUTBOX_BREAKER_RATIO", 0.9)
OUTBOX_BREAKER_COOLDOWN_SECONDS = env_float("OUTBOX_BREAKER_COOLDOWN_SECONDS", 30.0)
OUTBOX_CONFIG_PAUSE_SECONDS = env_float("OUTBOX_CONFIG_PAUSE_SECONDS", 300.0)
OUTBOX_HEARTBEAT_SECONDS = env_float("OUTBOX_HEARTBEAT_SECONDS", 5.0)
# A worker keeps its database connections this long (seconds; 0: a new one every loop). close_old_connections()
# each loop still replaces one that failed, and the health check finds one the server terminated.
OUTBOX_WORKER_CONN_MAX_AGE = env_int("OUTBOX_WORKER_CONN_MAX_AGE", 600)
HEALTHZ_MAX_HEARTBEAT_AGE_SECONDS = env_float("HEALTHZ_MAX_HEARTBEAT_AGE_SECONDS", 60.0)
# Fulfilment refresh: first look 10 minutes after TulaERP accepted the order (the demo uses 10 s), then back off
# to daily; give up after 60 days.
TULAERP_REFRESH_FIRST_SECONDS = env_float("TULAERP_REFRESH_FIRST_SECONDS", 10.0 if DEBUG else 600.0)
TULAERP_REFRESH_MAX_INTERVAL_SECONDS = env_float("TULAERP_REFRESH_MAX_INTERVAL_SECONDS", 86400.0)
TULAERP_REFRESH_MAX_AGE_DAYS = env_int("TULAERP_REFRESH_MAX_AGE_DAYS", 60)
TULAERP_REFRESH_PER_MINUTE = env_int("TULAERP_REFRESH_PER_MINUTE", 60)

# --- Cache -----------------------------------------------------------------------------------------------
# The API's throttle counts live here. Redis when REDIS_URL is set, so every web process shares them; without it
# each process counts on its own (local memory).
REDIS_URL = env_str("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "orders"),
    }
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "orders"}
}

# --- API (/api/v1/) --------------------------------------------------------------------------------------
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 1_000_000)  # larger bodies answer 413 before they are read
# Request bodies Django itself reads (the idempotency fingerprint) may be as large as the API accepts.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, API_MAX_BODY_BYTES)
# Per token (per user for a browser session), counted in the cache above; DRF's "N/second|minute|hour|day".
API_THROTTLE_RATES = {
    "read": env_str("API_THROTTLE_READ", "600/minute"),
    "write": env_str("API_THROTTLE_WRITE", "120/minute"),
}
API_IDEMPOTENCY_TTL_SECONDS = env_int("API_IDEMPOTENCY_TTL_SECONDS", 24 * 3600)
# A key whose request has not finished after this long is taken as abandoned (its process died) and reusable.
API_IDEMPOTENCY_LOCK_SECONDS = env_int("API_IDEMPOTENCY_LOCK_SECONDS", 120)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "orders.api.authentication.BearerTokenAuthentication",  # first: its header makes "no credentials" a 401
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["orders.api.parsers.DecimalJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "orders.api.parsers.DecimalJSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    ],
    "EXCEPTION_HANDLER": "orders.api.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["orders.api.throttles.TokenRateThrottle"],
    "COERCE_DECIMAL_TO_STRING": False,  # money is a JSON number; the renderer writes Decimal exactly
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_SCHEMA_CLASS": "orders.api.schema.ApiAutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Order operations API",
    "DESCRIPTION": "Orders, CIMcloud import, shipments, tracking and the outbox. Errors: the `Error` component.",
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["orders.api.permissions.RolePermission"],  # like every read: a role, viewer or above
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "orders.api.schema.add_links"],
    "ENUM_NAME_OVERRIDES": {
        "OrderStateEnum": "orders.models.OrderState",
        "MessageStateEnum": "orders.models.MessageState",
        "SyncStateEnum": "orders.api.order_serializers.SYNC_CHOICES",
        "DestinationEnum": "orders.models.Destination",
        "TulaOrderStatusEnum": "orders.models.TulaOrderStatus",
    },
}

# --- Security (issue #7): production defaults that environment variables can only opt out of ----------------
# With DJANGO_DEBUG off every protection below is on; a plain-HTTP run with debug off (a local smoke test) sets
# DJANGO_SECURE_SSL_REDIRECT=0 and DJANGO_SECURE_COOKIES=0. Behind a load balancer that terminates TLS, set
# DJANGO_SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto, and only when the balancer overwrites that header on every
# request (else a client could claim HTTPS). DJANGO_CSRF_TRUSTED_ORIGINS lists https://host origins that reach
# the site under another name than its Host header (e.g. a balancer that rewrites Host).
_HTTPS = not DEBUG
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", _HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP and do not follow redirects
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31_536_000 if _HTTPS else 0)
# The dashboard's own subdomains (if any) are ours too, so they get HSTS. Preload is not ours to decide: it
# is submitted for the whole registrable domain by its owner and is hard to undo, so it stays off (W021 below).
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", _HTTPS)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # pages send the token from the template (hx-headers), no script reads the cookie
_proxy_header = env_str("DJANGO_SECURE_PROXY_SSL_HEADER")
if _proxy_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SILENCED_SYSTEM_CHECKS = ["security.W021"]  # HSTS preload: see SECURE_HSTS_PRELOAD
# Sign-out after inactivity: every request that is a person's doing moves the expiry on
# (orders.views.auth.SessionActivityMiddleware); the pages' own polling does not.
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_IDLE_SECONDS", 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = False

# Content Security Policy (django-csp 4): no inline scripts or styles anywhere; htmx's own style is off
# (base.html's htmx-config), charts are SVG files or CSS classes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Login protection (django-axes): 5 failures per (username, IP address) lock that pair out for 15 minutes;
# failures older than 15 minutes no longer count; a successful sign-in clears the pair's failures. State lives
# in the database, shared by every web process. Unlock: `manage.py axes_reset_username USERNAME` or the
# "Unlock" action on the admin's user list (docs/OPERATIONS.md).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the cool-off is 15 minutes from the lockout, not longer
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The address is REMOTE_ADDR (like OrderEvent's): behind a balancer that is the balancer's, so a lockout then
# holds for the username from everywhere. Forwarded headers are not trusted (a client could set them).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]
INSTALLED_APPS += ["axes", "csp"]
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "orders.views.auth.SessionActivityMiddleware")  # fmt: skip
MIDDLEWARE += ["csp.middleware.CSPMiddleware", "axes.middleware.AxesMiddleware"]  # axes: last, as it asks
LOGGING["loggers"]["axes"] = {"level": "WARNING"}  # failures and lockouts; not every successful sign-in

# Limits on input, pages and API alike (the services enforce the line count; forms and serializers the lengths).
ORDER_MAX_LINES = env_int("ORDER_MAX_LINES", 200)
# A form post carries ~6 fields per line: room for a whole order, not for a flood. Bodies stay at Django's 2.5 MB.
DATA_UPLOAD_MAX_NUMBER_FIELDS = ORDER_MAX_LINES * 6 + 200
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DJANGO_MAX_BODY_BYTES", 2_621_440)
