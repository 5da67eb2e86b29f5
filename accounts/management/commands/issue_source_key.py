from django.core.management.base import BaseCommand, CommandError

from accounts.models import SourceKey
from accounts.services import source_key_issue
from cockpit.errors import ApplicationError


class Command(BaseCommand):
    help = "为外部来源签发接口密钥；密钥只显示这一次，是输出的最后一个词。Issue an API key (printed last)."

    def add_arguments(self, parser):
        parser.add_argument("source", choices=SourceKey.Source.values)
        parser.add_argument("--name", default="", help="名称，如对接单位")

    def handle(self, *args, source, name, **options):
        try:
            key, raw = source_key_issue(source=source, name=name)
        except ApplicationError as exc:
            raise CommandError(exc.message)
        self.stdout.write(
            f"已签发 {key.get_source_display()} 接口密钥，前缀 {key.prefix}。请立即保存，之后无法再次查看："
        )
        self.stdout.write(raw)
