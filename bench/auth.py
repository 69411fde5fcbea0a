"""Benchmark of the authentication stack under gunicorn. Not a test.

Run:  .venv/bin/python bench/auth.py [--seconds 20]
Needs PostgreSQL and Redis on 127.0.0.1 (scripts/test starts them). It creates the database
`blahaj_bench`, serves the project with gunicorn (2 sync workers, production password hasher,
Redis cache) and measures, in one run:

(a) logins per second through the whole stack (HTTP, DRF, lockout and throttle bookkeeping,
    PBKDF2 check, token issue) against the rate at which this machine checks the same
    password hash in a tight loop, at the same concurrency (2). Target: >= 0.95.
(c) logins per second when YunoHost decides the password (YUNOHOST_PASSWORD_CHECK=ldap: a bind
    on a private slapd started here, yunohost_standins/slapd.py) against (a)'s logins on the
    local hash alone (the mean of (a)'s and a second measurement right after (c)): what asking
    YunoHost costs. Reported, no target.
(b) requests per second of GET /api/user/me with a valid token (JWT check, denylist lookup
    in Redis, cut-off, user query, serializer) against an unauthenticated DRF endpoint that
    returns a body of the same size, same server, same client. Target: >= 0.80.

(d) with --metrics, only this: GET /api/user/me with the Prometheus middleware (multiprocess
    mode, as under the systemd units) against the same server without it, alternated twice in
    one run. Target: >= 0.95.

The per-IP login throttle is raised for the run (its bookkeeping still runs): the benchmark
measures the cost of a login, not the limit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from yunohost_standins.slapd import PrivateSlapd  # noqa: E402 - needs ROOT on sys.path

DB_NAME = "blahaj_bench"
PG = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/14"
PASSWORD = "correct-horse-battery-staple-42"
CONCURRENCY = 2


def server_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": REDIS,
        "THROTTLE_LOGIN": "1000000/min",
        "BLAHAJ_TESTING": "false",
        "LOG_LEVEL": "WARNING",
        "YUNOHOST_PASSWORD_CHECK": "local",
    }
    env.update(extra)
    env.pop("BLAHAJ_FAST_HASHER", None)
    return env


def prepare_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    env = server_env()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    script = (
        "from accounts.models import User;"
        f"User.objects.create_user('benchuser', 'bench@example.org', {PASSWORD!r},"
        " display_name='Bench', status='active', on_yunohost=True)"
    )
    subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True)
    subprocess.run(["redis-cli", "-n", REDIS.rsplit("/", 1)[1], "flushdb"], check=True, capture_output=True)


def start_gunicorn(port: int, body_bytes: int, **extra: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "blahaj.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=server_env(BENCH_BODY_BYTES=str(body_bytes), **extra),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            request("GET", port, "/bench/same-size")
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def request(method: str, port: int, path: str, body: dict | None = None, token: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def _client(args: tuple) -> int:
    method, port, path, body, token, seconds = args
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, _ = request(method, port, path, body, token)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        done += 1
    return done


def http_rate(port: int, method: str, path: str, seconds: float, body=None, token=None) -> float:
    with mp.Pool(CONCURRENCY) as pool:
        start = time.monotonic()
        counts = pool.map(_client, [(method, port, path, body, token, seconds)] * CONCURRENCY)
        elapsed = time.monotonic() - start
    return sum(counts) / elapsed


def _hash_loop(args: tuple) -> int:
    encoded, seconds = args
    os.environ.update(server_env())
    import django

    django.setup()
    from django.contrib.auth.hashers import check_password

    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert check_password(PASSWORD, encoded)
        done += 1
    return done


def hash_rate(seconds: float) -> tuple[float, str]:
    os.environ.update(server_env())
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password

    encoded = make_password(PASSWORD)
    with mp.Pool(CONCURRENCY) as pool:
        start = time.monotonic()
        counts = pool.map(_hash_loop, [(encoded, seconds)] * CONCURRENCY)
        elapsed = time.monotonic() - start
    return sum(counts) / elapsed, encoded.split("$", 1)[0]


def _workers_cpu(master: int) -> float:
    """CPU seconds (user + system) the gunicorn master's workers used so far."""
    ticks = 0
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def metrics_overhead(port: int, seconds: float, rounds: int) -> None:
    """(d): /me with and without the metrics middleware, alternated `rounds` times, same run;
    the medians are compared (a shared machine's load drifts between measurements). Also the
    workers' CPU time per request, which other processes' load does not change."""
    rates: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as directory:
        for metered in (True, False) * rounds:
            extra = {"PROMETHEUS_MULTIPROC_DIR": directory} if metered else {"BENCH_NO_METRICS": "1"}
            server = start_gunicorn(port, 200, **extra)
            try:
                _, raw = request("POST", port, "/api/user/login", {"username": "benchuser", "password": PASSWORD})
                token = json.loads(raw)["access"]
                before, started = _workers_cpu(server.pid), time.monotonic()
                rate = http_rate(port, "GET", "/api/user/me", seconds, token=token)
                used, elapsed = _workers_cpu(server.pid) - before, time.monotonic() - started
                rates[metered].append(rate)
                cpu[metered].append(used / (rate * elapsed) * 1e6)
            finally:
                server.terminate()
                server.wait()
    cpu_with, cpu_without = statistics.median(cpu[True]), statistics.median(cpu[False])
    with_metrics, without = statistics.median(rates[True]), statistics.median(rates[False])
    print(
        f"\nblahaj metrics overhead: gunicorn 2 workers, concurrency {CONCURRENCY}, {seconds:.0f} s per "
        f"figure, {rounds} rounds each, medians"
    )
    print(f"{'(d) GET /api/user/me, metrics middleware':<52}{with_metrics:>12.1f}  {[round(r) for r in rates[True]]}")
    print(f"{'(d) GET /api/user/me, no metrics middleware':<52}{without:>12.1f}  {[round(r) for r in rates[False]]}")
    print(
        f"{'(d) workers CPU us per request, metrics middleware':<52}{cpu_with:>12.1f}  {[round(c) for c in cpu[True]]}"
    )
    print(f"{'(d) workers CPU us per request, no metrics':<52}{cpu_without:>12.1f}  {[round(c) for c in cpu[False]]}")
    print(f"ratio (d) with / without metrics = {with_metrics / without:.3f}  (target >= 0.95)")
    print(f"ratio (d) requests per worker CPU second, with / without = {cpu_without / cpu_with:.3f}  (target >= 0.95)")


