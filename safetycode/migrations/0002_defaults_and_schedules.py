"""Ship the defaults: the eight scenes' checklists, the default scoring model, and the Celery beat
schedules (in django_celery_beat's database, where an admin can change or pause them):
nightly set-based recompute, the daily re-inspection plan, and the hourly overdue sweep that
marks missed tasks and opens cases for overdue hazards."""

from django.db import migrations

SCENE_BASE = {
    "shop": 5,
    "key_place": 10,
    "rental": 8,
    "hazchem": 20,
    "labour": 10,
    "construction": 15,
    "crowded": 12,
    "office": 3,
}

SCHEDULES = [
    # name, task, minute, hour, description
    ("safetycode.recompute_all", "safetycode.tasks.scores_recompute_all", "20", "2", "平安码：夜间全量重新赋码"),
    ("safetycode.reinspections_plan", "safetycode.tasks.reinspections_plan", "40", "2", "平安码：生成复查任务"),
    ("safetycode.overdue_sweep", "safetycode.tasks.overdue_sweep", "5", "*", "平安码：逾期复查与逾期隐患转事件"),
]


def forwards(apps, schema_editor):
    from safetycode.scenes import CHECKLISTS

    ChecklistItem = apps.get_model("safetycode", "ChecklistItem")
    ScoreModel = apps.get_model("safetycode", "ScoreModel")
    for scene, items in CHECKLISTS.items():
        for sort, (code, text, text_en, weight, level) in enumerate(items, start=1):
            ChecklistItem.objects.get_or_create(
                scene=scene,
                code=code,
                defaults={
                    "text": text,
                    "text_en": text_en,
                    "weight": weight,
                    "hazard_answers": ["no"],
                    "hazard_level": level,
                    "rectify_days": 3 if level == "major" else 7,
                    "sort": sort * 10,
                },
            )
    if not ScoreModel.objects.exists():
        ScoreModel.objects.create(
            name="默认评分模型", scene_base=SCENE_BASE, grid_case_majors=["平安综治", "应急处置"]
        )
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour, description in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*",
            timezone="Asia/Shanghai",
        )
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "crontab": crontab, "description": description}
        )


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[s[0] for s in SCHEDULES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("safetycode", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
