"""平安码: sites (一企一所一码), checklists, self-checks, inspections, hazards, codes, appeals,
re-inspection tasks and bulk imports. The scoring model is data (ScoreModel), edited in the admin;
docs/safetycode.md describes it."""

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from safetycode.scenes import SCENE_CHOICES


class Code(models.TextChoices):
    RED = "red", _("红码")
    YELLOW = "yellow", _("黄码")
    GREEN = "green", _("绿码")


class HazardLevel(models.TextChoices):
    GENERAL = "general", _("一般隐患")
    MAJOR = "major", _("重大隐患")


class ScoreModel(models.Model):
    """The configurable scoring model. One row is active; the nightly run and every per-site
    recompute read it, so a change here takes effect on the next recompute."""

    name = models.CharField(_("名称"), max_length=64, default="默认评分模型")
    active = models.BooleanField(_("启用"), default=True)
    # Base risk of each scene, in points deducted from 100: {scene: points}.
    scene_base = models.JSONField(_("场景基础风险分"), default=dict)
    major_open_points = models.PositiveSmallIntegerField(_("每项未整改重大隐患扣分"), default=30)
    general_open_points = models.PositiveSmallIntegerField(_("每项未整改一般隐患扣分"), default=8)
    general_open_cap = models.PositiveSmallIntegerField(_("一般隐患扣分上限"), default=32)
    overdue_points = models.PositiveSmallIntegerField(_("每项逾期未整改扣分"), default=12)
    recurring_points = models.PositiveSmallIntegerField(_("每项反复出现隐患扣分"), default=10)
    recurring_days = models.PositiveSmallIntegerField(_("反复隐患统计天数"), default=180)
    selfcheck_days = models.PositiveSmallIntegerField(_("自查有效天数"), default=30)
    selfcheck_stale_points = models.PositiveSmallIntegerField(_("未按期自查扣分"), default=5)
    inspection_days = models.PositiveSmallIntegerField(_("检查有效天数"), default=90)
    inspection_stale_points = models.PositiveSmallIntegerField(_("长期未检查扣分"), default=5)
    case_points = models.PositiveSmallIntegerField(_("近期每件事件扣分"), default=5)
    case_cap = models.PositiveSmallIntegerField(_("事件扣分上限"), default=15)
    case_days = models.PositiveSmallIntegerField(_("事件统计天数"), default=90)
    case_radius_m = models.PositiveSmallIntegerField(_("事件关联半径（米）"), default=30)
    accident_days = models.PositiveSmallIntegerField(_("事故影响天数"), default=365)
    red_below = models.PositiveSmallIntegerField(_("低于此分为红码"), default=50)
    yellow_below = models.PositiveSmallIntegerField(_("低于此分为黄码"), default=75)
    yellow_on_open_general = models.BooleanField(_("有未整改一般隐患即为黄码"), default=True)
    # Five-colour map (五色图): grid points = 100 × (red sites × w + yellow sites × w) / max(sites,
    # minimum) + open safety cases × w, so a grid of many sites is not red for its size alone.
    grid_red_weight = models.FloatField(_("网格：每个红码场所权重"), default=3.0)
    grid_yellow_weight = models.FloatField(_("网格：每个黄码场所权重"), default=1.0)
    grid_min_sites = models.PositiveSmallIntegerField(_("网格：计算占比的最少场所数"), default=20)
    grid_case_weight = models.FloatField(_("网格：每件在办安全事件分值"), default=1.0)
    grid_case_majors = models.JSONField(
        _("网格：计入的事件大类"), default=list, help_text=_('如 ["平安综治", "应急处置"]')
    )
    grid_red_at = models.FloatField(_("网格：重大风险（红）阈值"), default=30)
    grid_orange_at = models.FloatField(_("网格：较大风险（橙）阈值"), default=20)
    grid_yellow_at = models.FloatField(_("网格：一般风险（黄）阈值"), default=10)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("评分模型")
        verbose_name_plural = _("评分模型")

    def __str__(self) -> str:
        return self.name


