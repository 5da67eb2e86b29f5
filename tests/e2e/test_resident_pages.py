"""The resident's pages on a phone (headless Chromium, 390×844, location allowed, standing in
grid G1): 随手拍 → case number and tracking link → the tracking page follows the case live while
the centre works it (no reload) → after closure it asks for the verdict and takes it.
Screenshots go to tests/artifacts/ (resident-*.png) for a human look."""

import threading
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from events import services
from events.media import photos_check
from events.models import Case, CaseLog
from tests.e2e.clients import jpeg, reset_rate_limits, taxonomy
from tests.events.conftest import EMOJI
from tests.town import centre

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
IN_G1 = centre(0, 0)


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


def routed(case_id: int, timeout: float = 60) -> Case:
    """The case once the real worker has routed it. Waiting also keeps the worker's routing
    transaction from racing the end-of-test flush (a deadlock in PostgreSQL)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        case = Case.objects.get(id=case_id)
        if case.routed_at is not None:
            return case
        time.sleep(0.2)
    raise AssertionError(f"case {case_id} not routed within {timeout}s")


@pytest.fixture
def phone(browser, live_server_url, live_town):
    """A phone-sized page with location allowed, standing in the middle of grid G1."""
    taxonomy()
    reset_rate_limits()
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        geolocation={"longitude": IN_G1[0], "latitude": IN_G1[1], "accuracy": 12},
        permissions=["geolocation"],
        user_agent=(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0 Mobile Safari/537.36"
        ),
    )
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    yield page
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate(
        "window.scrollTo(0, 0)"
    )  # a full-page shot of a scrolled page misplaces the sticky header
    page.screenshot(path=str(ARTIFACTS / f"resident-{name}.png"), full_page=True)


def test_a_resident_reports_follows_live_and_rates(
    phone, live_server_url, live_town, celery_worker, tmp_path
):
    page = phone
    started = time.monotonic()
    page.goto(live_server_url + "/report")
    expect(page.locator("#place-state")).to_contain_text("已定位", timeout=10000)
    expect(page.locator("#place-state")).to_contain_text("Located")  # English beside, kept
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    # every category shows its drawn icon (inline SVG: no emoji font needed)
    icons = page.locator(".r-cat .r-cat-ico svg[data-icon]")
    expect(icons).to_have_count(page.locator(".r-cat").count())
    assert icons.first.bounding_box()["width"] >= 20
    page.get_by_text("暴露垃圾", exact=True).click()
    snapshot = tmp_path / "pile.jpg"
    snapshot.write_bytes(jpeg((90, 120, 60), size=(800, 600)))
    page.locator("#photo-album").set_input_files(str(snapshot))
    expect(page.locator(".r-thumb img")).to_have_count(1)
    page.locator("#description").fill("小区北门垃圾堆了三天，没人清")
    page.locator("#phone").fill("139 1234 5678")
    shot(page, "report-filled")
    page.get_by_role("button", name="提交").click()

    expect(page.locator("#done")).to_be_visible(timeout=15000)
    number = page.locator("#case-number").inner_text().strip()
    elapsed = time.monotonic() - started
    assert number.startswith("SD-")
    shot(page, "report-done")
    print(f"report page: open → case number in {elapsed:.1f} s (automated)")
    assert elapsed < 60, elapsed  # the page itself never stands between a resident and a minute
    assert page.locator("#done .r-done-ico svg").bounding_box()["width"] >= 40
    assert not EMOJI.findall(page.content())

    case = Case.objects.get(number=number)
    assert case.source == "resident" and case.grid_id == live_town.g1.id
    assert case.category.code == "06010" and case.description.startswith("小区北门")
    assert case.extra.get("accuracy_m") == 12 and case.src_crs == "wgs84"
    assert case.attachments.count() == 1 and case.reporter_phone_enc
    routed(case.id)  # the worker has taken it (no rule here: it waits for the operator)

    link = page.locator("#track-link")
    assert link.get_attribute("href") == f"/t/{case.tracking_token}"
    link.click()
    page.wait_for_url(f"**/t/{case.tracking_token}")
    expect(page.locator("#t-number")).to_have_text(number)
    expect(page.locator("#t-status")).to_have_text("已上报")
    expect(page.locator("#t-live")).to_contain_text("实时更新中", timeout=10000)
    expect(page.locator("#t-photos img")).to_have_count(1)
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    li, wang = live_town.li, live_town.wang

    def step(action, **kwargs):
        return elsewhere(
            lambda: services.case_transition(case_id=case.id, action=action, actor=li, **kwargs)
        )

    step("register", note="属实")
    expect(page.locator("#t-status")).to_have_text("已立案", timeout=10000)
    expect(page.locator("#t-steps li.done")).to_have_count(2)
    step("dispatch", updates={"handler": wang})
    expect(page.locator("#t-status")).to_have_text("已派遣", timeout=10000)
    shot(page, "track-progress")

    after = photos_check(
        [SimpleUploadedFile("after.jpg", jpeg((40, 160, 60)), content_type="image/jpeg")]
    )
    for action, kwargs in (
        ("accept", {}),
        ("arrive", {}),
        ("resolve", {"note": "已清运", "photos": after, "data": {"public_note": "垃圾已清运"}}),
        ("verify", {}),
        ("close", {"data": {"public_note": "感谢您的反映"}}),
    ):
        elsewhere(
            lambda a=action, k=kwargs: services.case_transition(
                case_id=case.id,
                action=a,
                actor=wang if a in ("accept", "arrive", "resolve") else li,
                **k,
            )
        )
    expect(page.locator("#t-status")).to_have_text("已结案", timeout=10000)
    expect(page.locator("#t-rate")).to_be_visible()
    # Once closed, the verdict is the one thing asked: it shows without scrolling.
    page.evaluate("window.scrollTo(0, 0)")
    assert page.locator("#t-rate").bounding_box()["y"] < 844 - 200
    expect(page.locator("#t-timeline")).to_contain_text("感谢您的反映")
    assert page.evaluate("window.__sameDocument") is True  # updated live, never reloaded
    body = page.locator("body").inner_text()
    assert "王" not in body and "13912345678" not in body  # no staff names, no phone
    shot(page, "track-closed")
    # the three verdicts are drawn faces, not emoji (no emoji font on many phones)
    for face in page.locator("#t-rate label .r-ico svg").all():
        assert face.bounding_box()["width"] >= 24
    expect(page.locator("#t-rate label .r-ico svg")).to_have_count(3)
    assert not EMOJI.findall(page.content())

    page.locator("#t-rate label", has_text="满意").first.click()
    page.locator("#rate-form textarea").fill("处理很快，谢谢")
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator("#t-rated")).to_be_visible(timeout=10000)
    expect(page.locator("#t-rating")).to_have_text("满意")
    expect(page.locator("#t-rate")).to_be_hidden()
    shot(page, "track-rated")

    case.refresh_from_db()
    assert case.rating == "satisfied" and case.rating_comment == "处理很快，谢谢"
    assert CaseLog.objects.filter(case=case, action="rate").count() == 1
    assert page.errors == []


def test_without_location_the_resident_types_an_address(
    browser, live_server_url, live_town, celery_worker, tmp_path
):
    taxonomy()
    reset_rate_limits()
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
    )  # no geolocation permission
    page = context.new_page()
    page.goto(live_server_url + "/report")
    expect(page.locator("#place-state")).to_contain_text("无法定位", timeout=20000)
    expect(page.locator("#place-state")).to_contain_text("Location unavailable")
    page.get_by_role("button", name="提交").click()  # nothing chosen yet
    expect(page.locator('.r-err[data-field="category"]')).to_have_text(
        "请选择问题类型。 · Please choose the problem."
    )
    expect(page.locator('.r-err[data-field="location"]')).to_contain_text("填写地址")
    page.get_by_text("噪声扰民", exact=True).click()
    page.locator("#address").fill("三墩镇兰里路 18 号")
    page.locator("#description").fill("半夜装修")
    page.locator("#phone").fill("12345")
    page.get_by_role("button", name="提交").click()
    expect(page.locator('.r-err[data-field="phone"]')).to_contain_text("手机号", timeout=10000)
    assert Case.objects.count() == 0
    shot(page, "report-errors")
    page.locator("#phone").fill("")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#done")).to_be_visible(timeout=15000)
    case = Case.objects.get()
    assert case.location is None and case.address == "三墩镇兰里路 18 号"
    routed(case.id)
    context.close()


def test_inside_wechat_the_position_is_taken_as_gcj02_and_converted(
    browser, live_server_url, live_town, celery_worker, tmp_path
):
    from grids.coords import wgs84_to_gcj02

    taxonomy()
    reset_rate_limits()
    gcj = wgs84_to_gcj02(*IN_G1)  # what a WeChat web view reports standing in G1
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        geolocation={"longitude": gcj[0], "latitude": gcj[1], "accuracy": 20},
        permissions=["geolocation"],
        user_agent=(
            "Mozilla/5.0 (Linux; Android 14; V2307A) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/116.0 Mobile Safari/537.36 XWEB/1160065 MicroMessenger/8.0.47.2560"
        ),
    )
    page = context.new_page()
    page.goto(live_server_url + "/report")
    expect(page.locator("#place-state")).to_contain_text("已定位", timeout=10000)
    page.get_by_text("机动车乱停放", exact=True).click()
    page.locator("#description").fill("消防通道口停了一辆车")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#done")).to_be_visible(timeout=15000)
    case = Case.objects.get(number=page.locator("#case-number").inner_text().strip())
    assert case.src_crs == "gcj02" and case.grid_id == live_town.g1.id
    assert abs(case.location.x - IN_G1[0]) < 2e-5 and abs(case.location.y - IN_G1[1]) < 2e-5
    routed(case.id)
    context.close()
