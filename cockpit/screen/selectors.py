"""Reads for the big screen. Every function takes the user: the scope check is
accounts.selectors (a node-path prefix), applied to the rollup tables the same way as to cases.

The screen reads rollups (cockpit.models, kept by the trigger), never scans events_case, so each
answer stays within a few milliseconds at a million cases (bench/b_cockpit.py measures it).
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.selectors import user_can, user_scope_path
from cockpit.errors import ApplicationError
from cockpit.models import CaseDaily, CaseDayGrid, CaseOpen
from cockpit.screen.rollups import NOT_COUNTED, rollups_settle

TZ = ZoneInfo("Asia/Shanghai")
LIVE_LAYER_HOURS = 72
LIVE_LAYER_MAX = 3000
HEAT_DAYS = 7
TICKER_SIZE = 20
RISK_LEVELS = ("red", "orange", "yellow", "blue", "green")  # 五色图, highest first


def screen_path(*, user) -> str:
    """The scope path the user's screen shows, or 403 when the user may not see the cockpit."""
    path = user_scope_path(user) if user_can(user, "cockpit.view") else None
    if path is None:
        raise ApplicationError(_("无权查看驾驶舱。"), status_code=403)
    return path


def _names(kind: str) -> dict:
    """Labels of categories, statuses, sources and grids. Categories and grids are cached under
    a version (count and newest change), so an edit shows at once and a hit costs one small
    aggregate instead of reading every row."""
    from django.db.models import Max

    from events.models import Case, Category
    from grids.models import Node

    if kind == "status":
        return {k: str(v) for k, v in Case.Status.choices}
    if kind == "source":
        return {k: str(v) for k, v in Case.Source.choices}
    if kind == "category":
        v = Category.objects.aggregate(c=Count("id"), m=Max("id"))
        key = f"cockpit:names:category:{v['c']}:{v['m']}"
    else:
        grids = Node.objects.filter(kind=Node.Kind.GRID)
        v = grids.aggregate(c=Count("id"), m=Max("id"), u=Max("updated_at"))
        key = f"cockpit:names:grid:{v['c']}:{v['m']}:{v['u'].timestamp() if v['u'] else 0}"
    found = cache.get(key)
    if found is not None:
        return found
    if kind == "category":
        found = dict(Category.objects.values_list("id", "name"))
    else:
        found = {p: (i, n) for i, p, n in grids.values_list("id", "path", "name")}
    cache.set(key, found, 3600)
    return found


def _like(path: str) -> str:
    return path + "%"


def _closures(path: str, day_from) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY minutes) "
            "FROM cockpit_caseclosure WHERE day >= %s AND node_path LIKE %s",
            [day_from, _like(path)],
        )
        n, median = cursor.fetchone()
    return {"closed": n, "median_minutes": round(median, 1) if median is not None else None}


def _rate(rows) -> dict:
    total = sum(n for status, n in rows if status not in NOT_COUNTED)
    closed = sum(n for status, n in rows if status == "closed")
    return {
        "reported": total,
        "closed": closed,
        "rate": round(closed / total, 4) if total else None,
    }


