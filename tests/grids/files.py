"""Geodata files built by hand in a test's tmp_path: GeoJSON, KML, zipped Shapefiles (ogr2ogr)."""

import json
import subprocess
import zipfile
from pathlib import Path

from tests.town import STEP, X0, Y0


def box(x0: float, y0: float, x1: float, y1: float) -> list:
    """A rectangle as GeoJSON polygon coordinates (west, north, east, south corners given)."""
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def cell(col: int, row: int) -> list:
    """The same squares as tests.town.square: col west→east, row north→south."""
    x, y = X0 + col * STEP, Y0 - row * STEP
    return box(x, y, x + STEP, y - STEP)


def feature(coordinates: list, geometry_type: str = "Polygon", **properties) -> dict:
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": geometry_type, "coordinates": coordinates},
    }


def geojson(
    tmp_path: Path, features: list[dict], name: str = "grids.geojson", crs: str | None = None
) -> Path:
    data: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        data["crs"] = {"type": "name", "properties": {"name": crs}}
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def kml(tmp_path: Path, placemarks: list[tuple[str, str, list]], name: str = "grids.kml") -> Path:
    """placemarks: (name, code, polygon coordinates); the code travels in ExtendedData."""
    parts = []
    for title, code, coordinates in placemarks:
        ring = " ".join(f"{x},{y},0" for x, y in coordinates[0])
        parts.append(
            f"<Placemark><name>{title}</name>"
            f'<ExtendedData><Data name="code"><value>{code}</value></Data></ExtendedData>'
            f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}</coordinates>"
            f"</LinearRing></outerBoundaryIs></Polygon></Placemark>"
        )
    path = tmp_path / name
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        + "".join(parts)
        + "</Document></kml>",
        encoding="utf-8",
    )
    return path


def shapefile_zip(
    tmp_path: Path,
    source: Path,
    *,
    t_srs: str = "EPSG:4549",
    leave_out: tuple[str, ...] = (),
    prj_text: str | None = None,
    name: str = "grids.zip",
) -> Path:
    """Convert a GeoJSON to a Shapefile in ``t_srs`` with GDAL's ogr2ogr and zip it inside a folder,
    as people do; ``leave_out`` drops parts (".prj"), ``prj_text`` replaces the .prj."""
    out = tmp_path / "shp"
    out.mkdir(exist_ok=True)
    shp = out / "网格.shp"
    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "ESRI Shapefile",
            "-lco",
            "ENCODING=UTF-8",
            "-t_srs",
            t_srs,
            str(shp),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    if prj_text is not None:
        shp.with_suffix(".prj").write_text(prj_text)
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        for part in sorted(out.iterdir()):
            if part.stem == shp.stem and part.suffix.lower() not in leave_out:
                archive.write(part, f"网格数据/{part.name}")
    return path
