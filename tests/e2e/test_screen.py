"""The big screen in a real browser (headless Chromium) against the real server (daphne, HTTP
and websockets): it loads with no console errors, a case posted through the API appears on the
map and in the ticker within 2 s, clicking a grid opens its drill-down, and a full 1920×1080
screenshot goes to tests/artifacts/screen.png."""

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from cockpit.demo.history import cases_generate
from cockpit.screen.indices import indices_trend
from tests.e2e.clients import login, taxonomy
from tests.events.conftest import EMOJI
from tests.town import centre

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
ARTIFACTS.mkdir(exist_ok=True)
IN_G1, IN_G2 = centre(0, 0), centre(1, 0)


def populate(days: int = 40, n: int = 3000) -> None:
    """Addresses scattered in the four grids and a few weeks of cases (the demo generator), so
    the panels and trends have something to show."""
    taxonomy()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO grids_address (code, text, building, point, grid_id) "
            "SELECT 'T' || n.id || '-' || d.path[1], n.name || '网格' || d.path[1] || '号', '', "
            "d.geom, n.id FROM grids_node n, ST_Dump(ST_GeneratePoints(n.boundary, 60, 7)) d "
            "WHERE n.kind = 'grid'"
        )
    cases_generate(n=n, days=days, now=timezone.now() - timedelta(minutes=1))
    indices_trend(days=30)


@pytest.fixture
def screen(browser, live_server_url, live_town):
    """A 1920×1080 page logged in as li, the seat operator; console errors collected."""
    session = login(live_server_url, "li")
    context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server_url} for c in session.cookies]
    )
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on(
        "console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None
    )
    page.session = session
    page.problems = problems
    yield page
    context.close()


def test_the_wall_shows_a_new_case_live_and_drills_into_a_grid(screen, live_server_url, live_town):
    populate()
    page = screen
    page.goto(live_server_url + "/screen/")
    page.wait_for_function("window.__screen && window.__screen.state.ready", timeout=30000)
    page.wait_for_function("document.querySelectorAll('#ticker li').length > 0")
    # connected: the badge ("连接中…" while connecting, "连接中断" when lost) goes away
    page.wait_for_function("document.getElementById('live-badge').hidden", timeout=5000)
    assert int(page.locator("#k-today").inner_text()) >= 0
    assert page.locator("#codes").inner_text().strip() != ""

    # A grid worker's report through the API reaches the wall within 2 s: map and ticker.
    started = time.monotonic()
    r = page.session.post(
        live_server_url + "/api/cases/",
        json={
            "source": "worker",
            "category": "L0005",
            "description": "文一西路路口两车追尾",
            "lng": IN_G1[0],
            "lat": IN_G1[1],
        },
        timeout=10,
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    page.locator(f'#ticker li[data-case="{case_id}"]').wait_for(timeout=2000)
    page.wait_for_function(
        f"window.__screen.renderedCaseIds().includes({case_id})",
        timeout=max(100, 2000 - int((time.monotonic() - started) * 1000)),
    )
    assert time.monotonic() - started < 2.5  # the POST itself included
    assert "交通事故" in page.locator(f'#ticker li[data-case="{case_id}"]').inner_text()

    # Clicking a grid opens its drill-down.
    # a spot inside A-02 with no case or force marker under it (a marker opens its own card)
    point = page.evaluate(
        """([w, s, e, n]) => {
        const map = window.__screen.map;
        for (let i = 1; i < 10; i++) for (let j = 1; j < 10; j++) {
          const p = map.project([w + (e - w) * i / 10, s + (n - s) * j / 10]);
          const box = [[p.x - 10, p.y - 10], [p.x + 10, p.y + 10]];
          if (!map.queryRenderedFeatures(box, { layers: ["cases", "forces", "pulse"] }).length)
            return { x: p.x, y: p.y };
        }
        return null;
      }""",
        [IN_G2[0] - 0.004, IN_G2[1] - 0.004, IN_G2[0] + 0.004, IN_G2[1] + 0.004],
    )
    assert point is not None
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    heading = page.locator(f'#drill h3[data-grid="{live_town.g2.id}"]')
    try:
        heading.wait_for(timeout=5000)
    except Exception:
        debug = page.evaluate(
            """(p) => ({
              hits: window.__screen.map.queryRenderedFeatures([p.x, p.y]).map(
                (f) => [f.layer.id, f.id]),
              drill: document.getElementById("drill").outerHTML.slice(0, 300),
              el: document.elementFromPoint(p.x, p.y) && document.elementFromPoint(p.x, p.y).className,
            })""",
            point,
        )
        raise AssertionError(f"no drill-down: {debug} {page.problems} {box} {point}")
    assert "A-02" in heading.inner_text()
    assert "在岗人员" in page.locator("#drill").inner_text()
    # A-02's leader, off duty, with a hollow dot drawn in CSS (no emoji font on the wall)
    dot = page.locator("#drill li", has_text="刘网格长").locator(".duty:not(.on)")
    assert dot.bounding_box()["width"] > 4
    assert not EMOJI.findall(page.locator("#drill").inner_html())
    page.locator("#drill").screenshot(path=str(ARTIFACTS / "screen-drill.png"))

    # The case card from the ticker, with its timeline.
    page.locator(f'#ticker li[data-case="{case_id}"]').click()
    page.locator(f'#drill h3[data-case-card="{case_id}"]').wait_for(timeout=5000)
    assert "上报" in page.locator("#drill .timeline").inner_text()

    # The screenshot for the wall: the map in full, the new case still pulsing.
    page.locator("#drill-close").click()
    page.wait_for_timeout(600)
    page.screenshot(path=str(ARTIFACTS / "screen.png"), full_page=False)
    assert page.evaluate("document.documentElement.scrollHeight") <= 1080  # no scrolling
    assert page.problems == []


def test_a_dropped_feed_shows_the_badge_and_catches_up_what_it_missed(
    screen, live_server_url, live_town
):
    taxonomy()
    page = screen
    feed = {"up": False}

    def route(ws):  # the network between the wall and the server: down, then up again
        if feed["up"]:
            ws.connect_to_server()
        else:
            ws.close()

    page.route_web_socket(re.compile(r"/ws/live/"), route)
    page.goto(live_server_url + "/screen/")
    page.wait_for_function("window.__screen && window.__screen.state.ready", timeout=30000)
    badge = page.locator("#live-badge")
    badge.wait_for(state="visible", timeout=5000)
    page.wait_for_function(
        "document.getElementById('live-badge').textContent.includes('连接中断')", timeout=5000
    )
    # reported while the wall is cut off
    r = page.session.post(
        live_server_url + "/api/cases/",
        json={"source": "worker", "category": "06010", "lng": IN_G1[0], "lat": IN_G1[1]},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    assert page.locator(f'#ticker li[data-case="{case_id}"]').count() == 0
    feed["up"] = True
    badge.wait_for(state="hidden", timeout=20000)  # reconnected (backoff ≤ a few seconds)
    page.locator(f'#ticker li[data-case="{case_id}"]').wait_for(timeout=3000)  # caught up
    page.wait_for_function(f"window.__screen.caseIds().includes({case_id})", timeout=3000)
    # the failed socket attempts are the browser's, not the page's errors
    assert [p for p in page.problems if "WebSocket" not in p] == []
