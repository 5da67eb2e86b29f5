"""Reads of the safety codes: sites in a user's scope (PII masked on the server), a site's
history, and the five-colour grid layer (五色图) the cockpit's big screen reads through
``grid_risk_levels``."""

import json

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import pii
from accounts.selectors import scope_q, user_can
from cockpit.errors import ApplicationError
from safetycode import scenes
from safetycode.models import Appeal, Hazard, InspectionTask, ScoreModel, Site
from safetycode.scoring import OPEN_CASE_STATUSES, factors_explained, score_model

# The national risk scale (重大/较大/一般/低 = 红/橙/黄/蓝, standards.md §6) plus green.
LEVELS = ["red", "orange", "yellow", "blue", "green"]
LEVEL_LABELS = {
    "red": gettext_lazy("重大风险"),
    "orange": gettext_lazy("较大风险"),
    "yellow": gettext_lazy("一般风险"),
    "blue": gettext_lazy("低风险"),
    "green": gettext_lazy("无明显风险"),
}


# --- Sites -------------------------------------------------------------------------------------


def sites_for(*, user, grid_id=None, scene=None, code=None, q=None) -> QuerySet[Site]:
    qs = Site.objects.filter(scope_q(user=user, path_field="node_path")).select_related("grid")
    if grid_id:
        qs = qs.filter(grid_id=grid_id)
    if scene:
        qs = qs.filter(scene=scene)
    if code:
        qs = qs.filter(code=code)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(credit_code=q.strip().upper()))
    return qs.order_by("score", "id")  # the riskiest first


def site_get_for(*, user, site_id: int) -> Site:
    """One site inside the user's scope; 404 otherwise (existence is not revealed)."""
    site = (
        Site.objects.filter(scope_q(user=user, path_field="node_path"), id=site_id)
        .select_related("grid")
        .first()
    )
    if site is None:
        raise ApplicationError(_("没有找到这个场所。"), status_code=404)
    return site


def _plain(value_enc: str) -> str:
    try:
        return pii.decrypt(value_enc)
    except Exception:  # a damaged ciphertext must not break a list page
        return ""


def site_card(site: Site, *, user=None) -> dict:
    """A site as the APIs and pages show it: owner and phone masked unless the role may reveal
    (and even then masked here: the plaintext comes only through the audited reveal)."""
    return {
        "id": site.id,
        "name": site.name,
        "scene": site.scene,
        "scene_label": str(site.get_scene_display()),
        "credit_code": site.credit_code,
        "address": site.address,
        "lng": round(site.location.x, 6),
        "lat": round(site.location.y, 6),
        "grid": {"id": site.grid_id, "name": site.grid.name, "code": site.grid.code},
        "owner": pii.mask_name(_plain(site.owner_enc)),
        "phone": pii.mask_phone(_plain(site.phone_enc)),
        "may_reveal": bool(user is not None and user_can(user, "pii.reveal")),
        "attributes": site.attributes,
        "score": site.score,
        "code": site.code,
        "code_label": str(site.get_code_display()),
        "factors": factors_explained(site.factors),
        "scored_at": site.scored_at.isoformat() if site.scored_at else None,
        "last_selfcheck_at": site.last_selfcheck_at.isoformat() if site.last_selfcheck_at else None,
        "last_inspection_at": site.last_inspection_at.isoformat()
        if site.last_inspection_at
        else None,
    }


def site_history(*, site: Site) -> list[dict]:
    """Self-checks, inspections, hazards (found / rectified / escalated) and appeals, newest first."""
    events = []
    for s in site.selfchecks.all().order_by("-submitted_at")[:50]:
        events.append(
            {
                "at": s.submitted_at,
                "kind": "selfcheck",
                "text": _("业主自查，发现 %(n)d 项问题") % {"n": s.findings},
            }
        )
    for i in site.inspections.select_related("inspector").order_by("-at")[:50]:
        events.append(
            {"at": i.at, "kind": "inspection", "text": _("%(who)s 现场检查") % {"who": i.inspector}}
        )
    for h in site.hazards.all().order_by("-found_at")[:100]:
        events.append(
            {
                "at": h.found_at,
                "kind": "hazard",
                "text": _("发现%(level)s：%(d)s")
                % {"level": h.get_level_display(), "d": h.description},
            }
        )
        if h.closed_at:
            events.append(
                {
                    "at": h.closed_at,
                    "kind": "rectified",
                    "text": _("复查确认已整改：%(d)s") % {"d": h.description},
                }
            )
    for a in site.appeals.all().order_by("-submitted_at")[:20]:
        events.append(
            {
                "at": a.submitted_at,
                "kind": "appeal",
                "text": _("提出申诉：%(r)s") % {"r": a.reason[:80]},
            }
        )
        if a.decided_at:
            events.append(
                {
                    "at": a.decided_at,
                    "kind": "appeal_decided",
                    "text": f"{a.get_status_display()}：{a.decision_note[:80]}",
                }
            )
    events.sort(key=lambda e: e["at"], reverse=True)
    return events


def hazards_of(*, site: Site) -> QuerySet[Hazard]:
    return site.hazards.all().order_by("status", "-found_at")


def appeals_pending_for(*, user) -> QuerySet[Appeal]:
    return Appeal.objects.filter(
        scope_q(user=user, path_field="site__node_path"), status=Appeal.Status.PENDING
    ).select_related("site")


def tasks_for(*, user) -> QuerySet[InspectionTask]:
    """The user's open re-inspections, overdue first."""
    return (
        InspectionTask.objects.filter(assignee=user, status__in=["pending", "overdue"])
        .select_related("site", "site__grid")
        .order_by("-status", "due_at")
    )


