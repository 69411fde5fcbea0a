"""On PostgreSQL, the database itself keeps the audit log append-only (see audit/models.py).

A row-level trigger: UPDATE is always refused; DELETE only of rows older than the cutoff the prune
set for its own transaction (`blahaj.audit_prune_before`, with set_config(..., true)). TRUNCATE,
which Django's `flush` and the test runner use to empty every table, fires no row trigger and
stays the table owner's. SQLite (development and the first test pass) relies on the model alone:
its flush is a DELETE, which a trigger there would refuse.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND OLD.at < NULLIF(current_setting('blahaj.audit_prune_before', true), '')::timestamptz THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit rows are append-only: % refused on audit entry %', TG_OP, OLD.id
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Old rows are pruned by audit.services.audit_prune.';
END
$$;
CREATE TRIGGER audit_entry_append_only
    BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_entry_append_only();
"""


def _on_postgresql(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)  # no parameters: the % in RAISE stay as they are

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP), elidable=False)]
