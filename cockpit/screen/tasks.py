"""Beat tasks: the 08:00 daily consultation (schedule in django_celery_beat, made by migration
cockpit 0002; the time is edited in the admin under Periodic tasks → Crontabs), the hourly
fold of past days' rollup counter slots and the settling of new cases' counts every few seconds
(settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task


@shared_task(name="cockpit.consultation_build")
def consultation_build_task() -> str:
    from cockpit.screen.consultation import consultation_build

    record = consultation_build()
    return record.day.isoformat()


@shared_task(name="cockpit.rollups_settle")
def rollups_settle_task() -> int:
    from cockpit.screen.rollups import rollups_settle

    return rollups_settle()


@shared_task(name="cockpit.rollups_compact")
def rollups_compact_task() -> int:
    from cockpit.screen.rollups import rollups_compact

    return rollups_compact()
