"""随手拍 over its real API (POST /api/report, no login): a good report answers its number and
tracking link; every kind of bad input is a 4xx naming the field in Chinese and leaves nothing
behind (no case, no log entry, no file); a place outside the town is taken and flagged; WeChat's
GCJ-02 is converted; per-phone and per-IP limits answer 429."""

import io
import math
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from events.models import Attachment, Case, CaseLog, Category
from grids.coords import wgs84_to_gcj02
from tests.e2e.clients import reset_rate_limits
from tests.events.conftest import EMOJI, IN_G1, OUTSIDE, media_files, photo


def post(client, data, **kwargs):
    return client.post("/api/report", data, format=kwargs.pop("fmt", "multipart"), **kwargs)


def good(**over) -> dict:
    data = {
        "category": "06010",
        "description": "小区门口垃圾堆了三天",
        "lng": IN_G1[0],
        "lat": IN_G1[1],
        "phone": "13812345678",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def assert_nothing_stored(media_root) -> None:
    assert Case.objects.count() == 0
    assert CaseLog.objects.count() == 0
    assert Attachment.objects.count() == 0
    assert media_files(media_root) == []


def assert_chinese(messages) -> None:
    text = "".join(messages)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), messages


def test_a_report_answers_its_number_and_a_tracking_link_that_works(
    town, categories, api, media_root
):
    client = api()
    r = post(client, good(photos=[photo("a.jpg"), photo("b.png", fmt="PNG")]))
    assert r.status_code == 201, r.json()
    body = r.json()
    # six digits at least (test_numbers moves the sequence past 999999; sequences don't roll back)
    assert re.fullmatch(r"SD-\d{8}-\d{6,}", body["number"]), body["number"]
    assert body["tracking_url"].startswith("/t/") and body["status"] == "reported"
    case = Case.objects.get(number=body["number"])
    assert case.source == "resident" and case.grid_id == town.g1.id
    assert case.category.code == "06010" and not case.outside_jurisdiction
    assert case.reporter_phone_enc and "13812345678" not in case.reporter_phone_enc
    assert Attachment.objects.filter(case=case, stage="report").count() == 2
    assert len(media_files(media_root)) == 2
    assert list(CaseLog.objects.filter(case=case).values_list("action", flat=True)) == ["report"]

    track = client.get("/api" + body["tracking_url"].replace("/t/", "/track/"))
    assert track.status_code == 200
    state = track.json()
    assert state["number"] == body["number"] and state["status"] == "reported"
    assert len(state["photos"]) == 2 and "13812345678" not in track.content.decode()
    page = client.get(body["tracking_url"])
    assert page.status_code == 200 and body["number"] in page.content.decode()


def test_a_photo_may_also_come_as_base64_json(town, categories, api):
    import base64

    raw = photo().read()
    r = post(
        api(),
        good(photos=["data:image/jpeg;base64," + base64.b64encode(raw).decode()]),
        fmt="json",
    )
    assert r.status_code == 201, r.json()
    assert Attachment.objects.filter(case__number=r.json()["number"]).count() == 1


@pytest.mark.parametrize(
    "data, field, status",
    [
        (good(lng=None, lat=None), "location", 400),  # no place at all
        (good(lng=None), "location", 400),  # half a place
        (good(category="99999"), "category", 400),
        (good(category=""), "category", 400),
        (good(description="脏" * 2001), "description", 400),
        (good(phone="12345"), "phone", 400),
        (good(phone="0571-8888"), "phone", 400),
        (good(lng=200, lat=30), "lng", 400),
        (good(address="路" * 257, lng=None, lat=None), "address", 400),
    ],
    ids=[
        "no-place",
        "half-place",
        "unknown-category",
        "no-category",
        "long-description",
        "short-phone",
        "landline",
        "lng-out-of-range",
        "long-address",
    ],
)
def test_bad_input_names_the_field_in_chinese_and_stores_nothing(
    town, categories, api, media_root, data, field, status
):
    r = post(api(), {**data, "photos": [photo()]})
    assert r.status_code == status, r.json()
    body = r.json()
    assert field in body["fields"], body
    assert_chinese(body["fields"][field])
    assert_nothing_stored(media_root)


