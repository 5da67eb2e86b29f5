"""Bulk import of sites from .xlsx or CSV, all or nothing.

Every row is checked first (site_prepare, the same check as the API), with progress written to
the ImportJob as it goes so the page's bar moves; only if no row has an error are the sites
written, in one transaction. A file with one bad row imports nothing and reports every bad row.
"""

import csv
import io
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cockpit.errors import ApplicationError
from safetycode import scoring
from safetycode.models import ImportJob, Site
from safetycode.services import SiteInput, reinspections_plan, site_prepare

MAX_ROWS = 50_000
PROGRESS_EVERY = 200

# Header (Chinese or English, as people write them) → SiteInput field. "属性.xxx" / "attr.xxx"
# columns fill the scene's attributes.
HEADERS = {
    "名称": "name",
    "场所名称": "name",
    "name": "name",
    "场景": "scene",
    "scene": "scene",
    "统一社会信用代码": "credit_code",
    "信用代码": "credit_code",
    "credit_code": "credit_code",
    "经度": "lng",
    "lng": "lng",
    "纬度": "lat",
    "lat": "lat",
    "坐标系": "crs",
    "crs": "crs",
    "地址": "address",
    "address": "address",
    "负责人": "owner",
    "owner": "owner",
    "联系电话": "phone",
    "电话": "phone",
    "phone": "phone",
}
ATTR_PREFIXES = ("属性.", "attr.")


def _rows_csv(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ApplicationError(
            _("无法识别文件编码，请另存为 UTF-8 CSV。"), fields={"file": [_("编码无法识别。")]}
        )
    return [row for row in csv.reader(io.StringIO(text))]


def _rows_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a broken file
        raise ApplicationError(
            _("无法读取 Excel 文件。"), fields={"file": [_("文件已损坏或不是 .xlsx。")]}
        )
    sheet = book.worksheets[0]
    rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    book.close()
    return rows


def file_rows(*, name: str, data: bytes) -> tuple[list[str], list[list[str]]]:
    """(header, data rows) of a CSV or .xlsx file; blank rows dropped."""
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        rows = _rows_csv(data)
    elif suffix == ".xlsx":
        rows = _rows_xlsx(data)
    else:
        raise ApplicationError(
            _("只支持 .xlsx 或 .csv 文件。"), fields={"file": [_("只支持 .xlsx 或 .csv 文件。")]}
        )
    rows = [r for r in rows if any(str(c).strip() for c in r)]
    if not rows:
        raise ApplicationError(_("文件是空的。"), fields={"file": [_("文件是空的。")]})
    header = [str(h).strip() for h in rows[0]]
    if "name" not in {HEADERS.get(h, HEADERS.get(h.lower())) for h in header}:
        raise ApplicationError(
            _("第一行应为表头，至少包含“名称”和“场景”。"), fields={"file": [_("缺少表头。")]}
        )
    if len(rows) - 1 > MAX_ROWS:
        raise ApplicationError(
            _("一次最多导入 %(n)d 行。") % {"n": MAX_ROWS}, fields={"file": [_("行数过多。")]}
        )
    return header, rows[1:]


def row_input(header: list[str], row: list[str]) -> SiteInput:
    item = SiteInput()
    for key, value in zip(header, row, strict=False):
        value = str(value).strip()
        attr = next((key[len(p) :] for p in ATTR_PREFIXES if key.startswith(p)), None)
        if attr:
            if value:
                item.attributes[attr] = value
            continue
        field = HEADERS.get(key) or HEADERS.get(key.lower())
        if field:
            setattr(item, field, value)
    return item


def sites_import(*, job_id: int) -> ImportJob:
    """Run one import job (the Celery task calls this)."""
    job = ImportJob.objects.get(id=job_id)
    job.status = ImportJob.Status.RUNNING
    job.save(update_fields=["status"])
    try:
        header, rows = file_rows(name=job.filename, data=bytes(job.data))
    except ApplicationError as exc:
        job.errors = [{"row": 0, "fields": exc.fields or {"file": [exc.message]}}]
        job.status, job.finished_at = ImportJob.Status.FAILED, timezone.now()
        job.save(update_fields=["errors", "status", "finished_at"])
        return job
    job.total = len(rows)
    job.save(update_fields=["total"])
    sites, errors = [], []
    for n, row in enumerate(rows, start=2):  # row 1 is the header, as the spreadsheet numbers it
        try:
            sites.append(site_prepare(row_input(header, row)))
        except ApplicationError as exc:
            errors.append({"row": n, "fields": exc.fields})
        done = n - 1
        if done % PROGRESS_EVERY == 0:
            ImportJob.objects.filter(id=job.id).update(processed=done)
    job.processed, job.errors = len(rows), errors
    if errors:
        job.status = ImportJob.Status.FAILED
    else:
        with transaction.atomic():
            for site in sites:
                site.import_job = job
            created = Site.objects.bulk_create(sites, batch_size=2000)
            ids = [s.id for s in created]
            scoring.scores_recompute(site_ids=ids)
            reinspections_plan(site_ids=ids)
        job.created = len(created)
        job.status = ImportJob.Status.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["processed", "errors", "status", "created", "finished_at"])
    return job
