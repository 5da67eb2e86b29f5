"""Step "history": a plausible year of cases, so the big screen and its trends look alive.

Written with one INSERT … SELECT generate_series (no Python loop over cases): the mix of
categories and sources follows the town's sources (video AI and grid workers most, 110/119
least), each case sits at a random address of the address library, older cases are closed and
the last few days hold open ones at every step, some past their deadline. The rollup trigger is
switched off for the load and the rollups rebuilt in one pass after it. bench/gen_cases.py calls
``cases_generate`` for its million cases.
"""

from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from cockpit.demo.steps import DemoContext

N_CASES = 60_000  # ≈ 5,000 a month (the real town: ≈ 21,000; DOMAIN.md); bench: 1M
DAYS = 365

# (kind, code, source, weight): what the town's cases are, and where they come from.
MIX = [
    ("matter", "06010", "video_ai", 8),
    ("matter", "06010", "resident", 6),
    ("matter", "06010", "worker", 4),
    ("matter", "09009", "video_ai", 9),
    ("matter", "09009", "resident", 3),
    ("matter", "09010", "patrol", 3),
    ("matter", "09006", "patrol", 5),
    ("matter", "09005", "video_ai", 5),
    ("matter", "06013", "worker", 3),
    ("matter", "06036", "worker", 4),
    ("matter", "06028", "12345", 4),
    ("matter", "06027", "12345", 2),
    ("matter", "07001", "worker", 3),
    ("matter", "08004", "patrol", 2),
    ("matter", "08001", "12345", 2),
    ("matter", "08002", "worker", 1),
    ("matter", "09012", "worker", 2),
    ("matter", "01037", "resident", 2),
    ("matter", "06025", "video_ai", 1),
    ("matter", "06042", "resident", 2),
    ("matter", "10002", "four_platforms", 0.3),
    ("matter", "01023", "iot", 0.6),
    ("scene", "L0001", "119", 0.4),
    ("scene", "L0002", "iot", 0.8),
    ("scene", "L0003", "iot", 0.2),
    ("scene", "L0005", "110", 1.5),
    ("scene", "L0006", "110", 2.5),
    ("scene", "L0007", "110", 1.5),
    ("scene", "L0007", "four_platforms", 2),
    ("scene", "L0007", "resident", 1),
    ("scene", "L0008", "worker", 4),
    ("scene", "L0008", "four_platforms", 1),
    ("scene", "L0009", "video_ai", 0.4),
    ("scene", "L0010", "worker", 1),
    ("scene", "L0011", "video_ai", 4),
    ("scene", "L0013", "iot", 0.6),
    ("scene", "L0014", "12345", 2),
    ("scene", "L0015", "12345", 0.8),
]
SLOTS = 1000
LABELS = {
    "resident": "市民",
    "110": "110",
    "119": "119",
    "12345": "12345",
    "iot": "物联感知",
    "video_ai": "视频智能分析",
    "four_platforms": "基层治理四平台",
}

