"""Role scoping through every endpoint (issue 2: "a grid worker cannot read another grid's data
through any endpoint").

The URL conf and the websocket routes are walked at test time. Every route that takes a path
parameter must be listed below, either in SCOPED (with a request that reaches one of grid G1's
objects) or in EXEMPT (with the reason it is not a staff object), so a new endpoint with an id
fails this file until someone states how it is scoped. The admin site is covered as a whole: every
object route of every registered model is requested by the grid workers, who may not enter it.

For each SCOPED route an outsider — zhao, the grid worker of G3, or for routes that need a
command-centre role an operator whose scope is the southern area — gets 403 or 404, the body
carries none of G1's data, and nothing changes; an insider (wang, the worker of G1, or li, the
town's operator) gets the object. The insider half keeps the outsider half honest: the same URL
does reach a real object.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import User
from accounts.services import user_set_phone
from cockpit.routing import websocket_urlpatterns
from dispatch.models import Export
from events import services as case_services
from events.media import photo_check
from events.models import Case, CaseLog, HotlineOrder
from grids.services import position_record
from tests.town import centre

# --------------------------------------------------------------------------- the world


@dataclass
class World:
    town: object
    case: Case
    photo_id: int
    photo_bytes: bytes
    op_south: User  # an operator (case.dispatch, pii.reveal, cockpit.view) of area A2 only
    export_id: str  # an export of the case queue that li asked for
    site_id: int  # a 平安码 site in G1
    appeal_id: int  # its owner's pending appeal
    import_id: int  # a site import li started
    # Strings that are G1's data: an outsider's response must contain none of them.
    secrets: list[str] = field(default_factory=list)

    def user(self, name: str) -> User:
        return self.op_south if name == "op_south" else getattr(self.town, name)


REPORTER_PHONE = "13812345678"
WANG_PHONE = "13900001111"


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def quick(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.WHITENOISE_USE_FINDERS = False


@pytest.fixture
def world(quick, town, categories) -> World:
    data = _jpeg()
    lng, lat = centre(0, 0)  # inside G1
    case = case_services.case_report(
        source="resident",
        category=categories["06010"],
        description="兰里路口一堆建筑垃圾",
        lng=lng,
        lat=lat,
        reporter=case_services.Reporter(phone=REPORTER_PHONE, label="市民"),
        photos=[photo_check(SimpleUploadedFile("p.jpg", data, content_type="image/jpeg"))],
    ).case
    assert case.grid_id == town.g1.id
    HotlineOrder.objects.create(case=case, order_no="HZ12345-0001", appeal_type="complaint")
    user_set_phone(user=town.wang, phone=WANG_PHONE)
    position_record(staff=town.wang, lng=lng, lat=lat, crs="wgs84", accuracy_m=5, on_duty=True)
    op_south = User.objects.create_user(
        username="op_south",
        password="Op-South-2026",
        display_name="南片坐席",
        role=User.Role.OPERATOR,
        scope=town.a2,
        password_changed_at=timezone.now(),
    )
    export = Export.objects.create(user=town.li, created_at=timezone.now(), format="csv")
    from safetycode.models import ImportJob
    from safetycode.services import appeal_submit
    from tests.safetycode.conftest import make_site

    site = make_site(name="兰里小吃店")
    appeal = appeal_submit(site=site, reason="已整改完毕，申请复核")
    job = ImportJob.objects.create(data=b"", filename="sites.csv", created_by=town.li)
    return World(
        town=town,
        export_id=str(export.id),
        site_id=site.id,
        appeal_id=appeal.id,
        import_id=job.id,
        case=case,
        photo_id=case.attachments.get().id,
        photo_bytes=data,
        op_south=op_south,
        secrets=[
            case.number,
            "兰里路口",
            REPORTER_PHONE,
            WANG_PHONE,
            town.g1.code,
            "王网格",
            "HZ12345-0001",
        ],
    )


# --------------------------------------------------------------------------- the table


@dataclass
class Spec:
    method: str
    url: Callable[[World], str]
    insider: str  # attribute of the small town (or "op_south")
    outsider: str
    data: Callable[[World], dict] = lambda w: {}
    insider_status: tuple[int, ...] = (200,)
    # What must not have changed after the outsider's request (compared before / after).
    state: Callable[[World], object] = lambda w: None


def _log_count(w: World) -> int:
    return CaseLog.objects.filter(case=w.case).count()


def _callback(w: World):
    return HotlineOrder.objects.get(case=w.case).callback_at


# route key ("namespace:name", or the route itself when unnamed) → how to reach one of G1's objects.
SCOPED: dict[str, Spec] = {
    "accounts:staff-detail": Spec(
        "get", lambda w: f"/accounts/api/staff/{w.town.wang.id}", "wang", "zhao"
    ),
    "accounts:staff-phone-reveal": Spec(
        "post",
        lambda w: f"/accounts/api/staff/{w.town.wang.id}/phone/reveal",
        "li",
        "op_south",
    ),
    "grid-detail": Spec("get", lambda w: f"/api/grids/{w.town.g1.id}/", "wang", "zhao"),
    "case-detail": Spec("get", lambda w: f"/api/cases/{w.case.id}/", "wang", "zhao"),
    "case-reveal-phone": Spec(
        "post", lambda w: f"/api/cases/{w.case.id}/reveal-phone", "li", "op_south"
    ),
    "case-photo": Spec(
        "get", lambda w: f"/api/cases/{w.case.id}/photos/{w.photo_id}", "wang", "zhao"
    ),
    "case-action": Spec(
        "post",
        lambda w: f"/api/cases/{w.case.id}/actions/note",
        "wang",
        "zhao",
        data=lambda w: {"note": "现场看过了"},
        state=_log_count,
    ),
    "case-hotline-callback": Spec(
        "post",
        lambda w: f"/api/cases/{w.case.id}/hotline-callback",
        "li",
        "op_south",
        data=lambda w: {"method": "电话", "satisfaction": "satisfied", "result": "满意"},
        state=_callback,
    ),
    # An export is its requester's alone, even for another operator of the same town.
    "export-get": Spec(
        "get", lambda w: f"/api/exports/{w.export_id}", "li", "op_south", insider_status=(202,)
    ),
    "console-case": Spec("get", lambda w: f"/console/cases/{w.case.id}/", "li", "op_south"),
    # 平安码: a site in G1, its appeal, and an import job that is its requester's alone.
    "safety-site": Spec("get", lambda w: f"/safety/sites/{w.site_id}", "wang", "zhao"),
    "safety-site-detail": Spec("get", lambda w: f"/api/safety/sites/{w.site_id}", "wang", "zhao"),
    "safety-inspect-page": Spec("get", lambda w: f"/m/sites/{w.site_id}/inspect", "wang", "zhao"),
    "safety-site-qr": Spec("get", lambda w: f"/safety/sites/{w.site_id}/qr.png", "wang", "zhao"),
    "safety-site-reveal": Spec(
        "post", lambda w: f"/api/safety/sites/{w.site_id}/reveal", "li", "op_south"
    ),
    "safety-checklist": Spec(
        "get", lambda w: f"/api/safety/sites/{w.site_id}/checklist", "wang", "zhao"
    ),
    "safety-inspect": Spec(
        "post",
        lambda w: f"/api/safety/sites/{w.site_id}/inspections",
        "wang",
        "zhao",
        data=lambda w: {"answers": {}},
        insider_status=(201, 400),
        state=lambda w: __import__("safetycode.models").models.Inspection.objects.count(),
    ),
    "safety-appeal-decide": Spec(
        "post",
        lambda w: f"/api/safety/appeals/{w.appeal_id}/decide",
        "chen",
        "op_south",
        data=lambda w: {"upheld": "false", "note": "维持"},
        state=lambda w: (
            __import__("safetycode.models").models.Appeal.objects.get(id=w.appeal_id).status
        ),
    ),
    "safety-import-detail": Spec(
        "get", lambda w: f"/api/safety/imports/{w.import_id}", "li", "op_south"
    ),
}

# Routes with a parameter that is not a staff object, and why.
EXEMPT: dict[str, str] = {
    "track-page": "resident's secret tracking token (a capability), not staff scope",
    "track-photo": "resident's secret tracking token; only the reporter's own photos",
    "track-get": "resident's secret tracking token",
    "track-rate": "resident's secret tracking token",
    "track-dispute": "resident's secret tracking token",
    "ws-track": "resident's secret tracking token",
    "safety-self": "the site's QR token (平安码), held by the enterprise owner; not staff scope",
    "safety-self-api": "the site's QR token (平安码), held by the enterprise owner",
    "safety-self-appeal": "the site's QR token (平安码), held by the enterprise owner",
    "intake-create": "the parameter names a source (110, 12345 …); a source key authenticates it",
    "open311:service": "a category code; Open311 service definitions are public",
    "open311:request": "Open311 GeoReport v2 requests are public by the standard (public fields "
    "only, no reporter)",
    "open311:token": "Open311 submission token of the client that posted the request",
    "ws-case": "websocket; scope refusal proven by "
    "tests/dispatch/test_live.py::test_a_case_socket_is_refused_outside_the_users_scope",
}
# Parameters that never name a staff object: a response format, a catch-all path, the name of an
# action on an object that another parameter names.
# A date and map-tile coordinates name no object either.
NOT_OBJECTS = frozenset({"fmt", "path", "action", "day", "z", "x", "y"})
# Parameters the generic check can fill with one of G1's objects.
GENERIC_PARAMS = {"id": "case", "case_id": "case", "grid_id": "grid"}
OUTSIDERS = ("zhao", "op_south")

WS_PROOFS = {
    "ws-case": ("tests.dispatch.test_live", "test_a_case_socket_is_refused_outside_the_users_scope")
}

PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")


@dataclass(frozen=True)
class Route:
    key: str
    route: str
    params: tuple[str, ...]


def _walk(patterns, prefix: str = "", namespace: str | None = None):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            route = prefix + str(p.pattern)
            key = f"{namespace}:{p.name}" if namespace and p.name else (p.name or route)
            params = tuple(a or b for a, b in PARAM.findall(route))
            yield Route(key=key, route=route, params=params)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns)) + list(_walk(websocket_urlpatterns))


def is_admin(route: Route) -> bool:
    return route.route.startswith("admin/")


def takes_an_object(route: Route) -> bool:
    return not is_admin(route) and bool(set(route.params) - NOT_OBJECTS)


def is_generic_case_route(route: Route) -> bool:
    """A page or API of one case or one grid that the table does not list (new ones appear as
    modules land): it gets the outsiders' half of the check with a plain GET and an empty POST."""
    objects = set(route.params) - NOT_OBJECTS
    if route.key in SCOPED or route.key in EXEMPT or len(objects) != 1:
        return False
    (name,) = objects
    if name == "id":
        return "cases/<int:id>" in route.route
    return name in GENERIC_PARAMS


