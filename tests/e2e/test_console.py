"""The operator console in a real browser (headless Chromium) against the real server: the
operator opens the queue, registers and dispatches a case from the keyboard, and sees the
status change live when the handler acts elsewhere, and a new report appear, without reloading."""

import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect

from events import services
from events.models import Case, CaseLog, Category
from tests.e2e.clients import login, taxonomy
from tests.town import centre

pytestmark = pytest.mark.django_db(transaction=True)

IN_G1 = centre(0, 0)
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"  # screenshots, not committed
ARTIFACTS.mkdir(exist_ok=True)


def report(description: str, point=IN_G1) -> Case:
    taxonomy()
    return services.case_report(
        source="resident",
        category=Category.objects.filter(code="06010").order_by("-kind").first(),
        description=description,
        address="文一西路 99 号",
        lng=point[0],
        lat=point[1],
        reporter=services.Reporter(label="市民"),
    ).case


def elsewhere(fn):
    """Run a write as another process would: in a thread without Playwright's event loop, so
    its after-commit push (async_to_sync) reaches the channel layer."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join(30)
    if "error" in out:
        raise out["error"]
    return out.get("value")


@pytest.fixture
def console(browser, live_server_url, live_town):
    """A browser page logged in as li, the seat operator."""
    session = login(live_server_url, "li")
    context = browser.new_context(locale="zh-CN", viewport={"width": 1600, "height": 1000})
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server_url} for c in session.cookies]
    )
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    yield page
    context.close()
    assert errors == []


def test_the_operator_registers_and_dispatches_from_the_keyboard_and_sees_it_live(
    console, live_server_url, live_town
):
    case = report("早市占道，垃圾散落")
    page = console
    page.goto(live_server_url + "/console/")
    row = page.locator(f'tr[data-id="{case.id}"]')
    expect(row).to_have_class(re.compile(r"\bsel\b"))  # the first row is selected
    expect(page.locator("#live-badge")).to_be_hidden(timeout=10_000)  # the live feed is open
    expect(page.locator(".q-keys")).to_contain_text("按推荐派遣")

    def count(status: str) -> int:
        return int(page.locator(f'[data-count="{status}"]').inner_text())

    counts = {s: count(s) for s in ("reported", "registered", "open", "all")}
    page.keyboard.press("k")  # already on the first row: stays
    page.keyboard.press("r")
    expect(row.locator(".st")).to_have_text("已立案")
    # The per-status counters follow the step, without a reload.
    expect(page.locator('[data-count="registered"]')).to_have_text(str(counts["registered"] + 1))
    expect(page.locator('[data-count="reported"]')).to_have_text(str(counts["reported"] - 1))
    expect(page.locator('[data-count="open"]')).to_have_text(str(counts["open"]))
    page.keyboard.press("d")
    expect(row.locator(".st")).to_have_text("已派遣")
    expect(row.locator(".c-handler")).to_have_text("王网格")
    stored = Case.objects.get(id=case.id)
    assert stored.status == "dispatched" and stored.handler_id == live_town.wang.id
    assert list(
        CaseLog.objects.filter(case=case, actor=live_town.li).values_list("action", flat=True)
    ) == ["register", "dispatch"]

    page.evaluate("window.__notReloaded = true")
    # The handler accepts on his phone: the operator's row changes by itself.
    elsewhere(
        lambda: services.case_transition(case_id=case.id, action="accept", actor=live_town.wang)
    )
    expect(row.locator(".st")).to_have_text("已签收", timeout=10_000)
    # A new report arrives: it appears on top of the queue, no reload.
    fresh = elsewhere(lambda: report("新上报：井盖缺失"))
    expect(page.locator("#queue-rows tr").first).to_have_attribute("data-id", str(fresh.id))
    expect(page.locator('[data-count="reported"]')).to_have_text(str(counts["reported"]))
    expect(page.locator('[data-count="all"]')).to_have_text(str(counts["all"] + 1))
    expect(page.locator('[data-count="open"]')).to_have_text(str(counts["open"] + 1))

    assert page.evaluate("window.__notReloaded") is True  # live, not a reload

    page.screenshot(path=str(ARTIFACTS / "console-queue.png"))
    # Enter opens the selected case; its timeline holds every step.
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/console/cases/{case.id}/$"))
    expect(page.locator("#case-status")).to_have_text("已签收")
    expect(page.locator("#timeline")).to_contain_text("派遣")
    expect(page.locator("#recommendation")).to_contain_text("王网格")


def test_the_case_page_registers_dispatches_redispatches_and_replies(
    console, live_server_url, live_town
):
    from dispatch.models import AnswerTemplate, Assignment, Department

    city = Department.objects.create(code="CG", name="城管中队")
    AnswerTemplate.objects.create(name="已派遣告知", action="", text="{number} 已交由专人处理。")
    case = report("小区门口共享单车堆放")
    page = console
    page.goto(live_server_url + f"/console/cases/{case.id}/")
    expect(page.locator("#live-badge")).to_be_hidden(timeout=10_000)
    expect(page.locator("#recommendation")).to_contain_text("A-01")  # why: the grid's worker
    # The map is drawn from our own geometry: no request leaves the server (no basemap tiles).
    expect(page.locator("#case-map canvas")).to_have_count(1)
    assert all(u.startswith((live_server_url, "data:", "blob:")) for u in page.requested), [
        u for u in page.requested if not u.startswith(live_server_url)
    ]

    page.keyboard.press("r")
    expect(page.locator("#case-status")).to_have_text("已立案")
    expect(page.locator("#timeline li").last).to_contain_text("立案")  # pushed over /ws/case/
    page.keyboard.press("d")
    expect(page.locator("#case-status")).to_have_text("已派遣")
    expect(page.locator("#case-handler")).to_have_text("王网格")

    # Re-dispatch to a department with a note.
    page.select_option("#dispatch-form select[name=user]", "")
    page.select_option("#dispatch-form select[name=department]", str(city.id))
    page.fill("#dispatch-form input[name=note]", "属城管职责")
    page.click("#dispatch-form button")
    expect(page.locator("#timeline")).to_contain_text("属城管职责")
    assert Assignment.objects.get(case=case, active=True).department_id == city.id

    # Reply with a template: its words, filled in, reach the log.
    page.select_option("#reply-template", label="已派遣告知")
    expect(page.locator("#reply-text")).to_have_value(f"{case.number} 已交由专人处理。")
    page.click("#reply-form button")
    expect(page.locator("#timeline li").last).to_contain_text(f"{case.number} 已交由专人处理。")
    page.screenshot(path=str(ARTIFACTS / "console-case.png"), full_page=True)
