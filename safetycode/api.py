"""JSON APIs of the safety codes: staff (field app, pages) under /api/safety/, the owner's
self-check by QR token (no login) under /api/safety/self/<token>."""

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import JsonResponse
from django.utils.translation import gettext as _
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import pii
from accounts.selectors import user_can
from cockpit.errors import ApplicationError
from events.media import MAX_PHOTOS, photos_check, upload_from_base64
from events.ratelimit import client_ip, rate_hit
from safetycode import selectors, services
from safetycode.models import ImportJob
from safetycode.scoring import factors_explained

SELFCHECK_RATE = "20/3600"  # per token and per IP: an owner submits a few times a day at most


def _data(request):
    return request.data


def _photos(request, data) -> list:
    uploads: list[UploadedFile] = list(request.FILES.getlist("photos")) if request.FILES else []
    if not uploads and hasattr(data, "get"):
        encoded = data.get("photos")
        if isinstance(encoded, str) and encoded:
            encoded = [encoded]
        if isinstance(encoded, list):
            uploads = [
                upload_from_base64(e, name=f"photo-{i + 1}")
                for i, e in enumerate(encoded[: MAX_PHOTOS + 1])
            ]
    return photos_check(uploads)


def _answers(request, data) -> dict:
    """Answers as a JSON object, or in a multipart form as "answers" (JSON text) or answer.<code>."""
    import json

    answers = data.get("answers") if hasattr(data, "get") else None
    if isinstance(answers, str):
        try:
            answers = json.loads(answers)
        except ValueError:
            raise ApplicationError(_("请逐项作答。"), fields={"answers": [_("格式不正确。")]})
    if answers is None and hasattr(data, "keys"):
        answers = {k[len("answer.") :]: data.get(k) for k in data.keys() if k.startswith("answer.")}
    return answers if isinstance(answers, dict) else {}


def _item(i) -> dict:
    return {
        "code": i.code,
        "text": i.text,
        "text_en": i.text_en,
        "weight": i.weight,
        "level": i.hazard_level,
    }


def _hazard(h) -> dict:
    return {
        "id": h.id,
        "item": h.item.code if h.item_id else None,
        "description": h.description,
        "level": h.level,
        "level_label": str(h.get_level_display()),
        "status": h.status,
        "found_at": h.found_at.isoformat(),
        "due_at": h.due_at.isoformat(),
        "closed_at": h.closed_at.isoformat() if h.closed_at else None,
        "case_id": h.case_id,
    }


def _result(result: services.CheckResult) -> dict:
    site = result.site
    return {
        "id": result.record.id,
        "site": {
            "id": site.id,
            "score": site.score,
            "code": site.code,
            "code_label": str(site.get_code_display()),
            "factors": factors_explained(site.factors),
        },
        "hazards_opened": [_hazard(h) for h in result.opened],
        "hazards_closed": [_hazard(h) for h in result.closed],
    }


# --- Staff ------------------------------------------------------------------------------------


class SiteListApi(APIView):
    """GET /api/safety/sites?grid=&scene=&code=&q=&limit=&offset= — sites in scope, riskiest first.
    POST — create one site (same checks as the importer)."""

    def get(self, request):
        p = request.query_params
        qs = selectors.sites_for(
            user=request.user,
            grid_id=p.get("grid"),
            scene=p.get("scene"),
            code=p.get("code"),
            q=p.get("q"),
        )
        limit = min(int(p.get("limit", 50) or 50), 500)
        offset = int(p.get("offset", 0) or 0)
        total = qs.count()
        return Response(
            {
                "count": total,
                "results": [
                    selectors.site_card(s, user=request.user) for s in qs[offset : offset + limit]
                ],
            }
        )

    def post(self, request):
        if not user_can(request.user, "case.dispatch") and request.user.role != "grid_leader":
            raise ApplicationError(_("您没有登记场所的权限。"), status_code=403)
        d = request.data
        item = services.SiteInput(
            name=d.get("name", ""),
            scene=d.get("scene", ""),
            credit_code=d.get("credit_code", ""),
            lng=d.get("lng"),
            lat=d.get("lat"),
            crs=d.get("crs", "wgs84"),
            address=d.get("address", ""),
            owner=d.get("owner", ""),
            phone=d.get("phone", ""),
            attributes=d.get("attributes") or {},
        )
        site = services.site_create(item=item)
        return Response(selectors.site_card(site, user=request.user), status=201)


