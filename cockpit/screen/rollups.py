"""Rollups of events_case kept exact by PostgreSQL triggers (installed by cockpit migration 0002,
the INSERT side made set-based by 0007, its counts queued by 0010).

Why a trigger: every write path (case_report, case_report_many's bulk insert, transitions, the
admin, raw SQL) passes through the table, so counts move in the same transaction as the case
and no application code can forget to update them. The screen then reads tables of a few
thousand rows a day instead of scanning a million cases.

Two triggers, one per kind of write:
- ``cockpit_case_rollup_insert`` — AFTER INSERT, FOR EACH STATEMENT, with the inserted rows as a
  transition table: one statement for a whole batch. It writes caseopen and caseclosure (one
  row per case, in key order, so concurrent batches lock shared rows in one order) and appends
  each new case's +1 to ``cockpit_casedelta``, a queue with no index, instead of upserting the
  three counting tables. ``rollups_settle`` moves the queue into the counters; every reader of
  the counters calls it first, and a beat task every few seconds, so a reader sees every case
  committed before it asked — exact at every read rather than at every commit.
- ``cockpit_case_rollup`` — AFTER UPDATE OR DELETE, FOR EACH ROW: transitions and edits move a
  case from one rollup row to another (−1/+1), directly. (The function still knows INSERT:
  migration 0007's reverse puts it back on INSERT OR UPDATE OR DELETE.)
PostgreSQL allows a transition table only on a single-event trigger, hence two triggers rather
than one statement trigger for everything. TRUNCATE empties the rollups (a third trigger).

Counter slots: the counting tables (casedaily, casedaygrid, heatcell) hold each count in up to
SLOTS rows, one per slot. A writing transaction (a transition, a settle) takes the first slot
nobody else holds (``cockpit_rollup_slot``: a transaction-scoped advisory lock per slot) and adds
only to that slot's rows, so concurrent writers never wait for each other's counter rows;
before slots, two webhook batches from the same grids queued on the shared rows until the first
had committed and flushed its WAL, which capped batch intake whatever the cores. With every slot taken a writer
falls back to slot 0 and waits, in key order as before. A count is the sum of its slots (every
reader aggregates with Sum); ``rollups_compact`` (hourly) folds the slots of past days back into
slot 0, so only today's rows multiply, and only by the number of writers that were concurrent.

The day of a case is its ``reported_at`` in Asia/Shanghai (the town's calendar).
"""

from datetime import date

from django.db import connection

OPEN_STATUSES_SQL = (
    "ARRAY['reported','registered','dispatched','accepted','on_site','resolved','rework',"
    "'verified','returned']"
)
# Cases that are not incidents: refused registration and duplicates merged into another.
NOT_COUNTED = ("rejected", "merged")
HEAT_CELL_DEG = 0.002
# Counter slots and the advisory-lock class that claims them ("roll").
SLOTS = 16
SLOT_LOCK_CLASS = 0x726F6C6C

SLOT_SQL = f"""
CREATE OR REPLACE FUNCTION cockpit_rollup_slot() RETURNS smallint LANGUAGE plpgsql AS $$
BEGIN
  -- The first slot no other transaction holds (a lock this transaction holds is taken again).
  FOR k IN 0..{SLOTS - 1} LOOP
    IF pg_try_advisory_xact_lock({SLOT_LOCK_CLASS}, k) THEN
      RETURN k;
    END IF;
  END LOOP;
  RETURN 0;  -- every slot busy: share slot 0 and wait for its rows in key order
END $$;
"""

# The earliest running deadline: same rule as events.selectors.case_search_for(overdue=True).
DUE_EXPR = (
    "LEAST(CASE WHEN {c}.registered_at IS NULL THEN {c}.register_due END,"
    " CASE WHEN {c}.accepted_at IS NULL THEN {c}.accept_due END,"
    " CASE WHEN {c}.arrived_at IS NULL THEN {c}.arrive_due END,"
    " CASE WHEN {c}.resolved_at IS NULL THEN {c}.resolve_due END)"
)

# TRUNCATE fires no row trigger: empty the rollups with the cases (bench resets). DELETE, not
# TRUNCATE: a flush truncates these tables in the same statement, and a nested TRUNCATE of a
# table that statement holds fails ("being used by active queries").
TRUNCATE_SQL = """
CREATE OR REPLACE FUNCTION cockpit_case_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM cockpit_casedaily;
  DELETE FROM cockpit_casedaygrid;
  DELETE FROM cockpit_heatcell;
  DELETE FROM cockpit_caseopen;
  DELETE FROM cockpit_caseclosure;
  DELETE FROM cockpit_casedelta;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS cockpit_case_truncate ON events_case;
CREATE TRIGGER cockpit_case_truncate AFTER TRUNCATE ON events_case
FOR EACH STATEMENT EXECUTE FUNCTION cockpit_case_truncated();
"""