class ChecklistItem(models.Model):
    """One question of a scene's checklist, phrased so that "yes" is safe. An answer listed in
    ``hazard_answers`` is a finding, which becomes a hazard of ``hazard_level``."""

    scene = models.CharField(_("场景"), max_length=16, choices=SCENE_CHOICES)
    code = models.CharField(_("编码"), max_length=32)
    text = models.CharField(_("检查内容"), max_length=200)
    text_en = models.CharField(_("英文"), max_length=200, blank=True)
    weight = models.PositiveSmallIntegerField(_("权重"), default=1)
    hazard_answers = models.JSONField(_("视为隐患的回答"), default=list)
    hazard_level = models.CharField(
        _("隐患等级"), max_length=8, choices=HazardLevel.choices, default=HazardLevel.GENERAL
    )
    rectify_days = models.PositiveSmallIntegerField(_("整改期限（天）"), default=7)
    sort = models.PositiveSmallIntegerField(_("排序"), default=100)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("检查项")
        verbose_name_plural = _("检查清单")
        ordering = ["scene", "sort", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scene", "code"], name="checklist_scene_code")
        ]

    def __str__(self) -> str:
        return f"{self.get_scene_display()} · {self.text}"


class Site(models.Model):
    """One enterprise or place with its own code (一企一所一码)."""

    name = models.CharField(_("名称"), max_length=128)
    scene = models.CharField(_("场景"), max_length=16, choices=SCENE_CHOICES)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    location = models.PointField(_("位置"), srid=settings.STORAGE_SRID)
    address = models.CharField(_("地址"), max_length=256, blank=True)
    grid = models.ForeignKey(
        "grids.Node", models.PROTECT, related_name="safety_sites", verbose_name=_("网格")
    )
    # The grid's tree path, for scope checks by prefix (like events.Case.node_path).
    node_path = models.CharField(max_length=255, default="")
    # Owner (负责人) and contact phone: encrypted, with a keyed hash for exact lookup.
    owner_enc = models.TextField(blank=True, default="")
    owner_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    phone_enc = models.TextField(blank=True, default="")
    phone_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    attributes = models.JSONField(_("场景属性"), default=dict, blank=True)
    licence_suspended = models.BooleanField(_("证照暂扣/吊销"), default=False)
    accident_on = models.DateField(_("最近事故日期"), null=True, blank=True)
    # Bumped to revoke every printed QR code of the site.
    qr_version = models.PositiveSmallIntegerField(default=1)
    score = models.PositiveSmallIntegerField(_("安全分"), default=100)
    code = models.CharField(_("平安码"), max_length=8, choices=Code.choices, default=Code.GREEN)
    factors = models.JSONField(_("赋码因素"), default=list, blank=True)
    # When score, code or factors last changed (a recompute that changes nothing keeps it).
    scored_at = models.DateTimeField(_("赋码时间"), null=True, blank=True)
    # A reviewer's decision on an appeal holds the code until this time.
    override_code = models.CharField(max_length=8, choices=Code.choices, blank=True)
    override_until = models.DateTimeField(null=True, blank=True)
    last_selfcheck_at = models.DateTimeField(_("最近自查"), null=True, blank=True)
    last_inspection_at = models.DateTimeField(_("最近检查"), null=True, blank=True)
    import_job = models.ForeignKey(
        "ImportJob", models.SET_NULL, null=True, blank=True, related_name="sites"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("场所")
        verbose_name_plural = _("场所")
        indexes = [
            models.Index(
                fields=["node_path"], opclasses=["varchar_pattern_ops"], name="site_node_path_like"
            ),
            models.Index(fields=["grid", "code"], name="site_grid_code"),
            models.Index(fields=["credit_code"], name="site_credit_code"),
        ]

    def __str__(self) -> str:
        return self.name


class Photo(models.Model):
    site = models.ForeignKey(Site, models.CASCADE, related_name="photos")
    selfcheck = models.ForeignKey(
        "SelfCheck", models.CASCADE, null=True, blank=True, related_name="photos"
    )
    inspection = models.ForeignKey(
        "Inspection", models.CASCADE, null=True, blank=True, related_name="photos"
    )
    file = models.FileField(upload_to="safety/%Y/%m/")
    content_type = models.CharField(max_length=32)
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)


class SelfCheck(models.Model):
    """The owner's self-check through the QR code (no login)."""

    site = models.ForeignKey(Site, models.CASCADE, related_name="selfchecks")
    answers = models.JSONField(default=dict)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    findings = models.PositiveSmallIntegerField(_("发现问题数"), default=0)
    submitted_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("自查")
        verbose_name_plural = _("自查记录")
        indexes = [models.Index(fields=["site", "-submitted_at"])]


