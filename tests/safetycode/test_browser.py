"""A phone (360×640) opens a site's QR link and submits the self-check in headless Chromium,
against the real ASGI server; the page shows the new code and the database has the record."""

import pytest

from safetycode.models import Hazard, SelfCheck
from safetycode.services import qr_token
from tests.safetycode.conftest import make_site

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_owner_scans_the_code_and_submits_a_self_check_on_a_phone(
    live_town, live_server_url, browser
):
    site = make_site(name="兰里面馆")
    context = browser.new_context(
        viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server_url}/s/{qr_token(site=site)}")
        assert page.locator("h1.sc-name").inner_text() == "兰里面馆"
        # Submitting with nothing answered is stopped in the page.
        page.locator("#submit").click()
        assert "请回答每一项" in page.locator("#form-error").inner_text()

        for code in ("fire_ext", "exits", "wiring"):
            page.locator(f'input[name="answer.{code}"][value="yes"]').check()
        page.locator('input[name="answer.gas"][value="no"]').check()  # no gas alarm: a major hazard
        page.locator("#note").fill("燃气报警器坏了，已联系维修")
        page.locator("#submit").click()

        page.locator("#done").wait_for(state="visible", timeout=10_000)
        assert page.locator("#done-code").inner_text() == "红码"
        assert "1 项问题" in page.locator("#done-summary").inner_text()
        assert "未整改重大隐患" in page.locator("#done-factors").inner_text()
        # Fits the phone: no sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()
    check = SelfCheck.objects.get(site=site)
    assert check.answers["gas"] == "no" and check.note == "燃气报警器坏了，已联系维修"
    assert Hazard.objects.get(site=site).level == "major"
