"""Celery shells for the safety codes. Schedules live in django_celery_beat's tables
(migration 0002): nightly recompute 02:20, re-inspection plan 02:40, overdue sweep hourly."""

import logging

from celery import shared_task
from django.utils import timezone

from safetycode import scoring, services
from safetycode.imports import sites_import
from safetycode.models import ImportJob

log = logging.getLogger(__name__)


@shared_task(name="safetycode.tasks.sites_import")
def sites_import_task(job_id: int) -> str:
    """Bulk import (all or nothing); progress and row errors are written to the ImportJob."""
    try:
        job = sites_import(job_id=job_id)
    except Exception:
        log.exception("safety import %s crashed", job_id)
        ImportJob.objects.filter(id=job_id).update(
            status=ImportJob.Status.FAILED,
            finished_at=timezone.now(),
            errors=[{"row": 0, "fields": {"file": ["导入过程出错，未导入任何数据。"]}}],
        )
        raise
    return job.status


@shared_task(name="safetycode.tasks.scores_recompute_all")
def scores_recompute_all() -> int:
    """Nightly: every site's score, code and factors in one set-based statement."""
    n = scoring.scores_recompute()
    log.info("safety codes recomputed for %d sites", n)
    return n


@shared_task(name="safetycode.tasks.reinspections_plan")
def reinspections_plan() -> int:
    return services.reinspections_plan()


@shared_task(name="safetycode.tasks.overdue_sweep")
def overdue_sweep() -> dict:
    """Missed re-inspections become overdue; overdue hazards open cases in the events app."""
    marked = services.tasks_mark_overdue()
    cases = services.hazards_escalate()
    return {"tasks_overdue": marked, "cases": len(cases)}
