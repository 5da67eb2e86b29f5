"""Scoring: one SQL statement computes score, code and factors for a set of sites.

The same statement serves the nightly run (every site, one ``UPDATE … FROM (aggregates)``) and
the recompute after an inspection or self-check (the same statement restricted to one site), so
the two can never disagree. The model's parameters come from the active ScoreModel row;
docs/safetycode.md explains each factor. Each stored factor is
``{"key": …, "n": count, "points": deducted, "rule": "red"|"yellow"|""}``; labels are
translated when shown (FACTOR_LABELS), so a language switch needs no recompute.
"""

from django.db import connection
from django.utils.translation import gettext_lazy as _

from events.models import Case
from safetycode.models import ScoreModel

FACTOR_LABELS = {
    "scene_base": _("场景基础风险"),
    "major_open": _("未整改重大隐患"),
    "general_open": _("未整改一般隐患"),
    "overdue": _("逾期未整改隐患"),
    "recurring": _("反复出现的隐患"),
    "selfcheck_stale": _("未按期自查"),
    "inspection_stale": _("长期未检查"),
    "cases": _("近期场所周边事件"),
    "accident": _("期内发生事故"),
    "licence": _("证照暂扣或吊销"),
    "appeal": _("申诉复核结果"),
    "score_red": _("安全分低于红码线"),
    "score_yellow": _("安全分低于黄码线"),
}

# Metres per degree of latitude: the case join prefilters with a degree box (GiST on the case
# points), then measures on the sphere.
M_PER_DEG = 111_320.0

SQL = """
WITH h AS (
    SELECT site_id,
           count(*) FILTER (WHERE level = 'major') AS major_open,
           count(*) FILTER (WHERE level = 'general') AS general_open,
           count(*) FILTER (WHERE due_at < now()) AS overdue,
           -- each hazard weighs as its checklist item (weight 3 = the standard item; see docs)
           coalesce(sum(w) FILTER (WHERE level = 'major'), 0) AS major_w,
           coalesce(sum(w) FILTER (WHERE level = 'general'), 0) AS general_w
    FROM (SELECT hz.site_id, hz.level, hz.due_at,
                 coalesce((SELECT i.weight FROM safetycode_checklistitem i WHERE i.id = hz.item_id),
                          3)::numeric / 3 AS w
          FROM safetycode_hazard hz WHERE hz.status = 'open' {hazard_filter}) hz
    GROUP BY site_id
), r AS (
    SELECT site_id, count(*) AS recurring FROM (
        SELECT site_id, item_id FROM safetycode_hazard
        WHERE item_id IS NOT NULL AND found_at > now() - make_interval(days => %(recurring_days)s)
              {hazard_filter}
        GROUP BY site_id, item_id HAVING count(*) > 1
    ) t GROUP BY site_id
), c AS (
    SELECT s.id AS site_id, count(*) AS cases
    FROM events_case c
    JOIN events_category k ON k.id = c.category_id AND k.major_name = ANY(%(case_majors)s)
    JOIN safetycode_site s
      ON ST_DWithin(s.location, c.location, %(radius_deg)s)
     AND ST_DistanceSphere(s.location, c.location) <= %(radius_m)s
    WHERE c.reported_at > now() - make_interval(days => %(case_days)s)
      AND c.location IS NOT NULL
      AND NOT (c.source = 'module' AND c.external_id LIKE 'hazard-%%')
      AND c.status <> 'merged' {case_filter}
    GROUP BY s.id
), x AS (
    SELECT s.id,
           (s.override_code <> '' AND s.override_until > now()) AS held,
           s.override_code,
           s.licence_suspended AS licence,
           (s.accident_on IS NOT NULL AND
            s.accident_on > (now() AT TIME ZONE 'Asia/Shanghai')::date - %(accident_days)s) AS accident,
           coalesce(h.major_open, 0) AS major_open,
           coalesce(h.general_open, 0) AS general_open,
           coalesce(h.overdue, 0) AS overdue,
           coalesce(h.major_w, 0) AS major_w,
           coalesce(h.general_w, 0) AS general_w,
           coalesce(r.recurring, 0) AS recurring,
           coalesce(c.cases, 0) AS cases,
           coalesce((%(scene_base)s::jsonb ->> s.scene)::int, 0) AS p_base,
           (s.last_selfcheck_at IS NULL OR
            s.last_selfcheck_at < now() - make_interval(days => %(selfcheck_days)s)) AS sc_stale,
           (s.last_inspection_at IS NULL OR
            s.last_inspection_at < now() - make_interval(days => %(inspection_days)s)) AS in_stale
    FROM safetycode_site s
    LEFT JOIN h ON h.site_id = s.id
    LEFT JOIN r ON r.site_id = s.id
    LEFT JOIN c ON c.site_id = s.id
    WHERE TRUE {site_filter}
), p AS (
    SELECT x.*,
           round(x.major_w * %(major_open_points)s)::int AS p_major,
           least(round(x.general_w * %(general_open_points)s)::int, %(general_open_cap)s)
             AS p_general,
           x.overdue * %(overdue_points)s AS p_overdue,
           x.recurring * %(recurring_points)s AS p_recurring,
           CASE WHEN x.sc_stale THEN %(selfcheck_stale_points)s ELSE 0 END AS p_sc,
           CASE WHEN x.in_stale THEN %(inspection_stale_points)s ELSE 0 END AS p_in,
           least(x.cases * %(case_points)s, %(case_cap)s) AS p_cases
    FROM x
), q AS (
    SELECT p.*,
           greatest(0, 100 - (p_base + p_major + p_general + p_overdue + p_recurring + p_sc
                              + p_in + p_cases)) AS score
    FROM p
), a AS (
    SELECT q.id, q.score,
           CASE
             WHEN q.held THEN q.override_code
             WHEN q.major_open > 0 OR q.accident OR q.licence OR q.score < %(red_below)s
               THEN 'red'
             WHEN q.overdue > 0 OR q.recurring > 0 OR q.score < %(yellow_below)s
               OR (%(yellow_on_open_general)s AND q.general_open > 0)
               THEN 'yellow'
             ELSE 'green'
           END AS code,
           -- Built as text and parsed once: ~5× cheaper than jsonb_build_object per factor.
           ('[' || concat_ws(',',
             CASE WHEN q.held THEN
               '{{"key":"appeal","n":1,"points":0,"rule":"' || q.override_code || '"}}' END,
             CASE WHEN q.licence THEN '{{"key":"licence","n":1,"points":0,"rule":"red"}}' END,
             CASE WHEN q.accident THEN '{{"key":"accident","n":1,"points":0,"rule":"red"}}' END,
             CASE WHEN q.major_open > 0 THEN '{{"key":"major_open","n":' || q.major_open
               || ',"points":' || q.p_major || ',"rule":"red"}}' END,
             CASE WHEN q.overdue > 0 THEN '{{"key":"overdue","n":' || q.overdue
               || ',"points":' || q.p_overdue || ',"rule":"yellow"}}' END,
             CASE WHEN q.recurring > 0 THEN '{{"key":"recurring","n":' || q.recurring
               || ',"points":' || q.p_recurring || ',"rule":"yellow"}}' END,
             CASE WHEN q.general_open > 0 THEN '{{"key":"general_open","n":' || q.general_open
               || ',"points":' || q.p_general || ',"rule":"'
               || CASE WHEN %(yellow_on_open_general)s THEN 'yellow' ELSE '' END || '"}}' END,
             CASE WHEN q.score < %(red_below)s THEN
                    '{{"key":"score_red","n":1,"points":0,"rule":"red"}}'
                  WHEN q.score < %(yellow_below)s THEN
                    '{{"key":"score_yellow","n":1,"points":0,"rule":"yellow"}}' END,
             CASE WHEN q.p_base > 0 THEN
               '{{"key":"scene_base","n":1,"points":' || q.p_base || ',"rule":""}}' END,
             CASE WHEN q.cases > 0 THEN '{{"key":"cases","n":' || q.cases
               || ',"points":' || q.p_cases || ',"rule":""}}' END,
             CASE WHEN q.sc_stale THEN
               '{{"key":"selfcheck_stale","n":1,"points":' || q.p_sc || ',"rule":""}}' END,
             CASE WHEN q.in_stale THEN
               '{{"key":"inspection_stale","n":1,"points":' || q.p_in || ',"rule":""}}' END
           ) || ']')::jsonb AS factors
    FROM q
)
UPDATE safetycode_site s
SET score = a.score, code = a.code, factors = a.factors, scored_at = now()
FROM a
WHERE s.id = a.id {changed_only}
"""
# Rows whose outcome is unchanged are not rewritten: the nightly run writes only what moved.
CHANGED_ONLY = "AND (s.score, s.code, s.factors) IS DISTINCT FROM (a.score, a.code, a.factors)"


