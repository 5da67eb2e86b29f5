"""Machine sources through POST /api/intake/<source>/ (110, 119, 12345, video AI, IoT) with their
own keys, and staff intake through POST /api/cases/ (patrol report, superior assignment, a 12345
order typed in by an operator). The same external id twice is one case; a batch answers item by
item and keeps the good ones; nothing is half-written."""

import base64

import pytest
from django.db import transaction

from accounts.models import SourceKey
from accounts.services import source_key_revoke
from events.models import Attachment, Case, CaseLog, HotlineOrder
from tests.events.conftest import IN_G1, IN_G3, OUTSIDE, media_files, photo, routed_all


def send(client, source, body, key, fmt="json"):
    headers = {"HTTP_X_API_KEY": key} if key else {}
    return client.post(f"/api/intake/{source}/", body, format=fmt, **headers)


def b64_jpeg() -> str:
    return base64.b64encode(photo().read()).decode()


# --- keys --------------------------------------------------------------------------------------


def test_each_source_only_with_its_own_key(town, categories, api, source_key):
    client, k110, k119 = api(), source_key("110"), source_key("119")
    body = {"incident_no": "110-0001", "alarm_type": "dispute", "lng": IN_G1[0], "lat": IN_G1[1]}
    assert send(client, "119", body, k110).status_code == 403  # a 110 key on the 119 door
    assert send(client, "110", body, k119).status_code == 403
    assert send(client, "110", body, None).status_code in (401, 403)
    assert send(client, "110", body, "ck_not-a-real-key").status_code == 403
    assert Case.objects.count() == 0
    r = send(client, "110", body, k110)
    assert r.status_code == 201, r.json()
    assert Case.objects.get().source == "110"


def test_a_revoked_key_is_refused(town, categories, api, source_key):
    raw = source_key("iot")
    key = SourceKey.objects.get(source="iot")
    source_key_revoke(prefix=key.prefix)
    r = send(api(), "iot", {"event_id": "e1", "sensor_id": "S-1", "alarm_type": "smoke"}, raw)
    assert r.status_code == 403 and "吊销" in r.json()["message"]
    assert Case.objects.count() == 0


def test_an_unknown_source_is_refused(town, categories, api, source_key):
    r = send(api(), "weibo", {"event_id": "1"}, source_key("110"))
    assert r.status_code in (403, 404) and Case.objects.count() == 0


# --- each source keeps its own fields ---------------------------------------------------------


def test_110_and_119_alarms_become_cases_of_the_mapped_category(town, categories, api, source_key):
    client = api()
    r = send(
        client,
        "110",
        {"incident_no": "JJ20260301-17", "alarm_type": "dispute", "caller_phone": "13700001111",
         "caller_name": "张三", "lng": IN_G3[0], "lat": IN_G3[1], "description": "邻里噪音纠纷"},
        source_key("110"),
    )  # fmt: skip
    assert r.status_code == 201, r.json()
    case = Case.objects.get(number=r.json()["number"])
    assert case.category.name == "矛盾纠纷" and case.grid_id == town.g3.id
    assert case.external_id == "JJ20260301-17" and case.extra["alarm_type"] == "dispute"
    assert case.reporter_phone_enc and case.reporter_name == "张三"

    r = send(
        client,
        "119",
        {"incident_no": "119-88", "alarm_type": "fire", "lng": IN_G1[0], "lat": IN_G1[1]},
        source_key("119"),
    )
    fire = Case.objects.get(number=r.json()["number"])
    assert fire.category.name == "火警" and fire.grade == 1
    # "135": acknowledged 1 min, on site 3, joint 5 — counted from the report.
    assert (fire.accept_due - fire.reported_at).total_seconds() == 60
    assert (fire.arrive_due - fire.reported_at).total_seconds() == 180


