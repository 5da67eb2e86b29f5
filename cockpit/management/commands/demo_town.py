"""Generate the demo town at the scale of DOMAIN.md: ``manage.py demo_town [--if-empty] [--seed N]``.

The steps are listed in cockpit.demo.steps.STEPS; the whole run is one transaction, so a failed
step leaves nothing behind. The same seed always gives the same codes, names and geometry.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import import_string

from cockpit.demo.steps import STEPS, DemoContext
from grids.models import Node

DEFAULT_SEED = 2020


class Command(BaseCommand):
    help = "生成演示镇街（五圈、网格、地址库、人员、部门）· Generate the demo town."

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same town)"
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when a town already exists"
        )
        parser.add_argument(
            "--skip",
            action="append",
            default=[],
            metavar="STEP",
            help="leave out a step (repeatable), e.g. --skip history; steps: "
            + ", ".join(name for name, _ in STEPS),
        )

    def handle(self, *args, seed: int, if_empty: bool, skip: list[str], **options):
        started = time.perf_counter()
        existing = Node.objects.filter(kind=Node.Kind.TOWN).first()
        if existing is not None:
            if if_empty:
                self.stdout.write(
                    f"已有镇街「{existing.name}」，保留现有数据 · a town exists, keeping its data."
                )
                return
            raise CommandError(
                f"已有镇街「{existing.name}」：演示数据只能生成到空库中 · a town already exists; "
                "use --if-empty to skip, or an empty database."
            )
        unknown = set(skip) - {name for name, _ in STEPS}
        if unknown:
            raise CommandError(f"没有这个步骤 · no such step: {', '.join(sorted(unknown))}")
        ctx = DemoContext(seed=seed)
        with transaction.atomic():
            for name, dotted in STEPS:
                if name in skip:
                    continue
                step_started = time.perf_counter()
                summary = import_string(dotted)(ctx)
                self.stdout.write(
                    f"  {name:<12} {time.perf_counter() - step_started:6.1f} s  {summary or ''}"
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"演示镇街已生成 · demo town built (seed {seed}) in {time.perf_counter() - started:.1f} s"
            )
        )
        self.stdout.write("登录信息 · logins: python manage.py demo_logins")
