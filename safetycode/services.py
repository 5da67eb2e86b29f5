"""Every write of the safety-code module: sites, imports, self-checks, inspections, hazards,
appeals, the re-inspection schedule and the hand-over of overdue hazards to the events app."""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.gis.geos import Point
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import pii
from accounts.models import User
from cockpit.errors import ApplicationError
from events.media import CheckedPhoto
from grids.coords import to_storage_point
from grids.models import Address
from grids.selectors import grid_locate
from safetycode import scenes, scoring
from safetycode.models import (
    Appeal,
    ChecklistItem,
    Code,
    Hazard,
    Inspection,
    InspectionTask,
    Photo,
    SelfCheck,
    Site,
)

log = logging.getLogger(__name__)

QR_SALT = "safetycode.qr"
# Re-inspection interval by code (DOMAIN.md: red daily, yellow weekly, green monthly).
REINSPECT_EVERY = {
    Code.RED: timedelta(days=1),
    Code.YELLOW: timedelta(days=7),
    Code.GREEN: timedelta(days=30),
}
HAZARD_CATEGORY_CODE = "L0008"  # events/taxonomy_data.py LOCAL_SCENES: 安全隐患
ANSWERS = ("yes", "no", "na")
MAX_NOTE = 500


# --- QR tokens ------------------------------------------------------------------------------


def qr_token(*, site: Site) -> str:
    """The signed token printed in the site's QR code. Bumping ``qr_version`` revokes it."""
    return signing.Signer(salt=QR_SALT).sign(f"{site.id}.{site.qr_version}")


def qr_site(*, token: str) -> Site | None:
    """The site a token was signed for, or None for a forged, revoked or unknown token."""
    try:
        value = signing.Signer(salt=QR_SALT).unsign(token)
        site_id, version = (int(v) for v in value.split("."))
    except (signing.BadSignature, ValueError):
        return None
    return Site.objects.filter(id=site_id, qr_version=version).select_related("grid").first()


# --- Sites ------------------------------------------------------------------------------------


@dataclass
class SiteInput:
    name: str = ""
    scene: str = ""
    credit_code: str = ""
    lng: str | float | None = None
    lat: str | float | None = None
    crs: str = "wgs84"
    address: str = ""
    owner: str = ""
    phone: str = ""
    attributes: dict = field(default_factory=dict)