def main() -> None:
    global DB_NAME, REDIS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="length of each measurement")
    parser.add_argument("--metrics", action="store_true", help="only (d): the metrics middleware's cost on /me")
    parser.add_argument("--rounds", type=int, default=3, help="(d): alternations of with and without metrics")
    parser.add_argument("--db-name", default=DB_NAME, help="the PostgreSQL database to create (dropped first)")
    parser.add_argument("--redis-db", type=int, default=14, help="the Redis database number (flushed)")
    options = parser.parse_args()
    seconds = options.seconds
    DB_NAME, REDIS = options.db_name, f"redis://127.0.0.1:6379/{options.redis_db}"

    prepare_database()
    port = 18000 + os.getpid() % 1000
    if options.metrics:
        metrics_overhead(port, seconds, options.rounds)
        return
    # First a server only to learn the size of /me's body, so the comparison body matches it.
    probe = start_gunicorn(port, 200)
    try:
        _, raw = request("POST", port, "/api/user/login", {"username": "benchuser", "password": PASSWORD})
        token = json.loads(raw)["access"]
        _, me_body = request("GET", port, "/api/user/me", token=token)
    finally:
        probe.terminate()
        probe.wait()
    server = start_gunicorn(port, len(me_body))
    try:
        _, same = request("GET", port, "/bench/same-size")
        assert len(same) == len(me_body), (len(same), len(me_body))
        hashes, algorithm = hash_rate(seconds)
        logins = http_rate(
            port, "POST", "/api/user/login", seconds, body={"username": "benchuser", "password": PASSWORD}
        )
        baseline = http_rate(port, "GET", "/bench/same-size", seconds)
        me = http_rate(port, "GET", "/api/user/me", seconds, token=token)
    finally:
        server.terminate()
        server.wait()
    body = {"username": "benchuser", "password": PASSWORD}
    slapd = PrivateSlapd().start()
    try:
        server = start_gunicorn(port, len(me_body), YUNOHOST_PASSWORD_CHECK="ldap", YUNOHOST_LDAP_URI=slapd.uri)
        try:
            # Proof that YunoHost decides: the directory does not know the user yet, so the
            # right local password is refused.
            refused, _ = request("POST", port, "/api/user/login", body)
            assert refused == 401, refused
            slapd.add_user("benchuser", PASSWORD)
            ldap_logins = http_rate(port, "POST", "/api/user/login", seconds, body=body)
        finally:
            server.terminate()
            server.wait()
    finally:
        slapd.stop()
    # The machine's speed drifts over a run: the local-hash logins again, right after (c), and
    # (c) is compared with the mean of both.
    server = start_gunicorn(port, len(me_body))
    try:
        logins_again = http_rate(port, "POST", "/api/user/login", seconds, body=body)
    finally:
        server.terminate()
        server.wait()
    local_logins = (logins + logins_again) / 2

    print(
        f"\nblahaj auth benchmark: gunicorn 2 workers, PostgreSQL + Redis, concurrency {CONCURRENCY}, "
        f"{seconds:.0f} s per figure, hasher {algorithm}, body {len(me_body)} bytes"
    )
    print(f"{'figure':<52}{'per second':>12}")
    print(f"{'(a) password hash checks, tight loop':<52}{hashes:>12.2f}")
    print(f"{'(a) POST /api/user/login through the stack':<52}{logins:>12.2f}")
    print(f"{'(c) POST /api/user/login, YunoHost decides (LDAP)':<52}{ldap_logins:>12.2f}")
    print(f"{'(c) POST /api/user/login, local hash, after (c)':<52}{logins_again:>12.2f}")
    print(f"{'(b) GET unauthenticated DRF endpoint, same body size':<52}{baseline:>12.1f}")
    print(f"{'(b) GET /api/user/me with a valid access token':<52}{me:>12.1f}")
    print(f"ratio (a) logins / hash checks = {logins / hashes:.3f}  (target >= 0.95)")
    print(f"ratio (b) me / unauthenticated = {me / baseline:.3f}  (target >= 0.80)")
    print(f"ratio (c) logins via LDAP / logins on the local hash = {ldap_logins / local_logins:.3f}  (reported)")


if __name__ == "__main__":
    main()
