"""Importing grids and communities from files (grids.imports.grids_import and import_grids).

The small town is two columns of grids wide; most tests widen it to three columns and import the
third column (two grids, community 330106109003) so that a good file fills the town exactly.
"""

import io

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.management import CommandError, call_command

from cockpit.errors import ApplicationError
from grids.imports import grids_import
from grids.models import Community, Node
from grids.selectors import grid_locate
from tests.grids.files import box, cell, feature, geojson, kml, shapefile_zip
from tests.town import STEP, X0, Y0, centre

C01, C02 = "330106109003001", "330106109003002"


@pytest.fixture
def wide_town(town):
    """The town three columns wide; the third column's community exists, its grids do not."""
    town.town.boundary = MultiPolygon(
        Polygon.from_bbox((X0, Y0 - 2 * STEP, X0 + 3 * STEP, Y0)), srid=4326
    )
    town.town.save(update_fields=["boundary"])
    town.c3 = Community.objects.create(code="330106109003", name="紫金社区")
    return town


def third_column(**extra) -> list[dict]:
    return [
        feature(cell(2, 0), code=C01, name="C-01", **extra),
        feature(cell(2, 1), code=C02, name="C-02", **extra),
    ]


def grids_here() -> set[str]:
    return set(Node.objects.filter(kind=Node.Kind.GRID).values_list("code", flat=True))


def test_it_creates_grids_under_the_given_squad_with_their_paths(wide_town, tmp_path):
    report = grids_import(
        path=geojson(tmp_path, third_column()), layer_kind="grid", squad_code="Q2"
    )

    assert report.committed and not report.errors, report.lines()
    assert sorted(report.created) == [C01, C02]
    c01 = Node.objects.get(code=C01)
    assert c01.parent_id == wide_town.q2.id
    assert c01.path == f"{wide_town.q2.path}{c01.id}/"
    assert c01.community == wide_town.c3
    assert c01.name == "C-01"
    # The file fills the town exactly: nothing overlaps, nothing is left uncovered.
    assert report.overlaps == [] and report.gaps == [] and report.outside == []
    assert grid_locate(point=Point(*centre(2, 1), srid=4326)).code == C02
    # The squad's outline is redrawn as the union of its grids (now four squares).
    wide_town.q2.refresh_from_db()
    assert wide_town.q2.boundary.area == pytest.approx(4 * STEP * STEP)


def test_importing_the_same_file_again_changes_nothing(wide_town, tmp_path):
    path = geojson(tmp_path, third_column())
    grids_import(path=path, layer_kind="grid", squad_code="Q2")
    before = dict(Node.objects.values_list("code", "updated_at"))

    report = grids_import(path=path, layer_kind="grid", squad_code="Q2")

    assert report.committed and report.created == [] and report.updated == []
    assert sorted(report.unchanged) == [C01, C02]
    assert dict(Node.objects.values_list("code", "updated_at")) == before


def test_a_changed_name_and_outline_are_updated_in_place(wide_town, tmp_path):
    grids_import(path=geojson(tmp_path, third_column()), layer_kind="grid", squad_code="Q2")
    first_id = Node.objects.get(code=C01).id
    x, y = X0 + 2 * STEP, Y0
    changed = [
        feature(box(x, y, x + STEP, y - STEP * 1.5), code=C01, name="C-01 新"),
        feature(box(x, y - STEP * 1.5, x + STEP, y - 2 * STEP), code=C02, name="C-02"),
    ]

    report = grids_import(path=geojson(tmp_path, changed, name="v2.geojson"), layer_kind="grid")

    assert sorted(report.updated) == [C01, C02], report.lines()
    assert report.changed_fields[C01] == ["名称", "边界"]
    c01 = Node.objects.get(code=C01)
    assert c01.id == first_id and c01.name == "C-01 新" and c01.parent_id == wide_town.q2.id


def test_a_dry_run_shows_what_would_change_and_writes_nothing(wide_town, tmp_path):
    report = grids_import(
        path=geojson(tmp_path, third_column()), layer_kind="grid", squad_code="Q2", dry_run=True
    )

    assert sorted(report.created) == [C01, C02]
    assert not report.committed
    assert "试运行" in report.lines()[-1]
    assert C01 not in grids_here()
    wide_town.q2.refresh_from_db()
    assert wide_town.q2.boundary is None


