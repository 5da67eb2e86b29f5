"""The field app (/m/): grid workers and the brigade on their phones.

Pages are one shell (templates/field/app.html) that the ES modules in static/field/ fill from
the case APIs; the service worker at /m/sw.js keeps the shell and the last-seen data for offline
use. The few JSON endpoints here are the field's own: the inbox ("my cases by urgency"), the
same-circle call (同圈联动) and joining it. Everything else is the shared case API."""

from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cockpit.errors import ApplicationError
from dispatch import linkage
from events import selectors as case_selectors
from events.api import _entry, _validated, case_summary
from events.models import Case

STATIC_DIR = Path(settings.BASE_DIR) / "static" / "field"
# Statuses in which a case sits in the handler's inbox (the centre holds it afterwards).
INBOX_STATUSES = (
    Case.Status.DISPATCHED,
    Case.Status.ACCEPTED,
    Case.Status.ON_SITE,
    Case.Status.REWORK,
)
# Field modules the service worker keeps for offline use.
SHELL_MODULES = ("app.js", "outbox.js", "position.js", "alert.js", "map.js", "field.css")


def _field_context(request, **extra) -> dict:
    user = request.user
    return {
        "me": {
            "id": user.id,
            "name": str(user),
            "role": user.get_role_display(),
            "scope": user.scope.name if user.scope_id else "",
        },
        **extra,
    }


@login_required
@never_cache
def field_app(request, **kwargs):
    """The shell for /m/, /m/report, /m/me: the modules route on the path."""
    return render(request, "field/app.html", _field_context(request, case_id=None))


@login_required
@never_cache
def field_case(request, id: int):
    """/m/cases/<id>/: the same shell, but only for a case the worker may see (own scope, own
    case, or a same-circle call/join); any other id gets "无权查看" with a 404."""
    try:
        case_selectors.case_get_for(user=request.user, id=id)
    except ApplicationError:
        if not linkage.case_called_or_joined(case_id=id, user=request.user):
            return render(
                request,
                "field/forbidden.html",
                _field_context(request, message=_("事件不存在或无权查看。")),
                status=404,
            )
    return render(request, "field/app.html", _field_context(request, case_id=id))


def service_worker(request):
    """/m/sw.js, served from the app's path so its scope covers /m/ (a script under /static/
    could only control /static/). The versioned list of files to keep comes from here."""
    body = (STATIC_DIR / "sw.js").read_text(encoding="utf-8")
    assets = [static(f"field/{name}") for name in SHELL_MODULES] + [
        static("cockpit/live.js"),
        static("field/icon.svg"),
        "/m/",
        "/m/manifest.webmanifest",
    ]
    version = max(int((STATIC_DIR / name).stat().st_mtime) for name in (*SHELL_MODULES, "sw.js"))
    head = f"const VERSION = 'field-{version}';\nconst SHELL = {assets!r};\n".replace("'", '"')
    response = HttpResponse(head + body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/m/"
    response["Cache-Control"] = "no-cache"
    return response


def manifest(request):
    import json

    body = {
        "name": f"{settings.TOWN_NAME} · " + _("网格通"),
        "short_name": _("网格通"),
        "description": _("网格员的掌上终端：任务、上报、在岗定位。"),
        "lang": "zh-CN",
        "start_url": "/m/",
        "scope": "/m/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f4f6f8",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": static("field/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
            {"src": static("field/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("field/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("field/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return HttpResponse(
        json.dumps(body, ensure_ascii=False), content_type="application/manifest+json"
    )


# --- JSON ------------------------------------------------------------------------------------


class InboxApi(APIView):
    """GET /m/api/inbox — my open cases (handler = me) by urgency (grade), then the nearest
    deadline; plus the cases sent to my grid without a named handler, which I may claim."""

    def get(self, request):
        user = request.user
        base = case_selectors.case_list_for(user=user).filter(status__in=INBOX_STATUSES)
        mine = base.filter(handler_id=user.id).order_by(
            "grade", F("resolve_due").asc(nulls_last=True), "reported_at"
        )
        unclaimed = base.filter(handler__isnull=True, status=Case.Status.DISPATCHED).order_by(
            "grade", "reported_at"
        )
        calls = [
            {
                "entry_id": e.id,
                "at": e.at.isoformat(),
                "caller": str(e.actor) if e.actor_id else e.actor_label,
                "joined": e.joined,
                "distance_m": next(
                    (p["distance_m"] for p in e.data.get("called", []) if p["user_id"] == user.id),
                    None,
                ),
                "case": case_summary(e.case),
            }
            for e in linkage.open_calls_for(user=user)
        ]
        return Response(
            {
                "me": user.id,
                "mine": [case_summary(c) for c in mine[:200]],
                "unclaimed": [case_summary(c) for c in unclaimed[:50]],
                "calls": calls,
            }
        )


class JointCaseApi(APIView):
    """GET /m/api/cases/<id>/joint — what someone called to a case outside their own grid
    sees: the summary and the description (no reporter, no timeline)."""

    def get(self, request, id: int):
        if not linkage.case_called_or_joined(case_id=id, user=request.user):
            raise ApplicationError(_("事件不存在或无权查看。"), status_code=404)
        case = Case.objects.select_related("category", "grid", "handler").get(id=id)
        return Response(
            {
                **case_summary(case),
                "description": case.description,
                "joint": True,
                "allowed_actions": ["join"] if case.is_open else [],
            }
        )


class _ClientActionInput(serializers.Serializer):
    client_action_id = serializers.CharField(
        required=False, allow_blank=True, max_length=64, default=""
    )


class CallNearbyApi(APIView):
    """POST /m/api/cases/<id>/call-nearby — the handler (or the centre) calls the nearest
    on-duty staff of the case's squad (同圈联动)."""

    class InputSerializer(_ClientActionInput):
        radius_m = serializers.IntegerField(
            required=False, min_value=100, max_value=20_000, default=linkage.DEFAULT_RADIUS_M
        )
        limit = serializers.IntegerField(
            required=False, min_value=1, max_value=20, default=linkage.DEFAULT_LIMIT
        )

    def post(self, request, id: int):
        from accounts.selectors import user_can

        case = case_selectors.case_get_for(user=request.user, id=id)
        if case.handler_id != request.user.id and not user_can(request.user, "case.dispatch"):
            raise ApplicationError(
                _("只有事件的处置人或指挥中心可以呼叫同圈联动。"), status_code=403
            )
        d = _validated(self.InputSerializer, request.data)
        entry, called = linkage.case_call_nearby(
            case_id=case.id,
            actor=request.user,
            radius_m=d["radius_m"],
            limit=d["limit"],
            client_action_id=d["client_action_id"] or None,
        )
        return Response(
            {
                "entry": _entry(entry),
                "called": [p.__dict__ for p in called],
                "message": entry.note,
            }
        )


class CaseJoinApi(APIView):
    """POST /api/cases/<id>/actions/join — a called member of the same squad joins the case."""

    def post(self, request, id: int):
        d = _validated(_ClientActionInput, request.data)
        entry = linkage.case_join(
            case_id=id, actor=request.user, client_action_id=d["client_action_id"] or None
        )
        case = Case.objects.select_related("category", "grid", "handler").get(id=id)
        return Response({"entry": _entry(entry), "case": case_summary(case), "warnings": []})
