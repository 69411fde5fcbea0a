"""The second factor's devices now belong to the `mfa` app (mfa 0001 took them over with their
tables): they leave accounts' state; the database is not touched."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0018_user_email_undeliverable"),
        ("mfa", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="recoverycode", name="device"),
                migrations.RemoveField(model_name="recoverycodes", name="user"),
                migrations.DeleteModel(name="AuthenticatorApp"),
                migrations.DeleteModel(name="RecoveryCode"),
                migrations.DeleteModel(name="RecoveryCodes"),
            ],
            database_operations=[],
        ),
    ]
