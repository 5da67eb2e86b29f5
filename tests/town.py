"""A small town for tests: two areas, four grids, and one named actor per role (see conftest)."""

from dataclasses import dataclass

from django.contrib.gis.geos import Polygon
from django.utils import timezone

from accounts.models import User
from grids.models import Community, Node
from grids.services import node_create

PASSWORD = "Grid-Worker-2026"
# Four 0.01° × 0.01° squares (≈ 960 m × 1,110 m) around Sandun, west→east, north→south.
X0, Y0, STEP = 120.07, 30.34, 0.01


def square(col: int, row: int) -> Polygon:
    x, y = X0 + col * STEP, Y0 - row * STEP
    return Polygon(((x, y), (x + STEP, y), (x + STEP, y - STEP), (x, y - STEP), (x, y)), srid=4326)


def centre(col: int, row: int) -> tuple[float, float]:
    return X0 + (col + 0.5) * STEP, Y0 - (row + 0.5) * STEP


@dataclass
class SmallTown:
    town: Node
    a1: Node
    a2: Node
    q1: Node
    q2: Node
    g1: Node
    g2: Node
    g3: Node
    g4: Node
    wang: User
    zhao: User
    liu: User
    sun: User
    li: User
    chen: User
    admin: User


def _user(username: str, name: str, role: str, scope: Node) -> User:
    user = User.objects.create_user(
        username=username, password=PASSWORD, display_name=name, role=role, scope=scope
    )
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password_changed_at"])
    return user


def build_small_town() -> SmallTown:
    town = node_create(
        kind=Node.Kind.TOWN,
        code="330106109",
        name="三墩镇",
        boundary=Polygon.from_bbox((X0, Y0 - 2 * STEP, X0 + 2 * STEP, Y0)),
    )
    a1 = node_create(kind=Node.Kind.AREA, code="A1", name="北片区", parent=town)
    a2 = node_create(kind=Node.Kind.AREA, code="A2", name="南片区", parent=town)
    s1 = node_create(kind=Node.Kind.STATION, code="S1", name="北应急站", parent=a1)
    s2 = node_create(kind=Node.Kind.STATION, code="S2", name="南应急站", parent=a2)
    q1 = node_create(kind=Node.Kind.SQUAD, code="Q1", name="一中队", parent=s1)
    q2 = node_create(kind=Node.Kind.SQUAD, code="Q2", name="二中队", parent=s2)
    c1 = Community.objects.create(code="330106109001", name="兰里社区")
    c2 = Community.objects.create(code="330106109002", name="绿城社区")
    g1 = node_create(
        kind=Node.Kind.GRID,
        code="330106109001001",
        name="A-01",
        parent=q1,
        boundary=square(0, 0),
        community=c1,
    )
    g2 = node_create(
        kind=Node.Kind.GRID,
        code="330106109001002",
        name="A-02",
        parent=q1,
        boundary=square(1, 0),
        community=c1,
    )
    g3 = node_create(
        kind=Node.Kind.GRID,
        code="330106109002001",
        name="B-01",
        parent=q2,
        boundary=square(0, 1),
        community=c2,
    )
    g4 = node_create(
        kind=Node.Kind.GRID,
        code="330106109002002",
        name="B-02",
        parent=q2,
        boundary=square(1, 1),
        community=c2,
    )
    R = User.Role
    return SmallTown(
        town=town,
        a1=a1,
        a2=a2,
        q1=q1,
        q2=q2,
        g1=g1,
        g2=g2,
        g3=g3,
        g4=g4,
        wang=_user("wang", "王网格", R.GRID_WORKER, g1),
        zhao=_user("zhao", "赵网格", R.GRID_WORKER, g3),
        liu=_user("liu", "刘网格长", R.GRID_LEADER, g2),
        sun=_user("sun", "孙区域长", R.AREA_LEADER, a1),
        li=_user("li", "李坐席", R.OPERATOR, town),
        chen=_user("chen", "陈指挥长", R.COMMANDER, town),
        admin=_user("admin", "区管理员", R.DISTRICT_ADMIN, town),
    )
