"""Open311 GeoReport v2 at /open311/v2/, driven as an Open311 client drives it: discovery,
services and their definitions, POST with an API key, GET by id / status / dates, tokens,
both formats, the spec's error list with the right HTTP status, and no personal data out."""

import json
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditLog
from accounts.services.source_keys import source_key_issue, source_key_revoke
from events import services
from events.models import Case
from tests.events.conftest import IN_G1, IN_G3, OUTSIDE

BASE = "/open311/v2"
PHONE = "13812345678"
HAZARD_NO = {"attribute[hazard]": "no"}


@pytest.fixture
def o311() -> Client:
    return Client(enforce_csrf_checks=True)  # as an outside client: no CSRF cookie


@pytest.fixture
def key(db) -> str:
    _row, raw = source_key_issue(source="open311", name="测试客户端")
    return raw


def post(client, key, fmt="json", headers=None, **fields):
    data = {"api_key": key, **fields}
    return client.post(f"{BASE}/requests.{fmt}", data, headers=headers or {})


def garbage(key, client, **extra):
    fields = {
        "service_code": "06010",
        "lat": str(IN_G1[1]),
        "long": str(IN_G1[0]),
        "description": "小区门口垃圾堆了三天",
        "attribute[hazard]": "no",
        **extra,
    }
    return post(client, key, **fields)