def _generic_url(route: Route, w: World) -> str:
    def fill(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        kind = GENERIC_PARAMS.get(name)
        if kind == "case":
            return str(w.case.id)
        if kind == "grid":
            return str(w.town.g1.id)
        return "json" if name == "fmt" else "x"

    return "/" + PARAM.sub(fill, route.route)


# --------------------------------------------------------------------------- the tests


def test_every_route_that_takes_a_parameter_states_how_it_is_scoped():
    with_objects = [r for r in all_routes() if takes_an_object(r)]
    assert with_objects, "the walk found no routes with parameters"
    unlisted = sorted(
        f"{r.key} ({r.route})"
        for r in with_objects
        if r.key not in SCOPED and r.key not in EXEMPT and not is_generic_case_route(r)
    )
    assert not unlisted, (
        "These routes take an object parameter but tests/accounts/test_scope_endpoints.py does "
        "not say how they are scoped; add each to SCOPED (a request reaching a G1 object) or "
        f"EXEMPT (why it is not a staff object): {unlisted}"
    )
    keys = {r.key for r in all_routes()}
    stale = sorted((set(SCOPED) | set(EXEMPT)) - keys)
    assert not stale, f"listed routes that no longer exist: {stale}"


def test_the_websocket_proofs_named_in_the_table_exist():
    import importlib

    for module, name in WS_PROOFS.values():
        assert callable(getattr(importlib.import_module(module), name))


def _request(client, spec: Spec, w: World):
    url = spec.url(w)
    if spec.method == "get":
        return client.get(url)
    return client.post(url, spec.data(w), content_type="application/json")


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.parametrize("key", sorted(SCOPED))
def test_an_outsider_cannot_reach_g1s_object_and_an_insider_can(key, client, world):
    spec = SCOPED[key]
    before = spec.state(world)

    client.force_login(world.user(spec.outsider))
    refused = _request(client, spec, world)
    body = _body(refused)
    assert refused.status_code in (403, 404), (key, refused.status_code, body[:300])
    text = body.decode("utf-8", "replace")
    leaked = [s for s in world.secrets if s in text]
    assert not leaked, f"{key}: {spec.outsider} got G1's data {leaked}"
    assert world.photo_bytes not in body
    assert spec.state(world) == before, f"{key}: the outsider's request changed something"

    client.force_login(world.user(spec.insider))
    allowed = _request(client, spec, world)
    assert allowed.status_code in spec.insider_status, (
        key,
        allowed.status_code,
        _body(allowed)[:300],
    )


def test_case_routes_missing_from_the_table_still_refuse_outsiders(client, world):
    """The outsiders' half for case pages and APIs not (yet) in SCOPED: GET and an empty POST
    must both be refused (403/404; 405 for a method the route does not take), at least one of
    them by scope, and leak nothing."""
    log = _log_count(world)
    for r in (
        r for r in all_routes() if is_generic_case_route(r) and not r.route.startswith("ws/")
    ):
        url = _generic_url(r, world)
        for who in OUTSIDERS:
            client.force_login(world.user(who))
            answers = []
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                body = _body(response)
                assert response.status_code in (401, 403, 404, 405), (
                    r.key,
                    who,
                    method,
                    response.status_code,
                    body[:300],
                )
                text = body.decode("utf-8", "replace")
                assert not [s for s in world.secrets if s in text], (r.key, who, method)
                answers.append(response.status_code)
            assert set(answers) & {401, 403, 404}, (r.key, who, answers)
    assert _log_count(world) == log


def test_every_admin_object_page_is_closed_to_grid_workers(client, world):
    admin_routes = [r for r in all_routes() if is_admin(r) and "object_id" in r.params]
    assert len(admin_routes) >= 10
    # Use a real id where the model is one of ours (G1's node, the case), 1 elsewhere.
    ids = {"grids/node": world.town.g1.id, "events/case": world.case.id}
    for who in ("zhao", "wang"):
        client.force_login(world.user(who))
        for r in admin_routes:
            model = "/".join(r.route.split("/")[1:3])
            url = "/" + PARAM.sub(str(ids.get(model, 1)), r.route)
            response = client.get(url)
            assert response.status_code in (302, 403, 404), (who, url, response.status_code)
            if response.status_code == 302:
                assert (
                    "/admin/" not in response["Location"].split("?")[0]
                    or "login" in (response["Location"])
                ), (who, url, response["Location"])
            text = response.content.decode("utf-8", "replace")
            assert world.case.number not in text and world.town.g1.code not in text


# Lists have no id, but a list is the other way to read another grid's data.
LISTS = [
    ("/api/cases/", "wang", "zhao", lambda w: w.case.number),
    ("/api/grids/", "wang", "zhao", lambda w: w.town.g1.code),
    ("/api/grids/forces", "wang", "zhao", lambda w: "王网格"),
    ("/console/", "li", "op_south", lambda w: w.case.number),
]


@pytest.mark.parametrize("url,insider,outsider,marker", LISTS, ids=[u for u, *_ in LISTS])
def test_lists_show_g1s_rows_to_the_insider_only(url, insider, outsider, marker, client, world):
    client.force_login(world.user(outsider))
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert marker(world) not in response.content.decode()
    client.force_login(world.user(insider))
    response = client.get(url)
    assert response.status_code == 200 and marker(world) in response.content.decode()
