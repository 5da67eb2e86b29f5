"""Webhook adapters: one external report (110, 119, 12345, video AI, IoT) → a checked
services.ReportInput, or an ApplicationError with field messages. Nothing here writes; the
batch is written by services.case_report_many.

Field names per source (JSON; snake_case; every place is WGS84 unless ``crs`` says gcj02):
- common: lng, lat, crs, address, description, category (a code: 5-digit standard, 4-digit legacy,
  or local "L…"), grade (1/2/3), title, occurred_at
- 110 / 119: incident_no (→ external id, required), caller_phone, caller_name, alarm_type
- 12345: order_no (required), appeal_type (consult/help/complaint/report/suggestion/praise or
  咨询/求助/投诉/举报/建议/表扬), channel, anonymous, confidential, due_at, caller_name,
  caller_phone, content (or description)
- video_ai: event_id (required), camera_id (required), detection_type, confidence (0–1),
  snapshot (base64) or snapshot_url (stored, never fetched by the server), captured_at
- iot: event_id (required), sensor_id (required), alarm_type, value, unit
"""

from django.utils.translation import gettext as _

from cockpit.checks import BOOLEAN, CHOICE, DATETIME, INTEGER, NUMBER, TEXT, URL, Field, check
from cockpit.errors import ApplicationError
from events import taxonomy_data
from events.media import photos_check, upload_from_base64
from events.models import HotlineOrder
from events.services import Reporter, ReportInput, category_resolve, source_label
from events.taxonomy import category_for_type

SOURCES = ("110", "119", "12345", "video_ai", "iot")
MAX_BATCH = 500

APPEAL_TYPES = frozenset(HotlineOrder.AppealType.values)
APPEAL_LABELS = {str(label): value for value, label in HotlineOrder.AppealType.choices}
APPEAL_LABELS.update(
    {
        "咨询": "consult",
        "求助": "help",
        "投诉": "complaint",
        "举报": "report",
        "建议": "suggestion",
        "表扬": "praise",
    }
)


# What each source may send (cockpit.checks: by hand, ~15 µs an item where a DRF serializer took
# ~300 µs, the largest cost of a batch).
_COMMON = {
    "lng": Field(NUMBER),
    "lat": Field(NUMBER),
    "crs": Field(CHOICE, choices=("wgs84", "gcj02"), default="wgs84"),
    "address": Field(TEXT),
    "description": Field(TEXT),
    "category": Field(TEXT),
    "grade": Field(INTEGER),
    "title": Field(TEXT),
    "occurred_at": Field(DATETIME),
}
_ALARM = {
    **_COMMON,
    "incident_no": Field(TEXT, required=True, max_length=128),
    "caller_phone": Field(TEXT),
    "caller_name": Field(TEXT, max_length=64),
    "alarm_type": Field(TEXT),
}
_HOTLINE = {
    **_COMMON,
    "order_no": Field(TEXT, required=True, max_length=64),
    "appeal_type": Field(TEXT, required=True),
    "channel": Field(TEXT, max_length=16),
    "anonymous": Field(BOOLEAN, default=False),
    "confidential": Field(BOOLEAN, default=False),
    "due_at": Field(DATETIME),
    "caller_phone": Field(TEXT),
    "caller_name": Field(TEXT, max_length=64),
    "content": Field(TEXT),
}
_VIDEO = {
    **_COMMON,
    "event_id": Field(TEXT, required=True, max_length=128),
    "camera_id": Field(TEXT, required=True, max_length=64),
    "detection_type": Field(TEXT),
    "confidence": Field(NUMBER, minimum=0.0, maximum=1.0),
    "snapshot": Field(TEXT),
    "snapshot_url": Field(URL, max_length=1000),
    "captured_at": Field(DATETIME),
}
_IOT = {
    **_COMMON,
    "event_id": Field(TEXT, required=True, max_length=128),
    "sensor_id": Field(TEXT, required=True, max_length=64),
    "alarm_type": Field(TEXT),
    "value": Field(NUMBER),
    "unit": Field(TEXT, max_length=16),
}
SPECS = {"110": _ALARM, "119": _ALARM, "12345": _HOTLINE, "video_ai": _VIDEO, "iot": _IOT}


def _appeal_type(value: str, errors: dict) -> str:
    if value in APPEAL_TYPES:
        return value
    if value in APPEAL_LABELS:
        return APPEAL_LABELS[value]
    errors["appeal_type"] = [_("诉求类型只能是咨询、求助、投诉、举报、建议或表扬。")]
    return value


def intake_check(source: str, item: dict) -> dict:
    """The fields of one webhook item, checked; ApplicationError naming every field at fault."""
    errors: dict[str, list[str]] = {}
    d = check(item, SPECS[source], errors)
    if source == "12345" and d["appeal_type"] and "appeal_type" not in errors:
        d["appeal_type"] = _appeal_type(d["appeal_type"], errors)
    if errors:
        raise ApplicationError(_("提交的内容有误，请检查标出的字段。"), fields=errors)
    return d