def site_prepare(item: SiteInput) -> Site:
    """Check one site and build it (unsaved). Raises ApplicationError naming every field at fault,
    so an import can report a row completely and the API can answer field by field."""
    errors: dict[str, list[str]] = {}
    name = (item.name or "").strip()
    if not name:
        errors["name"] = [_("请填写场所名称。")]
    elif len(name) > 128:
        errors["name"] = [_("名称不能超过 128 个字。")]
    scene = scenes.scene_resolve(item.scene)
    if scene is None:
        errors["scene"] = [_("未知的场景：%(s)s") % {"s": item.scene or "—"}]
    credit = (item.credit_code or "").strip()
    if credit:
        try:
            credit = pii.validate_credit_code(credit)
        except ValidationError as exc:
            errors["credit_code"] = list(exc.messages)
    elif scene is not None and scene not in scenes.CREDIT_CODE_OPTIONAL:
        errors["credit_code"] = [_("请填写统一社会信用代码。")]
    phone = ""
    if (item.phone or "").strip():
        try:
            phone = pii.normalize_mobile(str(item.phone))
        except ValidationError as exc:
            errors["phone"] = list(exc.messages)
    owner = (item.owner or "").strip()
    if len(owner) > 64:
        errors["owner"] = [_("负责人姓名不能超过 64 个字。")]
    address = (item.address or "").strip()
    if len(address) > 256:
        errors["address"] = [_("地址不能超过 256 个字。")]
    attributes = {}
    if scene is not None:
        attributes, attr_errors = scenes.attributes_clean(scene=scene, raw=item.attributes)
        if attr_errors:
            errors["attributes"] = attr_errors
    point = None
    blank = lambda v: v is None or str(v).strip() == ""  # noqa: E731
    if blank(item.lng) and blank(item.lat):
        found = Address.objects.filter(text=address).only("point").first() if address else None
        if found is None:
            errors["location"] = [_("缺少位置：请填写经纬度，或地址库中的标准地址。")]
        else:
            point = found.point
    elif blank(item.lng) or blank(item.lat):
        errors["location"] = [_("经度和纬度须同时提供。")]
    else:
        try:
            point = to_storage_point(
                float(item.lng), float(item.lat), (item.crs or "wgs84").lower()
            )
        except ApplicationError as exc:
            errors["location"] = [str(m) for v in exc.fields.values() for m in v] or [exc.message]
        except (TypeError, ValueError, ValidationError):
            errors["location"] = [_("坐标无效：经度应在 -180～180，纬度应在 -90～90。")]
    grid = grid_locate(point=point) if point is not None else None
    if point is not None and grid is None:
        errors["location"] = [_("该位置不在本镇任何网格内。")]
    if errors:
        raise ApplicationError(_("提交的内容有误，请检查标出的字段。"), fields=errors)
    return Site(
        name=name,
        scene=scene,
        credit_code=credit,
        location=point,
        address=address,
        grid=grid,
        node_path=grid.path,
        owner_enc=pii.encrypt(owner),
        owner_index=pii.blind_index(owner),
        phone_enc=pii.encrypt(phone),
        phone_index=pii.blind_index(phone),
        attributes=attributes,
    )


@transaction.atomic
def site_create(*, item: SiteInput) -> Site:
    site = site_prepare(item)
    site.save()
    scoring.scores_recompute(site_ids=[site.id])
    reinspections_plan(site_ids=[site.id])
    site.refresh_from_db()
    return site


# --- Checklists and answers -------------------------------------------------------------------


def checklist_for(*, scene: str) -> list[ChecklistItem]:
    return list(ChecklistItem.objects.filter(scene=scene, active=True).order_by("sort", "id"))


def _answers_clean(items: list[ChecklistItem], answers: dict) -> dict[str, str]:
    """Every item answered yes / no / na; anything else is refused per item."""
    if not isinstance(answers, dict):
        raise ApplicationError(
            _("提交的内容有误，请检查标出的字段。"), fields={"answers": [_("请逐项作答。")]}
        )
    errors: dict[str, list[str]] = {}
    clean = {}
    for item in items:
        value = str(answers.get(item.code, "")).strip().lower()
        if value not in ANSWERS:
            errors[f"answers.{item.code}"] = [_("请回答：%(q)s") % {"q": item.text}]
        else:
            clean[item.code] = value
    unknown = set(answers) - {i.code for i in items}
    if unknown:
        errors["answers"] = [_("不属于本场景的检查项：%(c)s") % {"c": "、".join(sorted(unknown))}]
    if errors:
        raise ApplicationError(_("请完成所有检查项。"), fields=errors)
    return clean


def _save_photos(*, site: Site, photos: list[CheckedPhoto], **owner) -> None:
    written = []
    try:
        for i, photo in enumerate(photos):
            p = Photo(site=site, content_type=photo.content_type, sha256=photo.sha256, **owner)
            photo.upload.seek(0)
            p.file.save(
                f"site{site.id}-{i + 1}.{photo.extension}",
                ContentFile(photo.upload.read()),
                save=False,
            )
            written.append(p)
            p.save()
    except BaseException:
        for p in written:
            p.file.storage.delete(p.file.name)
        raise


def _findings(items: list[ChecklistItem], answers: dict[str, str]) -> list[ChecklistItem]:
    return [i for i in items if answers.get(i.code) in (i.hazard_answers or [])]


