from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Staff. Residents are not users: they report without logging in.

    ``scope`` is the node of the command tree the person may see and act in; a null scope means
    nothing (not everything) — the whole town is the town node.
    """

    class Role(models.TextChoices):
        GRID_WORKER = "grid_worker", _("网格员")
        GRID_LEADER = "grid_leader", _("网格长")
        HANDLER = "handler", _("部门处置人员")
        OPERATOR = "operator", _("坐席员")
        COMMANDER = "commander", _("指挥长")
        AREA_LEADER = "area_leader", _("区域长")
        DISTRICT_ADMIN = "district_admin", _("区级管理员")
        # 三员 (等保 2.0 §8.1.5): three administrators whose powers do not overlap.
        SYS_ADMIN = "sys_admin", _("系统管理员")
        SEC_ADMIN = "sec_admin", _("安全管理员")
        AUDIT_ADMIN = "audit_admin", _("审计管理员")

    # The three administrators of 三员 separation. One role per user, so nobody holds two.
    THREE_ADMINS = (Role.SYS_ADMIN, Role.SEC_ADMIN, Role.AUDIT_ADMIN)

    role = models.CharField(
        _("角色"), max_length=20, choices=Role.choices, default=Role.GRID_WORKER
    )
    scope = models.ForeignKey(
        "grids.Node",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("管辖范围"),
    )
    display_name = models.CharField(_("姓名"), max_length=64, blank=True)
    # The staff member's own work phone, encrypted at rest (accounts.pii); the index is a keyed
    # hash of the normalised number for exact lookup (admin search by phone).
    phone_enc = models.TextField(blank=True, default="")
    phone_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)
    failed_logins = models.PositiveSmallIntegerField(_("连续登录失败次数"), default=0)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)
    # 鉴别数据 is encrypted at rest like personal information (等保 §8.1.4 数据保密性).
    totp_secret = models.CharField(max_length=255, blank=True, default="")
    totp_confirmed = models.BooleanField(_("已绑定动态验证码"), default=False)
    # The last accepted TOTP time step: a code is accepted once only (RFC 6238 §5.2).
    totp_last_step = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("工作人员")
        verbose_name_plural = _("工作人员")
        indexes = [models.Index(fields=["role"])]
        constraints = [
            # A superuser bypasses every permission check, so one of the 三员 being a superuser
            # would hold all three powers. The installation account made by createsuperuser
            # keeps a business role instead (see docs in accounts/admin_site.py).
            models.CheckConstraint(
                condition=~(
                    models.Q(is_superuser=True)
                    & models.Q(role__in=["sys_admin", "sec_admin", "audit_admin"])
                ),
                name="user_three_admins_not_superuser",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_three_admin(self) -> bool:
        return self.role in self.THREE_ADMINS


class AuditLog(models.Model):
    """安全审计 (等保 2.0 §8.1.4): who did what, when, from where, and whether it worked.

    Append-only: a PostgreSQL trigger (migration 0004) refuses UPDATE, and DELETE of rows younger
    than the legal minimum of 180 days; ``audit_purge`` removes rows older than
    AUDIT_RETENTION_DAYS. ``username`` is kept as text so a record outlives a renamed account
    and names the account a failed login tried.
    """

    # Set by audit_record to the present; a default rather than auto_now so that records
    # imported from another system keep their own times.
    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    # PROTECT: an account with audit records is deactivated, never deleted.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("用户"),
    )
    username = models.CharField(_("账号"), max_length=150, blank=True)
    event = models.CharField(_("事件"), max_length=64)
    success = models.BooleanField(_("是否成功"))
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user_agent = models.CharField(_("客户端"), max_length=256, blank=True)
    target = models.CharField(_("对象"), max_length=200, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-at", "-id"]
        indexes = [
            # the audit admin filters by account and by event over a time range
            models.Index(fields=["username", "-at"]),
            models.Index(fields=["event", "-at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.event}"


class SourceKey(models.Model):
    """An API key for one external source (a 110/119/12345 gateway, video AI, IoT, Open311).

    Only a SHA-256 of the key is stored: the key is 32 random bytes, so unlike a password it
    cannot be guessed and needs no slow hash; a fast hash lets each request find its key through
    the unique index in one query. ``prefix`` (the first characters) names the key in lists and
    in ``revoke_source_key`` without revealing it.
    """

    class Source(models.TextChoices):
        POLICE_110 = "110", _("110 报警")
        FIRE_119 = "119", _("119 火警")
        HOTLINE_12345 = "12345", _("12345 热线")
        VIDEO_AI = "video_ai", _("视频智能分析")
        IOT = "iot", _("物联感知")
        OPEN311 = "open311", _("Open311 客户端")

    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    name = models.CharField(_("名称"), max_length=100, blank=True)
    prefix = models.CharField(_("密钥前缀"), max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("创建人"),
    )
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口密钥")
        verbose_name_plural = _("接口密钥")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.prefix}… {self.name}".strip()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Session(AbstractBaseSession):
    """A staff session (SESSION_ENGINE accounts.sessions): Django's session row, plus the user
    it is logged in as, so one query reads a request's session and its user together. Deleting
    a user ends their sessions."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_session"

    @classmethod
    def get_session_store_class(cls):
        from accounts.sessions import SessionStore

        return SessionStore
