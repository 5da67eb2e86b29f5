"""Open311 GeoReport v2 endpoints (/open311/v2/…). Plain Django views, not DRF: the bodies are
the spec's XML and "Spark" JSON, errors are the spec's error list, and the OpenAPI schema of our
own API does not describe them (the Open311 specification does)."""

import re
from datetime import datetime, timedelta
from functools import wraps

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.csrf import csrf_exempt

from accounts.models import SourceKey
from accounts.services.source_keys import source_key_check
from cockpit.errors import ApplicationError
from events.open311 import definitions, selectors
from events.open311.render import Open311Error, error_response, respond
from events.open311.services import (
    Open311Report,
    application_error_descriptions,
    open311_request_create,
)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = ["text/xml", "application/json"]
MAX_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
ATTRIBUTE_RE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
NOT_FOUND_REQUEST = "没有这个服务请求 / No such service request"


def jurisdiction_id() -> str:
    return getattr(settings, "OPEN311_JURISDICTION_ID", "sandun.gov.cn")


def _param(request, name: str) -> str:
    source = request.POST if request.method == "POST" else request.GET
    value = source.get(name)
    if value is None and request.method == "POST":
        value = request.GET.get(name)  # some clients put api_key or jurisdiction_id in the URL
    return (value or "").strip()


def open311(*methods: str):
    """Method check, jurisdiction check and Open311 error bodies for every endpoint."""

    def decorate(view):
        @csrf_exempt  # machine clients, no session: POST is authorised by its api_key
        @wraps(view)
        def wrapper(request, fmt: str, **kwargs):
            if request.method not in methods:
                response = error_response(
                    fmt,
                    Open311Error(
                        405, f"不支持 {request.method} / {request.method} is not allowed here"
                    ),
                )
                response["Allow"] = ", ".join(methods)
                return response
            try:
                given = _param(request, "jurisdiction_id")
                if given and given != jurisdiction_id():
                    raise Open311Error(404, f"未知的辖区 / Unknown jurisdiction_id: {given[:64]}")
                return view(request, fmt, **kwargs)
            except Open311Error as exc:
                return error_response(fmt, exc)
            except ApplicationError as exc:
                return error_response(
                    fmt, Open311Error(exc.status_code, *application_error_descriptions(exc))
                )

        return wrapper

    return decorate


@open311("GET")
def discovery(request, fmt: str):
    base = request.build_absolute_uri(reverse("open311:services", kwargs={"fmt": "xml"}))
    base = base.rsplit("services.xml", 1)[0]
    changeset = getattr(settings, "OPEN311_CHANGESET", definitions.DEFINITIONS_CHANGED)
    body = {
        "changeset": changeset,
        "contact": getattr(
            settings, "OPEN311_CONTACT", "三墩镇综合信息指挥中心 / Sandun town command centre"
        ),
        "key_service": getattr(
            settings,
            "OPEN311_KEY_SERVICE",
            "向镇指挥中心申请 Open311 接口密钥 / Ask the town command centre for an API key",
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base,
                "changeset": changeset,
                "type": "test" if settings.DEBUG else "production",
                "formats": FORMATS,
            }
        ],
    }
    return respond(fmt, "discovery", body)


@open311("GET")
def service_list(request, fmt: str):
    return respond(fmt, "services", [selectors.service_payload(c) for c in selectors.services()])


@open311("GET")
def service_definition(request, fmt: str, code: str):
    category = selectors.service_get(code=code)
    if category is None:
        raise Open311Error(404, f"未知的服务 / Unknown service_code: {code[:32]}")
    return respond(fmt, "service_definition", definitions.definition_payload(category.code))


@open311("GET", "POST")
def requests_collection(request, fmt: str):
    if request.method == "POST":
        return _request_create(request, fmt)
    return _request_search(request, fmt)


@open311("GET")
def request_detail(request, fmt: str, id: str):
    cases = selectors.cases_by_numbers(numbers=[id])
    if not cases:
        raise Open311Error(404, NOT_FOUND_REQUEST)
    return respond(fmt, "service_requests", selectors.request_payloads(cases))


@open311("GET")
def token_detail(request, fmt: str, token: str):
    # Requests are created at once (type "realtime"): the token a client may hold is the
    # service_request_id itself. The case's own tracking token is the resident's secret and is
    # never used here.
    cases = selectors.cases_by_numbers(numbers=[token])
    if not cases:
        raise Open311Error(404, f"未知的 token / Unknown token: {token[:32]}")
    number = cases[0].number
    return respond(fmt, "service_requests", [{"service_request_id": number, "token": number}])


