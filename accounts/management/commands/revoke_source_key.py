from django.core.management.base import BaseCommand, CommandError

from accounts.services import source_key_revoke
from cockpit.errors import ApplicationError


class Command(BaseCommand):
    help = "按前缀吊销接口密钥。Revoke an API key by its prefix."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix, **options):
        try:
            key = source_key_revoke(prefix=prefix)
        except ApplicationError as exc:
            raise CommandError(exc.message)
        self.stdout.write(
            f"已吊销 {key.prefix}（{key.get_source_display()} {key.name}），吊销时间 {key.revoked_at:%Y-%m-%d %H:%M:%S}。"
        )
