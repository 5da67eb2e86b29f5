"""The dispatch JSON APIs (session auth, like events.api):

- POST /api/cases/<id>/dispatch          hand a case to a department, team, person or plan
- GET  /api/cases/<id>/recommendation    the router's suggestion and the units to choose from
- POST /api/orders                       the duty commander's order (指挥长指令) to any unit
- GET  /api/answer-templates?status=…    答复模板 for a state
- POST /api/cases/<id>/reply             answer the reporter (a template or own words)
- POST /api/exports, GET /api/exports/<id>   the queue as .xlsx / CSV, built in the background

Every case is fetched through events.selectors.case_get_for (404 outside the user's scope);
writes go through dispatch.services / events.services.
"""

from django.db import transaction
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import user_can
from cockpit.errors import ApplicationError, _as_list
from dispatch import selectors
from dispatch.exports import export_filename, export_path, export_request
from dispatch.models import Export, Order
from events import selectors as case_selectors
from events import services as case_services
from events.models import Case
from events.workflow import action_permitted

ORDER_CATEGORY = "L0099"  # 其他: an order that names no category of its own


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ApplicationError(
            _("提交的内容有误，请检查标出的字段。"),
            fields={k: _as_list(v) for k, v in serializer.errors.items()},
        )
    return serializer.validated_data


def _require(user, capability: str, message: str) -> None:
    if not user_can(user, capability):
        raise ApplicationError(message, status_code=403)


def _case_brief(case: Case) -> dict:
    case = Case.objects.select_related("category", "grid", "handler").get(id=case.id)
    return {
        "id": case.id,
        "number": case.number,
        "status": case.status,
        "status_label": case.get_status_display(),
        "handler": {"id": case.handler_id, "name": str(case.handler)} if case.handler_id else None,
        "accept_due": case.accept_due.isoformat() if case.accept_due else None,
        "resolve_due": case.resolve_due.isoformat() if case.resolve_due else None,
    }


def _entry_brief(entry) -> dict:
    return {
        "id": entry.id,
        "action": entry.action,
        "at": entry.at.isoformat(),
        "note": entry.note,
        "data": entry.data,
    }


class _TargetSerializer(serializers.Serializer):
    department = serializers.IntegerField(required=False, allow_null=True)
    team = serializers.IntegerField(required=False, allow_null=True)
    user = serializers.IntegerField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    client_action_id = serializers.CharField(
        required=False, allow_blank=True, max_length=64, default=""
    )


def _targets(d: dict) -> dict:
    """Ids → objects, each unknown one a field error (all reported at once)."""
    found, errors = {}, {}
    getters = {
        "department": selectors.department_get,
        "team": selectors.team_get,
        "user": selectors.staff_get,
        "plan": selectors.plan_get,
    }
    for key, get in getters.items():
        if d.get(key) is None:
            continue
        try:
            found[key] = get(id=d[key])
        except ApplicationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ApplicationError(_("提交的内容有误，请检查标出的字段。"), fields=errors)
    return found


class CaseDispatchApi(APIView):
    """POST /api/cases/<id>/dispatch — {department?, team?, user?, plan?, note, client_action_id}
    or {"suggested": true} for the recommendation. Registers a reported case first; calling it
    again re-dispatches."""

    class InputSerializer(_TargetSerializer):
        plan = serializers.IntegerField(required=False, allow_null=True)
        suggested = serializers.BooleanField(required=False, default=False)

    def post(self, request, id: int):
        user = request.user
        case = case_selectors.case_get_for(user=user, id=id)
        _require(user, "case.dispatch", _("只有坐席员、指挥长可以派遣事件。"))
        d = _validated(self.InputSerializer, request.data)
        note = d["note"].strip()
        if d["suggested"] and not any(d.get(k) for k in ("department", "team", "user", "plan")):
            rec = selectors.recommendation_for(case=case)
            if not rec["ids"]:
                raise ApplicationError(
                    _("没有可推荐的处置单位，请手动选择。"),
                    fields={"department": [_("请选择派往的部门、队伍或人员。")]},
                )
            d.update(rec["ids"])
            note = note or _("按推荐派遣：%(r)s") % {"r": "；".join(rec["reasons"])}
        if not any(d.get(k) for k in ("department", "team", "user", "plan")):
            raise ApplicationError(
                _("请选择派往的部门、队伍或人员。"),
                fields={"department": [_("请选择派往的部门、队伍或人员。")]},
            )
        targets = _targets(d)
        if case.status not in (Case.Status.REPORTED, *_dispatchable()):
            raise ApplicationError(
                _("事件当前状态为“%(s)s”，不能派遣。") % {"s": case.get_status_display()},
                fields={"action": [_("当前状态不允许此操作。")]},
                status_code=409,
            )
        from dispatch.services import case_dispatch

        entry = case_dispatch(
            case_id=case.id,
            actor=user,
            note=note,
            client_action_id=d["client_action_id"] or None,
            **targets,
        )
        return Response({"entry": _entry_brief(entry), "case": _case_brief(case)})


