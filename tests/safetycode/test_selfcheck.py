"""The owner's self-check through the QR link (/s/<token>, no login): the token opens the site's
own checklist, forged or revoked tokens open nothing, a "no" becomes a hazard that turns the
code with its reason shown, and an unanswered item is refused by field."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from safetycode.models import Hazard, Photo, SelfCheck, Site
from safetycode.services import qr_token
from tests.events.conftest import EMOJI, jpeg_bytes
from tests.safetycode.conftest import all_yes


@pytest.fixture
def client():
    from rest_framework.test import APIClient

    return APIClient()


def test_the_qr_link_opens_the_scenes_checklist_without_login(site, client):
    token = qr_token(site=site)
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    html = page.content.decode()
    assert site.name in html and "燃气使用规范" in html  # a street shop's own item
    assert page["Cache-Control"] == "no-store" and page["Referrer-Policy"] == "no-referrer"
    body = client.get(f"/api/safety/self/{token}").json()
    assert [i["code"] for i in body["items"]] == ["fire_ext", "exits", "wiring", "gas"]
    # The owner sees the masked nothing: no owner name, no phone in the page.
    assert "张三丰" not in html and "13812345678" not in html


def test_a_forged_or_revoked_token_opens_nothing(site, client):
    token = qr_token(site=site)
    assert client.get(f"/s/{token[:-2]}xx").status_code == 404
    assert client.get(f"/s/{site.id + 1}.1:abc").status_code == 404
    Site.objects.filter(id=site.id).update(qr_version=2)  # the printed code is revoked
    assert client.get(f"/s/{token}").status_code == 404
    r = client.post(f"/api/safety/self/{token}", {"answers": {}}, format="json")
    assert r.status_code == 404 and "二维码" in r.json()["message"]


def test_a_clean_self_check_keeps_the_code_green_and_stamps_the_date(site, client):
    r = client.post(
        f"/api/safety/self/{qr_token(site=site)}", {"answers": all_yes(site)}, format="json"
    )
    assert r.status_code == 201, r.json()
    assert r.json()["hazards_opened"] == [] and r.json()["site"]["code"] == "green"
    site.refresh_from_db()
    assert site.last_selfcheck_at is not None
    assert "selfcheck_stale" not in [f["key"] for f in site.factors]


def test_a_self_check_finding_a_major_hazard_turns_the_code_red_and_says_why(site, client):
    answers = {**all_yes(site), "gas": "no"}
    r = client.post(
        f"/api/safety/self/{qr_token(site=site)}",
        {
            "answers": '{"fire_ext":"yes","exits":"yes","wiring":"yes","gas":"no"}',
            "photos": [SimpleUploadedFile("p.jpg", jpeg_bytes(), "image/jpeg")],
        },
        format="multipart",
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["site"]["code"] == "red"
    assert [h["item"] for h in body["hazards_opened"]] == ["gas"]
    major = next(f for f in body["site"]["factors"] if f["key"] == "major_open")
    assert major["rule"] == "red" and major["label"] == "未整改重大隐患" and major["points"] == 30
    hazard = Hazard.objects.get(site=site)
    assert hazard.level == "major" and hazard.status == "open" and hazard.found_in_selfcheck_id
    assert Photo.objects.filter(selfcheck__site=site).count() == 1
    # The same finding again does not open a second hazard for the same item.
    client.post(f"/api/safety/self/{qr_token(site=site)}", {"answers": answers}, format="json")
    assert Hazard.objects.filter(site=site, status="open").count() == 1
    assert SelfCheck.objects.filter(site=site).count() == 2


def test_an_incomplete_self_check_is_refused_field_by_field(site, client):
    answers = all_yes(site)
    del answers["exits"]
    answers["gas"] = "maybe"
    r = client.post(f"/api/safety/self/{qr_token(site=site)}", {"answers": answers}, format="json")
    assert r.status_code == 400
    fields = r.json()["fields"]
    assert set(fields) == {"answers.exits", "answers.gas"}
    assert "安全出口" in fields["answers.exits"][0]
    assert SelfCheck.objects.count() == 0


def test_english_messages_come_from_the_locale(site, client):
    r = client.post(
        f"/api/safety/self/{qr_token(site=site)}",
        {"answers": {}},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert (
        r.status_code == 400 and r.json()["message"] == "Please answer every item of the checklist."
    )


def test_the_owner_sees_what_to_rectify_and_by_when(site, client, town):
    from safetycode.services import inspection_submit

    inspection_submit(site=site, inspector=town.wang, answers={**all_yes(site), "exits": "no"})
    html = client.get(f"/s/{qr_token(site=site)}").content.decode()
    assert "待整改隐患" in html and "安全出口、疏散通道畅通" in html and "重大隐患" in html
    # the thank-you's tick is drawn: no emoji for a phone without an emoji font to show as a box
    assert '<svg class="icon" data-icon="done"' in html and not EMOJI.findall(html)
