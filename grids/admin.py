"""Admin pages of the territory: the five-circle tree, communities, the address library, the
forces' latest positions, and the import of grid and community boundaries from files.

Map widgets work without the internet: OpenLayers is served from our own static files (npm
package ``ol``), and instead of a tile basemap (OSM and every other tile server are unreachable
from a command centre's network) the map shows the town's own grid outlines as its background, so
a polygon or an address point is drawn and checked against its neighbours.
"""

import tempfile
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin
from django.contrib.gis.forms.widgets import OpenLayersWidget
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from cockpit.errors import ApplicationError
from grids import selectors
from grids.imports import COMMUNITY, GRID, MAX_FILE_BYTES, grids_import
from grids.models import Address, Community, LatestPosition, Node


class TownMapWidget(OpenLayersWidget):
    """OpenLayers from our static files, on a background of the town's grid outlines."""

    template_name = "grids/admin/map_widget.html"
    map_srid = 3857

    class Media:
        extend = False  # the parent's Media loads OpenLayers from a CDN
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/dist/ol.js", "gis/js/OLMapWidget.js")

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        lon, lat = settings.TOWN_CENTER
        context.update(
            outlines=selectors.town_outlines_geojson().replace("<", "\\u003c"),
            outlines_id=f"{context['id']}_outlines",
            default_lon=lon,
            default_lat=lat,
            default_zoom=13,
        )
        return context


class TownGISAdmin(GISModelAdmin):
    gis_widget = TownMapWidget
    gis_widget_kwargs = {"attrs": {"map_width": 800, "map_height": 500}}


@admin.register(Node)
class NodeAdmin(TownGISAdmin):
    list_display = ("code", "name", "kind", "parent", "community", "leader")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    readonly_fields = ("path", "created_at", "updated_at")
    raw_id_fields = ("parent", "leader", "community")
    ordering = ("path",)
    change_list_template = "grids/admin/node_change_list.html"

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="grids_node_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """Upload a GeoJSON, zipped Shapefile or KML; see the report; nothing half-imported."""
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        report = None
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            report = self._run_import(request, form)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("导入网格或社区边界"),
            "form": form,
            "report": report,
            "changelist_url": reverse("admin:grids_node_changelist"),
        }
        return TemplateResponse(request, "grids/admin/import.html", context)

    @staticmethod
    def _run_import(request, form):
        upload = form.cleaned_data["file"]
        suffix = Path(upload.name).suffix.lower()[:8]
        with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
            for chunk in upload.chunks():
                tmp.write(chunk)
            tmp.flush()
            d = form.cleaned_data
            try:
                return grids_import(
                    path=tmp.name,
                    layer_kind=d["kind"],
                    squad_code=d["squad"] or None,
                    srid=d["srid"],
                    encoding=d["encoding"] or None,
                    dry_run=d["dry_run"],
                    file_name=Path(upload.name).name,
                    actor=request.user,
                    request=request,
                )
            except ApplicationError as exc:
                for field_name, messages in exc.fields.items():
                    target = field_name if field_name in form.fields else None
                    for message in messages:
                        form.add_error(target, message)
                if not exc.fields:
                    form.add_error(None, exc.message)
                return None


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("文件"),
        help_text=_(
            "GeoJSON（.geojson/.json）、Shapefile 压缩包（.zip，须含 .prj）或 KML（.kml/.kmz）"
        ),
    )
    kind = forms.ChoiceField(
        label=_("类型"), choices=((GRID, _("网格")), (COMMUNITY, _("社区"))), initial=GRID
    )
    squad = forms.CharField(
        label=_("所属中队编码"),
        required=False,
        max_length=32,
        help_text=_("文件里没有中队字段时，新网格挂到这个中队下。"),
    )
    srid = forms.IntegerField(
        label=_("坐标系 EPSG 代码"),
        required=False,
        min_value=1,
        help_text=_("文件没有可用的坐标系时填写，例如 4326、4490、3857。"),
    )
    encoding = forms.CharField(
        label=_("属性编码"),
        required=False,
        max_length=16,
        help_text=_("Shapefile 属性的字符编码，例如 GBK。"),
    )
    dry_run = forms.BooleanField(label=_("试运行（只报告，不写入）"), required=False, initial=True)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("文件太大（上限 %(mb)d MB）。") % {"mb": MAX_FILE_BYTES // (1024 * 1024)}
            )
        return upload


@admin.register(Community)
class CommunityAdmin(TownGISAdmin):
    list_display = ("code", "name", "grid_count")
    search_fields = ("code", "name")
    readonly_fields = ("created_at", "updated_at")
    ordering = ("code",)

    @admin.display(description=_("网格数"))
    def grid_count(self, obj: Community) -> int:
        return obj.grids.count()


@admin.register(Address)
class AddressAdmin(TownGISAdmin):
    list_display = ("code", "text", "building", "grid")
    search_fields = ("code", "text", "building")
    raw_id_fields = ("grid",)
    list_select_related = ("grid",)
    ordering = ("code",)


@admin.register(LatestPosition)
class LatestPositionAdmin(TownGISAdmin):
    """Read-only: positions come from the field app, never typed in."""

    list_display = ("staff", "recorded_at", "on_duty", "accuracy_m")
    list_select_related = ("staff",)
    ordering = ("-recorded_at",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