def _category(source: str, d: dict, memo: dict | None = None):
    """An explicit category code wins; otherwise the source's type tables (taxonomy_data).
    ``memo``: the categories already resolved in this request (a batch of a hundred items
    names a handful of categories; each lookup costs a query or two)."""
    key = (source, d.get("category") or "", d.get("alarm_type", ""), d.get("detection_type", ""))
    if memo is not None and key in memo:
        return memo[key]
    found = _category_lookup(source, d)
    if memo is not None:
        memo[key] = found
    return found


def _category_lookup(source: str, d: dict):
    if d.get("category"):
        return category_resolve(code=d["category"])
    if source in ("110", "119"):
        table = taxonomy_data.ALARM_TYPES[source]
        found = category_for_type(
            table=table, type_name=d.get("alarm_type", ""), default=table["_default"]
        )
        field = "alarm_type"
    elif source == "video_ai":
        found = category_for_type(
            table=taxonomy_data.DETECTION_TYPES, type_name=d.get("detection_type", "")
        )
        field = "detection_type"
    elif source == "iot":
        found = category_for_type(
            table=taxonomy_data.IOT_ALARM_TYPES, type_name=d.get("alarm_type", "")
        )
        field = "alarm_type"
    else:
        found, field = None, "category"
    if found is None:
        raise ApplicationError(
            _("未知的事件类别。"),
            fields={field: [_("无法识别的类型，请提供 category（事件类别编码）。")]},
        )
    return found


def intake_parse(
    *, source: str, item, snapshot_upload=None, categories: dict | None = None, label: str = ""
) -> ReportInput:
    """One webhook item → ReportInput; ApplicationError (with fields) when it cannot be taken.
    ``categories``: a dict shared by the items of one request, so each category is resolved
    once per batch; ``label``: the source's name in the log, when the caller has it."""
    if not isinstance(item, dict):
        raise ApplicationError(
            _("每条上报须为 JSON 对象。"),
            fields={"non_field_errors": [_("每条上报须为 JSON 对象。")]},
        )
    d = intake_check(source, item)
    category = _category(source, d, categories)
    extra: dict = {}
    if d.get("occurred_at"):
        extra["occurred_at"] = d["occurred_at"].isoformat()
    photos = []
    reporter = Reporter(label=label or source_label(source))
    hotline = None
    description = d.get("description", "")
    if source in ("110", "119"):
        external_id = d["incident_no"]
        reporter.phone, reporter.name = d.get("caller_phone", ""), d.get("caller_name", "")
        if d.get("alarm_type"):
            extra["alarm_type"] = d["alarm_type"][:32]
    elif source == "12345":
        external_id = d["order_no"]
        description = description or d.get("content", "")
        reporter.phone, reporter.name = d.get("caller_phone", ""), d.get("caller_name", "")
        hotline = {
            "order_no": d["order_no"],
            "appeal_type": d["appeal_type"],
            "channel": d.get("channel", ""),
            "anonymous": d.get("anonymous", False),
            "confidential": d.get("confidential", False),
            "due_at": d.get("due_at"),
        }
    elif source == "video_ai":
        external_id = d["event_id"]
        extra.update(
            {
                "camera_id": d["camera_id"],
                "detection_type": d.get("detection_type", ""),
                "confidence": d.get("confidence"),
            }
        )
        if d.get("captured_at"):
            extra["captured_at"] = d["captured_at"].isoformat()
        if d.get("snapshot_url"):
            # Stored as a reference for staff to open; the server never fetches it (no SSRF).
            extra["snapshot_url"] = d["snapshot_url"]
        if snapshot_upload is not None:
            photos = photos_check([snapshot_upload], field="snapshot")
        elif d.get("snapshot"):
            photos = photos_check(
                [upload_from_base64(d["snapshot"], name=f"{external_id}.jpg", field="snapshot")],
                field="snapshot",
            )
    else:  # iot
        external_id = d["event_id"]
        extra.update(
            {
                "sensor_id": d["sensor_id"],
                "alarm_type": d.get("alarm_type", ""),
                "value": d.get("value"),
                "unit": d.get("unit", ""),
            }
        )
    return ReportInput(
        source=source,
        category=category,
        description=description,
        lng=d.get("lng"),
        lat=d.get("lat"),
        crs=d.get("crs") or "wgs84",
        address=d.get("address", ""),
        photos=photos,
        reporter=reporter,
        external_id=external_id,
        grade=d.get("grade"),
        title=d.get("title", ""),
        extra=extra,
        hotline=hotline,
    )


def intake_items(payload) -> tuple[list, bool]:
    """The items of a webhook body and whether it was a batch ({"reports": [...]})."""
    if isinstance(payload, dict) and "reports" in payload:
        reports = payload["reports"]
        if not isinstance(reports, list) or not reports:
            raise ApplicationError(
                _("reports 须为非空数组。"), fields={"reports": [_("须为非空数组。")]}
            )
        if len(reports) > MAX_BATCH:
            raise ApplicationError(
                _("一次最多提交 %(n)d 条。") % {"n": MAX_BATCH},
                fields={"reports": [_("一次最多提交 %(n)d 条。") % {"n": MAX_BATCH}]},
                status_code=413,
            )
        return reports, True
    return [payload], False
