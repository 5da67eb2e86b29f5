from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Func
from django.utils.translation import gettext_lazy as _


class Category(models.Model):
    """A case category: GB/T 47678.5-2026 部件/事项 (5-digit 大类+小类; the 4-digit GB/T 30428.2
    code kept as ``legacy_code``) or one of the town's own scenes (``is_local_extension``)."""

    class Kind(models.TextChoices):
        COMPONENT = "component", _("部件")
        MATTER = "matter", _("事项")
        SCENE = "scene", _("本地场景")

    class Grade(models.IntegerChoices):
        EMERGENCY = 1, _("特急")  # "135": acknowledged in 1 min, on site in 3, joint response in 5
        URGENT = 2, _("紧急")
        NORMAL = 3, _("一般")

    class Icon(models.TextChoices):
        """The 随手拍 picker's icons, drawn as inline SVG (events/templatetags/category_icons.py):
        no emoji, which a phone or browser without an emoji font shows as empty boxes."""

        TRASH = "trash", _("垃圾桶")
        CAR = "car", _("汽车")
        STALL = "stall", _("摊位")
        ROAD = "road", _("路障")
        LAMP = "lamp", _("灯泡")
        BOX = "box", _("箱子")
        NOISE = "noise", _("喇叭")
        WATER = "water", _("水波")
        POSTER = "poster", _("纸张")
        HAZARD = "hazard", _("警示")
        DISPUTE = "dispute", _("对话")
        OTHER = "other", _("铅笔")

    standard_ref = models.CharField(_("标准"), max_length=32, default="GB/T 47678.5-2026")
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    code = models.CharField(_("编码"), max_length=16)
    legacy_code = models.CharField(_("旧编码（GB/T 30428.2）"), max_length=8, blank=True)
    major_name = models.CharField(_("大类"), max_length=32, blank=True)
    name = models.CharField(_("名称"), max_length=64)
    name_en = models.CharField(_("英文名称"), max_length=96, blank=True)
    is_local_extension = models.BooleanField(_("本地扩展"), default=False)
    default_grade = models.PositiveSmallIntegerField(
        _("默认等级"), choices=Grade.choices, default=Grade.NORMAL
    )
    # Residents pick from a short list; the rest are for staff and machines.
    resident_visible = models.BooleanField(_("随手拍可选"), default=False)
    icon = models.CharField(_("图标"), max_length=16, choices=Icon.choices, blank=True)
    sort = models.PositiveIntegerField(_("排序"), default=100)
    active = models.BooleanField(_("启用"), default=True)
    register_condition = models.TextField(_("立案条件"), blank=True)
    close_condition = models.TextField(_("结案条件"), blank=True)

    class Meta:
        verbose_name = _("事件类别")
        verbose_name_plural = _("事件类别")
        ordering = ["sort", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["standard_ref", "kind", "code"], name="category_unique_code"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class NextCaseNumber(Func):
    """SD-YYYYMMDD-NNNNNN from a database sequence: unique without a lock on a counter row. The
    number part has at least six digits and grows past 999,999 instead of being cut (the SQL
    function ``events_case_number()`` is created by migration 0004)."""

    template = "events_case_number()"
    output_field = models.CharField()

    def __init__(self):
        super().__init__()


class Case(models.Model):
    class Source(models.TextChoices):
        RESIDENT = "resident", _("随手拍")
        WORKER = "worker", _("网格员上报")
        PATROL = "patrol", _("联勤巡查")
        SUPERIOR = "superior", _("上级指派")
        HOTLINE = "12345", _("12345热线")
        POLICE = "110", _("110联动")
        FIRE = "119", _("119消防")
        FOUR_PLATFORMS = "four_platforms", _("基层治理四平台")
        VIDEO_AI = "video_ai", _("视频智能分析")
        IOT = "iot", _("物联感知")
        OPEN311 = "open311", _("Open311")
        OTHER_PLATFORM = "other_platform", _("其他平台")
        ORDER = "order", _("指挥长指令")
        MODULE = "module", _("业务模块")

    class Status(models.TextChoices):
        REPORTED = "reported", _("已上报")
        REGISTERED = "registered", _("已立案")
        REJECTED = "rejected", _("不予立案")
        DISPATCHED = "dispatched", _("已派遣")
        ACCEPTED = "accepted", _("已签收")
        ON_SITE = "on_site", _("已到场")
        RESOLVED = "resolved", _("已处置")
        REWORK = "rework", _("返工")
        VERIFIED = "verified", _("已核查")
        CLOSED = "closed", _("已结案")
        RETURNED = "returned", _("已回退")
        PARKED = "parked", _("挂账")
        MERGED = "merged", _("已合并")

    OPEN_STATUSES = (
        Status.REPORTED,
        Status.REGISTERED,
        Status.DISPATCHED,
        Status.ACCEPTED,
        Status.ON_SITE,
        Status.RESOLVED,
        Status.REWORK,
        Status.VERIFIED,
        Status.RETURNED,
    )
    FINAL_STATUSES = (Status.CLOSED, Status.REJECTED, Status.MERGED)

    class Rating(models.TextChoices):
        SATISFIED = "satisfied", _("满意")
        BASIC = "basic", _("基本满意")
        UNSATISFIED = "unsatisfied", _("不满意")

    number = models.CharField(
        _("编号"), max_length=24, unique=True, db_default=NextCaseNumber(), editable=False
    )
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    external_id = models.CharField(_("外部编号"), max_length=128, blank=True, default="")
    # Indexed by case_category_status (category, status), and handler by case_handler_status:
    # a single-column index beside each would only cost every insert.
    # category, grid and CaseLog.case are foreign keys without a database constraint: a
    # constraint's check is one lookup per inserted row, ~15 % of batch intake. The database
    # still refuses deleting what a case refers to (events.guards), and the ORM's PROTECT too.
    category = models.ForeignKey(
        Category,
        models.PROTECT,
        related_name="cases",
        verbose_name=_("类别"),
        db_index=False,
        db_constraint=False,
    )
    grade = models.PositiveSmallIntegerField(
        _("等级"), choices=Category.Grade.choices, default=Category.Grade.NORMAL
    )
    title = models.CharField(_("标题"), max_length=128, blank=True)
    description = models.TextField(_("描述"), max_length=4000, blank=True)
    location = models.PointField(_("位置"), srid=settings.STORAGE_SRID, null=True, blank=True)
    src_crs = models.CharField(_("原始坐标系"), max_length=8, default="wgs84")
    address = models.CharField(_("地址"), max_length=256, blank=True)
    grid = models.ForeignKey(
        "grids.Node",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("网格"),
        db_constraint=False,  # see category
    )
    # The grid's (or, outside any grid, the town's) tree path: scope checks are a prefix match.
    node_path = models.CharField(max_length=255, default="", db_index=False)
    outside_jurisdiction = models.BooleanField(_("辖区外"), default=False)
    reporter_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="reported_cases",
        db_index=False,  # case_reporter_user: partial (residents and webhooks have none)
    )
    reporter_name = models.CharField(_("报告人"), max_length=64, blank=True)
    reporter_phone_enc = models.TextField(blank=True, default="")
    reporter_phone_index = models.CharField(max_length=64, blank=True, default="")
    # The secret in the reporter's tracking link (/t/<token>); never shown to anyone else.
    tracking_token = models.CharField(max_length=43, unique=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.REPORTED
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="handled_cases",
        verbose_name=_("处置人"),
        db_index=False,
    )
    merged_into = models.ForeignKey(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_cases",
        verbose_name=_("并入"),
        db_index=False,  # case_merged_into: only the few merged cases
    )
    routed_at = models.DateTimeField(null=True, blank=True)
    routing = models.JSONField(_("派遣依据"), default=dict, blank=True)
    extra = models.JSONField(default=dict, blank=True)  # source-specific fields (camera, sensor, …)

    reported_at = models.DateTimeField(_("上报时间"), db_index=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    register_due = models.DateTimeField(null=True, blank=True)
    accept_due = models.DateTimeField(null=True, blank=True)
    arrive_due = models.DateTimeField(null=True, blank=True)
    resolve_due = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    parked_until = models.DateField(null=True, blank=True)

    rating = models.CharField(_("评价"), max_length=12, choices=Rating.choices, blank=True)
    rating_comment = models.CharField(_("评价意见"), max_length=500, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("事件")
        verbose_name_plural = _("事件")
        constraints = [
            # Intake is idempotent on (source, external id): the same report sent twice is one case.
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="case_unique_external_id",
            ),
        ]
        indexes = [
            # scope checks: node_path LIKE '/1/3/%' (accounts.selectors.scope_q)
            models.Index(
                fields=["node_path"], opclasses=["varchar_pattern_ops"], name="case_node_path_like"
            ),
            models.Index(fields=["status", "-reported_at"], name="case_status_reported"),
            # the routing sweeper looks for reported cases never routed
            models.Index(
                fields=["reported_at"],
                condition=models.Q(routed_at__isnull=True),
                name="case_unrouted",
            ),
            # Partial indexes leave out what every new case has (no handler, merged into none):
            # an insert pays for neither.
            models.Index(
                fields=["handler", "status"],
                condition=models.Q(handler__isnull=False),
                name="case_handler_status",
            ),
            models.Index(
                fields=["merged_into"],
                condition=models.Q(merged_into__isnull=False),
                name="case_merged_into",
            ),
            models.Index(
                fields=["reporter_user"],
                condition=models.Q(reporter_user__isnull=False),
                name="case_reporter_user",
            ),
            # deduplication: open cases of one category near a point
            models.Index(fields=["category", "status"], name="case_category_status"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class CaseLog(models.Model):
    """The case's own log: append-only (a trigger refuses UPDATE and DELETE). Its id is the
    sequence number every live push carries; a reconnecting client asks for ids after its last."""

    # Every entry is written and most are never searched but by case: an index here is paid on
    # every report and step, so there is none on ``at`` or (spatial) on ``location``, which
    # nothing looks up, and the actor's is partial (residents and machines act without one).
    # (case, id) indexes it; no database constraint (see Case.category; events.guards)
    case = models.ForeignKey(
        Case, models.PROTECT, related_name="log", db_index=False, db_constraint=False
    )
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # caselog_actor: partial
    )
    actor_label = models.CharField(
        max_length=64, blank=True
    )  # "市民", "系统", "110" … when no staff acted
    action = models.CharField(max_length=24)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    note = models.TextField(blank=True)
    location = models.PointField(
        srid=settings.STORAGE_SRID, null=True, blank=True, spatial_index=False
    )
    data = models.JSONField(default=dict, blank=True)
    # An id made on the phone for an offline action: the same id sent twice is one action.
    # Unique where given (a partial index: most entries have none and cost it nothing).
    client_action_id = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        verbose_name = _("事件日志")
        verbose_name_plural = _("事件日志")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["case", "id"]),
            models.Index(
                fields=["actor"], condition=models.Q(actor__isnull=False), name="caselog_actor"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client_action_id"],
                condition=models.Q(client_action_id__isnull=False),
                name="caselog_client_action_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.id} {self.action}"


class Attachment(models.Model):
    case = models.ForeignKey(Case, models.PROTECT, related_name="attachments")
    log = models.ForeignKey(
        CaseLog, models.PROTECT, null=True, blank=True, related_name="attachments"
    )
    stage = models.CharField(max_length=16, default="report")  # report, resolve, verify …
    file = models.FileField(upload_to="cases/%Y/%m/%d/")
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    uploaded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")


class HotlineOrder(models.Model):
    """12345 work-order fields the hotline keeps beside the case (standards.md §5)."""

    class AppealType(models.TextChoices):
        CONSULT = "consult", _("咨询")
        HELP = "help", _("求助")
        COMPLAINT = "complaint", _("投诉")
        REPORT = "report", _("举报")
        SUGGESTION = "suggestion", _("建议")
        PRAISE = "praise", _("表扬")

    case = models.OneToOneField(Case, models.CASCADE, primary_key=True, related_name="hotline")
    order_no = models.CharField(_("工单号"), max_length=64)
    appeal_type = models.CharField(_("诉求类型"), max_length=12, choices=AppealType.choices)
    channel = models.CharField(_("来源渠道"), max_length=16, blank=True)
    anonymous = models.BooleanField(_("匿名"), default=False)
    confidential = models.BooleanField(_("保密"), default=False)
    due_at = models.DateTimeField(_("办理时限"), null=True, blank=True)
    callback_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    callback_method = models.CharField(_("回访方式"), max_length=16, blank=True)
    callback_result = models.CharField(_("回访结果"), max_length=500, blank=True)
    callback_satisfaction = models.CharField(
        _("回访满意度"), max_length=12, choices=Case.Rating.choices, blank=True
    )
    resolved_flag = models.BooleanField(_("是否解决"), null=True, blank=True)

    class Meta:
        verbose_name = _("12345工单")
        verbose_name_plural = _("12345工单")


class ExtensionRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REFUSED = "refused", _("已驳回")

    case = models.ForeignKey(Case, models.PROTECT, related_name="extensions")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    new_due = models.DateTimeField(_("申请延至"))
    reason = models.CharField(_("理由"), max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(status="pending"), name="one_pending_extension"
            ),
        ]


class DeadlinePolicy(models.Model):
    """Time limit of one step. The most specific row wins: category + grade, then category, then
    the default (no category). Units after standards.md §1.6: natural minutes, working hours or
    working days, counted on the working calendar."""

    class Step(models.TextChoices):
        REGISTER = "register", _("立案")
        ACCEPT = "accept", _("签收")
        ARRIVE = "arrive", _("到场")
        RESOLVE = "resolve", _("处置")
        # "135" joint response (grade 1): no Case column; its due time lives in case.extra["joint_due"].
        JOINT = "joint", _("联动")

    class Unit(models.TextChoices):
        MINUTES = "minutes", _("自然分钟")
        WORK_HOURS = "work_hours", _("工作时")
        WORK_DAYS = "work_days", _("工作日")

    category = models.ForeignKey(
        Category, models.CASCADE, null=True, blank=True, related_name="deadlines"
    )
    grade = models.PositiveSmallIntegerField(choices=Category.Grade.choices, null=True, blank=True)
    step = models.CharField(max_length=10, choices=Step.choices)
    amount = models.PositiveIntegerField()
    unit = models.CharField(max_length=12, choices=Unit.choices)

    class Meta:
        verbose_name = _("时限")
        verbose_name_plural = _("时限")
        constraints = [
            models.UniqueConstraint(
                fields=["category", "grade", "step"],
                nulls_distinct=False,
                name="deadline_policy_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_step_display()} {self.amount} {self.get_unit_display()}"


class CalendarDay(models.Model):
    """Exceptions to Monday–Friday: public holidays (is_workday=False) and make-up working
    weekends (调休, is_workday=True)."""

    date = models.DateField(primary_key=True)
    is_workday = models.BooleanField()
    note = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("工作日历")
        verbose_name_plural = _("工作日历")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'班' if self.is_workday else '休'} {self.note}"
