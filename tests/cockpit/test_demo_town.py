"""``manage.py demo_town``: the synthetic town at the scale of DOMAIN.md, at Sandun, whose grids tile
it with no gap and no overlap, the same every time (its build time is a benchmark); and
``manage.py demo_logins``, which make run prints.

The command runs inside the test's transaction (its own atomic block is a savepoint), so the test
database is left as it was.
"""

import hashlib
import io
import time

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from accounts.models import User
from cockpit.demo.steps import DEMO_LOGINS, DEMO_PASSWORD
from dispatch.models import Department
from grids.models import Address, Community, Node


@pytest.fixture(autouse=True)
def quick(settings):
    # One hash of the demo password is shared by every account; keep it cheap in tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The later modules' bulk steps (a year of cases, 11,000 平安码 sites) have their own tests; the
# whole command's time is measured by `make bench` (bench/b_demo.py), not here.
HEAVY = ("--skip", "history", "--skip", "safety sites")


def build(*args) -> tuple[str, float]:
    out = io.StringIO()
    started = time.perf_counter()
    call_command("demo_town", *args, *HEAVY, stdout=out)
    return out.getvalue(), time.perf_counter() - started


def sql(query: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def test_the_demo_town_has_the_scale_of_the_real_one_and_tiles_without_gaps(db):
    output, _seconds = build()
    assert "demo town built" in output

    # The five circles and the communities (DOMAIN.md).
    counts = dict(sql("SELECT kind, count(*) FROM grids_node GROUP BY kind"))
    assert counts == {"town": 1, "area": 6, "station": 12, "squad": 30, "grid": 125}
    assert Community.objects.count() == 43
    for kind, parent_kind in [
        ("area", "town"),
        ("station", "area"),
        ("squad", "station"),
        ("grid", "squad"),
    ]:
        assert not Node.objects.filter(kind=kind).exclude(parent__kind=parent_kind).exists()
    assert all(Node.objects.filter(parent=a).count() == 2 for a in Node.objects.filter(kind="area"))
    assert not Node.objects.filter(kind="grid", community__isnull=True).exists()
    assert not Node.objects.filter(kind="grid").exclude(code__regex=r"^330106109\d{6}$").exists()
    assert not sql(
        "SELECT 1 FROM grids_node g JOIN grids_community c ON c.id = g.community_id "
        "WHERE g.kind = 'grid' AND left(g.code, 12) <> c.code"
    )
    assert not sql(
        "SELECT 1 FROM grids_node c JOIN grids_node p ON p.id = c.parent_id "
        "WHERE c.path <> p.path || c.id || '/'"
    )

    # Where Sandun is, about 38 km².
    ((area_km2, lng, lat),) = sql(
        "SELECT ST_Area(boundary::geography) / 1e6, ST_X(ST_Centroid(boundary)), "
        "ST_Y(ST_Centroid(boundary)) FROM grids_node WHERE kind = 'town'"
    )
    assert 36 < area_km2 < 40
    assert abs(lng - 120.09) < 0.02 and abs(lat - 30.33) < 0.02

    # No overlap: no two grids share any interior (ST_Overlaps misses one inside another).
    assert not sql(
        "SELECT a.code, b.code FROM grids_node a JOIN grids_node b ON a.id < b.id "
        "AND a.boundary && b.boundary AND ST_Relate(a.boundary, b.boundary, '2********') "
        "WHERE a.kind = 'grid' AND b.kind = 'grid'"
    )
    # No gap and nothing outside: the grids' union is the town, exactly.
    ((sym_m2, holes, parts, outside, invalid, multi),) = sql(
        """
        WITH t AS (SELECT boundary AS b FROM grids_node WHERE kind = 'town'),
             u AS (SELECT ST_Union(boundary) AS b FROM grids_node WHERE kind = 'grid')
        SELECT ST_Area(ST_SymDifference(t.b, u.b)::geography),
               ST_NumInteriorRings(ST_GeometryN(u.b, 1)),
               ST_NumGeometries(u.b),
               (SELECT count(*) FROM grids_node g WHERE g.kind = 'grid' AND NOT ST_CoveredBy(g.boundary, t.b)),
               (SELECT count(*) FROM grids_node g WHERE g.kind = 'grid' AND NOT ST_IsValid(g.boundary)),
               (SELECT count(*) FROM grids_node g WHERE g.kind = 'grid' AND ST_NumGeometries(g.boundary) <> 1)
        FROM t, u
        """
    )
    assert sym_m2 < 0.01 and holes == 0 and parts == 1
    assert outside == 0 and invalid == 0 and multi == 0
    # Every higher circle and every community is the union of its grids, one connected patch.
    assert not sql(
        "SELECT p.code FROM grids_node p WHERE p.kind IN ('area', 'station', 'squad') AND ("
        "ST_NumGeometries(p.boundary) <> 1 OR ST_Area(ST_SymDifference(p.boundary, (SELECT "
        "ST_Union(g.boundary) FROM grids_node g WHERE g.kind = 'grid' AND g.path LIKE p.path || "
        "'%%'))::geography) > 0.01)"
    )
    assert not sql("SELECT code FROM grids_community WHERE ST_NumGeometries(boundary) <> 1")

    # ~20,000 addresses, each a point inside its own grid.
    assert 19_000 <= Address.objects.count() <= 21_000
    assert not sql(
        "SELECT a.code FROM grids_address a JOIN grids_node g ON g.id = a.grid_id "
        "WHERE NOT ST_Covers(g.boundary, a.point) LIMIT 1"
    )
    assert sql("SELECT count(DISTINCT grid_id) FROM grids_address") == [(125,)]

    # People: a leader per grid, 288 grid workers, the 300-strong joint brigade.
    R = User.Role
    assert User.objects.filter(role=R.GRID_LEADER).count() == 125
    assert not Node.objects.filter(kind="grid", leader__isnull=True).exists()
    assert User.objects.filter(role=R.GRID_WORKER).count() == 288
    assert not User.objects.filter(role=R.GRID_WORKER).exclude(scope__kind="grid").exists()
    assert User.objects.filter(role=R.AREA_LEADER).count() == 6
    assert User.objects.filter(role=R.OPERATOR).count() == 10
    assert User.objects.filter(role=R.COMMANDER).count() == 8
    brigade = {"police": 80, "traffic": 40, "enforce": 60, "emergency": 120}
    for code, size in brigade.items():
        members = User.objects.filter(teams__department__code=code).distinct().count()
        assert members == size, (code, members)
    assert sum(brigade.values()) == 300
    assert Department.objects.filter(code__in=brigade).count() == 4

    # One demo login per role, each with the demo password.
    for username, role in DEMO_LOGINS.items():
        user = User.objects.get(username=username)
        assert user.role == role
        assert authenticate(username=username, password=DEMO_PASSWORD) == user, username
    worker = User.objects.get(username="worker")
    assert worker.scope.kind == "grid" and worker.scope.leader.username == "leader"

    # demo_logins lists them, with the URLs, for make run to print.
    out = io.StringIO()
    call_command("demo_logins", "--base", "http://127.0.0.1:8000", stdout=out)
    printed = out.getvalue()
    assert DEMO_PASSWORD in printed and "http://127.0.0.1:8000/admin/" in printed
    for username in DEMO_LOGINS:
        assert f" {username} " in printed, username

    # A second run keeps the town; without --if-empty it refuses rather than doubling it.
    kept, _seconds = build("--if-empty")
    assert "keeping its data" in kept
    with pytest.raises(CommandError):
        build()
    assert Node.objects.filter(kind="grid").count() == 125


def _digest() -> str:
    rows = sql(
        "SELECT kind, code, name, ST_AsText(ST_SnapToGrid(boundary, 1e-7)) FROM grids_node "
        "ORDER BY code"
    )
    rows += sql("SELECT code, name FROM grids_community ORDER BY code")
    rows += sql("SELECT code, text, ST_AsText(point) FROM grids_address ORDER BY code")
    rows += sql(
        "SELECT u.username, u.display_name, u.role, n.code FROM accounts_user u "
        "LEFT JOIN grids_node n ON n.id = u.scope_id ORDER BY u.username"
    )
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_the_same_seed_gives_the_same_town(db):
    digests = []
    for _run in range(2):
        with transaction.atomic():
            build("--seed", "7")
            digests.append(_digest())
            transaction.set_rollback(True)
    assert digests[0] == digests[1]
    with transaction.atomic():
        build("--seed", "8")
        assert _digest() != digests[0]
        transaction.set_rollback(True)
