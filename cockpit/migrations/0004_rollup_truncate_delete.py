"""The TRUNCATE trigger empties the rollups with DELETE (a flush truncates them in the same
statement; a nested TRUNCATE of those tables fails)."""

from django.db import migrations

from cockpit.screen.rollups import TRUNCATE_SQL


class Migration(migrations.Migration):
    dependencies = [("cockpit", "0003_rollup_trigger_pause_truncate")]

    operations = [migrations.RunSQL(TRUNCATE_SQL, migrations.RunSQL.noop)]
