"""Exporting the queue: the request answers 202 with a link, a real Celery worker builds the
file, the link then serves it — .xlsx (openpyxl) or CSV with a BOM for Excel — holding exactly
the filtered cases the requester may see, and only the requester may fetch it."""

import csv
import io
import time

import pytest
from openpyxl import load_workbook
from rest_framework.test import APIClient

from events import services
from events.models import Case
from tests.e2e.clients import taxonomy
from tests.town import centre

pytestmark = pytest.mark.django_db(transaction=True)

IN_G1 = centre(0, 0)
IN_G2 = centre(1, 0)
IN_G3 = centre(0, 1)


@pytest.fixture(autouse=True)
def fast(settings):
    settings.WHITENOISE_USE_FINDERS = False


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def report(point, description, source="resident") -> Case:
    from events.models import Category

    return services.case_report(
        source=source,
        category=Category.objects.filter(code="06010").order_by("-kind").first(),
        description=description,
        address="文一西路",
        lng=point[0],
        lat=point[1],
        reporter=services.Reporter(phone="13812345678", label="市民"),
    ).case


def fetch_when_ready(client, url, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(url)
        if r.status_code != 202:
            return r
        time.sleep(0.2)
    raise AssertionError("export not ready in time")


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def cases(live_town):
    taxonomy()
    return {
        "g1_resident": report(IN_G1, "A-01 居民上报"),
        "g2_worker": report(IN_G2, "A-02 网格员上报", source="worker"),
        "g3_resident": report(IN_G3, "B-01 居民上报"),
    }


def test_an_export_is_202_then_an_xlsx_with_the_filtered_rows(celery_worker, live_town, cases):
    li = as_user(live_town.li)
    r = li.post("/api/exports", {"format": "xlsx", "source": "resident"}, format="json")
    assert r.status_code == 202, r.json()
    url = r.json()["url"]
    assert url == f"/api/exports/{r.json()['id']}"

    done = fetch_when_ready(li, url)
    assert done.status_code == 200
    assert li.head(url).status_code == 200  # what the console polls before downloading
    assert done["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in done["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(body(done))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "编号" and rows[0][2] == "类别"
    assert {row[0] for row in rows[1:]} == {
        cases["g1_resident"].number,
        cases["g3_resident"].number,
    }
    assert "13812345678" not in str(rows)  # no reporter phone leaves the system


def test_a_csv_export_opens_in_excel_and_holds_only_the_requesters_scope(
    celery_worker, live_town, cases
):
    sun = as_user(live_town.sun)  # area leader of A1: grids G1 and G2, not G3
    r = sun.post("/api/exports", {"format": "csv"}, format="json")
    assert r.status_code == 202
    done = fetch_when_ready(sun, r.json()["url"])
    assert done.status_code == 200 and done["Content-Type"].startswith("text/csv")
    raw = body(done)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese right
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "编号"
    assert {row[0] for row in rows[1:]} == {
        cases["g1_resident"].number,
        cases["g2_worker"].number,
    }

    # The link is the requester's alone: another user gets the same answer as for no export.
    assert as_user(live_town.li).get(r.json()["url"]).status_code == 404


def test_bad_export_requests_are_refused_with_field_messages(live_town):
    li = as_user(live_town.li)
    r = li.post("/api/exports", {"format": "pdf"}, format="json")
    assert r.status_code == 400 and "format" in r.json()["fields"]
    r = li.post("/api/exports", {"format": "csv", "status": "nonsense"}, format="json")
    assert r.status_code == 400 and "status" in r.json()["fields"]
    # a grid worker has no console, so no export of it either
    assert as_user(live_town.wang).post("/api/exports", {}, format="json").status_code == 403