def test_a_self_intersecting_grid_is_reported_by_name_and_nothing_is_imported(wide_town, tmp_path):
    x, y = X0 + 2 * STEP, Y0 - STEP
    bowtie = [[[x, y], [x + STEP, y - STEP], [x + STEP, y], [x, y - STEP], [x, y]]]
    path = geojson(
        tmp_path,
        [feature(cell(2, 0), code=C01, name="C-01"), feature(bowtie, code=C02, name="C-02 蝴蝶")],
    )

    report = grids_import(path=path, layer_kind="grid", squad_code="Q2")

    assert not report.committed
    [error] = report.errors
    assert (error.index, error.code, error.name) == (2, C02, "C-02 蝴蝶")
    assert "自相交" in error.message and "超过 1%" in error.message
    assert "第 2 个要素（编码 330106109003002，名称 C-02 蝴蝶）" in str(error)
    assert "没有导入任何数据" in report.lines()[-1]
    assert C01 not in grids_here()  # the good feature waits for the bad one


def test_a_slightly_self_intersecting_grid_is_repaired_and_the_report_says_so(wide_town, tmp_path):
    # The closing edge crosses the first edge just by the corner: a 1 m² twist on a 1 km² grid.
    x, y = X0 + 2 * STEP, Y0 - STEP
    twisted = [
        [[x, y], [x + STEP, y], [x + STEP, y - STEP], [x, y - STEP], [x + 1e-5, y + 1e-5], [x, y]]
    ]
    path = geojson(
        tmp_path,
        [feature(cell(2, 0), code=C01, name="C-01"), feature(twisted, code=C02, name="C-02")],
    )

    report = grids_import(path=path, layer_kind="grid", squad_code="Q2")

    assert report.committed and not report.errors, report.lines()
    [repaired] = report.repaired
    assert repaired.code == C02 and "已自动修复" in repaired.message
    assert any(line.startswith("已修复：第 2 个要素") for line in report.lines())
    assert Node.objects.get(code=C02).boundary.valid


def test_a_shapefile_in_cgcs2000_gauss_kruger_lands_in_the_right_place(wide_town, tmp_path):
    source = geojson(tmp_path, third_column(), name="src.geojson")
    path = shapefile_zip(tmp_path, source, t_srs="EPSG:4549")

    report = grids_import(path=path, layer_kind="grid", squad_code="Q2")

    assert report.committed and sorted(report.created) == [C01, C02], report.lines()
    assert "EPSG:4549" in report.source
    c01 = Node.objects.get(code=C01)
    assert c01.name == "C-01"  # UTF-8 attributes survive
    xmin, ymin, xmax, ymax = c01.boundary.extent
    assert (xmin, ymin, xmax, ymax) == pytest.approx(
        (X0 + 2 * STEP, Y0 - STEP, X0 + 3 * STEP, Y0), abs=1e-7
    )
    assert grid_locate(point=Point(*centre(2, 0), srid=4326)).code == C01


def test_a_geojson_in_web_mercator_is_reprojected(wide_town, tmp_path):
    from django.contrib.gis.geos import GEOSGeometry

    mercator = []
    for f in third_column():
        g = GEOSGeometry(str(f["geometry"]).replace("'", '"'), srid=4326).transform(
            3857, clone=True
        )
        mercator.append(
            feature(
                [list(map(list, g.coords[0]))],
                code=f["properties"]["code"],
                name=f["properties"]["name"],
            )
        )
    path = geojson(tmp_path, mercator, crs="urn:ogc:def:crs:EPSG::3857")

    report = grids_import(path=path, layer_kind="grid", squad_code="Q2")

    assert report.committed, report.lines()
    assert Node.objects.get(code=C02).boundary.extent == pytest.approx(
        (X0 + 2 * STEP, Y0 - 2 * STEP, X0 + 3 * STEP, Y0 - STEP), abs=1e-7
    )


def test_a_kml_with_codes_in_extended_data_is_imported(wide_town, tmp_path):
    path = kml(tmp_path, [("C-01", C01, cell(2, 0)), ("C-02", C02, cell(2, 1))])

    report = grids_import(path=path, layer_kind="grid", squad_code="Q2")

    assert report.committed and sorted(report.created) == [C01, C02], report.lines()
    assert Node.objects.get(code=C01).name == "C-01"


