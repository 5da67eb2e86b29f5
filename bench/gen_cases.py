"""Bench data for the cockpit: 11,000 site points (addresses) in the grids and a year of cases.

``python -m bench.gen_cases [--cases 1000000] [--days 365]`` fills the bench database (never the
demo's); bench/b_cockpit.py calls ``generate`` itself. Cases are written by one
INSERT … SELECT generate_series (cockpit.demo.history.cases_generate, the demo's generator) with
the rollup trigger paused, then the rollups are rebuilt in one set-based pass.
"""

import argparse
import time

SITES = 11_000
CASES = 1_000_000
DAYS = 365


def sites_ensure(cursor, n: int = SITES) -> int:
    """At least ``n`` address points spread over the grids (the tiles' point layer)."""
    cursor.execute("SELECT count(*) FROM grids_address")
    have = cursor.fetchone()[0]
    if have >= n:
        return have
    cursor.execute("SELECT count(*) FROM grids_node WHERE kind = 'grid' AND boundary IS NOT NULL")
    grids = cursor.fetchone()[0] or 1
    per = -(-(n - have) // grids)
    cursor.execute(
        "INSERT INTO grids_address (code, text, building, point, grid_id) "
        "SELECT 'BENCH-' || g.id || '-' || d.path[1], g.name || ' 场所 ' || d.path[1], '', d.geom, g.id "
        "FROM grids_node g, ST_Dump(ST_GeneratePoints(g.boundary, %s, 2020)) d "
        "WHERE g.kind = 'grid' AND g.boundary IS NOT NULL "
        "ON CONFLICT (code) DO NOTHING",
        [per],
    )
    cursor.execute("ANALYZE grids_address")
    cursor.execute("SELECT count(*) FROM grids_address")
    return cursor.fetchone()[0]


def generate(*, cases: int = CASES, days: int = DAYS, log=print) -> dict:
    """Sites, then ``cases`` cases over ``days`` days ending now; returns counts and seconds."""
    from django.db import connection
    from django.utils import timezone

    from cockpit.demo.history import cases_generate

    started = time.perf_counter()
    with connection.cursor() as cursor:
        sites = sites_ensure(cursor)
    log(f"sites: {sites} address points")
    inserted = cases_generate(n=cases, days=days, now=timezone.now(), with_logs=False)
    if not connection.in_atomic_block:  # VACUUM: the visibility map for index-only scans
        with connection.cursor() as cursor:
            for table in (
                "cockpit_casedaily",
                "cockpit_casedaygrid",
                "cockpit_caseclosure",
                "cockpit_caseopen",
                "cockpit_heatcell",
                "events_case",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")
    seconds = time.perf_counter() - started
    log(f"cases: {inserted} in {seconds:.0f} s (rollups rebuilt)")
    return {"sites": sites, "cases": inserted, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=CASES)
    parser.add_argument("--days", type=int, default=DAYS)
    args = parser.parse_args()
    from bench.core import Context

    ctx = Context.create()
    generate(cases=args.cases, days=args.days, log=ctx.log)


if __name__ == "__main__":
    main()