# The INSERT side, set-based: one statement for a whole INSERT's rows. The three counting tables
# are not touched: each new case appends a +1 row to cockpit_casedelta (no index, no key, no
# lock on a shared row), and rollups_settle moves what is pending into the counters before anyone
# reads them. Upserting the counters here cost a webhook batch ~3 ms and a single report ~0.25
# ms of the database's CPU, a seventh of either (bench: backend CPU per report and per batch).
# caseopen and caseclosure keep one row per case and are written here, in key order (the order
# two concurrent writers lock rows they share in). An INSERT of no rows writes nothing.
INSERT_SQL = f"""
CREATE OR REPLACE FUNCTION cockpit_case_rollup_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('cockpit.rollups_paused', true) = 'on' THEN
    RETURN NULL;
  END IF;

  WITH r AS MATERIALIZED (
    SELECT n.*, cockpit_day(n.reported_at) AS day FROM new_rows n
  ), delta AS (
    INSERT INTO cockpit_casedelta (day, node_path, source, category_id, status, grade, cx, cy, n)
    SELECT r.day, r.node_path, r.source, r.category_id, r.status, r.grade,
           floor(ST_X(r.location) / {HEAT_CELL_DEG})::int,
           floor(ST_Y(r.location) / {HEAT_CELL_DEG})::int, 1
      FROM r
  ), closure AS (
    INSERT INTO cockpit_caseclosure AS t (case_id, day, node_path, category_id, minutes, late)
    SELECT r.id, cockpit_day(r.closed_at), r.node_path, r.category_id,
           GREATEST(0, extract(epoch FROM r.closed_at - r.reported_at) / 60.0),
           COALESCE(r.resolved_at > r.resolve_due, false)
      FROM r WHERE r.status = 'closed' AND r.closed_at IS NOT NULL ORDER BY r.id
    ON CONFLICT (case_id) DO UPDATE SET day = EXCLUDED.day, node_path = EXCLUDED.node_path,
      category_id = EXCLUDED.category_id, minutes = EXCLUDED.minutes, late = EXCLUDED.late
  )
  INSERT INTO cockpit_caseopen AS t (case_id, node_path, grid_id, source, category_id, status,
                                     grade, reported_at, due_at, lng, lat)
  SELECT r.id, r.node_path, r.grid_id, r.source, r.category_id, r.status, r.grade,
         r.reported_at, {DUE_EXPR.format(c="r")}, ST_X(r.location), ST_Y(r.location)
    FROM r WHERE r.status = ANY({OPEN_STATUSES_SQL}) ORDER BY r.id
  ON CONFLICT (case_id) DO UPDATE SET node_path = EXCLUDED.node_path,
    grid_id = EXCLUDED.grid_id, source = EXCLUDED.source, category_id = EXCLUDED.category_id,
    status = EXCLUDED.status, grade = EXCLUDED.grade, reported_at = EXCLUDED.reported_at,
    due_at = EXCLUDED.due_at, lng = EXCLUDED.lng, lat = EXCLUDED.lat;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS cockpit_case_rollup_insert ON events_case;
CREATE TRIGGER cockpit_case_rollup_insert AFTER INSERT ON events_case
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION cockpit_case_rollup_insert();
"""

# The pending counts of new cases: appended by cockpit_case_rollup_insert, emptied by
# rollups_settle. A queue, not a table anyone searches: no index, vacuumed often (its rows live
# for seconds), never read but by the settle's DELETE.
DELTA_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS cockpit_casedelta (
  day date NOT NULL,
  node_path varchar(255) NOT NULL,
  source varchar(16) NOT NULL,
  category_id bigint NOT NULL,
  status varchar(12) NOT NULL,
  grade smallint NOT NULL,
  cx integer,
  cy integer,
  n integer NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,
        autovacuum_vacuum_cost_delay = 0);
