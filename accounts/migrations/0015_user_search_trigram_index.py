"""On PostgreSQL, a trigram index on `User.search_text`, so that staff search (`LIKE '%term%'`,
accounts.selectors.users_matching) reads the index instead of every row.

PostgreSQL only: SQLite keeps its scan (the development database). pg_trgm ships with PostgreSQL
and is a trusted extension, so the database's owner may create it; where it may not, the
migration says so and goes on without the index (search still works, by a scan).
"""

from django.db import DatabaseError, migrations, transaction

INDEX = "accounts_user_search_trgm"


def create_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", None)
    except DatabaseError as error:
        print(f"\n  pg_trgm is not available ({error}); staff search goes on without its index.")
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON accounts_user USING gin (search_text gin_trgm_ops)", None
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}", None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0014_user_on_yunohost")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
