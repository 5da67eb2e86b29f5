"""New cases' counts go to a queue (cockpit_casedelta) that rollups_settle moves into the
counting tables before they are read, instead of three upserts in every insert's trigger
(cockpit.screen.rollups). Whatever the old trigger counted stays where it is.

Reversible: the reverse settles the queue, then puts back the trigger that upserted directly."""

from django.db import migrations

from cockpit.screen.rollups import DELTA_TABLE_SQL, INSERT_SQL, SETTLE_SQL, TRUNCATE_SQL

# The INSERT trigger of migration 0009 (upserts into the slot the transaction holds).
_UPSERT_INSERT_SQL = """
CREATE OR REPLACE FUNCTION cockpit_case_rollup_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  s smallint;
BEGIN
  IF current_setting('cockpit.rollups_paused', true) = 'on' THEN
    RETURN NULL;
  END IF;
  s := cockpit_rollup_slot();
  WITH r AS MATERIALIZED (
    SELECT n.*, cockpit_day(n.reported_at) AS day FROM new_rows n
  ), daily AS (
    INSERT INTO cockpit_casedaily AS t (day, node_path, source, category_id, status, grade, slot,
                                        n)
    SELECT r.day, r.node_path, r.source, r.category_id, r.status, r.grade, s, count(*)
      FROM r GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (day, node_path, source, category_id, status, grade, slot)
    DO UPDATE SET n = t.n + EXCLUDED.n
  ), daygrid AS (
    INSERT INTO cockpit_casedaygrid AS t (day, node_path, status, grade, slot, n)
    SELECT r.day, r.node_path, r.status, r.grade, s, count(*)
      FROM r GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (day, node_path, status, grade, slot) DO UPDATE SET n = t.n + EXCLUDED.n
  ), heat AS (
    INSERT INTO cockpit_heatcell AS t (day, node_path, cx, cy, slot, n)
    SELECT r.day, r.node_path, floor(ST_X(r.location) / 0.002)::int,
           floor(ST_Y(r.location) / 0.002)::int, s, count(*)
      FROM r WHERE r.location IS NOT NULL
     GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (day, node_path, cx, cy, slot) DO UPDATE SET n = t.n + EXCLUDED.n
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
         r.reported_at,
         LEAST(CASE WHEN r.registered_at IS NULL THEN r.register_due END,
               CASE WHEN r.accepted_at IS NULL THEN r.accept_due END,
               CASE WHEN r.arrived_at IS NULL THEN r.arrive_due END,
               CASE WHEN r.resolved_at IS NULL THEN r.resolve_due END),
         ST_X(r.location), ST_Y(r.location)
    FROM r WHERE r.status = ANY(ARRAY['reported','registered','dispatched','accepted','on_site',
                                      'resolved','rework','verified','returned']) ORDER BY r.id
  ON CONFLICT (case_id) DO UPDATE SET node_path = EXCLUDED.node_path,
    grid_id = EXCLUDED.grid_id, source = EXCLUDED.source, category_id = EXCLUDED.category_id,
    status = EXCLUDED.status, grade = EXCLUDED.grade, reported_at = EXCLUDED.reported_at,
    due_at = EXCLUDED.due_at, lng = EXCLUDED.lng, lat = EXCLUDED.lat;
  RETURN NULL;
END $$;
"""


_TRUNCATE_BEFORE = TRUNCATE_SQL.replace("  DELETE FROM cockpit_casedelta;\n", "")
assert _TRUNCATE_BEFORE != TRUNCATE_SQL


class Migration(migrations.Migration):
    dependencies = [("cockpit", "0009_rollup_slots")]

    operations = [
        migrations.RunSQL(DELTA_TABLE_SQL, "DROP TABLE IF EXISTS cockpit_casedelta;"),
        migrations.RunSQL(
            INSERT_SQL + TRUNCATE_SQL,
            SETTLE_SQL + ";" + _UPSERT_INSERT_SQL + _TRUNCATE_BEFORE,
        ),
    ]
