"""Import grids and communities from GeoJSON, a zipped Shapefile or KML (GDAL ``DataSource``).

``grids_import`` reads every feature, reprojects it to settings.STORAGE_SRID, checks it, and then
writes everything in ONE transaction: either the whole file lands or nothing does. A dry run (and
any run with an error) goes through the same writes and rolls them back, so what it reports —
created / updated / unchanged, overlaps, gaps — is exactly what a real run would do. Features are
matched on their code, so importing the same file twice changes nothing the second time.

Uploaded files are untrusted:
- only the GeoJSON, ESRI Shapefile and (LIB)KML drivers may open them, so a VRT or any other
  format that can point at files on the server is never parsed;
- zips are unpacked by us (size and entry limits, base names only, no paths);
- the CRS. GDAL < 3.9 cannot sandbox CRS look-ups (Django's gis.W001), so a CRS definition in a
  file is never used as given: it must resolve to an EPSG code, and the transformation is built
  from PROJ's own database entry for that code. A CRS that does not resolve to an EPSG code is
  refused, with a message asking for the EPSG code. A GeoJSON "crs" member is checked before GDAL
  sees the file and may only name an EPSG code (the "link" form would make GDAL fetch a URL).
"""

import json
import logging
import math
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.gis.gdal import (
    CoordTransform,
    DataSource,
    Driver,
    GDALException,
    SpatialReference,
)
from django.contrib.gis.gdal.error import SRSException
from django.contrib.gis.gdal.prototypes import ds as gdal_ds
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon
from django.db import DatabaseError, connection, transaction
from django.utils.encoding import force_bytes
from django.utils.translation import gettext as _

from accounts.services import audit_record
from cockpit.errors import ApplicationError
from grids.models import Community, Node
from grids.services import (
    COMMUNITY_CODE_LENGTH,
    as_multipolygon,
    community_code_error,
    grid_code_error,
    node_create,
    node_unions_refresh,
)

log = logging.getLogger(__name__)

GRID = "grid"
COMMUNITY = "community"
KINDS = (GRID, COMMUNITY)

ALLOWED_DRIVERS = ("GeoJSON", "ESRI Shapefile", "LIBKML", "KML")
GEOJSON_EXTENSIONS = {".geojson", ".json"}
KML_EXTENSIONS = {".kml", ".kmz"}
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_ZIP_ENTRIES = 1000
# A GeoJSON "crs" member may only name a CRS, never point to one.
GEOJSON_CRS_NAME = re.compile(
    r"^(urn:ogc:def:crs:EPSG:[0-9.]*:\d+|EPSG:\d+|urn:ogc:def:crs:OGC:1\.3:CRS84)$", re.I
)

REPAIR_MAX_AREA_CHANGE = 0.01  # MakeValid is trusted only when it moves the area by < 1 %
MIN_REPORTED_AREA_M2 = 1.0  # overlaps and gaps below a square metre are digitising noise
MAX_REPORTED_GAPS = 20
SAME_GEOMETRY_TOLERANCE_DEG = 1e-9

# Field names tried in order (case-insensitive) when the caller does not name the field.
CODE_FIELDS = {
    GRID: ("code", "grid_code", "gridcode", "bgid", "wgbm", "网格编码", "编码"),
    COMMUNITY: ("code", "community_code", "comm_code", "sqbm", "社区编码", "编码"),
}
NAME_FIELDS = {
    GRID: ("name", "grid_name", "wgmc", "网格名称", "名称"),
    COMMUNITY: ("name", "community_name", "sqmc", "社区名称", "名称"),
}
SQUAD_FIELDS = ("squad", "squad_code", "中队", "中队编码")
GRID_COMMUNITY_FIELDS = ("community", "community_code", "comm_code", "sqbm", "社区编码")

# GEOS explains invalid geometry in English; the people importing read Chinese.
VALID_REASONS = {
    "Ring Self-intersection": "环自相交",
    "Self-intersection": "自相交",
    "Too few points": "点数太少",
    "Hole lies outside shell": "内环在外环之外",
    "Nested holes": "内环相互嵌套",
    "Interior is disconnected": "内部不连通",
    "Nested shells": "外环相互嵌套",
    "Duplicate Rings": "环重复",
    "Invalid Coordinate": "坐标无效",
    "Ring is not closed": "环未闭合",
}


# ---------------------------------------------------------------- the report


@dataclass
class FeatureProblem:
    index: int  # 1-based, in file order
    code: str
    name: str
    message: str

    @property
    def label(self) -> str:
        return _("第 %(n)d 个要素（编码 %(code)s，名称 %(name)s）") % {
            "n": self.index,
            "code": self.code or "—",
            "name": self.name or "—",
        }

    def __str__(self) -> str:
        return f"{self.label}：{self.message}"


@dataclass
class Overlap:
    code_a: str
    code_b: str
    area_m2: float