def test_video_ai_keeps_camera_detection_confidence_and_the_snapshot(
    town, categories, api, source_key, media_root
):
    client, key = api(), source_key("video_ai")
    r = send(
        client,
        "video_ai",
        {"event_id": "V-1", "camera_id": "CAM-017", "detection_type": "illegal_parking",
         "confidence": 0.93, "snapshot": b64_jpeg(), "lng": IN_G1[0], "lat": IN_G1[1]},
        key,
    )  # fmt: skip
    assert r.status_code == 201, r.json()
    case = Case.objects.get(number=r.json()["number"])
    assert case.category.code == "09009" and case.source == "video_ai"
    assert case.extra["camera_id"] == "CAM-017" and case.extra["confidence"] == 0.93
    assert Attachment.objects.filter(case=case).count() == 1

    # The snapshot as a multipart upload, and as a URL the server keeps but never fetches.
    r = send(
        client,
        "video_ai",
        {"event_id": "V-2", "camera_id": "CAM-018", "detection_type": "no_helmet",
         "confidence": "0.8", "lng": IN_G1[0], "lat": IN_G1[1], "snapshot": photo()},
        key,
        fmt="multipart",
    )  # fmt: skip
    assert r.status_code == 201, r.json()
    helmet = Case.objects.get(number=r.json()["number"])
    assert helmet.category.name == "电动自行车骑乘未戴头盔"
    assert Attachment.objects.filter(case=helmet).count() == 1
    r = send(
        client,
        "video_ai",
        {"event_id": "V-3", "camera_id": "CAM-019", "detection_type": "floating_waste",
         "snapshot_url": "http://nvr.local/snap/3.jpg", "lng": IN_G1[0], "lat": IN_G1[1]},
        key,
    )  # fmt: skip
    river = Case.objects.get(number=r.json()["number"])
    assert river.category.code == "06025"
    assert river.extra["snapshot_url"] == "http://nvr.local/snap/3.jpg"
    assert len(media_files(media_root)) == 2


def test_video_ai_refuses_a_bad_confidence_a_bad_snapshot_and_an_unknown_detection(
    town, categories, api, source_key, media_root
):
    client, key = api(), source_key("video_ai")
    base = {"event_id": "V-9", "camera_id": "CAM-1", "lng": IN_G1[0], "lat": IN_G1[1]}
    r = send(client, "video_ai", {**base, "detection_type": "fire", "confidence": 1.5}, key)
    assert r.status_code == 400 and "confidence" in r.json()["fields"]
    r = send(
        client,
        "video_ai",
        {**base, "detection_type": "fire", "snapshot": base64.b64encode(b"GIF89a....").decode()},
        key,
    )
    assert r.status_code == 415 and "snapshot" in r.json()["fields"]
    r = send(client, "video_ai", {**base, "detection_type": "ufo"}, key)
    assert r.status_code == 400 and "detection_type" in r.json()["fields"]
    assert Case.objects.count() == 0 and media_files(media_root) == []


def test_iot_keeps_sensor_alarm_type_and_value(town, categories, api, source_key):
    r = send(
        api(),
        "iot",
        {"event_id": "IOT-5", "sensor_id": "SMK-3-201", "alarm_type": "elder_sos", "value": 1,
         "unit": "", "address": "兰里社区 3 幢 201"},
        source_key("iot"),
    )  # fmt: skip
    assert r.status_code == 201, r.json()
    case = Case.objects.get(number=r.json()["number"])
    assert case.category.name == "长者看护告警"
    assert case.extra["sensor_id"] == "SMK-3-201" and case.extra["value"] == 1.0


@pytest.mark.parametrize(
    "label, value",
    [("咨询", "consult"), ("求助", "help"), ("投诉", "complaint"), ("举报", "report"),
     ("建议", "suggestion"), ("表扬", "praise")],
)  # fmt: skip
def test_12345_orders_keep_their_appeal_type(town, categories, api, source_key, label, value):
    r = send(
        api(),
        "12345",
        {"order_no": f"GD-{value}", "appeal_type": label, "category": "06028",
         "content": "夜里施工噪音", "lng": IN_G1[0], "lat": IN_G1[1], "channel": "电话"},
        source_key("12345"),
    )  # fmt: skip
    assert r.status_code == 201, r.json()
    order = HotlineOrder.objects.get(order_no=f"GD-{value}")
    assert order.appeal_type == value and order.channel == "电话"
    assert order.case.description == "夜里施工噪音"


