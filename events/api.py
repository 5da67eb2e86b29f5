"""The case APIs: staff (session), residents (随手拍 and tracking, no login) and the webhooks
of the machine sources (per-source API key). One view per operation; the rules live in
events.services and events.workflow, the reads in events.selectors."""

import json
import math
from datetime import datetime

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import FileResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import CSRFCheck, SessionAuthentication
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import pii
from accounts.auth import HasSourceKey, SourceKeyAuthentication
from accounts.selectors import user_can
from cockpit.checks import BOOLEAN, CHOICE, DATETIME, INTEGER, NUMBER, TEXT, Field, check
from cockpit.checks import number as _number
from cockpit.checks import text as _text
from cockpit.errors import ApplicationError, _as_list, error_response, serializer_check
from events import selectors, services
from events.deadlines import case_timers
from events.intake import SOURCES, intake_items, intake_parse
from events.live import choice_label
from events.media import MAX_PHOTO_BYTES, MAX_PHOTOS, photos_check, upload_from_base64
from events.models import Case, CaseLog, Category, HotlineOrder
from events.ratelimit import client_ip, rate_hit
from events.workflow import TRANSITIONS, action_label, action_permitted, actions_for
from grids.coords import to_storage_point

ARRIVE_WARNING_M = 200
STAFF_SOURCES = ("worker", "patrol", "superior", "12345")
CENTRE_SOURCES = ("superior", "12345")
RATING_LABELS = {"满意": "satisfied", "基本满意": "basic", "不满意": "unsatisfied"}


# --- helpers ---------------------------------------------------------------------------------


def _invalid(errors: dict) -> ApplicationError:
    return ApplicationError(
        _("提交的内容有误，请检查标出的字段。"), fields={k: _as_list(v) for k, v in errors.items()}
    )


def _validated(serializer_class, data, **kwargs) -> dict:
    if not kwargs:
        return serializer_check(serializer_class, data)
    serializer = serializer_class(data=data, **kwargs)
    if not serializer.is_valid():
        raise _invalid(serializer.errors)
    return serializer.validated_data


# The largest body any endpoint here takes: MAX_PHOTOS photos of 10 MB and the form around them.
MAX_BODY_BYTES = MAX_PHOTOS * MAX_PHOTO_BYTES + 2 * 1024 * 1024


def _request_data(request):
    """request.data, with a body over DATA_UPLOAD_MAX_MEMORY_SIZE answered 413, not 400. A body
    declared larger than MAX_BODY_BYTES is refused before it is read, so oversized uploads are
    never spooled to disk (Django would stream big files to temporary files first)."""
    _body_size_check(request)
    try:
        return request.data
    except RequestDataTooBig:
        raise _too_big() from None


def _body_size_check(request) -> None:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise ApplicationError(
            _("提交的内容过大。"),
            fields={"photos": [_("照片每张不能超过 10 MB，最多 %(n)d 张。") % {"n": MAX_PHOTOS}]},
            status_code=413,
        )


def _too_big() -> ApplicationError:
    return ApplicationError(
        _("提交的内容过大。"),
        fields={"non_field_errors": [_("请求体过大，照片请用 multipart 上传。")]},
        status_code=413,
    )


def _photos(
    request, data, *, field: str = "photos", required: bool = False, max_count: int = MAX_PHOTOS
):
    """Checked photos from a multipart upload or, in JSON, a list of base64 strings/data URLs."""
    uploads = list(request.FILES.getlist(field)) if request.FILES else []
    if not uploads and hasattr(data, "get"):
        encoded = data.get(field)
        if isinstance(encoded, str) and encoded:
            encoded = [encoded]
        if isinstance(encoded, list):
            if len(encoded) > max_count:
                raise ApplicationError(
                    _("最多上传 %(n)d 张照片。") % {"n": max_count},
                    fields={field: [_("最多 %(n)d 张。") % {"n": max_count}]},
                )
            uploads = [
                upload_from_base64(e, name=f"photo-{i + 1}", field=field)
                for i, e in enumerate(encoded)
            ]
    if required and not uploads:
        raise ApplicationError(
            _("请上传 1～%(n)d 张照片。") % {"n": max_count}, fields={field: [_("至少 1 张照片。")]}
        )
    return photos_check(uploads, field=field, max_count=max_count)


def _foreign_action_id():
    """A replayed client_action_id answers with the first case only to whoever filed it: the id
    of someone else's action must not reveal their case."""
    raise ApplicationError(
        _("操作编号已被其他事件使用。"),
        fields={"client_action_id": [_("重复的操作编号。")]},
        status_code=409,
    )


def _point(d: dict):
    if d.get("lng") is None or d.get("lat") is None:
        return None
    return to_storage_point(d["lng"], d["lat"], d.get("crs") or "wgs84")


def _distance_m(a, b) -> float:
    """Great-circle distance between two WGS84 points (haversine; metres)."""
    lng1, lat1, lng2, lat2 = map(math.radians, (a.x, a.y, b.x, b.y))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _reporter_phone_masked(case: Case) -> str:
    if not case.reporter_phone_enc:
        return ""
    try:
        return pii.mask_phone(pii.decrypt(case.reporter_phone_enc))
    except Exception:  # a key rotated away: show that there is a number, not what it is
        return "***"