def summary(*, user) -> dict:
    """Today's panels: by source, category and status; overdue now; closure rate and median
    time-to-close today and over 7 days."""
    rollups_settle()  # the counters, with every case committed so far
    path = screen_path(user=user)
    now = timezone.now()
    today = timezone.localdate()
    week_from = today - timedelta(days=6)
    rows = list(
        CaseDaily.objects.filter(node_path__startswith=path, day=today)
        .values_list("source", "category_id", "status")
        .annotate(n=Sum("n"))
        .filter(n__gt=0)
    )
    by_source: dict[str, int] = {}
    by_category: dict[int, int] = {}
    by_status: dict[str, int] = {}
    for source, category_id, status, n in rows:
        by_status[status] = by_status.get(status, 0) + n
        if status in NOT_COUNTED:
            continue
        by_source[source] = by_source.get(source, 0) + n
        by_category[category_id] = by_category.get(category_id, 0) + n
    week = list(
        CaseDayGrid.objects.filter(node_path__startswith=path, day__gte=week_from)
        .values_list("status")
        .annotate(n=Sum("n"))
    )
    open_q = CaseOpen.objects.filter(node_path__startswith=path).aggregate(
        open=Count("case_id"), overdue=Count("case_id", filter=Q(due_at__lt=now))
    )
    sources, statuses, categories = _names("source"), _names("status"), _names("category")
    return {
        "generated_at": now.isoformat(),
        "day": today.isoformat(),
        "total_today": sum(by_source.values()),
        "by_source": sorted(
            ({"key": k, "name": sources.get(k, k), "n": n} for k, n in by_source.items()),
            key=lambda r: -r["n"],
        ),
        "by_category": sorted(
            ({"key": k, "name": categories.get(k, str(k)), "n": n} for k, n in by_category.items()),
            key=lambda r: -r["n"],
        )[:10],
        "by_status": sorted(
            ({"key": k, "name": statuses.get(k, k), "n": n} for k, n in by_status.items()),
            key=lambda r: -r["n"],
        ),
        "open_now": open_q["open"],
        "overdue_now": open_q["overdue"],
        "closure": {
            "today": _rate([(s, n) for _s, _c, s, n in rows]) | _closures(path, today),
            "week": _rate(week) | _closures(path, week_from),
        },
        "safety_codes": safety_code_counts(path=path),
    }


SAFETY_CACHE_SECONDS = 60  # site codes are rescored by the safety-code module's tasks, not live


def safety_code_counts(*, path: str) -> dict:
    """Red/yellow/green site counts from the safety-code module, or "not yet available"."""
    key = f"cockpit:codes:{path}"
    found = cache.get(key)
    if found is not None:
        return found
    try:
        from safetycode.selectors import grid_risk

        rows = grid_risk(path_prefix=path)
        found = {"available": True}
        for colour in ("red", "yellow", "green"):
            found[colour] = int(sum(r.get(colour, 0) for r in rows))
    except Exception:  # the module has not landed (ImportError, AttributeError) or failed
        found = {"available": False, "label": _("暂未接入")}
    cache.set(key, found, SAFETY_CACHE_SECONDS)
    return found


def grid_levels(*, user) -> dict[int, str]:
    """Five-colour risk level by grid id, from the safety-code module; green until it lands."""
    path = user_scope_path(user) or ""
    key = f"cockpit:levels:{path}"
    found = cache.get(key)
    if found is not None:
        return found
    try:
        from safetycode.selectors import grid_risk_levels

        raw = grid_risk_levels(user=user)
        found = {}
        for grid_id, level in (raw or {}).items():
            if isinstance(level, dict):
                level = level.get("level") or level.get("colour") or level.get("color")
            found[int(grid_id)] = str(level) if str(level) in RISK_LEVELS else "green"
    except Exception:
        found = {}
    cache.set(key, found, SAFETY_CACHE_SECONDS)
    return found


def grids_state(*, user) -> dict:
    """Per grid: risk level, open and overdue cases, cases in the last 7 days (the map layer)."""
    rollups_settle()
    path = screen_path(user=user)
    now = timezone.now()
    levels = grid_levels(user=user)
    grids = {p: v for p, v in _names("grid_path").items() if p.startswith(path)}
    opened = dict(
        (row[0], row[1:])
        for row in CaseOpen.objects.filter(node_path__startswith=path, grid_id__isnull=False)
        .values_list("grid_id")
        .annotate(n=Count("case_id"), late=Count("case_id", filter=Q(due_at__lt=now)))
    )
    week = dict(
        CaseDayGrid.objects.filter(
            node_path__startswith=path, day__gte=timezone.localdate() - timedelta(days=6)
        )
        .exclude(status__in=NOT_COUNTED)
        .values_list("node_path")
        .annotate(n=Sum("n"))
    )
    out = []
    for grid_path, (grid_id, name) in grids.items():
        n_open, late = opened.get(grid_id, (0, 0))
        out.append(
            {
                "id": grid_id,
                "name": name,
                "level": levels.get(grid_id, "green"),
                "open": n_open,
                "overdue": late,
                "week": week.get(grid_path, 0),
            }
        )
    return {"levels_available": bool(levels), "grids": out, "bbox": _extent(path)}