def test_overlaps_and_gaps_are_reported_with_their_area_and_codes(town, tmp_path):
    # G2 reaches 0.002° into G1; G4 (B-02) loses its southern half.
    g2 = box(X0 + STEP - 0.002, Y0, X0 + 2 * STEP, Y0 - STEP)
    g4 = box(X0 + STEP, Y0 - STEP, X0 + 2 * STEP, Y0 - 1.5 * STEP)
    path = geojson(
        tmp_path,
        [feature(g2, code=town.g2.code, name="A-02"), feature(g4, code=town.g4.code, name="B-02")],
    )

    report = grids_import(path=path, layer_kind="grid")

    assert report.committed, report.lines()
    [overlap] = report.overlaps
    assert (overlap.code_a, overlap.code_b) == (town.g1.code, town.g2.code)
    # 0.002° × 0.01° at 30.3° N ≈ 192 m × 1,109 m
    assert overlap.area_m2 == pytest.approx(213_000, rel=0.02)
    [gap] = report.gaps
    assert gap.town_code == town.town.code
    assert gap.area_m2 == pytest.approx(0.5 * 960 * 1109, rel=0.02)
    assert town.g4.boundary.extent[0] <= gap.lng <= X0 + 2 * STEP and gap.lat < Y0 - 1.5 * STEP
    lines = "\n".join(report.lines())
    assert (
        f"重叠：{town.g1.code} 与 {town.g2.code} 重叠" in lines and "缝隙：镇街 330106109" in lines
    )


def test_a_grid_outside_the_town_is_reported(town, tmp_path):
    path = geojson(tmp_path, [feature(cell(2, 0), code=C01, name="C-01")])

    report = grids_import(path=path, layer_kind="grid", squad_code="Q2")

    [outside] = report.outside
    assert outside.code == C01 and outside.area_m2 == pytest.approx(960 * 1109, rel=0.02)
    assert "社区 330106109003 还没有导入" in report.warnings[0]


def test_missing_and_malformed_codes_and_names_are_reported_per_feature(wide_town, tmp_path):
    path = geojson(
        tmp_path,
        [
            feature(cell(2, 0), code="", name="C-01"),
            feature(cell(2, 1), code="33010610900300X", name=""),
            feature(cell(2, 1), code=C01, name="C-01", squad="Q9"),
        ],
    )

    report = grids_import(path=path, layer_kind="grid", squad_code="Q2")

    messages = [(e.index, e.message) for e in report.errors]
    assert "缺少编码" in messages[0][1]
    assert "15 位数字" in messages[1][1] and "缺少名称" in messages[1][1]
    assert "所属中队“Q9”不存在" in messages[2][1]
    assert not report.committed and C01 not in grids_here()


def test_a_file_without_a_code_column_names_the_columns_it_has(wide_town, tmp_path):
    path = geojson(tmp_path, [feature(cell(2, 0), bianhao=C01, name="C-01")])

    with pytest.raises(ApplicationError) as exc:
        grids_import(path=path, layer_kind="grid", squad_code="Q2")

    assert "找不到编码（code）字段" in exc.value.message and "bianhao" in exc.value.message
    # …and naming the column makes it work.
    report = grids_import(path=path, layer_kind="grid", squad_code="Q2", code_field="bianhao")
    assert report.created == [C01]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("grids.geojson", b"", "文件是空的"),
        ("notes.txt", "这不是地理数据".encode(), "不支持的文件类型“.txt”"),
        ("grids.geojson", "这不是地理数据".encode(), "不是有效的 GeoJSON"),
        ("grids.kml", b"<html>not kml</html>", "无法把文件读成地理数据"),
        ("grids.geojson", b'{"type": "FeatureCollection", "features": []}', "没有任何要素"),
        ("grids.zip", b"PK not really", "不是有效的 zip"),
    ],
)
def test_files_that_are_not_usable_geodata_get_a_clear_message(
    town, tmp_path, name, content, message
):
    path = tmp_path / name
    path.write_bytes(content)
    before = grids_here()

    with pytest.raises(ApplicationError) as exc:
        grids_import(path=path, layer_kind="grid", squad_code="Q2")

    assert message in exc.value.message
    assert exc.value.fields["file"] == [exc.value.message]
    assert grids_here() == before