def not_found(request, path: str = ""):
    fmt = "json" if path.endswith(".json") else "xml"
    return error_response(fmt, Open311Error(404, f"没有这个接口 / No such endpoint: /{path[:80]}"))


# --- POST /requests ------------------------------------------------------------------------


def _attributes(request) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name in request.POST:
        match = ATTRIBUTE_RE.match(name)
        if match:
            found.setdefault(match.group(1), []).extend(request.POST.getlist(name))
    return found


def _request_create(request, fmt: str):
    raw_key = _param(request, "api_key") or request.headers.get("X-Api-Key", "")
    if not raw_key:
        raise Open311Error(403, "缺少 api_key / api_key is required")
    try:
        key: SourceKey = source_key_check(
            raw_key=raw_key, source=SourceKey.Source.OPEN311, request=request
        )
    except ApplicationError:
        raise Open311Error(403, "api_key 无效或已吊销 / Invalid or revoked api_key") from None
    code = _param(request, "service_code")
    if not code:
        raise Open311Error(400, "service_code: 必填 / required")
    service = selectors.service_get(code=code)
    if service is None:
        raise Open311Error(404, f"未知的服务 / Unknown service_code: {code[:32]}")
    report = Open311Report(
        service=service,
        attributes=_attributes(request),
        idempotency_key=request.headers.get("Idempotency-Key", "")
        or _param(request, "idempotency_key"),
        **{
            name: _param(request, name)
            for name in (
                "lat",
                "long",
                "address_string",
                "address_id",
                "description",
                "media_url",
                "email",
                "phone",
                "device_id",
                "account_id",
                "first_name",
                "last_name",
            )
        },
    )
    result = open311_request_create(key=key, report=report)
    notice = " ".join(str(w) for w in result.warnings)
    body = [
        {
            "service_request_id": result.case.number,
            "service_notice": notice or None,
            "account_id": report.account_id or None,
        }
    ]
    return respond(fmt, "service_requests", body, status=201 if result.created else 200)


# --- GET /requests -------------------------------------------------------------------------


def _list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _when(value: str, name: str, *, end: bool = False) -> datetime | None:
    """A W3C datetime. A "+" left unencoded in a query string arrives as a space; a date alone
    means the start (or, for end_date, the end) of that day in the town's time."""
    if not value:
        return None
    value = re.sub(r" (\d{2}:?\d{2})$", r"+\1", value)
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is not None:
                parsed = datetime.combine(day, datetime.max.time() if end else datetime.min.time())
    except ValueError:
        parsed = None
    if parsed is None:
        raise Open311Error(
            400, f"{name}: 须为 W3C 日期时间 / must be a W3C datetime, e.g. 2026-01-01T00:00:00Z"
        )
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _positive(value: str, name: str, default: int, maximum: int) -> int:
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= maximum:
        raise Open311Error(400, f"{name}: 须为 1–{maximum} 的整数 / a whole number 1–{maximum}")
    return int(value)


def _request_search(request, fmt: str):
    ids = _list(_param(request, "service_request_id"))
    if ids:  # overrides every other filter
        if len(ids) > MAX_RESULTS:
            raise Open311Error(
                400, f"service_request_id: 最多 {MAX_RESULTS} 个 / at most {MAX_RESULTS}"
            )
        return respond(
            fmt,
            "service_requests",
            selectors.request_payloads(selectors.cases_by_numbers(numbers=ids)),
        )
    statuses = [s.lower() for s in _list(_param(request, "status"))]
    if any(s not in ("open", "closed") for s in statuses):
        raise Open311Error(400, "status: 只能是 open 或 closed / must be open or closed")
    start = _when(_param(request, "start_date"), "start_date")
    end = _when(_param(request, "end_date"), "end_date", end=True)
    if start is None and end is None:
        end = timezone.now()
    if start is None:
        start = end - MAX_WINDOW
    if end is None:
        end = start + MAX_WINDOW
    if end < start:
        raise Open311Error(400, "end_date 早于 start_date / end_date is before start_date")
    if end - start > MAX_WINDOW:
        raise Open311Error(400, "日期范围不能超过 90 天 / The date range may not exceed 90 days")
    page_size = _positive(_param(request, "page_size"), "page_size", MAX_RESULTS, MAX_RESULTS)
    page = _positive(_param(request, "page"), "page", 1, 1_000_000)
    cases = selectors.cases_search(
        codes=_list(_param(request, "service_code")),
        statuses=statuses,
        start=start,
        end=end,
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    return respond(fmt, "service_requests", selectors.request_payloads(cases))