def _extent(path: str) -> list[float] | None:
    """The scope's bounding box [w, s, e, n] (the map's first view)."""
    from django.contrib.gis.db.models import Extent

    from grids.models import Node

    key = f"cockpit:extent:{path}"
    found = cache.get(key)
    if found is None:
        ext = Node.objects.filter(
            kind=Node.Kind.GRID, path__startswith=path, boundary__isnull=False
        ).aggregate(e=Extent("boundary"))["e"]
        found = list(ext) if ext else []
        cache.set(key, found, 300)
    return found or None


def _case_feature(row, categories: dict, now) -> dict:
    case_id, lng, lat, grade, status, category_id, _reported_at, due_at = row
    return {
        "type": "Feature",
        "id": case_id,
        "geometry": {"type": "Point", "coordinates": [lng, lat]},
        "properties": {
            "id": case_id,
            "grade": grade,
            "status": status,
            "category": categories.get(category_id, ""),
            "overdue": bool(due_at and due_at < now),
        },
    }


def live_cases(*, user) -> dict:
    """Open cases of the last 72 hours with a location (GeoJSON), newest first."""
    path = screen_path(user=user)
    since = timezone.now() - timedelta(hours=LIVE_LAYER_HOURS)
    rows = (
        CaseOpen.objects.filter(
            node_path__startswith=path, reported_at__gte=since, lng__isnull=False
        )
        .order_by("-reported_at")
        .values_list(
            "case_id", "lng", "lat", "grade", "status", "category_id", "reported_at", "due_at"
        )[:LIVE_LAYER_MAX]
    )
    categories, now = _names("category"), timezone.now()
    return {
        "type": "FeatureCollection",
        "features": [_case_feature(r, categories, now) for r in rows],
    }


def ticker(*, user) -> dict:
    """The newest cases (any status) for the ticker, with the live feed's last sequence."""
    from events.models import Case, CaseLog

    path = screen_path(user=user)
    cases = (
        Case.objects.filter(node_path__startswith=path)
        .order_by("-reported_at")
        .select_related("category", "grid")
        .only(
            "id",
            "number",
            "source",
            "status",
            "grade",
            "address",
            "reported_at",
            "category__name",
            "grid__name",
            "location",
        )[:TICKER_SIZE]
    )
    last = CaseLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return {
        "last_seq": last,
        "items": [
            {
                "id": c.id,
                "number": c.number,
                "source": c.source,
                "source_label": c.get_source_display(),
                "status": c.status,
                "status_label": c.get_status_display(),
                "grade": c.grade,
                "category": c.category.name,
                "grid": c.grid.name if c.grid_id else "",
                "address": c.address,
                "reported_at": c.reported_at.isoformat(),
                "lng": c.location.x if c.location else None,
                "lat": c.location.y if c.location else None,
            }
            for c in cases
        ],
    }


def heat(*, user) -> dict:
    """Cases of the last 7 days per 200 m cell, as weighted points (MapLibre heatmap layer)."""
    from cockpit.screen.rollups import HEAT_CELL_DEG

    rollups_settle()
    path = screen_path(user=user)
    since = timezone.localdate() - timedelta(days=HEAT_DAYS - 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cx, cy, sum(n) FROM cockpit_heatcell WHERE day >= %s AND node_path LIKE %s "
            "GROUP BY cx, cy HAVING sum(n) > 0",
            [since, _like(path)],
        )
        rows = cursor.fetchall()
    top = max((r[2] for r in rows), default=1)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [(cx + 0.5) * HEAT_CELL_DEG, (cy + 0.5) * HEAT_CELL_DEG],
                },
                "properties": {"n": int(n), "w": round(n / top, 3)},
            }
            for cx, cy, n in rows
        ],
    }


def forces(*, user) -> dict:
    """Latest positions of field staff inside the scope (the forces layer), last 12 hours."""
    from grids.selectors import forces_latest

    screen_path(user=user)
    rows = forces_latest(user=user, max_age=timedelta(hours=12))[:2000]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p.point.x, p.point.y]},
                "properties": {
                    "id": p.staff_id,
                    "name": str(p.staff),
                    "role": p.staff.role,
                    "role_label": p.staff.get_role_display(),
                    "on_duty": p.on_duty,
                    "at": p.recorded_at.isoformat(),
                },
            }
            for p in rows
        ],
    }


