"""Inserts into events_case are counted set-based: a FOR EACH STATEMENT trigger with the inserted
rows as a transition table (cockpit_case_rollup_insert) does one upsert per rollup table for a
whole batch, and the row trigger cockpit_case_rollup keeps UPDATE and DELETE only. Nothing to
recount: both count an insert the same way.

Reverse: the single row trigger on INSERT OR UPDATE OR DELETE again. Its function is unchanged
by this migration and still handles INSERT, so only the trigger's events change back."""

from django.db import migrations

from cockpit.screen.rollups import TRIGGER_SQL

# Frozen here (not taken from rollups.py): what the database had before this migration.
REVERSE_SQL = """
DROP TRIGGER IF EXISTS cockpit_case_rollup_insert ON events_case;
DROP FUNCTION IF EXISTS cockpit_case_rollup_insert();
DROP TRIGGER IF EXISTS cockpit_case_rollup ON events_case;
CREATE TRIGGER cockpit_case_rollup AFTER INSERT OR UPDATE OR DELETE ON events_case
FOR EACH ROW EXECUTE FUNCTION cockpit_case_rollup();
"""


class Migration(migrations.Migration):
    dependencies = [("cockpit", "0006_closure_covering_index")]

    operations = [migrations.RunSQL(TRIGGER_SQL, REVERSE_SQL)]