def test_an_address_alone_is_a_place(town, categories, api):
    r = post(api(), good(lng=None, lat=None, address="三墩镇兰里路 18 号门口"))
    assert r.status_code == 201, r.json()
    case = Case.objects.get(number=r.json()["number"])
    assert case.location is None and case.address == "三墩镇兰里路 18 号门口"


def gif():
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 0, 255)).save(buffer, "GIF")
    return SimpleUploadedFile("moving.gif", buffer.getvalue(), content_type="image/gif")


@pytest.mark.parametrize(
    "upload",
    [
        lambda: gif(),
        lambda: SimpleUploadedFile(
            "fake.jpg", "这不是图片".encode() * 50, content_type="image/jpeg"
        ),
        lambda: SimpleUploadedFile(
            "half.jpg", photo().read()[:200], content_type="image/jpeg"
        ),  # a truncated JPEG
    ],
    ids=["gif", "text-named-jpg", "truncated-jpeg"],
)
def test_an_image_that_is_not_jpeg_png_or_webp_is_415_and_nothing_is_stored(
    town, categories, api, media_root, upload
):
    r = post(api(), good(photos=[photo("ok.jpg"), upload()]))
    assert r.status_code == 415, r.json()
    assert "photos" in r.json()["fields"]
    assert_chinese(r.json()["fields"]["photos"])
    assert_nothing_stored(media_root)


def test_webp_is_accepted(town, categories, api):
    r = post(api(), good(photos=[photo("a.webp", fmt="WEBP", content_type="image/webp")]))
    assert r.status_code == 201, r.json()
    assert Attachment.objects.get().content_type == "image/webp"


def test_an_image_over_10_mb_is_refused_before_it_is_stored(town, categories, api, media_root):
    # A real JPEG padded past 10 MB (bytes after the end marker): only its size is wrong.
    big = SimpleUploadedFile(
        "huge.jpg", photo().read() + b"\0" * (10 * 1024 * 1024 + 1), content_type="image/jpeg"
    )
    r = post(api(), good(photos=[big]))
    assert r.status_code == 413, r.json()
    assert "photos" in r.json()["fields"] and "10 MB" in "".join(r.json()["fields"]["photos"])
    assert_nothing_stored(media_root)


def test_an_image_just_under_10_mb_is_taken(town, categories, api, media_root):
    near = SimpleUploadedFile(
        "big.jpg", photo().read() + b"\0" * (10 * 1024 * 1024 - 2000), content_type="image/jpeg"
    )
    r = post(api(), good(photos=[near]))
    assert r.status_code == 201, r.json()


def test_more_than_three_photos_is_refused_and_nothing_is_stored(town, categories, api, media_root):
    r = post(api(), good(photos=[photo(f"{i}.jpg") for i in range(4)]))
    assert r.status_code == 400, r.json()
    assert "photos" in r.json()["fields"] and "3" in "".join(r.json()["fields"]["photos"])
    assert_nothing_stored(media_root)


def test_neither_photo_nor_words_is_refused(town, categories, api, media_root):
    r = post(api(), good(description=""))
    assert r.status_code == 400 and "photos" in r.json()["fields"]
    assert_nothing_stored(media_root)


def test_a_place_outside_the_town_is_taken_and_flagged_never_dropped(town, categories, api):
    r = post(api(), good(lng=OUTSIDE[0], lat=OUTSIDE[1]))
    assert r.status_code == 201, r.json()
    assert r.json()["warnings"] and "辖区外" in r.json()["warnings"][0]
    case = Case.objects.get(number=r.json()["number"])
    assert case.outside_jurisdiction and case.grid_id is None
    assert case.node_path == town.town.path  # the town's centre triages it
    assert CaseLog.objects.get(case=case).data["outside_jurisdiction"] is True


