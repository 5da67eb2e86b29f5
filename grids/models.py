from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GistIndex
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _


class Node(models.Model):
    """One circle of the five-circle command tree (五圈): town → area → station → squad → grid.

    ``path`` is the materialised chain of ids ("/1/3/9/31/140/"), so "is X inside scope S" is a
    prefix test that the varchar_pattern_ops index answers without a recursive query.
    """

    class Kind(models.TextChoices):
        TOWN = "town", _("镇街")
        AREA = "area", _("片区")  # 风险防控圈, led by an area leader
        STATION = "station", _("应急站")  # 应急管理圈
        SQUAD = "squad", _("中队")  # 联合执法圈
        GRID = "grid", _("网格")  # 网格圈

    DEPTH = {Kind.TOWN: 0, Kind.AREA: 1, Kind.STATION: 2, Kind.SQUAD: 3, Kind.GRID: 4}

    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    parent = models.ForeignKey(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级"),
    )
    path = models.CharField(max_length=255, db_index=False, editable=False, default="")
    community = models.ForeignKey(
        "Community",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="grids",
        verbose_name=_("社区"),
    )
    # Grids have their own polygon; higher circles keep the union for drawing and quick rejects.
    boundary = models.MultiPolygonField(
        _("边界"), srid=settings.STORAGE_SRID, null=True, blank=True
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_nodes",
        verbose_name=_("负责人"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("指挥节点")
        verbose_name_plural = _("指挥节点（五圈）")
        indexes = [
            # scope checks: path LIKE '/1/3/%' (accounts.selectors.scope_filter)
            models.Index(fields=["path"], opclasses=["varchar_pattern_ops"], name="node_path_like"),
            models.Index(fields=["kind"]),
            # grids.selectors.grid_locate (every case intake, every position report): a GiST over
            # the grid polygons only, so the point-in-polygon probe never walks the town, area or
            # squad unions that cover everything. The default GiST on boundary stays for those.
            GistIndex(
                fields=["boundary"], condition=models.Q(kind="grid"), name="node_grid_boundary_gist"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(boundary__isnull=True) | models.Q(boundary__isvalid=True),
                name="node_boundary_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"

    def chain_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p]


class Community(models.Model):
    """社区/村: an administrative unit holding several grids (grids are numbered within it)."""

    code = models.CharField(_("编码"), max_length=12, unique=True)  # 9 town + 3 community
    name = models.CharField(_("名称"), max_length=64)
    boundary = models.MultiPolygonField(
        _("边界"), srid=settings.STORAGE_SRID, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("社区")
        verbose_name_plural = _("社区")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(boundary__isnull=True) | models.Q(boundary__isvalid=True),
                name="community_boundary_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Address(models.Model):
    """地址库: one standard address, a point in a grid and a building."""

    code = models.CharField(_("地址编码"), max_length=32, unique=True)
    text = models.CharField(_("标准地址"), max_length=256)
    building = models.CharField(_("楼栋"), max_length=128, blank=True)
    point = models.PointField(_("位置"), srid=settings.STORAGE_SRID)
    grid = models.ForeignKey(Node, models.PROTECT, related_name="addresses", verbose_name=_("网格"))

    class Meta:
        verbose_name = _("标准地址")
        verbose_name_plural = _("地址库")
        indexes = [models.Index(Upper("text"), name="address_text_upper")]

    def __str__(self) -> str:
        return self.text


class StaffPosition(models.Model):
    """A field worker's reported position (力量上图). History is bounded by POSITION_HISTORY_DAYS;
    the latest one per person is kept in LatestPosition so the forces layer reads one row each."""

    staff = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="positions")
    point = models.PointField(srid=settings.STORAGE_SRID)
    # The system the phone reported in (standards.md §3: record the source CRS on every point).
    src_crs = models.CharField(max_length=8, default="wgs84")
    accuracy_m = models.FloatField(null=True, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("位置记录")
        verbose_name_plural = _("位置记录")
        indexes = [
            models.Index(fields=["staff", "-recorded_at"]),
            models.Index(fields=["recorded_at"]),
        ]


class LatestPosition(models.Model):
    """The last known position of each field worker: the forces layer (力量上图) reads one row each."""

    staff = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        primary_key=True,
        related_name="latest_position",
        verbose_name=_("人员"),
    )
    point = models.PointField(_("位置"), srid=settings.STORAGE_SRID)
    accuracy_m = models.FloatField(_("精度（米）"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("上报时间"))
    on_duty = models.BooleanField(_("在岗"), default=False)

    class Meta:
        verbose_name = _("最新位置")
        verbose_name_plural = _("力量最新位置")

    def __str__(self) -> str:
        return f"{self.staff_id} @ {self.recorded_at:%Y-%m-%d %H:%M}"