def case_summary(case: Case) -> dict:
    """A case in lists and action answers."""
    point = case.location
    return {
        "id": case.id,
        "number": case.number,
        "source": case.source,
        "source_label": choice_label(Case.Source, case.source),
        "category": {
            "id": case.category_id,
            "code": case.category.code,
            "kind": case.category.kind,
            "name": case.category.name,
            "name_en": case.category.name_en,
        },
        "grade": case.grade,
        "grade_label": choice_label(Category.Grade, case.grade),
        "title": case.title,
        "status": case.status,
        "status_label": choice_label(Case.Status, case.status),
        "address": case.address,
        "lng": point.x if point else None,
        "lat": point.y if point else None,
        "grid": {"id": case.grid_id, "code": case.grid.code, "name": case.grid.name}
        if case.grid_id
        else None,
        "outside_jurisdiction": case.outside_jurisdiction,
        "handler": {"id": case.handler_id, "name": str(case.handler)} if case.handler_id else None,
        "reported_at": _iso(case.reported_at),
        "register_due": _iso(case.register_due),
        "accept_due": _iso(case.accept_due),
        "arrive_due": _iso(case.arrive_due),
        "resolve_due": _iso(case.resolve_due),
        "escalation_level": case.escalation_level,
    }


def _entry(entry: CaseLog) -> dict:
    point = entry.location
    return {
        "id": entry.id,
        "at": _iso(entry.at),
        "action": entry.action,
        "action_label": action_label(entry.action),
        "actor": str(entry.actor) if entry.actor_id else entry.actor_label,
        "actor_id": entry.actor_id,
        "from_status": entry.from_status,
        "to_status": entry.to_status,
        "note": entry.note,
        "lng": point.x if point else None,
        "lat": point.y if point else None,
        "data": entry.data,
        "client_action_id": entry.client_action_id,
    }


# --- staff: cases ----------------------------------------------------------------------------


class CaseListApi(APIView):
    """GET /api/cases/ — the cases the user may see, newest first, filtered and paginated."""

    class FilterSerializer(serializers.Serializer):
        status = serializers.CharField(required=False)
        source = serializers.CharField(required=False)
        category = serializers.CharField(required=False)
        grid = serializers.IntegerField(required=False)
        overdue = serializers.BooleanField(required=False, allow_null=True, default=None)
        q = serializers.CharField(required=False, max_length=100)

        def validate_status(self, value):
            values = [v for v in value.split(",") if v]
            unknown = [v for v in values if v not in Case.Status.values]
            if unknown:
                raise serializers.ValidationError(_("未知的状态：%(s)s") % {"s": ",".join(unknown)})
            return values

        def validate_source(self, value):
            values = [v for v in value.split(",") if v]
            unknown = [v for v in values if v not in Case.Source.values]
            if unknown:
                raise serializers.ValidationError(_("未知的来源：%(s)s") % {"s": ",".join(unknown)})
            return values

    class Pagination(LimitOffsetPagination):
        default_limit = 50
        max_limit = 200

    def get(self, request):
        filters = _validated(self.FilterSerializer, request.query_params)
        if "overdue" not in request.query_params:
            filters["overdue"] = None
        cases = selectors.case_search_for(user=request.user, **filters)
        paginator = self.Pagination()
        page = paginator.paginate_queryset(cases, request, view=self)
        return paginator.get_paginated_response([case_summary(c) for c in page])


STAFF_REPORT = {
    "source": Field(CHOICE, choices=STAFF_SOURCES, default="worker"),
    "category": Field(TEXT, required=True),
    "description": Field(TEXT),
    "title": Field(TEXT),
    "grade": Field(INTEGER),
    "lng": Field(NUMBER),
    "lat": Field(NUMBER),
    "crs": Field(CHOICE, choices=("wgs84", "gcj02"), default="wgs84"),
    "address": Field(TEXT),
    "client_action_id": Field(TEXT, max_length=64),
    # a 12345 order entered by an operator
    "order_no": Field(TEXT, max_length=64),
    "appeal_type": Field(CHOICE, choices=tuple(HotlineOrder.AppealType.values)),
    "channel": Field(TEXT, max_length=16),
    "anonymous": Field(BOOLEAN, default=False),
    "confidential": Field(BOOLEAN, default=False),
    "due_at": Field(DATETIME),
    "reporter_name": Field(TEXT, max_length=64),
    "reporter_phone": Field(TEXT, max_length=32),
}


def staff_report_input(data) -> dict:
    """A staff report (patrol, superior assignment, 12345 order), checked by hand
    (cockpit.checks) like the resident form: every field at fault in one 400."""
    if not hasattr(data, "get"):
        raise _invalid({"non_field_errors": [_("请提交表单或 JSON 对象。")]})
    errors: dict[str, list[str]] = {}
    d = check(data, STAFF_REPORT, errors)
    if d["source"] == "12345":
        if not d["order_no"] and "order_no" not in errors:
            errors["order_no"] = [_("12345 工单须填写工单号。")]
        if not d["appeal_type"] and "appeal_type" not in errors:
            errors["appeal_type"] = [_("请选择诉求类型。")]
    if errors:
        raise _invalid(errors)
    return d


