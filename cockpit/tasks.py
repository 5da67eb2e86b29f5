"""Celery autodiscovery looks for ``<app>.tasks``: the cockpit's tasks live in cockpit.screen."""

from cockpit.screen.tasks import (  # noqa: F401
    consultation_build_task,
    rollups_compact_task,
    rollups_settle_task,
)
