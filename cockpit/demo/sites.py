"""Step "safety sites": the town's 11,000 sites under safety codes (DOMAIN.md), in the eight
scenes, at addresses of the address library, with owners, credit codes, self-check and
inspection dates, a few hundred open hazards, then codes (set-based) and the first re-inspection
tasks. Deterministic (ctx.rng_for) and fast: one multi-row INSERT per table.

``sites_insert`` is also what bench/b_safetycode.py uses to fill its own database.
"""

import json
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from psycopg2.extras import execute_values

from accounts import pii
from cockpit.demo.names import mobile, person_name
from cockpit.demo.steps import DemoContext
from safetycode.models import ChecklistItem, Hazard, Site

N_SITES = 11_000
# Sites per scene (sums to N_SITES): the shares of a suburban town.
SCENE_COUNTS = {
    "shop": 3500,
    "rental": 3000,
    "office": 1800,
    "labour": 900,
    "crowded": 700,
    "key_place": 500,
    "hazchem": 500,
    "construction": 100,
}
NAMES = {
    "shop": ["便利店", "小吃店", "五金店", "理发店", "水果店", "服装店", "面馆", "药店"],
    "rental": ["出租房"],
    "office": ["科技有限公司", "贸易有限公司", "设计事务所", "咨询有限公司"],
    "labour": ["制衣厂", "电子厂", "食品厂", "物流仓储中心"],
    "crowded": ["农贸市场", "购物中心", "电影院", "培训学校", "体育馆"],
    "key_place": ["网吧", "KTV", "宾馆", "典当行", "洗浴中心"],
    "hazchem": ["化工有限公司", "加油站", "燃气供应站", "涂料有限公司"],
    "construction": ["项目工地"],
}
WORDS = "兴盛佳和顺鑫达华恒泰丰源隆昌旺福瑞安康宏远美嘉诚信"


def _credit_code(rng: random.Random) -> str:
    body = "".join(rng.choice(pii.CREDIT_CHARSET) for _ in range(9))
    first17 = f"91{settings.TOWN_CODE[:6]}{body}"
    return first17 + pii.credit_check_char(first17)


def _attributes(rng: random.Random, scene: str) -> dict:
    if scene == "shop":
        return {"area_m2": rng.randint(15, 200), "uses_gas": rng.random() < 0.4}
    if scene == "rental":
        return {"rooms": rng.randint(1, 30), "tenants": rng.randint(1, 60)}
    if scene == "office":
        return {"employees": rng.randint(3, 300)}
    if scene == "labour":
        return {"workers": rng.randint(50, 800), "dormitory": rng.random() < 0.5}
    if scene == "crowded":
        return {"capacity": rng.randint(100, 3000)}
    if scene == "key_place":
        return {"kind": rng.choice(NAMES["key_place"]), "security_staff": rng.randint(0, 6)}
    if scene == "hazchem":
        return {
            "licence_no": f"浙杭危化经字〔2025〕{rng.randint(1, 999):03d}",
            "storage_t": rng.randint(1, 200),
        }
    return {"permit_no": f"330106202{rng.randint(100000, 999999)}", "workers": rng.randint(30, 400)}


