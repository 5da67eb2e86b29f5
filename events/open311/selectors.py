"""Reads for Open311: the services (categories residents may pick) and the public view of cases.

GET /requests is public and unauthenticated, so what it shows is chosen narrowly: cases of the
advertised services, from sources whose reports are about public space (residents, Open311
clients, grid workers, patrols) — never 110/119/12345 or sensor cases, which can concern one
household. No names, phones, e-mails, handlers or tracking tokens; phone and ID numbers a
reporter typed into the description are masked.
"""

import re
from datetime import datetime

from django.apps import apps
from django.db.models import Q, QuerySet
from django.utils.translation import get_language

from accounts import pii
from events.live import public_note
from events.models import Case, CaseLog, Category
from events.open311.render import w3c
from events.selectors import categories_for_residents

PUBLIC_SOURCES = (Case.Source.RESIDENT, Case.Source.OPEN311, Case.Source.WORKER, Case.Source.PATROL)
# Open311 has two states. A case is "closed" when it is finished for the resident: 结案, 不予立案
# or merged into another case. 已处置 awaits the centre's check and can come back, so it is open.
CLOSED_STATUSES = (Case.Status.CLOSED, Case.Status.REJECTED, Case.Status.MERGED)

MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def _english() -> bool:
    return (get_language() or "").lower().startswith("en")


def services() -> QuerySet[Category]:
    return categories_for_residents()


def service_get(*, code: str) -> Category | None:
    return services().filter(code=(code or "").strip()).first()


def service_payload(category: Category) -> dict:
    english = _english() and bool(category.name_en)
    name = category.name_en if english else category.name
    description = f"{category.name} / {category.name_en}" if category.name_en else category.name
    if category.register_condition:
        description += f"（{category.register_condition}）"
    keywords = [k for k in (category.name_en, category.major_name, category.name) if k]
    return {
        "service_code": category.code,
        "service_name": name,
        "description": description,
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(dict.fromkeys(keywords)),
        "group": category.major_name or None,
    }


def public_cases() -> QuerySet[Case]:
    return Case.objects.filter(
        source__in=PUBLIC_SOURCES, category__active=True, category__resident_visible=True
    ).select_related("category")


def cases_by_numbers(*, numbers: list[str]) -> list[Case]:
    wanted = [n.strip().upper() for n in numbers if n.strip()]
    found = {c.number: c for c in public_cases().filter(number__in=wanted)}
    return [found[n] for n in dict.fromkeys(wanted) if n in found]


def cases_search(
    *,
    codes: list[str] | None,
    statuses: list[str] | None,
    start: datetime,
    end: datetime,
    offset: int = 0,
    limit: int = 1000,
) -> list[Case]:
    qs = public_cases().filter(reported_at__gte=start, reported_at__lte=end)
    if codes:
        qs = qs.filter(category__code__in=codes)
    if statuses and set(statuses) != {"open", "closed"}:
        closed = Q(status__in=CLOSED_STATUSES)
        qs = qs.filter(closed if "closed" in statuses else ~closed)
    return list(qs.order_by("-reported_at", "-id")[offset : offset + limit])


def _mask_text(text: str) -> str:
    text = MOBILE_IN_TEXT.sub(lambda m: pii.mask_phone(m.group(0)), text or "")
    return ID_IN_TEXT.sub(lambda m: pii.mask_id_number(m.group(0)), text)


def _latest_notes(case_ids: list[int]) -> dict[int, str]:
    """The latest text written for the reporter (a reply, or a public note of a step) per case."""
    entries = (
        CaseLog.objects.filter(case_id__in=case_ids)
        .filter(Q(action="reply") | Q(data__has_key="public_note"))
        .order_by("id")
        .only("id", "case_id", "action", "note", "data")
    )
    notes: dict[int, str] = {}
    for entry in entries:
        text = public_note(entry).strip()
        if text:
            notes[entry.case_id] = text
    return notes


def _agencies(case_ids: list[int]) -> dict[int, str]:
    """The department leading each case, when dispatch has assigned one."""
    try:
        assignment = apps.get_model("dispatch", "Assignment")
    except LookupError:
        return {}
    rows = assignment.objects.filter(case_id__in=case_ids, active=True, role="lead").values_list(
        "case_id", "department__name", "team__department__name"
    )
    return {case_id: dept or team_dept for case_id, dept, team_dept in rows if dept or team_dept}


def request_payloads(cases: list[Case]) -> list[dict]:
    ids = [c.id for c in cases]
    notes, agencies = _latest_notes(ids), _agencies(ids)
    english = _english()
    out = []
    for case in cases:
        closed = case.status in CLOSED_STATUSES
        point = case.location
        o311 = (case.extra or {}).get("open311") or {}
        category = case.category
        out.append(
            {
                "service_request_id": case.number,
                "status": "closed" if closed else "open",
                "status_notes": _mask_text(notes[case.id]) if case.id in notes else None,
                "service_name": category.name_en if english and category.name_en else category.name,
                "service_code": category.code,
                "description": _mask_text(o311.get("description") or case.description) or None,
                "agency_responsible": agencies.get(case.id),
                "service_notice": None,
                "requested_datetime": w3c(case.reported_at),
                "updated_datetime": w3c(
                    (case.closed_at or case.updated_at) if closed else case.updated_at
                ),
                "expected_datetime": w3c(case.resolve_due) if not closed else None,
                "address": case.address or None,
                "address_id": o311.get("address_id") or None,
                "zipcode": None,
                "lat": round(point.y, 6) if point else None,
                "long": round(point.x, 6) if point else None,
                "media_url": o311.get("media_url") or None,
            }
        )
    return out
