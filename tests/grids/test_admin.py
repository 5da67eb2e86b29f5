"""The GIS admin of the territory (grids.admin): map widgets that work offline, and the import of
boundary files from the admin with the report a district admin reads."""

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import AuditLog
from grids.models import Address, Community, Node
from tests.grids.files import cell, feature, geojson
from tests.town import STEP, X0, Y0, centre

IMPORT = "/admin/grids/node/import/"


@pytest.fixture(autouse=True)
def quick(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.WHITENOISE_USE_FINDERS = False


@pytest.fixture
def admin_client(client, town):
    client.force_login(town.admin)  # district admin
    return client


def test_a_grids_page_has_a_map_that_needs_nothing_from_the_internet(admin_client, town):
    response = admin_client.get(reverse("admin:grids_node_change", args=[town.g1.id]))
    assert response.status_code == 200
    page = response.content.decode()
    # OpenLayers from our own static files, not the CDN Django's widget names by default …
    assert "/static/vendor/ol/dist/ol.js" in page and "/static/vendor/ol/ol.css" in page
    assert "cdn.jsdelivr.net" not in page
    # … and no tile basemap: the background is the town's own grid outlines.
    assert "openstreetmap" not in page.lower() and "ol.source.OSM" not in page
    assert "earthdata.nasa.gov" not in page
    for grid in (town.g1, town.g2, town.g3, town.g4):
        assert f'"code":"{grid.code}"' in page
    # The grid's own polygon is in the editable field, in the map's projection.
    assert 'name="boundary"' in page and "MultiPolygon" in page
    for asset in ("vendor/ol/dist/ol.js", "vendor/ol/ol.css", "gis/js/OLMapWidget.js"):
        assert finders.find(asset), asset


def test_communities_and_addresses_have_map_widgets_too(admin_client, town):
    address = Address.objects.create(
        code="A1",
        text="兰里路1号",
        point=f"SRID=4326;POINT({centre(0, 0)[0]} {centre(0, 0)[1]})",
        grid=town.g1,
    )
    community = Community.objects.get(code="330106109001")
    for url in (
        reverse("admin:grids_community_change", args=[community.id]),
        reverse("admin:grids_address_change", args=[address.id]),
        reverse("admin:grids_address_add"),
    ):
        page = admin_client.get(url).content.decode()
        assert "/static/vendor/ol/dist/ol.js" in page and "new MapWidget" in page, url


def test_the_grid_list_offers_the_import(admin_client, town):
    page = admin_client.get(reverse("admin:grids_node_changelist")).content.decode()
    assert IMPORT in page and "导入边界文件" in page


def test_field_staff_cannot_open_the_import(client, town):
    client.force_login(town.wang)
    assert client.get(IMPORT).status_code in (302, 403)


def _wide(town) -> None:
    town.town.boundary = MultiPolygon(
        Polygon.from_bbox((X0, Y0 - 2 * STEP, X0 + 3 * STEP, Y0)), srid=4326
    )
    town.town.save(update_fields=["boundary"])
    Community.objects.create(code="330106109003", name="紫金社区")


def _upload(path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="application/geo+json")


def test_an_import_from_the_admin_shows_the_report_then_writes_on_the_real_run(
    admin_client, town, tmp_path
):
    _wide(town)
    path = geojson(
        tmp_path,
        [
            feature(cell(2, 0), code="330106109003001", name="C-01"),
            feature(cell(2, 1), code="330106109003002", name="C-02"),
        ],
    )
    form = {"kind": "grid", "squad": "Q2"}

    dry = admin_client.post(IMPORT, {**form, "dry_run": "on", "file": _upload(path)})
    assert dry.status_code == 200
    page = dry.content.decode()
    assert "试运行" in page and "新建 2" in page and "330106109003001" in page
    assert not Node.objects.filter(code__startswith="330106109003").exists()

    real = admin_client.post(IMPORT, {**form, "file": _upload(path)})
    assert "已导入。" in real.content.decode()
    assert Node.objects.filter(code__startswith="330106109003", parent=town.q2).count() == 2
    assert AuditLog.objects.filter(event="grids.import", username="admin", success=True).exists()

    again = admin_client.post(IMPORT, {**form, "file": _upload(path)})
    assert "新建 0" in again.content.decode() and "未变 2" in again.content.decode()


def test_a_bad_feature_is_named_with_its_reason_and_nothing_is_written(
    admin_client, town, tmp_path
):
    _wide(town)
    x, y = X0 + 2 * STEP, Y0
    bowtie = [[[x, y], [x + STEP, y - STEP], [x + STEP, y], [x, y - STEP], [x, y]]]
    path = geojson(
        tmp_path,
        [
            feature(cell(2, 0), code="330106109003001", name="C-01"),
            feature(bowtie, code="330106109003002", name="领结"),
        ],
    )
    page = admin_client.post(IMPORT, {"kind": "grid", "squad": "Q2", "file": _upload(path)})
    text = page.content.decode()
    assert "领结" in text and "没有导入任何数据" in text
    assert not Node.objects.filter(code__startswith="330106109003").exists()


def test_a_file_that_is_not_geodata_is_refused_on_the_file_field(admin_client, town, tmp_path):
    junk = SimpleUploadedFile("grids.geojson", b"name,code\nA,1\n", content_type="text/csv")
    response = admin_client.post(IMPORT, {"kind": "grid", "squad": "Q2", "file": junk})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "file" in errors, errors
    assert Node.objects.filter(kind=Node.Kind.GRID).count() == 4