"""

# Pending counts into the counting tables, in one statement: the DELETE's rows feed the upserts
# (sums per key, in key order, into the slot this transaction holds). Two settles at once cannot
# count a row twice: the second waits for the first's row locks and then finds them deleted.
SETTLE_SQL = """
WITH moved AS (
  DELETE FROM cockpit_casedelta
  RETURNING day, node_path, source, category_id, status, grade, cx, cy, n
), sl AS (
  SELECT cockpit_rollup_slot() AS s
), daily AS (
  INSERT INTO cockpit_casedaily AS t (day, node_path, source, category_id, status, grade, slot,
                                      n)
  SELECT m.day, m.node_path, m.source, m.category_id, m.status, m.grade, sl.s, sum(m.n)::int
    FROM moved m, sl GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT (day, node_path, source, category_id, status, grade, slot)
  DO UPDATE SET n = t.n + EXCLUDED.n
), daygrid AS (
  INSERT INTO cockpit_casedaygrid AS t (day, node_path, status, grade, slot, n)
  SELECT m.day, m.node_path, m.status, m.grade, sl.s, sum(m.n)::int
    FROM moved m, sl GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4
  ON CONFLICT (day, node_path, status, grade, slot) DO UPDATE SET n = t.n + EXCLUDED.n
), heat AS (
  INSERT INTO cockpit_heatcell AS t (day, node_path, cx, cy, slot, n)
  SELECT m.day, m.node_path, m.cx, m.cy, sl.s, sum(m.n)::int
    FROM moved m, sl WHERE m.cx IS NOT NULL
   GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4
  ON CONFLICT (day, node_path, cx, cy, slot) DO UPDATE SET n = t.n + EXCLUDED.n
)
SELECT count(*) FROM moved
"""

TRIGGER_SQL = (
    f"""
