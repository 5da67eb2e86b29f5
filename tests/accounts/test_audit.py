import datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts import services
from accounts.models import AuditLog
from tests.accounts.support import run


def old_record(days: int) -> AuditLog:
    return AuditLog.objects.create(
        username="wang",
        event="login",
        success=True,
        at=timezone.now() - datetime.timedelta(days=days),
    )


def sql(statement: str, *params) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_an_audit_record_carries_time_user_event_outcome_and_address(rf, town):
    request = rf.post("/accounts/login/", HTTP_USER_AGENT="Field-App/1.0", REMOTE_ADDR="10.1.2.3")
    record = services.audit_record(
        user=town.wang,
        event="case.export",
        success=True,
        request=request,
        target="case:7",
        detail={"rows": 3},
    )
    record.refresh_from_db()
    assert record.user_id == town.wang.pk and record.username == "wang"
    assert (record.event, record.success, record.ip, record.user_agent, record.target) == (
        "case.export",
        True,
        "10.1.2.3",
        "Field-App/1.0",
        "case:7",
    )
    assert record.detail == {"rows": 3} and abs((timezone.now() - record.at).total_seconds()) < 5


def test_an_audit_record_cannot_be_updated_even_in_sql(town):
    record = services.audit_record(user=town.wang, event="login", success=True)
    with pytest.raises(DatabaseError, match="append-only"):
        sql("UPDATE accounts_auditlog SET success = false WHERE id = %s", record.pk)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.filter(pk=record.pk).update(event="nothing")
    record.refresh_from_db()
    assert record.success is True and record.event == "login"


def test_a_recent_audit_record_cannot_be_deleted_even_in_sql(town):
    record = services.audit_record(user=town.wang, event="login", success=True)
    week_old = old_record(days=179)
    for pk in (record.pk, week_old.pk):
        with pytest.raises(DatabaseError, match="180-day"):
            sql("DELETE FROM accounts_auditlog WHERE id = %s", pk)
    assert AuditLog.objects.filter(pk__in=[record.pk, week_old.pk]).count() == 2


def test_the_purge_removes_only_records_past_the_retention(settings, db):
    settings.AUDIT_RETENTION_DAYS = 365
    ancient, kept = old_record(days=400), old_record(days=200)
    out = run("audit_purge")
    assert "已删除 1 条" in out
    assert not AuditLog.objects.filter(pk=ancient.pk).exists()
    assert AuditLog.objects.filter(pk=kept.pk).exists()
    assert AuditLog.objects.filter(event="audit.purge", detail__deleted=1).exists()


def test_the_purge_never_goes_below_180_days(settings, db):
    kept = old_record(days=100)
    run("audit_purge", "--days", "30")
    assert AuditLog.objects.filter(pk=kept.pk).exists()


def test_a_dry_run_counts_without_deleting(db):
    ancient = old_record(days=800)
    assert "将删除 1 条" in run("audit_purge", "--dry-run")
    assert AuditLog.objects.filter(pk=ancient.pk).exists()
