"""The six safety indices (平安六指数), 0–100, higher is safer. Formulas in docs/indices.md.

For one day and one index:
    count    cases of the index reported that day (not rejected, not merged)
    weighted Σ cases × grade weight (特急 3, 紧急 2, 一般 1)
    baseline the definition's baseline, or the mean weighted count of the 28 days before (≥ 1)
    load     weighted / baseline                      (1.0 = an ordinary day)
    severe   share of the day's cases graded 特急 or 紧急
    overdue  share of the index's open cases past their running deadline at ``at``
    value    100 − W_v·min(1, load / 2) − W_s·severe − W_h·overdue, clamped to 0–100
A case belongs to one index: the first whose category codes name its category exactly, else
the first naming its 大类 (two-digit prefix), else the first listing its source; else none.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.utils import timezone

from cockpit.models import CaseDaily, CaseOpen, IndexDefinition, IndexValue
from cockpit.screen.rollups import NOT_COUNTED, rollups_settle

TZ = ZoneInfo("Asia/Shanghai")
GRADE_WEIGHT = {1: 3, 2: 2, 3: 1}
BASELINE_DAYS = 28

# key, name, category codes, sources — the shipped starting point, edited in the admin.
DEFAULT_INDICES = [
    ("public_security", "社会治安", "L0006,L0009,L0010,09003", "110"),
    ("fire", "消防安全", "L0001,L0002,L0003,09012,01013,01011", "119"),
    ("traffic", "道路交通", "L0005,L0011,09009,09010,09011,02", ""),
    ("work_safety", "安全生产", "L0008,08002,08003,08004,08005,08011,08016,10002,01023", ""),
    ("disputes", "矛盾纠纷", "L0007,06028,06027,08001,L0015", "12345"),
    ("environment", "城市环境", "01,03,04,05,06,07,09,10,L0012", "resident,video_ai"),
]


def definitions_ensure() -> list[IndexDefinition]:
    """The six definitions, creating the shipped defaults for any that are missing."""
    found = {d.key: d for d in IndexDefinition.objects.all()}
    for sort, (key, name, codes, sources) in enumerate(DEFAULT_INDICES):
        if key not in found:
            found[key] = IndexDefinition.objects.create(
                key=key, name=name, category_codes=codes, sources=sources, sort=sort
            )
    return sorted(found.values(), key=lambda d: (d.sort, d.id))


def _split(text: str) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


@dataclass
class Classifier:
    """Maps (category code, source) to an index key, following the precedence above."""

    exact: dict[str, str]
    prefix: dict[str, str]
    by_source: dict[str, str]

    @classmethod
    def of(cls, definitions: list[IndexDefinition]) -> "Classifier":
        exact, prefix, by_source = {}, {}, {}
        for d in definitions:
            for code in _split(d.category_codes):
                target = prefix if (len(code) == 2 and code.isdigit()) else exact
                target.setdefault(code, d.key)
            for source in _split(d.sources):
                by_source.setdefault(source, d.key)
        return cls(exact, prefix, by_source)

    def key(self, code: str, source: str) -> str | None:
        return self.exact.get(code) or self.prefix.get(code[:2]) or self.by_source.get(source)


def _category_codes() -> dict[int, str]:
    """Category id → code, cached under a version (count, newest id) so additions show at once."""
    from django.db.models import Max

    from events.models import Category

    v = Category.objects.aggregate(c=Count("id"), m=Max("id"))
    key = f"cockpit:category-codes:{v['c']}:{v['m']}"
    codes = cache.get(key)
    if codes is None:
        codes = dict(Category.objects.values_list("id", "code"))
        cache.set(key, codes, 3600)
    return codes


def _path_q(path: str | None, field: str = "node_path") -> Q:
    return Q(**{f"{field}__startswith": path}) if path else Q()


def _per_key(rows, classifier: Classifier, codes: dict[int, str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for category_id, source, grade, n in rows:
        key = classifier.key(codes.get(category_id, ""), source)
        if key is None:
            continue
        slot = out.setdefault(key, {"count": 0, "weighted": 0, "severe": 0})
        slot["count"] += n
        slot["weighted"] += n * GRADE_WEIGHT.get(grade, 1)
        if grade in (1, 2):
            slot["severe"] += n
    return out


def _day_rows(day_from: date, day_to: date, path: str | None):
    """The counts of the days, by category, source and grade (callers settle the queue first)."""
    return (
        CaseDaily.objects.filter(_path_q(path), day__gte=day_from, day__lte=day_to)
        .exclude(status__in=NOT_COUNTED)
        .values_list("category_id", "source", "grade")
        .annotate(n=Sum("n"))
        .filter(n__gt=0)
    )


def baselines(*, day: date, path: str | None = None) -> dict[str, float]:
    """Mean weighted count per day of each index over the 28 days before ``day`` (cached)."""
    cache_key = f"cockpit:baselines:{day.isoformat()}:{path or ''}"
    found = cache.get(cache_key)
    if found is not None:
        return found
    definitions = definitions_ensure()
    rollups_settle()
    rows = _day_rows(day - timedelta(days=BASELINE_DAYS), day - timedelta(days=1), path)
    per = _per_key(rows, Classifier.of(definitions), _category_codes())
    found = {d.key: per.get(d.key, {}).get("weighted", 0) / BASELINE_DAYS for d in definitions}
    cache.set(cache_key, found, 600)
    return found


def score(
    *,
    weighted: float,
    baseline: float,
    severe: int,
    count: int,
    overdue: int,
    open_: int,
    definition: IndexDefinition,
) -> tuple[float, dict]:
    """One index value and its parts (so the screen and the consultation can explain it)."""
    baseline = max(1.0, baseline)
    load = weighted / baseline
    severe_share = severe / count if count else 0.0
    overdue_share = overdue / open_ if open_ else 0.0
    penalty_volume = definition.weight_volume * min(1.0, load / 2)
    penalty_severity = definition.weight_severity * severe_share
    penalty_handling = definition.weight_handling * overdue_share
    value = max(0.0, min(100.0, 100 - penalty_volume - penalty_severity - penalty_handling))
    parts = {
        "count": count,
        "weighted": weighted,
        "baseline": round(baseline, 2),
        "load": round(load, 3),
        "severe": severe,
        "open": open_,
        "overdue": overdue,
        "penalty_volume": round(penalty_volume, 2),
        "penalty_severity": round(penalty_severity, 2),
        "penalty_handling": round(penalty_handling, 2),
    }
    return round(value, 1), parts


def indices_compute(
    *, day: date, at: datetime | None = None, path: str | None = None
) -> list[dict]:
    """The six indices of ``day``; overdue shares measured at ``at`` (default: end of day or
    now, whichever is earlier). Returns [{key, name, value, parts}] in display order."""
    definitions = definitions_ensure()
    classifier = Classifier.of(definitions)
    codes = _category_codes()
    end_of_day = datetime.combine(day + timedelta(days=1), time.min, tzinfo=TZ)
    at = at or min(timezone.now(), end_of_day)
    rollups_settle()
    per = _per_key(_day_rows(day, day, path), classifier, codes)
    open_rows = (
        CaseOpen.objects.filter(_path_q(path))
        .values_list("category_id", "source")
        .annotate(total=Count("case_id"), late=Count("case_id", filter=Q(due_at__lt=at)))
    )
    handling: dict[str, list[int]] = {}
    for category_id, source, total, late in open_rows:
        key = classifier.key(codes.get(category_id, ""), source)
        if key is not None:
            slot = handling.setdefault(key, [0, 0])
            slot[0] += total
            slot[1] += late
    auto = baselines(day=day, path=path)
    out = []
    for d in definitions:
        p = per.get(d.key, {"count": 0, "weighted": 0, "severe": 0})
        open_, late = handling.get(d.key, [0, 0])
        base = d.baseline if d.baseline is not None else auto.get(d.key, 0.0)
        value, parts = score(
            weighted=p["weighted"],
            baseline=base,
            severe=p["severe"],
            count=p["count"],
            overdue=late,
            open_=open_,
            definition=d,
        )
        out.append({"key": d.key, "name": d.name, "value": value, "parts": parts})
    return out


def indices_store(*, day: date, at: datetime | None = None) -> list[IndexValue]:
    """Compute and keep the town-wide values of ``day`` (the consultation and the trend read them)."""
    stored = []
    for item in indices_compute(day=day, at=at):
        row, _ = IndexValue.objects.update_or_create(
            day=day, key=item["key"], defaults={"value": item["value"], "parts": item["parts"]}
        )
        stored.append(row)
    return stored


def indices_trend(*, days: int = 30, today: date | None = None) -> dict:
    """Stored values of the last ``days`` days before today; missing days are computed and kept."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days)
    have = set(
        IndexValue.objects.filter(day__gte=first, day__lt=today).values_list("day", flat=True)
    )
    for i in range(days):
        d = first + timedelta(days=i)
        if d not in have:
            indices_store(day=d)
    rows = IndexValue.objects.filter(day__gte=first, day__lt=today).order_by("day")
    series: dict[str, list] = {}
    for row in rows:
        series.setdefault(row.key, []).append([row.day.isoformat(), row.value])
    return {
        "days": [(first + timedelta(days=i)).isoformat() for i in range(days)],
        "series": series,
    }
