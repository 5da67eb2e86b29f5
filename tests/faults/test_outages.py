"""Outages: the database is the truth, so a stopped Celery worker or a stopped Redis delays
routing but loses nothing. Each test runs the stack on a Redis of its own, so stopping it
touches no other test."""

import time

import pytest
import requests

from dispatch.models import RoutingRule
from events.models import Case, CaseLog
from tests.e2e.clients import taxonomy
from tests.procs import AsgiServer, CeleryWorker, ThrowawayRedis
from tests.town import centre

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("faults")]


def post_reports(base_url: str, n: int, tag: str, row: int = 0) -> list[str]:
    """n reports 200 m apart (so none is a duplicate of another); their case numbers."""
    x, y = centre(0, 0)
    y += row * 0.002
    numbers = []
    for i in range(n):
        r = requests.post(
            base_url + "/api/report",
            data={"category": "06010", "description": f"{tag} {i}", "lng": x - 0.004 + i * 0.002,
                  "lat": y},
            headers={"Referer": base_url + "/report"},
            timeout=30,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        numbers.append(r.json()["number"])
    return numbers


def wait_routed(numbers: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Case.objects.filter(number__in=numbers, routed_at__isnull=False).count() == len(numbers):
            return
        time.sleep(0.5)
    left = list(
        Case.objects.filter(number__in=numbers, routed_at__isnull=True).values_list(
            "number", flat=True
        )
    )
    raise AssertionError(f"not routed within {timeout}s: {left}")


def assert_exactly_once(numbers: list[str]) -> None:
    cases = Case.objects.filter(number__in=numbers)
    assert cases.count() == len(numbers)
    for case in cases:
        log = list(CaseLog.objects.filter(case=case).values_list("action", flat=True))
        assert (
            log.count("report") == 1 and log.count("route") == 1 and log.count("dispatch") == 1
        ), (
            case.number,
            log,
        )
        assert case.status == Case.Status.DISPATCHED


@pytest.fixture
def stack(test_database_url, live_town):
    taxonomy()
    RoutingRule.objects.create(name="全部→网格员", target="grid_worker", mode="auto")
    redis = ThrowawayRedis()
    redis.start()
    server = AsgiServer(database_url=test_database_url, redis_url=redis.url)
    server.start()
    parts = {"redis": redis, "server": server, "workers": []}
    yield parts
    server.stop()
    for w in parts["workers"]:
        w.kill()
    redis.stop()


def test_reports_taken_while_the_worker_is_down_are_routed_once_when_it_returns(
    stack, test_database_url
):
    numbers = post_reports(stack["server"].url, 4, "worker down")
    time.sleep(1)
    assert Case.objects.filter(number__in=numbers, routed_at__isnull=True).count() == 4
    worker = CeleryWorker(database_url=test_database_url, redis_url=stack["redis"].url)
    stack["workers"].append(worker)
    worker.start()
    wait_routed(numbers)
    time.sleep(1)  # give a duplicate delivery the chance to show itself
    assert_exactly_once(numbers)


def test_reports_taken_while_redis_is_down_are_routed_once_when_it_returns(
    stack, test_database_url
):
    worker = CeleryWorker(
        database_url=test_database_url,
        redis_url=stack["redis"].url,
        beat=True,  # the sweeper runs in beat
        env={"ROUTE_SWEEP_SECONDS": 2, "ROUTE_SWEEP_AGE_SECONDS": 1},
    )
    stack["workers"].append(worker)
    worker.start()
    before = post_reports(stack["server"].url, 2, "before")
    wait_routed(before)

    stack["redis"].stop()
    during = post_reports(stack["server"].url, 3, "redis down", row=1)  # accepted: 201 each
    assert Case.objects.filter(number__in=during, routed_at__isnull=True).count() == 3

    stack["redis"].start()  # same port: the worker and beat reconnect
    wait_routed(during, timeout=90)
    time.sleep(3)  # a later sweep must not route anything twice
    assert_exactly_once(before + during)