CREATE OR REPLACE FUNCTION cockpit_day(ts timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (ts AT TIME ZONE 'Asia/Shanghai')::date $$;

CREATE OR REPLACE FUNCTION cockpit_case_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  daily_changed boolean := true;
  heat_changed boolean := true;
  s smallint;
BEGIN
  -- A bulk load pauses the trigger for its session and rebuilds the rollups after it.
  IF current_setting('cockpit.rollups_paused', true) = 'on' THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    daily_changed := (OLD.reported_at, OLD.node_path, OLD.source, OLD.category_id, OLD.status,
                      OLD.grade)
      IS DISTINCT FROM (NEW.reported_at, NEW.node_path, NEW.source, NEW.category_id,
                        NEW.status, NEW.grade);
    heat_changed := OLD.reported_at IS DISTINCT FROM NEW.reported_at
      OR OLD.node_path IS DISTINCT FROM NEW.node_path
      OR NOT (OLD.location IS NOT DISTINCT FROM NEW.location);
  END IF;

  IF daily_changed OR heat_changed THEN
    s := cockpit_rollup_slot();
  END IF;

  -- A decrement is a −1 in this transaction's slot (the +1 may sit in another slot).
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF daily_changed THEN
      INSERT INTO cockpit_casedaily AS t (day, node_path, source, category_id, status, grade,
                                          slot, n)
      VALUES (cockpit_day(OLD.reported_at), OLD.node_path, OLD.source, OLD.category_id,
              OLD.status, OLD.grade, s, -1)
      ON CONFLICT (day, node_path, source, category_id, status, grade, slot)
      DO UPDATE SET n = t.n - 1;
      INSERT INTO cockpit_casedaygrid AS t (day, node_path, status, grade, slot, n)
      VALUES (cockpit_day(OLD.reported_at), OLD.node_path, OLD.status, OLD.grade, s, -1)
      ON CONFLICT (day, node_path, status, grade, slot) DO UPDATE SET n = t.n - 1;
    END IF;
    IF heat_changed AND OLD.location IS NOT NULL THEN
      INSERT INTO cockpit_heatcell AS t (day, node_path, cx, cy, slot, n)
      VALUES (cockpit_day(OLD.reported_at), OLD.node_path,
              floor(ST_X(OLD.location) / {HEAT_CELL_DEG})::int,
              floor(ST_Y(OLD.location) / {HEAT_CELL_DEG})::int, s, -1)
      ON CONFLICT (day, node_path, cx, cy, slot) DO UPDATE SET n = t.n - 1;
    END IF;
  END IF;

  IF TG_OP = 'DELETE' THEN
    DELETE FROM cockpit_caseopen WHERE case_id = OLD.id;
    DELETE FROM cockpit_caseclosure WHERE case_id = OLD.id;
    RETURN OLD;
  END IF;

  IF daily_changed THEN
    INSERT INTO cockpit_casedaily AS t (day, node_path, source, category_id, status, grade, slot,
                                        n)
    VALUES (cockpit_day(NEW.reported_at), NEW.node_path, NEW.source, NEW.category_id,
            NEW.status, NEW.grade, s, 1)
    ON CONFLICT (day, node_path, source, category_id, status, grade, slot)
    DO UPDATE SET n = t.n + 1;
    INSERT INTO cockpit_casedaygrid AS t (day, node_path, status, grade, slot, n)
    VALUES (cockpit_day(NEW.reported_at), NEW.node_path, NEW.status, NEW.grade, s, 1)
    ON CONFLICT (day, node_path, status, grade, slot) DO UPDATE SET n = t.n + 1;
  END IF;
  IF heat_changed AND NEW.location IS NOT NULL THEN
    INSERT INTO cockpit_heatcell AS t (day, node_path, cx, cy, slot, n)
    VALUES (cockpit_day(NEW.reported_at), NEW.node_path,
            floor(ST_X(NEW.location) / {HEAT_CELL_DEG})::int,
            floor(ST_Y(NEW.location) / {HEAT_CELL_DEG})::int, s, 1)
    ON CONFLICT (day, node_path, cx, cy, slot) DO UPDATE SET n = t.n + 1;
  END IF;

  IF NEW.status = ANY({OPEN_STATUSES_SQL}) THEN
    INSERT INTO cockpit_caseopen (case_id, node_path, grid_id, source, category_id, status, grade,
                                  reported_at, due_at, lng, lat)
    VALUES (NEW.id, NEW.node_path, NEW.grid_id, NEW.source, NEW.category_id, NEW.status,
            NEW.grade, NEW.reported_at, {DUE_EXPR.format(c="NEW")},
            ST_X(NEW.location), ST_Y(NEW.location))
    ON CONFLICT (case_id) DO UPDATE SET node_path = EXCLUDED.node_path,
      grid_id = EXCLUDED.grid_id, source = EXCLUDED.source, category_id = EXCLUDED.category_id,
      status = EXCLUDED.status, grade = EXCLUDED.grade, reported_at = EXCLUDED.reported_at,
      due_at = EXCLUDED.due_at, lng = EXCLUDED.lng, lat = EXCLUDED.lat;
  ELSIF TG_OP = 'UPDATE' THEN
    DELETE FROM cockpit_caseopen WHERE case_id = NEW.id;
  END IF;

  IF NEW.status = 'closed' AND NEW.closed_at IS NOT NULL THEN
    INSERT INTO cockpit_caseclosure (case_id, day, node_path, category_id, minutes, late)
    VALUES (NEW.id, cockpit_day(NEW.closed_at), NEW.node_path, NEW.category_id,
            GREATEST(0, extract(epoch FROM NEW.closed_at - NEW.reported_at) / 60.0),
            COALESCE(NEW.resolved_at > NEW.resolve_due, false))
    ON CONFLICT (case_id) DO UPDATE SET day = EXCLUDED.day, node_path = EXCLUDED.node_path,
      category_id = EXCLUDED.category_id, minutes = EXCLUDED.minutes, late = EXCLUDED.late;
  ELSIF TG_OP = 'UPDATE' AND OLD.status = 'closed' THEN
    DELETE FROM cockpit_caseclosure WHERE case_id = NEW.id;
  END IF;
  RETURN NEW;
END $$;

-- UPDATE and DELETE only: inserts are counted by cockpit_case_rollup_insert (INSERT_SQL).
DROP TRIGGER IF EXISTS cockpit_case_rollup ON events_case;
CREATE TRIGGER cockpit_case_rollup AFTER UPDATE OR DELETE ON events_case
FOR EACH ROW EXECUTE FUNCTION cockpit_case_rollup();
"""
    + SLOT_SQL
    + INSERT_SQL
    + TRUNCATE_SQL
)

TRIGGER_DROP_SQL = """
DROP TRIGGER IF EXISTS cockpit_case_rollup_insert ON events_case;
DROP FUNCTION IF EXISTS cockpit_case_rollup_insert();
DROP TRIGGER IF EXISTS cockpit_case_truncate ON events_case;
DROP FUNCTION IF EXISTS cockpit_case_truncated();
DROP TRIGGER IF EXISTS cockpit_case_rollup ON events_case;
DROP FUNCTION IF EXISTS cockpit_case_rollup();
DROP FUNCTION IF EXISTS cockpit_day(timestamptz);
DROP FUNCTION IF EXISTS cockpit_rollup_slot();
"""

# Everything from scratch, set-based: for bulk loads that ran with the trigger disabled.
REBUILD_SQL = f"""
TRUNCATE cockpit_casedaily, cockpit_casedaygrid, cockpit_heatcell, cockpit_caseopen,
         cockpit_caseclosure;
INSERT INTO cockpit_casedaily (day, node_path, source, category_id, status, grade, n)
SELECT cockpit_day(reported_at), node_path, source, category_id, status, grade, count(*)
  FROM events_case GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO cockpit_casedaygrid (day, node_path, status, grade, n)
SELECT day, node_path, status, grade, sum(n) FROM cockpit_casedaily GROUP BY 1, 2, 3, 4;
INSERT INTO cockpit_heatcell (day, node_path, cx, cy, n)
SELECT cockpit_day(reported_at), node_path, floor(ST_X(location) / {HEAT_CELL_DEG})::int,
       floor(ST_Y(location) / {HEAT_CELL_DEG})::int, count(*)
  FROM events_case WHERE location IS NOT NULL GROUP BY 1, 2, 3, 4;
INSERT INTO cockpit_caseopen (case_id, node_path, grid_id, source, category_id, status, grade,
                              reported_at, due_at, lng, lat)
SELECT c.id, c.node_path, c.grid_id, c.source, c.category_id, c.status, c.grade, c.reported_at,
       {DUE_EXPR.format(c="c")}, ST_X(c.location), ST_Y(c.location)
  FROM events_case c WHERE c.status = ANY({OPEN_STATUSES_SQL});
INSERT INTO cockpit_caseclosure (case_id, day, node_path, category_id, minutes, late)
SELECT id, cockpit_day(closed_at), node_path, category_id,
       GREATEST(0, extract(epoch FROM closed_at - reported_at) / 60.0),
       COALESCE(resolved_at > resolve_due, false)
  FROM events_case WHERE status = 'closed' AND closed_at IS NOT NULL;
ANALYZE cockpit_casedaily; ANALYZE cockpit_casedaygrid; ANALYZE cockpit_heatcell; ANALYZE cockpit_caseopen;
ANALYZE cockpit_caseclosure;
"""


# The counting tables and their keys (the unique key without the slot).
COUNTERS = {
    "cockpit_casedaily": "day, node_path, source, category_id, status, grade",
    "cockpit_casedaygrid": "day, node_path, status, grade",
    "cockpit_heatcell": "day, node_path, cx, cy",
}


def _compact_sql(table: str, key: str) -> str:
    """Move the other slots' rows of days before %(before)s into slot 0, in one statement (the
    deleted rows feed the upsert); answers the days it touched and how many rows it moved."""
    return f"""
