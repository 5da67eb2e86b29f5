"""Replay one day's cases through today's rules and plans, dispatching nothing.

    python manage.py simulate_routing --date 2026-11-22 [--json]

For each case: where today's rules would send it (and why), where it actually went, and which
deadlines it would have missed under today's deadline policies. An admin tries a change of
rules in "recommend only" mode, runs this, and switches the rule to automatic when it is right.
"""

import json
from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dispatch.models import Assignment
from dispatch.rules import RoutingConfig, decide
from events import deadlines
from events.models import Case

TZ = ZoneInfo(settings.TIME_ZONE)
DONE = {
    "register": "registered_at",
    "accept": "accepted_at",
    "arrive": "arrived_at",
    "resolve": "resolved_at",
}


def simulate_day(day: date, *, now: datetime | None = None) -> list[dict]:
    now = now or timezone.now()
    begin = datetime.combine(day, time.min, TZ)
    cases = (
        Case.objects.filter(reported_at__gte=begin, reported_at__lt=begin + timedelta(days=1))
        .exclude(status=Case.Status.MERGED)
        .select_related("category", "grid")
        .order_by("reported_at", "id")
    )
    actual = {
        a.case_id: a
        for a in Assignment.objects.filter(case__in=cases, role="lead")
        .select_related("department", "team", "user")
        .order_by("case_id", "created_at")
    }
    rows = []
    config = RoutingConfig.load()  # today's table, read once for the whole day
    for case in cases:
        d = decide(case, now=now, config=config)
        target = d.user or d.team or d.department
        plan = deadlines.deadlines_plan(
            category=case.category,
            grade=d.grade,
            steps=deadlines.report_steps(d.grade),
            start=case.reported_at,
        )
        if case.dispatched_at:
            for step, due in deadlines.deadlines_plan(
                category=case.category,
                grade=d.grade,
                steps=deadlines.dispatch_steps(d.grade),
                start=case.dispatched_at,
            ).items():
                plan.setdefault(step, due)
        missed = []
        for step, due in plan.items():
            done = getattr(case, DONE.get(step, ""), None) if step in DONE else None
            if (done or now) > due:
                missed.append(step)
        was = actual.get(case.id)
        rows.append(
            {
                "number": case.number,
                "category": case.category.name,
                "grade": d.grade,
                "would_go_to": str(target) if target else "",
                "mode": d.mode,
                "rule": d.rule_name,
                "why": "；".join(d.reasons),
                "went_to": str(was.user or was.team or was.department) if was else "",
                "missed": missed,
            }
        )
    return rows


class Command(BaseCommand):
    help = "Replay a day's cases through today's routing rules and plans without dispatching."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--json", action="store_true", help="print JSON rows")

    def handle(self, *args, **opts):
        try:
            day = (
                date.fromisoformat(opts["date"])
                if opts["date"]
                else (timezone.localdate() - timedelta(days=1))
            )
        except ValueError as exc:
            raise CommandError("--date must be YYYY-MM-DD (日期格式应为 YYYY-MM-DD)") from exc
        rows = simulate_day(day)
        if opts["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1))
            return
        w = self.stdout.write
        w(f"模拟分拨 Routing simulation — {day} — {len(rows)} 件 cases (nothing dispatched)")
        for r in rows:
            changed = "" if not r["went_to"] or r["went_to"] == r["would_go_to"] else " *"
            w(
                f"{r['number']}  {r['category'][:10]:<10}  → {r['would_go_to'] or '待人工'}"
                f" [{r['mode']}]{changed}  实际 actual: {r['went_to'] or '-'}"
                f"  超时 missed: {','.join(r['missed']) or '-'}"
            )
            w(f"    {r['why']}")
        by_target = Counter(r["would_go_to"] or "待人工 manual" for r in rows)
        missed = Counter(step for r in rows for step in r["missed"])
        changed = sum(1 for r in rows if r["went_to"] and r["went_to"] != r["would_go_to"])
        w("\n去向 Where they would go:")
        for target, n in by_target.most_common():
            w(f"  {target}: {n}")
        w(f"与实际不同 Different from what happened: {changed}")
        w(
            "将超时的环节 Deadlines that would be missed: "
            + (", ".join(f"{k} {v}" for k, v in missed.items()) or "0")
        )
