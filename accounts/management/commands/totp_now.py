import time

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import audit_record
from accounts.services.login import TOTP_INTERVAL, _totp


class Command(BaseCommand):
    help = "打印某账号当前的动态验证码（演示与测试用；每次调用都记入审计日志）。Print a user's current TOTP code."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--next",
            action="store_true",
            help="下一时间窗的验证码（仍在允许的时钟偏差内），用于同一窗口内的再次登录。",
        )

    def handle(self, *args, username, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"没有账号 {username}")
        if not user.totp_secret:
            raise CommandError(f"{username} 尚未开始绑定动态验证码（先用密码登录一次）")
        at = time.time() + (TOTP_INTERVAL if options["next"] else 0)
        audit_record(
            user=None,
            username=username,
            event="totp.cli",
            success=True,
            target=f"user:{user.pk}",
            detail={"next": options["next"]},
        )
        self.stdout.write(_totp(user).at(at))