class SiteGeoJsonApi(APIView):
    """GET /api/safety/sites.geojson — the map layer (filters as the list)."""

    def get(self, request):
        p = request.query_params
        return JsonResponse(
            selectors.sites_geojson(
                user=request.user,
                grid_id=p.get("grid"),
                scene=p.get("scene"),
                code=p.get("code"),
                q=p.get("q"),
            )
        )


class SiteDetailApi(APIView):
    def get(self, request, id: int):
        site = selectors.site_get_for(user=request.user, site_id=id)
        card = selectors.site_card(site, user=request.user)
        card["hazards"] = [_hazard(h) for h in selectors.hazards_of(site=site)]
        card["history"] = [
            {**e, "at": e["at"].isoformat()} for e in selectors.site_history(site=site)
        ]
        card["appeals"] = [
            {
                "id": a.id,
                "status": a.status,
                "reason": a.reason,
                "code_at_appeal": a.code_at_appeal,
                "factors_at_appeal": factors_explained(a.factors_at_appeal),
                "decision_note": a.decision_note,
            }
            for a in site.appeals.order_by("-submitted_at")
        ]
        return Response(card)


class SiteRevealApi(APIView):
    """POST /api/safety/sites/<id>/reveal — owner and phone in clear; allowed roles only, audited."""

    def post(self, request, id: int):
        site = selectors.site_get_for(user=request.user, site_id=id)
        target = f"safetycode.site:{site.id}"
        owner = pii.pii_reveal(
            user=request.user,
            value_enc=site.owner_enc,
            field="owner",
            target=target,
            request=request,
        )
        phone = pii.pii_reveal(
            user=request.user,
            value_enc=site.phone_enc,
            field="phone",
            target=target,
            request=request,
        )
        return Response({"owner": owner, "phone": phone})


class ChecklistApi(APIView):
    """GET /api/safety/sites/<id>/checklist — the scene's checklist and the open hazards."""

    def get(self, request, id: int):
        site = selectors.site_get_for(user=request.user, site_id=id)
        return Response(
            {
                "site": {"id": site.id, "name": site.name, "scene": site.scene, "code": site.code},
                "items": [_item(i) for i in services.checklist_for(scene=site.scene)],
                "answers": ["yes", "no", "na"],
                "open_hazards": [
                    _hazard(h) for h in site.hazards.filter(status="open").select_related("item")
                ],
            }
        )


class InspectionApi(APIView):
    """POST /api/safety/sites/<id>/inspections — answers {item: yes|no|na}, note, photos, lng/lat."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def post(self, request, id: int):
        site = selectors.site_get_for(user=request.user, site_id=id)
        if request.user.role not in {
            "grid_worker",
            "grid_leader",
            "handler",
            "area_leader",
            "commander",
            "district_admin",
        }:
            raise ApplicationError(_("您没有检查场所的权限。"), status_code=403)
        data = _data(request)
        photos = _photos(request, data)
        result = services.inspection_submit(
            site=site,
            inspector=request.user,
            answers=_answers(request, data),
            note=data.get("note", "") or "",
            photos=photos,
            lng=data.get("lng"),
            lat=data.get("lat"),
        )
        return Response(_result(result), status=201)


class TaskListApi(APIView):
    """GET /api/safety/tasks — my open re-inspections, overdue first."""

    def get(self, request):
        return Response(
            {
                "results": [
                    {
                        "id": t.id,
                        "site": {
                            "id": t.site_id,
                            "name": t.site.name,
                            "code": t.site.code,
                            "address": t.site.address,
                        },
                        "status": t.status,
                        "due_at": t.due_at.isoformat(),
                        "code_at_plan": t.code_at_plan,
                    }
                    for t in selectors.tasks_for(user=request.user)[:200]
                ]
            }
        )


class AppealDecideApi(APIView):
    """POST /api/safety/appeals/<id>/decide {upheld, note, new_code}."""

    def post(self, request, id: int):
        appeal = selectors.appeals_pending_for(user=request.user).filter(id=id).first()
        if appeal is None:
            raise ApplicationError(_("没有找到这件申诉。"), status_code=404)
        d = request.data
        upheld = str(d.get("upheld", "")).lower() in {"1", "true", "yes", "on"}
        appeal = services.appeal_decide(
            appeal_id=id,
            reviewer=request.user,
            upheld=upheld,
            note=d.get("note", ""),
            new_code=d.get("new_code", ""),
        )
        return Response({"id": appeal.id, "status": appeal.status})


class GridRiskApi(APIView):
    """GET /api/safety/grid-risk.geojson — the five-colour layer (五色图) in the user's scope."""

    def get(self, request):
        return JsonResponse(selectors.grid_risk_geojson(user=request.user))


