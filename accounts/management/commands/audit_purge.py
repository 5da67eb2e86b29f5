from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.services import audit_purge


class Command(BaseCommand):
    help = "删除超过保存期限（AUDIT_RETENTION_DAYS，至少 180 天）的审计记录。Purge audit records past retention."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"保存天数，默认 {settings.AUDIT_RETENTION_DAYS}，不得少于 180",
        )
        parser.add_argument("--dry-run", action="store_true", help="只统计，不删除")

    def handle(self, *args, days=None, dry_run=False, **options):
        count = audit_purge(older_than_days=days, dry_run=dry_run)
        verb = "将删除" if dry_run else "已删除"
        self.stdout.write(
            f"{verb} {count} 条超过保存期限（{max(180, days or settings.AUDIT_RETENTION_DAYS)} 天）的审计记录。"
        )
