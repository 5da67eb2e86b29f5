"""Safety codes (平安码): the nightly set-based recompute of all 11,000 sites, beside a raw
set-based UPDATE of the same rows and columns in the same run (target < 1 s); the nightly run as
it really runs (only changed rows written); one site's recompute after an inspection; the
five-colour grid levels the big screen reads.

The bench database has the territory only, so this module fills its own 11,000 sites (the demo
step's generator, cockpit.demo.sites.sites_insert, on points spread over the grids) each run.
"""

import random
import statistics
import time

from bench import Row

TITLE = "safety codes: set-based recompute of 11,000 sites vs raw UPDATE, per-site, five-colour"
N_SITES = 11_000
ROUNDS = 5
TARGET_MS = 1000.0
RAW_UPDATE = (
    "UPDATE safetycode_site SET score = score, code = code, factors = factors, scored_at = now()"
)


def _fill(ctx) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from cockpit.demo.sites import grid_points, sites_insert

    with connection.cursor() as cur:
        cur.execute("TRUNCATE safetycode_site, safetycode_importjob CASCADE")
    with transaction.atomic():
        points = grid_points(n=N_SITES, seed=2020)
        n = sites_insert(points=points, rng=random.Random("bench/safety"), now=timezone.now())
    ctx.log(f"safety: {n} sites inserted")


def _vacuum(ctx) -> None:
    pg = ctx.pg()
    try:
        with pg.cursor() as cur:
            cur.execute("VACUUM ANALYZE safetycode_site")
            cur.execute("VACUUM ANALYZE safetycode_hazard")
    finally:
        pg.close()


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def run(ctx) -> list[Row]:
    from django.db import connection

    from safetycode.models import Site
    from safetycode.scoring import scores_recompute
    from safetycode.selectors import grid_risk_levels

    _fill(ctx)
    full, raw, nightly = [], [], []

    def raw_update():
        with connection.cursor() as cur:
            cur.execute(RAW_UPDATE)
            assert cur.rowcount == N_SITES

    written = 0
    for _ in range(ROUNDS):
        _vacuum(ctx)
        full.append(_timed(lambda: scores_recompute(rewrite=True)))
        _vacuum(ctx)
        raw.append(_timed(raw_update))
        _vacuum(ctx)
        started = time.perf_counter()
        written = scores_recompute()
        nightly.append((time.perf_counter() - started) * 1000)
    full_ms, raw_ms, nightly_ms = (statistics.median(x) for x in (full, raw, nightly))

    ids = list(Site.objects.order_by("?").values_list("id", flat=True)[:200])
    one = sorted(_timed(lambda i=i: scores_recompute(site_ids=[i])) for i in ids)
    levels_ms = statistics.median(_timed(grid_risk_levels) for _ in range(5))
    grids = len(grid_risk_levels())
    return [
        Row(
            f"safety: recompute all {N_SITES:,} sites (every row rewritten)",
            full_ms,
            "ms",
            baseline=f"raw set-based UPDATE of the same rows {raw_ms:.0f} ms",
            ratio=full_ms / raw_ms if raw_ms else None,
            target=f"< {TARGET_MS:.0f} ms",
            ok=full_ms < TARGET_MS,
            note=f"median of {ROUNDS}; one UPDATE … FROM (aggregates)",
        ),
        Row(
            "safety: nightly recompute (unchanged rows not written)",
            nightly_ms,
            "ms",
            baseline=f"raw set-based UPDATE of the same rows {raw_ms:.0f} ms",
            ratio=nightly_ms / raw_ms if raw_ms else None,
            target=f"< {TARGET_MS:.0f} ms",
            ok=nightly_ms < TARGET_MS,
            note=f"{written} rows changed",
        ),
        Row(
            "safety: recompute one site (after an inspection)",
            statistics.median(one),
            "ms",
            note=f"p95 {one[int(len(one) * 0.95) - 1]:.1f} ms over {len(one)} sites",
        ),
        Row(
            f"safety: five-colour levels of {grids} grids (grid_risk_levels)",
            levels_ms,
            "ms",
        ),
    ]
