"""Every write to a case. One write path: check → change the row → append to the log → after
commit, push the entry and (for new cases) wake the routing task."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import pii
from cockpit import localcache
from cockpit.celery import app as celery_app
from cockpit.errors import ApplicationError
from events import deadlines, newcases
from events.media import CheckedPhoto
from events.models import Attachment, Case, CaseLog, Category, ExtensionRequest, HotlineOrder
from events.signals import entries_written
from events.workflow import NOTE_ACTIONS, TRANSITIONS, Transition
from grids.coords import to_storage_lnglat
from grids.models import Node

log = logging.getLogger(__name__)

# The routing tasks live in dispatch, which depends on events; events names them, never imports.
ROUTE_PENDING_TASK = "dispatch.tasks.route_pending"
DISPUTE_WINDOW = timedelta(days=7)
BATCH_DEADLOCK_RETRIES = 2
MAX_DESCRIPTION = 2000
MAX_TITLE = 128
MAX_ADDRESS = 256
SOURCES = frozenset(Case.Source.values)
GRADES = frozenset(Category.Grade.values)


@dataclass
class Reporter:
    user: object | None = None  # a staff member reporting (worker, operator)
    name: str = ""
    phone: str = ""  # a resident's phone, kept encrypted
    label: str = ""  # who appears in the log when no staff acted ("市民", "110" …)


class ReportResult:
    """What became of a report: its case, whether it is new, and warnings for the reporter.

    A new case written by the fast path carries its row (events.newcases) and builds the model
    instance only when ``case`` is read: the resident's answer needs the number and the
    tracking token, a webhook's the id and the number."""

    __slots__ = ("created", "warnings", "_case", "_row", "_item")

    def __init__(
        self,
        case: Case | None = None,
        created: bool = False,
        warnings: list[str] | None = None,
        *,
        row: "newcases.NewCase | None" = None,
        item: "ReportInput | None" = None,
    ):
        self.created, self.warnings = created, warnings or []
        self._case, self._row, self._item = case, row, item

    @property
    def case(self) -> Case:
        if self._case is None:
            self._case, _entry = _case_built(self._row, self._item)
        return self._case

    @property
    def case_view(self) -> "Case | SimpleNamespace":
        """The case as events.api.case_summary reads it: the model when there is one, else the
        new row's fields (building the model cost a grid worker's report a tenth of its CPU)."""
        return self._case if self._case is not None else _case_view(self._row)

    @property
    def id(self) -> int:
        return self._case.id if self._case is not None else self._row.id

    @property
    def number(self) -> str:
        return self._case.number if self._case is not None else self._row.number

    @property
    def source(self) -> str:
        return self._case.source if self._case is not None else self._row.values["source"]

    @property
    def tracking_token(self) -> str:
        if self._case is not None:
            return self._case.tracking_token
        return self._row.values["tracking_token"]

    def again(self) -> "ReportResult":
        """The same case, answered to a repeat of the report."""
        return ReportResult(self._case, created=False, row=self._row, item=self._item)


@dataclass
class ReportInput:
    """One report as case_report takes it; batch intake (case_report_many) takes a list."""

    source: str
    category: Category
    description: str = ""
    lng: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    address: str = ""
    photos: list[CheckedPhoto] = field(default_factory=list)
    reporter: Reporter | None = None
    external_id: str = ""
    grade: int | None = None
    title: str = ""
    extra: dict | None = None
    hotline: dict | None = None
    client_action_id: str | None = None


def source_label(source: str) -> str:
    """A source's name in the active language ("110", "市民" …), remembered per language."""
    from events.live import choice_label

    return choice_label(Case.Source, source)


def _town() -> Node | None:
    """The town circle (id and path), for a report outside every grid (cached per process)."""
    return localcache.get(("town",), _town_load)


def _town_load() -> Node | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, path FROM {Node._meta.db_table} WHERE kind = %s ORDER BY id LIMIT 1",
            [Node.Kind.TOWN.value],
        )
        row = cursor.fetchone()
    return Node.from_db(connection.alias, ["id", "path"], row) if row else None


def _on_commit_push(entry_id: int, entry: CaseLog | None = None) -> None:
    """Push the entry after commit. Entries read back for their push (anything but a new
    report) are pushed together, one query and one publish per transaction: the first
    registers the push, the later ones join it. An entry whose savepoint rolled back is not
    found when read back, so it is not pushed; a push whose savepoint rolled back is dropped by
    Django with it, and the next entry registers a new one."""
    from events.live import push_entries, push_entry

    if entry is not None:
        transaction.on_commit(lambda: push_entry(entry_id, entry))
        return
    conn = transaction.get_connection()
    if conn.in_atomic_block:
        # Django's own list of this transaction's callbacks, (savepoint ids, func, robust) in
        # 5.x; tests/dispatch/test_live.py holds the joining and the rollbacks to it.
        for _sids, func, _robust in reversed(conn.run_on_commit):
            joined = getattr(func, "push_ids", None)
            if joined is not None:
                joined.append(entry_id)
                return
    ids = [entry_id]

    def push() -> None:
        push_entries(ids)

    push.push_ids = ids
    transaction.on_commit(push)


ROUTE_WAKE_FLAG = "route:wake"
ROUTE_WAKE_TTL = 10  # seconds: a wake-up whose task was lost is sent again after this