class CaseCreateApi(APIView):
    """POST /api/cases/ — a grid worker's patrol report, a superior assignment or a 12345 order
    entered by an operator (multipart with photos, or JSON)."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def post(self, request):
        body, code = self.report(request, _request_data(request), request.user)
        return Response(body, status=code)

    @staticmethod
    def report(request, data, user) -> tuple[dict, int]:
        """The answer's body and status (this view's, and staff_report's without DRF)."""
        d = staff_report_input(data)
        if d["source"] in CENTRE_SOURCES and not user_can(user, "case.dispatch"):
            raise ApplicationError(
                _("只有坐席员、指挥长可以录入上级指派或 12345 工单。"), status_code=403
            )
        if user.scope_id is None or user.role in ("sys_admin", "sec_admin", "audit_admin"):
            raise ApplicationError(_("您没有上报事件的权限。"), status_code=403)
        category = services.category_resolve(code=d["category"])
        photos = _photos(request, data)
        hotline = None
        reporter = services.Reporter(user=user)
        external_id = ""
        if d["source"] == "12345":
            external_id = d["order_no"]
            hotline = {
                "order_no": d["order_no"],
                "appeal_type": d["appeal_type"],
                "channel": d.get("channel") or "",
                "anonymous": d["anonymous"],
                "confidential": d["confidential"],
                "due_at": d.get("due_at"),
            }
            reporter.name, reporter.phone = d["reporter_name"], d["reporter_phone"]
        result = services.case_report(
            source=d["source"],
            category=category,
            description=d["description"],
            title=d["title"],
            grade=d.get("grade"),
            lng=d.get("lng"),
            lat=d.get("lat"),
            crs=d["crs"],
            address=d["address"],
            photos=photos,
            reporter=reporter,
            external_id=external_id,
            hotline=hotline,
            client_action_id=d["client_action_id"] or None,
        )
        if (
            not result.created
            and d["client_action_id"]
            and not (external_id and result.case.external_id == external_id)  # the same order
            and result.case.reporter_user_id != user.id
        ):
            _foreign_action_id()
        body = {
            **case_summary(result.case_view),
            "created": result.created,
            "warnings": [str(w) for w in result.warnings],
        }
        return body, status.HTTP_201_CREATED if result.created else status.HTTP_200_OK


def staff_report(request) -> JsonResponse:
    """POST /api/cases/ as a plain Django view (CaseCollectionApi.dispatch sends it here): DRF's
    request cycle was a sixth of a grid worker's report's CPU. It checks what DRF's
    SessionAuthentication and IsAuthenticated would (a logged-in, active user; then the CSRF
    token) and answers as CaseCreateApi does, errors in the one error body."""
    try:
        user = request.user
        if not user.is_authenticated:
            raise ApplicationError(str(exceptions.NotAuthenticated.default_detail), status_code=403)
        reason = CSRFCheck(_never_called).process_view(request, None, (), {})
        if reason:
            raise ApplicationError(f"CSRF Failed: {reason}", status_code=403)
        body, code = CaseCreateApi.report(request, _plain_data(request), user)
    except ApplicationError as exc:
        return error_response(exc)
    return JsonResponse(body, status=code, json_dumps_params={"ensure_ascii": False})


def _never_called(request):  # CSRFCheck is a middleware: it needs a get_response
    raise AssertionError


class CaseDetailApi(APIView):
    """GET /api/cases/<id>/ — the case with its full timeline, photos, deadlines and the actions
    this user can take. The reporter's phone is masked (reveal-phone shows it, audited)."""

    def get(self, request, id: int):
        case = selectors.case_get_for(user=request.user, id=id)
        entries = list(selectors.case_log(case=case))
        attachments = list(selectors.case_attachments(case=case))
        hotline = selectors.hotline_order(case=case)
        pending = selectors.extension_pending(case=case)
        photos_by_entry: dict[int, list[int]] = {}
        for a in attachments:
            photos_by_entry.setdefault(a.log_id, []).append(a.id)
        confidential = bool(hotline and hotline.confidential)
        body = {
            **case_summary(case),
            "external_id": case.external_id,
            "description": case.description,
            "src_crs": case.src_crs,
            "category": {**case_summary(case)["category"], "major_name": case.category.major_name},
            "reporter": {
                "user": str(case.reporter_user) if case.reporter_user_id else None,
                "name": pii.mask_name(case.reporter_name)
                if (confidential or not case.reporter_user_id)
                else case.reporter_name,
                "phone": _reporter_phone_masked(case),
                "phone_revealable": bool(case.reporter_phone_enc) and not confidential,
            },
            "merged_into": case.merged_into.number if case.merged_into_id else None,
            "routing": case.routing,
            "extra": case.extra,
            "times": {
                f: _iso(getattr(case, f))
                for f in (
                    "reported_at",
                    "registered_at",
                    "dispatched_at",
                    "accepted_at",
                    "arrived_at",
                    "resolved_at",
                    "verified_at",
                    "closed_at",
                )
            },
            "deadlines": [
                {**t, "started": _iso(t["started"]), "due": _iso(t["due"]), "done": _iso(t["done"])}
                for t in case_timers(case, timezone.now())
            ],
            "parked_until": case.parked_until.isoformat() if case.parked_until else None,
            "rating": case.rating,
            "rating_label": case.get_rating_display() if case.rating else "",
            "rating_comment": case.rating_comment,
            "hotline": None
            if hotline is None
            else {
                "order_no": hotline.order_no,
                "appeal_type": hotline.appeal_type,
                "appeal_type_label": hotline.get_appeal_type_display(),
                "channel": hotline.channel,
                "anonymous": hotline.anonymous,
                "confidential": hotline.confidential,
                "due_at": _iso(hotline.due_at),
                "callback_at": _iso(hotline.callback_at),
                "callback_method": hotline.callback_method,
                "callback_result": hotline.callback_result,
                "callback_satisfaction": hotline.callback_satisfaction,
                "resolved": hotline.resolved_flag,
            },
            "extension_pending": None
            if pending is None
            else {
                "id": pending.id,
                "new_due": _iso(pending.new_due),
                "reason": pending.reason,
                "requested_by": str(pending.requested_by),
                "requested_at": _iso(pending.requested_at),
            },
            "photos": [
                {
                    "id": a.id,
                    "stage": a.stage,
                    "log_id": a.log_id,
                    "url": f"/api/cases/{case.id}/photos/{a.id}",
                    "content_type": a.content_type,
                    "width": a.width,
                    "height": a.height,
                    "size": a.size,
                }
                for a in attachments
            ],
            "timeline": [{**_entry(e), "photos": photos_by_entry.get(e.id, [])} for e in entries],
            "allowed_actions": actions_for(
                request.user, case, pending_extension=pending is not None
            ),
        }
        return Response(body)