def score_model() -> ScoreModel:
    """The active model; the defaults of a fresh row if an admin deleted them all."""
    return ScoreModel.objects.filter(active=True).order_by("-id").first() or ScoreModel(
        scene_base={}
    )


def _params(model: ScoreModel) -> dict:
    import json

    return {
        "scene_base": json.dumps(model.scene_base or {}),
        "major_open_points": model.major_open_points,
        "general_open_points": model.general_open_points,
        "general_open_cap": model.general_open_cap,
        "overdue_points": model.overdue_points,
        "recurring_points": model.recurring_points,
        "recurring_days": model.recurring_days,
        "selfcheck_days": model.selfcheck_days,
        "selfcheck_stale_points": model.selfcheck_stale_points,
        "inspection_days": model.inspection_days,
        "inspection_stale_points": model.inspection_stale_points,
        "case_points": model.case_points,
        "case_cap": model.case_cap,
        "case_days": model.case_days,
        "radius_m": model.case_radius_m,
        "radius_deg": model.case_radius_m / M_PER_DEG * 1.25,
        "accident_days": model.accident_days,
        # Only safety cases (fire, gas, public security…) say something about a site; the same
        # 大类 list as the five-colour map.
        "case_majors": list(model.grid_case_majors or []),
        "red_below": model.red_below,
        "yellow_below": model.yellow_below,
        "yellow_on_open_general": model.yellow_on_open_general,
    }


def scores_recompute(
    *, site_ids: list[int] | None = None, model: ScoreModel | None = None, rewrite: bool = False
) -> int:
    """Recompute score, code and factors; every site when ``site_ids`` is None (set-based, one
    statement). Only rows whose outcome changed are written unless ``rewrite``. Returns the
    number of rows written."""
    params = _params(model or score_model())
    changed_only = "" if rewrite else CHANGED_ONLY
    if site_ids is None:
        sql = SQL.format(
            hazard_filter="", case_filter="", site_filter="", changed_only=changed_only
        )
    else:
        params["ids"] = list(site_ids)
        sql = SQL.format(
            hazard_filter="AND site_id = ANY(%(ids)s)",
            case_filter="AND s.id = ANY(%(ids)s)",
            site_filter="AND s.id = ANY(%(ids)s)",
            changed_only=changed_only,
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def factors_explained(factors: list[dict]) -> list[dict]:
    """The stored factors with their labels in the current language, for pages and APIs."""
    out = []
    for f in factors or []:
        out.append({**f, "label": str(FACTOR_LABELS.get(f.get("key"), f.get("key")))})
    return out


OPEN_CASE_STATUSES = list(Case.OPEN_STATUSES)
