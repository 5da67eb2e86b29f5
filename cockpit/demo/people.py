"""Steps "staff" and "departments": the people of the command tree and the joint brigade.

Staff (DOMAIN.md): a grid leader per grid (网格长, Node.leader), 288 full-time grid workers
(专职网格员) spread over the grids, the joint brigade's 300 members (police 80, traffic police
40, law enforcement 60, emergency management 120), a few staff of each town office, 10 seat
operators, 8 commanders, 6 area leaders, district admins and the three administrators (三员).

Everyone gets the one demo password. Hashing it ~760 times would take minutes (PBKDF2 is slow
on purpose), so it is hashed once and the hash is shared: the accounts are for a demo, and
each still logs in on its own.
"""

from dataclasses import dataclass

import pyotp
from django.conf import settings
from django.contrib.auth.hashers import make_password

from accounts import pii
from accounts.models import User
from cockpit.demo.names import mobile, person_name
from cockpit.demo.steps import DEMO_LOGINS, DEMO_PASSWORD, DemoContext
from dispatch.models import Department, Team
from grids.models import Node

R = User.Role
N_GRID_WORKERS = 288
N_OPERATORS, N_COMMANDERS, N_DISTRICT_ADMINS = 10, 8, 2


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    size: int  # members
    team_level: str  # where its teams sit: "squad", "station", "area" or "town"
    member_scope: str  # "squad" (a squad under the team's node) or "town"


# The joint brigade (联合执法大队): 300 members in four units.
BRIGADE = [
    Unit("police", "三墩派出所", 80, "station", "squad"),
    Unit("traffic", "交警三墩中队", 40, "area", "town"),
    Unit("enforce", "综合行政执法中队", 60, "squad", "squad"),
    Unit("emergency", "应急管理中队", 120, "station", "squad"),
]
# Town offices that cases are routed to as well: one duty team each.
OFFICES = [
    Unit("cgb", "城管办", 4, "town", "town"),
    Unit("scjg", "市场监管所", 4, "town", "town"),
    Unit("xfjy", "消防救援站", 4, "town", "town"),
    Unit("sqfw", "社区服务中心", 4, "town", "town"),
    Unit("jsb", "建设办", 4, "town", "town"),
]
# The demo login "handler" is an enforcement officer of this unit.
DEMO_HANDLER_UNIT = "enforce"


class _Staff:
    """Collects unsaved users, then saves them in one bulk insert."""

    def __init__(self, ctx: DemoContext):
        self.ctx = ctx
        self.rng = ctx.rng_for("staff")
        self.users: list[User] = []
        self.demo_roles = {role: username for username, role in DEMO_LOGINS.items()}

    def add(self, *, username: str, role: str, scope: Node | None, demo: bool = False) -> User:
        if demo:
            username = self.demo_roles[role]
        phone = mobile(self.rng)
        user = User(
            username=username,
            password=self.ctx.password_hash,
            display_name=person_name(self.rng),
            role=role,
            scope=scope,
            phone_enc=pii.encrypt(phone),
            phone_index=pii.blind_index(phone),
            password_changed_at=self.ctx.now,
            date_joined=self.ctx.now,
        )
        self.users.append(user)
        self.ctx.staff.setdefault(role, []).append(user)
        if demo:
            self.ctx.logins[username] = user
            if role in settings.TOTP_REQUIRED_ROLES:
                # Enrolled already, so ``manage.py totp_now <username>`` gives a code at once
                # instead of the demo starting with an authenticator app.
                user.totp_secret, user.totp_confirmed = pii.encrypt(pyotp.random_base32(32)), True
        return user

    def save(self) -> None:
        User.objects.bulk_create(self.users, batch_size=1000)


