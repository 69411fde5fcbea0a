"""Benchmark of the staff lists over 100,000 accounts. Not a test.

Run:  .venv/bin/python bench/admin.py [--users 100000] [--requests 30]
Needs PostgreSQL and Redis on 127.0.0.1 (scripts/test starts them). It creates the database
`blahaj_bench_admin`, bulk-creates the accounts (one INSERT per 5,000 rows) and times, through
Django's full request stack in this process (middleware, session or JWT auth, the admin or DRF,
templates or JSON; no network):

  - the admin user changelist (`/admin/accounts/user/`), page 1 and a page deep in the list;
  - its search (`?q=`), a rare term and a term every account matches;
  - the staff API `GET /api/users/?search=`, the same two terms;

each with 50 and then 200 rows per page: median and p95 over N requests, and the SQL query
count of one page, which must not grow with the page size. Target: every page of 50 rows (what
staff get) answers in < 300 ms at p95.

Then the rare-term searches again, with the trigram index on `search_text` (migration
accounts/0015) and, as the baseline in the same run, with it dropped for the measurement (and
made again after): the ratio of the medians is what the index buys.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "blahaj_bench_admin"
PG = "postgres://postgres@127.0.0.1:5432"
REDIS_DB = 12
TARGET_MS = 300.0
# The target holds at the page size staff get (the admin's list_per_page, the API's PAGE_SIZE);
# 200 rows per page is there to show that the query count does not grow with it.
DEFAULT_PAGE_SIZE = 50
BATCH = 5000


def configure() -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "blahaj.settings",
            "DJANGO_SECRET_KEY": "bench-secret-key-" + "x" * 40,
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": f"{PG}/{DB_NAME}",
            "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
            "BLAHAJ_TESTING": "false",
            "LOG_LEVEL": "WARNING",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            # The lists are measured, not the second factor's step: the bench's staff has none.
            "STAFF_REQUIRE_MFA": "false",
        }
    )


def prepare_database(users: int) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def populate(users: int) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from tiers.models import Tier

    call_command("migrate", verbosity=0)
    tier = Tier.objects.get_or_create(
        slug="starter", defaults={"name": "Starter", "max_websites": 1, "mailbox_quota": "500M", "is_default": True}
    )[0]
    statuses = [User.Status.ACTIVE] * 8 + [User.Status.PENDING_APPROVAL, User.Status.DISABLED]
    now = timezone.now()
    started = time.perf_counter()
    for start in range(0, users, BATCH):
        User.objects.bulk_create(
            [
                User(
                    username=f"user{n:06d}",
                    display_name=f"Person {n}",
                    email=f"person{n}@example.org",
                    discord_username=f"discord{n}" if n % 3 == 0 else "",
                    tier=tier,
                    status=statuses[n % len(statuses)],
                    password="!unusable",
                    date_joined=now,
                )
                for n in range(start, min(start + BATCH, users))
            ]
        )
    User.objects.create_superuser("benchstaff", "staff@example.org", "unused-pass-phrase-1", display_name="Staff")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"{users} accounts bulk-created in {time.perf_counter() - started:.1f} s")


def measure(client, url: str, requests: int) -> tuple[float, float, int]:
    from django.db import connection

    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    client.get(url)  # warm: the JWT check caches the staff user in Redis on its first use
    # Counted on the connection, whatever the request does to its query log.
    with connection.execute_wrapper(count):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return statistics.median(timings), p95, len(queries)


def set_page_size(size: int) -> None:
    from django.contrib import admin
    from rest_framework.pagination import PageNumberPagination

    from accounts.models import User

    # On the registered admin's class: Django reads list_per_page as a class setting.
    type(admin.site._registry[User]).list_per_page = size
    PageNumberPagination.page_size = size


def run(users: int, requests: int) -> bool:
    from django.test import Client
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User

    staff = User.objects.get(username="benchstaff")
    admin_client = Client()
    admin_client.force_login(staff)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(staff)}")
    deep = users // 2 // 50
    pages = [
        ("admin changelist, page 1", admin_client, "/admin/accounts/user/"),
        (f"admin changelist, page {deep}", admin_client, f"/admin/accounts/user/?p={deep}"),
        ("admin search, rare term", admin_client, "/admin/accounts/user/?q=user04217"),
        ("admin search, every row matches", admin_client, "/admin/accounts/user/?q=person"),
        ("API search, rare term", api, "/api/users/?search=user04217"),
        ("API search, every row matches", api, "/api/users/?search=person"),
        (f"API list, page {deep}", api, f"/api/users/?page={deep}"),
    ]
    ok = True
    print(f"\n{'page':38} {'rows/page':>9} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    counts: dict[str, set[int]] = {}
    for label, client, url in pages:
        for size in (50, 200):
            set_page_size(size)
            page_url = url.replace(f"={deep}", f"={deep * 50 // size}") if str(deep) in url else url
            median, p95, queries = measure(client, page_url, requests)
            counts.setdefault(label, set()).add(queries)
            if size == DEFAULT_PAGE_SIZE:
                ok &= p95 < TARGET_MS
            print(f"{label:38} {size:>9} {median:>10.1f} {p95:>8.1f} {queries:>8}")
    constant = all(len(seen) == 1 for seen in counts.values())
    print(
        f"\nEvery page of {DEFAULT_PAGE_SIZE} rows p95 < {TARGET_MS:.0f} ms: {'yes' if ok else 'NO'}; "
        f"query count independent of the page size: {'yes' if constant else 'NO'}"
    )
    return ok and constant


def compare_trigram_index(requests: int) -> None:
    from django.db import connection
    from django.test import Client
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User

    index = "accounts_user_search_trgm"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [index])
        if cursor.fetchone() is None:
            print(f"\nNo {index} (pg_trgm missing?): no comparison.")
            return
        cursor.execute("SELECT pg_get_indexdef(%s::regclass)", [index])
        definition = cursor.fetchone()[0]
    set_page_size(DEFAULT_PAGE_SIZE)
    staff = User.objects.get(username="benchstaff")
    admin_client = Client()
    admin_client.force_login(staff)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(staff)}")
    searches = [
        ("admin search, rare term", admin_client, "/admin/accounts/user/?q=user04217"),
        ("API search, rare term", api, "/api/users/?search=user04217"),
    ]
    with_index = {label: measure(client, url, requests)[0] for label, client, url in searches}
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {index}")
    try:
        without = {label: measure(client, url, requests)[0] for label, client, url in searches}
    finally:
        with connection.cursor() as cursor:
            cursor.execute(definition)
    print(f"\n{'search (50 rows/page)':38} {'index ms':>9} {'scan ms':>8} {'scan/index':>11}")
    for label, _, _ in searches:
        print(
            f"{label:38} {with_index[label]:>9.1f} {without[label]:>8.1f} {without[label] / with_index[label]:>11.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep the database of an earlier run")
    args = parser.parse_args()
    configure()
    if not args.reuse:
        prepare_database(args.users)
    import django

    django.setup()
    if not args.reuse:
        populate(args.users)
    ok = run(args.users, args.requests)
    compare_trigram_index(args.requests)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
