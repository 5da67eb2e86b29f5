"""Small helpers for the accounts tests."""

import io

from django.core.management import call_command

from accounts.models import AuditLog


def events(**filters) -> list[tuple[str, str, bool]]:
    """(event, username, success) of the audit records, oldest first."""
    return list(
        AuditLog.objects.filter(**filters)
        .order_by("id")
        .values_list("event", "username", "success")
    )


def run(command: str, *args) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()
