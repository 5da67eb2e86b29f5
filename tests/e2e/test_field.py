"""The field app (/m/) on a phone (360×640, Debian's chromium) against the real daphne server,
Redis and a Celery worker: a task arrives live, is accepted, resolved offline with a photo and
reaches the server exactly once when the network returns; a patrol report lands in the
operators' queue; positions stop off duty; another grid's case stays closed."""

import threading
import time
from pathlib import Path

import pytest
from django.utils import timezone

from events import services
from events.models import Attachment, Case, CaseLog, Category
from grids.models import LatestPosition, StaffPosition
from tests.e2e.clients import jpeg, taxonomy
from tests.town import PASSWORD, centre

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
IN_G1 = centre(0, 0)
IN_G3 = centre(0, 1)
PHONE = {"width": 360, "height": 640}


def phone(browser, base_url, *, at=IN_G1, init_script: str = ""):
    context = browser.new_context(
        base_url=base_url,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        geolocation={"longitude": at[0], "latitude": at[1], "accuracy": 12},
        permissions=["geolocation"],
    )
    if init_script:
        context.add_init_script(init_script)
    context.set_default_timeout(15000)
    return context


def login(page, username: str, next_url: str = "/m/"):
    page.goto(next_url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_url}*")


def shot(page, name: str):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"field-{name}.png"))


def category(code="06010") -> Category:
    taxonomy()
    return Category.objects.filter(code=code).order_by("kind").first()


def dispatched_case(town, point=IN_G1, handler=None, grade=None) -> Case:
    case = services.case_report(
        source="resident",
        category=category(),
        description="兰里路人行道堆放建筑垃圾",
        address="兰里路 88 号门口",
        lng=point[0],
        lat=point[1],
        grade=grade,
        reporter=services.Reporter(phone="13812345678", label="市民"),
    ).case
    services.case_transition(case_id=case.id, action="register", actor=town.li)
    if handler is not None:
        services.case_transition(
            case_id=case.id, action="dispatch", actor=town.li, updates={"handler": handler}
        )
    return case


def off_loop(fn, *args, **kwargs):
    """Run a service call in a thread of its own: Playwright's sync API keeps an event loop in
    this one, and the live push (async_to_sync) refuses to run beside it."""
    from django.db import connection

    out: dict = {}

    def run():
        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # re-raised below, in the test's thread
            out["error"] = exc
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(30)
    if "error" in out:
        raise out["error"]
    return out["value"]


