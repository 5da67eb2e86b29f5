"""Celery autodiscovery looks for ``<app>.tasks``: the cockpit's tasks live in cockpit.screen."""

from cockpit.screen.tasks import consultation_build_task, rollups_compact_task  # noqa: F401
