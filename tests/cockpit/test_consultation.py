"""每日会商: the record built for yesterday (indices and change, riskiest grids, overdue cases,
open orders), its printable page and .xlsx, and commanders' orders becoming dispatched cases."""

import io
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from cockpit.models import Consultation, IndexValue
from cockpit.screen.consultation import consultation_build
from dispatch.models import Assignment, Department, Order, Team
from events import services
from events.models import Case
from tests.town import centre

IN_G1, IN_G3 = centre(0, 0), centre(0, 1)


@pytest.fixture(autouse=True)
def own_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": uuid.uuid4().hex,
        }
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.WHITENOISE_USE_FINDERS = False


def report(categories, code, point, source="worker", days_ago=1) -> Case:
    case = services.case_report(
        source=source,
        category=categories[code],
        description="会商测试",
        lng=point[0],
        lat=point[1],
        reporter=services.Reporter(label="测试"),
    ).case
    Case.objects.filter(id=case.id).update(reported_at=timezone.now() - timedelta(days=days_ago))
    return case


@pytest.fixture
def yesterday(town, categories):
    """Yesterday: three traffic accidents and a fire in G1, a heap of rubbish in G3; one G1
    accident long past its deadline. The day before: one accident."""
    now = timezone.now()
    cases = [report(categories, "L0005", IN_G1, "110") for _ in range(3)]
    report(categories, "L0001", IN_G1, "119")
    report(categories, "06010", IN_G3, "resident")
    report(categories, "L0005", IN_G3, "110", days_ago=2)
    # due the moment it was reported (yesterday, local time), so it is overdue at yesterday's end
    # whatever the time of day the test runs at
    Case.objects.filter(id=cases[0].id).update(register_due=now - timedelta(days=1))
    return cases


def test_the_consultation_reports_yesterdays_indices_change_risky_grids_and_overdue_cases(
    town, yesterday
):
    record = consultation_build()
    day = timezone.localdate() - timedelta(days=1)
    assert record.day == day
    data = record.data
    assert data["cases_reported"] == 5
    indices = {i["key"]: i for i in data["indices"]}
    assert len(indices) == 6
    traffic = indices["traffic"]
    assert traffic["parts"]["count"] == 3 and traffic["parts"]["overdue"] == 1
    # the day before had one accident: yesterday's traffic index is lower, and says by how much
    assert traffic["previous"] is not None and traffic["change"] < 0
    assert traffic["change"] == round(traffic["value"] - traffic["previous"], 1)
    assert IndexValue.objects.filter(day=day).count() == 6
    grids = data["riskiest_grids"]
    assert grids[0]["name"] == "A-01" and grids[0]["overdue"] == 1 and grids[0]["week_cases"] == 4
    assert [c["number"] for c in data["overdue_cases"]] == [yesterday[0].number]
    assert data["overdue_cases"][0]["hours_late"] >= 19.9
    # built again (the task retried): one record, rebuilt
    consultation_build()
    assert Consultation.objects.count() == 1


def test_the_printable_page_and_the_xlsx_carry_the_same_content(client, town, yesterday):
    record = consultation_build()
    client.force_login(town.li)
    page = client.get("/screen/consultation/").content.decode()
    assert "每日会商" in page and record.day.isoformat() in page
    assert yesterday[0].number in page and "A-01" in page and "道路交通" in page
    assert "下达指令" not in page  # an operator sees the record, only commanders order

    r = client.get(f"/screen/consultation/{record.day.isoformat()}.xlsx")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["平安指数", "风险网格", "超期事件", "在办指令"]
    rows = list(wb["平安指数"].iter_rows(values_only=True))
    assert rows[0][:2] == ("每日会商", record.day.isoformat())
    names = [row[0] for row in rows[4:10]]
    assert names == ["社会治安", "消防安全", "道路交通", "安全生产", "矛盾纠纷", "城市环境"]
    traffic = next(row for row in rows if row[0] == "道路交通")
    assert traffic[1] == record.data["indices"][2]["value"] and traffic[4] == 3
    overdue = list(wb["超期事件"].iter_rows(values_only=True))
    assert overdue[0][0] == "编号" and overdue[1][0] == yesterday[0].number
    risky = list(wb["风险网格"].iter_rows(values_only=True))[1]
    assert risky[0] == "A-01" and risky[4] in ("红", "橙", "黄", "蓝", "绿")

    assert client.get("/screen/consultation/2001-01-01.xlsx").status_code == 404
    client.force_login(town.wang)
    assert client.get(f"/screen/consultation/{record.day.isoformat()}.xlsx").status_code == 403


