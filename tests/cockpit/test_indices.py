"""The six safety indices on constructed data: the formula of docs/indices.md, how a case is
classified into one index, that refused cases do not count, and that admin weights matter."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from cockpit.models import IndexDefinition, IndexValue
from cockpit.screen import indices
from events import services
from tests.town import centre

IN_G1 = centre(0, 0)


@pytest.fixture(autouse=True)
def own_cache(settings):
    """A private cache per test: the screen caches names and baselines, and every test builds a
    new small town with new ids."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": uuid.uuid4().hex,
        }
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def report(categories, code, *, source="worker", grade=None):
    return services.case_report(
        source=source,
        category=categories[code],
        description="测试",
        lng=IN_G1[0],
        lat=IN_G1[1],
        grade=grade,
        reporter=services.Reporter(label="测试"),
    ).case


def definition(key, **changes) -> IndexDefinition:
    indices.definitions_ensure()
    d = IndexDefinition.objects.get(key=key)
    for name, value in changes.items():
        setattr(d, name, value)
    d.save()
    return d


def by_key(rows) -> dict:
    return {r["key"]: r for r in rows}


def test_the_formula_takes_volume_severity_and_overdue_share_with_their_weights():
    d = IndexDefinition(weight_volume=50, weight_severity=30, weight_handling=20)
    # an ordinary day: load 1 → half the volume weight; 2 of 10 severe; 1 of 4 open cases late
    value, parts = indices.score(
        weighted=10, baseline=10, severe=2, count=10, overdue=1, open_=4, definition=d
    )
    assert value == 100 - 25 - 6 - 5 == 64
    assert parts["load"] == 1.0 and parts["penalty_handling"] == 5
    # nothing happened: the index is 100
    assert (
        indices.score(weighted=0, baseline=0, severe=0, count=0, overdue=0, open_=0, definition=d)[
            0
        ]
        == 100
    )
    # twice the baseline or more loses the whole volume weight, never more; floor at 0
    assert (
        indices.score(
            weighted=90, baseline=10, severe=9, count=9, overdue=3, open_=3, definition=d
        )[0]
        == 0
    )
    assert (
        indices.score(
            weighted=40, baseline=10, severe=0, count=40, overdue=0, open_=0, definition=d
        )[0]
        == 50
    )


def test_a_case_counts_in_one_index_category_code_before_major_before_source():
    c = indices.Classifier.of(
        [
            IndexDefinition(key="fire", category_codes="L0001,09012", sources="119"),
            IndexDefinition(key="traffic", category_codes="09009,02", sources=""),
            IndexDefinition(key="environment", category_codes="06,09", sources="resident"),
            IndexDefinition(key="disputes", category_codes="L0007", sources="12345"),
        ]
    )
    assert c.key("09012", "worker") == "fire"  # exact code, though 09 is environment's major
    assert c.key("09009", "resident") == "traffic"
    assert c.key("09006", "patrol") == "environment"  # by major
    assert c.key("06028", "12345") == "environment"  # the category wins over the source
    assert c.key("L0014", "12345") == "disputes"  # no category match: by source
    assert c.key("L0001", "110") == "fire"
    assert c.key("L0099", "worker") is None


def test_todays_indices_from_reported_cases_follow_the_formula(town, categories):
    definition("traffic", baseline=5)
    accidents = [report(categories, "L0005", source="110") for _ in range(2)]  # 紧急: weight 2
    report(categories, "09009", source="video_ai")  # 一般: weight 1
    refused = report(categories, "L0005", source="110")
    services.case_transition(case_id=refused.id, action="reject", actor=town.li, note="重复报警")
    report(categories, "L0001", source="119")  # 特急 fire, no history: baseline 1
    report(categories, "L0014", source="12345")  # 民生求助 from the hotline: disputes by source

    today = timezone.localdate()
    now = timezone.now()
    result = by_key(indices.indices_compute(day=today, at=now))
    traffic = result["traffic"]
    # weighted 2+2+1 = 5 = baseline → load 1 → −25; 2 of 3 severe → −20; none late yet
    assert traffic["parts"]["count"] == 3 and traffic["parts"]["weighted"] == 5
    assert traffic["value"] == 55.0
    # fire: weighted 3 on baseline 1 → −50; all severe → −30
    assert result["fire"]["value"] == 20.0
    assert result["disputes"]["parts"]["count"] == 1
    assert result["environment"]["value"] == 100.0
    assert [r["key"] for r in indices.indices_compute(day=today)] == [
        "public_security",
        "fire",
        "traffic",
        "work_safety",
        "disputes",
        "environment",
    ]

    # Two of the three open traffic cases past their deadline → −20 × 2/3.
    from events.models import Case

    Case.objects.filter(id__in=[a.id for a in accidents]).update(
        register_due=now - timedelta(minutes=5)
    )
    late = by_key(indices.indices_compute(day=today, at=now))["traffic"]
    assert late["parts"]["open"] == 3 and late["parts"]["overdue"] == 2
    assert late["value"] == round(55 - 20 * 2 / 3, 1)

    # The admin turns the volume weight off: the index moves by exactly that penalty.
    definition("traffic", weight_volume=0)
    assert by_key(indices.indices_compute(day=today, at=now))["traffic"]["value"] == round(
        100 - 20 - 20 * 2 / 3, 1
    )


def test_the_baseline_defaults_to_the_mean_of_the_28_days_before(town, categories):
    from events.models import Case

    old = [report(categories, "L0005", source="110") for _ in range(14)]  # 14 × weight 2 = 28
    Case.objects.filter(id__in=[c.id for c in old]).update(
        reported_at=timezone.now() - timedelta(days=3)
    )
    base = indices.baselines(day=timezone.localdate())
    assert base["traffic"] == pytest.approx(28 / 28)
    assert base["fire"] == 0


def test_the_trend_stores_each_missing_day_once(town, categories):
    report(categories, "L0005", source="110")
    trend = indices.indices_trend(days=3, today=timezone.localdate() + timedelta(days=1))
    assert len(trend["days"]) == 3 and len(trend["series"]["traffic"]) == 3
    assert IndexValue.objects.count() == 18
    today = timezone.localdate().isoformat()
    assert dict(trend["series"]["traffic"])[today] < 100
    indices.indices_trend(days=3, today=timezone.localdate() + timedelta(days=1))
    assert IndexValue.objects.count() == 18
