"""Case.category, Case.grid and CaseLog.case have no database constraint (events.guards): the
database still refuses deleting a category, a grid node or a case that is referred to, by
raw SQL as well as through the ORM, and a delete waits for a report in flight instead of
slipping in before it commits."""

import threading
import time

import psycopg2
import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from events import services
from events.models import Case, CaseLog, Category
from grids.models import Node
from tests.events.conftest import IN_G1, routed_all


def report(category) -> Case:
    return services.case_report(
        source="resident",
        category=category,
        description="井盖缺失",
        lng=IN_G1[0],
        lat=IN_G1[1],
        reporter=services.Reporter(label="市民"),
    ).case


def raw_delete(sql: str, params) -> str:
    """Run a DELETE in a savepoint; the database's error message, or '' when it deleted."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except IntegrityError as exc:
        return str(exc)
    return ""


def test_the_database_refuses_deleting_what_a_case_refers_to(town, categories):
    case = report(categories["06010"])
    assert case.grid_id == town.g1.id and CaseLog.objects.filter(case=case).count() == 1

    message = raw_delete("DELETE FROM events_category WHERE id = %s", [case.category_id])
    assert "events_case.category_id" in message and "不能删除" in message
    message = raw_delete("DELETE FROM grids_node WHERE id = %s", [town.g1.id])
    assert "events_case.grid_id" in message
    message = raw_delete("DELETE FROM events_case WHERE id = %s", [case.id])
    assert "events_caselog.case_id" in message
    # Nothing was deleted.
    assert Case.objects.filter(id=case.id, category_id=case.category_id, grid=town.g1).exists()
    # The ORM refuses first (on_delete=PROTECT), with Django's own error.
    with pytest.raises(ProtectedError):
        Node.objects.get(id=town.g1.id).delete()


def test_what_no_case_refers_to_can_still_be_deleted(town, categories):
    spare = Category.objects.create(kind="matter", code="99990", name="备用类别")
    assert raw_delete("DELETE FROM events_category WHERE id = %s", [spare.id]) == ""
    assert not Category.objects.filter(id=spare.id).exists()
    assert raw_delete("DELETE FROM grids_node WHERE id = %s", [town.g4.id]) == ""  # no cases


@pytest.mark.django_db(transaction=True)
def test_a_delete_waits_for_a_report_in_flight_and_then_refuses(
    live_town, categories, test_database_url, celery_worker
):
    spare = Category.objects.create(kind="matter", code="99991", name="备用类别")
    outcome: dict = {}

    def delete_spare():
        from urllib.parse import urlsplit

        u = urlsplit(test_database_url)
        conn = psycopg2.connect(
            host=u.hostname, port=u.port, user=u.username, dbname=u.path.lstrip("/")
        )
        try:
            with conn, conn.cursor() as cur:
                cur.execute("DELETE FROM events_category WHERE id = %s", [spare.id])
            outcome["deleted"] = True
        except psycopg2.Error as exc:
            outcome["error"] = (exc.pgcode, str(exc))
        finally:
            conn.close()

    with transaction.atomic():
        case = report(spare)  # not committed yet
        deleter = threading.Thread(target=delete_spare)
        deleter.start()
        time.sleep(0.5)
        assert deleter.is_alive() and not outcome  # waiting for the report's transaction
    deleter.join(10)
    assert outcome.get("error", ("", ""))[0] == "23503", outcome
    assert "events_case.category_id" in outcome["error"][1]
    assert Case.objects.get(id=case.id).category_id == spare.id
    assert Category.objects.filter(id=spare.id).exists()
    assert routed_all(Case.objects.filter(id=case.id))
