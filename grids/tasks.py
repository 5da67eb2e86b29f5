"""Celery shells for the territory."""

import logging

from celery import shared_task

from grids import services

log = logging.getLogger(__name__)


@shared_task(name="grids.tasks.positions_prune")
def positions_prune() -> int:
    """Nightly (Celery beat, scheduled by migration 0003): drop position history past retention."""
    deleted = services.positions_prune()
    log.info("positions_prune deleted %d rows", deleted)
    return deleted
