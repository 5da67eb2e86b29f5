"""Open311 bodies in both formats from one value: XML with the spec's element names, and JSON by
the "Spark convention" (a collection is a top-level array, no wrapper object)."""

import json
import xml.etree.ElementTree as ET
from datetime import datetime

from django.http import HttpResponse
from django.utils import timezone

XML_TYPE = "text/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'

# The element name of one item inside a collection element.
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def w3c(value: datetime | None) -> str | None:
    """W3C datetime with an offset (the spec requires a timezone): 2026-11-23T18:56:18+08:00."""
    if value is None:
        return None
    return timezone.localtime(value).replace(microsecond=0).isoformat()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        item_name = ITEM_NAMES.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, item_name), child)
    else:
        element.text = _text(value)


def to_xml(root: str, value) -> str:
    element = ET.Element(root)
    _fill(element, value)
    return XML_DECLARATION + ET.tostring(element, encoding="unicode")


def respond(fmt: str, root: str, value, *, status: int = 200) -> HttpResponse:
    """``root`` names the XML root ("services", "service_requests" …); JSON is the value itself."""
    if fmt == "xml":
        body, content_type = to_xml(root, value), XML_TYPE
    else:
        body, content_type = json.dumps(value, ensure_ascii=False), JSON_TYPE
    response = HttpResponse(body.encode("utf-8"), status=status, content_type=content_type)
    response["Access-Control-Allow-Origin"] = "*"  # read-only public data, and POST needs a key
    return response


class Open311Error(Exception):
    """An Open311 error: the HTTP status and the descriptions of the error list."""

    def __init__(self, status: int, *descriptions: str, code: int | None = None):
        super().__init__("; ".join(descriptions))
        self.status = status
        self.code = code or status
        self.descriptions = descriptions or ("error",)


def error_response(fmt: str, error: Open311Error) -> HttpResponse:
    body = [{"code": error.code, "description": d} for d in error.descriptions]
    return respond(fmt, "errors", body, status=error.status)
