"""Import grids or communities from GeoJSON, a zipped Shapefile or KML.

    manage.py import_grids grids.zip --kind grid --squad Q1 --dry-run
    manage.py import_grids communities.geojson --kind community

Prints the same report as the admin page; exits non-zero when a feature is wrong (and then
nothing was written).
"""

from django.core.management.base import BaseCommand, CommandError

from cockpit.errors import ApplicationError
from grids.imports import KINDS, grids_import


class Command(BaseCommand):
    help = "导入网格或社区边界（GeoJSON、Shapefile zip、KML）。Import grid or community boundaries."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--kind", choices=KINDS, required=True, help="grid or community")
        parser.add_argument(
            "--dry-run", action="store_true", help="show what would change; write nothing"
        )
        parser.add_argument(
            "--srid", type=int, help="EPSG code of the coordinates when the file has no usable CRS"
        )
        parser.add_argument(
            "--squad",
            help="code of the squad the grids belong to (when the file has no squad field)",
        )
        parser.add_argument("--code-field", help="field holding the code (default: code, 编码, …)")
        parser.add_argument("--name-field", help="field holding the name (default: name, 名称, …)")
        parser.add_argument("--squad-field", help="field holding each grid's squad code")
        parser.add_argument("--community-field", help="field holding each grid's community code")
        parser.add_argument(
            "--encoding", help="text encoding of a shapefile's attributes, e.g. GBK"
        )

    def handle(self, *args, **opts):
        try:
            report = grids_import(
                path=opts["file"],
                layer_kind=opts["kind"],
                squad_code=opts["squad"],
                code_field=opts["code_field"],
                name_field=opts["name_field"],
                squad_field=opts["squad_field"],
                community_field=opts["community_field"],
                srid=opts["srid"],
                encoding=opts["encoding"],
                dry_run=opts["dry_run"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message)
        for line in report.lines():
            self.stdout.write(line)
        if report.errors:
            raise CommandError(report.outcome)
