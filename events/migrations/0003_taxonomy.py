"""Ship the taxonomy (categories, deadline policies, the 2026 working calendar) with `migrate`."""

from django.db import migrations


def load(apps, schema_editor):
    from events.taxonomy import taxonomy_load

    taxonomy_load(apps=apps)


class Migration(migrations.Migration):
    dependencies = [("events", "0002_deadline_joint_step")]

    # Reversing leaves the rows: cases may refer to the categories.
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
