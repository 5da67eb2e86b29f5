"""Bulk import through the real Celery worker: good .csv and .xlsx files land whole, with grid,
scope path, encrypted owner and a code; a file with bad rows lands not at all and reports each
bad row by field; progress is polled from the job endpoint."""

import io
import time

import pytest
from openpyxl import Workbook

from accounts import pii
from safetycode.models import ImportJob, InspectionTask, Site
from tests.safetycode.conftest import IN_G1, IN_G3, IN_G4, credit_code

HEADER = [
    "名称",
    "场景",
    "统一社会信用代码",
    "经度",
    "纬度",
    "地址",
    "负责人",
    "联系电话",
    "属性.rooms",
    "属性.workers",
]


def good_rows() -> list[list]:
    return [
        [
            "兰里便利店",
            "沿街商铺",
            credit_code(11),
            IN_G1[0],
            IN_G1[1],
            "兰里路1号",
            "王小明",
            "13900001111",
            "",
            "",
        ],
        [
            "绿城出租屋",
            "rental",
            "",
            IN_G3[0],
            IN_G3[1],
            "绿城路2号",
            "李四",
            "13900002222",
            "12",
            "",
        ],
        [
            "紫金制衣厂",
            "劳动密集型企业",
            credit_code(12),
            IN_G4[0],
            IN_G4[1],
            "紫金路3号",
            "赵六",
            "",
            "",
            "180",
        ],
    ]


def as_csv(rows) -> bytes:
    lines = [",".join(HEADER)] + [",".join(str(c) for c in r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def as_xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for r in rows:
        sheet.append(r)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def upload(client, name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        "/api/safety/imports", {"file": SimpleUploadedFile(name, data)}, format="multipart"
    )


def wait_for(client, job_id: int, timeout: float = 30) -> dict:
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        job = client.get(f"/api/safety/imports/{job_id}").json()
        seen.append(job["percent"])
        if job["status"] in ("done", "failed"):
            job["seen"] = seen
            return job
        time.sleep(0.2)
    raise AssertionError(f"import {job_id} did not finish: {job}")


pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(("name", "encode"), [("sites.csv", as_csv), ("sites.xlsx", as_xlsx)])
def test_a_good_file_is_imported_whole_by_the_worker(live_town, celery_worker, api, name, encode):
    client = api(live_town.li)
    response = upload(client, name, encode(good_rows()))
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued"

    job = wait_for(client, response.json()["id"])

    assert job["status"] == "done", job
    assert job["created"] == 3 and job["errors"] == [] and job["percent"] == 100
    sites = {s.name: s for s in Site.objects.select_related("grid")}
    assert set(sites) == {"兰里便利店", "绿城出租屋", "紫金制衣厂"}
    assert (
        sites["兰里便利店"].grid_id == live_town.g1.id
        and sites["兰里便利店"].node_path == live_town.g1.path
    )
    assert sites["绿城出租屋"].scene == "rental" and sites["绿城出租屋"].attributes == {"rooms": 12}
    assert sites["紫金制衣厂"].attributes == {"workers": 180}
    # Owner and phone are stored encrypted, with a keyed hash for lookup.
    shop = sites["兰里便利店"]
    assert "王小明" not in shop.owner_enc and pii.decrypt(shop.owner_enc) == "王小明"
    assert shop.phone_index == pii.blind_index("13900001111")
    # Every imported site has a code with its factors, and its first re-inspection planned.
    assert all(s.scored_at is not None and s.factors for s in sites.values())
    assert InspectionTask.objects.filter(site__in=sites.values()).count() == 3


def test_a_file_with_bad_rows_imports_nothing_and_names_every_bad_row(
    live_town, celery_worker, api
):
    rows = good_rows()
    good = credit_code(16)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    rows.insert(1, ["错码商店", "沿街商铺", bad, IN_G1[0], IN_G1[1], "", "", "", "", ""])
    rows.insert(2, ["未知场景", "游乐场", credit_code(13), IN_G1[0], IN_G1[1], "", "", "", "", ""])
    rows.insert(
        3, ["无位置厂", "一般及办公企业", credit_code(14), "", "", "查无此地址", "", "", "", ""]
    )
    rows.append(["镇外商店", "沿街商铺", credit_code(15), 121.47, 31.23, "", "", "", "", ""])
    client = api(live_town.li)

    job = wait_for(client, upload(client, "bad.xlsx", as_xlsx(rows)).json()["id"])

    assert job["status"] == "failed" and job["created"] == 0
    by_row = {e["row"]: e["fields"] for e in job["errors"]}
    # Spreadsheet numbering: row 1 is the header, so the inserted rows are 3, 4 and 5.
    assert set(by_row) == {3, 4, 5, 8}
    assert "credit_code" in by_row[3] and "校验位" in by_row[3]["credit_code"][0]
    assert "scene" in by_row[4] and "游乐场" in by_row[4]["scene"][0]
    assert "location" in by_row[5]
    assert "location" in by_row[8] and "网格" in by_row[8]["location"][0]
    # All or nothing: the good rows were not written either.
    assert Site.objects.count() == 0
    assert ImportJob.objects.get(id=job["id"]).processed == len(rows)


def test_the_import_refuses_what_is_not_a_spreadsheet_and_hides_jobs_of_others(live_town, api):
    client = api(live_town.li)
    response = upload(client, "sites.pdf", b"%PDF-1.4")
    assert response.status_code == 400 and "file" in response.json()["fields"]
    # A grid worker may not import at all.
    assert upload(api(live_town.wang), "sites.csv", as_csv(good_rows())).status_code == 403
    job = ImportJob.objects.create(filename="x.csv", data=b"", created_by=live_town.li)
    assert api(live_town.chen).get(f"/api/safety/imports/{job.id}").status_code == 404
