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


def test_an_operator_imports_a_file_and_watches_the_progress_bar(
    live_town, live_server_url, celery_worker, browser, tmp_path, settings
):
    from safetycode.models import Site
    from tests.safetycode.test_import import as_csv, good_rows
    from tests.town import PASSWORD

    # The server process checks passwords with the project's hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    live_town.li.set_password(PASSWORD)
    live_town.li.save(update_fields=["password"])
    bad = good_rows() + [["坏行", "游乐场", "", "", "", "", "", "", "", ""]]
    (tmp_path / "bad.csv").write_bytes(as_csv(bad))
    (tmp_path / "good.csv").write_bytes(as_csv(good_rows()))
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    try:
        r = page.request.post(
            f"{live_server_url}/accounts/api/login", data={"username": "li", "password": PASSWORD}
        )
        assert r.ok, r.text()
        page.goto(f"{live_server_url}/safety/import")

        page.set_input_files("#file", str(tmp_path / "bad.csv"))
        page.locator("#start").click()
        page.locator("#errors").wait_for(state="visible", timeout=20_000)
        rows = page.locator("#errors tbody tr")
        assert rows.count() == 2  # row 5: scene and location
        assert "游乐场" in page.locator("#errors").inner_text()
        assert "有错误，未导入" in page.locator("#status").inner_text()
        assert Site.objects.count() == 0

        page.set_input_files("#file", str(tmp_path / "good.csv"))
        page.locator("#start").click()
        page.wait_for_function(
            "document.getElementById('status').textContent.includes('已完成')", timeout=20_000
        )
        assert page.locator("#bar").get_attribute("aria-valuenow") == "100"
        assert page.locator("#errors").is_hidden()
    finally:
        context.close()
    assert Site.objects.count() == 3


def test_a_grid_worker_inspects_a_site_from_the_phone(
    browser, live_server_url, live_town, settings
):
    """The field app's inspection page: the scene's checklist, one finding → a hazard, the code
    turns yellow and the page says why; another grid's site is refused."""
    from safetycode.models import Hazard
    from tests.e2e.clients import login
    from tests.safetycode.conftest import IN_G1, make_site
    from tests.town import PASSWORD

    # The server process checks passwords with the project's hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    live_town.wang.set_password(PASSWORD)
    live_town.wang.save(update_fields=["password"])
    site = make_site(name="兰里五金店", at=IN_G1)
    other = make_site(name="绿城便利店", at=(IN_G1[0], IN_G1[1] - 0.01), n=2)  # in G3
    session = login(live_server_url, "wang")
    context = browser.new_context(viewport={"width": 360, "height": 640}, locale="zh-CN")
    try:
        context.add_cookies(
            [{"name": c.name, "value": c.value, "url": live_server_url} for c in session.cookies]
        )
        page = context.new_page()
        page.goto(f"{live_server_url}/m/sites/{site.id}/inspect")
        for fs in page.locator("fieldset.sc-item").all():
            code = fs.get_attribute("data-code")
            fs.locator(f"input[value={'no' if code == 'fire_ext' else 'yes'}]").check()
        page.click("#submit")
        page.wait_for_selector("#done:not([hidden])", timeout=10_000)
        assert "黄码" in page.inner_text("#done-code")
        assert "未整改一般隐患" in page.inner_text("#done-factors")
        assert Hazard.objects.filter(site=site, status="open", level="general").count() == 1
        page.screenshot(path="tests/artifacts/safety-inspect.png")

        refused = page.goto(f"{live_server_url}/m/sites/{other.id}/inspect")
        assert refused.status == 404 and "无权查看" in page.content()
    finally:
        context.close()
