"""POST /requests: an Open311 report becomes an ordinary case through events.services.case_report.

What the client sends that the case has no column for stays in ``case.extra["open311"]``:
the client's own description, attribute answers, media_url (a link, never downloaded),
device_id, account_id, address_id, the key's prefix. The e-mail is personal data and is kept
encrypted; the phone takes the reporter-phone path of case_report (encrypted, blind index).
"""

import hashlib
from dataclasses import dataclass, field
from urllib.parse import urlparse

from django.core.exceptions import ValidationError

from accounts import pii
from accounts.models import SourceKey
from cockpit.errors import ApplicationError
from events import services
from events.models import Case, Category
from events.open311 import definitions
from events.open311.render import Open311Error
from grids.models import Address

MAX_DESCRIPTION = 4000  # the spec's limit; case.description keeps the first 2,000 characters
MAX_FIELD = 128
MAX_URL = 500
REPORTER_LABEL = "Open311"


@dataclass
class Open311Report:
    service: Category
    lat: str = ""
    long: str = ""
    address_string: str = ""
    address_id: str = ""
    description: str = ""
    media_url: str = ""
    email: str = ""
    phone: str = ""
    device_id: str = ""
    account_id: str = ""
    first_name: str = ""
    last_name: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)
    idempotency_key: str = ""


def _name(first: str, last: str) -> str:
    first, last = first.strip(), last.strip()
    if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
        return f"{last}{first}"  # 姓 then 名, no space
    return f"{first} {last}".strip()


def _float(value: str, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise Open311Error(400, f"{name}: 须为数字 / must be a number") from None
    if not low <= number <= high:
        raise Open311Error(400, f"{name}: 超出范围 / out of range ({low}..{high})")
    return number


def _external_id(key: SourceKey, idempotency_key: str) -> str:
    """Retries with the same Idempotency-Key (per API key) are one case: case_report is idempotent
    on (source, external id). The client's key is hashed so any length and alphabet fits."""
    if not idempotency_key:
        return ""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"{key.prefix}:{digest}"


def open311_request_create(*, key: SourceKey, report: Open311Report) -> services.ReportResult:
    """Check the Open311 fields, then report the case. Raises Open311Error (400) with every
    problem found, or lets case_report's ApplicationError through for the view to convert."""
    problems: list[str] = []
    lng = lat = None
    has_lat, has_long = bool(report.lat.strip()), bool(report.long.strip())
    if has_lat != has_long:
        problems.append("lat/long: 须同时提供 / both are required together")
    elif has_lat:
        try:
            lat = _float(report.lat.strip(), "lat", -90, 90)
            lng = _float(report.long.strip(), "long", -180, 180)
        except Open311Error as exc:
            problems.extend(exc.descriptions)
    address = report.address_string.strip()
    address_row = None
    if report.address_id.strip():
        address_row = Address.objects.filter(code=report.address_id.strip()).first()
        if address_row is None and lat is None and not address:
            problems.append("address_id: 未知的地址编码 / unknown address_id")
    if lat is None and not address and address_row is None and not problems:
        problems.append(
            "location: 须提供 lat+long、address_string 或 address_id / "
            "lat and long, address_string or address_id is required"
        )
    if address_row is not None:
        if lat is None:
            lng, lat = address_row.point.x, address_row.point.y
        address = address or address_row.text
    description = report.description.strip()
    if len(description) > MAX_DESCRIPTION:
        problems.append(
            f"description: 不能超过 {MAX_DESCRIPTION} 字 / at most {MAX_DESCRIPTION} characters"
        )
    media_url = report.media_url.strip()
    if media_url:
        parsed = urlparse(media_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(media_url) > MAX_URL:
            problems.append("media_url: 须为 http(s) 链接 / must be an http(s) URL")
    for name in ("device_id", "account_id", "email", "first_name", "last_name"):
        if len(getattr(report, name)) > MAX_FIELD:
            problems.append(f"{name}: 不能超过 {MAX_FIELD} 字 / at most {MAX_FIELD} characters")
    email = report.email.strip()
    if email and ("@" not in email or " " in email):
        problems.append("email: 格式不正确 / not an e-mail address")
    phone = report.phone.strip()
    if phone:
        try:
            pii.normalize_mobile(phone)
        except ValidationError:
            problems.append("phone: 须为 11 位手机号码 / must be a mainland mobile number")
    answers, attribute_problems = definitions.attributes_check(
        code=report.service.code, given=report.attributes
    )
    problems.extend(attribute_problems)
    if problems:
        raise Open311Error(400, *problems)

    answers_text = definitions.attributes_text(code=report.service.code, answers=answers)
    text = "\n".join(t for t in (description, answers_text) if t)
    if len(text) > services.MAX_DESCRIPTION:
        text = text[: services.MAX_DESCRIPTION - 1] + "…"
    o311 = {
        "key": key.prefix,
        "description": description,
        "attributes": answers,
        "media_url": media_url,
        "device_id": report.device_id.strip(),
        "account_id": report.account_id.strip(),
        "address_id": report.address_id.strip(),
        "email_enc": pii.encrypt(email) if email else "",
    }
    return services.case_report(
        source=Case.Source.OPEN311,
        category=report.service,
        description=text,
        lng=lng,
        lat=lat,
        crs="wgs84",  # Open311 coordinates are WGS84 by definition
        address=address[: services.MAX_ADDRESS],
        reporter=services.Reporter(
            name=_name(report.first_name, report.last_name)[:64],
            phone=report.phone.strip(),
            label=REPORTER_LABEL,
        ),
        external_id=_external_id(key, report.idempotency_key.strip()),
        extra={"open311": {k: v for k, v in o311.items() if v not in ("", {}, None)}},
    )


def application_error_descriptions(exc: ApplicationError) -> list[str]:
    """case_report's field messages as Open311 error descriptions ("phone: 请填写…")."""
    names = {"location": "lat/long", "address": "address_string", "name": "first_name/last_name"}
    out = [
        f"{names.get(field_name, field_name)}: {message}"
        for field_name, messages in exc.fields.items()
        for message in (messages if isinstance(messages, list | tuple) else [messages])
    ]
    return out or [str(exc.message)]