WITH moved AS (
  DELETE FROM {table} WHERE slot <> 0 AND day < %(before)s RETURNING {key}, n
), folded AS (
  INSERT INTO {table} AS t ({key}, slot, n)
  SELECT {key}, 0, sum(n) FROM moved GROUP BY {key} ORDER BY {key}
  ON CONFLICT ({key}, slot) DO UPDATE SET n = t.n + EXCLUDED.n
)
SELECT array_agg(DISTINCT day), count(*) FROM moved
"""


def rollups_compact(before: date | None = None) -> int:
    """Fold the counter slots of every day before ``before`` (default: today in the town) into
    slot 0, and drop the zero rows left on those days; every count reads the same before and
    after. Returns how many slot rows it folded. Runs hourly (beat), so a past day ends up with
    one row per key; today keeps its slots, which its writers are using. A writer that still
    adds to a past day (a case reported yesterday, closed now) opens a slot row again, folded on
    the next run."""
    from django.db import transaction
    from django.utils import timezone

    before = before or timezone.localdate()
    folded = 0
    rollups_settle()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, key in COUNTERS.items():
            cursor.execute(_compact_sql(table, key), {"before": before})
            days, moved = cursor.fetchone()
            if moved:
                cursor.execute(
                    f"DELETE FROM {table} WHERE day = ANY(%s) AND slot = 0 AND n = 0", [days]
                )
                folded += moved
    return folded


def rollups_settle() -> int:
    """Move the pending counts of new cases (cockpit_casedelta) into casedaily, casedaygrid and
    heatcell; returns how many it moved. Every reader of those tables calls it first, so what it
    reads counts every case committed before it asked; with nothing pending it costs one
    DELETE of nothing. A beat task runs it too (cockpit.rollups_settle), so the queue stays
    short when no screen is open."""
    with connection.cursor() as cursor:
        cursor.execute(SETTLE_SQL)
        return cursor.fetchone()[0]


def rollups_rebuild() -> None:
    """Recompute every rollup from events_case (after a bulk load with the trigger disabled)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM cockpit_casedelta")  # counted again from the cases below
        cursor.execute(REBUILD_SQL)


def trigger_set(*, enabled: bool) -> None:
    """Pause the rollup trigger for this database session during a bulk load (then call
    rollups_rebuild), and resume it. A session setting, not ALTER TABLE: no table lock, and
    other sessions keep their rollups exact meanwhile."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('cockpit.rollups_paused', %s, false)", ["off" if enabled else "on"]
        )