class Inspection(models.Model):
    """A staff inspection on site (in the field app)."""

    site = models.ForeignKey(Site, models.CASCADE, related_name="inspections")
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="safety_inspections"
    )
    answers = models.JSONField(default=dict)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    location = models.PointField(srid=settings.STORAGE_SRID, null=True, blank=True)
    at = models.DateTimeField(_("检查时间"))
    task = models.ForeignKey(
        "InspectionTask", models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("检查")
        verbose_name_plural = _("检查记录")
        indexes = [models.Index(fields=["site", "-at"])]


class Hazard(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("待整改")
        RECTIFIED = "rectified", _("已整改")

    site = models.ForeignKey(Site, models.CASCADE, related_name="hazards")
    item = models.ForeignKey(
        ChecklistItem, models.SET_NULL, null=True, blank=True, related_name="hazards"
    )
    description = models.CharField(_("隐患描述"), max_length=500)
    level = models.CharField(_("等级"), max_length=8, choices=HazardLevel.choices)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    found_at = models.DateTimeField(_("发现时间"))
    due_at = models.DateTimeField(_("整改期限"))
    closed_at = models.DateTimeField(_("整改确认时间"), null=True, blank=True)
    found_in = models.ForeignKey(
        Inspection, models.SET_NULL, null=True, blank=True, related_name="hazards_found"
    )
    found_in_selfcheck = models.ForeignKey(
        SelfCheck, models.SET_NULL, null=True, blank=True, related_name="hazards_found"
    )
    closed_by = models.ForeignKey(
        Inspection, models.SET_NULL, null=True, blank=True, related_name="hazards_closed"
    )
    # The events case opened when it went overdue (external_id "hazard-<id>"); an id, not a
    # foreign key, so the events tables are never written from here.
    case_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("隐患")
        verbose_name_plural = _("隐患")
        indexes = [
            models.Index(fields=["site", "status"], name="hazard_site_status"),
            models.Index(
                fields=["due_at"],
                condition=models.Q(status="open", case_id__isnull=True),
                name="hazard_open_uncased",
            ),
        ]


class Appeal(models.Model):
    """申诉: an owner disputes the code; a reviewer decides with the factors in front of them."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待复核")
        UPHELD = "upheld", _("申诉成立")
        REJECTED = "rejected", _("维持原码")

    site = models.ForeignKey(Site, models.CASCADE, related_name="appeals")
    reason = models.CharField(_("申诉理由"), max_length=1000)
    code_at_appeal = models.CharField(max_length=8, choices=Code.choices)
    score_at_appeal = models.PositiveSmallIntegerField()
    factors_at_appeal = models.JSONField(default=list)
    submitted_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("复核意见"), max_length=1000, blank=True)
    new_code = models.CharField(max_length=8, choices=Code.choices, blank=True)

    class Meta:
        verbose_name = _("申诉")
        verbose_name_plural = _("申诉")


class InspectionTask(models.Model):
    """A scheduled re-inspection (red daily, yellow weekly, green monthly)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待检查")
        OVERDUE = "overdue", _("已逾期")
        DONE = "done", _("已完成")

    site = models.ForeignKey(Site, models.CASCADE, related_name="tasks")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="safety_tasks",
    )
    code_at_plan = models.CharField(max_length=8, choices=Code.choices)
    due_at = models.DateTimeField(_("应检时间"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    inspection = models.ForeignKey(
        Inspection, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("复查任务")
        verbose_name_plural = _("复查任务")
        indexes = [models.Index(fields=["assignee", "status", "due_at"])]
        constraints = [
            # At most one open task per site: the planner may run twice without doubling.
            models.UniqueConstraint(
                fields=["site"],
                condition=models.Q(status__in=["pending", "overdue"]),
                name="task_one_open_per_site",
            )
        ]


class ImportJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("导入中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("有错误，未导入")

    # The uploaded bytes live in the row, so a worker on another host reads them without a
    # shared file system (uploads are capped at DATA_UPLOAD_MAX_MEMORY_SIZE).
    data = models.BinaryField()
    filename = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)  # [{"row": n, "fields": {field: [msg]}}]
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
