"""The re-inspection schedule: red daily, yellow weekly, green monthly, assigned to the grid's
workers; a missed one becomes overdue; an inspection completes it and plans the next."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from safetycode.models import InspectionTask, Site
from safetycode.services import inspection_submit, reinspections_plan, tasks_mark_overdue
from safetycode.tasks import overdue_sweep
from tests.safetycode.conftest import IN_G3, all_yes, make_site


def open_task(site) -> InspectionTask:
    return InspectionTask.objects.get(site=site, status__in=["pending", "overdue"])


def test_tasks_follow_the_code_and_go_to_the_grids_worker(town):
    green = make_site(name="绿码店", n=1)
    yellow = make_site(name="黄码店", n=2)
    red = make_site(name="红码店", n=3)
    g3 = make_site(name="绿城店", n=4, at=IN_G3)
    now = timezone.now()
    Site.objects.filter(id__in=[green.id, yellow.id, red.id]).update(last_inspection_at=now)
    Site.objects.filter(id=yellow.id).update(code="yellow")
    Site.objects.filter(id=red.id).update(code="red")

    # Registering a site planned its first visit; the plan runs again (nightly) without
    # doubling anything, and pulls visits forward for the codes that worsened.
    assert InspectionTask.objects.filter(status="pending").count() == 4
    assert reinspections_plan() == 0  # idempotent: one open task per site
    InspectionTask.objects.all().delete()
    assert reinspections_plan() == 4

    def due_in(site):
        return open_task(site).due_at - now

    assert timedelta(hours=23) < due_in(red) <= timedelta(days=1, minutes=1)
    assert timedelta(days=6, hours=23) < due_in(yellow) <= timedelta(days=7, minutes=1)
    assert timedelta(days=29) < due_in(green) <= timedelta(days=30, minutes=1)
    assert open_task(green).assignee == town.wang  # G1's worker
    assert open_task(g3).assignee == town.zhao  # G3's worker
    r_wang = {t.site_id for t in InspectionTask.objects.filter(assignee=town.wang)}
    assert g3.id not in r_wang


def test_a_worsened_code_pulls_the_next_visit_forward(town):
    site = make_site()
    reinspections_plan()
    assert open_task(site).due_at - timezone.now() > timedelta(days=20)
    result = inspection_submit(
        site=site, inspector=town.wang, answers={**all_yes(site), "exits": "no"}
    )
    assert result.site.code == "red"
    # The inspection did the old task and planned the next one a day ahead.
    assert InspectionTask.objects.filter(site=site, status="done").count() == 1
    assert open_task(site).due_at - timezone.now() <= timedelta(days=1, minutes=1)
    assert open_task(site).code_at_plan == "red"


def test_a_missed_task_becomes_overdue_and_stays_open_until_inspected(town, api):
    site = make_site()
    reinspections_plan()
    InspectionTask.objects.filter(site=site).update(due_at=timezone.now() - timedelta(hours=2))

    assert overdue_sweep()["tasks_overdue"] == 1
    assert tasks_mark_overdue() == 0
    task = open_task(site)
    assert task.status == "overdue"
    listed = api(town.wang).get("/api/safety/tasks").json()["results"]
    assert [(t["site"]["id"], t["status"]) for t in listed] == [(site.id, "overdue")]
    assert api(town.zhao).get("/api/safety/tasks").json()["results"] == []

    inspection_submit(site=site, inspector=town.wang, answers=all_yes(site))
    task.refresh_from_db()
    assert task.status == "done" and task.inspection_id is not None


def test_a_grid_without_workers_gets_unassigned_tasks(town):
    User.objects.filter(id=town.wang.id).update(is_active=False)
    site = make_site()
    reinspections_plan()
    assert open_task(site).assignee is None


def test_the_beat_schedules_are_registered_and_point_at_real_tasks(db):
    from django_celery_beat.models import PeriodicTask

    from cockpit.celery import app

    app.loader.import_default_modules()
    tasks = dict(
        PeriodicTask.objects.filter(name__startswith="safetycode.").values_list("name", "task")
    )
    assert tasks == {
        "safetycode.recompute_all": "safetycode.tasks.scores_recompute_all",
        "safetycode.reinspections_plan": "safetycode.tasks.reinspections_plan",
        "safetycode.overdue_sweep": "safetycode.tasks.overdue_sweep",
    }
    assert set(tasks.values()) <= set(app.tasks)