def routing_wake() -> None:
    """After commit of new cases: make sure a route_pending task is on its way. One Celery
    message per wake-up, not per case. The flag is set with SET NX; only the caller that sets
    it sends the task, and the task clears the flag *before* it looks for un-routed cases: a
    case committed before the clear is found by that look, a case committed after it sets the
    flag again and sends the next task. If Redis or the broker is down nothing is queued and the
    periodic sweeper routes the cases later: the database row is the record, nothing is lost."""
    from cockpit import redisclient

    flag = redisclient.key(ROUTE_WAKE_FLAG)
    try:
        (was_set,) = redisclient.exchange([("SET", flag, 1, "NX", "EX", ROUTE_WAKE_TTL)])
        if was_set:
            try:
                celery_app.send_task(ROUTE_PENDING_TASK)
            except Exception:
                redisclient.exchange([("DEL", flag)])  # the next report tries again
                raise
    except Exception:
        log.warning("routing wake-up not sent (Redis or broker down); the sweeper will route")


def routing_wake_clear() -> None:
    """The route_pending task, before it looks for cases (see routing_wake)."""
    from cockpit import redisclient

    redisclient.exchange([("DEL", redisclient.key(ROUTE_WAKE_FLAG))])


def log_append(
    *,
    case: Case,
    action: str,
    actor=None,
    actor_label: str = "",
    note: str = "",
    from_status: str = "",
    to_status: str = "",
    location=None,
    data: dict | None = None,
    client_action_id: str | None = None,
    at: datetime | None = None,
    push_as_built: bool = False,
) -> CaseLog:
    """Append to the case's log; the entry is pushed after commit. ``push_as_built``: the
    caller changes nothing of the case after this in the transaction (a new report), so the
    push is built from these objects instead of reading the entry back."""
    entry = CaseLog.objects.create(
        case=case,
        at=at or timezone.now(),
        actor=actor,
        actor_label=actor_label or ("" if actor else _("系统")),
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
        location=location,
        data=data or {},
        client_action_id=client_action_id,
    )
    _on_commit_push(entry.id, entry if push_as_built else None)
    return entry


def _save_photos(
    *, case: Case, photos: list[CheckedPhoto], stage: str, entry: CaseLog | None, at: datetime
) -> list[Attachment]:
    """Store the checked photos. If one fails, the files already written are removed before the
    error propagates: the transaction rolls back the rows, and this leaves no orphan files."""
    saved: list[Attachment] = []
    try:
        for i, photo in enumerate(photos):
            attachment = Attachment(
                case=case,
                log=entry,
                stage=stage,
                content_type=photo.content_type,
                size=photo.size,
                sha256=photo.sha256,
                width=photo.width,
                height=photo.height,
                uploaded_at=at,
            )
            photo.upload.seek(0)
            attachment.file.save(
                f"{case.number}-{stage}-{i + 1}.{photo.extension}",
                ContentFile(photo.upload.read()),
                save=False,
            )
            saved.append(attachment)
            attachment.save()
    except BaseException:
        _delete_files(saved)
        raise
    return saved


def _delete_files(attachments: list[Attachment]) -> None:
    for attachment in attachments:
        if attachment.file.name:
            try:
                attachment.file.storage.delete(attachment.file.name)
            except OSError:
                log.warning("could not remove %s after a failed write", attachment.file.name)


_CATEGORY_FIELDS = [f.attname for f in Category._meta.concrete_fields]
_CATEGORY_BY_CODE_SQL = (
    "SELECT {cols} FROM {table} WHERE active AND (code = %s OR legacy_code = %s)".format(
        cols=", ".join(connection.ops.quote_name(f.column) for f in Category._meta.concrete_fields),
        table=Category._meta.db_table,
    )
)
_CATEGORY_ORDER_SQL = " ORDER BY code = %s DESC, kind DESC, id LIMIT 1"


def _category_by_code(code: str, kind: str | None) -> Category | None:
    # The code itself beats a legacy alias, then 事项 beats 部件 ("event" > "component").
    sql = _CATEGORY_BY_CODE_SQL + (" AND kind = %s" if kind else "") + _CATEGORY_ORDER_SQL
    params = [code, code] + ([kind] if kind else []) + [code]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return Category.from_db(connection.alias, _CATEGORY_FIELDS, row) if row else None


def category_resolve(
    *, code: str | None = None, category_id: int | None = None, kind: str | None = None
) -> Category:
    """A category by id or code (5-digit standard, 4-digit legacy alias, or a local code).
    部件 and 事项 share the codes 01001–05009; without ``kind`` the 事项 wins, because a case
    is a 事项 (the 部件 of the same code is the object it concerns). A legacy 4-digit code is a
    部件 code (GB/T 30428.2) and resolves to the 部件 that carries it as its alias."""
    code = (str(code).strip() if code is not None else "") or None
    found = None
    if category_id is not None:
        qs = Category.objects.filter(active=True)
        if kind:
            qs = qs.filter(kind=kind)
        found = qs.filter(id=category_id).first()
    elif code:
        found = localcache.get(("category", code, kind), lambda: _category_by_code(code, kind))
    if found is None:
        raise ApplicationError(
            _("未知的事件类别。"),
            fields={"category": [_("没有这个类别：%(c)s") % {"c": code or category_id}]},
        )
    return found