def wait_for(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def status(case) -> str:
    return Case.objects.get(id=case.id).status


def test_a_task_arrives_live_is_accepted_and_resolved_offline_exactly_once(
    browser, live_server_url, live_town, celery_worker
):
    taxonomy()
    context = phone(browser, live_server_url, at=(IN_G1[0] + 0.0004, IN_G1[1]))
    page = context.new_page()
    try:
        login(page, "wang")
        page.wait_for_selector("#inbox")
        page.wait_for_function("document.body.dataset.live === 'open'")
        assert page.locator(".case-card").count() == 0

        # the centre dispatches a case to wang: it appears without reloading, with an alert
        case = off_loop(dispatched_case, live_town, handler=live_town.wang)
        card = page.locator(f'.case-card[data-case-id="{case.id}"]')
        card.wait_for()
        assert int(page.evaluate("document.body.dataset.alerted || 0")) >= 1
        assert "兰里路" in card.inner_text()
        shot(page, "1-inbox")

        card.click()
        page.wait_for_url(f"**/m/cases/{case.id}/")
        page.locator("#actions button", has_text="签收").click()
        wait_for(lambda: status(case) == "accepted", what="accept on the server")
        page.wait_for_selector("#case-status:has-text('已签收')")
        # English beside the Chinese, on the buttons too
        assert "On site" in page.locator("#actions button", has_text="到场打卡").inner_text()
        shot(page, "2-case-accepted")

        # "on site" from ~500 m away: the phone warns before sending, the server records it
        context.set_geolocation(
            {"longitude": IN_G1[0] + 0.0052, "latitude": IN_G1[1], "accuracy": 15}
        )
        page.locator("#actions button", has_text="到场打卡").click()
        warning = page.locator("#far-warning")
        warning.wait_for()
        assert "超过 200 米" in warning.inner_text()
        shot(page, "2b-arrive-warning")
        page.click("#arrive-anyway")
        wait_for(lambda: status(case) == "on_site", what="arrive on the server")
        arrived = CaseLog.objects.get(case=case, action="arrive")
        assert 450 < arrived.data["distance_m"] < 550
        page.wait_for_selector("#toast:has-text('请确认已到达现场')")  # the server's own warning
        page.wait_for_selector("#case-status:has-text('已到场')")
        context.set_geolocation(
            {"longitude": IN_G1[0] + 0.0004, "latitude": IN_G1[1], "accuracy": 12}
        )

        # no network: resolve with a photo; it waits on the phone, shown as 待发送
        context.set_offline(True)
        page.wait_for_selector("#net:not([hidden])")
        page.locator("#actions button", has_text="处置完毕").click()
        page.set_input_files(
            "#resolve-photos",
            files=[
                {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": jpeg(size=(640, 480))}
            ],
        )
        page.wait_for_selector("#resolve-form .thumb img")
        page.fill("#resolve-form textarea[name=note]", "已清运完毕，路面恢复通行")
        shot(page, "3-resolve-sheet")
        page.locator("#resolve-form button[type=submit]").click()
        page.wait_for_selector("#pending:has-text('待发送')")
        page.wait_for_selector("#banner:has-text('待发送')")
        shot(page, "4-offline-waiting")
        time.sleep(2)
        assert status(case) == "on_site"  # nothing reached the server
        # the photo is kept as a Blob in IndexedDB with the phone-made id
        queued = page.evaluate(
            """() => new Promise((ok) => { const r = indexedDB.open('field-outbox');
                 r.onsuccess = () => { const g = r.result.transaction('items').objectStore('items').getAll();
                 g.onsuccess = () => ok(g.result.map(i => ({id: i.id, action: i.action,
                   photo: i.photos[0] instanceof Blob, size: i.photos[0].size}))); }; })"""
        )
        assert len(queued) == 1 and queued[0]["action"] == "resolve" and queued[0]["photo"]
        client_action_id = queued[0]["id"]

        # the network returns: it is sent, once
        context.set_offline(False)
        try:
            wait_for(lambda: status(case) == "resolved", what="resolve on the server")
        except AssertionError:
            print(
                "DEBUG",
                page.evaluate("""() => new Promise((ok) => { const r = indexedDB.open('field-outbox');
                 r.onsuccess = () => { const g = r.result.transaction('items').objectStore('items').getAll();
                 g.onsuccess = () => ok(JSON.stringify(g.result.map(i => [i.state, i.error, i.tries]))); }; })"""),
                page.evaluate("navigator.onLine"),
            )
            shot(page, "debug")
            raise
        page.wait_for_selector("#banner", state="hidden")
        resolves = CaseLog.objects.filter(case=case, action="resolve")
        assert resolves.count() == 1
        assert resolves.get().client_action_id == client_action_id
        assert Attachment.objects.filter(case=case, stage="resolve").count() == 1
        page.wait_for_selector("#case-status:has-text('已处置')")
        shot(page, "5-resolved")

        # the same action sent again (an answer lost on the way) changes nothing
        again = page.evaluate(
            """async ([id, caseId]) => { const f = new FormData(); f.append('client_action_id', id);
                 f.append('note', 'again');
                 const m = document.cookie.match(/csrftoken=([^;]+)/);
                 const r = await fetch(`/api/cases/${caseId}/actions/resolve`, {method: 'POST', body: f,
                   headers: {'X-CSRFToken': m[1]}}); return r.status; }""",
            [client_action_id, case.id],
        )
        assert again == 200
        assert CaseLog.objects.filter(case=case, action="resolve").count() == 1
    finally:
        context.close()


def test_a_patrol_report_reaches_the_operators_queue(
    browser, live_server_url, live_town, celery_worker
):
    taxonomy()
    context = phone(browser, live_server_url)
    page = context.new_page()
    try:
        login(page, "wang", "/m/report")
        page.wait_for_selector("#where:has-text('A-01')")
        page.wait_for_selector("#cats .chip-btn svg path")  # the category icons, drawn
        page.select_option("#category", value="06010")
        page.set_input_files(
            "#report-photos",
            files=[{"name": "p.jpg", "mimeType": "image/jpeg", "buffer": jpeg(size=(800, 600))}],
        )
        page.wait_for_selector("#report-form .thumb img")
        page.fill("#report-form textarea[name=description]", "巡查发现：共享单车乱停放堵塞盲道")
        shot(page, "6-patrol-report")
        page.locator("#report-form button[type=submit]").click()
        case = wait_for(
            lambda: Case.objects.filter(source="worker", reporter_user=live_town.wang).first(),
            what="the patrol report on the server",
        )
        assert case.grid_id == live_town.g1.id and "盲道" in case.description
        assert Attachment.objects.filter(case=case, stage="report").count() == 1
        page.wait_for_url("**/m/me")
    finally:
        context.close()

    console = browser.new_context(
        base_url=live_server_url, viewport={"width": 1280, "height": 800}, locale="zh-CN"
    )
    desk = console.new_page()
    try:
        login(desk, "li", "/console/")
        row = desk.locator("tr", has_text=case.number)
        row.wait_for()
        assert "网格员上报" in row.inner_text()
    finally:
        console.close()


def test_positions_are_sent_on_duty_and_stop_off_duty(browser, live_server_url, live_town):
    context = phone(
        browser,
        live_server_url,
        # the 30 s interval, shortened for the test (the app reads this override)
        init_script="localStorage.setItem('field.positionIntervalMs', '1000');",
    )
    page = context.new_page()
    try:
        login(page, "wang", "/m/me")
        page.wait_for_selector("#duty-switch")
        assert StaffPosition.objects.filter(staff=live_town.wang).count() == 0
        page.click("#duty-switch")
        page.wait_for_selector("#toast:has-text('已上岗'):has-text('on duty')")
        wait_for(
            lambda: StaffPosition.objects.filter(staff=live_town.wang).count() >= 3,
            what="three position reports",
        )
        assert LatestPosition.objects.get(staff=live_town.wang).on_duty is True
        page.wait_for_selector("#duty[data-on='1']")
        shot(page, "7-on-duty")

        page.click("#duty-switch")
        page.wait_for_selector("#duty[data-on='0']")
        wait_for(
            lambda: LatestPosition.objects.get(staff=live_town.wang).on_duty is False,
            what="the off-duty report",
        )
        sent = StaffPosition.objects.filter(staff=live_town.wang).count()
        time.sleep(3.5)  # three intervals
        assert StaffPosition.objects.filter(staff=live_town.wang).count() == sent
        shot(page, "8-off-duty")
    finally:
        context.close()


def test_positions_taken_offline_are_kept_and_sent_when_back_online(
    browser, live_server_url, live_town
):
    """On duty with no network: each interval's position is kept on the phone; back online,
    they reach the server, oldest first, with the times they were taken."""
    context = phone(
        browser,
        live_server_url,
        init_script="localStorage.setItem('field.positionIntervalMs', '1000');",
    )
    page = context.new_page()
    mine = StaffPosition.objects.filter(staff=live_town.wang)
    try:
        login(page, "wang", "/m/me")
        page.wait_for_selector("#duty-switch")
        page.click("#duty-switch")
        wait_for(lambda: mine.count() >= 1, what="the first position report")
        context.set_offline(True)
        time.sleep(0.5)
        before = mine.count()
        offline_from = timezone.now()
        time.sleep(4)  # about four intervals without a network
        offline_until = timezone.now()
        assert mine.count() == before  # nothing got through
        kept = page.evaluate(
            "JSON.parse(localStorage.getItem('field.positionQueue') || '[]').length"
        )
        assert kept >= 3
        context.set_offline(False)
        wait_for(
            lambda: mine.filter(recorded_at__range=(offline_from, offline_until)).count() >= 3,
            what="the kept positions",
        )
        wait_for(
            lambda: (
                page.evaluate(
                    "JSON.parse(localStorage.getItem('field.positionQueue') || '[]').length"
                )
                == 0
            ),
            what="an empty queue on the phone",
        )
        latest = LatestPosition.objects.get(staff=live_town.wang)
        assert latest.recorded_at == mine.order_by("-recorded_at").first().recorded_at
    finally:
        context.close()


def test_a_worker_cannot_open_another_grids_case_by_url(browser, live_server_url, live_town):
    taxonomy()
    other = off_loop(dispatched_case, live_town, point=IN_G3, handler=live_town.zhao)
    context = phone(browser, live_server_url)
    page = context.new_page()
    try:
        login(page, "wang")
        response = page.goto(f"/m/cases/{other.id}/")
        assert response.status == 404
        assert page.locator("h2", has_text="无权查看").is_visible()
        assert "兰里路" not in page.content()
        shot(page, "9-forbidden")
        # and inside the app (client-side route): the API says 404, the page says 无权查看
        page.goto("/m/")
        page.wait_for_selector("#inbox")
        page.evaluate(
            f"history.pushState({{}}, '', '/m/cases/{other.id}/'); dispatchEvent(new PopStateEvent('popstate'))"
        )
        page.wait_for_selector("#forbidden:has-text('无权查看')")
        # its icon drawn from the page's embedded drawings (events/templatetags/icons.py)
        assert page.locator("#forbidden .empty-ico svg circle").count() == 1
    finally:
        context.close()


def test_the_installed_app_opens_without_a_network(browser, live_server_url, live_town):
    taxonomy()
    case = off_loop(dispatched_case, live_town, handler=live_town.wang)
    context = phone(browser, live_server_url)
    page = context.new_page()
    try:
        login(page, "wang")
        scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
        assert scope == live_server_url + "/m/"
        manifest = page.evaluate(
            "fetch(document.querySelector('link[rel=manifest]').href).then((r) => r.json())"
        )
        assert manifest["start_url"] == "/m/" and manifest["display"] == "standalone"
        # once controlled, the inbox and the case are kept for offline use
        page.reload()
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        page.locator(f'.case-card[data-case-id="{case.id}"]').click()
        page.wait_for_selector("#case-status")
        page.goto("/m/")
        page.wait_for_selector(f'.case-card[data-case-id="{case.id}"]')

        context.set_offline(True)
        page.reload()
        page.wait_for_selector("#net:not([hidden])")
        page.locator(f'.case-card[data-case-id="{case.id}"]').click()
        page.wait_for_selector("#case-status:has-text('已派遣')")
        assert "兰里路" in page.inner_text("#view")
        # it really came from the phone's cache: the network is gone
        served = page.evaluate(
            "fetch('/m/api/inbox').then((r) => r.headers.get('X-Field-Offline'))"
        )
        assert served == "1"
        assert page.evaluate("fetch('/healthz').then(() => 'online', () => 'offline')") == "offline"
        shot(page, "10-offline-reopened")
    finally:
        context.close()


def test_the_handler_calls_the_same_circle_and_a_colleague_joins_from_his_phone(
    browser, live_server_url, live_town
):
    from grids.services import position_record

    taxonomy()
    case = off_loop(dispatched_case, live_town, handler=live_town.wang, grade=1)
    near = (IN_G1[0] + 0.004, IN_G1[1])  # liu, grid leader of G2 in the same squad, ≈ 385 m
    position_record(staff=live_town.liu, lng=near[0], lat=near[1], on_duty=True)
    position_record(staff=live_town.zhao, lng=IN_G1[0], lat=IN_G1[1] - 0.002, on_duty=True)

    colleague = phone(browser, live_server_url, at=near)
    liu = colleague.new_page()
    handler = phone(browser, live_server_url)
    wang = handler.new_page()
    try:
        login(liu, "liu")
        liu.wait_for_selector("#inbox")
        liu.wait_for_function("document.body.dataset.live === 'open'")

        login(wang, "wang", f"/m/cases/{case.id}/")
        wang.locator("#actions button", has_text="呼叫同圈").click()
        called = wang.locator("#called")
        called.wait_for()
        assert "刘网格长" in called.inner_text() and "赵网格" not in called.inner_text()
        shot(wang, "11-call-nearby")

        # liu's phone rings: the call tops his inbox; he joins
        call = liu.locator(f'.call-card[data-case-id="{case.id}"]')
        call.wait_for()
        assert int(liu.evaluate("document.body.dataset.alerted || 0")) >= 1
        shot(liu, "12-called")
        call.locator("button", has_text="加入联动").click()
        wait_for(
            lambda: CaseLog.objects.filter(case=case, action="join", actor=live_town.liu).exists(),
            what="the join on the server",
        )
        assert Case.objects.get(id=case.id).extra.get("joint_at")
    finally:
        colleague.close()
        handler.close()