def _hazard_open(*, site: Site, item: ChecklistItem, at, **found) -> Hazard:
    return Hazard.objects.create(
        site=site,
        item=item,
        description=item.text,
        level=item.hazard_level,
        found_at=at,
        due_at=at + timedelta(days=item.rectify_days),
        **found,
    )


@dataclass
class CheckResult:
    site: Site
    opened: list[Hazard]
    closed: list[Hazard]
    record: SelfCheck | Inspection


@transaction.atomic
def selfcheck_submit(
    *,
    site: Site,
    answers: dict,
    note: str = "",
    photos: list[CheckedPhoto] | None = None,
    client_ip: str | None = None,
) -> CheckResult:
    """The owner's self-check. A "no" becomes a hazard unless one is already open for that item;
    the owner cannot close hazards (only a staff re-inspection does)."""
    items = checklist_for(scene=site.scene)
    clean = _answers_clean(items, answers)
    if len(note or "") > MAX_NOTE:
        raise ApplicationError(
            _("说明不能超过 500 个字。"), fields={"note": [_("说明不能超过 500 个字。")]}
        )
    now = timezone.now()
    findings = _findings(items, clean)
    check = SelfCheck.objects.create(
        site=site,
        answers=clean,
        note=(note or "").strip(),
        findings=len(findings),
        client_ip=client_ip,
    )
    open_items = set(
        Hazard.objects.filter(site=site, status="open").values_list("item_id", flat=True)
    )
    opened = [
        _hazard_open(site=site, item=i, at=now, found_in_selfcheck=check)
        for i in findings
        if i.id not in open_items
    ]
    if photos:
        _save_photos(site=site, photos=photos, selfcheck=check)
    Site.objects.filter(id=site.id).update(last_selfcheck_at=now)
    scoring.scores_recompute(site_ids=[site.id])
    site.refresh_from_db()
    return CheckResult(site, opened, [], check)


@transaction.atomic
def inspection_submit(
    *,
    site: Site,
    inspector: User,
    answers: dict,
    note: str = "",
    photos: list[CheckedPhoto] | None = None,
    lng: float | None = None,
    lat: float | None = None,
) -> CheckResult:
    """A staff inspection. Findings open hazards (one per item at a time); an item answered safe
    whose hazard is open closes it (the re-inspection confirms the rectification). Open
    re-inspection tasks of the site are done by it."""
    items = checklist_for(scene=site.scene)
    clean = _answers_clean(items, answers)
    if len(note or "") > MAX_NOTE:
        raise ApplicationError(
            _("说明不能超过 500 个字。"), fields={"note": [_("说明不能超过 500 个字。")]}
        )
    point = None
    if lng is not None and lat is not None:
        try:
            point = Point(float(lng), float(lat), srid=4326)
        except (TypeError, ValueError):
            raise ApplicationError(_("坐标无效。"), fields={"location": [_("坐标无效。")]})
    now = timezone.now()
    task = (
        InspectionTask.objects.select_for_update()
        .filter(site=site, status__in=["pending", "overdue"])
        .first()
    )
    inspection = Inspection.objects.create(
        site=site,
        inspector=inspector,
        answers=clean,
        note=(note or "").strip(),
        location=point,
        at=now,
        task=task,
    )
    findings = {i.id for i in _findings(items, clean)}
    open_hazards = {
        h.item_id: h for h in Hazard.objects.select_for_update().filter(site=site, status="open")
    }
    opened, closed = [], []
    for item in items:
        hazard = open_hazards.get(item.id)
        if item.id in findings and hazard is None:
            opened.append(_hazard_open(site=site, item=item, at=now, found_in=inspection))
        elif item.id not in findings and hazard is not None and clean[item.code] == "yes":
            hazard.status, hazard.closed_at, hazard.closed_by = (
                Hazard.Status.RECTIFIED,
                now,
                inspection,
            )
            hazard.save(update_fields=["status", "closed_at", "closed_by"])
            closed.append(hazard)
    if photos:
        _save_photos(site=site, photos=photos, inspection=inspection)
    if task is not None:
        task.status, task.done_at, task.inspection = InspectionTask.Status.DONE, now, inspection
        task.save(update_fields=["status", "done_at", "inspection"])
    Site.objects.filter(id=site.id).update(last_inspection_at=now)
    scoring.scores_recompute(site_ids=[site.id])
    site.refresh_from_db()
    # The next re-inspection follows the new code at once (a site turned red is due tomorrow).
    reinspections_plan(site_ids=[site.id])
    return CheckResult(site, opened, closed, inspection)