def case_report(
    *,
    source: str,
    category: Category,
    description: str = "",
    lng: float | None = None,
    lat: float | None = None,
    crs: str = "wgs84",
    address: str = "",
    photos: list[CheckedPhoto] | None = None,
    reporter: Reporter | None = None,
    external_id: str = "",
    grade: int | None = None,
    title: str = "",
    extra: dict | None = None,
    hotline: dict | None = None,
    client_action_id: str | None = None,
) -> ReportResult:
    """Take a report from any source. The case and its first log entry are one statement
    (events.newcases); with photos or a 12345 order, one transaction holds them all. After
    commit the entry is pushed and routing is woken. The same (source, external id) is one
    case, and so is the same client_action_id (a phone sending again after a lost answer)."""
    item = ReportInput(
        source=source,
        category=category,
        description=description,
        lng=lng,
        lat=lat,
        crs=crs,
        address=address,
        photos=photos or [],
        reporter=reporter,
        external_id=(external_id or "").strip(),
        grade=grade,
        title=title,
        extra=extra,
        hotline=hotline,
        client_action_id=client_action_id or None,
    )
    existing = _existing(item)
    if existing is not None:
        return ReportResult(existing, created=False)
    now = timezone.now()
    row = report_row(item, now=now)
    town = _town()
    # Only when this is the whole transaction does nothing change the case before commit (an
    # order, for one, dispatches it in the caller's transaction): then the push needs no reread.
    outermost = not connection.in_atomic_block
    try:
        _write([(0, item, row)], now=now, town_path=town.path if town else "/", outermost=outermost)
    except IntegrityError:
        # Two requests with the same external id or client_action_id raced past the check above;
        # the unique indexes let one win. The loser answers with the winner's case.
        existing = _existing(item)
        if existing is not None:
            return ReportResult(existing, created=False)
        raise
    return ReportResult(created=True, warnings=_warnings(row), row=row, item=item)


def _warnings(row: newcases.NewCase) -> list[str]:
    if row.outside:
        return [_("位置不在本镇辖区内，已标记为“辖区外”，由指挥中心研判。")]
    return []


def _existing(item: ReportInput) -> Case | None:
    if item.external_id:
        found = Case.objects.filter(source=item.source, external_id=item.external_id).first()
        if found is not None:
            return found
    if item.client_action_id:
        entry = (
            CaseLog.objects.filter(client_action_id=item.client_action_id)
            .select_related("case")
            .first()
        )
        if entry is not None:
            return entry.case
    return None


def report_row(
    item: ReportInput,
    *,
    now: datetime,
    calendar=None,
    policies: dict | None = None,
    plans: dict | None = None,
) -> newcases.NewCase:
    """Check one report and make its row (events.newcases): place, deadlines, the reporter's
    phone sealed. Writes nothing, asks the database nothing (the grid is found by the write);
    raises ApplicationError with every field at fault. ``plans``: deadline plans already
    counted in this batch, by (category, grade)."""
    reporter = item.reporter or Reporter()
    source, category = item.source, item.category
    if source not in SOURCES:
        raise ApplicationError(_("未知的来源。"), fields={"source": [_("未知的来源。")]})
    errors: dict[str, list[str]] = {}
    if len(item.external_id) > 128:
        errors["external_id"] = [_("不能超过 128 个字符。")]
    if item.client_action_id and len(item.client_action_id) > 64:
        errors["client_action_id"] = [_("不能超过 64 个字符。")]
    description = (item.description or "").strip()
    address = (item.address or "").strip()
    title = (item.title or "").strip()
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = [_("描述不能超过 %(n)d 个字。") % {"n": MAX_DESCRIPTION}]
    if len(title) > MAX_TITLE:
        errors["title"] = [_("标题不能超过 %(n)d 个字。") % {"n": MAX_TITLE}]
    if len(address) > MAX_ADDRESS:
        errors["address"] = [_("地址不能超过 256 个字。")]
    if item.grade is not None and item.grade not in GRADES:
        errors["grade"] = [_("等级只能是 1（特急）、2（紧急）或 3（一般）。")]
    if category is None or not category.active:
        errors["category"] = [_("请选择事件类别。")]
    lng = lat = None
    crs = (item.crs or "wgs84").strip().lower()
    if item.lng is None or item.lat is None:
        if item.lng is not None or item.lat is not None:
            errors["location"] = [_("经度和纬度须同时提供。")]
        elif not address:
            errors["location"] = [_("请提供位置：在地图上选点或填写地址。")]
    else:
        try:
            lng, lat = to_storage_lnglat(item.lng, item.lat, crs)
        except ApplicationError as exc:
            errors.update({k: [str(m) for m in v] for k, v in exc.fields.items()})
    anonymous = bool(item.hotline and item.hotline.get("anonymous"))
    phone = ""
    if reporter.phone and not anonymous:
        try:
            phone = pii.normalize_mobile(reporter.phone)
        except ValidationError:
            errors["phone"] = [_("请填写 11 位手机号码。")]
    if len(reporter.name or "") > 64:
        errors["name"] = [_("姓名不能超过 64 个字。")]
    if errors:
        raise ApplicationError(_("提交的内容有误，请检查标出的字段。"), fields=errors)

    grade = item.grade or category.default_grade
    key = (category.id, grade)
    plan = plans.get(key) if plans is not None else None
    if plan is None:
        plan = deadlines.deadlines_plan(
            category=category,
            grade=grade,
            steps=deadlines.report_steps(grade),
            start=now,
            calendar=calendar if calendar is not None else deadlines.calendar_cached(now),
            policies=policies if policies is not None else deadlines.policies_cached(),
        )
        if plans is not None:
            plans[key] = plan
    extra = dict(item.extra or {})
    if "joint" in plan:
        extra["joint_due"] = plan["joint"].isoformat()
    user = reporter.user
    values = {
        "source": source,
        "external_id": item.external_id,
        "category_id": category.id,
        "grade": grade,
        "title": title or category.name,
        "description": description,
        "src_crs": crs,
        "address": address,
        "reporter_user_id": user.id if user is not None else None,
        # 12345 匿名: the hotline keeps who called; we keep nobody.
        "reporter_name": "" if anonymous else (reporter.name or "").strip(),
        "reporter_phone_enc": pii.encrypt(phone) if phone else "",
        "reporter_phone_index": pii.blind_index(phone) if phone else "",
        "tracking_token": newcases.tracking_token(),
        "register_due": plan.get("register"),
        "accept_due": plan.get("accept"),
        "arrive_due": plan.get("arrive"),
        # 12345 sets its own 办理时限; the dispatch keeps it rather than counting anew.
        "resolve_due": (item.hotline or {}).get("due_at"),
        "extra": extra,
        # the first log entry
        "actor_label": str(reporter.label)
        if reporter.label
        else ("" if user is not None else source_label(source)),
        "note": description[:200],
        "client_action_id": item.client_action_id,
    }
    return newcases.NewCase(values=values, lng=lng, lat=lat, category=category)