@dataclass
class Gap:
    town_code: str
    area_m2: float
    lng: float  # a point inside the gap, to find it on the map
    lat: float


@dataclass
class Outside:
    code: str
    area_m2: float  # the part of the polygon outside its town's boundary


@dataclass
class ImportReport:
    kind: str
    dry_run: bool
    file_name: str = ""
    source: str = ""  # driver and CRS the coordinates were read in
    features: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    changed_fields: dict[str, list[str]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    repaired: list[FeatureProblem] = field(default_factory=list)
    errors: list[FeatureProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    overlaps: list[Overlap] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    outside: list[Outside] = field(default_factory=list)
    committed: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def outcome(self) -> str:
        if self.errors:
            return _("有错误，没有导入任何数据。请改正后重新导入。")
        if self.dry_run:
            return _("试运行：以上是正式导入将会做的变更，没有写入任何数据。")
        return _("已导入。")

    def summary(self) -> str:
        return _(
            "共 %(n)d 个要素：新建 %(c)d，更新 %(u)d，未变 %(s)d，已修复 %(r)d，错误 %(e)d。"
        ) % {
            "n": self.features,
            "c": len(self.created),
            "u": len(self.updated),
            "s": len(self.unchanged),
            "r": len(self.repaired),
            "e": len(self.errors),
        }

    def lines(self) -> list[str]:
        """The report as plain lines, for the command line and logs."""
        out = [self.summary()]
        if self.source:
            out.append(_("读取：%(s)s") % {"s": self.source})
        for problem in self.errors:
            out.append(_("错误：%(p)s") % {"p": problem})
        for problem in self.repaired:
            out.append(_("已修复：%(p)s") % {"p": problem})
        if self.created:
            out.append(_("新建：%(codes)s") % {"codes": "、".join(self.created)})
        for code in self.updated:
            out.append(
                _("更新：%(code)s（%(what)s）")
                % {"code": code, "what": "、".join(self.changed_fields.get(code, []))}
            )
        if self.unchanged:
            out.append(_("未变：%(codes)s") % {"codes": "、".join(self.unchanged)})
        for o in self.overlaps:
            out.append(
                _("重叠：%(a)s 与 %(b)s 重叠 %(m).1f 平方米")
                % {"a": o.code_a, "b": o.code_b, "m": o.area_m2}
            )
        for g in self.gaps:
            out.append(
                _(
                    "缝隙：镇街 %(t)s 内有 %(m).1f 平方米不属于任何%(what)s（其中一点：%(lng).6f, %(lat).6f）"
                )
                % {
                    "t": g.town_code,
                    "m": g.area_m2,
                    "what": self.kind_label,
                    "lng": g.lng,
                    "lat": g.lat,
                }
            )
        for o in self.outside:
            out.append(
                _("越界：%(code)s 有 %(m).1f 平方米在镇街边界之外")
                % {"code": o.code, "m": o.area_m2}
            )
        out.extend(_("提示：%(w)s") % {"w": w} for w in self.warnings)
        out.append(self.outcome)
        return out

    @property
    def kind_label(self) -> str:
        return _("网格") if self.kind == GRID else _("社区")

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "dry_run": self.dry_run,
            "committed": self.committed,
            "features": self.features,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "repaired": [str(p) for p in self.repaired],
            "errors": [str(p) for p in self.errors],
            "overlaps": [o.__dict__ for o in self.overlaps],
            "gaps": [g.__dict__ for g in self.gaps],
            "outside": [o.__dict__ for o in self.outside],
            "warnings": self.warnings,
        }


def _file_error(message: str, field_name: str = "file") -> ApplicationError:
    return ApplicationError(message, fields={field_name: [message]})


# ---------------------------------------------------------------- reading the file


@dataclass
class _Feature:
    index: int
    attrs: dict[str, object]  # lower-cased field name → value
    geom: GEOSGeometry | None
    geom_error: str = ""
    attr_error: str = ""


def _prj_missing_message(stem: str) -> str:
    return _(
        "缺少坐标系文件 %(name)s.prj，无法确定坐标系。请把 .prj 文件和 .shp 一起打包上传，"
        "或指明坐标系的 EPSG 编号（命令行 --srid，管理页面的“EPSG 编号”），例如 4490、4326、4549。"
    ) % {"name": stem}


def _guess_dbf_encoding(dbf: bytes) -> str:
    """Shapefiles without a .cpg: GDAL would read the attributes as Latin-1. Chinese files are
    UTF-8 (QGIS, ogr2ogr) or GBK (ArcGIS); the record area of a UTF-8 file decodes as UTF-8."""
    header_len = int.from_bytes(dbf[8:10], "little") if len(dbf) >= 10 else 0
    try:
        dbf[header_len:].decode("utf-8")
    except UnicodeDecodeError:
        return "CP936"
    return "UTF-8"


def _stage_shapefile(
    parts: dict[str, tuple[str, Callable[[], bytes]]],
    tmp: Path,
    *,
    srid: int | None,
    encoding: str | None,
) -> Path:
    """Copy one shapefile's parts into ``tmp`` as layer.<ext>, checking what a user can get wrong.

    ``parts`` maps a lower-cased stem to {ext: (original name, reader)}.
    """
    shapes = sorted(stem for stem, p in parts.items() if ".shp" in p)
    if not shapes:
        raise _file_error(
            _(
                "压缩包里没有 .shp 文件。Shapefile 需要把 .shp、.shx、.dbf 和 .prj 一起压缩成 zip 上传。"
            )
        )
    if len(shapes) > 1:
        names = "、".join(parts[s][".shp"][0] for s in shapes)
        raise _file_error(
            _("压缩包里有多个 Shapefile（%(names)s），一次只能导入一个。") % {"names": names}
        )
    found = parts[shapes[0]]
    stem = PurePosixPath(found[".shp"][0]).stem
    missing = [f"{stem}{ext}" for ext in (".shx", ".dbf") if ext not in found]
    if missing:
        raise _file_error(_("Shapefile 不完整，缺少 %(files)s。") % {"files": "、".join(missing)})
    if ".prj" not in found and srid is None:
        raise _file_error(_prj_missing_message(stem), "srid")
    for ext, (_name, read) in found.items():
        (tmp / f"layer{ext}").write_bytes(read())
    if encoding or ".cpg" not in found:
        dbf = (tmp / "layer.dbf").read_bytes()
        (tmp / "layer.cpg").write_text(encoding or _guess_dbf_encoding(dbf))
    return tmp / "layer.shp"


def _stage_zip(path: Path, tmp: Path, *, srid: int | None, encoding: str | None) -> Path:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise _file_error(_("文件不是有效的 zip 压缩包。"))
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > MAX_UNZIPPED_BYTES:
            raise _file_error(
                _("压缩包解压后太大（上限 %(mb)d MB）。") % {"mb": MAX_UNZIPPED_BYTES // 2**20}
            )
        parts: dict[str, dict[str, tuple[str, Callable[[], bytes]]]] = {}
        for info in infos:
            # Base names only: paths inside the archive are never used, so nothing lands outside tmp.
            name = PurePosixPath(info.filename.replace("\\", "/")).name
            if name.startswith(".") or info.filename.startswith("__MACOSX/"):
                continue
            stem, ext = PurePosixPath(name).stem, PurePosixPath(name).suffix.lower()
            if ext in SHAPEFILE_PARTS:
                parts.setdefault(stem.lower(), {})[ext] = (name, lambda i=info: archive.read(i))
        return _stage_shapefile(parts, tmp, srid=srid, encoding=encoding)


def _stage_shp(path: Path, tmp: Path, *, srid: int | None, encoding: str | None) -> Path:
    """A .shp given on the command line: take its sibling parts from the same folder."""
    stem = path.stem.lower()
    siblings = {}
    for p in path.parent.iterdir():
        if p.stem.lower() == stem and p.suffix.lower() in SHAPEFILE_PARTS:
            siblings[p.suffix.lower()] = (p.name, p.read_bytes)
    return _stage_shapefile({stem: siblings}, tmp, srid=srid, encoding=encoding)


def _check_geojson(path: Path) -> None:
    """Parse the GeoJSON ourselves first: a clearer message than GDAL's for a broken file, and
    the "crs" member is checked before GDAL resolves it."""
    try:
        data = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _file_error(_("文件不是有效的 GeoJSON：%(e)s") % {"e": exc})
    if not isinstance(data, dict) or data.get("type") not in {"FeatureCollection", "Feature"}:
        raise _file_error(_('文件不是 GeoJSON 要素集合（缺少 "type": "FeatureCollection"）。'))
    crs = data.get("crs")
    if crs is not None:
        name = (
            crs.get("properties", {}).get("name")
            if isinstance(crs, dict) and crs.get("type") == "name"
            else None
        )
        if not isinstance(name, str) or not GEOJSON_CRS_NAME.match(name):
            raise _file_error(
                _(
                    '文件的坐标系声明不受支持：只接受以 EPSG 编号命名的坐标系（如 "EPSG:4490"），请删除或改写 "crs"。'
                )
            )


def _stage(path: Path, tmp: Path, *, srid: int | None, encoding: str | None) -> Path:
    if not path.is_file():
        raise _file_error(_("找不到文件 %(name)s。") % {"name": path.name})
    size = path.stat().st_size
    if size == 0:
        raise _file_error(_("文件是空的。"))
    if size > MAX_FILE_BYTES:
        raise _file_error(_("文件太大（上限 %(mb)d MB）。") % {"mb": MAX_FILE_BYTES // 2**20})
    ext = path.suffix.lower()
    if ext == ".zip":
        return _stage_zip(path, tmp, srid=srid, encoding=encoding)
    if ext == ".shp":
        return _stage_shp(path, tmp, srid=srid, encoding=encoding)
    if ext in GEOJSON_EXTENSIONS:
        _check_geojson(path)
        return path
    if ext in KML_EXTENSIONS:
        return path
    raise _file_error(
        _(
            "不支持的文件类型“%(ext)s”。请上传 GeoJSON（.geojson、.json）、KML（.kml、.kmz）或 Shapefile 的 zip 压缩包。"
        )
        % {"ext": ext or path.name}
    )


def _open(path: Path) -> DataSource:
    """Open with our drivers only (GDALOpenEx's allowed-drivers list)."""
    Driver.ensure_registered()
    from ctypes import c_char_p

    allowed = (c_char_p * (len(ALLOWED_DRIVERS) + 1))(*[d.encode() for d in ALLOWED_DRIVERS], None)
    try:
        ptr = gdal_ds.open_ds(
            force_bytes(str(path)),
            gdal_ds.GDAL_OF_READONLY | gdal_ds.GDAL_OF_VECTOR,
            allowed,
            None,
            None,
        )
    except GDALException:
        raise _file_error(
            _(
                "无法把文件读成地理数据。支持 GeoJSON、KML 和 Shapefile（zip 压缩包）；请检查文件内容和扩展名。"
            )
        )
    return DataSource(ptr, gdal_ds.get_dataset_driver(ptr))


def _epsg(code: int, field_name: str = "srid") -> SpatialReference:
    try:
        srs = SpatialReference(int(code))
    except (GDALException, SRSException, ValueError, TypeError):
        raise _file_error(_("EPSG 编号 %(code)s 不存在。") % {"code": code}, field_name)
    if not (srs.geographic or srs.projected):
        raise _file_error(
            _("EPSG:%(code)s 不是平面或经纬度坐标系，不能用于边界。") % {"code": code}, field_name
        )
    return srs


def _epsg_code(srs: SpatialReference) -> int | None:
    try:
        return srs.srid if (srs.auth_name(None) or "").upper() == "EPSG" else None
    except (GDALException, SRSException):
        return None


def _srs_name(srs: SpatialReference) -> str:
    try:
        return srs.name or "?"
    except (GDALException, SRSException):
        return "?"


def _layer_crs(layer, srid: int | None) -> tuple[SpatialReference, str]:
    """The trusted CRS of a layer: from --srid, or the EPSG code the file's CRS resolves to."""
    if srid is not None:
        srs = _epsg(srid)
        return srs, _("EPSG:%(code)d %(name)s（按指定的 EPSG 编号读取）") % {
            "code": int(srid),
            "name": srs.name,
        }
    found = layer.srs
    if found is None:
        raise _file_error(
            _(
                "文件没有说明坐标系。请指明坐标系的 EPSG 编号（命令行 --srid，管理页面的“EPSG 编号”）。"
            ),
            "srid",
        )
    code = _epsg_code(found)
    if code is None:
        candidate = found.clone()
        try:
            candidate.identify_epsg()
        except (GDALException, SRSException):
            pass
        code = _epsg_code(candidate)
    if code is None:
        raise _file_error(
            _(
                "文件的坐标系“%(name)s”对应不到 EPSG 编号。出于安全考虑只接受能对应到 EPSG 编号的坐标系："
                "请在 GIS 软件中转换为 EPSG 坐标系（如 4490、4326、4549）后再导入，或指明 EPSG 编号。"
            )
            % {"name": _srs_name(found)},
            "srid",
        )
    srs = _epsg(code)
    return srs, f"EPSG:{code} {srs.name}"


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))  # a code stored in a numeric DBF column
    return str(value).strip()


def _read(ds: DataSource, *, srid: int | None) -> tuple[list[_Feature], list[str], str]:
    """Every feature of every layer, in storage coordinates; the field names; the source label."""
    target = SpatialReference(settings.STORAGE_SRID)
    features: list[_Feature] = []
    fields: list[str] = []
    labels: list[str] = []
    for layer in ds:
        if not layer.num_feat:
            continue
        crs, label = _layer_crs(layer, srid)
        labels.append(label)
        transform = None if crs.srid == settings.STORAGE_SRID else CoordTransform(crs, target)
        layer_fields = list(layer.fields)
        fields += [f for f in layer_fields if f.lower() not in {x.lower() for x in fields}]
        for feat in layer:
            item = _Feature(index=len(features) + 1, attrs={}, geom=None)
            features.append(item)
            try:
                item.attrs = {name.lower(): feat.get(name) for name in layer_fields}
            except UnicodeDecodeError:
                item.attr_error = _("属性文字的编码无法识别，请指明编码（如 --encoding GBK）。")
            try:
                geom = feat.geom
            except GDALException:
                item.geom_error = _("缺少图形。")
                continue
            try:
                if transform is not None:
                    geom.transform(transform)
                geom.set_3d(False)
                geom.set_measured(False)
                item.geom = GEOSGeometry(memoryview(bytes(geom.wkb)), srid=settings.STORAGE_SRID)
            except (GDALException, GEOSException, ValueError) as exc:
                item.geom_error = _("图形无法读取：%(e)s") % {"e": exc}
    if not features:
        raise _file_error(_("文件里没有任何要素。"))
    return features, fields, f"{ds.driver}，" + "；".join(sorted(set(labels)))


def _pick_field(
    fields: list[str], explicit: str | None, candidates: tuple[str, ...], option: str
) -> str | None:
    lower = {f.lower(): f for f in fields}
    if explicit:
        if explicit.lower() not in lower:
            message = _("文件里没有字段“%(f)s”。可用字段：%(all)s。") % {
                "f": explicit,
                "all": "、".join(fields) or "—",
            }
            raise _file_error(message, option)
        return explicit.lower()
    for name in candidates:
        if name.lower() in lower:
            return name.lower()
    return None


# ---------------------------------------------------------------- checking


def _reason_zh(reason: str) -> str:
    for english, chinese in VALID_REASONS.items():
        if reason.startswith(english):
            return f"{chinese}（{reason}）"
    return reason


def _clean_geometry(geom: GEOSGeometry) -> tuple[MultiPolygon | None, str, str]:
    """(geometry to store, repair note, error). Repairs only small, polygon-preserving fixes."""
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return (
            None,
            "",
            _("图形应为面（Polygon 或 MultiPolygon），实际是 %(t)s。") % {"t": geom.geom_type},
        )
    if geom.empty:
        return None, "", _("图形是空的。")
    xmin, ymin, xmax, ymax = geom.extent
    if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
        return None, "", _("坐标超出经纬度范围，坐标系可能不对（请检查 .prj 或指明 EPSG 编号）。")
    if geom.valid:
        return as_multipolygon(geom), "", ""
    reason = _reason_zh(geom.valid_reason)
    try:
        fixed = geom.make_valid()
    except GEOSException:
        return None, "", _("图形无效：%(r)s；无法自动修复，请在 GIS 软件中修正。") % {"r": reason}
    if fixed.geom_type not in ("Polygon", "MultiPolygon") or not fixed.valid or fixed.empty:
        return (
            None,
            "",
            _("图形无效：%(r)s；自动修复后不再是面，请在 GIS 软件中修正。") % {"r": reason},
        )
    before, after = abs(geom.area), fixed.area
    change = abs(after - before) / before if before > 0 else math.inf
    if change >= REPAIR_MAX_AREA_CHANGE:
        return (
            None,
            "",
            _(
                "图形无效：%(r)s；自动修复会让面积变化 %(c)s，超过 1%%，请在 GIS 软件中修正后重新导入。"
            )
            % {"r": reason, "c": "∞" if math.isinf(change) else f"{change:.1%}"},
        )
    note = _("图形无效（%(r)s），已自动修复，面积变化 %(c).3f%%。") % {
        "r": reason,
        "c": change * 100,
    }
    return as_multipolygon(fixed), note, ""


def _same_geometry(a: GEOSGeometry | None, b: GEOSGeometry | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.equals_exact(b, SAME_GEOMETRY_TOLERANCE_DEG) or a.equals(b)


@dataclass
class _Planned:
    item: _Feature
    code: str
    name: str
    geom: MultiPolygon
    squad: Node | None = None
    community: Community | None = None


# ---------------------------------------------------------------- the service


def grids_import(
    *,
    path: str | Path,
    layer_kind: str,
    squad_code: str | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    squad_field: str | None = None,
    community_field: str | None = None,
    srid: int | None = None,
    encoding: str | None = None,
    dry_run: bool = False,
    file_name: str | None = None,
    actor=None,
    request=None,
) -> ImportReport:
    """Import grids (``layer_kind="grid"``) or communities (``"community"``) from a file.

    Grids hang under a squad: ``squad_field`` names a column holding the squad's code per feature,
    ``squad_code`` is the squad for features without one (an existing grid keeps its squad). A
    grid's community comes from ``community_field`` or, failing that, from the first 12 digits of
    its code when such a community exists. Field names default to the usual ones (code, name, 编码,
    名称 …). ``srid`` overrides the file's CRS. File-level problems raise ApplicationError (fields
    file / srid / code_field …); feature-level problems are listed in the report, and then nothing
    is written.
    """
    if layer_kind not in KINDS:
        raise _file_error(_("类型只能是 grid 或 community。"), "kind")
    path = Path(path)
    report = ImportReport(kind=layer_kind, dry_run=dry_run, file_name=file_name or path.name)

    tmp = Path(tempfile.mkdtemp(prefix="grids-import-"))
    try:
        ds = _open(_stage(path, tmp, srid=srid, encoding=encoding))
        features, fields, report.source = _read(ds, srid=srid)
        del ds
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report.features = len(features)

    code_f = _pick_field(fields, code_field, CODE_FIELDS[layer_kind], "code_field")
    name_f = _pick_field(fields, name_field, NAME_FIELDS[layer_kind], "name_field")
    missing = []
    if code_f is None:
        missing.append(_("编码（code）"))
    if name_f is None:
        missing.append(_("名称（name）"))
    if missing:
        raise _file_error(
            _(
                "文件里找不到%(what)s字段。可用字段：%(all)s。请改名或指明字段（--code-field / --name-field）。"
            )
            % {"what": "、".join(missing), "all": "、".join(fields) or "—"},
            "code_field" if code_f is None else "name_field",
        )
    squad_f = community_f = None
    if layer_kind == GRID:
        squad_f = _pick_field(fields, squad_field, SQUAD_FIELDS, "squad_field")
        community_f = _pick_field(fields, community_field, GRID_COMMUNITY_FIELDS, "community_field")

    default_squad = None
    if layer_kind == GRID and squad_code:
        default_squad = Node.objects.filter(kind=Node.Kind.SQUAD, code=squad_code).first()
        if default_squad is None:
            raise _file_error(_("中队“%(code)s”不存在。") % {"code": squad_code}, "squad")

    planned = _plan(
        report, features, layer_kind, code_f, name_f, squad_f, community_f, default_squad
    )

    try:
        with transaction.atomic():
            if layer_kind == GRID:
                ids = _write_grids(report, planned)
                _check_grid_layout(report, ids)
            else:
                ids = _write_communities(report, planned)
                _check_community_layout(report, ids)
            if report.errors or dry_run:
                transaction.set_rollback(True)
            else:
                report.committed = True
    except (DatabaseError, ApplicationError) as exc:
        report.committed = False
        message = exc.message if isinstance(exc, ApplicationError) else str(exc).splitlines()[0]
        report.errors.append(
            FeatureProblem(0, "", "", _("数据库拒绝写入，已全部撤销：%(e)s") % {"e": message})
        )

    if not dry_run:
        _audit(report, actor=actor, request=request)
    log.info("grids import %s: %s", report.file_name, report.summary())
    return report


def _plan(
    report, features, layer_kind, code_f, name_f, squad_f, community_f, default_squad
) -> list[_Planned]:
    codes = [_text(f.attrs.get(code_f)) for f in features]
    existing = (
        {n.code: n for n in Node.objects.filter(code__in=[c for c in codes if c])}
        if layer_kind == GRID
        else {}
    )
    squads = (
        {n.code: n for n in Node.objects.filter(kind=Node.Kind.SQUAD)} if layer_kind == GRID else {}
    )
    community_codes = set()
    if layer_kind == GRID:
        for f, code in zip(features, codes, strict=True):
            community_codes.add(_text(f.attrs.get(community_f)) if community_f else "")
            community_codes.add(code[:COMMUNITY_CODE_LENGTH])
    communities = {
        c.code: c for c in Community.objects.filter(code__in=[c for c in community_codes if c])
    }

    planned: list[_Planned] = []
    seen: dict[str, int] = {}
    missing_communities: set[str] = set()
    for item, code in zip(features, codes, strict=True):
        name = _text(item.attrs.get(name_f))
        problems: list[str] = []
        if item.attr_error:
            problems.append(item.attr_error)
        if not code:
            problems.append(_("缺少编码。"))
        elif error := (grid_code_error(code) if layer_kind == GRID else community_code_error(code)):
            problems.append(error)
        elif code in seen:
            problems.append(_("编码与第 %(n)d 个要素重复。") % {"n": seen[code]})
        else:
            seen[code] = item.index
        if not name:
            problems.append(_("缺少名称。"))
        elif len(name) > 64:
            problems.append(_("名称超过 64 个字。"))

        geom, note = None, ""
        if item.geom_error:
            problems.append(item.geom_error)
        elif item.geom is not None:
            geom, note, error = _clean_geometry(item.geom)
            if error:
                problems.append(error)
        else:
            problems.append(_("缺少图形。"))

        plan = _Planned(item=item, code=code, name=name, geom=geom)
        if layer_kind == GRID and code:
            node = existing.get(code)
            if node is not None and node.kind != Node.Kind.GRID:
                problems.append(
                    _("编码已被%(kind)s“%(name)s”使用。")
                    % {"kind": node.get_kind_display(), "name": node.name}
                )
            squad_value = _text(item.attrs.get(squad_f)) if squad_f else ""
            if squad_value or default_squad is not None:
                plan.squad = squads.get(squad_value) if squad_value else default_squad
                if plan.squad is None:
                    problems.append(_("所属中队“%(code)s”不存在。") % {"code": squad_value})
            elif node is None:
                problems.append(
                    _("没有指定所属中队：在文件中加中队编码字段（squad），或导入时选择中队。")
                )
            community_value = _text(item.attrs.get(community_f)) if community_f else ""
            if community_value:
                plan.community = communities.get(community_value)
                if plan.community is None:
                    problems.append(
                        _("所属社区“%(code)s”不存在，请先导入社区。") % {"code": community_value}
                    )
            elif not grid_code_error(code):
                plan.community = communities.get(code[:COMMUNITY_CODE_LENGTH])
                if plan.community is None:
                    missing_communities.add(code[:COMMUNITY_CODE_LENGTH])

        if problems:
            report.errors.append(FeatureProblem(item.index, code, name, " ".join(problems)))
            continue
        if note:
            report.repaired.append(FeatureProblem(item.index, code, name, note))
        planned.append(plan)

    if missing_communities:
        report.warnings.append(
            _("社区 %(codes)s 还没有导入，这些网格暂不关联社区（先导入社区再导入网格即可关联）。")
            % {"codes": "、".join(sorted(missing_communities))}
        )
    return planned


def _write_grids(report: ImportReport, planned: list[_Planned]) -> list[int]:
    existing = {
        n.code: n
        for n in Node.objects.filter(kind=Node.Kind.GRID, code__in=[p.code for p in planned])
    }
    ids: list[int] = []
    touched: set[int] = set()
    for p in planned:
        node = existing.get(p.code)
        if node is None:
            node = node_create(
                kind=Node.Kind.GRID,
                code=p.code,
                name=p.name,
                parent=p.squad,
                boundary=p.geom,
                community=p.community,
            )
            report.created.append(p.code)
            touched.update(node.chain_ids())
            ids.append(node.id)
            continue
        ids.append(node.id)
        changed: list[str] = []
        labels: list[str] = []
        if node.name != p.name:
            node.name = p.name
            changed.append("name")
            labels.append(_("名称"))
        if p.squad is not None and node.parent_id != p.squad.id:
            touched.update(node.chain_ids())
            node.parent = p.squad
            node.path = f"{p.squad.path}{node.id}/"
            changed += ["parent", "path"]
            labels.append(_("所属中队"))
        if p.community is not None and node.community_id != p.community.id:
            node.community = p.community
            changed.append("community")
            labels.append(_("社区"))
        if not _same_geometry(node.boundary, p.geom):
            node.boundary = p.geom
            changed.append("boundary")
            labels.append(_("边界"))
        if changed:
            node.save(update_fields=[*changed, "updated_at"])
            touched.update(node.chain_ids())
            report.updated.append(p.code)
            report.changed_fields[p.code] = labels
        else:
            report.unchanged.append(p.code)
    node_unions_refresh(node_ids=sorted(touched))
    return ids


def _write_communities(report: ImportReport, planned: list[_Planned]) -> list[int]:
    existing = {c.code: c for c in Community.objects.filter(code__in=[p.code for p in planned])}
    ids: list[int] = []
    for p in planned:
        community = existing.get(p.code)
        if community is None:
            community = Community.objects.create(code=p.code, name=p.name, boundary=p.geom)
            report.created.append(p.code)
            ids.append(community.id)
            continue
        ids.append(community.id)
        changed, labels = [], []
        if community.name != p.name:
            community.name = p.name
            changed.append("name")
            labels.append(_("名称"))
        if not _same_geometry(community.boundary, p.geom):
            community.boundary = p.geom
            changed.append("boundary")
            labels.append(_("边界"))
        if changed:
            community.save(update_fields=[*changed, "updated_at"])
            report.updated.append(p.code)
            report.changed_fields[p.code] = labels
        else:
            report.unchanged.append(p.code)
    return ids


# ---------------------------------------------------------------- layout checks (in SQL)
# Areas in square metres on the spheroid (geography). The && filters let the GiST indexes pick
# the candidate pairs; ST_Relate 'T********' keeps pairs whose interiors meet (not mere touching).

_GRID_OVERLAPS = """
SELECT a.code, b.code, ST_Area(ST_Intersection(a.boundary, b.boundary)::geography)
FROM grids_node a JOIN grids_node b
  ON b.kind = 'grid' AND a.code < b.code AND a.boundary && b.boundary
 AND ST_Relate(a.boundary, b.boundary, 'T********')
WHERE a.kind = 'grid' AND (a.id = ANY(%(ids)s) OR b.id = ANY(%(ids)s))
ORDER BY 3 DESC
"""

_COMMUNITY_OVERLAPS = """
SELECT a.code, b.code, ST_Area(ST_Intersection(a.boundary, b.boundary)::geography)
FROM grids_community a JOIN grids_community b
  ON a.code < b.code AND a.boundary && b.boundary AND ST_Relate(a.boundary, b.boundary, 'T********')
WHERE a.id = ANY(%(ids)s) OR b.id = ANY(%(ids)s)
ORDER BY 3 DESC
"""

# Gaps: each town's boundary minus the union of its pieces, split into parts.
_GAPS = """
WITH covered AS (
    SELECT t.id, t.code, t.boundary, ST_Union(p.boundary) AS pieces
    FROM grids_node t LEFT JOIN ({pieces}) p ON {join}
    WHERE t.kind = 'town' AND t.boundary IS NOT NULL AND t.id = ANY(%(towns)s)
    GROUP BY t.id, t.code, t.boundary
), parts AS (
    SELECT code, (ST_Dump(CASE WHEN pieces IS NULL THEN boundary ELSE ST_Difference(boundary, pieces) END)).geom AS g
    FROM covered
)
SELECT code, ST_Area(g::geography) AS area, ST_X(ST_PointOnSurface(g)), ST_Y(ST_PointOnSurface(g))
FROM parts WHERE ST_Dimension(g) = 2 AND ST_Area(g::geography) >= %(min)s
ORDER BY area DESC LIMIT %(limit)s
"""
_GRID_PIECES = "SELECT path, boundary FROM grids_node WHERE kind = 'grid' AND boundary IS NOT NULL"
_GRID_JOIN = "p.path LIKE t.path || '%%'"
_COMMUNITY_PIECES = "SELECT code, boundary FROM grids_community WHERE boundary IS NOT NULL"
_COMMUNITY_JOIN = "left(p.code, length(t.code)) = t.code"

_GRID_OUTSIDE = """
SELECT g.code, ST_Area(ST_Difference(g.boundary, t.boundary)::geography)
FROM grids_node g JOIN grids_node t ON t.id = split_part(g.path, '/', 2)::bigint
WHERE g.id = ANY(%(ids)s) AND t.boundary IS NOT NULL AND NOT ST_CoveredBy(g.boundary, t.boundary)
"""
_COMMUNITY_OUTSIDE = """
SELECT c.code, ST_Area(ST_Difference(c.boundary, t.boundary)::geography)
FROM grids_community c JOIN grids_node t ON t.kind = 'town' AND t.code = left(c.code, length(t.code))
WHERE c.id = ANY(%(ids)s) AND t.boundary IS NOT NULL AND NOT ST_CoveredBy(c.boundary, t.boundary)
"""


def _layout(
    report: ImportReport,
    overlaps_sql: str,
    gaps_sql: str,
    outside_sql: str,
    ids: list[int],
    towns: list[int],
):
    params = {"ids": ids, "towns": towns, "min": MIN_REPORTED_AREA_M2, "limit": MAX_REPORTED_GAPS}
    with connection.cursor() as cursor:
        cursor.execute(overlaps_sql, params)
        report.overlaps = [
            Overlap(a, b, round(m, 1)) for a, b, m in cursor.fetchall() if m >= MIN_REPORTED_AREA_M2
        ]
        if towns:
            cursor.execute(gaps_sql, params)
            report.gaps = [Gap(code, round(m, 1), x, y) for code, m, x, y in cursor.fetchall()]
        cursor.execute(outside_sql, params)
        report.outside = [
            Outside(code, round(m, 1)) for code, m in cursor.fetchall() if m >= MIN_REPORTED_AREA_M2
        ]


def _check_grid_layout(report: ImportReport, ids: list[int]) -> None:
    if not ids:
        return
    paths = Node.objects.filter(id__in=ids).values_list("path", flat=True)
    towns = sorted({int(p.strip("/").split("/")[0]) for p in paths if p.strip("/")})
    _layout(
        report,
        _GRID_OVERLAPS,
        _GAPS.format(pieces=_GRID_PIECES, join=_GRID_JOIN),
        _GRID_OUTSIDE,
        ids,
        towns,
    )


def _check_community_layout(report: ImportReport, ids: list[int]) -> None:
    if not ids:
        return
    codes = Community.objects.filter(id__in=ids).values_list("code", flat=True)
    towns = list(
        Node.objects.filter(kind=Node.Kind.TOWN, code__in={c[:9] for c in codes}).values_list(
            "id", flat=True
        )
    )
    _layout(
        report,
        _COMMUNITY_OVERLAPS,
        _GAPS.format(pieces=_COMMUNITY_PIECES, join=_COMMUNITY_JOIN),
        _COMMUNITY_OUTSIDE,
        ids,
        towns,
    )


def _audit(report: ImportReport, *, actor, request) -> None:
    if actor is None and request is None:
        return
    audit_record(
        user=actor,
        event="grids.import",
        success=report.committed,
        request=request,
        target=report.file_name,
        detail={
            "kind": report.kind,
            "created": len(report.created),
            "updated": len(report.updated),
            "unchanged": len(report.unchanged),
            "errors": len(report.errors),
        },
    )
