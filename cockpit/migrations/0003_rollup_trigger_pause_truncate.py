"""The rollup trigger again (CREATE OR REPLACE): a per-session pause for bulk loads, and
TRUNCATE of events_case empties the rollups too. Idempotent after 0002 on a fresh database."""

from django.db import migrations

from cockpit.screen.rollups import TRIGGER_SQL


class Migration(migrations.Migration):
    dependencies = [("cockpit", "0002_rollup_trigger")]

    operations = [
        migrations.RunSQL(TRIGGER_SQL, migrations.RunSQL.noop),
    ]