_CASE_FROM_ROW = [a for a in newcases.CASE_ROW if a not in ("category_id", "reporter_user_id")]


def _case_built(row: newcases.NewCase, item: ReportInput) -> tuple[Case, CaseLog]:
    """The written case and its first entry as model instances (one report: its caller answers
    with the case, and photos and a 12345 order hang on it)."""
    v = row.values
    case = Case(
        id=row.id,
        number=row.number,
        category=row.category,
        reporter_user=(item.reporter or Reporter()).user,
        location=Point(row.lng, row.lat, srid=settings.STORAGE_SRID)
        if row.lng is not None
        else None,
        grid=Node.from_db(
            connection.alias,
            ["id", "code", "name", "path"],
            [row.grid_id, row.grid_code, row.grid_name, row.grid_path],
        )
        if row.grid_id is not None
        else None,
        node_path=row.node_path,
        outside_jurisdiction=row.outside,
        reported_at=row.reported_at,
        **{a: v[a] for a in _CASE_FROM_ROW},
    )
    case._state.adding, case._state.db = False, connection.alias
    entry = CaseLog(
        id=row.entry_id,
        case=case,
        at=row.reported_at,
        actor=case.reporter_user,
        actor_label=v["actor_label"],
        action="report",
        to_status=Case.Status.REPORTED,
        note=v["note"],
        location=case.location,
        data=_entry_data(row),
        client_action_id=v["client_action_id"],
    )
    entry._state.adding, entry._state.db = False, connection.alias
    return case, entry


def _entry_data(row: newcases.NewCase) -> dict:
    return {
        "source": row.values["source"],
        "outside_jurisdiction": row.outside,
        "grid": row.grid_code,
    }


class _XY:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x, self.y = x, y


def _case_view(row: newcases.NewCase) -> SimpleNamespace:
    """A new case's fields as case_summary and the live push read them (the ones the write did
    not set are the model's defaults, as in the written row). tests/events/test_staff_report.py holds the
    answer built from it to the stored case's summary."""
    v = row.values
    return SimpleNamespace(
        id=row.id,
        number=row.number,
        source=v["source"],
        category_id=row.category.id,
        category=row.category,
        grade=v["grade"],
        title=v["title"],
        status=Case.Status.REPORTED.value,
        address=v["address"],
        location=_XY(row.lng, row.lat) if row.lng is not None else None,
        grid_id=row.grid_id,
        node_path=row.node_path,
        grid=SimpleNamespace(code=row.grid_code, name=row.grid_name)
        if row.grid_id is not None
        else None,
        outside_jurisdiction=row.outside,
        handler_id=None,
        handler=None,
        reported_at=row.reported_at,
        register_due=v["register_due"],
        accept_due=v["accept_due"],
        arrive_due=v["arrive_due"],
        resolve_due=v["resolve_due"],
        escalation_level=0,
    )


def _pushable(row: newcases.NewCase) -> SimpleNamespace:
    """A new case's first entry as events.live reads it (entry_payload, groups_for),
    without building model instances for a hundred rows."""
    v = row.values
    return SimpleNamespace(
        id=row.entry_id,
        case=_case_view(row),
        at=row.reported_at,
        action="report",
        actor_id=None,
        actor=None,
        actor_label=v["actor_label"],
        from_status="",
        to_status=Case.Status.REPORTED.value,
        note=v["note"],
        data=_entry_data(row),
    )


def _after_commit(rows: list[newcases.NewCase], *, outermost: bool) -> None:
    """Push the new entries and wake routing. Outermost, nothing changed the cases since the
    write: the pushes are built from the rows; inside a caller's transaction they may have
    changed (an order dispatched one): the entries are read back."""
    from events.live import push_entries, push_entries_built

    if outermost:
        push_entries_built([_pushable(r) for r in rows])
    else:
        push_entries([r.entry_id for r in rows])
    routing_wake()
    # The entries were written without post_save: tell who listens for new entries.
    entries_written.send(sender=CaseLog, action="report", entry_ids=[r.entry_id for r in rows])


# One index probe per id (case_unique_external_id, both columns), whatever the statistics say:
# as "external_id = ANY(%s)" the planner, its statistics taken while a source had few cases,
# probed by source alone and filtered every case of the source (23 ms a batch at 67,000 IoT cases,
# growing with the table). LIMIT 1 keeps the subquery a per-id probe (not a hash join).
_KNOWN_IDS_SQL = (
    "SELECT k.id FROM unnest(%s::text[]) AS x(id), LATERAL ("
    f" SELECT c.id FROM {Case._meta.db_table} c WHERE c.source = %s AND c.external_id = x.id"
    " AND c.external_id <> '' LIMIT 1) k"
)