# --- Appeals ---------------------------------------------------------------------------------


REVIEWER_ROLES = {User.Role.COMMANDER, User.Role.DISTRICT_ADMIN, User.Role.AREA_LEADER}


def appeal_submit(*, site: Site, reason: str) -> Appeal:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请填写申诉理由。"), fields={"reason": [_("请填写申诉理由。")]})
    if len(reason) > 1000:
        raise ApplicationError(
            _("申诉理由不能超过 1000 字。"), fields={"reason": [_("申诉理由不能超过 1000 字。")]}
        )
    if site.appeals.filter(status=Appeal.Status.PENDING).exists():
        raise ApplicationError(_("已有一件申诉正在复核，请耐心等待。"), status_code=409)
    return Appeal.objects.create(
        site=site,
        reason=reason,
        code_at_appeal=site.code,
        score_at_appeal=site.score,
        factors_at_appeal=site.factors,
    )


HOLD_DAYS = 30


@transaction.atomic
def appeal_decide(
    *, appeal_id: int, reviewer: User, upheld: bool, note: str, new_code: str = ""
) -> Appeal:
    """Decide an appeal. Upheld: the reviewer's code holds for HOLD_DAYS (shown as a factor);
    it ends earlier at the next inspection, which re-reads the site as it then is."""
    if reviewer.role not in REVIEWER_ROLES:
        raise ApplicationError(_("您没有复核申诉的权限。"), status_code=403)
    appeal = Appeal.objects.select_for_update().select_related("site").filter(id=appeal_id).first()
    if appeal is None:
        raise ApplicationError(_("没有找到这件申诉。"), status_code=404)
    if appeal.status != Appeal.Status.PENDING:
        raise ApplicationError(_("这件申诉已经复核过了。"), status_code=409)
    note = (note or "").strip()
    if not note:
        raise ApplicationError(_("请填写复核意见。"), fields={"note": [_("请填写复核意见。")]})
    if upheld and new_code not in Code.values:
        raise ApplicationError(
            _("请选择复核后的码色。"), fields={"new_code": [_("请选择红、黄或绿。")]}
        )
    now = timezone.now()
    appeal.status = Appeal.Status.UPHELD if upheld else Appeal.Status.REJECTED
    appeal.reviewer, appeal.decided_at, appeal.decision_note = reviewer, now, note
    appeal.new_code = new_code if upheld else ""
    appeal.save()
    if upheld:
        Site.objects.filter(id=appeal.site_id).update(
            override_code=new_code, override_until=now + timedelta(days=HOLD_DAYS)
        )
        scoring.scores_recompute(site_ids=[appeal.site_id])
    return appeal


# --- Re-inspection schedule ----------------------------------------------------------------------

PLAN_SQL = """
WITH workers AS (
    SELECT scope_id AS grid_id, array_agg(id ORDER BY id) AS ids
    FROM accounts_user
    WHERE role = 'grid_worker' AND is_active AND scope_id IS NOT NULL
    GROUP BY scope_id
), due AS (
    SELECT s.id AS site_id, s.code, s.grid_id,
           greatest(
             coalesce(s.last_inspection_at, s.created_at) +
               CASE s.code WHEN 'red' THEN interval '1 day'
                           WHEN 'yellow' THEN interval '7 days'
                           ELSE interval '30 days' END,
             now() + interval '1 hour') AS due_at
    FROM safetycode_site s
    WHERE TRUE {site_filter}
)
INSERT INTO safetycode_inspectiontask (site_id, assignee_id, code_at_plan, due_at, status, created_at)
SELECT d.site_id, w.ids[1 + d.site_id %% cardinality(w.ids)], d.code, d.due_at, 'pending', now()
FROM due d LEFT JOIN workers w ON w.grid_id = d.grid_id
ON CONFLICT (site_id) WHERE status IN ('pending', 'overdue') DO NOTHING
"""