class CaseRevealPhoneApi(APIView):
    """POST /api/cases/<id>/reveal-phone — the reporter's phone in clear; every reveal audited."""

    def post(self, request, id: int):
        case = selectors.case_get_for(user=request.user, id=id)
        phone = services.reporter_phone_reveal(case=case, user=request.user, request=request)
        return Response({"phone": phone})


class CasePhotoApi(APIView):
    """GET /api/cases/<id>/photos/<photo_id> — a photo of a case the user may see."""

    def get(self, request, id: int, photo_id: int):
        attachment = selectors.attachment_get_for(
            user=request.user, case_id=id, attachment_id=photo_id
        )
        response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
        response["Cache-Control"] = "private, max-age=3600"
        return response


class CaseActionApi(APIView):
    """POST /api/cases/<id>/actions/<action> — one lifecycle step by a staff member.

    register / reject / verify / rework / close / park / unpark / merge and the decision on an
    extension belong to the command centre; accept / arrive / resolve / return and the
    extension request to the case's handler; note and reply to anyone who sees the case.
    A repeated client_action_id answers with the first result."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]
    ACTIONS = (
        "register", "reject", "accept", "arrive", "resolve", "return", "verify", "rework", "close",
        "park", "unpark", "merge", "note", "reply", "extension_request", "extension_approve", "extension_refuse",
    )  # fmt: skip
    PUBLIC_NOTE_ACTIONS = ("reject", "resolve", "close", "verify")

    class InputSerializer(serializers.Serializer):
        client_action_id = serializers.CharField(
            required=False, allow_blank=True, max_length=64, default=""
        )
        note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
        public_note = serializers.CharField(
            required=False, allow_blank=True, max_length=500, default=""
        )
        lng = serializers.FloatField(required=False, allow_null=True)
        lat = serializers.FloatField(required=False, allow_null=True)
        crs = serializers.ChoiceField(choices=["wgs84", "gcj02"], default="wgs84")
        accuracy = serializers.FloatField(required=False, allow_null=True, min_value=0)
        until = serializers.DateField(required=False, allow_null=True)  # park
        into = serializers.CharField(
            required=False, allow_blank=True, max_length=24, default=""
        )  # merge
        new_due = serializers.DateTimeField(required=False, allow_null=True)  # extension_request

    def post(self, request, id: int, action: str):
        action = action.replace("-", "_")
        if action == "dispatch":
            raise ApplicationError(_("派遣请使用 /api/cases/<id>/dispatch。"), status_code=404)
        if action not in self.ACTIONS:
            raise ApplicationError(
                _("未知的操作：%(a)s") % {"a": action},
                fields={"action": [_("未知的操作。")]},
                status_code=404,
            )
        user = request.user
        case = selectors.case_get_for(user=user, id=id)
        if not action_permitted(user, case, action):
            raise ApplicationError(
                _("您不能对此事件执行“%(a)s”。") % {"a": action_label(action)}, status_code=403
            )
        data = _request_data(request)
        d = _validated(self.InputSerializer, data)
        client_action_id = d["client_action_id"] or None
        if client_action_id:
            done = CaseLog.objects.filter(client_action_id=client_action_id).first()
            if done is not None and done.case_id == case.id:
                # The phone sent it again (no answer reached it): the first result, unchanged.
                return self._answer(case.id, done, [])
        location = _point(d)
        warnings: list[str] = []
        note = d["note"].strip()
        entry_data = {}
        if d["public_note"] and action in self.PUBLIC_NOTE_ACTIONS:
            entry_data["public_note"] = d["public_note"].strip()
        if d.get("accuracy") is not None:
            entry_data["accuracy_m"] = d["accuracy"]
        common = {"case_id": case.id, "actor": user, "client_action_id": client_action_id}

        if action in ("note", "reply"):
            if not note:
                raise ApplicationError(_("请填写内容。"), fields={"note": [_("请填写内容。")]})
            entry = services.case_note(
                action=action, note=note, data=entry_data, location=location, **common
            )
        elif action == "merge":
            into = (
                selectors.case_get_by_number_for(user=user, number=d["into"].strip())
                if d["into"].strip()
                else None
            )
            if into is None:
                raise ApplicationError(
                    _("请填写要并入的事件编号。"), fields={"into": [_("请填写事件编号。")]}
                )
            if not note:
                raise ApplicationError(
                    _("请填写理由。"), fields={"note": [_("此操作需要填写理由。")]}
                )
            entry = services.case_merge(
                case_id=case.id,
                into_id=into.id,
                actor=user,
                reason=note,
                client_action_id=client_action_id,
            )
        elif action == "extension_request":
            if d.get("new_due") is None:
                raise ApplicationError(
                    _("请填写申请延至的时间。"), fields={"new_due": [_("必填。")]}
                )
            ext = services.extension_request(
                case_id=case.id,
                actor=user,
                new_due=d["new_due"],
                reason=note,
                client_action_id=client_action_id,
            )
            entry = (
                CaseLog.objects.filter(
                    case_id=case.id, action="extension_request", data__request=ext.id
                )
                .order_by("id")
                .first()
            )
        elif action in ("extension_approve", "extension_refuse"):
            pending = selectors.extension_pending(case=case)
            if pending is None:
                raise ApplicationError(_("没有待审批的延期申请。"), status_code=409)
            services.extension_decide(
                request_id=pending.id,
                actor=user,
                approve=action == "extension_approve",
                note=note,
                client_action_id=client_action_id,
            )
            entry = CaseLog.objects.filter(case_id=case.id, action=action).order_by("-id").first()
        else:
            updates = {}
            photos = None
            if action == "accept" and case.handler_id is None:
                updates["handler"] = user  # a field member claims a case sent to their unit
            if action == "park":
                updates["parked_until"] = d.get("until")
            if action == "unpark":
                updates["parked_until"] = None
            if action == "arrive":
                if location is None:
                    raise ApplicationError(
                        _("到场须提供当前位置。"),
                        fields={"location": [_("请开启定位后再点“到场”。")]},
                    )
                if case.location is not None:
                    distance = _distance_m(location, case.location)
                    entry_data["distance_m"] = round(distance)
                    if distance > ARRIVE_WARNING_M:
                        warnings.append(
                            _("您的位置距事发地约 %(d)d 米，请确认已到达现场。")
                            % {"d": round(distance)}
                        )
            if action == "resolve":
                if not note:
                    raise ApplicationError(
                        _("请填写处置情况。"), fields={"note": [_("请填写处置情况。")]}
                    )
                photos = _photos(request, data, required=True)
            if TRANSITIONS[action].needs_note and not note:
                raise ApplicationError(
                    _("请填写理由。"), fields={"note": [_("此操作需要填写理由。")]}
                )
            entry = services.case_transition(
                action=action,
                note=note,
                location=location,
                data=entry_data,
                updates=updates,
                photos=photos,
                **common,
            )
            if action == "arrive" and entry.client_action_id == client_action_id:
                self._record_position(user, d)
        return self._answer(case.id, entry, warnings)

    @staticmethod
    def _record_position(user, d: dict) -> None:
        # Arriving is also a position fix for the forces map; a failure there is not the arrival's.
        try:
            from grids.services import position_record

            transaction.on_commit(
                lambda: position_record(
                    staff=user,
                    lng=d["lng"],
                    lat=d["lat"],
                    crs=d["crs"],
                    accuracy_m=d.get("accuracy"),
                )
            )
        except ImportError:
            pass

    def _answer(self, case_id: int, entry: CaseLog, warnings: list[str]) -> Response:
        case = Case.objects.select_related("category", "grid", "handler").get(id=case_id)
        return Response(
            {
                "entry": _entry(entry),
                "case": case_summary(case),
                "warnings": [str(w) for w in warnings],
            }
        )


class HotlineCallbackApi(APIView):
    """POST /api/cases/<id>/hotline-callback — 12345 回访 (time, method, result, satisfaction)."""

    class InputSerializer(serializers.Serializer):
        at = serializers.DateTimeField(required=False, allow_null=True)
        method = serializers.CharField(max_length=16)
        result = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
        satisfaction = serializers.CharField()
        resolved = serializers.BooleanField(required=False, allow_null=True, default=None)
        client_action_id = serializers.CharField(
            required=False, allow_blank=True, max_length=64, default=""
        )

        def validate_satisfaction(self, value):
            value = RATING_LABELS.get(value.strip(), value.strip())
            if value not in Case.Rating.values:
                raise serializers.ValidationError(_("请选择满意、基本满意或不满意。"))
            return value

    def post(self, request, id: int):
        case = selectors.case_get_for(user=request.user, id=id)
        if not action_permitted(request.user, case, "callback"):
            raise ApplicationError(_("只有坐席员、指挥长可以登记回访。"), status_code=403)
        d = _validated(self.InputSerializer, _request_data(request))
        order = services.hotline_callback_record(
            case_id=case.id,
            actor=request.user,
            at=d.get("at") or timezone.now(),
            method=d["method"],
            result=d["result"],
            satisfaction=d["satisfaction"],
            resolved=d["resolved"],
            client_action_id=d["client_action_id"] or None,
        )
        return Response(
            {
                "order_no": order.order_no,
                "callback_at": _iso(order.callback_at),
                "callback_method": order.callback_method,
                "callback_result": order.callback_result,
                "callback_satisfaction": order.callback_satisfaction,
                "resolved": order.resolved_flag,
            }
        )


class CategoryListApi(APIView):
    """GET /api/categories — the resident short list (with icons), or every active category for
    staff (``?resident=1`` gives staff the short list too)."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny]

    def get(self, request):
        staff = request.user.is_authenticated and request.query_params.get("resident") not in (
            "1",
            "true",
        )
        qs = (
            Category.objects.filter(active=True).order_by("sort", "kind", "code")
            if staff
            else selectors.categories_for_residents()
        )
        return Response(
            [
                {
                    "id": c.id,
                    "code": c.code,
                    "kind": c.kind,
                    "name": c.name,
                    "name_en": c.name_en,
                    "major_name": c.major_name,
                    "icon": c.icon,
                    "grade": c.default_grade,
                    "legacy_code": c.legacy_code,
                    "local": c.is_local_extension,
                }
                for c in qs
            ]
        )