def case_report_many(
    *, items: list[ReportInput | ApplicationError]
) -> list[ReportResult | ApplicationError]:
    """Batch intake (webhooks): each item is answered in order with a ReportResult (created or
    existing) or the ApplicationError that refused it; a bad item never blocks the good ones.

    Existing external ids in one query; the new cases and their first entries in one statement
    (events.newcases), 12345 orders in one INSERT; the pushes in one go after commit. A new
    case's result carries a light record (id, number and the written fields), not a model
    instance. If a concurrent request inserted one of the same external ids meanwhile, the
    statement fails and the batch falls back to case_report item by item, which settles every
    race through the unique index.

    Without photos or 12345 orders, and called outside a transaction, the statement commits on
    its own (autocommit): the rollup rows its trigger updates — shared by every batch from the
    same grids — are locked only while PostgreSQL runs it, not across further round trips, so
    concurrent batches do not queue behind one another's COMMIT."""
    outermost = not connection.in_atomic_block
    results: list[ReportResult | ApplicationError | None] = [None] * len(items)
    valid = [(i, item) for i, item in enumerate(items) if isinstance(item, ReportInput)]
    for i, item in enumerate(items):
        if isinstance(item, ApplicationError):
            results[i] = item
    found: dict[tuple[str, str], Case] = {}
    by_source: dict[str, list[str]] = {}
    for _i, item in valid:
        if item.external_id:
            by_source.setdefault(item.source, []).append(item.external_id)
    for source, ids in by_source.items():
        # Mostly none are known: ask which with one light query, load only those (by id).
        with connection.cursor() as cursor:
            cursor.execute(_KNOWN_IDS_SQL, [ids, source])
            known = [case_id for (case_id,) in cursor.fetchall()]
        if known:
            for case in Case.objects.filter(id__in=known):
                found[(source, case.external_id)] = case
    action_ids = [item.client_action_id for _i, item in valid if item.client_action_id]
    found_actions = (
        {
            e.client_action_id: e.case
            for e in CaseLog.objects.filter(client_action_id__in=action_ids).select_related("case")
        }
        if action_ids
        else {}
    )

    now = timezone.now()
    town = _town()
    calendar = deadlines.calendar_cached(now)
    policies = deadlines.policies_cached()
    plans: dict = {}
    fresh: list[tuple[int, ReportInput, newcases.NewCase]] = []
    first_in_batch: dict[tuple, int] = {}
    duplicates: list[tuple[int, int]] = []  # (index, index of the first item with the same id)
    for i, item in valid:
        keys = []
        if item.external_id:
            keys.append(("x", item.source, item.external_id))
        if item.client_action_id:
            keys.append(("a", item.client_action_id))
        existing = (
            found.get((item.source, item.external_id)) if item.external_id else None
        ) or found_actions.get(item.client_action_id or "")
        if existing is not None:
            results[i] = ReportResult(existing, created=False)
            continue
        twin = next((first_in_batch[k] for k in keys if k in first_in_batch), None)
        if twin is not None:
            duplicates.append((i, twin))
            continue
        try:
            row = report_row(item, now=now, calendar=calendar, policies=policies, plans=plans)
        except ApplicationError as exc:
            results[i] = exc
            continue
        for k in keys:
            first_in_batch[k] = i
        fresh.append((i, item, row))

    if fresh:
        written = False
        for attempt in range(BATCH_DEADLOCK_RETRIES + 1):
            try:
                _write(fresh, now=now, town_path=town.path if town else "/", outermost=outermost)
                written = True
                break
            except IntegrityError:
                log.info(
                    "batch intake raced a concurrent request; writing %d items one by one",
                    len(fresh),
                )
                break
            except OperationalError as exc:
                # 40P01: a concurrent transaction changed the same rollup rows
                # (cockpit.screen.rollups) in another order and PostgreSQL aborted this write.
                # The statement (or savepoint) is rolled back and the other has gone on: again.
                if _pgcode(exc) != "40P01" or attempt == BATCH_DEADLOCK_RETRIES:
                    raise
                log.info("batch intake deadlocked with a concurrent write; writing it again")
        if written:
            for i, item, row in fresh:
                results[i] = ReportResult(created=True, warnings=_warnings(row), row=row, item=item)
        else:
            for i, item, _row in fresh:
                try:
                    with transaction.atomic():
                        results[i] = case_report(
                            **{f: getattr(item, f) for f in item.__dataclass_fields__}
                        )
                except ApplicationError as exc:
                    results[i] = exc
    for i, twin in duplicates:
        first = results[twin]
        results[i] = first.again() if isinstance(first, ReportResult) else first
    return results  # type: ignore[return-value]


def _pgcode(exc: Exception) -> str | None:
    return getattr(exc.__cause__, "pgcode", None)


def _write(fresh: list, *, now: datetime, town_path: str, outermost: bool) -> None:
    """Write new cases ((index, item, row) triples) and, after commit, push their entries and
    wake routing. Without photos or 12345 orders and outside any transaction, the statement is
    a transaction of its own (autocommit: no BEGIN, no COMMIT round trips, the rollup rows it
    updates locked only while PostgreSQL runs it). Otherwise one transaction — a savepoint
    inside a caller's, so a racing duplicate does not poison it — holds the statement, the
    orders and the photos; a photo that fails leaves no file behind."""
    rows = [row for _i, _item, row in fresh]
    if outermost and not any(item.photos or item.hotline for _i, item, _row in fresh):
        newcases.cases_write(rows, now=now, town_path=town_path)
        _after_commit(rows, outermost=True)
        return
    with transaction.atomic():
        newcases.cases_write(rows, now=now, town_path=town_path)
        HotlineOrder.objects.bulk_create(
            [
                HotlineOrder(case_id=row.id, **item.hotline)
                for _i, item, row in fresh
                if item.hotline
            ]
        )
        saved: list[Attachment] = []
        try:
            for _i, item, row in fresh:
                if item.photos:
                    case, entry = _case_built(row, item)
                    saved += _save_photos(
                        case=case, photos=item.photos, stage="report", entry=entry, at=now
                    )
        except BaseException:
            _delete_files(saved)
            raise
        transaction.on_commit(lambda: _after_commit(rows, outermost=outermost))