def test_an_anonymous_12345_caller_is_not_kept_and_a_bad_appeal_type_is_refused(
    town, categories, api, source_key
):
    client, key = api(), source_key("12345")
    r = send(
        client,
        "12345",
        {"order_no": "GD-ANON", "appeal_type": "举报", "anonymous": True, "category": "09006",
         "caller_phone": "13912345678", "caller_name": "李四", "lng": IN_G1[0], "lat": IN_G1[1],
         "due_at": "2026-12-01T17:00:00+08:00"},
        key,
    )  # fmt: skip
    assert r.status_code == 201, r.json()
    case = Case.objects.get(number=r.json()["number"])
    assert case.hotline.anonymous and case.reporter_phone_enc == "" and case.reporter_name == ""
    assert case.resolve_due.isoformat().startswith("2026-12-01T09:00")  # its own 办理时限 (UTC)

    r = send(
        client,
        "12345",
        {"order_no": "GD-X", "appeal_type": "抱怨", "category": "09006", "address": "某路"},
        key,
    )
    assert r.status_code == 400 and "appeal_type" in r.json()["fields"]
    assert "咨询" in r.json()["fields"]["appeal_type"][0]


def test_the_12345_callback_and_its_result_are_recorded(town, categories, api, source_key):
    r = send(
        api(),
        "12345",
        {"order_no": "GD-CB", "appeal_type": "投诉", "category": "06010",
         "caller_phone": "13912345678", "lng": IN_G1[0], "lat": IN_G1[1]},
        source_key("12345"),
    )  # fmt: skip
    case_id = r.json()["id"]
    li = api(town.li)
    bad = li.post(
        f"/api/cases/{case_id}/hotline-callback",
        {"method": "电话", "satisfaction": "还行"},
        format="json",
    )
    assert bad.status_code == 400 and "satisfaction" in bad.json()["fields"]
    ok = li.post(
        f"/api/cases/{case_id}/hotline-callback",
        {
            "method": "电话",
            "result": "已清理，来电人认可",
            "satisfaction": "满意",
            "resolved": True,
        },
        format="json",
    )
    assert ok.status_code == 200, ok.json()
    order = HotlineOrder.objects.get(case_id=case_id)
    assert (order.callback_method, order.callback_satisfaction, order.resolved_flag) == (
        "电话",
        "satisfied",
        True,
    )
    assert order.callback_at is not None
    entry = CaseLog.objects.filter(case_id=case_id, action="callback").get()
    assert entry.actor_id == town.li.id and entry.note == "已清理，来电人认可"
    detail = li.get(f"/api/cases/{case_id}/").json()
    assert detail["hotline"]["callback_satisfaction"] == "satisfied"
    assert detail["hotline"]["appeal_type_label"] == "投诉"
    # A grid worker does not record callbacks.
    wang_try = api(town.wang).post(
        f"/api/cases/{case_id}/hotline-callback",
        {"method": "电话", "satisfaction": "满意"},
        format="json",
    )
    assert wang_try.status_code in (403, 404)


# --- idempotency and batches ------------------------------------------------------------------


def test_the_same_external_id_twice_is_one_case_and_answers_with_it(
    town, categories, api, source_key
):
    client, key = api(), source_key("iot")
    body = {"event_id": "E-42", "sensor_id": "S-9", "alarm_type": "smoke", "lng": IN_G1[0],
            "lat": IN_G1[1]}  # fmt: skip
    first = send(client, "iot", body, key)
    second = send(client, "iot", {**body, "value": 99}, key)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["status"] == "existing"
    assert first.json()["number"] == second.json()["number"]
    assert Case.objects.count() == 1 and CaseLog.objects.count() == 1
    # The same id from another source is another case.
    other = send(
        client, "video_ai", {"event_id": "E-42", "camera_id": "C", "detection_type": "smoke",
                             "address": "x"}, source_key("video_ai")
    )  # fmt: skip
    assert other.status_code == 201 and Case.objects.count() == 2


