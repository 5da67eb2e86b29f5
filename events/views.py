"""Residents' pages: 随手拍 (/report), tracking (/t/<token>) and finding a lost link (/t/)."""

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from events import selectors
from events.api import track_state
from events.media import MAX_PHOTO_BYTES, MAX_PHOTOS


def _private(response):
    # The tracking token is the key to the case: never leak it in a Referer, never index it.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def report_page(request):
    categories = list(selectors.categories_for_residents())
    return render(
        request,
        "events/report.html",
        {
            "categories": categories,
            "max_photos": MAX_PHOTOS,
            "max_photo_bytes": MAX_PHOTO_BYTES,
            "town_center": settings.TOWN_CENTER,
        },
    )


@require_GET
def track_page(request, token: str):
    case = selectors.case_by_token(token=token)
    if case is None:
        raise Http404
    return _private(
        render(request, "events/track.html", {"state": track_state(case), "token": token})
    )


@require_GET
def track_lookup_page(request):
    return _private(render(request, "events/track_lookup.html", {}))


@require_GET
def track_photo(request, token: str, photo_id: int):
    attachment = selectors.track_photo(token=token, attachment_id=photo_id)
    if attachment is None:
        raise Http404
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Cache-Control"] = "private, max-age=86400"
    response["Referrer-Policy"] = "no-referrer"
    return response
