# Make sure the services the suite talks to are running; start them if not.
die() { echo "scripts/test: $*" >&2; exit 1; }

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return; fi
  echo "==> starting PostgreSQL"
  command -v pg_ctlcluster >/dev/null || die "PostgreSQL is not running on 127.0.0.1:5432 and pg_ctlcluster is not installed."
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start \
    || die "could not start PostgreSQL (pg_ctlcluster failed)."
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return; sleep 1; done
  die "PostgreSQL did not accept connections on 127.0.0.1:5432 within 30 s."
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return; fi
  echo "==> starting Redis"
  command -v redis-server >/dev/null || die "Redis is not running on 127.0.0.1:6379 and redis-server is not installed."
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || die "could not start Redis."
  for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return; sleep 1; done
  die "Redis did not answer on 127.0.0.1:6379 within 30 s."
}

ensure_chromium() {
  # The browser tests drive Debian's Chromium through Selenium's chromedriver.
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then return; fi
  echo "==> installing Debian's chromium and chromium-driver for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
    || die "could not install chromium and chromium-driver with apt-get."
}

ensure_bwrap() {
  # Static site builds run in a bubblewrap sandbox (publishing/sandbox.py): Debian's bubblewrap.
  command -v bwrap >/dev/null && return
  echo "==> installing Debian's bubblewrap for the build sandbox tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null) \
    || die "could not install bubblewrap with apt-get."
}

ensure_slapd() {
  # The password tests start a private slapd (yunohost_standins/slapd.py): Debian's slapd and,
  # for the emulator's LDAP mirror, ldapmodify. Installing slapd does not need it to run.
  if command -v slapd >/dev/null || [ -x /usr/sbin/slapd ]; then
    command -v ldapmodify >/dev/null && return
  fi
  echo "==> installing Debian's slapd and ldap-utils for the password tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils >/dev/null) \
    || die "could not install slapd and ldap-utils with apt-get."
}