def _dispatchable() -> tuple:
    from events.workflow import TRANSITIONS

    return tuple(TRANSITIONS["dispatch"].sources)


def _unit_rows(case: Case) -> dict:
    return {
        "departments": [
            {"id": d.id, "code": d.code, "name": d.name}
            for d in selectors.departments_for_case(case=case)
        ],
        "teams": [
            {
                "id": t.id,
                "code": t.code,
                "name": t.name,
                "department": {"id": t.department_id, "name": t.department.name},
                "lead": {"id": t.lead_id, "name": str(t.lead)} if t.lead_id else None,
            }
            for t in selectors.teams_for_case(case=case)
        ],
        "grid_workers": [
            {"id": u.id, "name": str(u), "role": u.role, "role_label": u.get_role_display()}
            for u in selectors.grid_workers_for_case(case=case)
        ],
        "plans": [
            {"id": p.id, "name": p.name}
            for p in selectors.Plan.objects.filter(active=True).order_by("order", "id")
        ],
    }


class CaseRecommendationApi(APIView):
    """GET /api/cases/<id>/recommendation — the routing recommendation (which rule, why, where)
    and the candidate units: departments and teams working there, the grid's own workers."""

    def get(self, request, id: int):
        case = case_selectors.case_get_for(user=request.user, id=id)
        rec = selectors.recommendation_for(case=case)
        routing = case.routing if isinstance(case.routing, dict) else {}
        return Response(
            {
                "case": {"id": case.id, "number": case.number, "status": case.status},
                "recommendation": rec,
                "routing": routing,
                "candidates": _unit_rows(case),
                "can_dispatch": user_can(request.user, "case.dispatch"),
            }
        )