def _metres(a, b) -> float:
    dx = (a[0] - b[0]) * 111320 * math.cos(math.radians(a[1]))
    return math.hypot(dx, (a[1] - b[1]) * 110540)


def test_gcj02_from_wechat_is_converted_to_the_true_place(town, categories, api):
    gcj = wgs84_to_gcj02(*IN_G1)
    assert _metres(gcj, IN_G1) > 300  # the offset is real: unconverted, it lands elsewhere
    r = post(api(), good(lng=gcj[0], lat=gcj[1], crs="gcj02"))
    assert r.status_code == 201, r.json()
    case = Case.objects.get(number=r.json()["number"])
    assert case.src_crs == "gcj02" and case.grid_id == town.g1.id
    assert _metres((case.location.x, case.location.y), IN_G1) < 2


def test_an_unknown_crs_is_a_field_error(town, categories, api, media_root):
    r = post(api(), good(crs="bd09"))
    assert r.status_code == 400 and "crs" in r.json()["fields"]
    assert_nothing_stored(media_root)


def test_a_legacy_four_digit_code_is_understood(town, categories, api):
    r = post(api(), good(category="0118"))  # GB/T 30428.2 路灯
    assert r.status_code == 201, r.json()
    assert Case.objects.get().category.code == "01037"


def test_the_same_client_action_id_sent_twice_is_one_case(town, categories, api):
    client = api()
    first = post(client, good(client_action_id="phone-1-report-7", photos=[photo()]))
    again = post(client, good(client_action_id="phone-1-report-7", photos=[photo()]))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["number"] == again.json()["number"]
    assert Case.objects.count() == 1 and Attachment.objects.count() == 1


def test_the_phone_is_rate_limited_with_a_clear_429(town, categories, api, settings):
    reset_rate_limits()
    settings.REPORT_RATE_PER_PHONE = "2/3600"
    client = api()
    for _ in range(2):
        assert post(client, good(phone="13900000001")).status_code == 201
    r = post(client, good(phone="+86 139-0000-0001"))  # the same number, written differently
    assert r.status_code == 429, r.json()
    assert "频繁" in r.json()["message"] and "phone" in r.json()["fields"]
    assert Case.objects.count() == 2
    # Another phone from the same address is still welcome.
    assert post(client, good(phone="13900000002")).status_code == 201
    reset_rate_limits()


