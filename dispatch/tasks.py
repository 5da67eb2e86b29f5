"""Celery tasks of the dispatch side. Routing is idempotent (a claimed case is never routed
twice), so it acknowledges late and retries with backoff: a worker killed mid-task, or a
database blip, delays a case but never loses it; the sweeper catches anything still left.

New reports wake ``route_pending`` (one message per wake-up, not per case; see
events.services.routing_wake), which routes every un-routed case in batches. ``case_route``
routes one case: the sweeper uses it for cases a lost wake-up left behind."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

log = logging.getLogger(__name__)

# Both routing tasks: acknowledged only when done, retried with backoff while the database or the
# broker is away (routing is idempotent, so a repeat does nothing twice).
ROUTING_TASK = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, ConnectionError),
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "max_retries": None,
}


@shared_task(name="dispatch.tasks.case_route", **ROUTING_TASK)
def case_route(case_id: int) -> None:
    from dispatch.services import case_route as route

    route(case_id=case_id)


@shared_task(name="dispatch.tasks.route_pending", **ROUTING_TASK)
def route_pending() -> int:
    """Route every un-routed case (woken by events.services.routing_wake after new reports)."""
    from dispatch.services import route_pending as route

    return route()


@shared_task(name="dispatch.tasks.route_sweep", acks_late=True)
def route_sweep(older_than_seconds: int | None = None) -> int:
    """Re-queue every case left un-routed (its task lost to a broker outage)."""
    from events.selectors import cases_unrouted

    if older_than_seconds is None:
        older_than_seconds = settings.ROUTE_SWEEP_AGE_SECONDS
    ids = list(
        cases_unrouted(older_than=timezone.now() - timedelta(seconds=older_than_seconds))
        .order_by("reported_at")
        .values_list("id", flat=True)[:1000]
    )
    for case_id in ids:
        case_route.delay(case_id)
    if ids:
        log.info("route_sweep re-queued %d cases", len(ids))
    return len(ids)


@shared_task(name="dispatch.tasks.escalate_overdue")
def escalate_overdue() -> int:
    from dispatch.services import escalate_overdue as escalate

    return escalate()


from dispatch.exports import export_build  # noqa: F401,E402