# --- residents: 随手拍 and tracking (no login) --------------------------------------------------


def _same_origin(request) -> None:
    """The resident endpoints are CSRF-exempt (no session to ride on), but a browser on another
    site must not post into them: an Origin (or, lacking it, a Referer) must be ours."""
    origin = request.META.get("HTTP_ORIGIN") or ""
    if not origin:
        referer = request.META.get("HTTP_REFERER") or ""
        if referer:
            scheme, _sep, rest = referer.partition("://")
            origin = f"{scheme}://{rest.split('/', 1)[0]}"
    if not origin:
        return  # not a browser (apps, scripts): nothing to protect against here
    ours = f"{request.scheme}://{request.get_host()}"
    if origin != ours and origin not in settings.CSRF_TRUSTED_ORIGINS:
        raise ApplicationError(_("请从本站页面提交。"), status_code=403)


def _limit(request, *, phone: str = "") -> None:
    if rate_hit(scope="report-ip", key=client_ip(request), limit=settings.REPORT_RATE_PER_IP):
        raise ApplicationError(_("提交太频繁，请稍后再试。"), status_code=429)
    if phone:
        try:
            normalized = pii.normalize_mobile(phone)
        except Exception:
            return  # the service answers the bad number with a field message
        if rate_hit(
            scope="report-phone",
            key=pii.blind_index(normalized),
            limit=settings.REPORT_RATE_PER_PHONE,
        ):
            raise ApplicationError(
                _("该手机号提交太频繁，请稍后再试。"),
                fields={"phone": [_("提交太频繁，请稍后再试。")]},
                status_code=429,
            )