def test_a_batch_answers_item_by_item_and_keeps_the_good_ones(town, categories, api, source_key):
    client, key = api(), source_key("video_ai")
    existing = send(
        client,
        "video_ai",
        {"event_id": "B-0", "camera_id": "C1", "detection_type": "garbage_pile",
         "lng": IN_G1[0], "lat": IN_G1[1]},
        key,
    ).json()  # fmt: skip
    reports = [
        {"event_id": "B-1", "camera_id": "C1", "detection_type": "garbage_pile",
         "lng": IN_G1[0], "lat": IN_G1[1], "confidence": 0.7},
        {"event_id": "B-2", "camera_id": "C1", "detection_type": "garbage_pile"},  # no place
        {"event_id": "B-3", "camera_id": "C2", "detection_type": "muck_dumping",
         "lng": OUTSIDE[0], "lat": OUTSIDE[1]},
        {"event_id": "B-0", "camera_id": "C1", "detection_type": "garbage_pile",
         "lng": IN_G1[0], "lat": IN_G1[1]},  # sent before
        {"event_id": "B-1", "camera_id": "C1", "detection_type": "garbage_pile",
         "lng": IN_G1[0], "lat": IN_G1[1]},  # twice in this batch
        "not an object",
        {"event_id": "B-4", "camera_id": "C3", "detection_type": "ufo", "address": "x"},
    ]  # fmt: skip
    r = send(client, "video_ai", {"reports": reports}, key)
    assert r.status_code == 200, r.json()
    body = r.json()
    statuses = [x["status"] for x in body["results"]]
    assert statuses == ["created", "error", "created", "existing", "existing", "error", "error"]
    assert (body["created"], body["existing"], body["error"]) == (2, 2, 3)
    assert [x["index"] for x in body["results"]] == list(range(7))
    assert "location" in body["results"][1]["fields"]
    assert "detection_type" in body["results"][6]["fields"]
    assert body["results"][3]["number"] == existing["number"]
    assert body["results"][4]["number"] == body["results"][0]["number"]
    assert Case.objects.count() == 3  # B-0 before, B-1 and B-3 now
    assert Case.objects.get(external_id="B-3").outside_jurisdiction
    assert CaseLog.objects.count() == 3


def test_a_batch_limit_and_an_empty_batch_are_refused(town, categories, api, source_key):
    client, key = api(), source_key("iot")
    assert send(client, "iot", {"reports": []}, key).status_code == 400
    many = [{"event_id": str(i), "sensor_id": "S", "alarm_type": "smoke", "address": "x"}
            for i in range(501)]  # fmt: skip
    assert send(client, "iot", {"reports": many}, key).status_code == 413
    assert Case.objects.count() == 0


def test_a_single_bad_report_is_a_400_with_fields(town, categories, api, source_key):
    r = send(api(), "110", {"alarm_type": "dispute", "lng": 300, "lat": 30}, source_key("110"))
    assert r.status_code == 400
    fields = r.json()["fields"]
    assert "incident_no" in fields and any(
        "\u4e00" <= ch <= "\u9fff" for ch in fields["incident_no"][0]
    )
    assert Case.objects.count() == 0


# --- staff intake: patrol report, superior assignment, 12345 typed in -----------------------


def test_a_grid_worker_files_a_patrol_report_with_photos(town, categories, api, media_root):
    r = api(town.wang).post(
        "/api/cases/",
        {"category": "09005", "description": "店外经营占用人行道", "lng": IN_G1[0],
         "lat": IN_G1[1], "photos": [photo("shop.jpg")]},
        format="multipart",
    )  # fmt: skip
    assert r.status_code == 201, r.json()
    case = Case.objects.get(id=r.json()["id"])
    assert case.source == "worker" and case.reporter_user_id == town.wang.id
    assert case.grid_id == town.g1.id and Attachment.objects.filter(case=case).count() == 1
    assert CaseLog.objects.get(case=case).actor_id == town.wang.id