class ImportCreateApi(APIView):
    """POST /api/safety/imports (multipart "file": .xlsx or .csv) → the job, queued."""

    parser_classes = [MultiPartParser]

    def post(self, request):
        if not (
            user_can(request.user, "case.dispatch") or user_can(request.user, "business.configure")
        ):
            raise ApplicationError(_("您没有导入场所的权限。"), status_code=403)
        upload = request.FILES.get("file")
        if upload is None:
            raise ApplicationError(
                _("请选择要导入的文件。"), fields={"file": [_("请选择要导入的文件。")]}
            )
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise ApplicationError(
                _("只支持 .xlsx 或 .csv 文件。"),
                fields={"file": [_("只支持 .xlsx 或 .csv 文件。")]},
            )
        job = ImportJob.objects.create(
            filename=upload.name[:200], data=upload.read(), created_by=request.user
        )
        from safetycode.tasks import sites_import_task

        transaction.on_commit(lambda: sites_import_task.delay(job.id))
        return Response(_job(job), status=202)


def _job(job: ImportJob) -> dict:
    return {
        "id": job.id,
        "filename": job.filename,
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "total": job.total,
        "processed": job.processed,
        "percent": 100
        if job.status in ("done", "failed")
        else (int(job.processed * 100 / job.total) if job.total else 0),
        "created": job.created,
        "errors": job.errors[:500],
        "error_count": len(job.errors),
    }


class ImportDetailApi(APIView):
    """GET /api/safety/imports/<id> — progress and the per-row error report (poll)."""

    def get(self, request, id: int):
        job = ImportJob.objects.filter(id=id, created_by=request.user).first()
        if job is None:
            raise ApplicationError(_("没有找到这个导入任务。"), status_code=404)
        return Response(_job(job))


# --- Owner's self-check (QR, no login) --------------------------------------------------------------


class _Public(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def site(self, request, token: str):
        site = services.qr_site(token=token)
        if site is None:
            raise ApplicationError(_("二维码无效或已作废，请联系网格员。"), status_code=404)
        return site

    def limit(self, request, token: str) -> None:
        origin = request.META.get("HTTP_ORIGIN") or ""
        if (
            origin
            and origin != f"{request.scheme}://{request.get_host()}"
            and origin not in settings.CSRF_TRUSTED_ORIGINS
        ):
            raise ApplicationError(_("请从本站页面提交。"), status_code=403)
        if rate_hit(scope="safety-self", key=token[-16:], limit=SELFCHECK_RATE) or rate_hit(
            scope="safety-self-ip", key=client_ip(request), limit="200/3600"
        ):
            raise ApplicationError(_("提交过于频繁，请稍后再试。"), status_code=429)


class SelfCheckApi(_Public):
    """GET /api/safety/self/<token> — the site's checklist; POST — submit the self-check."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get(self, request, token: str):
        site = self.site(request, token)
        return Response(
            {
                "site": {
                    "name": site.name,
                    "scene_label": str(site.get_scene_display()),
                    "code": site.code,
                    "code_label": str(site.get_code_display()),
                    "factors": factors_explained(site.factors),
                },
                "items": [_item(i) for i in services.checklist_for(scene=site.scene)],
            }
        )

    def post(self, request, token: str):
        site = self.site(request, token)
        self.limit(request, token)
        data = _data(request)
        photos = _photos(request, data)
        result = services.selfcheck_submit(
            site=site,
            answers=_answers(request, data),
            note=data.get("note", "") or "",
            photos=photos,
            client_ip=client_ip(request) or None,
        )
        body = _result(result)
        body["site"].pop("id", None)
        return Response(body, status=201)


class SelfAppealApi(_Public):
    """POST /api/safety/self/<token>/appeal {reason} — the owner appeals the code."""

    def post(self, request, token: str):
        site = self.site(request, token)
        self.limit(request, token)
        appeal = services.appeal_submit(site=site, reason=request.data.get("reason", ""))
        return Response({"id": appeal.id, "status": appeal.status}, status=201)
