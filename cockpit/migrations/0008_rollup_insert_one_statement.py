"""The INSERT rollup trigger upserts every rollup table in one statement instead of one per
table (cockpit.screen.rollups.INSERT_SQL): the same counts, fewer executor start-ups per report.

Reverse: nothing to undo; the function it replaced counted the same way."""

from django.db import migrations

from cockpit.screen.rollups import INSERT_SQL


class Migration(migrations.Migration):
    dependencies = [("cockpit", "0007_rollup_insert_statement_trigger")]

    operations = [migrations.RunSQL(INSERT_SQL, migrations.RunSQL.noop)]