def resident_input(data) -> dict:
    """The 随手拍 form (JSON or multipart), checked field by field: {category, description, lng,
    lat, crs, accuracy, address, phone, client_action_id}. Every field at fault is named in one
    400. Written out by hand rather than as a DRF serializer: this is the busiest endpoint, and
    the serializer cost more than the rest of the request's Python together. What the service
    checks anyway (place, length of the words, the phone's form) is left to it."""
    if not hasattr(data, "get"):
        raise _invalid({"non_field_errors": [_("请提交表单或 JSON 对象。")]})
    errors: dict[str, list[str]] = {}
    category = _text(data.get("category"), field="category", errors=errors)
    if not category and "category" not in errors:
        errors["category"] = [_("请选择事件类别。")]
    crs = _text(data.get("crs"), field="crs", errors=errors).lower() or "wgs84"
    if crs not in ("wgs84", "gcj02"):
        errors["crs"] = [_("坐标系只能是 wgs84 或 gcj02。")]
    d = {
        "category": category,
        "description": _text(data.get("description"), field="description", errors=errors),
        "lng": _number(data.get("lng"), field="lng", errors=errors),
        "lat": _number(data.get("lat"), field="lat", errors=errors),
        "crs": crs,
        "accuracy": _number(data.get("accuracy"), field="accuracy", errors=errors, minimum=0),
        "address": _text(data.get("address"), field="address", errors=errors),
        "phone": _text(data.get("phone"), field="phone", errors=errors, max_length=32),
        "client_action_id": _text(
            data.get("client_action_id"), field="client_action_id", errors=errors, max_length=64
        ),
    }
    if errors:
        raise _invalid(errors)
    return d


class _ResidentApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


@csrf_exempt
def resident_report(request):
    """POST /api/report — 随手拍: 1–3 photos, a place, a category, words, an optional phone.

    A plain Django view, not a DRF APIView: this is the busiest endpoint, and DRF's request
    cycle (content negotiation, parsers, renderers) was a sixth of its CPU. It answers the same
    bodies: the case's number and tracking link, or {"message", "fields"} with the status."""
    try:
        if request.method != "POST":
            raise ApplicationError(_("只接受 POST 请求。"), status_code=405)
        return _resident_report(request)
    except ApplicationError as exc:
        return error_response(exc)