GENERATE_SQL = """
WITH addr AS (
  SELECT row_number() OVER (ORDER BY a.id)::int AS rn, a.point, a.grid_id, a.text, n.path
    FROM grids_address a JOIN grids_node n ON n.id = a.grid_id
),
na AS (SELECT count(*)::int AS c FROM addr),
base AS (
  SELECT g,
         1 + floor(random() * %(slots)s)::int AS slot,
         1 + floor(random() * (SELECT c FROM na))::int AS arn,
         %(now)s::timestamptz - (power(random(), %(skew)s) * %(days)s) * interval '1 day' AS rep,
         random() AS rs, random() AS rs2, random() AS ru,
         (random() - 0.5) * 0.0004 AS jx, (random() - 0.5) * 0.0004 AS jy,
         random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
         random() AS r6, random() AS r7
    FROM generate_series(1, %(n)s) g
),
st AS (
  SELECT b.*, extract(epoch FROM %(now)s::timestamptz - b.rep) / 3600.0 AS age_h FROM base b
),
st2 AS (
  SELECT s.*,
         CASE WHEN s.rs < 0.02 THEN 'rejected'
              WHEN s.rs < 0.02 + 0.977 * least(1.0, power(s.age_h / 48.0, 0.6)) THEN 'closed'
              ELSE (ARRAY['reported','registered','dispatched','accepted','on_site','resolved',
                          'verified'])[1 + floor(power(s.rs2, 0.5)
                                                 * least(7.0, 1 + s.age_h / 2.0))::int]
         END AS status,
         s.rep + (5 + s.r1 * 55) * interval '1 minute' AS t_reg
    FROM st s
),
st3 AS (
  SELECT s.*,
         array_position(ARRAY['reported','registered','dispatched','accepted','on_site',
                              'resolved','verified','closed'], s.status) - 1 AS rnk,
         s.t_reg + (1 + s.r2 * 19) * interval '1 minute' AS t_dis,
         s.t_reg + (1 + s.r2 * 19 + 5 + s.r3 * 55) * interval '1 minute' AS t_acc,
         s.t_reg + (1 + s.r2 * 19 + 5 + s.r3 * 55 + 10 + s.r4 * 110) * interval '1 minute' AS t_arr,
         s.t_reg + (1 + s.r2 * 19 + 5 + s.r3 * 55 + 10 + s.r4 * 110 + 30 + power(s.r5, 2) * 4300)
                   * interval '1 minute' AS t_res
    FROM st2 s
),
st4 AS (
  SELECT s.*, s.t_res + (10 + s.r6 * 600) * interval '1 minute' AS t_ver,
         s.t_res + (10 + s.r6 * 600 + 5 + s.r7 * 300) * interval '1 minute' AS t_clo,
         CASE WHEN s.ru < 0.03 THEN least((%(grades)s::int[])[s.slot], 2)
              ELSE (%(grades)s::int[])[s.slot] END AS grade
    FROM st3 s
)
INSERT INTO events_case (
  number, source, external_id, category_id, grade, title, description, location, src_crs,
  address, node_path, grid_id, outside_jurisdiction, reporter_name, reporter_phone_enc,
  reporter_phone_index, tracking_token, status, routed_at, routing, extra, reported_at,
  registered_at, dispatched_at, accepted_at, arrived_at, resolved_at, verified_at, closed_at,
  register_due, accept_due, arrive_due, resolve_due, escalation_level, rating, rating_comment,
  updated_at)
SELECT 'SD-' || to_char(t.rep AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-'
         || lpad((%(after)s + t.g)::text, greatest(7, length((%(after)s + t.g)::text)), '0'),
       (%(sources)s::text[])[t.slot], '', (%(cats)s::bigint[])[t.slot], t.grade,
       (%(titles)s::text[])[t.slot], '',
       ST_SetSRID(ST_MakePoint(ST_X(a.point) + t.jx, ST_Y(a.point) + t.jy), 4326), 'wgs84',
       a.text, a.path, a.grid_id, false, '', '', '',
       md5(t.g::text || random()::text || clock_timestamp()::text), t.status, t.rep, '{}',
       '{"generated": true}', t.rep,
       CASE WHEN t.rnk >= 1 THEN least(%(now)s, t.t_reg) END,
       CASE WHEN t.rnk >= 2 THEN least(%(now)s, t.t_dis) END,
       CASE WHEN t.rnk >= 3 THEN least(%(now)s, t.t_acc) END,
       CASE WHEN t.rnk >= 4 THEN least(%(now)s, t.t_arr) END,
       CASE WHEN t.rnk >= 5 THEN least(%(now)s, t.t_res) END,
       CASE WHEN t.rnk >= 6 THEN least(%(now)s, t.t_ver) END,
       CASE WHEN t.rnk >= 7 THEN least(%(now)s, t.t_clo)
            WHEN t.status = 'rejected' THEN least(%(now)s, t.t_reg) END,
       t.rep + interval '1 hour',
       CASE WHEN t.rnk >= 2 THEN t.t_dis + interval '1 hour' END,
       CASE WHEN t.rnk >= 2 THEN t.t_dis + interval '2 hours' END,
       CASE WHEN t.rnk >= 2 THEN t.t_dis + CASE WHEN t.grade <= 2 THEN interval '24 hours'
                                                ELSE interval '5 days' END END,
       0, '', '', %(now)s
  FROM st4 t JOIN addr a ON a.rn = t.arn
"""

