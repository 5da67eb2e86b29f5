"""The cockpit's own tables: rollups the big screen reads instead of scanning events_case, the
six safety indices (their definitions, editable in the admin, and the stored daily values), and
the daily consultation (每日会商) with the orders commanders record against it.

The rollup tables are written only by PostgreSQL triggers on events_case (migrations 0002 and
0010, see docs/indices.md "Rollups"): an UPDATE or DELETE moves its counts in the same
transaction; an INSERT writes the open-case and closure rows and queues its counts
(cockpit_casedelta), which ``cockpit.screen.rollups.rollups_settle`` moves into the counting
tables before every read, so a reader sees every case committed before it asked.
``rollups_rebuild`` recomputes them from scratch after a bulk load that bypassed the trigger.

The three counting tables (CaseDaily, CaseDayGrid, HeatCell) keep each count in slots: a writer
adds to the slot it holds for its transaction, so concurrent writers never queue on one counter
row; a count is the sum of its slots (every reader aggregates with Sum), and an hourly task folds
past days back into slot 0 (``rollups_compact``).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseDaily(models.Model):
    """Cases reported on ``day`` (Asia/Shanghai) by where they are, what they are, and their
    current status. A case moves from one row to another when its status changes."""

    day = models.DateField()
    node_path = models.CharField(max_length=255)
    source = models.CharField(max_length=16)
    category_id = models.BigIntegerField()
    status = models.CharField(max_length=12)
    grade = models.SmallIntegerField()
    slot = models.SmallIntegerField(default=0, db_default=0)  # rollups.SLOTS
    n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("事件日汇总")
        verbose_name_plural = _("事件日汇总")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "node_path", "source", "category_id", "status", "grade", "slot"],
                name="case_daily_key",
            )
        ]
        indexes = [
            models.Index(
                fields=["node_path"], opclasses=["varchar_pattern_ops"], name="case_daily_path"
            ),
            models.Index(fields=["day"], condition=~models.Q(slot=0), name="case_daily_slots"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.node_path} {self.status} ×{self.n}"


class CaseDayGrid(models.Model):
    """Cases reported on ``day`` per grid path, current status and grade: the coarse rollup the
    week-long panels read (closure rate, grids' 7-day counts, riskiest grids), a few hundred rows
    a day where CaseDaily has thousands."""

    day = models.DateField()
    node_path = models.CharField(max_length=255)
    status = models.CharField(max_length=12)
    grade = models.SmallIntegerField()
    slot = models.SmallIntegerField(default=0, db_default=0)  # rollups.SLOTS
    n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("网格日汇总")
        verbose_name_plural = _("网格日汇总")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "node_path", "status", "grade", "slot"], name="case_day_grid_key"
            )
        ]
        indexes = [
            models.Index(fields=["day"], condition=~models.Q(slot=0), name="case_day_grid_slots")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.node_path} {self.status} ×{self.n}"


class CaseOpen(models.Model):
    """One row per open case (the live layer, overdue counts, grid drill-downs). ``due_at`` is
    the earliest running deadline, the same rule as events.selectors.case_search_for(overdue=)."""

    case_id = models.BigIntegerField(primary_key=True)
    node_path = models.CharField(max_length=255)
    grid_id = models.BigIntegerField(null=True)
    source = models.CharField(max_length=16)
    category_id = models.BigIntegerField()
    status = models.CharField(max_length=12)
    grade = models.SmallIntegerField()
    reported_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True)
    lng = models.FloatField(null=True)
    lat = models.FloatField(null=True)

    class Meta:
        verbose_name = _("在办事件")
        verbose_name_plural = _("在办事件")
        indexes = [
            models.Index(
                fields=["node_path"], opclasses=["varchar_pattern_ops"], name="case_open_path"
            ),
            models.Index(fields=["due_at"], name="case_open_due"),
            models.Index(fields=["grid_id"], name="case_open_grid"),
            models.Index(fields=["-reported_at"], name="case_open_reported"),
        ]

    def __str__(self) -> str:
        return f"case {self.case_id} {self.status}"


class CaseClosure(models.Model):
    """One row per closed case: the day it closed and how long it took (median time-to-close)."""

    case_id = models.BigIntegerField(primary_key=True)
    day = models.DateField()
    node_path = models.CharField(max_length=255)
    category_id = models.BigIntegerField()
    minutes = models.FloatField()
    late = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("结案记录")
        verbose_name_plural = _("结案记录")
        # covering: the median of a week reads the index alone (no heap visits)
        indexes = [
            models.Index(
                fields=["day"], include=["node_path", "minutes"], name="case_closure_day_cov"
            )
        ]

    def __str__(self) -> str:
        return f"case {self.case_id} closed {self.day}"


class HeatCell(models.Model):
    """Cases reported per day in a 0.002° cell (≈ 200 m): the heat layer without the points."""

    day = models.DateField()
    node_path = models.CharField(max_length=255)
    cx = models.IntegerField()
    cy = models.IntegerField()
    slot = models.SmallIntegerField(default=0, db_default=0)  # rollups.SLOTS
    n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("热力格")
        verbose_name_plural = _("热力格")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "node_path", "cx", "cy", "slot"], name="heat_cell_key"
            )
        ]
        indexes = [
            models.Index(fields=["day"], condition=~models.Q(slot=0), name="heat_cell_slots")
        ]

    def __str__(self) -> str:
        return f"{self.day} ({self.cx},{self.cy}) ×{self.n}"


class IndexDefinition(models.Model):
    """One of the six safety indices (平安六指数). Formula in docs/indices.md:
    index = 100 − W_v·min(1, load/2) − W_s·severe_share − W_h·overdue_share, where
    load = grade-weighted cases of the day / baseline."""

    class Key(models.TextChoices):
        PUBLIC_SECURITY = "public_security", _("社会治安")
        FIRE = "fire", _("消防安全")
        TRAFFIC = "traffic", _("道路交通")
        WORK_SAFETY = "work_safety", _("安全生产")
        DISPUTES = "disputes", _("矛盾纠纷")
        ENVIRONMENT = "environment", _("城市环境")

    key = models.CharField(_("指数"), max_length=20, choices=Key.choices, unique=True)
    name = models.CharField(_("名称"), max_length=32)
    category_codes = models.TextField(
        _("类别编码"),
        blank=True,
        help_text=_("逗号分隔；两位数字表示整个大类（如 06），其余为具体编码（如 L0006）。"),
    )
    sources = models.CharField(
        _("来源"), max_length=200, blank=True, help_text=_("逗号分隔；类别未命中时按来源归入。")
    )
    weight_volume = models.FloatField(_("数量权重"), default=50)
    weight_severity = models.FloatField(_("严重度权重"), default=30)
    weight_handling = models.FloatField(_("处置权重"), default=20)
    baseline = models.FloatField(
        _("基线（加权件/日）"),
        null=True,
        blank=True,
        help_text=_("留空则取前 28 天的日均值。"),
    )
    sort = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("平安指数定义")
        verbose_name_plural = _("平安指数定义")
        ordering = ["sort", "id"]

    def __str__(self) -> str:
        return self.name


class IndexValue(models.Model):
    """An index's value for one whole day (town-wide), stored by the daily consultation."""

    day = models.DateField()
    key = models.CharField(max_length=20, choices=IndexDefinition.Key.choices)
    value = models.FloatField()
    parts = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("平安指数值")
        verbose_name_plural = _("平安指数值")
        constraints = [models.UniqueConstraint(fields=["day", "key"], name="index_value_key")]
        ordering = ["-day", "key"]

    def __str__(self) -> str:
        return f"{self.day} {self.key} {self.value}"


class Consultation(models.Model):
    """每日会商: yesterday's indices and change, riskiest grids, overdue cases, open orders."""

    day = models.DateField(_("会商日期"), unique=True)
    built_at = models.DateTimeField(_("生成时间"))
    data = models.JSONField(default=dict)
    note = models.TextField(_("会商纪要"), blank=True)

    class Meta:
        verbose_name = _("每日会商")
        verbose_name_plural = _("每日会商")
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day} 会商"


class ConsultationOrder(models.Model):
    """An order a commander issued from a consultation (the order itself is dispatch.Order)."""

    consultation = models.ForeignKey(
        Consultation, models.PROTECT, related_name="orders", verbose_name=_("会商")
    )
    order = models.OneToOneField(
        "dispatch.Order", models.PROTECT, related_name="consultation_link", verbose_name=_("指令")
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("会商指令")
        verbose_name_plural = _("会商指令")

    def __str__(self) -> str:
        return f"{self.consultation} · {self.order_id}"