def xml_root(response) -> ET.Element:
    body = response.content.decode("utf-8")
    assert body.startswith('<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(body.split("\n", 1)[1])


def errors_json(response) -> list[dict]:
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert isinstance(body, list) and body, body
    assert all(set(e) == {"code", "description"} for e in body)
    return body


# --- discovery and services -----------------------------------------------------------------


def test_discovery_names_the_endpoint_and_both_formats(o311, db):
    r = o311.get(f"{BASE}/discovery.json")
    assert r.status_code == 200 and r["Content-Type"] == "application/json; charset=utf-8"
    body = r.json()
    assert body["changeset"] and body["contact"] and body["key_service"]
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2/")
    assert endpoint["formats"] == ["text/xml", "application/json"]

    root = xml_root(o311.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    formats = [f.text for f in root.findall("endpoints/endpoint/formats/format")]
    assert formats == ["text/xml", "application/json"]


def test_services_are_the_resident_categories_in_both_formats(o311, categories):
    r = o311.get(f"{BASE}/services.json")
    assert r.status_code == 200
    services_ = r.json()
    by_code = {s["service_code"]: s for s in services_}
    garbage_ = categories["06010"]
    assert by_code["06010"]["service_name"] == garbage_.name
    assert by_code["06010"]["group"] == garbage_.major_name
    assert by_code["06010"]["metadata"] is True and by_code["06010"]["type"] == "realtime"
    assert "L0099" in by_code  # a local scene residents may pick
    # staff-only and machine categories (fire alarm, gas leak) are not offered to the public
    assert "L0001" not in by_code and "L0003" not in by_code
    assert len(services_) == sum(1 for c in set(categories.values()) if c.resident_visible)

    root = xml_root(o311.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    codes = [s.findtext("service_code") for s in root.findall("service")]
    assert codes == [s["service_code"] for s in services_]
    assert root.find("service/metadata").text == "true"

    english = o311.get(f"{BASE}/services.json", headers={"Accept-Language": "en"}).json()
    assert {s["service_code"]: s for s in english}["06010"]["service_name"] == garbage_.name_en


def test_service_definition_lists_attributes_in_order(o311, categories):
    body = o311.get(f"{BASE}/services/06028.json").json()
    assert body["service_code"] == "06028"
    attrs = {a["code"]: a for a in body["attributes"]}
    assert [a["order"] for a in body["attributes"]] == list(range(1, len(attrs) + 1))
    assert attrs["hazard"]["required"] is True
    assert attrs["hazard"]["datatype"] == "singlevaluelist"
    assert attrs["noise_time"]["datatype"] == "multivaluelist"
    assert {v["key"] for v in attrs["noise_time"]["values"]} == {"day", "evening", "night"}
    assert attrs["emergency_notice"]["variable"] is False

    root = xml_root(o311.get(f"{BASE}/services/06028.xml"))
    assert root.tag == "service_definition"
    keys = [v.text for v in root.findall("attributes/attribute/values/value/key")]
    assert "night" in keys and "yes" in keys


def test_unknown_service_definition_is_404_in_the_error_list_form(o311, categories):
    r = o311.get(f"{BASE}/services/99999.json")
    assert r.status_code == 404
    assert errors_json(r)[0]["code"] == 404

    r = o311.get(f"{BASE}/services/99999.xml")
    assert r.status_code == 404 and r["Content-Type"] == "text/xml; charset=utf-8"
    root = xml_root(r)
    assert root.tag == "errors"
    assert root.findtext("error/code") == "404"
    assert "99999" in root.findtext("error/description")


def test_jurisdiction_id_is_accepted_and_a_wrong_one_is_404(o311, categories):
    assert (
        o311.get(f"{BASE}/services.json", {"jurisdiction_id": "sandun.gov.cn"}).status_code == 200
    )
    r = o311.get(f"{BASE}/services.json", {"jurisdiction_id": "chicago.gov"})
    assert r.status_code == 404 and errors_json(r)[0]["code"] == 404


def test_an_unknown_endpoint_answers_in_the_error_form(o311, db):
    r = o311.get(f"{BASE}/servicez.xml")
    assert r.status_code == 404 and xml_root(r).tag == "errors"
    r = o311.delete(f"{BASE}/requests.json")
    assert r.status_code == 405 and errors_json(r)[0]["code"] == 405
    assert "GET" in r["Allow"] and "POST" in r["Allow"]


# --- POST requests --------------------------------------------------------------------------


def test_a_posted_request_becomes_a_case_visible_by_its_id(o311, town, categories, key):
    r = garbage(
        key,
        o311,
        phone=PHONE,
        email="resident@example.com",
        first_name="小明",
        last_name="张",
        device_id="dev-42",
        media_url="https://img.example.com/p/1.jpg",
        **{"attribute[place_detail]": "3 号楼东门", "attribute[amount]": "pile"},
    )
    assert r.status_code == 201, r.content
    (answer,) = r.json()
    number = answer["service_request_id"]
    assert number.startswith("SD-") and "token" not in answer

    case = Case.objects.get(number=number)
    assert case.source == "open311" and case.category.code == "06010"
    assert case.grid_id == town.g1.id and not case.outside_jurisdiction
    assert case.reporter_name == "张小明"
    assert case.reporter_phone_enc and PHONE not in case.reporter_phone_enc
    assert "3 号楼东门" in case.description and "一堆" in case.description
    assert case.extra["open311"]["media_url"] == "https://img.example.com/p/1.jpg"
    assert "resident@example.com" not in json.dumps(case.extra)
    assert case.tracking_token not in r.content.decode()
    assert case.log.get().action == "report"

    r = o311.get(f"{BASE}/requests/{number}.json")
    assert r.status_code == 200
    (req,) = r.json()
    assert req["service_request_id"] == number and req["status"] == "open"
    assert req["service_code"] == "06010" and req["description"] == "小区门口垃圾堆了三天"
    assert req["lat"] == pytest.approx(IN_G1[1], abs=1e-6)
    assert req["long"] == pytest.approx(IN_G1[0], abs=1e-6)
    assert req["media_url"] == "https://img.example.com/p/1.jpg"
    assert req["requested_datetime"].endswith("+08:00")
    assert req["expected_datetime"] is None or "T" in req["expected_datetime"]
    body = r.content.decode()
    for secret in (PHONE, "张小明", "小明", "resident@example.com", "dev-42", case.tracking_token):
        assert secret not in body

    root = xml_root(o311.get(f"{BASE}/requests/{number}.xml"))
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == number
    assert root.find("request/zipcode").text is None  # empty element for an absent value

    r = o311.get(f"{BASE}/tokens/{number}.json")
    assert r.json() == [{"service_request_id": number, "token": number}]
    assert o311.get(f"{BASE}/tokens/nope.json").status_code == 404


def test_post_in_xml_answers_in_xml(o311, town, categories, key):
    r = post(
        o311,
        key,
        fmt="xml",
        service_code="09009",
        address_string="三墩镇古墩路 1 号",
        **{"attribute[hazard]": "yes", "attribute[plate]": "浙A12345"},
    )
    assert r.status_code == 201
    root = xml_root(r)
    number = root.findtext("request/service_request_id")
    case = Case.objects.get(number=number)
    assert case.address == "三墩镇古墩路 1 号" and case.location is None
    assert "浙A12345" in case.description


def test_bad_missing_or_foreign_keys_are_403_and_create_nothing(o311, town, categories, key):
    before = Case.objects.count()
    r = garbage("ck_not-a-key", o311)
    assert r.status_code == 403 and errors_json(r)[0]["code"] == 403
    r = garbage("", o311)
    assert r.status_code == 403

    _row, police = source_key_issue(source="110")
    assert garbage(police, o311).status_code == 403  # a key of another source

    row, revoked = source_key_issue(source="open311")
    source_key_revoke(prefix=row.prefix)
    r = o311.post(
        f"{BASE}/requests.xml",
        {"api_key": revoked, "service_code": "06010", "address_string": "古墩路"},
    )
    assert r.status_code == 403 and xml_root(r).findtext("error/code") == "403"
    assert Case.objects.count() == before
    assert AuditLog.objects.filter(event="sourcekey.reject").count() >= 3


def test_bad_input_is_400_with_every_problem_listed(o311, town, categories, key):
    r = post(o311, key, service_code="06010", description="没有位置")
    assert r.status_code == 400
    assert "location" in errors_json(r)[0]["description"]

    r = post(o311, key, service_code="06010", lat=str(IN_G1[1]), description="只有纬度")
    assert r.status_code == 400

    r = post(
        o311,
        key,
        service_code="06028",
        lat="abc",
        long=str(IN_G1[0]),
        media_url="javascript:alert(1)",
        **{"attribute[noise_time][]": ["night", "always"]},
    )
    assert r.status_code == 400
    text = " ".join(e["description"] for e in errors_json(r))
    for name in ("lat", "media_url", "attribute[noise_time]", "attribute[hazard]"):
        assert name in text

    r = post(o311, key, service_code="06010", address_string="古墩路", phone="12345", **HAZARD_NO)
    assert r.status_code == 400 and "phone" in errors_json(r)[0]["description"]

    r = post(o311, key, address_string="古墩路")
    assert r.status_code == 400 and "service_code" in errors_json(r)[0]["description"]
    assert Case.objects.count() == 0


def test_unknown_service_or_jurisdiction_on_post_is_404(o311, town, categories, key):
    r = post(o311, key, service_code="L0001", address_string="古墩路")  # not a public service
    assert r.status_code == 404
    r = garbage(key, o311, jurisdiction_id="elsewhere.gov")
    assert r.status_code == 404
    assert garbage(key, o311, jurisdiction_id="sandun.gov.cn").status_code == 201


def test_an_address_id_from_the_address_book_is_a_location(o311, town, categories, key):
    from django.contrib.gis.geos import Point

    from grids.models import Address

    Address.objects.create(
        code="ADDR-0001", text="三墩镇绿城路 8 号", point=Point(*IN_G3, srid=4326), grid=town.g3
    )
    r = post(o311, key, service_code="06010", address_id="ADDR-0001", **HAZARD_NO)
    assert r.status_code == 201, r.content
    number = r.json()[0]["service_request_id"]
    case = Case.objects.get(number=number)
    assert case.grid_id == town.g3.id and case.address == "三墩镇绿城路 8 号"
    (req,) = o311.get(f"{BASE}/requests/{number}.json").json()
    assert req["address_id"] == "ADDR-0001"

    r = post(o311, key, service_code="06010", address_id="NOPE", **HAZARD_NO)
    assert r.status_code == 400 and "address_id" in errors_json(r)[0]["description"]


def test_multivaluelist_attributes_are_kept(o311, town, categories, key):
    r = post(
        o311,
        key,
        service_code="06028",
        lat=str(IN_G3[1]),
        long=str(IN_G3[0]),
        **{"attribute[hazard]": "no", "attribute[noise_time][]": ["evening", "night"]},
    )
    assert r.status_code == 201, r.content
    case = Case.objects.get(number=r.json()[0]["service_request_id"])
    assert case.extra["open311"]["attributes"]["noise_time"] == ["evening", "night"]
    assert case.grid_id == town.g3.id


def test_out_of_town_location_is_accepted_and_flagged(o311, town, categories, key):
    r = garbage(key, o311, lat=str(OUTSIDE[1]), long=str(OUTSIDE[0]))
    assert r.status_code == 201
    (answer,) = r.json()
    assert answer["service_notice"]  # the client is told
    assert Case.objects.get(number=answer["service_request_id"]).outside_jurisdiction


def test_a_retry_with_the_same_idempotency_key_is_one_case(o311, town, categories, key):
    headers = {"Idempotency-Key": "retry-7f3a"}
    first = post(
        o311,
        key,
        headers=headers,
        service_code="06010",
        address_string="古墩路",
        **{"attribute[hazard]": "no"},
    )
    again = post(
        o311,
        "",  # the key in the X-Api-Key header this time
        headers={**headers, "X-Api-Key": key},
        service_code="06010",
        address_string="古墩路",
        **{"attribute[hazard]": "no"},
    )
    assert first.status_code == 201 and again.status_code == 200, again.content
    assert first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
    other = post(
        o311, key, service_code="06010", address_string="古墩路", **{"attribute[hazard]": "no"}
    )
    assert other.json()[0]["service_request_id"] != first.json()[0]["service_request_id"]
    assert Case.objects.count() == 2


# --- GET requests ---------------------------------------------------------------------------


def _resident_case(categories, code="06010", days_ago=0, source="resident", **kwargs) -> Case:
    case = services.case_report(
        source=source,
        category=categories[code],
        description="路边垃圾，联系 13900001111",
        lng=IN_G1[0],
        lat=IN_G1[1],
        reporter=services.Reporter(phone="13900001111", name="李四", label="市民"),
        **kwargs,
    ).case
    if days_ago:
        Case.objects.filter(id=case.id).update(
            reported_at=timezone.now() - timedelta(days=days_ago)
        )
    return Case.objects.get(id=case.id)


def numbers(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {r["service_request_id"] for r in response.json()}


def test_get_requests_filters_by_ids_status_code_and_dates(o311, town, categories):
    fresh = _resident_case(categories)
    parking = _resident_case(categories, code="09009")
    old = _resident_case(categories, days_ago=30)
    ancient = _resident_case(categories, days_ago=200)
    rejected = _resident_case(categories)
    services.case_transition(
        case_id=rejected.id,
        action="reject",
        note="重复上报",
        data={"public_note": "已有同一地点的事件在处理"},
    )
    police = _resident_case(categories, source="110")  # never public

    everything = numbers(o311.get(f"{BASE}/requests.json"))
    assert everything == {fresh.number, parking.number, old.number, rejected.number}

    assert numbers(o311.get(f"{BASE}/requests.json", {"status": "closed"})) == {rejected.number}
    assert rejected.number not in numbers(o311.get(f"{BASE}/requests.json", {"status": "open"}))
    assert numbers(o311.get(f"{BASE}/requests.json", {"status": "open,closed"})) == everything
    assert numbers(o311.get(f"{BASE}/requests.json", {"service_code": "09009"})) == {parking.number}

    since = (timezone.now() - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = (timezone.now() - timedelta(days=20)).isoformat()
    r = o311.get(f"{BASE}/requests.json", {"start_date": since, "end_date": until})
    assert numbers(r) == {old.number}
    # an unencoded "+08:00" arrives as " 08:00" and is still understood
    local = timezone.localtime(timezone.now() - timedelta(days=210)).replace(microsecond=0)
    r = o311.get(f"{BASE}/requests.json?start_date={local.isoformat()}")
    assert numbers(r) == {ancient.number}

    ids = f"{ancient.number},{police.number},{fresh.number},SD-00000000-000000"
    r = o311.get(f"{BASE}/requests.json", {"service_request_id": ids, "status": "closed"})
    assert numbers(r) == {ancient.number, fresh.number}  # ids override the other filters

    (closed,) = o311.get(f"{BASE}/requests/{rejected.number}.json").json()
    assert closed["status"] == "closed"
    assert closed["status_notes"] == "已有同一地点的事件在处理"
    assert closed["updated_datetime"] is not None

    assert o311.get(f"{BASE}/requests/{police.number}.json").status_code == 404
    assert o311.get(f"{BASE}/requests/SD-00000000-000000.xml").status_code == 404


def test_get_requests_never_shows_personal_data(o311, town, categories):
    case = _resident_case(categories)
    for fmt in ("json", "xml"):
        body = o311.get(f"{BASE}/requests.{fmt}").content.decode()
        assert case.number in body
        assert "13900001111" not in body and "李四" not in body
        assert case.tracking_token not in body
        assert "139****1111" in body  # the number typed into the description is masked
    with_id = services.case_report(
        source="resident",
        category=categories["06010"],
        description="我的身份证 33010619900101123X 掉在这里",
        address="古墩路",
    ).case
    (req,) = o311.get(f"{BASE}/requests/{with_id.number}.json").json()
    assert "33010619900101123X" not in req["description"] and "掉在这里" in req["description"]


def test_agency_responsible_is_the_lead_department(o311, town, categories):
    from dispatch.models import Assignment, Department

    case = _resident_case(categories)
    department = Department.objects.create(code="cg", name="城管中队")
    Assignment.objects.create(case=case, department=department, created_at=timezone.now())
    (req,) = o311.get(f"{BASE}/requests/{case.number}.json").json()
    assert req["agency_responsible"] == "城管中队"


def test_bad_query_parameters_are_400(o311, db):
    for params in (
        {"status": "pending"},
        {"start_date": "yesterday"},
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
        {"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
        {"page_size": "5000"},
    ):
        r = o311.get(f"{BASE}/requests.xml", params)
        assert r.status_code == 400, params
        assert xml_root(r).findtext("error/code") == "400"


def test_page_and_page_size_extension(o311, town, categories):
    made = [_resident_case(categories) for _ in range(3)]
    first = o311.get(f"{BASE}/requests.json", {"page_size": "2"}).json()
    second = o311.get(f"{BASE}/requests.json", {"page_size": "2", "page": "2"}).json()
    assert len(first) == 2 and len(second) == 1
    assert {r["service_request_id"] for r in first + second} == {c.number for c in made}
