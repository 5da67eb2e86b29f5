"""The INSERT side of the rollups, set-based (cockpit_case_rollup_insert, a statement trigger with
the inserted rows as a transition table, its counts queued until rollups_settle): a bulk insert
of mixed cases leaves every rollup table, once settled, equal to a rebuild from scratch, a single
insert still counts, a paused session counts nothing, a batch never waits on counter rows (not
even with every slot and its rows held), two batches on the same keys do not wait for each
other; and folding the slots changes no count."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection, transaction

from cockpit.screen.rollups import (
    COUNTERS,
    SLOT_LOCK_CLASS,
    SLOTS,
    rollups_compact,
    rollups_rebuild,
    rollups_settle,
    trigger_set,
)
from cockpit.screen.tasks import rollups_compact_task, rollups_settle_task
from events.models import Case
from tests.town import centre

CODES = ("06010", "L0005", "09009", "01001")
STATUSES = [s for s, _label in Case.Status.choices]
# The counting tables as counts (the key and its slots' sum); all of caseopen and caseclosure.
TABLES = {
    **{table: f"{key}, sum(n)" for table, key in COUNTERS.items()},
    "cockpit_caseopen": "case_id, node_path, grid_id, source, category_id, status, grade, "
    "reported_at, due_at, lng, lat",
    "cockpit_caseclosure": "case_id, day, node_path, category_id, minutes, late",
}
# 15:59:59 and 16:00:00 UTC fall on two days in Asia/Shanghai (the rollups' calendar).
BASE = datetime(2026, 11, 20, 15, 59, 59, tzinfo=UTC)


def tables() -> dict:
    """The five rollup tables in a stable order, as a reader sees them (new cases' counts
    settled first): every count (zero counts included: an insert must not leave any) and every
    row of the other two."""
    rollups_settle()
    out = {}
    with connection.cursor() as cursor:
        for table, columns in TABLES.items():
            key = COUNTERS.get(table)
            group = f" GROUP BY {key}" if key else ""
            cursor.execute(f"SELECT {columns} FROM {table}{group} ORDER BY {key or columns}")
            out[table] = cursor.fetchall()
    return out


def slots_used(table: str = "cockpit_casedaily") -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT slot FROM {table}")
        return {row[0] for row in cursor.fetchall()}


def assert_equals_rebuild() -> dict:
    kept = tables()
    rollups_rebuild()
    assert tables() == kept
    return kept


def cases(town, categories, n: int, *, seed: int = 0) -> list[Case]:
    """n unsaved cases spread over days (both sides of midnight in Shanghai), the four grids and
    the town itself, every status, three grades, four categories, a few heat cells shared by
    many cases and one case in four without a place."""
    grids = [town.g1, town.g2, town.g3, town.g4]
    out = []
    for i in range(seed, seed + n):
        grid = grids[i % 4] if i % 9 else None
        node = grid or town.town
        status = STATUSES[i % len(STATUSES)]
        reported = BASE - timedelta(days=i % 3) + timedelta(seconds=i % 2)
        closed = reported + timedelta(minutes=17 * (i % 5)) if status == "closed" else None
        if status == "closed" and i % 26 == 22:
            closed = None  # closed without a close time: no closure row
        place = None
        if i % 4 != 3:
            x, y = centre(i % 2, (i // 2) % 2)
            place = Point(x + 0.0025 * (i % 3), y, srid=4326)
        out.append(
            Case(
                source=("worker", "resident", "110")[i % 3],
                category=categories[CODES[i % len(CODES)]],
                grade=1 + i % 3,
                title=f"批量 {i}",
                description="批量导入",
                location=place,
                grid=grid,
                node_path=node.path,
                tracking_token=uuid.uuid4().hex,
                status=status,
                reported_at=reported,
                register_due=reported + timedelta(hours=1) if i % 5 else None,
                accept_due=reported + timedelta(hours=2),
                resolve_due=reported + timedelta(hours=3),
                registered_at=reported + timedelta(minutes=5) if i % 2 else None,
                resolved_at=reported + timedelta(hours=4 if i % 3 else 1) if closed else None,
                closed_at=closed,
            )
        )
    return out


def test_a_bulk_insert_of_mixed_cases_equals_a_rebuild_from_scratch(town, categories):
    first = cases(town, categories, 100)
    Case.objects.bulk_create(first)  # one INSERT … VALUES (…), (…)
    assert_equals_rebuild()
    # A second batch onto the same rollup rows: the ON CONFLICT … n = n + EXCLUDED.n path.
    Case.objects.bulk_create(cases(town, categories, 100, seed=100))
    kept = assert_equals_rebuild()

    daily = kept["cockpit_casedaily"]
    assert sum(row[-1] for row in daily) == 200 and max(row[-1] for row in daily) > 1
    assert {row[4] for row in daily} == set(STATUSES)
    assert len({row[0] for row in daily}) == 4  # three days, one of them split at midnight
    assert sum(row[-1] for row in kept["cockpit_casedaygrid"]) == 200
    heat = kept["cockpit_heatcell"]
    assert sum(row[-1] for row in heat) == Case.objects.filter(location__isnull=False).count()
    assert sum(row[-1] for row in heat) < 200 and max(row[-1] for row in heat) > 1
    opened = Case.objects.filter(status__in=Case.OPEN_STATUSES)
    assert [row[0] for row in kept["cockpit_caseopen"]] == sorted(c.id for c in opened)
    assert any(row[9] is None for row in kept["cockpit_caseopen"])  # no place: no lng/lat
    closures = kept["cockpit_caseclosure"]
    closed = Case.objects.filter(status="closed")
    assert len(closures) == closed.filter(closed_at__isnull=False).count() < closed.count()
    assert {row[-1] for row in closures} == {True, False}  # late and in time


def test_updates_and_deletes_after_a_bulk_insert_still_move_the_counts(town, categories):
    batch = cases(town, categories, 40)
    Case.objects.bulk_create(batch)
    ids = [c.id for c in batch]
    Case.objects.filter(id__in=ids[:10]).update(status="closed", closed_at=BASE)
    Case.objects.filter(id__in=ids[10:15]).update(grade=2, node_path=town.g4.path, location=None)
    Case.objects.filter(id__in=ids[15:20]).delete()
    kept = tables()
    rollups_rebuild()
    # Decrements may leave rows at zero that a rebuild does not write.
    for table in ("cockpit_casedaily", "cockpit_casedaygrid", "cockpit_heatcell"):
        kept[table] = [row for row in kept[table] if row[-1]]
    assert tables() == kept
    assert sum(row[-1] for row in kept["cockpit_casedaily"]) == 35


def test_a_single_insert_still_counts(town, categories):
    (one,) = cases(town, categories, 1, seed=1)
    one.save()
    kept = assert_equals_rebuild()
    assert [row[-1] for row in kept["cockpit_casedaily"]] == [1]
    assert [row[-1] for row in kept["cockpit_casedaygrid"]] == [1]
    assert [row[-1] for row in kept["cockpit_heatcell"]] == [1]
    assert [row[0] for row in kept["cockpit_caseopen"]] == [one.id]
    assert kept["cockpit_caseclosure"] == []

    (twin,) = cases(town, categories, 1, seed=1)  # the same rollup keys
    twin.save()
    kept = assert_equals_rebuild()
    assert [row[-1] for row in kept["cockpit_casedaily"]] == [2]
    assert [row[-1] for row in kept["cockpit_heatcell"]] == [2]
    assert len(kept["cockpit_caseopen"]) == 2


def test_a_paused_session_bulk_insert_changes_nothing(town, categories):
    Case.objects.bulk_create(cases(town, categories, 30))
    before = tables()
    assert before["cockpit_casedaily"]
    trigger_set(enabled=False)
    try:
        Case.objects.bulk_create(cases(town, categories, 100, seed=30))
    finally:
        trigger_set(enabled=True)
    assert tables() == before
    rollups_rebuild()
    assert sum(row[-1] for row in tables()["cockpit_casedaily"]) == 130


@pytest.mark.django_db(transaction=True)
def test_a_batch_never_waits_on_counter_rows_and_settling_counts_it(town, categories):
    """A third transaction holds every counter slot and the casedaily row of the batch's first
    key. Before the queue, a batch upserted that row and waited (or, two batches in opposite
    orders, deadlocked: 40P01). Now it appends to cockpit_casedelta and commits within a 5 s
    statement timeout; a settle, once the holder lets go, counts it exactly (equal to a rebuild).
    The database is flushed after the test (transaction=True)."""
    (first,) = cases(town, categories, 1)
    Case.objects.bulk_create([first, *cases(town, categories, 50, seed=500)])  # committed rows
    rollups_settle()  # their counter rows exist, slot 0
    batches = [cases(town, categories, 100), cases(town, categories, 100)]
    batches[1].reverse()
    locked, unblock = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def block() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, k) FROM generate_series(0, %s) k",
                    [SLOT_LOCK_CLASS, SLOTS - 1],
                )
                cursor.execute(
                    "SELECT 1 FROM cockpit_casedaily d JOIN events_case c"
                    " ON d.day = cockpit_day(c.reported_at) AND d.node_path = c.node_path"
                    " AND d.source = c.source AND d.category_id = c.category_id"
                    " AND d.status = c.status AND d.grade = c.grade"
                    " WHERE c.id = %s FOR UPDATE OF d",
                    [first.id],
                )
                assert cursor.fetchone()
                locked.set()
                unblock.wait(timeout=30)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            locked.set()
            connection.close()

    blocker = threading.Thread(target=block)
    blocker.start()
    try:
        assert locked.wait(timeout=15) and not errors, errors
        for batch in batches:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout = '5s'")
                Case.objects.bulk_create(batch)  # one INSERT of 100 rows
        inserted_while_held = blocker.is_alive()
    finally:
        unblock.set()
        blocker.join(timeout=30)
    assert errors == [] and inserted_while_held
    kept = assert_equals_rebuild()
    assert sum(row[-1] for row in kept["cockpit_casedaily"]) == 251


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_on_the_same_keys_do_not_wait_and_folding_keeps_every_count(
    town, categories
):
    """Batch A inserts 100 cases and keeps its transaction open; batch B, on the same rollup
    keys, must commit meanwhile (before counter slots it queued on A's counter rows until A
    committed: here it would hit the 5 s statement timeout). A settle while another transaction
    holds slot 0 counts both into slot 1, transitions then count into slot 0: the counts, spread
    over two slots, still equal a rebuild; folding the slots (rollups_compact) leaves one row per
    key and every count as it was."""
    (first,) = cases(town, categories, 1)
    first.save()
    rollups_settle()  # slot 0 rows exist before either batch
    batches = [cases(town, categories, 100), cases(town, categories, 100)]
    held, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def in_transaction(work) -> None:
        try:
            with transaction.atomic():
                work()
                held.set()
                release.wait(timeout=30)
        except BaseException as exc:
            errors.append(exc)
        finally:
            held.set()
            connection.close()

    def slot_zero() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [SLOT_LOCK_CLASS])

    a = threading.Thread(
        target=in_transaction, args=(lambda: Case.objects.bulk_create(batches[0]),)
    )
    a.start()
    try:
        assert held.wait(timeout=15)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '5s'")
            Case.objects.bulk_create(batches[1])
        b_done_while_a_open = a.is_alive()
    finally:
        release.set()
        a.join(timeout=30)
    assert errors == [] and b_done_while_a_open
    held.clear()
    release.clear()
    holder = threading.Thread(target=in_transaction, args=(slot_zero,))
    holder.start()
    try:
        assert held.wait(timeout=15)
        assert rollups_settle() == 200  # into slot 1: slot 0 is held
    finally:
        release.set()
        holder.join(timeout=30)
    assert errors == []
    assert slots_used() == {0, 1} and slots_used("cockpit_heatcell") == {0, 1}
    assert sum(row[-1] for row in tables()["cockpit_casedaily"]) == 201
    # Move some cases to another status: keys of one case drop to zero (a fold removes them).
    moved = [c.id for batch in batches for c in batch[:30]]  # both copies of 30 keys
    Case.objects.filter(id__in=moved).exclude(status="closed").update(status="closed")
    kept = tables()
    zero = {t: [r for r in rows if t in COUNTERS and not r[-1]] for t, rows in kept.items()}
    assert zero["cockpit_casedaily"]
    kept = {t: [r for r in rows if r not in zero[t]] for t, rows in kept.items()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cockpit_casedaily")
        rows_before = cursor.fetchone()[0]

    # As beat runs it (hourly): every day before today in the town is folded.
    assert "cockpit.rollups_compact" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    folded = rollups_compact_task.apply().get()
    assert folded > 0 and slots_used() == {0} and slots_used("cockpit_heatcell") == {0}
    assert tables() == kept
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cockpit_casedaily")
        assert cursor.fetchone()[0] < rows_before
    assert rollups_compact(before=BASE.date() + timedelta(days=30)) == 0  # nothing left to fold
    rollups_rebuild()
    assert tables() == kept


def test_new_cases_wait_in_the_queue_until_a_reader_or_the_beat_task_settles_them(town, categories):
    Case.objects.bulk_create(cases(town, categories, 100))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), coalesce(sum(n), 0) FROM cockpit_casedelta")
        assert cursor.fetchone() == (100, 100)
        cursor.execute("SELECT count(*) FROM cockpit_casedaily")
        assert cursor.fetchone()[0] == 0
    beat = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert beat["cockpit.rollups_settle"] <= 30  # seconds
    assert rollups_settle_task.apply().get() == 100
    assert rollups_settle() == 0  # nothing twice
    assert sum(row[-1] for row in tables()["cockpit_casedaily"]) == 100
    assert_equals_rebuild()