def sites_geojson(*, user, **filters) -> dict:
    """Sites as GeoJSON points for the map (no personal information in it)."""
    features = [
        {
            "type": "Feature",
            "id": s["id"],
            "geometry": {
                "type": "Point",
                "coordinates": [round(s["location"].x, 6), round(s["location"].y, 6)],
            },
            "properties": {
                "id": s["id"],
                "name": s["name"],
                "scene": s["scene"],
                "code": s["code"],
                "score": s["score"],
            },
        }
        for s in sites_for(user=user, **filters).values(
            "id", "name", "scene", "code", "score", "location"
        )[:20000]
    ]
    return {"type": "FeatureCollection", "features": features}


# --- Five-colour map (五色图) ---------------------------------------------------------------------

GRID_SQL = """
WITH s AS (
    SELECT grid_id, scene,
           count(*) FILTER (WHERE code = 'red') AS red,
           count(*) FILTER (WHERE code = 'yellow') AS yellow,
           count(*) FILTER (WHERE code = 'green') AS green
    FROM safetycode_site GROUP BY grid_id, scene
), c AS (
    SELECT c.grid_id, count(*) AS cases
    FROM events_case c JOIN events_category k ON k.id = c.category_id
    WHERE c.status = ANY(%(open)s) AND k.major_name = ANY(%(majors)s) AND c.grid_id IS NOT NULL
    GROUP BY c.grid_id
)
SELECT g.id, g.code, g.name, g.path, coalesce(c.cases, 0),
       coalesce(jsonb_object_agg(s.scene, jsonb_build_array(s.red, s.yellow, s.green))
                FILTER (WHERE s.scene IS NOT NULL), '{{}}'::jsonb)
FROM grids_node g
LEFT JOIN s ON s.grid_id = g.id
LEFT JOIN c ON c.grid_id = g.id
WHERE g.kind = 'grid' {path_filter}
GROUP BY g.id, g.code, g.name, g.path, c.cases
"""


def _points(red: int, yellow: int, total: int, model: ScoreModel) -> float:
    """Risk per hundred sites, the denominator floored at grid_min_sites."""
    weighted = red * model.grid_red_weight + yellow * model.grid_yellow_weight
    return 100.0 * weighted / max(total, model.grid_min_sites, 1)


def _level(points: float, model: ScoreModel) -> str:
    if points >= model.grid_red_at:
        return "red"
    if points >= model.grid_orange_at:
        return "orange"
    if points >= model.grid_yellow_at:
        return "yellow"
    if points > 0:
        return "blue"
    return "green"


def grid_risk(*, path_prefix: str | None = None) -> list[dict]:
    """Every grid's five-colour level with the figures behind it and the eight scenes as
    dimensions: points = 100 × (red sites × w + yellow sites × w) / max(sites, minimum) + open
    safety cases × w (ScoreModel); each scene is levelled on its own sites the same way, without
    the cases."""
    model = score_model()
    params = {"open": OPEN_CASE_STATUSES, "majors": list(model.grid_case_majors or [])}
    path_filter = ""
    if path_prefix is not None:
        params["prefix"] = path_prefix + "%"
        path_filter = "AND g.path LIKE %(prefix)s"
    with connection.cursor() as cursor:
        cursor.execute(GRID_SQL.format(path_filter=path_filter), params)
        rows = cursor.fetchall()
    out = []
    for grid_id, code, name, path, cases, by_scene in rows:
        if isinstance(by_scene, str):
            by_scene = json.loads(by_scene)
        red = sum(v[0] for v in by_scene.values())
        yellow = sum(v[1] for v in by_scene.values())
        green = sum(v[2] for v in by_scene.values())
        points = _points(red, yellow, red + yellow + green, model) + cases * model.grid_case_weight
        dims = {}
        for scene in scenes.SCENES:
            r, y, g = by_scene.get(scene, [0, 0, 0])
            p = _points(r, y, r + y + g, model)
            dims[scene] = {
                "red": r,
                "yellow": y,
                "green": g,
                "points": round(p, 2),
                "level": _level(p, model),
            }
        level = _level(points, model)
        out.append(
            {
                "id": grid_id,
                "code": code,
                "name": name,
                "path": path,
                "level": level,
                "level_label": str(LEVEL_LABELS[level]),
                "points": round(points, 2),
                "red": red,
                "yellow": yellow,
                "green": green,
                "cases": cases,
                "scenes": dims,
            }
        )
    return out


def grid_risk_levels(*, user=None) -> dict[int, str]:
    """{grid_id: "red"|"orange"|"yellow"|"blue"|"green"} for every grid (in the user's scope if
    a user is given). The cockpit's big screen reads its grid layer through this."""
    prefix = None
    if user is not None:
        from accounts.selectors import user_scope_path

        prefix = user_scope_path(user)
        if prefix is None:
            return {}
    return {g["id"]: g["level"] for g in grid_risk(path_prefix=prefix)}


def grid_risk_geojson(*, user) -> dict:
    """The five-colour layer: grid outlines with level, figures and scene dimensions."""
    from accounts.selectors import user_scope_path
    from grids.selectors import grids_for

    prefix = user_scope_path(user)
    if prefix is None:
        return {"type": "FeatureCollection", "features": []}
    risk = {g["id"]: g for g in grid_risk(path_prefix=prefix)}
    features = []
    for grid in grids_for(user=user):
        r = risk.get(grid.id)
        if r is None or not grid.geojson:
            continue
        props = {k: v for k, v in r.items() if k != "path"}
        features.append(
            {
                "type": "Feature",
                "id": grid.id,
                "geometry": json.loads(grid.geojson),
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "features": features}
