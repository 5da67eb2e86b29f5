"""Print where to go and how to log in: ``manage.py demo_logins [--base URL] [--ws-port N]``.

scripts/run.sh calls it once the stack is up. The pages come from cockpit.portal.TILES (each app
adds its own entry there); the logins are the demo accounts that demo_town made.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import User
from cockpit.demo.steps import DEMO_LOGINS, DEMO_PASSWORD

ROLE_EN = {
    "grid_worker": "grid worker",
    "grid_leader": "grid leader",
    "handler": "handler (enforcement officer)",
    "operator": "seat operator",
    "commander": "commander",
    "area_leader": "area leader",
    "district_admin": "district admin",
    "sys_admin": "system administrator",
    "sec_admin": "security administrator",
    "audit_admin": "audit administrator",
}

CORE_PAGES = [
    {"zh": "首页", "en": "Home", "url": "/"},
    {"zh": "驾驶舱大屏", "en": "Big screen", "url": "/screen/"},
    {"zh": "事件队列", "en": "Operator console", "url": "/console/"},
    {"zh": "网格员手机端", "en": "Field app (phone)", "url": "/m/"},
    {"zh": "平安码", "en": "Safety codes", "url": "/safety/"},
    {"zh": "系统管理", "en": "Administration", "url": "/admin/"},
    {"zh": "接口文档", "en": "API docs", "url": "/api/docs/"},
    {"zh": "健康检查", "en": "Health", "url": "/healthz"},
]


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


class Command(BaseCommand):
    help = "打印演示地址与登录账号 · Print the demo URLs and logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base", default="http://127.0.0.1:8000", help="where the web server answers"
        )
        parser.add_argument(
            "--ws-port", type=int, default=None, help="port of the websocket server, if separate"
        )

    def handle(self, *args, base: str, ws_port: int | None, **options):
        from cockpit.portal import TILES

        base = base.rstrip("/")
        out = self.stdout.write
        out("")
        out(self.style.SUCCESS(f"数字驾驶舱 · Town cockpit — {settings.TOWN_NAME}"))
        pages, seen = [], set()
        for page in CORE_PAGES + list(TILES):
            if page["url"] not in seen:
                seen.add(page["url"])
                pages.append(page)
        width = max(_width(f"{p['zh']} {p['en']}") for p in pages) + 2
        for page in pages:
            url = page["url"] if page["url"].startswith("http") else base + page["url"]
            out(f"  {_pad(page['zh'] + ' ' + page['en'], width)}{url}")
        if ws_port:
            host = base.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
            out(f"  {_pad('实时推送 Websockets', width)}ws://{host}:{ws_port}/")

        users = {
            u.username: u
            for u in User.objects.filter(username__in=DEMO_LOGINS).select_related("scope")
        }
        if not users:
            out("")
            out("还没有演示数据 · no demo data yet: python manage.py demo_town")
            return
        out("")
        out(f"演示账号 · demo logins (密码 password: {DEMO_PASSWORD})")
        rows = [("角色", "role", "用户名 username", "范围 scope", "")]
        totp_roles = set(settings.TOTP_REQUIRED_ROLES)
        for username, role in DEMO_LOGINS.items():
            user = users.get(username)
            if user is None:
                continue
            scope = user.scope.name if user.scope else "—"
            rows.append(
                (
                    User.Role(role).label,
                    ROLE_EN[role],
                    username,
                    scope,
                    "TOTP" if role in totp_roles else "",
                )
            )
        widths = [max(_width(str(r[i])) for r in rows) + 2 for i in range(5)]
        for row in rows:
            out(
                "  "
                + "".join(_pad(str(cell), w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
        out("")
        out(
            "标 TOTP 的角色登录时还需动态验证码 · roles marked TOTP also need a one-time code at login:"
        )
        out("  python manage.py totp_now <username>")
        out(
            "其余生成的人员（worker002、police001…）密码相同 · every other generated account uses the same password."
        )
