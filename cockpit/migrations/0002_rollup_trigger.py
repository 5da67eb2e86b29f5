"""The rollup trigger on events_case, the six index definitions and the 08:00 consultation."""

from django.db import migrations

from cockpit.screen.rollups import TRIGGER_DROP_SQL, TRIGGER_SQL

DEFAULT_INDICES = [
    ("public_security", "社会治安", "L0006,L0009,L0010,09003", "110"),
    ("fire", "消防安全", "L0001,L0002,L0003,09012,01013,01011", "119"),
    ("traffic", "道路交通", "L0005,L0011,09009,09010,09011,02", ""),
    ("work_safety", "安全生产", "L0008,08002,08003,08004,08005,08011,08016,10002,01023", ""),
    ("disputes", "矛盾纠纷", "L0007,06028,06027,08001,L0015", "12345"),
    ("environment", "城市环境", "01,03,04,05,06,07,09,10,L0012", "resident,video_ai"),
]
TASK_NAME = "每日会商 (daily consultation)"


def defaults(apps, schema_editor):
    IndexDefinition = apps.get_model("cockpit", "IndexDefinition")
    for sort, (key, name, codes, sources) in enumerate(DEFAULT_INDICES):
        IndexDefinition.objects.get_or_create(
            key=key,
            defaults={"name": name, "category_codes": codes, "sources": sources, "sort": sort},
        )
    # 08:00 Asia/Shanghai; the time is edited in the admin (Periodic tasks → Crontabs).
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute="0",
        hour="8",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="Asia/Shanghai",
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "cockpit.consultation_build", "crontab": schedule, "enabled": True},
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cockpit", "0001_rollups"),
        ("events", "0003_taxonomy"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunSQL(TRIGGER_SQL, TRIGGER_DROP_SQL),
        migrations.RunPython(defaults, remove),
    ]