def test_an_operator_enters_a_superior_assignment_and_a_12345_order(town, categories, api):
    li = api(town.li)
    r = li.post(
        "/api/cases/",
        {"source": "superior", "category": "06001", "title": "区城管局交办：违建复查",
         "address": "三墩镇兰里路 8 号", "grade": 2},
        format="json",
    )  # fmt: skip
    assert r.status_code == 201, r.json()
    case = Case.objects.get(id=r.json()["id"])
    assert case.source == "superior" and case.grade == 2 and case.title.startswith("区城管局")

    r = li.post(
        "/api/cases/",
        {"source": "12345", "category": "06028", "order_no": "GD-20260301-9", "appeal_type":
         "complaint", "anonymous": False, "reporter_phone": "13912345678",
         "lng": IN_G1[0], "lat": IN_G1[1], "description": "广场舞音响太响"},
        format="json",
    )  # fmt: skip
    assert r.status_code == 201, r.json()
    order = HotlineOrder.objects.get(order_no="GD-20260301-9")
    assert order.appeal_type == "complaint" and order.case.reporter_phone_enc
    again = li.post(
        "/api/cases/",
        {"source": "12345", "category": "06028", "order_no": "GD-20260301-9",
         "appeal_type": "complaint", "address": "x"},
        format="json",
    )  # fmt: skip
    assert again.status_code == 200 and again.json()["id"] == order.case_id

    missing = li.post(
        "/api/cases/", {"source": "12345", "category": "06028", "address": "x"}, format="json"
    )
    assert missing.status_code == 400
    assert {"order_no", "appeal_type"} <= set(missing.json()["fields"])


def test_a_grid_worker_may_not_enter_superior_assignments(town, categories, api):
    r = api(town.wang).post(
        "/api/cases/",
        {"source": "superior", "category": "06001", "address": "x"},
        format="json",
    )
    assert r.status_code == 403 and Case.objects.count() == 0


def test_staff_intake_needs_a_login(town, categories, api):
    r = api().post("/api/cases/", {"category": "06001", "address": "x"}, format="json")
    assert r.status_code in (401, 403) and Case.objects.count() == 0


def test_a_staff_report_with_bad_input_names_the_fields_and_stores_nothing(
    town, categories, api, media_root
):
    r = api(town.wang).post(
        "/api/cases/",
        {"category": "nope", "photos": [photo()]},
        format="multipart",
    )
    assert r.status_code == 400 and "category" in r.json()["fields"]
    r = api(town.wang).post(
        "/api/cases/", {"category": "09005", "photos": [photo()]}, format="multipart"
    )
    assert r.status_code == 400 and "location" in r.json()["fields"]
    assert Case.objects.count() == 0 and media_files(media_root) == []


