"""API keys for external sources (110/119/12345 gateways, video AI, IoT, Open311 clients)."""

import datetime
import hashlib
import secrets

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import SourceKey
from accounts.services.audit import audit_record
from cockpit.errors import ApplicationError

KEY_TAG = "ck_"
PREFIX_LENGTH = len(KEY_TAG) + 8
# last_used_at is written at most this often, so a busy source does not write on every call.
LAST_USED_GRANULARITY = datetime.timedelta(minutes=1)


def key_digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def source_key_issue(
    *, source: str, name: str = "", actor=None, request=None
) -> tuple[SourceKey, str]:
    """A new key: 32 random bytes (256 bits), shown once. Returns (row, raw key)."""
    if source not in SourceKey.Source.values:
        raise ApplicationError(
            _("未知的来源。"),
            fields={
                "source": [_("可选：%(choices)s") % {"choices": ", ".join(SourceKey.Source.values)}]
            },
        )
    for _attempt in range(3):  # a prefix collision is astronomically rare; retry anyway
        raw = KEY_TAG + secrets.token_urlsafe(32)
        try:
            with transaction.atomic():
                key = SourceKey.objects.create(
                    source=source,
                    name=name[:100],
                    prefix=raw[:PREFIX_LENGTH],
                    key_hash=key_digest(raw),
                    created_by=actor,
                )
                audit_record(
                    user=actor,
                    event="sourcekey.issue",
                    success=True,
                    request=request,
                    target=f"sourcekey:{key.prefix}",
                    detail={"source": source, "name": key.name},
                )
            return key, raw
        except IntegrityError:
            continue
    raise ApplicationError(_("生成密钥失败，请重试。"), status_code=500)


@transaction.atomic
def source_key_revoke(*, prefix: str, actor=None, request=None) -> SourceKey:
    key = SourceKey.objects.select_for_update().filter(prefix=prefix.strip()).first()
    if key is None:
        raise ApplicationError(
            _("没有这个前缀的接口密钥。"),
            fields={"prefix": [_("没有这个前缀的接口密钥。")]},
            status_code=404,
        )
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(
            user=actor,
            event="sourcekey.revoke",
            success=True,
            request=request,
            target=f"sourcekey:{key.prefix}",
            detail={"source": key.source},
        )
    return key


# The key lookup of every webhook call, as plain SQL: the ORM's query building cost more than
# the indexed lookup itself (key_hash is unique).
_KEY_FIELDS = [f.attname for f in SourceKey._meta.concrete_fields]
_KEY_SQL = (
    f"SELECT {', '.join(connection.ops.quote_name(f.column) for f in SourceKey._meta.concrete_fields)}"
    f" FROM {connection.ops.quote_name(SourceKey._meta.db_table)}"
    " WHERE key_hash = %s AND revoked_at IS NULL"
)


def _key_active(raw_key: str) -> SourceKey | None:
    with connection.cursor() as cursor:
        cursor.execute(_KEY_SQL, [key_digest(raw_key)])
        row = cursor.fetchone()
    return SourceKey.from_db(connection.alias, _KEY_FIELDS, row) if row else None


def source_key_check(*, raw_key: str, source: str | None = None, request=None) -> SourceKey:
    """The active key for ``raw_key`` (of ``source`` when given), else ApplicationError 403.
    One indexed lookup by the key's hash; rejections are audited as security events."""
    raw_key = (raw_key or "").strip()
    key = _key_active(raw_key) if raw_key else None
    if key is None or (source is not None and key.source != source):
        audit_record(
            user=None,
            event="sourcekey.reject",
            success=False,
            request=request,
            target=f"sourcekey:{key.prefix if key else raw_key[:PREFIX_LENGTH]}",
            detail={"source": source or "", "reason": "source" if key else "unknown_or_revoked"},
        )
        raise ApplicationError(_("接口密钥无效或已吊销。"), status_code=403)
    now = timezone.now()
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_GRANULARITY:
        # at most once per LAST_USED_GRANULARITY, and only then a write (a busy webhook posts
        # many times a second); the condition again in SQL, for concurrent requests
        SourceKey.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_GRANULARITY),
            pk=key.pk,
        ).update(last_used_at=now)
    return key
