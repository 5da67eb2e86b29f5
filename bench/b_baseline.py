"""The database alone: raw INSERT rates and locating points in grids (see bench.baselines)."""

TITLE = "baselines: raw INSERT (single, batched), locate point → grid"


def run(ctx):
    return [ctx.baseline(k) for k in ("insert_single", "insert_batch", "locate_orm", "locate_sql")]
