import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import AuditLog


def client_ip(request) -> str | None:
    """The peer address. X-Forwarded-For is not trusted here: behind a proxy, REMOTE_ADDR is set
    from it only for the proxies in FORWARDED_ALLOW_IPS (cockpit/wsgi.py), or anyone could
    forge the log."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    user,
    event: str,
    success: bool,
    request=None,
    target: str = "",
    detail: dict | None = None,
    username: str = "",
) -> AuditLog:
    """Append one audit record. ``user`` may be None or anonymous (a failed login, an external
    source); ``username`` then names the account that was tried. The request gives the address
    and client only: the acting user is always the one passed, never guessed from the session."""
    real_user = user if user is not None and getattr(user, "is_authenticated", False) else None
    return AuditLog.objects.create(
        user=real_user,
        username=(username or (real_user.get_username() if real_user else ""))[:150],
        event=event,
        success=success,
        ip=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "") if request is not None else "")[:256],
        target=str(target)[:200],
        detail=detail or {},
    )


@transaction.atomic
def audit_purge(*, older_than_days: int | None = None, dry_run: bool = False) -> int:
    """Delete audit records older than the retention period (AUDIT_RETENTION_DAYS, never less
    than the 180 days of 网络安全法 §21; the database trigger refuses younger rows anyway)."""
    days = max(180, older_than_days or settings.AUDIT_RETENTION_DAYS)
    cutoff = timezone.now() - datetime.timedelta(days=days)
    old = AuditLog.objects.filter(at__lt=cutoff)
    count = old.count()
    if not dry_run and count:
        old.delete()
        audit_record(
            user=None,
            event="audit.purge",
            success=True,
            detail={"deleted": count, "cutoff": cutoff.isoformat(), "days": days},
        )
    return count