class OrderCreateApi(APIView):
    """POST /api/orders — 指挥长指令 to a department, team or person: recorded as an Order and as
    a case of source "order" dispatched to that unit, so it is timed and escalated like any case.
    {department|team|user, text, due_at?, related_case?, category?, lng?, lat?, address?}"""

    class InputSerializer(_TargetSerializer):
        text = serializers.CharField(max_length=2000)
        due_at = serializers.DateTimeField(required=False, allow_null=True)
        related_case = serializers.IntegerField(required=False, allow_null=True)
        category = serializers.CharField(required=False, allow_blank=True, default="")
        grade = serializers.IntegerField(required=False, allow_null=True)
        lng = serializers.FloatField(required=False, allow_null=True)
        lat = serializers.FloatField(required=False, allow_null=True)
        address = serializers.CharField(
            required=False, allow_blank=True, max_length=256, default=""
        )

    def post(self, request):
        user = request.user
        _require(user, "order.issue", _("只有值班指挥长可以下达指令。"))
        d = _validated(self.InputSerializer, request.data)
        if not any(d.get(k) for k in ("department", "team", "user")):
            raise ApplicationError(
                _("请选择指令下达的部门、队伍或人员。"),
                fields={"department": [_("请选择部门、队伍或人员。")]},
            )
        targets = _targets(d)
        related = (
            case_selectors.case_get_for(user=user, id=d["related_case"])
            if d.get("related_case")
            else None
        )
        category = case_services.category_resolve(
            code=d["category"] or (related.category.code if related is not None else ORDER_CATEGORY)
        )
        lng, lat, address = d.get("lng"), d.get("lat"), d["address"]
        if related is not None and lng is None and not address:
            if related.location is not None:
                lng, lat = related.location.x, related.location.y
            address = related.address
        if lng is None and not address:
            # An order without a place is about the town itself: the centre's own address.
            address = _("全镇")
        now = timezone.now()
        with transaction.atomic():
            result = case_services.case_report(
                source=Case.Source.ORDER,
                category=category,
                description=d["text"],
                title=d["text"][:60],
                grade=d.get("grade"),
                lng=lng,
                lat=lat,
                address=address,
                reporter=case_services.Reporter(user=user),
                client_action_id=d["client_action_id"] or None,
            )
            case = result.case
            order = Order.objects.filter(case=case).first()
            if order is None:
                order = Order.objects.create(
                    issued_by=user,
                    issued_at=now,
                    text=d["text"],
                    due_at=d.get("due_at"),
                    related_case=related,
                    case=case,
                    **targets,
                )
                from dispatch.services import case_dispatch

                updates_due = d.get("due_at")
                case_dispatch(case_id=case.id, actor=user, note=d["text"][:300], **targets)
                if updates_due:
                    Case.objects.filter(id=case.id).update(resolve_due=updates_due)
        return Response(
            {
                "order": {
                    "id": order.id,
                    "issued_at": order.issued_at.isoformat(),
                    "text": order.text,
                    "due_at": order.due_at.isoformat() if order.due_at else None,
                },
                "case": _case_brief(case),
            },
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class AnswerTemplateListApi(APIView):
    """GET /api/answer-templates?status=<case status>&action=<action> — 答复模板 for a state."""

    def get(self, request):
        status_ = request.query_params.get("status") or None
        if status_ and status_ not in Case.Status.values:
            raise ApplicationError(
                _("提交的内容有误，请检查标出的字段。"),
                fields={"status": [_("未知的状态：%(s)s") % {"s": status_}]},
            )
        templates = selectors.answer_templates(
            status=status_, action=request.query_params.get("action") or None
        )
        return Response(
            {
                "results": [
                    {
                        "id": t.id,
                        "name": t.name,
                        "action": t.action,
                        "text": t.text,
                        "auto_send": t.auto_send,
                    }
                    for t in templates
                ]
            }
        )


class CaseReplyApi(APIView):
    """POST /api/cases/<id>/reply — {template?: id, text?: str, client_action_id?}: the words the
    reporter reads on the tracking page (text wins over the template when both are given)."""

    class InputSerializer(serializers.Serializer):
        template = serializers.IntegerField(required=False, allow_null=True)
        text = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
        client_action_id = serializers.CharField(
            required=False, allow_blank=True, max_length=64, default=""
        )

    def post(self, request, id: int):
        from dispatch.replies import reply_send

        user = request.user
        case = case_selectors.case_get_for(user=user, id=id)
        if not action_permitted(user, case, "reply"):
            raise ApplicationError(_("您不能答复此事件的报告人。"), status_code=403)
        if case.status in Case.FINAL_STATUSES and case.status != Case.Status.CLOSED:
            raise ApplicationError(
                _("事件当前状态为“%(s)s”，不能答复。") % {"s": case.get_status_display()},
                status_code=409,
            )
        d = _validated(self.InputSerializer, request.data)
        template = (
            selectors.answer_template_get(id=d["template"])
            if d.get("template") is not None
            else None
        )
        entry = reply_send(
            case=case,
            actor=user,
            template=template,
            text=d["text"],
            client_action_id=d["client_action_id"] or None,
        )
        return Response({"entry": _entry_brief(entry), "case": _case_brief(case)})


class ExportCreateApi(APIView):
    """POST /api/exports — {format: xlsx|csv, status?, source?, category?, grid?, overdue?, q?}
    → 202 {"id", "url", "status"}; the file is built by a worker."""

    class InputSerializer(serializers.Serializer):
        format = serializers.ChoiceField(choices=Export.Format.values, default="xlsx")
        status = serializers.CharField(required=False, allow_blank=True, default="open")
        source = serializers.CharField(required=False, allow_blank=True, default="")
        category = serializers.CharField(required=False, allow_blank=True, max_length=16)
        grid = serializers.CharField(required=False, allow_blank=True, default="")
        overdue = serializers.BooleanField(required=False, default=False)
        q = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")

    def post(self, request):
        user = request.user
        _require(user, "cockpit.view", _("您没有导出事件的权限。"))
        d = _validated(self.InputSerializer, request.data)
        fmt = d.pop("format")
        export = export_request(user=user, filters=d, format=fmt)
        return Response(
            {"id": str(export.id), "url": f"/api/exports/{export.id}", "status": export.status},
            status=status.HTTP_202_ACCEPTED,
        )


class ExportGetApi(APIView):
    """GET /api/exports/<id> — 202 while building, the file when ready (only for its requester)."""

    def get(self, request, id):
        export = selectors.export_get_for(user=request.user, id=id)
        if export.status == Export.Status.PENDING:
            return Response(
                {"id": str(export.id), "status": export.status, "url": f"/api/exports/{export.id}"},
                status=status.HTTP_202_ACCEPTED,
                headers={"Retry-After": "1"},
            )
        if export.status == Export.Status.FAILED:
            raise ApplicationError(_("导出失败，请重新导出。"), status_code=500)
        path = export_path(export)
        if not path.exists():
            raise ApplicationError(_("导出文件已过期，请重新导出。"), status_code=410)
        content_type = (
            "text/csv; charset=utf-8"
            if export.format == Export.Format.CSV
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response = FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=export_filename(export),
            content_type=content_type,
        )
        response["Cache-Control"] = "private, no-store"
        response["X-Row-Count"] = str(export.row_count or 0)
        return response