def grid_detail(*, user, grid_id: int) -> dict:
    """A grid's drill-down: its risk, open cases, today's and the week's counts, staff on duty."""
    from accounts.models import User
    from grids.models import LatestPosition, Node

    rollups_settle()
    path = screen_path(user=user)
    grid = (
        Node.objects.filter(id=grid_id, kind=Node.Kind.GRID, path__startswith=path)
        .select_related("community", "leader")
        .first()
    )
    if grid is None:
        raise ApplicationError(_("网格不存在或无权查看。"), status_code=404)
    now = timezone.now()
    today = timezone.localdate()
    open_rows = list(
        CaseOpen.objects.filter(grid_id=grid.id)
        .order_by("due_at", "-reported_at")
        .values_list("case_id", "grade", "status", "category_id", "reported_at", "due_at")[:30]
    )
    counts = CaseOpen.objects.filter(grid_id=grid.id).aggregate(
        open=Count("case_id"), overdue=Count("case_id", filter=Q(due_at__lt=now))
    )
    daily = CaseDayGrid.objects.filter(node_path=grid.path).exclude(status__in=NOT_COUNTED)
    today_n = daily.filter(day=today).aggregate(n=Sum("n"))["n"] or 0
    week_n = daily.filter(day__gte=today - timedelta(days=6)).aggregate(n=Sum("n"))["n"] or 0
    staff = list(
        User.objects.filter(scope_id=grid.id, is_active=True).values_list(
            "id", "display_name", "username", "role"
        )
    )
    on_duty = set(
        LatestPosition.objects.filter(
            staff_id__in=[s[0] for s in staff],
            on_duty=True,
            recorded_at__gte=now - timedelta(hours=12),
        ).values_list("staff_id", flat=True)
    )
    roles = dict(User.Role.choices)
    from events.models import Case

    numbers = dict(
        Case.objects.filter(id__in=[r[0] for r in open_rows]).values_list("id", "number")
    )
    categories, statuses = _names("category"), _names("status")
    return {
        "id": grid.id,
        "name": grid.name,
        "code": grid.code,
        "community": grid.community.name if grid.community_id else "",
        "leader": str(grid.leader) if grid.leader_id else "",
        "level": grid_levels(user=user).get(grid.id, "green"),
        "open": counts["open"],
        "overdue": counts["overdue"],
        "today": today_n,
        "week": week_n,
        "staff": [
            {
                "id": sid,
                "name": name or username,
                "role": str(roles.get(role, role)),
                "on_duty": sid in on_duty,
            }
            for sid, name, username, role in staff
        ],
        "cases": [
            {
                "id": cid,
                "number": numbers.get(cid, ""),
                "grade": grade,
                "status": statuses.get(status, status),
                "category": categories.get(cat, ""),
                "reported_at": reported.isoformat(),
                "overdue": bool(due and due < now),
            }
            for cid, grade, status, cat, reported, due in open_rows
        ],
    }


def case_card(*, user, case_id: int) -> dict:
    """A case's card with its timeline (scope-checked like every case read)."""
    from events.selectors import case_get_for, case_log
    from events.workflow import action_label

    screen_path(user=user)
    case = case_get_for(user=user, id=case_id)
    return {
        "id": case.id,
        "number": case.number,
        "title": case.title,
        "description": case.description[:500],
        "category": case.category.name,
        "source": case.get_source_display(),
        "status": case.status,
        "status_label": case.get_status_display(),
        "grade": case.grade,
        "grade_label": case.get_grade_display(),
        "grid": case.grid.name if case.grid_id else "",
        "address": case.address,
        "handler": str(case.handler) if case.handler_id else "",
        "reported_at": case.reported_at.isoformat(),
        "resolve_due": case.resolve_due.isoformat() if case.resolve_due else None,
        "lng": case.location.x if case.location else None,
        "lat": case.location.y if case.location else None,
        "timeline": [
            {
                "at": e.at.isoformat(),
                "action": e.action,
                "action_label": action_label(e.action),
                "actor": str(e.actor) if e.actor_id else e.actor_label,
                "to_status": e.to_status,
                "note": e.note[:200],
            }
            for e in case_log(case=case)
        ],
    }


def day_bounds(day) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=TZ)
    return start, start + timedelta(days=1)