def _lock(case_id: int) -> Case:
    try:
        return (
            Case.objects.select_for_update(of=("self",)).select_related("category").get(id=case_id)
        )
    except Case.DoesNotExist:
        raise ApplicationError(_("事件不存在。"), status_code=404)


def action_done(case_id: int, client_action_id: str) -> CaseLog | None:
    """The entry an offline phone's action id already made on this case, if any; the same id on
    another case is refused (409), never answered with that case's entry."""
    done = CaseLog.objects.filter(client_action_id=client_action_id).first()
    if done is not None and done.case_id != case_id:
        raise ApplicationError(
            _("操作编号已被其他事件使用。"),
            fields={"client_action_id": [_("重复的操作编号。")]},
            status_code=409,
        )
    return done


@transaction.atomic
def case_transition(
    *, case_id: int, action: str, client_action_id: str | None = None, **step
) -> CaseLog:
    """Move a case along its lifecycle. An illegal move is refused with a clear error; a
    repeated client_action_id (an offline phone sending again) returns the first entry.
    ``step``: who, what and where — actor, actor_label, note, location, data, updates, photos
    (the keywords of _transition_locked, which does the move).

    A dispatch sets the acceptance, arrival and resolution deadlines (unless ``updates`` brings
    its own): acceptance and arrival count anew from every dispatch, the resolution deadline
    only from the first (a wrong dispatch does not buy time; an approved extension or a 12345
    limit stays). A return (回退) takes the case out of the handler's hands."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ApplicationError(
            _("未知的操作：%(a)s") % {"a": action}, fields={"action": [_("未知的操作。")]}
        )
    # Lock first, then look for the client_action_id: two copies of one offline action arriving
    # together queue on the row lock, and the second finds the first's entry instead of
    # failing the transition it already made.
    case = _lock(case_id)
    if client_action_id:
        done = action_done(case_id, client_action_id)
        if done is not None:
            return done
    return _transition_locked(
        case, transition, action=action, client_action_id=client_action_id, **step
    )


def _transition_locked(
    case: Case,
    transition: Transition,
    *,
    action: str,
    actor=None,
    actor_label: str = "",
    note: str = "",
    location=None,
    data: dict | None = None,
    client_action_id: str | None = None,
    updates: dict | None = None,
    photos: list[CheckedPhoto] | None = None,
) -> CaseLog:
    """case_transition on a case this transaction has locked (select_related category)."""
    if case.status not in transition.sources:
        raise ApplicationError(
            _("事件当前状态为“%(status)s”，不能“%(action)s”。")
            % {"status": Case.Status(case.status).label, "action": transition.label},
            fields={"action": [_("当前状态不允许此操作。")]},
            status_code=409,
        )
    if transition.needs_note and not (note or "").strip():
        raise ApplicationError(_("请填写理由。"), fields={"note": [_("此操作需要填写理由。")]})
    now = timezone.now()
    previous = case.status
    case.status = transition.target
    fields = ["status", "updated_at"]
    if transition.stamp:
        setattr(case, transition.stamp, now)
        fields.append(transition.stamp)
    updates = dict(updates or {})
    if action == "dispatch":
        plan = deadlines.deadlines_plan(
            category=case.category,
            grade=case.grade,
            steps=deadlines.dispatch_steps(case.grade),
            start=now,
        )
        for step, due in plan.items():
            name = deadlines.STEP_FIELDS[step]
            if name in updates or (step == "resolve" and case.resolve_due is not None):
                continue
            updates[name] = due
    if action == "return":
        updates.setdefault("handler", None)
    for name, value in updates.items():
        setattr(case, name, value)
        fields.append(name)
    case.save(update_fields=list(dict.fromkeys(fields)))
    entry = log_append(
        case=case,
        action=action,
        actor=actor,
        actor_label=actor_label,
        note=note,
        from_status=previous,
        to_status=case.status,
        location=location,
        data=data,
        client_action_id=client_action_id,
        at=now,
    )
    if photos:
        _save_photos(case=case, photos=photos, stage=action, entry=entry, at=now)
    return entry


@transaction.atomic
def case_note(
    *,
    case_id: int,
    action: str,
    actor=None,
    actor_label: str = "",
    note: str = "",
    data: dict | None = None,
    updates: dict | None = None,
    location=None,
    client_action_id: str | None = None,
) -> CaseLog:
    """Log something that changes no status (routing decision, escalation, reply, rating…)."""
    if action not in NOTE_ACTIONS:
        raise ApplicationError(
            _("未知的操作：%(a)s") % {"a": action}, fields={"action": [_("未知的操作。")]}
        )
    case = _lock(case_id)
    if client_action_id:
        done = action_done(case_id, client_action_id)
        if done is not None:
            return done
    updates = dict(updates or {})
    if action == "join" and not case.extra.get("joint_at"):
        # The "135" joint response is met by the first 同圈联动 entry.
        updates["extra"] = {**case.extra, "joint_at": timezone.now().isoformat()}
    if updates:
        for name, value in updates.items():
            setattr(case, name, value)
        case.save(update_fields=[*updates.keys(), "updated_at"])
    return log_append(
        case=case,
        action=action,
        actor=actor,
        actor_label=actor_label,
        note=note,
        from_status=case.status,
        to_status=case.status,
        data=data,
        location=location,
        client_action_id=client_action_id,
    )


@transaction.atomic
def case_merge(
    *,
    case_id: int,
    into_id: int,
    actor=None,
    reason: str,
    client_action_id: str | None = None,
    updates: dict | None = None,
) -> CaseLog:
    """Merge a duplicate into the open case it repeats; both numbers stay and both logs say so.
    ``updates``: more fields of the duplicate to set in the same write (routing's decision)."""
    if client_action_id:
        done = action_done(case_id, client_action_id)
        if done is not None:
            return done
    if case_id == into_id:
        raise ApplicationError(_("不能并入自身。"), fields={"into": [_("不能并入自身。")]})
    # Lock both rows in id order (one statement: FOR UPDATE locks as it reads, in the ORDER BY
    # order), so two opposite merges cannot deadlock.
    locked = {
        c.id: c
        for c in Case.objects.select_for_update(of=("self",))
        .select_related("category")
        .filter(id__in=(case_id, into_id))
        .order_by("id")
    }
    if case_id not in locked or into_id not in locked:
        raise ApplicationError(_("事件不存在。"), status_code=404)
    case, target = locked[case_id], locked[into_id]
    if not target.is_open:
        raise ApplicationError(
            _("目标事件已办结，不能并入。"),
            fields={"into": [_("目标事件已办结。")]},
            status_code=409,
        )
    if target.merged_into_id == case_id:
        raise ApplicationError(
            _("目标事件已并入本事件。"), fields={"into": [_("不能互相合并。")]}, status_code=409
        )
    entry = _transition_locked(
        case,
        TRANSITIONS["merge"],
        action="merge",
        actor=actor,
        note=reason,
        data={"into": target.number},
        updates={**(updates or {}), "merged_into_id": target.id},
        client_action_id=client_action_id,
    )
    log_append(
        case=target,
        action="duplicate",
        actor=actor,
        note=reason,
        from_status=target.status,
        to_status=target.status,
        data={"merged": case.number},
    )
    return entry


@transaction.atomic
def case_rate(*, token: str, rating: str, comment: str = "") -> Case:
    """The reporter's verdict on a closed case (满意 / 基本满意 / 不满意)."""
    case = Case.objects.select_for_update().filter(tracking_token=token).first()
    if case is None:
        raise ApplicationError(_("没有找到这条上报。"), status_code=404)
    if rating not in Case.Rating.values:
        raise ApplicationError(
            _("请选择评价。"), fields={"rating": [_("请选择满意、基本满意或不满意。")]}
        )
    if len(comment) > 500:
        raise ApplicationError(
            _("评价意见不能超过 500 字。"), fields={"comment": [_("不能超过 500 字。")]}
        )
    if case.status != Case.Status.CLOSED:
        raise ApplicationError(
            _("事件办结后才能评价。"), fields={"rating": [_("事件尚未办结。")]}, status_code=409
        )
    if case.rated_at is not None:
        raise ApplicationError(
            _("这条上报已经评价过了。"), fields={"rating": [_("已评价。")]}, status_code=409
        )
    case.rating, case.rating_comment, case.rated_at = rating, comment.strip(), timezone.now()
    case.save(update_fields=["rating", "rating_comment", "rated_at", "updated_at"])
    log_append(
        case=case,
        action="rate",
        actor_label=_("市民"),
        note=comment.strip(),
        from_status=case.status,
        to_status=case.status,
        data={"rating": rating},
    )
    return case


@transaction.atomic
def case_dispute(*, token: str, reason: str) -> Case:
    """A reporter disputes a closure within 7 days: the case goes back for verification."""
    case = Case.objects.filter(tracking_token=token).only("id", "status", "closed_at").first()
    if case is None:
        raise ApplicationError(_("没有找到这条上报。"), status_code=404)
    if case.status != Case.Status.CLOSED or case.closed_at is None:
        raise ApplicationError(_("只有已结案的事件可以提出异议。"), status_code=409)
    if timezone.now() - case.closed_at > DISPUTE_WINDOW:
        raise ApplicationError(
            _("结案已超过 7 天，不能再提出异议。"),
            fields={"reason": [_("已超过 7 天。")]},
            status_code=409,
        )
    case_transition(
        case_id=case.id,
        action="dispute",
        actor_label=_("市民"),
        note=reason,
        updates={"rating": "", "rated_at": None},
    )
    return Case.objects.get(id=case.id)


@transaction.atomic
def extension_request(
    *, case_id: int, actor, new_due: datetime, reason: str, client_action_id: str | None = None
) -> ExtensionRequest:
    case = _lock(case_id)
    if client_action_id:
        done = action_done(case_id, client_action_id)
        if done is not None:
            return ExtensionRequest.objects.get(id=done.data["request"])
    if not case.is_open:
        raise ApplicationError(_("事件已办结，不能申请延期。"), status_code=409)
    if not (reason or "").strip():
        raise ApplicationError(_("请填写延期理由。"), fields={"reason": [_("请填写理由。")]})
    if len(reason) > 500:
        raise ApplicationError(
            _("理由不能超过 500 字。"), fields={"reason": [_("不能超过 500 字。")]}
        )
    current = case.resolve_due or timezone.now()
    if new_due <= current:
        raise ApplicationError(
            _("申请的期限须晚于当前期限。"), fields={"new_due": [_("须晚于当前期限。")]}
        )
    if ExtensionRequest.objects.filter(case=case, status=ExtensionRequest.Status.PENDING).exists():
        raise ApplicationError(_("已有一条待审批的延期申请。"), status_code=409)
    request = ExtensionRequest.objects.create(
        case=case,
        requested_by=actor,
        requested_at=timezone.now(),
        new_due=new_due,
        reason=reason.strip(),
    )
    log_append(
        case=case,
        action="extension_request",
        actor=actor,
        note=reason.strip(),
        from_status=case.status,
        to_status=case.status,
        data={"new_due": new_due.isoformat(), "request": request.id},
        client_action_id=client_action_id,
    )
    return request


@transaction.atomic
def extension_decide(
    *, request_id: int, actor, approve: bool, note: str = "", client_action_id: str | None = None
) -> ExtensionRequest:
    request = ExtensionRequest.objects.filter(id=request_id).first()
    if request is None:
        raise ApplicationError(_("延期申请不存在。"), status_code=404)
    case = _lock(
        request.case_id
    )  # the case first, as every other write does: no lock-order deadlock
    if client_action_id and action_done(case.id, client_action_id) is not None:
        return ExtensionRequest.objects.get(id=request_id)
    request = ExtensionRequest.objects.select_for_update().get(id=request_id)
    if request.status != ExtensionRequest.Status.PENDING:
        raise ApplicationError(_("这条延期申请已经处理过了。"), status_code=409)
    if len(note or "") > 500:
        raise ApplicationError(
            _("理由不能超过 500 字。"), fields={"note": [_("不能超过 500 字。")]}
        )
    request.status = (
        ExtensionRequest.Status.APPROVED if approve else ExtensionRequest.Status.REFUSED
    )
    request.decided_by, request.decided_at, request.decision_note = actor, timezone.now(), note
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    data = {"request": request.id, "new_due": request.new_due.isoformat()}
    if approve:
        data["old_due"] = case.resolve_due.isoformat() if case.resolve_due else None
        case.resolve_due = request.new_due
        case.escalation_level = 0
        case.save(update_fields=["resolve_due", "escalation_level", "updated_at"])
    log_append(
        case=case,
        action="extension_approve" if approve else "extension_refuse",
        actor=actor,
        note=note,
        from_status=case.status,
        to_status=case.status,
        data=data,
        client_action_id=client_action_id,
    )
    return request


def reporter_phone_reveal(*, case: Case, user, request=None) -> str:
    """The reporter's phone in clear, for a role allowed to see it; the reveal is audited. A
    12345 order marked 保密 (confidential) is never revealed here: the hotline keeps the
    caller's details and answers the caller itself."""
    if not case.reporter_phone_enc:
        return ""
    hotline = HotlineOrder.objects.filter(case_id=case.id).only("confidential").first()
    if hotline is not None and hotline.confidential:
        from accounts.services import audit_record

        audit_record(
            user=user,
            event="pii.reveal",
            success=False,
            request=request,
            target=f"case:{case.number}",
            detail={"field": "reporter_phone", "reason": "confidential"},
        )
        raise ApplicationError(_("该12345工单要求保密，不能查看来电人号码。"), status_code=403)
    return pii.pii_reveal(
        user=user,
        value_enc=case.reporter_phone_enc,
        field="reporter_phone",
        target=f"case:{case.number}",
        request=request,
    )


@transaction.atomic
def hotline_callback_record(
    *,
    case_id: int,
    actor,
    at: datetime,
    method: str,
    result: str,
    satisfaction: str,
    resolved: bool | None = None,
    client_action_id: str | None = None,
) -> HotlineOrder:
    """12345 回访: when and how the caller was called back, what they said, how satisfied."""
    case = _lock(case_id)
    if client_action_id and action_done(case_id, client_action_id) is not None:
        return HotlineOrder.objects.get(case_id=case_id)
    order = HotlineOrder.objects.select_for_update().filter(case_id=case.id).first()
    if order is None:
        raise ApplicationError(_("这不是12345工单，不能登记回访。"), status_code=409)
    errors = {}
    if satisfaction not in Case.Rating.values:
        errors["satisfaction"] = [_("请选择满意、基本满意或不满意。")]
    if len(result or "") > 500:
        errors["result"] = [_("不能超过 500 字。")]
    if not (method or "").strip() or len(method) > 16:
        errors["method"] = [_("请填写回访方式（如电话、短信）。")]
    if at > timezone.now() + timedelta(minutes=5):
        errors["at"] = [_("回访时间不能晚于现在。")]
    if errors:
        raise ApplicationError(_("提交的内容有误，请检查标出的字段。"), fields=errors)
    order.callback_at, order.callback_method, order.callback_result = (
        at,
        method.strip(),
        (result or "").strip(),
    )
    order.callback_satisfaction, order.resolved_flag = satisfaction, resolved
    order.save(
        update_fields=[
            "callback_at",
            "callback_method",
            "callback_result",
            "callback_satisfaction",
            "resolved_flag",
        ]
    )
    log_append(
        case=case,
        action="callback",
        actor=actor,
        note=order.callback_result,
        from_status=case.status,
        to_status=case.status,
        data={
            "at": at.isoformat(),
            "method": order.callback_method,
            "satisfaction": satisfaction,
            "resolved": resolved,
        },
        client_action_id=client_action_id,
    )
    return order