def test_the_ip_is_rate_limited_with_a_clear_429(town, categories, api, settings):
    reset_rate_limits()
    settings.REPORT_RATE_PER_IP = "3/3600"
    client = api()
    for i in range(3):
        assert post(client, good(phone=f"1390000001{i}")).status_code == 201
    r = post(client, good(phone="13900000019"))
    assert r.status_code == 429 and "频繁" in r.json()["message"]
    other = post(client, good(phone="13900000019"), REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 201
    assert Case.objects.count() == 4
    reset_rate_limits()


def test_a_post_from_another_site_is_refused(town, categories, api, media_root):
    r = post(api(), good(), HTTP_ORIGIN="https://evil.example")
    assert r.status_code == 403
    assert_nothing_stored(media_root)


def test_the_resident_category_list_is_the_short_list_with_icons(town, categories, api):
    r = api().get("/api/categories")
    assert r.status_code == 200
    names = [c["name"] for c in r.json()]
    assert "暴露垃圾" in names and "机动车乱停放" in names and len(names) <= 15
    assert all(c["icon"] in Category.Icon.values for c in r.json())


def test_the_report_page_opens_with_the_category_picker(town, categories, client):
    r = client.get("/report")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'name="category" value="06010"' in html and "随手拍" in html
    # icons are drawn (inline SVG), not emoji a phone without an emoji font shows as boxes
    assert '<svg class="cat-svg" data-icon="trash"' in html and "🗑" not in html
    for name in ("camera", "album", "pin", "done"):  # photo buttons, the place, the thank-you
        assert f'<svg class="icon" data-icon="{name}"' in html
    assert not EMOJI.findall(html)


def test_the_tracking_page_draws_its_rating_faces_and_shows_no_emoji(town, categories, api):
    client = api()
    tracking_url = post(client, good(address="兰里路 18 号")).json()["tracking_url"]
    html = client.get(tracking_url).content.decode()
    start = html.index('<form id="rate-form">')
    rate = html[start : html.index("</form>", start)]
    for value in ("satisfied", "basic", "unsatisfied"):
        choice = re.search(f'value="{value}">(.*?)</label>', rate).group(1)
        assert f'<svg class="icon" data-icon="face-{value}"' in choice, choice
    assert '<svg class="icon" data-icon="pin"' in html and "兰里路 18 号" in html
    assert not EMOJI.findall(html)


def test_a_body_larger_than_three_full_photos_is_refused_unread(town, categories, api, media_root):
    # Four 9 MB photos: each under the limit, together more than any report may carry. Refused
    # on the declared length, before Django spools the upload to temporary files.
    nine = photo().read() + b"\0" * (9 * 1024 * 1024)
    uploads = [SimpleUploadedFile(f"{i}.jpg", nine, content_type="image/jpeg") for i in range(4)]
    r = post(api(), good(photos=uploads))
    assert r.status_code == 413, r.json()
    assert "photos" in r.json()["fields"]
    assert_nothing_stored(media_root)


def test_field_messages_are_in_english_for_an_english_phone(town, categories, api, media_root):
    r = post(
        api(),
        good(lng=None, lat=None, phone="12345", category="99999"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert r.status_code == 400
    assert r.json()["fields"]["category"] == ["No such category: 99999"]
    r = post(api(), good(lng=None, lat=None, phone="12345"), HTTP_ACCEPT_LANGUAGE="en")
    fields = r.json()["fields"]
    assert fields["phone"] == ["Please enter an 11-digit mobile number."]
    assert fields["location"][0].startswith("Please give the place")
    r = post(api(), good(photos=[gif()]), HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 415 and "JPEG, PNG or WebP" in r.json()["message"]
    assert_nothing_stored(media_root)


def test_another_cases_action_id_does_not_reveal_that_case(town, categories, api):
    # A staff report filed with an action id; a resident (or anyone) replaying that id must not
    # get its number and tracking link back.
    staff = api(town.wang).post(
        "/api/cases/",
        {"category": "09005", "address": "兰里路 3 号", "client_action_id": "wang-2026-1"},
        format="json",
    )
    assert staff.status_code == 201
    r = post(api(), good(client_action_id="wang-2026-1"))
    assert r.status_code == 409 and "client_action_id" in r.json()["fields"]
    assert "tracking_url" not in r.json() and Case.objects.count() == 1
    # Nor does another member of staff get it.
    other = api(town.li).post(
        "/api/cases/",
        {"category": "09005", "address": "兰里路 3 号", "client_action_id": "wang-2026-1"},
        format="json",
    )
    assert other.status_code == 409 and Case.objects.count() == 1
    # Wang himself, sending again, gets his case.
    again = api(town.wang).post(
        "/api/cases/",
        {"category": "09005", "address": "兰里路 3 号", "client_action_id": "wang-2026-1"},
        format="json",
    )
    assert again.status_code == 200 and again.json()["id"] == staff.json()["id"]


def test_a_lost_link_is_found_with_the_number_and_the_phone(town, categories, api):
    client = api()
    number = post(client, good(phone="13812345678")).json()["number"]
    token = Case.objects.get(number=number).tracking_token
    r = client.post(
        "/api/track/lookup", {"number": number, "phone": "138 1234 5678"}, format="json"
    )
    assert r.status_code == 200 and r.json()["tracking_url"] == f"/t/{token}"
    wrong = client.post(
        "/api/track/lookup", {"number": number, "phone": "13900000000"}, format="json"
    )
    assert wrong.status_code == 404 and "tracking_url" not in wrong.json()
    assert client.get("/t/").status_code == 200


def test_the_verdict_is_taken_once_and_only_after_closure(town, categories, api):
    client = api()
    body = post(client, good()).json()
    rate_url = "/api" + body["tracking_url"].replace("/t/", "/track/") + "/rate"
    early = client.post(rate_url, {"rating": "满意"}, format="json")
    assert early.status_code == 409 and "rating" in early.json()["fields"]
    case = Case.objects.get(number=body["number"])
    from events import services

    for action in ("register", "dispatch", "accept", "arrive", "resolve", "verify", "close"):
        services.case_transition(case_id=case.id, action=action, actor=town.li)
    bad = client.post(rate_url, {"rating": "还行"}, format="json")
    assert bad.status_code == 400 and "rating" in bad.json()["fields"]
    ok = client.post(rate_url, {"rating": "基本满意", "comment": "有点慢"}, format="json")
    assert ok.status_code == 200 and ok.json()["rating_label"] == "基本满意"
    assert ok.json()["can_rate"] is False
    again = client.post(rate_url, {"rating": "不满意"}, format="json")
    assert again.status_code == 409
    case.refresh_from_db()
    assert (case.rating, case.rating_comment) == ("basic", "有点慢")


@pytest.mark.parametrize(
    "over, field, english",
    [
        ({"category": ["06010"]}, "category", "Must be text."),
        ({"lng": "东经120度"}, "lng", "Must be a number."),
        ({"lat": True}, "lat", "Must be a number."),
        ({"lng": "nan"}, "lng", "Must be a number."),
        ({"crs": "bd09"}, "crs", "The coordinate system must be wgs84 or gcj02."),
        ({"accuracy": -5}, "accuracy", "Must be at least 0."),
        ({"phone": "1" * 33}, "phone", "At most 32 characters."),
        ({"client_action_id": "a" * 65}, "client_action_id", "At most 64 characters."),
    ],
    ids=[
        "list-category",
        "words-for-lng",
        "bool-lat",
        "nan",
        "bd09",
        "negative-accuracy",
        "long-phone",
        "long-action-id",
    ],
)
def test_wrongly_typed_json_is_a_field_error_in_both_languages(
    town, categories, api, media_root, over, field, english
):
    """The form is checked by hand (events.api.resident_input): what a sloppy app might send in
    JSON — a list, words for a number, a boolean, NaN, another datum — names its field."""
    body = {**good(), **over}
    r = post(api(), body, fmt="json")
    assert r.status_code == 400, r.json()
    assert field in r.json()["fields"]
    assert_chinese(r.json()["fields"][field])
    r = post(api(), body, fmt="json", HTTP_ACCEPT_LANGUAGE="en")
    assert r.json()["fields"][field] == [english]
    assert not Case.objects.exists() and not CaseLog.objects.exists()
    assert_nothing_stored(media_root)


def test_a_json_body_that_is_not_an_object_is_refused(town, categories, api):
    r = api().post("/api/report", ["06010"], format="json")
    assert r.status_code == 400 and "non_field_errors" in r.json()["fields"]


def test_a_body_that_is_not_json_or_a_form_is_a_clear_error(town, categories, api):
    """The resident endpoint is a plain Django view (no DRF): what DRF's parsers answered, it
    answers itself — broken JSON 400, another content type 415, GET 405 — in both languages."""
    client = api()
    r = client.generic("POST", "/api/report", b'{"category": "06010",', "application/json")
    assert r.status_code == 400 and "non_field_errors" in r.json()["fields"]
    assert_chinese(r.json()["fields"]["non_field_errors"])
    r = client.generic(
        "POST", "/api/report", b"<report/>", "application/xml", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert (
        r.status_code == 415 and r.json()["message"] == "Unsupported content type: application/xml."
    )
    r = client.get("/api/report")
    assert r.status_code == 405 and r.json()["message"]
    assert not Case.objects.exists()
