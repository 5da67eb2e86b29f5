"""申诉: the owner appeals from the QR page; a reviewer decides with the factors in front of them;
an upheld appeal holds the reviewer's code and says so among the factors."""

from safetycode.models import Appeal
from safetycode.services import inspection_submit, qr_token
from tests.safetycode.conftest import all_yes


def test_an_owner_appeals_and_a_commander_upholds_it(site, town, api):
    inspection_submit(site=site, inspector=town.wang, answers={**all_yes(site), "exits": "no"})
    site.refresh_from_db()
    assert site.code == "red"
    owner = api()
    r = owner.post(
        f"/api/safety/self/{qr_token(site=site)}/appeal",
        {"reason": "通道杂物当天已清走"},
        format="json",
    )
    assert r.status_code == 201
    assert (
        owner.post(
            f"/api/safety/self/{qr_token(site=site)}/appeal", {"reason": "再次申诉"}, format="json"
        ).status_code
        == 409
    )
    appeal = Appeal.objects.get()
    assert appeal.code_at_appeal == "red" and appeal.factors_at_appeal[0]["key"] == "major_open"

    # The reviewer's page shows the factors as they were when the owner appealed.
    chen = api()
    chen.force_login(town.chen)
    html = chen.get(f"/safety/sites/{site.id}").content.decode()
    assert "通道杂物当天已清走" in html and "未整改重大隐患" in html and "提交复核" in html

    url = f"/api/safety/appeals/{appeal.id}/decide"
    assert (
        api(town.wang)
        .post(url, {"upheld": True, "new_code": "green", "note": "x"}, format="json")
        .status_code
        == 403
    )
    r = api(town.chen).post(url, {"upheld": True, "new_code": "yellow"}, format="json")
    assert r.status_code == 400 and "note" in r.json()["fields"]
    r = api(town.chen).post(
        url,
        {"upheld": True, "new_code": "yellow", "note": "现场照片证实已清理，待复查"},
        format="json",
    )
    assert r.status_code == 200 and r.json()["status"] == "upheld"
    site.refresh_from_db()
    assert site.code == "yellow"
    assert site.factors[0]["key"] == "appeal" and site.factors[0]["rule"] == "yellow"
    assert (
        api(town.chen).post(url, {"upheld": False, "note": "x"}, format="json").status_code == 404
    )


def test_a_rejected_appeal_keeps_the_code(site, town, api):
    api().post(f"/api/safety/self/{qr_token(site=site)}/appeal", {"reason": "不服"}, format="json")
    appeal = Appeal.objects.get()
    r = api(town.chen).post(
        f"/api/safety/appeals/{appeal.id}/decide",
        {"upheld": False, "note": "依据充分，维持"},
        format="json",
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    site.refresh_from_db()
    assert site.code == "green" and site.override_code == ""
    assert (
        api()
        .post(f"/api/safety/self/{qr_token(site=site)}/appeal", {"reason": ""}, format="json")
        .status_code
        == 400
    )
