"""node_grid_boundary_gist as the model declares it: over the grid polygons only.

Django 5.2's PostGIS schema editor drops an index's condition on a geometry field
(PostGISSchemaEditor._create_spatial_index_sql; Django ticket #36694, fixed after 5.2), so
migration 0002 made a GiST over every node. Every locate probe then also fetched the town,
area, squad and station polygons that cover the point, and dropped them by kind: about 7 extra
rows a probe, a third of its time. Database only: the model state already has the condition."""

from django.db import migrations

PARTIAL = """
DROP INDEX IF EXISTS node_grid_boundary_gist;
CREATE INDEX node_grid_boundary_gist ON grids_node USING gist (boundary) WHERE kind = 'grid';
"""
WHOLE = """
DROP INDEX IF EXISTS node_grid_boundary_gist;
CREATE INDEX node_grid_boundary_gist ON grids_node USING gist (boundary);
"""


class Migration(migrations.Migration):
    dependencies = [("grids", "0003_positions_prune_schedule")]

    operations = [migrations.RunSQL(PARTIAL, WHOLE)]
