"""Pages: site list + map, a site with its history, the grid risk view (五色图), import with a
progress bar, QR images and printable sheets, and the owner's self-check (/s/<token>, no login)."""

import io

import qrcode
import qrcode.image.svg
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.selectors import scope_q
from cockpit.errors import ApplicationError
from events.media import MAX_PHOTOS
from grids.models import Node
from safetycode import scenes, selectors, services
from safetycode.models import Code, Site
from safetycode.scoring import factors_explained
from safetycode.selectors import LEVEL_LABELS, LEVELS


def _site_or_404(request, site_id: int) -> Site:
    try:
        return selectors.site_get_for(user=request.user, site_id=site_id)
    except ApplicationError:
        raise Http404


def qr_url(request, site: Site) -> str:
    return request.build_absolute_uri(reverse("safety-self", args=[services.qr_token(site=site)]))


@login_required
@require_GET
def site_list_page(request):
    p = request.GET
    filters = {
        "grid_id": p.get("grid") or None,
        "scene": p.get("scene") or None,
        "code": p.get("code") or None,
        "q": p.get("q") or None,
    }
    qs = selectors.sites_for(user=request.user, **filters)
    counts = {c: 0 for c in Code.values}
    for row in qs.order_by().values("code").annotate(n=Count("id")):
        counts[row["code"]] = row["n"]
    grids = (
        Node.objects.filter(scope_q(user=request.user, path_field="path"), kind="grid")
        .order_by("code")
        .only("id", "name", "code")
    )
    return render(
        request,
        "safetycode/site_list.html",
        {
            "sites": qs[:200],
            "total": sum(counts.values()),
            "counts": counts,
            "grids": grids,
            "scenes": scenes.SCENE_CHOICES,
            "codes": Code.choices,
            "f": p,
            "safety_page": "sites",
        },
    )


@login_required
@require_GET
def site_page(request, site_id: int):
    site = _site_or_404(request, site_id)
    return render(
        request,
        "safetycode/site.html",
        {
            "site": site,
            "card": selectors.site_card(site, user=request.user),
            "hazards": selectors.hazards_of(site=site).select_related("item"),
            "history": selectors.site_history(site=site),
            "appeals": [
                (a, factors_explained(a.factors_at_appeal))
                for a in site.appeals.order_by("-submitted_at")
            ],
            "may_review": request.user.role in services.REVIEWER_ROLES,
            "qr_link": qr_url(request, site),
            "codes": Code.choices,
            "safety_page": "sites",
        },
    )


@login_required
@require_GET
def grid_risk_page(request):
    from accounts.selectors import user_scope_path

    prefix = user_scope_path(request.user)
    rows = selectors.grid_risk(path_prefix=prefix) if prefix else []
    order = {lv: i for i, lv in enumerate(LEVELS)}
    rows.sort(key=lambda r: (order[r["level"]], -r["points"], r["code"]))
    summary = {lv: sum(1 for r in rows if r["level"] == lv) for lv in LEVELS}
    return render(
        request,
        "safetycode/risk.html",
        {
            "rows": rows,
            "summary": summary,
            "levels": [(lv, LEVEL_LABELS[lv]) for lv in LEVELS],
            "scene_names": [(v, label, scenes.SCENE_SHORT[v]) for v, label in scenes.SCENE_CHOICES],
            "safety_page": "risk",
        },
    )


@login_required
@require_GET
def import_page(request):
    return render(
        request, "safetycode/import.html", {"safety_page": "import", "scenes": scenes.SCENE_CHOICES}
    )


def _qr(data: str):
    return qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2
    ), data


@login_required
@require_GET
def site_qr(request, site_id: int, fmt: str):
    site = _site_or_404(request, site_id)
    qr, data = _qr(qr_url(request, site))
    qr.add_data(data)
    qr.make(fit=True)
    buf = io.BytesIO()
    if fmt == "svg":
        qr.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buf)
        content_type = "image/svg+xml"
    else:
        qr.make_image().save(buf)
        content_type = "image/png"
    response = HttpResponse(buf.getvalue(), content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="safety-{site.id}.{fmt}"'
    return response


def svg_inline(data: str) -> str:
    qr, data = _qr(data)
    qr.add_data(data)
    qr.make(fit=True)
    buf = io.BytesIO()
    qr.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buf)
    svg = buf.getvalue().decode()
    return svg[svg.index("<svg") :]


@login_required
@require_GET
def grid_qr_sheet(request, grid_id: int):
    """A printable A4 sheet of every site's code in one grid (owners get theirs on paper)."""
    grid = Node.objects.filter(
        scope_q(user=request.user, path_field="path"), kind="grid", id=grid_id
    ).first()
    if grid is None:
        raise Http404
    sites = Site.objects.filter(grid=grid).order_by("name")[:2000]
    cards = [(s, svg_inline(qr_url(request, s))) for s in sites]
    return render(request, "safetycode/qr_sheet.html", {"grid": grid, "cards": cards})


def _private(response):
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def selfcheck_page(request, token: str):
    site = services.qr_site(token=token)
    if site is None:
        return _private(render(request, "safetycode/self_invalid.html", status=404))
    return _private(
        render(
            request,
            "safetycode/self.html",
            {
                "site": site,
                "token": token,
                "items": services.checklist_for(scene=site.scene),
                "factors": factors_explained(site.factors),
                "hazards": site.hazards.filter(status="open").order_by("due_at"),
                "max_photos": MAX_PHOTOS,
            },
        )
    )


@login_required
def inspect_page(request, site_id: int):
    """/m/sites/<id>/inspect — a staff inspection on the phone: the scene's checklist, photos,
    the position; findings become hazards (safetycode.services.inspection_submit)."""
    try:
        site = selectors.site_get_for(user=request.user, site_id=site_id)
    except ApplicationError as exc:
        return render(request, "field/forbidden.html", {"message": exc.message}, status=404)
    return render(
        request,
        "safetycode/inspect.html",
        {
            "site": site,
            "items": services.checklist_for(scene=site.scene),
            "factors": factors_explained(site.factors),
            "hazards": site.hazards.filter(status="open").order_by("due_at"),
            "max_photos": MAX_PHOTOS,
        },
    )


@login_required
def inspection_tasks_page(request):
    """/m/inspections — my re-inspections (red daily, yellow weekly, green monthly), overdue first."""
    return render(
        request,
        "safetycode/inspect_tasks.html",
        {"tasks": list(selectors.tasks_for(user=request.user)[:200])},
    )
