"""Reads of cases for other apps and pages. Protected objects are fetched only through the
functions that take the user, so the scope check lives in one place."""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import pii
from accounts.selectors import scope_q
from cockpit.errors import ApplicationError
from events.models import Attachment, Case, CaseLog, Category, ExtensionRequest


def _visible_q(user) -> Q:
    # In the user's part of the town, or handed to the user personally.
    return scope_q(user=user, path_field="node_path") | Q(handler_id=user.id)


def case_list_for(*, user, **filters) -> QuerySet[Case]:
    return (
        Case.objects.filter(_visible_q(user))
        .filter(**filters)
        .select_related("category", "grid", "handler")
        .order_by("-reported_at")
    )


def case_get_for(*, user, id: int) -> Case:
    case = (
        Case.objects.filter(_visible_q(user), id=id)
        .select_related("category", "grid", "handler")
        .first()
    )
    if case is None:
        # The same answer whether it does not exist or lies outside the user's scope.
        raise ApplicationError(_("事件不存在或无权查看。"), status_code=404)
    return case


def case_get_by_number_for(*, user, number: str) -> Case:
    case = (
        Case.objects.filter(_visible_q(user), number=number)
        .select_related("category", "grid", "handler")
        .first()
    )
    if case is None:
        raise ApplicationError(_("事件不存在或无权查看。"), status_code=404)
    return case


def case_by_token(*, token: str) -> Case | None:
    return Case.objects.filter(tracking_token=token).select_related("category", "grid").first()


def case_log(*, case: Case) -> QuerySet[CaseLog]:
    return (
        CaseLog.objects.filter(case_id=case.id)
        .select_related("actor")
        .prefetch_related("attachments")
        .order_by("id")
    )


def log_since_for(
    *, user, after: int, case_id: int | None = None, limit: int = 500
) -> QuerySet[CaseLog]:
    """Entries after sequence ``after`` that the user may see: what a reconnecting client missed."""
    qs = CaseLog.objects.filter(id__gt=after).filter(
        Q(case__in=Case.objects.filter(_visible_q(user)).values("id"))
    )
    if case_id is not None:
        qs = qs.filter(case_id=case_id)
    return qs.select_related("case", "case__category", "actor").order_by("id")[:limit]


def cases_unrouted(*, older_than) -> QuerySet[Case]:
    """Cases reported before ``older_than`` that no routing task has handled (the sweeper's work)."""
    return Case.objects.filter(
        routed_at__isnull=True, reported_at__lt=older_than, status=Case.Status.REPORTED
    )


def categories_for_residents() -> QuerySet[Category]:
    return Category.objects.filter(active=True, resident_visible=True).order_by("sort", "code")


def case_search_for(
    *,
    user,
    status: list[str] | None = None,
    source: list[str] | None = None,
    category: str | None = None,
    grid: int | None = None,
    overdue: bool | None = None,
    q: str | None = None,
) -> QuerySet[Case]:
    """The staff case list: filters combine with AND; ``category`` is a code (standard, legacy or
    local) or an id; ``overdue`` means an open case past any of its running deadlines."""
    qs = case_list_for(user=user)
    if status:
        qs = qs.filter(status__in=status)
    if source:
        qs = qs.filter(source__in=source)
    if category:
        category = str(category).strip()
        by_code = Q(category__code=category) | Q(category__legacy_code=category)
        qs = (
            qs.filter(by_code | Q(category_id=int(category)))
            if category.isdigit() and len(category) < 4
            else qs.filter(by_code)
        )
    if grid:
        qs = qs.filter(grid_id=grid)
    if overdue is not None:
        now = timezone.now()
        late = (
            Q(registered_at__isnull=True, register_due__lt=now)
            | Q(accepted_at__isnull=True, accept_due__lt=now)
            | Q(arrived_at__isnull=True, arrive_due__lt=now)
            | Q(resolved_at__isnull=True, resolve_due__lt=now)
        ) & Q(status__in=Case.OPEN_STATUSES)
        qs = qs.filter(late) if overdue else qs.exclude(late)
    if q:
        q = q.strip()
        qs = qs.filter(
            Q(number__icontains=q)
            | Q(title__icontains=q)
            | Q(description__icontains=q)
            | Q(address__icontains=q)
        )
    return qs


def case_with_extension_flag(qs: QuerySet[Case]) -> QuerySet[Case]:
    return qs.annotate(
        pending_extension=Exists(
            ExtensionRequest.objects.filter(
                case_id=OuterRef("id"), status=ExtensionRequest.Status.PENDING
            )
        )
    )


def extension_pending(*, case: Case) -> ExtensionRequest | None:
    return (
        ExtensionRequest.objects.filter(case_id=case.id, status=ExtensionRequest.Status.PENDING)
        .select_related("requested_by")
        .first()
    )


def case_attachments(*, case: Case, stages: tuple[str, ...] | None = None) -> QuerySet[Attachment]:
    qs = Attachment.objects.filter(case_id=case.id).order_by("id")
    if stages:
        qs = qs.filter(stage__in=stages)
    return qs


def attachment_get_for(*, user, case_id: int, attachment_id: int) -> Attachment:
    """A photo of a case the user may see (404 otherwise, like the case itself)."""
    case = case_get_for(user=user, id=case_id)
    found = Attachment.objects.filter(case_id=case.id, id=attachment_id).first()
    if found is None:
        raise ApplicationError(_("附件不存在。"), status_code=404)
    return found


def track_photo(*, token: str, attachment_id: int) -> Attachment | None:
    """A photo the reporter took (stage "report"), by the secret tracking token."""
    return Attachment.objects.filter(
        case__tracking_token=token, id=attachment_id, stage="report"
    ).first()


def track_entries(*, case: Case, after: int = 0) -> list[dict]:
    """The reporter's view of the case log (events.live.reporter_payload): status changes and
    public replies, no names, no phones, no internal notes."""
    from events.live import reporter_payload

    entries = CaseLog.objects.filter(case_id=case.id, id__gt=after).order_by("id")
    return [p for p in (reporter_payload(e) for e in entries) if p is not None]


def case_by_number_and_phone(*, number: str, phone: str) -> Case | None:
    """A resident who lost the tracking link finds the case with its number and their phone."""
    try:
        normalized = pii.normalize_mobile(phone)
    except Exception:
        return None
    return Case.objects.filter(
        number=(number or "").strip().upper(), reporter_phone_index=pii.blind_index(normalized)
    ).first()


def hotline_order(*, case: Case):
    from events.models import HotlineOrder

    return HotlineOrder.objects.filter(case_id=case.id).first()
