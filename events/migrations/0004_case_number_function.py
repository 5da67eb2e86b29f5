from django.db import migrations, models

import events.models

from events.migrations_sql import CASE_NUMBER_FUNCTION as FUNCTION


class Migration(migrations.Migration):
    dependencies = [("events", "0003_taxonomy")]

    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION IF EXISTS events_case_number()"),
        migrations.AlterField(
            model_name="case",
            name="number",
            field=models.CharField(
                db_default=events.models.NextCaseNumber(),
                editable=False,
                max_length=24,
                unique=True,
                verbose_name="编号",
            ),
        ),
    ]