LOG_SQL = """
INSERT INTO events_caselog (case_id, at, actor_label, action, from_status, to_status, note, data)
SELECT c.id, c.reported_at, COALESCE((%(labels)s::jsonb) ->> c.source, '网格员'), 'report', '',
       'reported', '', '{}'::jsonb FROM events_case c WHERE c.id > %(after)s
UNION ALL
SELECT c.id, c.closed_at, '系统', CASE WHEN c.status = 'closed' THEN 'close' ELSE 'reject' END,
       CASE WHEN c.status = 'closed' THEN 'verified' ELSE 'reported' END, c.status, '', '{}'::jsonb
  FROM events_case c WHERE c.id > %(after)s AND c.status IN ('closed', 'rejected')
ORDER BY 2
"""


def _slots() -> dict:
    """The mix as parallel arrays of SLOTS entries (a weighted draw is one random index)."""
    from events.models import Category

    found = {(c.kind, c.code): c for c in Category.objects.filter(active=True)}
    mix = [(found[(k, code)], src, w) for k, code, src, w in MIX if (k, code) in found]
    if not mix:
        raise RuntimeError("no categories: load the taxonomy first (migrate events)")
    total = sum(w for _c, _s, w in mix)
    cats, grades, sources, titles = [], [], [], []
    for category, source, weight in mix:
        for _ in range(max(1, round(weight / total * SLOTS))):
            cats.append(category.id)
            grades.append(category.default_grade)
            sources.append(source)
            titles.append(category.name)
    return {"cats": cats, "grades": grades, "sources": sources, "titles": titles}


def cases_generate(
    *, n: int, days: int = DAYS, now: datetime, with_logs: bool = True, skew: float = 0.92
) -> int:
    """Insert ``n`` cases spread over the ``days`` before ``now`` (fewer in recent months:
    ``skew`` < 1 leans the draw towards older days, the town's falling trend). Needs grids and
    addresses. Returns the number of cases inserted."""
    import json

    from cockpit.screen.rollups import rollups_rebuild, trigger_set

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM events_case")
        after = cursor.fetchone()[0]
        # Numbers: seven digits from past the highest id, so they never meet the live
        # sequence's six-digit numbers nor an earlier load's.
        params = _slots() | {"n": n, "days": days, "now": now, "skew": skew, "after": after}
        params["slots"] = len(params["cats"])
        trigger_set(enabled=False)
        try:
            cursor.execute(GENERATE_SQL, params)
            inserted = cursor.rowcount
            if with_logs:
                cursor.execute(LOG_SQL, {"after": after, "labels": json.dumps(LABELS)})
        except Exception:
            try:  # in autocommit the pause outlived the failure; in a transaction it rolls back
                trigger_set(enabled=True)
            except Exception:
                pass
            raise
        trigger_set(enabled=True)
        rollups_rebuild()
        cursor.execute("ANALYZE events_case")
    return inserted


def history_build(ctx: DemoContext) -> str:
    from cockpit.screen.consultation import consultation_build
    from cockpit.screen.indices import indices_trend

    inserted = cases_generate(n=N_CASES, now=ctx.now)
    indices_trend(days=30)
    consultation_build(day=timezone.localdate(ctx.now) - timedelta(days=1))
    return f"{inserted} cases over {DAYS} days; 30 days of indices; yesterday's consultation"