def _plain_data(request):
    """The body of a plain view's request: JSON, multipart or a form (see _request_data)."""
    _body_size_check(request)
    content_type = request.content_type
    try:
        if content_type == "application/json":
            try:
                return json.loads(request.body or b"null")
            except ValueError:
                raise ApplicationError(
                    _("JSON 格式不对。"), fields={"non_field_errors": [_("JSON 格式不对。")]}
                ) from None
        if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            try:
                return request.POST
            except MultiPartParserError:
                raise ApplicationError(
                    _("表单格式不对。"), fields={"non_field_errors": [_("表单格式不对。")]}
                ) from None
    except RequestDataTooBig:
        raise _too_big() from None
    raise ApplicationError(
        _("不支持的内容类型：%(t)s。") % {"t": content_type or "-"}, status_code=415
    )


def _resident_report(request) -> JsonResponse:
    _same_origin(request)
    data = _plain_data(request)
    phone = data.get("phone", "") if hasattr(data, "get") else ""
    _limit(request, phone=phone if isinstance(phone, str) else "")
    d = resident_input(data)
    category = services.category_resolve(code=d["category"])
    photos = _photos(request, data)
    if not photos and not d["description"].strip():
        raise ApplicationError(
            _("请拍照或描述问题。"), fields={"photos": [_("请至少上传 1 张照片或填写描述。")]}
        )
    extra = {"accuracy_m": d["accuracy"]} if d.get("accuracy") is not None else {}
    extra["user_agent"] = request.META.get("HTTP_USER_AGENT", "")[:200]
    result = services.case_report(
        source=Case.Source.RESIDENT,
        category=category,
        description=d["description"],
        lng=d.get("lng"),
        lat=d.get("lat"),
        crs=d["crs"],
        address=d["address"],
        photos=photos,
        reporter=services.Reporter(phone=d["phone"], label=_("市民")),
        extra=extra,
        client_action_id=d["client_action_id"] or None,
    )
    if not result.created and d["client_action_id"] and result.source != Case.Source.RESIDENT:
        _foreign_action_id()  # never hand out another source's case (and its tracking link)
    status_now = result.case.status if not result.created else Case.Status.REPORTED
    body = {
        "number": result.number,
        "status": status_now,
        "status_label": choice_label(Case.Status, status_now),
        "tracking_url": f"/t/{result.tracking_token}",
        "created": result.created,
        "warnings": [str(w) for w in result.warnings],
    }
    return JsonResponse(
        body,
        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        json_dumps_params={"ensure_ascii": False},
    )


PUBLIC_STEPS = (
    ("reported", "reported_at", "已上报"),
    ("registered", "registered_at", "已立案"),
    ("dispatched", "dispatched_at", "已派遣"),
    ("resolved", "resolved_at", "已处置"),
    ("closed", "closed_at", "已结案"),
)


def track_state(case: Case) -> dict:
    """What the reporter sees of their case: no staff names, no phones, no internal notes."""
    from django.utils.translation import gettext_lazy

    now = timezone.now()
    entries = selectors.track_entries(case=case)
    photos = [
        {"id": a.id, "url": f"/t/{case.tracking_token}/photos/{a.id}"}
        for a in selectors.case_attachments(case=case, stages=("report",))
    ]
    labels = {
        "reported": gettext_lazy("已上报"),
        "registered": gettext_lazy("已立案"),
        "dispatched": gettext_lazy("已派遣"),
        "resolved": gettext_lazy("已处置"),
        "closed": gettext_lazy("已结案"),
    }
    steps = [
        {
            "key": key,
            "label": str(labels[key]),
            "at": _iso(getattr(case, field)),
            "done": getattr(case, field) is not None,
        }
        for key, field, _zh in PUBLIC_STEPS
    ]
    if case.status in (Case.Status.REJECTED, Case.Status.MERGED):
        steps = [
            steps[0],
            {
                "key": case.status,
                "label": case.get_status_display(),
                "at": _iso(case.closed_at),
                "done": True,
            },
        ]
    dispute_until = (
        case.closed_at + services.DISPUTE_WINDOW
        if case.closed_at and case.status == Case.Status.CLOSED
        else None
    )
    return {
        "number": case.number,
        "status": case.status,
        "status_label": case.get_status_display(),
        "category": {
            "name": case.category.name,
            "name_en": case.category.name_en,
            "icon": case.category.icon,
        },
        "description": case.description,
        "address": case.address,
        "reported_at": _iso(case.reported_at),
        "closed_at": _iso(case.closed_at),
        "steps": steps,
        "entries": entries,
        "last_seq": max((e["seq"] for e in entries), default=0),
        "photos": photos,
        "rating": case.rating,
        "rating_label": case.get_rating_display() if case.rating else "",
        "can_rate": case.status == Case.Status.CLOSED and case.rated_at is None,
        "can_dispute": dispute_until is not None and now <= dispute_until,
        "dispute_until": _iso(dispute_until),
    }


def _tracked(token: str) -> Case:
    case = selectors.case_by_token(token=token)
    if case is None:
        raise ApplicationError(_("没有找到这条上报。"), status_code=404)
    return case


class TrackApi(_ResidentApi):
    """GET /api/track/<token> — the reporter's view of the case (polled, or pushed by websocket)."""

    def get(self, request, token: str):
        response = Response(track_state(_tracked(token)))
        response["Cache-Control"] = "no-store"
        return response