@pytest.fixture
def units(town):
    police = Department.objects.create(code="traffic-police", name="交警中队")
    team = Team.objects.create(department=police, code="tp-1", name="一组", lead=town.zhao)
    return police, team


def test_a_commanders_order_to_a_unit_becomes_a_case_dispatched_to_it(
    client, town, categories, yesterday, units
):
    police, team = units
    record = consultation_build()
    client.force_login(town.chen)
    page = client.get("/screen/consultation/").content.decode()
    assert "下达指令" in page and "交警中队" in page
    due = (timezone.now() + timedelta(hours=4)).isoformat()
    r = client.post(
        f"/api/screen/consultation/{record.day.isoformat()}/orders",
        {"team": team.id, "text": "A-01 网格早晚高峰加强交通疏导", "due_at": due},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    order = Order.objects.get(id=r.json()["id"])
    case = order.case
    assert case.source == "order" and case.status == "dispatched"
    assert case.handler_id == town.zhao.id  # the team's lead
    assert order.team_id == team.id and order.department_id == police.id
    assert order.issued_by_id == town.chen.id and record.orders.get().order_id == order.id
    assert Assignment.objects.get(case=case, active=True).team_id == team.id
    assert abs((case.resolve_due - order.due_at).total_seconds()) < 1
    assert [e.action for e in case.log.order_by("id")] == ["report", "register", "dispatch"]
    # listed on the record's page, and in the next consultation's open orders
    assert case.number in client.get(f"/screen/consultation/{record.day}/").content.decode()
    assert consultation_build().data["open_orders"][0]["case"] == case.number


def test_an_order_is_checked_field_by_field_and_only_commanders_give_one(
    client, town, categories, yesterday, units
):
    police, team = units
    record = consultation_build()
    url = f"/api/screen/consultation/{record.day.isoformat()}/orders"
    client.force_login(town.chen)
    r = client.post(url, {"text": ""}, content_type="application/json")
    assert r.status_code == 400
    fields = r.json()["fields"]
    assert fields["text"] == ["请填写指令内容。"] and fields["to"] == ["请选择一个接收单位或人员。"]
    r = client.post(
        url,
        {"department": police.id, "text": "检查", "due_at": "2001-01-01T08:00:00+08:00"},
        content_type="application/json",
    )
    assert r.status_code == 400 and list(r.json()["fields"]) == ["due_at"]
    r = client.post(url, {"department": 999999, "text": "检查"}, content_type="application/json")
    assert r.json()["fields"]["to"] == ["没有这个部门。"]
    assert Order.objects.count() == 0 and not Case.objects.filter(source="order").exists()

    client.force_login(town.li)  # an operator: no orders
    r = client.post(url, {"department": police.id, "text": "检查"}, content_type="application/json")
    assert r.status_code == 403 and Order.objects.count() == 0


def test_the_beat_schedule_runs_the_consultation_at_eight(db):
    from django_celery_beat.models import PeriodicTask

    from cockpit.screen import tasks

    task = PeriodicTask.objects.get(task="cockpit.consultation_build")
    assert (task.crontab.hour, task.crontab.minute, str(task.crontab.timezone)) == (
        "8",
        "0",
        "Asia/Shanghai",
    )
    assert task.enabled
    assert tasks.consultation_build_task.name == task.task


@pytest.mark.django_db(transaction=True)
def test_the_task_builds_yesterdays_consultation_in_a_real_worker(celery_worker, live_town):
    import time

    from cockpit.celery import app
    from events.taxonomy import taxonomy_load

    taxonomy_load()
    app.send_task("cockpit.consultation_build")  # what beat sends at 08:00
    yesterday = timezone.localdate() - timedelta(days=1)
    deadline = time.monotonic() + 30
    while not Consultation.objects.filter(day=yesterday).exists():
        assert time.monotonic() < deadline, celery_worker.output()[-2000:]
        time.sleep(0.3)
    record = Consultation.objects.get(day=yesterday)
    assert len(record.data["indices"]) == 6 and record.data["cases_reported"] == 0