def staff_build(ctx: DemoContext) -> str:
    ctx.password_hash = ctx.password_hash or make_password(DEMO_PASSWORD)
    staff = _Staff(ctx)
    grids = ctx.grids
    counts = ctx.extra.get("address_counts", {})

    for i, grid in enumerate(grids):
        grid.leader = staff.add(
            username=f"leader{i + 1:03d}", role=R.GRID_LEADER, scope=grid, demo=i == 0
        )
    # Two workers per grid; the extra ones go to the grids with the most addresses.
    busiest = sorted(grids, key=lambda g: (-counts.get(g.id, 0), g.code))[
        : N_GRID_WORKERS - 2 * len(grids)
    ]
    extra = {g.id for g in busiest}
    n = 0
    for grid in grids:
        for _ in range(3 if grid.id in extra else 2):
            n += 1
            staff.add(username=f"worker{n:03d}", role=R.GRID_WORKER, scope=grid, demo=n == 1)

    # The area of the demo worker's grid is led by the demo area leader.
    demo_area = next(a for a in ctx.areas if grids[0].path.startswith(a.path))
    for i, area in enumerate(sorted(ctx.areas, key=lambda a: (a.id != demo_area.id, a.code))):
        area.leader = staff.add(
            username=f"area{i + 1:02d}", role=R.AREA_LEADER, scope=area, demo=i == 0
        )
    for i in range(N_OPERATORS):
        staff.add(username=f"operator{i + 1:02d}", role=R.OPERATOR, scope=ctx.town, demo=i == 0)
    for i in range(N_COMMANDERS):
        commander = staff.add(
            username=f"commander{i + 1:02d}", role=R.COMMANDER, scope=ctx.town, demo=i == 0
        )
        if i == 0:
            ctx.town.leader = commander
    for i in range(N_DISTRICT_ADMINS):
        staff.add(username=f"admin{i + 1:02d}", role=R.DISTRICT_ADMIN, scope=ctx.town, demo=i == 0)
    # 三员: no scope, because they see no business data (accounts.selectors).
    for role in (R.SYS_ADMIN, R.SEC_ADMIN, R.AUDIT_ADMIN):
        staff.add(username="", role=role, scope=None, demo=True)

    # Handlers of the brigade and the offices; their teams are made by the departments step.
    # The demo handler works in the squad of the demo worker's grid (members are dealt to the
    # squads' teams in turn, so member k sits in squad k mod 30).
    demo_squad = next(i for i, q in enumerate(ctx.squads) if grids[0].path.startswith(q.path))
    members: dict[str, list[User]] = {}
    for unit in BRIGADE + OFFICES:
        members[unit.code] = [
            staff.add(
                username=f"{unit.code}{k + 1:03d}",
                role=R.HANDLER,
                scope=ctx.town,  # narrowed to a squad by the departments step where the unit works in one
                demo=unit.code == DEMO_HANDLER_UNIT and k == demo_squad,
            )
            for k in range(unit.size)
        ]
    ctx.extra["unit_members"] = members

    staff.save()
    Node.objects.bulk_update(grids + ctx.areas + [ctx.town], ["leader"])
    return f"{len(staff.users)} staff: " + ", ".join(f"{len(v)} {k}" for k, v in ctx.staff.items())


def _team_nodes(ctx: DemoContext, level: str) -> list[Node]:
    return {"squad": ctx.squads, "station": ctx.stations, "area": ctx.areas, "town": [ctx.town]}[
        level
    ]


def _squads_under(ctx: DemoContext, node: Node) -> list[Node]:
    return [q for q in ctx.squads if q.path.startswith(node.path)]


def departments_build(ctx: DemoContext) -> str:
    members: dict[str, list[User]] = ctx.extra["unit_members"]
    departments = Department.objects.bulk_create(
        [Department(code=u.code, name=u.name, scope=ctx.town) for u in BRIGADE + OFFICES]
    )
    teams: list[Team] = []
    team_members: list[tuple[Team, list[User]]] = []
    rescoped: list[User] = []
    for unit, department in zip(BRIGADE + OFFICES, departments, strict=True):
        nodes = _team_nodes(ctx, unit.team_level)
        people = members[unit.code]
        # Members dealt out to the teams in turn, so team sizes differ by one at most.
        for t, node in enumerate(nodes):
            crew = people[t :: len(nodes)]
            suffix = "值班组" if unit.team_level == "town" else f"{node.name}组"
            team = Team(
                department=department,
                code=f"{unit.code}-{node.code}",
                name=suffix,
                node=node,
                lead=crew[0],
            )
            teams.append(team)
            team_members.append((team, crew))
            if unit.member_scope == "squad":
                squads = _squads_under(ctx, node)
                for k, user in enumerate(crew):
                    user.scope = squads[k % len(squads)]
                    rescoped.append(user)
    Team.objects.bulk_create(teams)
    Team.members.through.objects.bulk_create(
        [
            Team.members.through(team_id=team.id, user_id=user.id)
            for team, crew in team_members
            for user in crew
        ]
    )
    User.objects.bulk_update(rescoped, ["scope"], batch_size=500)

    # Squads are led by their enforcement team lead, stations by their emergency team lead.
    lead_of = {(team.code.split("-")[0], team.node_id): team.lead for team in teams}
    for squad in ctx.squads:
        squad.leader = lead_of[("enforce", squad.id)]
    for station in ctx.stations:
        station.leader = lead_of[("emergency", station.id)]
    Node.objects.bulk_update(ctx.squads + ctx.stations, ["leader"])
    return f"{len(departments)} departments, {len(teams)} teams, {sum(len(c) for _, c in team_members)} members"
