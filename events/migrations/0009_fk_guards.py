"""Case.category, Case.grid and CaseLog.case lose their database constraint (a lookup per
inserted row); BEFORE DELETE triggers refuse deleting what is still referred to (events.guards)."""

import django.db.models.deletion
from django.db import migrations, models

from events import guards


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0008_category_icon_names'),
        ('grids', '0003_positions_prune_schedule'),
    ]

    operations = [
        migrations.RunSQL(guards.install_sql(), guards.drop_sql()),
        migrations.AlterField(
            model_name='case',
            name='category',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='events.category', verbose_name='类别'),
        ),
        migrations.AlterField(
            model_name='case',
            name='grid',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='grids.node', verbose_name='网格'),
        ),
        migrations.AlterField(
            model_name='caselog',
            name='case',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='log', to='events.case'),
        ),
    ]
