import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


class Department(models.Model):
    """A unit of the joint brigade or a town office (公安、交警、综合执法、应急管理、城管、市场监管…)."""

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    # Where the department works; null = the whole town.
    scope = models.ForeignKey(
        "grids.Node",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="departments",
        verbose_name=_("辖区"),
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("部门")
        verbose_name_plural = _("部门")

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """A team inside a department (a squad's enforcement team, a fire station's duty team…)."""

    department = models.ForeignKey(
        Department, models.PROTECT, related_name="teams", verbose_name=_("部门")
    )
    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    node = models.ForeignKey(
        "grids.Node",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="teams",
        verbose_name=_("所属圈层"),
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_teams",
        verbose_name=_("队长"),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="teams", blank=True, verbose_name=_("队员")
    )

    class Meta:
        verbose_name = _("队伍")
        verbose_name_plural = _("队伍")

    def __str__(self) -> str:
        return f"{self.department.name} · {self.name}"


class Mode(models.TextChoices):
    AUTO = "auto", _("自动派遣")
    RECOMMEND = "recommend", _("仅推荐")


class Role(models.TextChoices):
    LEAD = "lead", _("主办")
    ASSIST = "assist", _("协办")


GRADE_CHOICES = [(1, _("特急")), (2, _("紧急")), (3, _("一般"))]
WEEKDAY_CHOICES = [
    (1, _("周一")),
    (2, _("周二")),
    (3, _("周三")),
    (4, _("周四")),
    (5, _("周五")),
    (6, _("周六")),
    (7, _("周日")),
]


class RoutingRule(models.Model):
    """One line of the routing table. Rules are tried in ``order``; the first active rule whose
    conditions all hold (an empty condition holds for every case) and whose target has someone
    to receive the case decides. The case's ``routing`` JSON records every condition checked."""

    class Target(models.TextChoices):
        DEPARTMENT = "department", _("部门")
        TEAM = "team", _("队伍")
        USER = "user", _("指定人员")
        GRID_WORKER = "grid_worker", _("事件所在网格的网格员")

    name = models.CharField(_("名称"), max_length=64)
    order = models.PositiveIntegerField(
        _("顺序"), default=100, help_text=_("数字小的先试；第一条命中的规则生效。")
    )
    active = models.BooleanField(_("启用"), default=True)
    mode = models.CharField(_("方式"), max_length=10, choices=Mode.choices, default=Mode.RECOMMEND)
    # Conditions (each empty = any)
    categories = models.ManyToManyField(
        "events.Category", blank=True, related_name="routing_rules", verbose_name=_("类别")
    )
    major_name = models.CharField(
        _("大类"), max_length=32, blank=True, help_text=_("类别的大类名称，如“市容环境”。")
    )
    grades = ArrayField(
        models.PositiveSmallIntegerField(choices=GRADE_CHOICES),
        blank=True,
        default=list,
        verbose_name=_("等级"),
    )
    sources = ArrayField(
        models.CharField(max_length=16), blank=True, default=list, verbose_name=_("来源")
    )
    node = models.ForeignKey(
        "grids.Node",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="routing_rules",
        verbose_name=_("区域"),
        help_text=_("事件所在网格须位于此节点之下。"),
    )
    # A window that wraps midnight (22:00–06:00) is allowed: from > to means "overnight".
    time_from = models.TimeField(_("起始时间"), null=True, blank=True)
    time_to = models.TimeField(_("结束时间"), null=True, blank=True)
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(choices=WEEKDAY_CHOICES),
        blank=True,
        default=list,
        verbose_name=_("星期"),
    )
    # Target
    target = models.CharField(_("派往"), max_length=12, choices=Target.choices)
    department = models.ForeignKey(
        Department, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("部门")
    )
    team = models.ForeignKey(
        Team, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("队伍")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("人员"),
    )
    note = models.TextField(_("给坐席员的说明"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("分拨规则")
        verbose_name_plural = _("分拨规则")
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                name="routing_rule_target_set",
                condition=(
                    models.Q(target="department", department__isnull=False)
                    | models.Q(target="team", team__isnull=False)
                    | models.Q(target="user", user__isnull=False)
                    | models.Q(target="grid_worker")
                ),
            ),
            models.CheckConstraint(
                name="routing_rule_time_window_complete",
                condition=models.Q(time_from__isnull=True, time_to__isnull=True)
                | models.Q(time_from__isnull=False, time_to__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CategoryDispatch(models.Model):
    """Each category's default department: where a case goes when no rule matches."""

    category = models.OneToOneField(
        "events.Category",
        models.CASCADE,
        primary_key=True,
        related_name="dispatch_default",
        verbose_name=_("类别"),
    )
    department = models.ForeignKey(
        Department, models.PROTECT, related_name="default_for", verbose_name=_("默认部门")
    )
    mode = models.CharField(_("方式"), max_length=10, choices=Mode.choices, default=Mode.RECOMMEND)

    class Meta:
        verbose_name = _("默认处置部门")
        verbose_name_plural = _("默认处置部门")

    def __str__(self) -> str:
        return f"{self.category} → {self.department}"


class GradeRule(models.Model):
    """Grading beyond the category's default: e.g. every 119 report is 特急. A rule only makes
    a case more urgent, never less: lowering a grade is an operator's decision."""

    name = models.CharField(_("名称"), max_length=64)
    order = models.PositiveIntegerField(_("顺序"), default=100)
    active = models.BooleanField(_("启用"), default=True)
    source = models.CharField(_("来源"), max_length=16, blank=True)
    category = models.ForeignKey(
        "events.Category",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("类别"),
    )
    grade = models.PositiveSmallIntegerField(_("等级"), choices=GRADE_CHOICES)

    class Meta:
        verbose_name = _("定级规则")
        verbose_name_plural = _("定级规则")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class Plan(models.Model):
    """预案: for serious cases several units are called at once — one leads, the others assist."""

    name = models.CharField(_("名称"), max_length=64)
    order = models.PositiveIntegerField(_("顺序"), default=100)
    active = models.BooleanField(_("启用"), default=True)
    categories = models.ManyToManyField(
        "events.Category", blank=True, related_name="plans", verbose_name=_("类别")
    )
    # Grade 1 is the most urgent: a plan with min_grade 2 covers 特急 and 紧急 cases.
    min_grade = models.PositiveSmallIntegerField(
        _("启动等级"),
        choices=GRADE_CHOICES,
        default=1,
        help_text=_("该等级及更紧急的事件启动本预案。"),
    )
    mode = models.CharField(_("方式"), max_length=10, choices=Mode.choices, default=Mode.RECOMMEND)
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("预案")
        verbose_name_plural = _("预案")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class PlanUnit(models.Model):
    plan = models.ForeignKey(Plan, models.CASCADE, related_name="units", verbose_name=_("预案"))
    department = models.ForeignKey(
        Department, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("部门")
    )
    team = models.ForeignKey(
        Team, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("队伍")
    )
    role = models.CharField(_("角色"), max_length=8, choices=Role.choices, default=Role.ASSIST)
    sort = models.PositiveIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("预案力量")
        verbose_name_plural = _("预案力量")
        ordering = ["sort", "id"]
        constraints = [
            models.CheckConstraint(
                name="plan_unit_has_unit",
                condition=models.Q(department__isnull=False) | models.Q(team__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["plan"], condition=models.Q(role="lead"), name="plan_one_lead"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.team or self.department}"


class Assignment(models.Model):
    """Who handles a case: one active lead and any number of active assists. A re-dispatch ends
    the previous rows (active=False, ended_at) so the history of who held it stays."""

    case = models.ForeignKey(
        "events.Case", models.PROTECT, related_name="assignments", verbose_name=_("事件")
    )
    department = models.ForeignKey(
        Department,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments",
        verbose_name=_("部门"),
    )
    team = models.ForeignKey(
        Team,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments",
        verbose_name=_("队伍"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments",
        verbose_name=_("人员"),
    )
    role = models.CharField(_("角色"), max_length=8, choices=Role.choices, default=Role.LEAD)
    plan = models.ForeignKey(
        Plan, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("预案")
    )
    active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("派遣时间"))
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("派遣记录")
        verbose_name_plural = _("派遣记录")
        ordering = ["case", "-active", "role", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(active=True, role="lead"),
                name="assignment_one_active_lead",
            ),
        ]
        indexes = [
            # a person's inbox: their active assignments
            models.Index(
                fields=["user"], condition=models.Q(active=True), name="assignment_active_user"
            ),
            models.Index(fields=["case", "active"]),
        ]

    def __str__(self) -> str:
        who = self.user or self.team or self.department
        return f"{self.case_id} {self.get_role_display()} {who}"


class DutyRota(models.Model):
    """值班表: who is the duty commander on a shift. A night shift runs into the next morning."""

    class Shift(models.TextChoices):
        DAY = "day", _("白班 08:00–20:00")
        NIGHT = "night", _("夜班 20:00–次日08:00")
        FULL = "full", _("全天 00:00–24:00")

    # (start, length) of each shift, local time
    HOURS = {
        Shift.DAY: (time(8), timedelta(hours=12)),
        Shift.NIGHT: (time(20), timedelta(hours=12)),
        Shift.FULL: (time(0), timedelta(hours=24)),
    }

    date = models.DateField(_("日期"))
    shift = models.CharField(_("班次"), max_length=8, choices=Shift.choices, default=Shift.FULL)
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="duty_shifts",
        verbose_name=_("值班指挥长"),
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("值班表")
        verbose_name_plural = _("值班表")
        ordering = ["-date", "shift"]
        constraints = [
            models.UniqueConstraint(fields=["date", "shift"], name="duty_rota_one_per_shift")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.get_shift_display()} {self.commander}"

    def interval(self) -> tuple[datetime, datetime]:
        start, length = self.HOURS[self.shift]
        begin = datetime.combine(
            self.date if isinstance(self.date, date) else date.fromisoformat(self.date),
            start,
            ZoneInfo(settings.TIME_ZONE),
        )
        return begin, begin + length


class Order(models.Model):
    """指挥长指令: the duty commander's order straight to a unit or a person (指令直达). It
    becomes a case of source "order" dispatched to that unit, so it is tracked, timed and
    escalated like every other case."""

    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="orders_issued",
        verbose_name=_("发令人"),
    )
    issued_at = models.DateTimeField(_("发令时间"))
    department = models.ForeignKey(
        Department,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("部门"),
    )
    team = models.ForeignKey(
        Team, models.PROTECT, null=True, blank=True, related_name="orders", verbose_name=_("队伍")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="orders_received",
        verbose_name=_("人员"),
    )
    text = models.TextField(_("指令内容"), max_length=2000)
    due_at = models.DateTimeField(_("完成时限"), null=True, blank=True)
    related_case = models.ForeignKey(
        "events.Case",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="orders_about",
        verbose_name=_("相关事件"),
    )
    case = models.OneToOneField(
        "events.Case",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="order",
        verbose_name=_("指令事件"),
    )

    class Meta:
        verbose_name = _("指挥长指令")
        verbose_name_plural = _("指挥长指令")
        ordering = ["-issued_at"]
        constraints = [
            models.CheckConstraint(
                name="order_has_recipient",
                condition=models.Q(department__isnull=False)
                | models.Q(team__isnull=False)
                | models.Q(user__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.issued_at:%Y-%m-%d %H:%M} {self.text[:30]}"


class AnswerTemplate(models.Model):
    """答复模板: the words the reporter reads on the tracking page. Placeholders {number},
    {category}, {address}. With auto-send, the reply goes out by itself when the case takes the
    action (立案, 派遣, 办结…); otherwise an operator picks it."""

    PLACEHOLDERS = ("number", "category", "address")

    name = models.CharField(_("名称"), max_length=64)
    action = models.CharField(
        _("触发动作"), max_length=16, blank=True, help_text=_("留空表示仅供坐席员手动选用。")
    )
    text = models.TextField(_("答复内容"), max_length=1000)
    auto_send = models.BooleanField(_("自动发送"), default=False)
    active = models.BooleanField(_("启用"), default=True)
    sort = models.PositiveIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("答复模板")
        verbose_name_plural = _("答复模板")
        ordering = ["sort", "id"]
        constraints = [
            # One automatic reply per action, so the reporter never gets two answers for one step.
            models.UniqueConstraint(
                fields=["action"],
                condition=models.Q(auto_send=True, active=True),
                name="answer_one_auto_per_action",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Export(models.Model):
    """An export of the case queue, written by a worker; only its requester may fetch it."""

    class Format(models.TextChoices):
        XLSX = "xlsx", "Excel (.xlsx)"
        CSV = "csv", "CSV"

    class Status(models.TextChoices):
        PENDING = "pending", _("生成中")
        READY = "ready", _("已生成")
        FAILED = "failed", _("失败")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("申请人")
    )
    created_at = models.DateTimeField(_("申请时间"))
    kind = models.CharField(max_length=16, default="cases")
    format = models.CharField(_("格式"), max_length=4, choices=Format.choices, default=Format.XLSX)
    filters = models.JSONField(_("筛选条件"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=8, choices=Status.choices, default=Status.PENDING
    )
    path = models.CharField(max_length=255, blank=True)  # relative to MEDIA_ROOT
    row_count = models.PositiveIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("数据导出")
        verbose_name_plural = _("数据导出")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.created_at:%Y-%m-%d %H:%M}"