def sites_insert(
    *, points: list[tuple[float, float, int, str, str]], rng: random.Random, now: datetime
) -> int:
    """Insert one site per point (lng, lat, grid id, grid path, address), scenes in the shares of
    SCENE_COUNTS, plus open and closed hazards; then codes and re-inspection tasks, set-based."""
    from safetycode.scoring import scores_recompute
    from safetycode.services import reinspections_plan, tasks_mark_overdue

    total = sum(SCENE_COUNTS.values())
    scenes = [s for s, n in SCENE_COUNTS.items() for _ in range(round(n * len(points) / total))]
    scenes = (scenes + ["shop"] * len(points))[: len(points)]
    rng.shuffle(scenes)
    rows = []
    for (lng, lat, grid_id, path, address), scene in zip(points, scenes, strict=True):
        owner, phone = person_name(rng), mobile(rng)
        stem = "".join(rng.sample(WORDS, 2))
        name = address + NAMES[scene][0] if scene == "rental" else stem + rng.choice(NAMES[scene])
        selfcheck = now - timedelta(days=rng.uniform(0, 45)) if rng.random() < 0.8 else None
        inspected = now - timedelta(days=rng.uniform(0, 120)) if rng.random() < 0.9 else None
        rows.append(
            (
                name[:128],
                scene,
                "" if scene == "rental" else _credit_code(rng),
                lng,
                lat,
                address,
                grid_id,
                path,
                pii.encrypt(owner),
                pii.blind_index(owner),
                pii.encrypt(phone),
                pii.blind_index(phone),
                json.dumps(_attributes(rng, scene), ensure_ascii=False),
                rng.random() < 0.003,
                selfcheck,
                inspected,
                now - timedelta(days=rng.uniform(150, 900)),
            )
        )
    with connection.cursor() as cursor:
        ids = execute_values(
            cursor.cursor,
            f"""INSERT INTO {Site._meta.db_table} (name, scene, credit_code, location, address,
                grid_id, node_path, owner_enc, owner_index, phone_enc, phone_index, attributes,
                licence_suspended, last_selfcheck_at, last_inspection_at, created_at,
                qr_version, score, code, factors, override_code)
                VALUES %s RETURNING id, scene, grid_id""",
            rows,
            template=f"(%s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), {settings.STORAGE_SRID}),"
            " %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, 1, 100, 'green', '[]', '')",
            page_size=2000,
            fetch=True,
        )
    items: dict[str, list[ChecklistItem]] = {}
    for item in ChecklistItem.objects.filter(active=True).order_by("scene", "sort"):
        items.setdefault(item.scene, []).append(item)
    # Risk is not spread evenly: each grid gets its own hazard rate (log-normal around 5 %), so
    # the five-colour map shows hot spots rather than noise.
    rate = {g: min(0.4, 0.05 * rng.lognormvariate(0, 0.9)) for g in sorted({p[2] for p in points})}
    hazards = []
    for site_id, scene, grid_id in ids:
        roll = rng.random()
        if roll > rate[grid_id] or not items.get(scene):
            continue
        item = rng.choice(items[scene])
        found = now - timedelta(days=rng.uniform(0, 20))
        due = found + timedelta(days=item.rectify_days)
        # Most are within their deadline, a few overdue; a third already rectified.
        closed = found + timedelta(days=rng.uniform(1, 5)) if roll < rate[grid_id] / 3 else None
        if closed and closed > now:
            closed = None
        hazards.append(
            (
                site_id,
                item.id,
                item.text,
                item.hazard_level,
                "rectified" if closed else "open",
                found,
                due,
                closed,
            )
        )
    with connection.cursor() as cursor:
        execute_values(
            cursor.cursor,
            f"""INSERT INTO {Hazard._meta.db_table}
                (site_id, item_id, description, level, status, found_at, due_at, closed_at) VALUES %s""",
            hazards,
            page_size=5000,
        )
    scores_recompute()
    reinspections_plan()
    tasks_mark_overdue()
    return len(ids)


def grid_points(*, n: int, seed: int) -> list[tuple[float, float, int, str, str]]:
    """n points spread over the grids by area (no addresses): for a database with only the
    territory (the bench)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH g AS (SELECT id, path, boundary, ST_Area(boundary) AS a,
                              sum(ST_Area(boundary)) OVER () AS total
                       FROM grids_node WHERE kind = 'grid' AND boundary IS NOT NULL)
            SELECT ST_X(d.geom), ST_Y(d.geom), g.id, g.path, ''
            FROM g, LATERAL ST_Dump(ST_GeneratePoints(g.boundary,
                                    greatest(1, ceil(%s * g.a / g.total))::int, %s)) d
            ORDER BY g.id, d.path[1]
            """,
            [n, seed],
        )
        return cursor.fetchall()[:n]


def sites_build(ctx: DemoContext) -> str:
    rng = ctx.rng_for("safety sites")
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT ST_X(a.point), ST_Y(a.point), a.grid_id, g.path, a.text
               FROM grids_address a JOIN grids_node g ON g.id = a.grid_id
               ORDER BY md5(a.code || %s) LIMIT %s""",
            [str(ctx.seed), N_SITES],
        )
        points = cursor.fetchall()
    if len(points) < N_SITES:  # a town with a small address library: fill from the grids
        points += grid_points(n=N_SITES - len(points), seed=ctx.seed)
    points.sort(key=lambda p: (p[2], p[4], p[0]))
    n = sites_insert(points=points, rng=rng, now=ctx.now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT code, count(*) FROM {Site._meta.db_table} GROUP BY code ORDER BY code"
        )
        codes = dict(cursor.fetchall())
    return (
        f"{n} 平安码场所 safety sites: {codes.get('red', 0)} red, {codes.get('yellow', 0)} yellow, "
        f"{codes.get('green', 0)} green"
    )
