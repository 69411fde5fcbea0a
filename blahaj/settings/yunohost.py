"""YunoHost: the client, who decides a password, the certificates, and the lane's timing."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .environment import BASE_DIR, DATA_DIR, DEBUG, TESTING, env_bool, env_int, env_list, env_str

YUNOHOST_BACKEND = env_str("YUNOHOST_BACKEND", "cli")
_EMULATOR_BIN = str(BASE_DIR / "yunohost_emulator" / "bin" / "yunohost")
YUNOHOST_BIN = env_str("YUNOHOST_BIN", _EMULATOR_BIN if (DEBUG or TESTING) else "yunohost")
YUNOHOST_EMULATOR_STATE = env_str("YUNOHOST_EMULATOR_STATE", str(DATA_DIR / "yunohost-emulator.json"))
YUNOHOST_API_URL = env_str("YUNOHOST_API_URL")
YUNOHOST_API_PASSWORD = env_str("YUNOHOST_API_PASSWORD")
# A private CA's bundle (PEM) for the API's certificate; empty: the system's CAs. Never "no verification".
YUNOHOST_API_CA_BUNDLE = env_str("YUNOHOST_API_CA_BUNDLE")
YUNOHOST_API_CONNECT_TIMEOUT = env_int("YUNOHOST_API_CONNECT_TIMEOUT", 10)
# The YunoHost major version the client talks to: "12" (12.x) or "11" (11.2/11.3).
YUNOHOST_VERSION = env_str("YUNOHOST_VERSION", "12")
YUNOHOST_DOMAIN = env_str("YUNOHOST_DOMAIN", "blahaj.land")
YUNOHOST_TIMEOUT = env_int("YUNOHOST_TIMEOUT", 300)
YUNOHOST_LOCK_TIMEOUT = env_int("YUNOHOST_LOCK_TIMEOUT", 5)
# YunoHost's global lock file, read (cli backend) to know when a command of unknown outcome ended;
# empty: /var/run/moulinette_yunohost.lock, or the emulator's beside its state.
YUNOHOST_LOCK_FILE = env_str("YUNOHOST_LOCK_FILE", "")
YUNOHOST_PORTAL_URL = env_str("YUNOHOST_PORTAL_URL", f"https://{YUNOHOST_DOMAIN}/yunohost/sso/")
# Who decides an active member's password (docs/yunohost.md §9): "ldap", a bind on YunoHost's
# slapd (this service on the YunoHost server); "portal", a login on YunoHost 12's portal API
# (another host); "local", the hash here only (the development and test default: no YunoHost).
# (An empty variable means the default, as in .env.example.)
YUNOHOST_PASSWORD_CHECK = env_str("YUNOHOST_PASSWORD_CHECK") or ("local" if (DEBUG or TESTING) else "ldap")
YUNOHOST_LDAP_URI = env_str("YUNOHOST_LDAP_URI") or "ldap://127.0.0.1:389"
YUNOHOST_PORTAL_API_URL = env_str("YUNOHOST_PORTAL_API_URL") or f"https://{YUNOHOST_DOMAIN}/yunohost/portalapi/"
# Seconds to connect and, again, to hear back; then YunoHost counts as unreachable.
YUNOHOST_PASSWORD_TIMEOUT = env_int("YUNOHOST_PASSWORD_TIMEOUT", 2)
# When YunoHost cannot be asked: "local" (the hash here decides, with a warning) or "refuse" (503).
YUNOHOST_PASSWORD_UNREACHABLE = env_str("YUNOHOST_PASSWORD_UNREACHABLE") or "local"
# fail2ban's yunohost-portal jail bans an address after 20 failed portal logins in 600 s, and every
# portal question comes from this service: past this many failures within this window, YunoHost
# is not asked (unreachable, as above) until the window moved on. Keep the limit under 20.
YUNOHOST_PORTAL_FAIL_LIMIT = env_int("YUNOHOST_PORTAL_FAIL_LIMIT", 15)
YUNOHOST_PORTAL_FAIL_WINDOW = env_int("YUNOHOST_PORTAL_FAIL_WINDOW", 600)
# YunoHost's password policy (yunohost_client/password_policy.py): its list of common passwords
# (a copy, when this service runs on another host; without it only the rules below apply) and
# the level of its `security.password.user_strength` setting (1 to 4, -1 turns it off).
YUNOHOST_PASSWORD_LIST = env_str("YUNOHOST_PASSWORD_LIST") or (
    str(BASE_DIR / "yunohost_emulator" / "most-used-passwords.txt")
    if (DEBUG or TESTING)
    else "/usr/share/yunohost/100000-most-used-passwords-length8plus.txt"
)
YUNOHOST_PASSWORD_STRENGTH = env_int("YUNOHOST_PASSWORD_STRENGTH", 1)
if YUNOHOST_PASSWORD_STRENGTH not in (-1, 1, 2, 3, 4):
    raise ImproperlyConfigured("YUNOHOST_PASSWORD_STRENGTH must be 1, 2, 3, 4 or -1 (no check), as YunoHost's.")
if YUNOHOST_PASSWORD_CHECK not in ("ldap", "portal", "local"):
    raise ImproperlyConfigured("YUNOHOST_PASSWORD_CHECK must be ldap, portal or local.")
if YUNOHOST_PASSWORD_UNREACHABLE not in ("local", "refuse"):
    raise ImproperlyConfigured("YUNOHOST_PASSWORD_UNREACHABLE must be local or refuse.")

# Let's Encrypt through YunoHost (docs/yunohost.md §10.1). Before asking for a certificate the
# lane checks that the name resolves (A/AAAA, WEBSITES_DNS_RESOLVERS) to the server's public
# addresses: YUNOHOST_PUBLIC_IPS (comma-separated), or else what YUNOHOST_DOMAIN resolves to. Off by
# default in development and tests, where no public DNS is reached.
YUNOHOST_CERT_DNS_CHECK = env_bool("YUNOHOST_CERT_DNS_CHECK", not (DEBUG or TESTING))
YUNOHOST_PUBLIC_IPS = env_list("YUNOHOST_PUBLIC_IPS", "")
# Seconds between two Let's Encrypt attempts for one name, after each failed one; then the step
# fails (staff can retry it). Let's Encrypt allows 5 failed validations per name per hour.
YUNOHOST_CERT_RETRY_SCHEDULE = [
    int(value) for value in env_list("YUNOHOST_CERT_RETRY_SCHEDULE", "900,3600,10800,21600,43200")
]
# While the name does not point at the server: the wait before the next DNS check (no attempt is
# spent), growing with the time waited (a quarter of it) up to the max. It never gives up.
YUNOHOST_CERT_DNS_RECHECK = env_int("YUNOHOST_CERT_DNS_RECHECK", 900)
YUNOHOST_CERT_DNS_RECHECK_MAX = env_int("YUNOHOST_CERT_DNS_RECHECK_MAX", 6 * 3600)
if not YUNOHOST_CERT_RETRY_SCHEDULE or any(delay < 720 for delay in YUNOHOST_CERT_RETRY_SCHEDULE):
    raise ImproperlyConfigured(
        "YUNOHOST_CERT_RETRY_SCHEDULE needs at least one delay, each of 720 s or more: Let's Encrypt "
        "allows 5 failed validations per name per hour."
    )

# The lane (provisioning/services/, provisioning/locks.py): retries, heartbeat and sweeper.
# All durations are in seconds.
# Real tries of one operation before it fails (a busy YunoHost does not count as one).
YUNOHOST_MAX_ATTEMPTS = env_int("YUNOHOST_MAX_ATTEMPTS", 5)
# Wait before retrying a transient failure: this, doubled after each attempt, up to the max.
YUNOHOST_RETRY_BACKOFF = env_int("YUNOHOST_RETRY_BACKOFF", 10)
YUNOHOST_RETRY_BACKOFF_MAX = env_int("YUNOHOST_RETRY_BACKOFF_MAX", 600)
# Wait after YunoHost answered "another operation is running" (its own lock): same doubling.
YUNOHOST_BUSY_BACKOFF = env_int("YUNOHOST_BUSY_BACKOFF", 2)
YUNOHOST_BUSY_BACKOFF_MAX = env_int("YUNOHOST_BUSY_BACKOFF_MAX", 60)
# How long a task waits for the lane (another of our commands running) before re-queueing itself.
YUNOHOST_LANE_WAIT = env_int("YUNOHOST_LANE_WAIT", 10)
# Once it holds the lane, a task goes on with the next runnable operations for this long (0: one).
YUNOHOST_LANE_DRAIN = env_int("YUNOHOST_LANE_DRAIN", 5)
# The lane lock expires this long after YUNOHOST_TIMEOUT, should its holder die mid-command.
YUNOHOST_LANE_LOCK_MARGIN = env_int("YUNOHOST_LANE_LOCK_MARGIN", 30)
# Embedded mode (no REDIS_URL): the lane lock is an flock on this file.
YUNOHOST_LANE_LOCK_FILE = env_str("YUNOHOST_LANE_LOCK_FILE", str(DATA_DIR / "yunohost-lane.lock"))
# A running operation refreshes its heartbeat this often; the sweeper (every
# YUNOHOST_SWEEP_INTERVAL) takes back one whose heartbeat is older than YUNOHOST_HEARTBEAT_STALE.
YUNOHOST_HEARTBEAT_INTERVAL = env_int("YUNOHOST_HEARTBEAT_INTERVAL", 10)
YUNOHOST_HEARTBEAT_STALE = env_int("YUNOHOST_HEARTBEAT_STALE", 60)
# The sweeper re-queues a pending operation due for longer than this (its message was lost),
# at most this many per sweep.
YUNOHOST_SWEEP_GRACE = env_int("YUNOHOST_SWEEP_GRACE", 60)
YUNOHOST_SWEEP_BATCH = env_int("YUNOHOST_SWEEP_BATCH", 500)
# The name of the YunoHost server the lane drives (its `lane:<name>` readiness check).
YUNOHOST_SERVER_NAME = env_str("YUNOHOST_SERVER_NAME") or "main"
# A worker consuming the lane's queue writes a heartbeat this often; /readyz fails the lane when
# none was written for the stale time (fleet/health.py).
YUNOHOST_WORKER_HEARTBEAT_INTERVAL = env_int("YUNOHOST_WORKER_HEARTBEAT_INTERVAL", 10)
YUNOHOST_WORKER_HEARTBEAT_STALE = env_int("YUNOHOST_WORKER_HEARTBEAT_STALE", 30)
# /readyz asks YunoHost whether it answers at most this often (seconds).
YUNOHOST_PING_INTERVAL = env_int("YUNOHOST_PING_INTERVAL", 30)
if YUNOHOST_HEARTBEAT_STALE <= 2 * YUNOHOST_HEARTBEAT_INTERVAL:
    raise ImproperlyConfigured(
        "YUNOHOST_HEARTBEAT_STALE must be more than twice YUNOHOST_HEARTBEAT_INTERVAL, or the "
        "sweeper would take back operations that are still running."
    )