@pytest.mark.parametrize(
    "source,over,field,english",
    [
        ("12345", {"anonymous": "maybe"}, "anonymous", "Must be true or false."),
        ("12345", {"due_at": "next friday"}, "due_at", None),
        ("iot", {"value": "high"}, "value", "Must be a number."),
        ("iot", {"grade": 1.5}, "grade", "Must be a whole number."),
        ("iot", {"crs": "bd09"}, "crs", "Must be one of wgs84 / gcj02."),
        ("video_ai", {"snapshot_url": "not a url"}, "snapshot_url", "Not a valid URL."),
        ("video_ai", {"confidence": 1.2}, "confidence", "Must be at most 1.0."),
        ("video_ai", {"camera_id": None}, "camera_id", "This field is required."),
        ("110", {"incident_no": ["A", "B"]}, "incident_no", "Must be text."),
    ],
)
def test_webhook_fields_are_checked_with_messages_in_both_languages(
    town, categories, api, source_key, source, over, field, english
):
    """Webhook items are checked by hand (cockpit.checks), field by field, like the serializers
    they replaced: a wrong type or value names its field, in Chinese and, asked, in English."""
    base = {
        "12345": {"order_no": "GD-1", "appeal_type": "投诉", "address": "兰里路 8 号"},
        "iot": {"event_id": "E-1", "sensor_id": "S-1", "alarm_type": "smoke", "address": "x"},
        "video_ai": {"event_id": "V-1", "camera_id": "C1", "detection_type": "garbage_pile",
                     "address": "x"},
        "110": {"incident_no": "110-1", "alarm_type": "dispute", "address": "x"},
    }[source]  # fmt: skip
    body = {**base, **over}
    client, key = api(), source_key(source)
    r = send(client, source, body, key)
    assert r.status_code == 400, r.json()
    messages = r.json()["fields"][field]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in "".join(messages)), messages
    r = client.post(
        f"/api/intake/{source}/", body, format="json", HTTP_X_API_KEY=key, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert r.status_code == 400
    if english:
        assert r.json()["fields"][field] == [english]
    assert Case.objects.count() == 0


def test_an_automatic_answer_on_report_reaches_residents_and_every_item_of_a_batch(
    town, categories, api, source_key, django_capture_on_commit_callbacks
):
    """New cases' first entries are written set-based (no post_save): the automatic answer of
    the "report" action still goes out, once per case, for a resident's report and for every
    created item of a webhook batch — not for an item that was already known."""
    from dispatch.models import AnswerTemplate
    from dispatch.replies import auto_cache_clear

    AnswerTemplate.objects.create(
        name="已收到", action="report", auto_send=True, text="{number} 已收到，我们会尽快处理。"
    )
    auto_cache_clear()
    client, key = api(), source_key("iot")
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            "/api/report",
            {"category": "06010", "lng": IN_G1[0], "lat": IN_G1[1], "description": "垃圾"},
            format="json",
        )
    assert r.status_code == 201, r.json()
    number = r.json()["number"]
    replies = list(CaseLog.objects.filter(case__number=number, action="reply"))
    assert [e.note for e in replies] == [f"{number} 已收到，我们会尽快处理。"]
    assert replies[0].data["auto"] is True

    items = [
        {"event_id": f"AR-{i}", "sensor_id": "S1", "alarm_type": "smoke", "address": "兰里路"}
        for i in range(3)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert send(client, "iot", {"reports": items[:1]}, key).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        body = send(client, "iot", {"reports": items}, key).json()
    assert [x["status"] for x in body["results"]] == ["existing", "created", "created"]
    batch = Case.objects.filter(source="iot")
    assert CaseLog.objects.filter(case__in=batch, action="reply").count() == 3  # one per case
    for case in batch:
        assert list(case.log.filter(action="reply").values_list("note", flat=True)) == [
            f"{case.number} 已收到，我们会尽快处理。"
        ]


@pytest.mark.django_db(transaction=True)
def test_a_batch_racing_another_with_the_same_ids_waits_and_answers_with_its_cases(
    categories, celery_worker
):
    """Batch A is written but not yet committed when batch B (two of A's ids and a new one)
    arrives: B's write waits on the unique index for A, then falls back to item by item and
    answers A's ids with A's cases, creating only its own."""
    import threading

    from events import services
    from events.intake import intake_parse
    from tests.town import build_small_town

    build_small_town()

    def items(ids):
        return [
            intake_parse(
                source="iot",
                item={"event_id": i, "sensor_id": "S-1", "alarm_type": "smoke",
                      "lng": IN_G1[0], "lat": IN_G1[1]},
            )
            for i in ids
        ]  # fmt: skip

    answered: dict = {}

    def batch_b():
        from django.db import connection as conn

        try:
            answered["b"] = services.case_report_many(items=items(["R-2", "R-3", "R-4"]))
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            answered["b"] = exc
        finally:
            conn.close()

    with transaction.atomic():
        a = services.case_report_many(items=items(["R-1", "R-2", "R-3"]))
        b = threading.Thread(target=batch_b)
        b.start()
        b.join(1.0)
        assert b.is_alive()  # waiting for A's ids, not answering without them
    b.join(10)
    results = answered["b"]
    assert not isinstance(results, Exception), results
    assert [r.created for r in results] == [False, False, True]
    assert [r.case.number for r in results[:2]] == [r.case.number for r in a[1:]]
    assert Case.objects.filter(external_id__startswith="R-").count() == 4
    reports = CaseLog.objects.filter(case__external_id__startswith="R-", action="report")
    assert reports.count() == 4  # one first entry per case
    assert routed_all(Case.objects.filter(external_id__startswith="R-"))  # each one, once