# A site whose code worsened is pulled forward: its pending task is due by the new interval.
PULL_SQL = """
UPDATE safetycode_inspectiontask t
SET due_at = least(t.due_at, now() + CASE s.code WHEN 'red' THEN interval '1 day'
                                                 WHEN 'yellow' THEN interval '7 days'
                                                 ELSE interval '30 days' END),
    code_at_plan = s.code
FROM safetycode_site s
WHERE t.site_id = s.id AND t.status = 'pending' AND t.code_at_plan <> s.code {site_filter}
"""


def reinspections_plan(*, site_ids: list[int] | None = None) -> int:
    """Give every site without an open task its next re-inspection, due one interval (red 1 day,
    yellow 7, green 30) after its last inspection, assigned round-robin to the grid's workers;
    set-based, idempotent (one open task per site). Returns the tasks created."""
    params = {}
    site_filter = ""
    if site_ids is not None:
        params["ids"] = list(site_ids)
    with connection.cursor() as cursor:
        if site_ids is not None:
            site_filter = "AND s.id = ANY(%(ids)s)"
        cursor.execute(PULL_SQL.format(site_filter=site_filter), params)
        cursor.execute(PLAN_SQL.format(site_filter=site_filter), params)
        return cursor.rowcount


def tasks_mark_overdue() -> int:
    """A pending task past its due time becomes overdue (it stays open until an inspection)."""
    return InspectionTask.objects.filter(status="pending", due_at__lt=timezone.now()).update(
        status=InspectionTask.Status.OVERDUE
    )


# --- Overdue hazards → cases ----------------------------------------------------------------------


def hazards_escalate(*, limit: int = 500) -> list[int]:
    """Open a case (events.services.case_report, source "module") for each open hazard past its
    rectification deadline. Idempotent twice over: the case's external id is "hazard-<id>", and
    the hazard keeps the case id. Returns the case ids."""
    from events.services import Reporter, case_report, category_resolve

    category = category_resolve(code=HAZARD_CATEGORY_CODE)
    case_ids = []
    overdue = (
        Hazard.objects.filter(status="open", case_id__isnull=True, due_at__lt=timezone.now())
        .select_related("site")
        .order_by("due_at")[:limit]
    )
    for hazard in overdue:
        site = hazard.site
        with transaction.atomic():
            result = case_report(
                source="module",
                category=category,
                title=(_("逾期未整改隐患：%(s)s") % {"s": site.name})[:100],
                description=_(
                    "%(site)s（%(scene)s）的%(level)s“%(d)s”已超过整改期限 %(due)s，仍未整改。"
                )
                % {
                    "site": site.name,
                    "scene": site.get_scene_display(),
                    "level": hazard.get_level_display(),
                    "d": hazard.description,
                    "due": timezone.localtime(hazard.due_at).strftime("%Y-%m-%d %H:%M"),
                },
                lng=site.location.x,
                lat=site.location.y,
                address=site.address,
                reporter=Reporter(label=_("平安码")),
                external_id=f"hazard-{hazard.id}",
                grade=2 if hazard.level == "major" else 3,
                extra={"safety_site": site.id, "hazard": hazard.id},
            )
            Hazard.objects.filter(id=hazard.id).update(case_id=result.case.id)
        case_ids.append(result.case.id)
    if case_ids:
        scoring.scores_recompute(site_ids=list({h.site_id for h in overdue}))
    return case_ids
