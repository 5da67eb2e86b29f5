"""The queue exported to .xlsx or CSV as a background job.

The request stores an Export row (who asked, the filters, the format) and queues
``dispatch.export_build`` after commit; the worker selects the cases again *as the requester*
(events.selectors.case_search_for with their scope), writes the file under MEDIA_ROOT/exports/
and marks the row ready. A queue of thousands of cases never holds a web worker, and a file
only ever holds what its requester may see. No reporter phone or name is written: the export
leaves the system, personal data does not.
"""

import csv
import logging
import os
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from cockpit.errors import ApplicationError
from dispatch.models import Export
from dispatch.selectors import queue_filters
from events import selectors as case_selectors

log = logging.getLogger(__name__)

EXPORT_DIR = "exports"
MAX_ROWS = 100_000  # a year of a busy town; beyond it the filter is too wide to be useful
TASK_NAME = "dispatch.export_build"


def export_request(*, user, filters: dict, format: str) -> Export:
    """Record an export and queue its job after commit (the worker must see the row)."""
    query, form = queue_filters(filters, strict=True)
    if format not in Export.Format.values:
        raise ApplicationError(
            _("提交的内容有误，请检查标出的字段。"),
            fields={"format": [_("格式只能是 xlsx 或 csv。")]},
        )
    export = Export.objects.create(
        user=user, created_at=timezone.now(), format=format, filters=form, kind="cases"
    )
    transaction.on_commit(lambda: _enqueue(export.id))
    return export


def _enqueue(export_id) -> None:
    from cockpit.celery import app

    try:
        app.send_task(TASK_NAME, args=[str(export_id)])
    except Exception:  # broker down: the row says pending; asking again queues it again
        log.warning("export %s not queued (broker down)", export_id)


def export_path(export: Export) -> Path:
    return Path(settings.MEDIA_ROOT) / export.path


def _columns() -> list[str]:
    return [
        _("编号"),
        _("类别编码"),
        _("类别"),
        _("来源"),
        _("等级"),
        _("状态"),
        _("网格"),
        _("处置人"),
        _("地址"),
        _("描述"),
        _("上报时间"),
        _("立案时间"),
        _("派遣时间"),
        _("处置时间"),
        _("结案时间"),
        _("处置时限"),
        _("是否超时"),
    ]


def _local(value):
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _rows(cases, now):
    for c in cases:
        late = c.is_open and any(
            due is not None and done is None and due < now
            for due, done in (
                (c.register_due, c.registered_at),
                (c.accept_due, c.accepted_at),
                (c.arrive_due, c.arrived_at),
                (c.resolve_due, c.resolved_at),
            )
        )
        yield [
            c.number,
            c.category.code,
            c.category.name,
            c.get_source_display(),
            c.get_grade_display(),
            c.get_status_display(),
            c.grid.name if c.grid_id else "",
            str(c.handler) if c.handler_id else "",
            c.address,
            c.description,
            _local(c.reported_at),
            _local(c.registered_at),
            _local(c.dispatched_at),
            _local(c.resolved_at),
            _local(c.closed_at),
            _local(c.resolve_due),
            _("是") if late else _("否"),
        ]


def _write_csv(path: Path, header, rows) -> int:
    n = 0
    # UTF-8 with a BOM: Excel on Windows opens it as UTF-8 instead of GBK and shows the Chinese.
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            n += 1
    return n


def _write_xlsx(path: Path, header, rows) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)  # streams rows: memory stays flat for a big queue
    ws = wb.create_sheet(_("事件"))
    ws.freeze_panes = "A2"
    for i, width in enumerate((22, 10, 16, 12, 8, 10, 12, 12, 30, 40) + (20,) * 7):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    bold = Font(bold=True)

    head = []
    for title in header:
        cell = WriteOnlyCell(ws, value=title)
        cell.font = bold
        head.append(cell)
    ws.append(head)
    n = 0
    for row in rows:
        ws.append(row)
        n += 1
    wb.save(path)
    return n


@shared_task(name=TASK_NAME, acks_late=True, max_retries=3, default_retry_delay=10)
def export_build(export_id: str) -> str:
    """Build one export. Claims nothing but a pending row; writes to a temporary name and
    renames, so a half-written file is never served; a second run of a ready export is a no-op."""
    export = Export.objects.select_related("user").filter(id=export_id).first()
    if export is None or export.status != Export.Status.PENDING:
        return "skipped"
    user = export.user
    try:
        query, _form = queue_filters(export.filters or {})
        now = timezone.now()
        cases = (
            case_selectors.case_search_for(user=user, **query)
            .select_related("category", "grid", "handler")
            .order_by("-reported_at")[:MAX_ROWS]
        )
        directory = Path(settings.MEDIA_ROOT) / EXPORT_DIR
        directory.mkdir(parents=True, exist_ok=True)
        stamp = timezone.localtime(export.created_at).strftime("%Y%m%d-%H%M%S")
        name = f"{EXPORT_DIR}/cases-{stamp}-{str(export.id)[:8]}.{export.format}"
        final = Path(settings.MEDIA_ROOT) / name
        temp = final.with_suffix(final.suffix + ".part")
        with override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
            header = _columns()
            rows = _rows(cases.iterator(chunk_size=2000), now)
            if export.format == Export.Format.CSV:
                count = _write_csv(temp, header, rows)
            else:
                count = _write_xlsx(temp, header, rows)
        os.replace(temp, final)
    except Exception as exc:
        log.exception("export %s failed", export_id)
        Export.objects.filter(id=export.id, status=Export.Status.PENDING).update(
            status=Export.Status.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
        return "failed"
    Export.objects.filter(id=export.id, status=Export.Status.PENDING).update(
        status=Export.Status.READY, path=name, row_count=count, finished_at=timezone.now()
    )
    return "ready"


def export_filename(export: Export) -> str:
    stamp = timezone.localtime(export.created_at).strftime("%Y%m%d-%H%M")
    return f"cases-{stamp}.{export.format}"