def test_a_zip_without_a_shapefile_says_so(town, tmp_path):
    import zipfile

    path = tmp_path / "grids.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "网格")

    with pytest.raises(ApplicationError) as exc:
        grids_import(path=path, layer_kind="grid", squad_code="Q2")

    assert "压缩包里没有 .shp 文件" in exc.value.message


def test_a_shapefile_zip_missing_its_prj_asks_for_it_unless_an_srid_is_given(wide_town, tmp_path):
    source = geojson(tmp_path, third_column(), name="src.geojson")
    path = shapefile_zip(tmp_path, source, t_srs="EPSG:4549", leave_out=(".prj",))

    with pytest.raises(ApplicationError) as exc:
        grids_import(path=path, layer_kind="grid", squad_code="Q2")
    assert "缺少坐标系文件 网格.prj" in exc.value.message and "EPSG" in exc.value.message
    assert "srid" in exc.value.fields
    assert C01 not in grids_here()

    report = grids_import(path=path, layer_kind="grid", squad_code="Q2", srid=4549)
    assert report.committed and sorted(report.created) == [C01, C02]


def test_a_crs_that_does_not_resolve_to_an_epsg_code_is_refused(wide_town, tmp_path):
    source = geojson(tmp_path, third_column(), name="src.geojson")
    odd = (
        'PROJCS["local_tm",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",'
        'SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
        'PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",40500000.0],PARAMETER["False_Northing",0.0],'
        'PARAMETER["Central_Meridian",120.1234],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],'
        'UNIT["Meter",1.0]]'
    )
    path = shapefile_zip(tmp_path, source, t_srs="EPSG:4549", prj_text=odd)

    with pytest.raises(ApplicationError) as exc:
        grids_import(path=path, layer_kind="grid", squad_code="Q2")

    assert "对应不到 EPSG 编号" in exc.value.message and "local_tm" in exc.value.message


def test_a_geojson_crs_link_is_refused_before_gdal_reads_it(town, tmp_path):
    path = geojson(tmp_path, third_column())
    text = path.read_text().replace(
        '"type": "FeatureCollection"',
        '"type": "FeatureCollection", "crs": {"type": "link", "properties": {"href": "http://example.com/crs"}}',
    )
    path.write_text(text)

    with pytest.raises(ApplicationError) as exc:
        grids_import(path=path, layer_kind="grid", squad_code="Q2")

    assert "坐标系声明不受支持" in exc.value.message


def test_communities_are_imported_and_reimported_idempotently(town, tmp_path):
    path = geojson(
        tmp_path,
        [
            feature(box(X0, Y0, X0 + 2 * STEP, Y0 - STEP), code="330106109001", name="兰里社区"),
            feature(
                box(X0, Y0 - STEP, X0 + 2 * STEP, Y0 - 2 * STEP),
                code="330106109002",
                name="绿城社区（新）",
            ),
        ],
        name="communities.geojson",
    )

    first = grids_import(path=path, layer_kind="community")
    second = grids_import(path=path, layer_kind="community")

    assert first.committed and sorted(first.updated) == ["330106109001", "330106109002"], (
        first.lines()
    )
    assert first.overlaps == [] and first.gaps == []
    assert second.unchanged == ["330106109001", "330106109002"] and second.updated == []
    assert Community.objects.get(code="330106109002").name == "绿城社区（新）"


def test_the_command_prints_the_report_and_fails_on_errors(wide_town, tmp_path):
    good = geojson(tmp_path, third_column())
    out = io.StringIO()
    call_command(
        "import_grids", str(good), "--kind", "grid", "--squad", "Q2", "--dry-run", stdout=out
    )
    assert "新建 2" in out.getvalue() and "试运行" in out.getvalue()
    assert C01 not in grids_here()

    bad = geojson(tmp_path, [feature(cell(2, 0), code="123", name="C-01")], name="bad.geojson")
    with pytest.raises(CommandError, match="没有导入任何数据"):
        call_command(
            "import_grids", str(bad), "--kind", "grid", "--squad", "Q2", stdout=io.StringIO()
        )

    with pytest.raises(CommandError, match="中队“Q404”不存在"):
        call_command(
            "import_grids", str(good), "--kind", "grid", "--squad", "Q404", stdout=io.StringIO()
        )
