"""The big screen page, its JSON endpoints, vector tiles and the consultation pages."""

import json
import os
from datetime import date

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import user_can
from cockpit.errors import ApplicationError
from cockpit.screen import consultation as consult
from cockpit.screen import selectors
from cockpit.screen.indices import indices_compute, indices_trend
from cockpit.screen.tiles import tile_get, tile_valid


def _error(exc: ApplicationError) -> JsonResponse:
    body = {
        "message": str(exc.message),
        "fields": {k: [str(m) for m in v] for k, v in (exc.fields or {}).items()},
    }
    return JsonResponse(body, status=exc.status_code, json_dumps_params={"ensure_ascii": False})


def _json(fn):
    """A JSON GET endpoint for a logged-in user; ApplicationError becomes its JSON body."""

    def view(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"message": _("请先登录。")}, status=401)
        try:
            data = fn(request, *args, **kwargs)
        except ApplicationError as exc:
            return _error(exc)
        return JsonResponse(data, json_dumps_params={"ensure_ascii": False})

    view.__name__ = fn.__name__
    view.__doc__ = fn.__doc__
    return view


def basemap_url() -> str:
    """Optional raster basemap under our own layers (e.g. 天地图 with a key): the setting
    SCREEN_BASEMAP_URL, or the environment variable of that name; empty = none (offline)."""
    return getattr(settings, "SCREEN_BASEMAP_URL", "") or os.environ.get("SCREEN_BASEMAP_URL", "")


@login_required
def screen_page(request):
    if not user_can(request.user, "cockpit.view"):
        return render(request, "dispatch/forbidden.html", status=403)
    return render(
        request,
        "cockpit/screen.html",
        {
            "basemap_url": getattr(settings, "SCREEN_BASEMAP_URL", ""),
            "town_center": settings.TOWN_CENTER,
        },
    )


@require_GET
@_json
def summary_api(request):
    return selectors.summary(user=request.user)


@require_GET
@_json
def indices_api(request):
    selectors.screen_path(user=request.user)
    from django.utils import timezone

    return {
        "today": indices_compute(day=timezone.localdate()),
        "trend": indices_trend(days=30),
    }


@require_GET
@_json
def grids_api(request):
    return selectors.grids_state(user=request.user)


@require_GET
@_json
def grid_detail_api(request, grid_id: int):
    return selectors.grid_detail(user=request.user, grid_id=grid_id)


@require_GET
@_json
def cases_api(request):
    return selectors.live_cases(user=request.user)


@require_GET
@_json
def case_card_api(request, case_id: int):
    return selectors.case_card(user=request.user, case_id=case_id)


@require_GET
@_json
def ticker_api(request):
    return selectors.ticker(user=request.user)


@require_GET
@_json
def heat_api(request):
    return selectors.heat(user=request.user)


@require_GET
@_json
def forces_api(request):
    return selectors.forces(user=request.user)


@require_GET
def tile_api(request, z: int, x: int, y: int):
    if not request.user.is_authenticated or not user_can(request.user, "cockpit.view"):
        return HttpResponse(status=403)
    if not tile_valid(z, x, y):
        return HttpResponse(status=404)
    response = HttpResponse(
        tile_get(z=z, x=x, y=y), content_type="application/vnd.mapbox-vector-tile"
    )
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- 每日会商 -------------------------------------------------------------------------------


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise Http404 from exc


@login_required
def consultation_page(request, day: str | None = None):
    if not user_can(request.user, "cockpit.view"):
        return render(request, "dispatch/forbidden.html", status=403)
    record = consult.consultation_get(day=_day(day))
    if record is None and day is None and request.user.role in consult.ORDER_ROLES:
        record = consult.consultation_build()
    if record is None:
        raise Http404
    from dispatch.models import Department, Team

    return render(
        request,
        "cockpit/consultation.html",
        {
            "c": record,
            "data": record.data,
            "orders": record.orders.select_related("order", "order__case", "created_by"),
            "can_order": request.user.role in consult.ORDER_ROLES,
            "departments": Department.objects.filter(active=True).order_by("name"),
            "teams": Team.objects.select_related("department").order_by("name"),
        },
    )


@login_required
def consultation_xlsx(request, day: str):
    if not user_can(request.user, "cockpit.view"):
        return HttpResponse(status=403)
    record = consult.consultation_get(day=_day(day))
    if record is None:
        raise Http404
    response = HttpResponse(
        consult.consultation_xlsx(consultation=record),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="consultation-{record.day}.xlsx"'
    return response


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@require_POST
def consultation_order_api(request, day: str):
    """POST a commander's order (JSON or form): text, one of department/team/user, due_at."""
    if not request.user.is_authenticated:
        return JsonResponse({"message": _("请先登录。")}, status=401)
    record = consult.consultation_get(day=_day(day))
    if record is None:
        raise Http404
    if request.content_type == "application/json":
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            payload = {}
    else:
        payload = request.POST
    due = payload.get("due_at") or None
    due_at = None
    if due:
        due_at = parse_datetime(due) if "T" in due else None
        if due_at is not None and due_at.tzinfo is None:
            from django.utils import timezone

            due_at = timezone.make_aware(due_at)
        if due_at is None:
            return _error(
                ApplicationError(_("时间格式有误。"), fields={"due_at": [_("时间格式有误。")]})
            )
    try:
        link = consult.consultation_order_issue(
            consultation=record,
            user=request.user,
            text=payload.get("text", ""),
            department_id=_int(payload.get("department")),
            team_id=_int(payload.get("team")),
            user_id=_int(payload.get("user")),
            due_at=due_at,
        )
    except ApplicationError as exc:
        return _error(exc)
    if request.content_type != "application/json":
        return redirect("cockpit-consultation-day", day=record.day.isoformat())
    order = link.order
    return JsonResponse(
        {"id": order.id, "case": {"id": order.case_id, "number": order.case.number}},
        status=201,
        json_dumps_params={"ensure_ascii": False},
    )


@require_POST
def consultation_build_api(request):
    if not request.user.is_authenticated or request.user.role not in consult.ORDER_ROLES:
        return JsonResponse({"message": _("只有指挥长可以生成会商。")}, status=403)
    record = consult.consultation_build(day=_day(request.POST.get("day")))
    return redirect("cockpit-consultation-day", day=record.day.isoformat())