class TrackRateApi(_ResidentApi):
    """POST /api/track/<token>/rate — 满意 / 基本满意 / 不满意 + comment, once, after closure."""

    class InputSerializer(serializers.Serializer):
        rating = serializers.CharField()
        comment = serializers.CharField(required=False, allow_blank=True, default="")

    def post(self, request, token: str):
        _same_origin(request)
        d = _validated(self.InputSerializer, _request_data(request))
        rating = RATING_LABELS.get(d["rating"].strip(), d["rating"].strip())
        case = services.case_rate(token=token, rating=rating, comment=d["comment"])
        return Response(track_state(case))


class TrackDisputeApi(_ResidentApi):
    """POST /api/track/<token>/dispute — within 7 days of closure the case goes back for checking."""

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    def post(self, request, token: str):
        _same_origin(request)
        d = _validated(self.InputSerializer, _request_data(request))
        if not d["reason"].strip():
            raise ApplicationError(
                _("请填写理由。"), fields={"reason": [_("请说明哪里没有处理好。")]}
            )
        case = services.case_dispute(token=token, reason=d["reason"].strip())
        return Response(track_state(case))


class TrackLookupApi(_ResidentApi):
    """POST /api/track/lookup — case number + the phone given with the report → tracking link."""

    class InputSerializer(serializers.Serializer):
        number = serializers.CharField(max_length=24)
        phone = serializers.CharField(max_length=32)

    def post(self, request):
        _same_origin(request)
        if rate_hit(
            scope="track-lookup", key=client_ip(request), limit=settings.REPORT_RATE_PER_IP
        ):
            raise ApplicationError(_("查询太频繁，请稍后再试。"), status_code=429)
        d = _validated(self.InputSerializer, _request_data(request))
        case = selectors.case_by_number_and_phone(number=d["number"], phone=d["phone"])
        if case is None:
            raise ApplicationError(
                _("没有找到：请核对事件编号和上报时留的手机号。"), status_code=404
            )
        return Response({"tracking_url": f"/t/{case.tracking_token}"})


# --- machine sources: webhooks ---------------------------------------------------------------


class IntakeApi(APIView):
    """POST /api/intake/<source>/ — 110, 119, 12345, video_ai, iot. Header X-Api-Key: a key of
    that source. One report (201 created / 200 existing) or {"reports": [...]} (≤ 500; 200 with
    one result per item, in order: created / existing / error)."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]
    authentication_classes = [SourceKeyAuthentication]
    permission_classes = [HasSourceKey]

    def initial(self, request, *args, **kwargs):
        # SourceKeyAuthentication accepts only keys of view.source_key_source: the URL's source.
        self.source_key_source = kwargs.get("source")
        super().initial(request, *args, **kwargs)

    def permission_denied(self, request, message=None, code=None):
        # No key is a 403 like a wrong one (the brief's "bad key → 403"), never a 401 challenge.
        raise ApplicationError(str(message or _("缺少接口密钥。")), status_code=403)

    def post(self, request, source: str):
        if source not in SOURCES:
            raise ApplicationError(_("未知的来源。"), status_code=404)
        if request.auth.source != source:  # belt and braces: the authentication checked it already
            raise ApplicationError(
                _("接口密钥不属于来源“%(s)s”。") % {"s": source}, status_code=403
            )
        data = _request_data(request)
        if request.content_type.startswith("multipart/"):
            payload = {k: v for k, v in data.items() if k != "snapshot"}
            upload = request.FILES.get("snapshot")
            items, batch = [payload], False
        else:
            items, batch = intake_items(data)
            upload = None
        parsed = []
        categories: dict = {}  # resolved once per batch (events.intake._category)
        label = services.source_label(source)
        for item in items:
            try:
                parsed.append(
                    intake_parse(
                        source=source,
                        item=item,
                        snapshot_upload=upload,
                        categories=categories,
                        label=label,
                    )
                )
            except ApplicationError as exc:
                if not batch:
                    raise
                parsed.append(exc)
        results = services.case_report_many(items=parsed)
        if not batch:
            result = results[0]
            if isinstance(result, ApplicationError):
                raise result
            body = {
                "status": "created" if result.created else "existing",
                "id": result.id,
                "number": result.number,
                "warnings": [str(w) for w in result.warnings],
            }
            return Response(
                body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
            )
        out = []
        for i, result in enumerate(results):
            if isinstance(result, ApplicationError):
                out.append(
                    {
                        "index": i,
                        "status": "error",
                        "message": str(result.message),
                        "fields": {k: _as_list(v) for k, v in result.fields.items()},
                    }
                )
            else:
                out.append(
                    {
                        "index": i,
                        "status": "created" if result.created else "existing",
                        "id": result.id,
                        "number": result.number,
                        "warnings": [str(w) for w in result.warnings],
                    }
                )
        counts = {
            s: sum(1 for r in out if r["status"] == s) for s in ("created", "existing", "error")
        }
        # Plain json (DRF's renderer and encoder cost ~1 ms on a hundred results); the same body.
        return JsonResponse({"results": out, **counts}, json_dumps_params={"ensure_ascii": False})


class CaseCollectionApi(CaseListApi, CaseCreateApi):
    """/api/cases/: GET lists (CaseListApi), POST reports (CaseCreateApi) — one path, two operations."""

    def dispatch(self, request, *args, **kwargs):
        # A report skips DRF (see staff_report); CaseCreateApi.post stays the operation the API
        # schema documents, on the same code.
        if request.method == "POST":
            return staff_report(request)
        return super().dispatch(request, *args, **kwargs)
